package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** log, show, diff and tag in-process against a store of two snapshots of a small directory. */
class HistoryCommandsTest extends CliTestBase {
    private Path src;
    private String first;
    private String second;

    @BeforeEach
    void recordTwoSnapshots() throws Exception {
        src = Files.createDirectories(tmp.resolve("src"));
        Files.createDirectories(src.resolve("d"));
        Files.writeString(src.resolve("keep"), "same");
        Files.writeString(src.resolve("edit"), "12345");
        Files.writeString(src.resolve("d/gone"), "x".repeat(100));
        assertEquals(0, inStore("init").exit());
        first = snapshot("first");
        Files.writeString(src.resolve("edit"), "1234567890");
        Files.delete(src.resolve("d/gone"));
        Files.createDirectories(src.resolve("new/deep"));
        Files.writeString(src.resolve("new/deep/f"), "y".repeat(300));
        Files.writeString(src.resolve("new/g"), "z");
        second = snapshot("second\nwith \"quotes\" and a\ttab");
    }

    private String snapshot(String message) {
        Run r = inStore("snapshot", "--from-dir", src.toString(), "-m", message);
        assertEquals(0, r.exit(), r.err());
        return r.out().strip();
    }

    private SortedMap<String, ObjectId> refs() {
        try (LmdbObjectStore s = LmdbObjectStore.open(store)) {
            return s.refs().list("");
        }
    }

    /** The expected failure: one stderr line, the exit code, no output and no ref changed. */
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
    void log_whenJson_listsNewestFirstWithEveryField() {
        Run r = inStore("log", "--json");
        assertEquals(0, r.exit(), r.err());
        String expectedMessage = "\"message\":\"second\\nwith \\\"quotes\\\" and a\\ttab\"";
        assertTrue(r.out().startsWith("[{\"id\":\"" + second + "\""), r.out());
        assertTrue(r.out().contains(expectedMessage), r.out());
        assertTrue(r.out().contains("\"parents\":[\"" + first + "\"]"), r.out());
        assertTrue(r.out().contains("{\"id\":\"" + first + "\""), r.out());
        assertTrue(r.out().contains("\"parents\":[],"), r.out());
        assertTrue(r.out().indexOf(second) < r.out().indexOf("{\"id\":\"" + first), r.out());
        assertTrue(r.out().matches("(?s)\\[.*\\]\\n"), r.out());

        Run one = inStore("log", "--json", "-n", "1");
        assertTrue(!one.out().contains("{\"id\":\"" + first) && one.out().contains(second), one.out());
        assertEquals("[]\n", inStore("log", "--json", "-n", "0").out());
        assertEquals(2, inStore("log", "--oneline").out().lines().count());
    }

    @Test
    void show_whenJson_printsTreeParentsAndCounts() {
        Run r = inStore("show", "--json", second.substring(0, 6));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("{\"id\":\"" + second + "\",\"tree\":\""), r.out());
        assertTrue(r.out().contains("\"refs\":[\"HEAD\"]"), r.out());
        assertTrue(r.out().contains("\"counts\":{\"files\":4,\"directories\":3,"), r.out());
        assertTrue(r.out().endsWith("\"bytes\":315}}\n"), r.out());
    }

    @Test
    void diff_whenTwoSnapshots_listsAddedModifiedDeletedByPath() {
        Run r = inStore("diff", first.substring(0, 5), "HEAD");
        assertEquals(0, r.exit(), r.err());
        assertEquals("D\t/d/gone\nM\t/edit\nA\t/new\n", r.out());

        Run back = inStore("diff", "HEAD", first);
        assertEquals("A\t/d/gone\nM\t/edit\nD\t/new\n", back.out());
        assertEquals("", inStore("diff", "HEAD", second).out());
    }

    @Test
    void diff_whenStat_printsBytesBeforeAndAfterAndASummary() {
        Run r = inStore("diff", "--stat", first, second);
        assertEquals(0, r.exit(), r.err());
        assertEquals(
                List.of(
                        "D\t/d/gone\t100 -> -",
                        "M\t/edit\t5 -> 10",
                        "A\t/new\t- -> 301",
                        "3 paths changed: 1 added, 1 modified, 1 deleted; file bytes 105 -> 311 (+206)"),
                r.out().lines().toList());
    }

    @Test
    void diff_whenJson_describesBothSidesAndEveryChange() {
        Run r = inStore("diff", "--json", "--stat", first, "HEAD");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("{\"from\":{\"name\":\"" + first + "\",\"snapshot\":\"" + first), r.out());
        assertTrue(r.out().contains("\"to\":{\"name\":\"HEAD\",\"snapshot\":\"" + second), r.out());
        assertTrue(
                r.out()
                        .contains("{\"status\":\"A\",\"path\":\"/new\",\"before\":null,\"after\":\"directory\","
                                + "\"bytes_before\":null,\"bytes_after\":301}"),
                r.out());
        assertTrue(
                r.out()
                        .endsWith("\"summary\":{\"added\":1,\"modified\":1,\"deleted\":1,\"bytes_before\":105,"
                                + "\"bytes_after\":311}}\n"),
                r.out());
    }

    @Test
    void diff_withoutB_comparesWithTheLiveRefElseHead() {
        assertEquals("D\t/d/gone\nM\t/edit\nA\t/new\n", inStore("diff", first).out());
        try (LmdbObjectStore s = LmdbObjectStore.open(store)) {
            assertTrue(s.refs().compareAndSet("live", null, ObjectId.parse(first)));
        }
        assertEquals("", inStore("diff", first).out());
    }

    @Test
    void tag_createsListsResolvesAndDeletes() {
        Run made = inStore("tag", "v1", first.substring(0, 8));
        assertEquals(0, made.exit(), made.err());
        assertEquals("tags/v1 " + first + "\n", made.out());
        assertEquals(ObjectId.parse(first), refs().get("tags/v1"));

        assertEquals(0, inStore("tag", "tags/rel/2.0", "HEAD").exit());
        Run list = inStore("tag");
        assertEquals(2, list.out().lines().count(), list.out());
        assertTrue(list.out().startsWith("rel/2.0\t" + second.substring(0, 12) + "\t"), list.out());
        assertTrue(list.out().contains("v1\t" + first.substring(0, 12) + "\t"), list.out());
        assertEquals(list.out(), inStore("tag", "--list").out());
        assertTrue(inStore("tag", "--list", "--json")
                .out()
                .contains("{\"name\":\"v1\",\"ref\":\"tags/v1\",\"id\":\"" + first + "\""));

        // a tag is a name for show, diff and log
        assertTrue(inStore("show", "v1").out().startsWith("snapshot  " + first));
        assertEquals(
                "D\t/d/gone\nM\t/edit\nA\t/new\n",
                inStore("diff", "v1", "rel/2.0").out());

        Run moved = inStore("tag", "--force", "v1", second);
        assertEquals(0, moved.exit(), moved.err());
        assertEquals(ObjectId.parse(second), refs().get("tags/v1"));

        Run deleted = inStore("tag", "-d", "v1");
        assertEquals(0, deleted.exit(), deleted.err());
        assertEquals(null, refs().get("tags/v1"));
    }

    @Test
    void tag_whenInputIsBad_saysSoInOneLineAndChangesNothing() {
        assertEquals(0, inStore("tag", "v1", first).exit());
        assertRejected(2, "tag 'v1' exists (" + first.substring(0, 12) + "); use --force", "tag", "v1", second);
        assertRejected(2, "invalid tag name 'a..b'", "tag", "a..b", first);
        assertRejected(2, "invalid tag name '-x'", "tag", "--", "-x", first);
        assertRejected(2, "invalid tag name 'x/'", "tag", "x/", first);
        assertRejected(2, "invalid tag name 'beef'", "tag", "beef", first);
        assertRejected(2, "invalid tag name 'HEAD'", "tag", "HEAD", first);
        assertRejected(2, "invalid tag name 'a b'", "tag", "a b", first);
        assertRejected(2, "missing snapshot ID", "tag", "v2");
        assertRejected(3, "no ref or snapshot named 'nosuch'", "tag", "v2", "nosuch");
        assertRejected(3, "no tag named 'v2'", "tag", "-d", "v2");
        assertRejected(2, "-d takes NAME only", "tag", "-d", "v1", first);
        assertRejected(2, "Unknown option: '--bogus'", "tag", "--bogus");
    }

    @Test
    void anyVerb_whenPrefixIsAmbiguous_exitsTwoListingTheCandidates() {
        List<ObjectId> twins = twinSnapshots();
        String prefix = twins.get(0).toHex().substring(0, 4);
        String a = twins.get(0).shortHex();
        String b = twins.get(1).shortHex();
        for (String[] args : List.of(
                new String[] {"show", prefix},
                new String[] {"log", prefix},
                new String[] {"diff", prefix, "HEAD"},
                new String[] {"diff", "HEAD", prefix},
                new String[] {"tag", "v1", prefix},
                new String[] {"verify", prefix},
                new String[] {"checkout", prefix, tmp.resolve("out").toString()})) {
            assertRejected(2, "ambiguous snapshot id prefix '" + prefix + "': 2 snapshots match: ", args);
            Run r = inStore(args);
            assertTrue(r.err().contains(a) && r.err().contains(b), r.err());
        }
        assertRejected(3, "no ref or snapshot named 'ffffffffff'", "diff", "ffffffffff");
        assertRejected(2, "Missing required parameter: 'A'", "diff");
    }

    /** Two snapshot objects whose ids share their first 4 hex digits. */
    private List<ObjectId> twinSnapshots() {
        try (LmdbObjectStore s = LmdbObjectStore.open(store)) {
            Snapshot head = Snapshots.load(s, ObjectId.parse(second));
            Map<String, Snapshot> byPrefix = new HashMap<>();
            for (int i = 0; ; i++) {
                Snapshot t = new Snapshot(head.root(), List.of(), i, "twin", "twin");
                String p = ObjectId.hash(t.encode()).toHex().substring(0, 4);
                Snapshot earlier = byPrefix.putIfAbsent(p, t);
                if (earlier != null && !p.equals(first.substring(0, 4)) && !p.equals(second.substring(0, 4))) {
                    try (ObjectWriter w = s.newWriter()) {
                        return List.of(w.put(earlier.encode()), w.put(t.encode()));
                    }
                }
            }
        }
    }
}
