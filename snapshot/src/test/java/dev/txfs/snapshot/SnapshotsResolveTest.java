package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What users type to name a snapshot: a ref, a full id or a unique prefix, and the errors for the rest. */
final class SnapshotsResolveTest {
    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private ObjectId root;
    private ObjectId first;

    @BeforeEach
    void recordOneSnapshot() {
        try (ObjectWriter w = store.newWriter()) {
            TreeRef top = Directories.write(w, List.of());
            root = HardLinks.writeRoot(
                    w,
                    TreeEntry.builder("", EntryKind.DIRECTORY)
                            .mode(0755)
                            .tree(top)
                            .build(),
                    List.of());
        }
        first = Snapshots.record(store, Snapshots.HEAD, root, "tester", "first", () -> 1L);
    }

    private Snapshot snapshot(String message) {
        return new Snapshot(root, List.of(), 7L, "tester", message);
    }

    private ObjectId put(byte[] canonical) {
        try (ObjectWriter w = store.newWriter()) {
            return w.put(canonical);
        }
    }

    private String error(String spec) {
        return assertThrows(TxfsException.class, () -> Snapshots.resolve(store, spec))
                .getMessage();
    }

    @Test
    void resolve_whenSpecIsARef_returnsItsSnapshot() {
        assertEquals(first, Snapshots.resolve(store, "HEAD"));
        ObjectId second = Snapshots.record(store, "boot/default", root, "t", "second", () -> 2L);
        assertEquals(second, Snapshots.resolve(store, "boot/default"));
    }

    @Test
    void resolve_whenARefNameLooksLikeHex_prefersTheRef() {
        ObjectId second = put(snapshot("other").encode());
        String shadow = first.toHex().substring(0, 6);
        assertTrue(store.refs().compareAndSet(shadow, null, second));
        assertEquals(second, Snapshots.resolve(store, shadow));
    }

    @Test
    void resolve_whenSpecIsTheFullId_returnsIt_inEitherCase() {
        assertEquals(first, Snapshots.resolve(store, first.toHex()));
        assertEquals(first, Snapshots.resolve(store, first.toHex().toUpperCase()));
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 5, 7, 12, 63})
    void resolve_whenSpecIsAUniquePrefix_returnsTheSnapshot(int length) {
        assertEquals(first, Snapshots.resolve(store, first.toHex().substring(0, length)));
    }

    @Test
    void resolve_whenPrefixIsShorterThan4Digits_saysTooShort() {
        String message = error(first.toHex().substring(0, 3));
        assertTrue(message.contains("too short"), message);
        assertTrue(message.contains("at least 4"), message);
    }

    @Test
    void resolve_whenTwoSnapshotsShareThePrefix_saysAmbiguousAndListsBoth() {
        Map<String, Snapshot> byPrefix = new HashMap<>();
        Snapshot a = null;
        Snapshot b = null;
        for (int i = 0; a == null; i++) {
            Snapshot s = snapshot("try " + i);
            String prefix = ObjectId.hash(s.encode()).toHex().substring(0, 4);
            Snapshot earlier = byPrefix.putIfAbsent(prefix, s);
            if (earlier != null) {
                a = earlier;
                b = s;
            }
        }
        ObjectId idA = put(a.encode());
        ObjectId idB = put(b.encode());
        String prefix = idA.toHex().substring(0, 4);
        assertEquals(prefix, idB.toHex().substring(0, 4));

        Snapshots.AmbiguousPrefixException e =
                assertThrows(Snapshots.AmbiguousPrefixException.class, () -> Snapshots.resolve(store, prefix));
        assertEquals(List.of(idA, idB).stream().sorted().toList(), e.candidates());
        String message = e.getMessage();
        assertTrue(message.startsWith("ambiguous snapshot id prefix '" + prefix + "': 2 snapshots match:"), message);
        assertTrue(message.contains(idA.shortHex()) && message.contains(idB.shortHex()), message);
        // a longer prefix picks one
        int n = 4;
        while (idA.toHex().charAt(n) == idB.toHex().charAt(n)) {
            n++;
        }
        assertEquals(idA, Snapshots.resolve(store, idA.toHex().substring(0, n + 1)));
        assertEquals(idB, Snapshots.resolve(store, idB.toHex().substring(0, n + 1)));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "deadbeef",
                "no-such-tag",
                "tags/v9",
                "0000000000000000000000000000000000000000000000000000000000000000"
            })
    void resolve_whenNothingHasThatName_saysSo(String spec) {
        if (first.toHex().startsWith(spec)) {
            return; // astronomically unlikely
        }
        String message = assertThrows(Snapshots.NotFoundException.class, () -> Snapshots.resolve(store, spec))
                .getMessage();
        assertEquals("no ref or snapshot named '" + spec + "'", message);
    }

    @Test
    void resolve_whenSpecIsATagsShortName_returnsTheTaggedSnapshot() {
        ObjectId other = put(snapshot("tagged").encode());
        assertTrue(store.refs().compareAndSet("tags/v1", null, other));
        assertTrue(store.refs().compareAndSet("tags/rel/2.0", null, first));
        assertEquals(other, Snapshots.resolve(store, "v1"));
        assertEquals(other, Snapshots.resolve(store, "tags/v1"));
        assertEquals(first, Snapshots.resolve(store, "rel/2.0"));
        // a ref of that exact name wins over the tag
        assertTrue(store.refs().compareAndSet("v1", null, first));
        assertEquals(first, Snapshots.resolve(store, "v1"));
        // no tags/tags/ lookups
        assertThrows(Snapshots.NotFoundException.class, () -> Snapshots.resolve(store, "tags/rel"));
    }

    @Test
    void resolve_whenManySnapshotsShareThePrefix_listsTenAndCountsTheRest() {
        List<ObjectId> same = new ArrayList<>();
        String prefix = first.toHex().substring(0, 4);
        for (int i = 0; same.size() < 12; i++) {
            Snapshot s = snapshot("many " + i);
            if (ObjectId.hash(s.encode()).toHex().startsWith(prefix)) {
                same.add(put(s.encode()));
            }
        }
        Snapshots.AmbiguousPrefixException e =
                assertThrows(Snapshots.AmbiguousPrefixException.class, () -> Snapshots.resolve(store, prefix));
        assertEquals(13, e.candidates().size());
        assertTrue(e.getMessage().contains(": 13 snapshots match:"), e.getMessage());
        assertTrue(e.getMessage().endsWith(" and 3 more (give more digits)"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void resolve_whenSpecIsEmptyOrNull_saysEmpty() {
        assertTrue(error("").contains("empty"));
        assertTrue(error(null).contains("empty"));
    }

    @Test
    void resolve_whenSpecIsLongerThanAnId_saysNoSuchSnapshot() {
        String spec = first.toHex() + "0";
        assertEquals("no ref or snapshot named '" + spec + "'", error(spec));
    }

    @Test
    void resolve_whenThePrefixMatchesOnlyOtherObjects_saysNoSuchSnapshot() {
        ObjectId chunk = put(Chunks.encode(new byte[] {1, 2, 3}, 0, 3));
        String spec = chunk.toHex().substring(0, 8);
        assertEquals("no ref or snapshot named '" + spec + "'", error(spec));
        assertEquals("no ref or snapshot named '" + chunk.toHex() + "'", error(chunk.toHex()));
    }

    /**
     * A store of millions of chunks has hundreds of objects under any 4-digit prefix. The one
     * snapshot among them must still resolve: here 64 chunk ids share its prefix and sort before it.
     */
    @Test
    void resolve_whenManyChunksShareThePrefixAndSortFirst_stillFindsTheSnapshot() throws Exception {
        // a snapshot whose third id byte is 0xff, so chunks with its 2-byte prefix sort before it
        int late = 0;
        while ((ObjectId.hash(snapshot("late " + late).encode()).toBytes()[2] & 0xff) != 0xff) {
            late++;
        }
        ObjectId snap = put(snapshot("late " + late).encode());
        byte[] target = snap.toBytes();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] chunk = new byte[Chunks.DATA_OFFSET + Long.BYTES];
        chunk[0] = (byte) ObjectType.CHUNK.code;
        chunk[1] = (byte) ObjectType.VERSION;
        List<ObjectId> before = new ArrayList<>();
        for (long i = 0; before.size() < 64; i++) {
            ByteBuffer.wrap(chunk, Chunks.DATA_OFFSET, Long.BYTES).putLong(i);
            byte[] h = sha.digest(chunk);
            if (h[0] == target[0] && h[1] == target[1] && (h[2] & 0xff) != 0xff) {
                before.add(put(chunk.clone()));
            }
        }
        before.forEach(id -> assertTrue(id.compareTo(snap) < 0));
        assertEquals(snap, Snapshots.resolve(store, snap.toHex().substring(0, 4)));
    }
}
