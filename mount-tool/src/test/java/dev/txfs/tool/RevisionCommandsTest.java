package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Revision suffixes through the verbs, {@code snapshot --tag} and {@code refs}, in-process. */
class RevisionCommandsTest extends CliTestBase {
    private Path src;
    /** Three snapshots of src, oldest first; HEAD is the last. */
    private final String[] s = new String[3];

    @BeforeEach
    void recordThreeSnapshots() throws Exception {
        src = Files.createDirectories(tmp.resolve("src"));
        assertEquals(0, inStore("init").exit());
        for (int i = 0; i < s.length; i++) {
            Files.writeString(src.resolve("f"), "v" + i);
            Run r = inStore("snapshot", "--from-dir", src.toString(), "-m", "s" + i);
            assertEquals(0, r.exit(), r.err());
            s[i] = r.out().strip();
        }
    }

    private SortedMap<String, ObjectId> refs() {
        try (LmdbObjectStore st = LmdbObjectStore.open(store)) {
            return st.refs().list("");
        }
    }

    private void assertRejected(int exit, String errStart, String... args) {
        SortedMap<String, ObjectId> before = refs();
        Run r = inStore(args);
        assertEquals(exit, r.exit(), List.of(args) + ": " + r.err());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("txfs: " + errStart), r.err());
        assertEquals("", r.out());
        assertEquals(before, refs());
    }

    @Test
    void verbs_whenGivenRevisionSuffixes_nameTheAncestors() {
        assertTrue(inStore("show", "HEAD~1").out().startsWith("snapshot  " + s[1]));
        assertTrue(inStore("show", "HEAD^^").out().startsWith("snapshot  " + s[0]));
        Run log = inStore("log", "--oneline", "HEAD~1");
        assertEquals(0, log.exit(), log.err());
        assertEquals(2, log.out().lines().count(), log.out());
        assertTrue(log.out().startsWith(s[1].substring(0, 12)), log.out());
        assertEquals("M\t/f\n", inStore("diff", "HEAD~2", "HEAD").out());
        assertEquals("", inStore("diff", "HEAD~1^", s[0]).out());
        assertEquals(0, inStore("tag", "v1", "HEAD~1").exit());
        assertEquals(ObjectId.parse(s[1]), refs().get("tags/v1"));
        assertTrue(inStore("show", "v1~1").out().startsWith("snapshot  " + s[0]));
    }

    @Test
    void verbs_whenTheWalkPassesTheRoot_exitThreeSayingHowFar() {
        assertRejected(3, "no snapshot named 'HEAD~3': " + s[0].substring(0, 12) + " has no parent", "log", "HEAD~3");
        assertRejected(3, "no snapshot named 'HEAD~99': ", "diff", "HEAD~99", "HEAD");
        assertRejected(3, "no snapshot named 'HEAD^2': ", "show", "HEAD^2");
        assertRejected(3, "no ref or snapshot named 'nope'", "show", "nope~1");
    }

    @Test
    void verbs_whenTheSuffixIsMalformed_exitTwo() {
        assertRejected(2, "malformed revision 'HEAD~x'", "show", "HEAD~x");
        assertRejected(
                2, "malformed revision 'HEAD~99999999999': count 99999999999 is too large", "log", "HEAD~99999999999");
        assertRejected(2, "'~1' has a revision suffix but no name before it", "show", "~1");
        assertRejected(2, "invalid tag name 'a~1'", "tag", "a~1", "HEAD");
        assertRejected(2, "invalid tag name 'b^'", "tag", "b^", "HEAD");
    }

    @Test
    void snapshotTag_tagsTheNewSnapshot() throws Exception {
        Files.writeString(src.resolve("f"), "v3");
        Run r = inStore("snapshot", "--from-dir", src.toString(), "--tag", "rel");
        assertEquals(0, r.exit(), r.err());
        ObjectId id = ObjectId.parse(r.out().strip());
        assertEquals(id, refs().get("tags/rel"));
        assertEquals(id, refs().get("HEAD"));
    }

    @Test
    void snapshotTag_whenTheTagExists_refusesBeforeRecordingUnlessForce() throws Exception {
        assertEquals(0, inStore("tag", "rel", s[0]).exit());
        Files.writeString(src.resolve("f"), "v3");
        assertRejected(
                2,
                "tag 'rel' exists (" + s[0].substring(0, 12) + "); use --force",
                "snapshot",
                "--from-dir",
                src.toString(),
                "--tag",
                "rel");
        assertEquals(ObjectId.parse(s[2]), refs().get("HEAD"));
        Run forced = inStore("snapshot", "--from-dir", src.toString(), "--tag", "tags/rel", "--force");
        assertEquals(0, forced.exit(), forced.err());
        assertEquals(refs().get("HEAD"), refs().get("tags/rel"));
        assertRejected(2, "invalid tag name 'a~1'", "snapshot", "--from-dir", src.toString(), "--tag", "a~1");
        assertRejected(2, "--force goes with --tag", "snapshot", "--from-dir", src.toString(), "--force");
    }

    @Test
    void refs_listsEveryRefAlignedWithKindIdTimeAndMessage() {
        try (LmdbObjectStore st = LmdbObjectStore.open(store)) {
            ObjectId head = st.refs().find("HEAD").orElseThrow();
            assertTrue(st.refs().compareAndSet("live", null, head));
            assertTrue(st.refs().compareAndSet("runs/build", null, ObjectId.parse(s[1])));
            assertTrue(st.refs().compareAndSet("imports/abc", null, ObjectId.parse(s[0])));
            assertTrue(st.refs().compareAndSet("boot/default", null, head));
            assertTrue(st.refs().compareAndSet("custom", null, head));
        }
        assertEquals(0, inStore("tag", "v1", "HEAD~1").exit());
        Run r = inStore("refs");
        assertEquals(0, r.exit(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(7, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("HEAD          head    " + s[2].substring(0, 12) + " "), r.out());
        assertTrue(lines.get(0).endsWith(" s2"), r.out());
        assertTrue(r.out().contains("\nboot/default  boot    " + s[2].substring(0, 12)), r.out());
        assertTrue(r.out().contains("\ncustom        other   "), r.out());
        assertTrue(r.out().contains("\nimports/abc   import  " + s[0].substring(0, 12)), r.out());
        assertTrue(r.out().contains("\nlive          live    "), r.out());
        assertTrue(r.out().contains("\nruns/build    run     " + s[1].substring(0, 12)), r.out());
        assertTrue(r.out().contains("\ntags/v1       tag     " + s[1].substring(0, 12)), r.out());
        // the id column lines up
        int col = lines.get(0).indexOf(s[2].substring(0, 12));
        lines.forEach(l -> assertTrue(l.substring(col).matches("[0-9a-f]{12} .*"), l));

        Run json = inStore("refs", "--json");
        assertEquals(0, json.exit(), json.err());
        assertTrue(json.out().matches("(?s)\\[\\{.*\\}\\]\\n"), json.out());
        assertTrue(
                json.out().startsWith("[{\"name\":\"HEAD\",\"kind\":\"head\",\"id\":\"" + s[2] + "\",\"time_ns\":"),
                json.out());
        assertTrue(json.out().contains("{\"name\":\"tags/v1\",\"kind\":\"tag\",\"id\":\"" + s[1] + "\""), json.out());
        assertTrue(json.out().contains("\"message\":\"s1\"}"), json.out());
        assertEquals(7, json.out().split("\\{\"name\"", -1).length - 1, json.out());
    }

    @Test
    void refs_whenTheStoreHasNoRefs_printsNothing() throws Exception {
        Path empty = tmp.resolve("empty");
        assertEquals(0, run("--store", empty.toString(), "init").exit());
        Run r = run("--store", empty.toString(), "refs");
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.out());
        assertEquals("[]\n", run("--store", empty.toString(), "refs", "--json").out());
    }
}
