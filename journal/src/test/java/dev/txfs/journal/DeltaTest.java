package dev.txfs.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectType;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeRef;
import dev.txfs.snapshot.Verifier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link Delta}: exactly the missing objects, found without walking equal subtrees, and applying it. */
final class DeltaTest {
    private final InMemoryObjectStore store = new InMemoryObjectStore();

    private static Set<ObjectId> expected(ObjectStore store, ObjectId from, ObjectId to) {
        Set<ObjectId> want = new HashSet<>(DeltaFixture.reachable(store, to));
        if (from != null) {
            want.removeAll(DeltaFixture.reachable(store, from));
        }
        return want;
    }

    @Test
    void between_isExactlyTheObjectsToReachesAndFromDoesNot() throws Exception {
        ObjectId base = DeltaFixture.base(store);
        ObjectId next = DeltaFixture.next(store, base);
        Delta d = Delta.between(store, base, next);
        assertEquals(expected(store, base, next), new HashSet<>(d.objects()));
        assertEquals(d.objects().size(), new HashSet<>(d.objects()).size(), "each object once");
        assertEquals(next, d.objects().get(0), "the target snapshot comes first");
        assertEquals(
                List.of(
                        "M /bin/tool (FILE)",
                        "M /etc/hosts (FILE)",
                        "A /etc/new (FILE)",
                        "A /share/doc/README (FILE)",
                        "D /share/doc/b (FILE)"),
                d.changes().stream().map(Change::toString).toList());
    }

    @Test
    void between_withoutBase_isEverythingTheTargetReaches() throws Exception {
        ObjectId base = DeltaFixture.base(store);
        Delta d = Delta.between(store, null, base);
        assertTrue(d.isFull());
        assertEquals(DeltaFixture.reachable(store, base), new HashSet<>(d.objects()));
    }

    @Test
    void between_sameSnapshotTwice_isEmpty() throws Exception {
        ObjectId base = DeltaFixture.base(store);
        Delta d = Delta.between(store, base, base);
        assertEquals(List.of(), d.objects());
        assertEquals(List.of(), d.changes());
    }

    @Test
    void between_oneFileChangedInA30000FileTree_readsOnlyTheChangedPath() throws Exception {
        ObjectId base = bigTreeSnapshot(store, 30_000);
        ObjectId root = new Editor(store, Snapshot.decode(store.get(base)).root())
                .at(Editor.T0 + 1)
                .write("/flat/added", DeltaFixture.bytes(1 << 20, 7))
                .flush();
        ObjectId next = DeltaFixture.snapshot(store, root, List.of(base), "add 1 MiB");
        CountingStore counting = new CountingStore(store);
        Delta d = Delta.between(counting, base, next);
        assertEquals(expected(store, base, next), new HashSet<>(d.objects()));
        long bytes = DeltaFixture.stream(store, base, next, null).length;
        System.out.printf(
                "delta for one 1 MiB file added to a 30,000-file tree: %d objects, %d stream bytes, %d store reads%n",
                d.objects().size(), bytes, counting.reads);
        assertTrue(counting.reads < 40, "reads: " + counting.reads);
        assertTrue(bytes < (1 << 20) + 64 * 1024, "stream bytes: " + bytes);
    }

    @Test
    void between_fourBytesChangedIn10MiBFile_sendsAtMostTwoNewChunks() throws Exception {
        byte[] data = DeltaFixture.bytes(10 << 20, 3);
        ObjectId r1 =
                new Editor(store, Editor.empty(store)).write("/big.bin", data).flush();
        ObjectId s1 = DeltaFixture.snapshot(store, r1, List.of(), "v1");
        for (int i = 0; i < 4; i++) {
            data[5_000_000 + i] ^= (byte) 0xff;
        }
        ObjectId r2 =
                new Editor(store, r1).at(Editor.T0 + 1).write("/big.bin", data).flush();
        ObjectId s2 = DeltaFixture.snapshot(store, r2, List.of(s1), "v2");
        Delta d = Delta.between(store, s1, s2);
        assertEquals(expected(store, s1, s2), new HashSet<>(d.objects()));
        long chunks = d.objects().stream()
                .filter(id -> ObjectType.of(store.get(id)) == ObjectType.CHUNK)
                .count();
        long bytes = DeltaFixture.stream(store, s1, s2, null).length;
        System.out.printf(
                "delta for 4 bytes changed in a 10 MiB file: %d objects, %d new chunks, %d stream bytes%n",
                d.objects().size(), chunks, bytes);
        assertTrue(chunks <= 2, "new chunks: " + chunks);
        // the changed chunk and the Blob's list travel as operations against their old versions
        assertTrue(bytes < 2048, "stream bytes: " + bytes);
    }

    @Test
    void stream_ofAFileEditedInTwoPlaces_sendsDeltaRecordsEvenWhenChunkIndicesShift() throws Exception {
        byte[] data = DeltaFixture.bytes(2 << 20, 5);
        ObjectId r1 = new Editor(store, Editor.empty(store)).write("/f", data).flush();
        ObjectId s1 = DeltaFixture.snapshot(store, r1, List.of(), "v1");
        byte[] edited = new byte[data.length + 150_000];
        System.arraycopy(data, 0, edited, 0, 300_000); // 150,000 new bytes at 300,000: ~2 more chunks
        System.arraycopy(DeltaFixture.bytes(150_000, 6), 0, edited, 300_000, 150_000);
        System.arraycopy(data, 300_000, edited, 450_000, data.length - 300_000);
        edited[1_500_000] ^= 1; // and one bit, past the shift
        ObjectId r2 =
                new Editor(store, r1).at(Editor.T0 + 1).write("/f", edited).flush();
        ObjectId s2 = DeltaFixture.snapshot(store, r2, List.of(s1), "v2");
        long bytes = DeltaFixture.stream(store, s1, s2, null).length;
        long plain = DeltaFixture.stream(store, s1, s2, null, 0).length;
        System.out.printf(
                "delta for 150,000 bytes inserted and one bit flipped: %d stream bytes (%d plain)%n", bytes, plain);
        assertTrue(bytes < 150_000 + 8_192, "stream bytes: " + bytes + ", plain " + plain);
    }

    @Test
    void apply_toAStoreWithTheBase_givesTheTargetTreeIdAndAVerifiedStore() throws Exception {
        ObjectId base = DeltaFixture.base(store);
        ObjectId next = DeltaFixture.next(store, base);
        InMemoryObjectStore other = DeltaFixture.copyOf(store, base);
        other.refs().compareAndSet("HEAD", null, base);
        byte[] stream = DeltaFixture.stream(store, base, next, null);

        DeltaReader.Checked c = DeltaReader.check(DeltaReader.Source.of(stream), other, List.of());
        assertEquals(base, c.from());
        assertEquals(next, c.to());
        assertEquals(Delta.between(store, base, next).objects().size(), c.newObjects());
        assertEquals(c.newObjects(), c.apply(other, "HEAD", base));

        assertEquals(next, other.refs().find("HEAD").orElseThrow());
        assertEquals(
                Snapshot.decode(store.get(next)).root(),
                Snapshot.decode(other.get(next)).root());
        assertTrue(Verifier.verify(other, n -> {}).clean());
        assertEquals(DeltaFixture.reachable(store, next), DeltaFixture.reachable(other, next));
    }

    @Test
    void apply_fullStreamIntoEmptyStore_marksTheTargetShallowWhenItsParentIsAbsent() throws Exception {
        ObjectId base = DeltaFixture.base(store);
        ObjectId next = DeltaFixture.next(store, base);
        InMemoryObjectStore other = new InMemoryObjectStore();
        DeltaReader.Checked c = DeltaReader.check(
                DeltaReader.Source.of(DeltaFixture.stream(store, null, next, null)), other, List.of());
        c.apply(other, "imports/x", null);
        assertEquals(Set.of(next), other.shallow());
        assertTrue(Verifier.verify(other, n -> {}).clean());
        assertFalse(other.contains(base));
    }

    /** A snapshot of a tree of {@code files} inline files: /flat holds most, /nested the rest. */
    static ObjectId bigTreeSnapshot(ObjectStore store, int files) {
        try (ObjectWriter w = store.newWriter()) {
            List<TreeEntry> flat = new ArrayList<>();
            for (int i = 0; i < files - 10 * 100; i++) {
                flat.add(TreeEntry.builder("f" + i, EntryKind.FILE)
                        .mode(0644)
                        .mtime(Editor.T0)
                        .content(Content.inline(("content " + i).getBytes()))
                        .build());
            }
            List<TreeEntry> nested = new ArrayList<>();
            for (int d = 0; d < 10; d++) {
                List<TreeEntry> inDir = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    inDir.add(TreeEntry.builder("g" + i, EntryKind.FILE)
                            .mode(0644)
                            .mtime(Editor.T0)
                            .content(Content.inline(("g " + d + "/" + i).getBytes()))
                            .build());
                }
                nested.add(dir("d" + d, Directories.write(w, inDir)));
            }
            TreeRef top = Directories.write(
                    w, List.of(dir("flat", Directories.write(w, flat)), dir("nested", Directories.write(w, nested))));
            ObjectId root = HardLinks.writeRoot(w, dir("", top), List.of());
            ObjectId snap = w.put(new Snapshot(root, List.of(), Editor.T0, "test", "big").encode());
            w.flush();
            return snap;
        }
    }

    private static TreeEntry dir(String name, TreeRef tree) {
        return TreeEntry.builder(name, EntryKind.DIRECTORY)
                .mode(0755)
                .mtime(Editor.T0)
                .tree(tree)
                .build();
    }
}
