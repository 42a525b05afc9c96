package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

/**
 * log, show, diff, tag and verify through the real {@code bin/txfs}: changes made through a
 * mount, snapshots taken inside it, then every command by id prefix, tag and ref. Bad input must
 * give one stderr line, its documented exit code, and leave every ref as it was. JSON output is
 * read back with python3's json module.
 */
class HistoryCommandsTest extends LiveMountBase {
    private static Result t(String... args) {
        List<String> all = new ArrayList<>(List.of("--store", store.toString()));
        all.addAll(List.of(args));
        return txfs(all.toArray(String[]::new));
    }

    /** A snapshot of the live tree, taken by {@code txfs snapshot} run inside the mount. */
    private static String snapshotInMount(String message) {
        String id = bashIn(mp, "\"$1\" snapshot -m \"$2\"", TXFS.toString(), message)
                .ok()
                .out()
                .strip();
        assertTrue(id.matches("[0-9a-f]{64}"), id);
        return id;
    }

    /** python3 evaluates {@code expr} over {@code j}, the JSON document {@code json}. */
    private static String py(String json, String expr) {
        return run(
                        QUICK,
                        null,
                        List.of(
                                "python3",
                                "-c",
                                "import json,sys; j=json.loads(sys.argv[1]); print(" + expr + ")",
                                json))
                .ok()
                .out()
                .strip();
    }

    private static SortedMap<String, ObjectId> refs() {
        try (LmdbObjectStore s = LmdbObjectStore.open(store)) {
            return s.refs().list("");
        }
    }

    @Test
    void changesMadeThroughTheMount_showInLogShowDiffAndTagsByPrefix() {
        Path d = dir("hist");
        bashIn(d, "echo one > keep; printf 12345 > edit; mkdir sub; head -c 3000 /dev/zero > sub/gone")
                .ok();
        String a = snapshotInMount("first state");
        bashIn(d, "printf 1234567890 > edit; rm sub/gone; mkdir -p new/deep; echo hi > new/deep/f")
                .ok();
        String b = snapshotInMount("second \"state\"\n\twith a tab");
        String pa = a.substring(0, 6);
        String pb = b.substring(0, 7);

        List<String> oneline =
                t("log", "--oneline", "-n", "2").ok().out().lines().toList();
        assertEquals(2, oneline.size());
        assertTrue(
                oneline.get(0).startsWith(b.substring(0, 12)) && oneline.get(0).endsWith("(HEAD)"), oneline.get(0));
        assertTrue(
                oneline.get(1).startsWith(a.substring(0, 12)) && oneline.get(1).contains("first state"));

        String log = t("log", "--json", pb).ok().out();
        assertEquals(
                b + " " + a, py(log, "j[0]['id'], j[1]['id']").replace("'", "").replaceAll("[(),]", ""));
        assertEquals("['" + a + "']", py(log, "j[0]['parents']"));
        assertEquals("True", py(log, "j[0]['message'] == 'second \"state\"\\n\\twith a tab'"));
        assertEquals("True", py(log, "j[0]['time_ns'] > j[1]['time_ns'] and j[0]['author'] == 'root'"));

        String show = t("show", "--json", pa).ok().out();
        assertEquals(a, py(show, "j['id']"));
        assertEquals("first state", py(show, "j['message']"));
        assertTrue(t("show", pa).ok().out().contains("tree      " + py(show, "j['tree']")));

        String changes = "M\t/hist/edit\nA\t/hist/new\nD\t/hist/sub/gone\n";
        assertEquals(changes, t("diff", pa, pb).ok().out());
        List<String> stat = t("diff", "--stat", pa, pb).ok().out().lines().toList();
        assertEquals(
                "3 paths changed: 1 added, 1 modified, 1 deleted; file bytes 3005 -> 13 (-2992)",
                stat.get(stat.size() - 1));
        String diffJson = t("diff", "--json", "--stat", pa, "HEAD").ok().out();
        assertEquals("True", py(diffJson, "j['to']['snapshot'] == '" + b + "' and j['summary']['added'] == 1"));
        assertEquals("3", py(diffJson, "[c for c in j['changes'] if c['path'] == '/hist/new'][0]['bytes_after']"));

        // without B: the live state, which the daemon syncs first (nothing was snapshotted since)
        bashIn(d, "echo more >> keep").ok();
        String live = bashIn(mp, "\"$1\" diff \"$2\"", TXFS.toString(), pb).ok().out();
        assertEquals("M\t/hist/keep\n", live);

        t("tag", "v1", pa).ok();
        t("tag", "release/2", "HEAD").ok();
        assertEquals(a, py(t("show", "--json", "v1").ok().out(), "j['id']"));
        assertEquals(a, py(t("show", "--json", "tags/v1").ok().out(), "j['id']"));
        assertEquals(changes, t("diff", "v1", "release/2").ok().out());
        assertEquals(
                "['release/2', 'v1']",
                py(
                        t("tag", "--list", "--json").ok().out(),
                        "[x['name'] for x in j if x['name'] in ('v1', 'release/2')]"));
        assertTrue(t("log", "--oneline", "v1").ok().out().contains("(tags/v1)"));
        t("tag", "-d", "release/2").ok();
        List<String> tags =
                t("tag").ok().out().lines().map(l -> l.split("\t")[0]).toList();
        assertTrue(tags.contains("v1") && !tags.contains("release/2"), tags.toString());
    }

    @Test
    void badInput_givesOneLineItsExitCodeAndChangesNoRef() throws Exception {
        Path d = dir("bad");
        bashIn(d, "echo x > f").ok();
        String a = snapshotInMount("for bad input");
        t("tag", "taken", a).ok();
        bashIn(d, "echo y > f").ok();
        String b = snapshotInMount("for bad input, later");
        String twinPrefix = twinPrefix();

        String[][] cases = {
            {"3", "show", "0000000000"},
            {"3", "log", "nosuchtag"},
            {"3", "diff", a, "tags/nosuch"},
            {"3", "tag", "-d", "nosuch"},
            {"3", "tag", "new", "ffff0000"},
            {"2", "show", "abc"},
            {"2", "show", twinPrefix},
            {"2", "diff", twinPrefix},
            {"2", "tag", "t2", twinPrefix},
            {"2", "tag", "taken", b},
            {"2", "tag", "bad..name", a},
            {"2", "tag", "deadbeef", a},
            {"2", "tag", "live", a},
            {"2", "tag", "lonely"},
            {"2", "diff"},
            {"2", "show"},
            {"2", "log", "-n", "-1"},
            {"2", "tag", "--bogus"},
        };
        for (String[] c : cases) {
            SortedMap<String, ObjectId> before = refs();
            String[] args = java.util.Arrays.copyOfRange(c, 1, c.length);
            Result r = t(args);
            assertEquals(Integer.parseInt(c[0]), r.exit(), r::describe);
            assertEquals(1, r.stderr().lines().count(), r::describe);
            assertTrue(r.stderr().startsWith("txfs: "), r::describe);
            assertEquals("", r.out(), r::describe);
            assertEquals(before, refs(), () -> "refs changed by " + List.of(args));
        }
        Result amb = t("show", twinPrefix);
        assertTrue(
                amb.stderr().startsWith("txfs: ambiguous snapshot id prefix '" + twinPrefix + "': 2 snapshots match: "),
                amb.stderr());
    }

    /**
     * Stores two snapshot objects (of HEAD's tree, referenced by no ref) whose ids share their
     * first 4 hex digits, written straight into the store while it is mounted (LMDB serialises
     * writers across processes); returns the prefix. Finding a pair takes ~300 hashes.
     */
    private static String twinPrefix() {
        try (LmdbObjectStore s = LmdbObjectStore.open(store)) {
            Snapshot head = Snapshots.load(s, s.refs().find(Snapshots.HEAD).orElseThrow());
            Map<String, Snapshot> byPrefix = new HashMap<>();
            for (int i = 0; ; i++) {
                Snapshot t = new Snapshot(head.root(), List.of(), i, "twin", "twin " + i);
                String p = ObjectId.hash(t.encode()).toHex().substring(0, 4);
                Snapshot earlier = byPrefix.putIfAbsent(p, t);
                if (earlier != null && s.findByPrefix(p, 1).isEmpty()) {
                    try (ObjectWriter w = s.newWriter()) {
                        w.put(earlier.encode());
                        w.put(t.encode());
                    }
                    return p;
                }
            }
        }
    }

    /**
     * Corruption on disk: bytes of one chunk flipped inside data.mdb (LMDB keeps no checksums).
     * verify must name the chunk and its path in both snapshots that hold it, exit 1, and its
     * summary must be one stderr line.
     */
    @Test
    void verify_whenAChunkIsFlippedInTheStoreFile_namesItAndThePathsInEverySnapshot() throws Exception {
        Path w = tempDir("txfs-verify");
        try {
            Path s = w.resolve("store");
            Path src = Files.createDirectories(w.resolve("src/keep"));
            byte[] data = new byte[5000];
            new Random(42).nextBytes(data);
            Files.write(src.resolve("data.bin"), data);
            txfs("--store", s.toString(), "init").ok();
            String a = txfs(
                            "--store",
                            s.toString(),
                            "snapshot",
                            "--from-dir",
                            w.resolve("src").toString())
                    .ok()
                    .out()
                    .strip();
            Files.writeString(w.resolve("src/other"), "changes the root, not /keep");
            String b = txfs(
                            "--store",
                            s.toString(),
                            "snapshot",
                            "--from-dir",
                            w.resolve("src").toString())
                    .ok()
                    .out()
                    .strip();
            txfs("--store", s.toString(), "verify").ok();

            byte[] canonical = new byte[data.length + 2];
            canonical[0] = 1; // chunk, format version 1
            canonical[1] = 1;
            System.arraycopy(data, 0, canonical, 2, data.length);
            ObjectId chunk = ObjectId.hash(canonical);
            flipInside(s.resolve("data.mdb"), data);

            Result r = txfs("--store", s.toString(), "verify");
            assertEquals(1, r.exit(), r::describe);
            List<String> lines = r.out().lines().toList();
            assertEquals(1, lines.size(), r::describe);
            String line = lines.get(0);
            assertTrue(line.startsWith("corrupt " + chunk.toHex() + " (expected=" + chunk.toHex()), line);
            assertTrue(line.contains(a.substring(0, 12) + ":/keep/data.bin"), line);
            assertTrue(line.contains(b.substring(0, 12) + ":/keep/data.bin"), line);
            assertEquals(1, r.stderr().lines().count(), r::describe);
            assertTrue(r.stderr().startsWith("txfs: 1 damaged or missing objects (of "), r::describe);
        } finally {
            removeTree(w);
        }
    }

    /** Finds {@code content} in {@code file} (exactly once) and flips one bit in its middle. */
    private static void flipInside(Path file, byte[] content) throws Exception {
        byte[] all = Files.readAllBytes(file);
        int at = -1;
        for (int i = 0; i + content.length <= all.length && at < 0; i++) {
            if (all[i] == content[0]
                    && java.util.Arrays.equals(all, i, i + content.length, content, 0, content.length)) {
                at = i;
            }
        }
        assertTrue(at >= 0, "the chunk's bytes are in data.mdb");
        int pos = at + content.length / 2;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (all[pos] ^ 0x01)}), pos);
        }
    }

    /**
     * Revision suffixes through bin/txfs and the kernel path {@code /.txfs/snapshots/HEAD~1/}
     * (looked up again after HEAD moves: entry validity 0 like refs), {@code snapshot --tag} inside
     * the mount, and {@code refs --json}.
     */
    @Test
    void revisionSuffixes_nameAncestorsInCommandsAndUnderTxfsSnapshots() throws Exception {
        Path d = dir("revs");
        bashIn(d, "echo 1 > f").ok();
        String a = snapshotInMount("rev a");
        bashIn(d, "echo 2 > f").ok();
        String b = snapshotInMount("rev b");
        bashIn(d, "echo 3 > f").ok();
        String c = bashIn(mp, "\"$1\" snapshot -m 'rev c' --tag revs-c", TXFS.toString())
                .ok()
                .out()
                .strip();
        assertEquals(ObjectId.parse(c), refs().get("tags/revs-c"));
        assertEquals(ObjectId.parse(c), refs().get("HEAD"));

        Result log = t("log", "--oneline", "-n", "2", "HEAD~1").ok();
        assertTrue(log.out().startsWith(b.substring(0, 12)), log.out());
        assertTrue(log.out().lines().toList().get(1).startsWith(a.substring(0, 12)), log.out());
        assertEquals("M\t/revs/f\n", t("diff", "HEAD~2", "HEAD").ok().out());
        assertEquals("", t("diff", "revs-c^^", a).ok().out());

        Path snaps = mp.resolve(".txfs/snapshots");
        assertEquals("f\n", bashIn(mp, "ls .txfs/snapshots/HEAD~1/revs/").ok().out());
        assertEquals("2\n", Files.readString(snaps.resolve("HEAD~1/revs/f")));
        assertEquals("1\n", Files.readString(snaps.resolve("HEAD^^/revs/f")));
        bashIn(d, "echo 4 > f").ok();
        snapshotInMount("rev d");
        assertEquals("3\n", Files.readString(snaps.resolve("HEAD~1/revs/f")), "HEAD~1 moved with HEAD");
        Result missing = sh("ls \"$1\"", snaps.resolve("HEAD~99999999").toString());
        assertTrue(missing.stderr().contains("No such file"), missing::describe);
        // a name under /.txfs/snapshots is any user's input: nobody gets the same answers, and a
        // count past any integer is refused at once, not walked
        Result asNobody = sh(
                "runuser -u nobody -- cat \"$1/HEAD~1/revs/f\"; runuser -u nobody -- ls \"$1/HEAD~99999999999999999999\"",
                snaps.toString());
        assertEquals("3\n", asNobody.out(), asNobody::describe);
        assertTrue(asNobody.stderr().contains("No such file"), asNobody::describe);

        // the tag exists: refused before recording, HEAD stays
        SortedMap<String, ObjectId> before = refs();
        Result again = bashIn(mp, "\"$1\" snapshot --tag revs-c", TXFS.toString());
        assertEquals(2, again.exit(), again::describe);
        assertTrue(again.stderr().contains("tag 'revs-c' exists"), again::describe);
        assertEquals(before, refs());

        assertEquals(3, t("show", "HEAD~99999999").exit());
        assertEquals(2, t("show", "HEAD~x").exit());

        String json = t("refs", "--json").ok().out();
        assertEquals(
                "tag " + c,
                py(json, "' '.join([(r['kind'] + ' ' + r['id']) for r in j if r['name'] == 'tags/revs-c'])"));
        assertEquals("head", py(json, "[r['kind'] for r in j if r['name'] == 'HEAD'][0]"));
        assertEquals("rev d", py(json, "[r['message'] for r in j if r['name'] == 'HEAD'][0]"));
        assertTrue(t("refs").ok().out().contains("tags/revs-c"));
    }
}
