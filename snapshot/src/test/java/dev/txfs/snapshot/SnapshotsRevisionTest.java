package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Revision suffixes on snapshot names ({@code HEAD~2}, {@code v1^}, {@code M^2}) and their errors. */
final class SnapshotsRevisionTest {
    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private ObjectId root;
    /** s0 ← s1 ← s2 ← s3 = HEAD, first parents; tags/v1 = s2. */
    private final ObjectId[] s = new ObjectId[4];

    @BeforeEach
    void recordFourSnapshots() {
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
        for (int i = 0; i < s.length; i++) {
            long t = i;
            s[i] = Snapshots.record(store, Snapshots.HEAD, root, "tester", "s" + i, () -> t);
        }
        assertTrue(store.refs().compareAndSet("tags/v1", null, s[2]));
    }

    private ObjectId put(Snapshot snapshot) {
        try (ObjectWriter w = store.newWriter()) {
            return w.put(snapshot.encode());
        }
    }

    private ObjectId resolve(String spec) {
        return Snapshots.resolve(store, spec);
    }

    private String notFound(String spec) {
        return assertThrows(Snapshots.NotFoundException.class, () -> resolve(spec))
                .getMessage();
    }

    private String malformed(String spec) {
        TxfsException e = assertThrows(TxfsException.class, () -> resolve(spec));
        assertFalse(e instanceof Snapshots.NotFoundException, e.getMessage());
        return e.getMessage();
    }

    @Test
    void resolve_whenSpecHasTildeN_walksNFirstParents() {
        assertEquals(s[3], resolve("HEAD~0"));
        assertEquals(s[2], resolve("HEAD~"));
        assertEquals(s[2], resolve("HEAD~1"));
        assertEquals(s[1], resolve("HEAD~2"));
        assertEquals(s[0], resolve("HEAD~3"));
        assertEquals(s[0], resolve("HEAD~003"));
    }

    @Test
    void resolve_whenSpecHasCarets_takesFirstParents() {
        assertEquals(s[2], resolve("HEAD^"));
        assertEquals(s[1], resolve("HEAD^^"));
        assertEquals(s[2], resolve("HEAD^1"));
        assertEquals(s[3], resolve("HEAD^0"));
    }

    @Test
    void resolve_whenSuffixesCombine_appliesThemLeftToRight() {
        assertEquals(s[0], resolve("v1~1^"));
        assertEquals(s[0], resolve("HEAD~2^"));
        assertEquals(s[0], resolve("HEAD^~2"));
        assertEquals(s[1], resolve("tags/v1~"));
        assertEquals(s[1], resolve("HEAD~1~1"));
    }

    @Test
    void resolve_whenSuffixFollowsAnIdOrPrefix_walksFromThatSnapshot() {
        assertEquals(s[2], resolve(s[3].toHex() + "~1"));
        assertEquals(s[1], resolve(s[3].toHex().substring(0, 8) + "^^"));
    }

    @Test
    void resolve_whenCaretNOnAMerge_takesTheNthParent() {
        ObjectId merge = put(new Snapshot(root, List.of(s[3], s[1]), 9L, "tester", "merge"));
        assertTrue(store.refs().compareAndSet("merged", null, merge));
        assertEquals(s[3], resolve("merged^"));
        assertEquals(s[3], resolve("merged^1"));
        assertEquals(s[1], resolve("merged^2"));
        assertEquals(s[0], resolve("merged^2~"));
        assertEquals(s[2], resolve("merged~1^"));
        String message = notFound("merged^3");
        assertTrue(message.contains("has 2 parents, not 3"), message);
        message = notFound("HEAD^2");
        assertTrue(message.contains("has 1 parent, not 2"), message);
    }

    @Test
    void resolve_whenTheWalkPassesTheRoot_saysNotFoundAndHowFarItGot() {
        String message = notFound("HEAD~4");
        assertTrue(message.startsWith("no snapshot named 'HEAD~4': " + s[0].shortHex() + " has no parent"), message);
        assertTrue(message.contains("got 3 steps back"), message);
        message = notFound("v1^^^");
        assertTrue(message.contains("got 2 steps back"), message);
    }

    @Test
    void resolve_whenTheWalkReachesAShallowSnapshot_saysHistoryEndsThere() {
        store.addShallow(List.of(s[1]));
        assertEquals(s[1], resolve("HEAD~2"));
        String message = notFound("HEAD~3");
        assertTrue(message.contains(s[1].shortHex() + " is shallow"), message);
        assertTrue(message.contains("got 2 steps back"), message);
    }

    @Test
    void resolve_whenAParentIsNotInTheStore_saysSo() {
        ObjectId gone = ObjectId.hash(new byte[] {42});
        ObjectId orphan = put(new Snapshot(root, List.of(gone), 9L, "tester", "orphan"));
        assertTrue(store.refs().compareAndSet("orphan", null, orphan));
        String message = notFound("orphan~1");
        assertTrue(
                message.contains("the parent " + gone.shortHex() + " of " + orphan.shortHex() + " is not in the store"),
                message);
        assertTrue(message.contains("got 0 steps back"), message);
    }

    @Test
    void resolve_whenTheCountIsHuge_failsFastWithoutOverflow() {
        assertTimeoutPreemptively(() -> {
            String message = notFound("HEAD~2147483647");
            assertTrue(message.contains("got 3 steps back"), message);
            message = notFound("HEAD^2147483647");
            assertTrue(message.contains("not 2147483647"), message);
            message = malformed("HEAD~99999999999");
            assertTrue(message.contains("too large"), message);
            message = malformed("HEAD~2147483648");
            assertTrue(message.contains("too large"), message);
            message = malformed("HEAD~" + "9".repeat(10_000));
            assertTrue(message.contains("too large"), message);
        });
    }

    private static void assertTimeoutPreemptively(org.junit.jupiter.api.function.Executable body) {
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(5), body);
    }

    @ParameterizedTest
    @ValueSource(strings = {"HEAD~x", "HEAD^{}", "HEAD~1a", "HEAD~-1", "HEAD~+1", "HEAD~1/x", "v1^ ", "HEAD~\u0663"})
    void resolve_whenTheSuffixIsMalformed_saysSo(String spec) {
        String message = malformed(spec);
        assertTrue(message.startsWith("malformed revision '" + spec + "'"), message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"~1", "^", "^^"})
    void resolve_whenNoNamePrecedesTheSuffix_saysSo(String spec) {
        assertTrue(malformed(spec).contains("no name before it"));
    }

    @Test
    void resolve_whenTheSuffixIsMalformedAfterALongWalk_saysMalformedBeforeWalking() {
        assertTrue(malformed("HEAD~99~x").startsWith("malformed revision 'HEAD~99~x'"));
        assertTrue(malformed("nope~x").startsWith("malformed revision 'nope~x'"));
    }

    @Test
    void resolve_whenTheNameBeforeTheSuffixIsUnknown_saysThatNameIsNotFound() {
        assertEquals("no ref or snapshot named 'nope'", notFound("nope~1"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"a~b", "tags/v1^", "x^2", "runs/r~1"})
    void checkName_whenTheNameHasTildeOrCaret_refusesIt(String name) {
        assertThrows(IllegalArgumentException.class, () -> RefStore.checkName(name));
    }
}
