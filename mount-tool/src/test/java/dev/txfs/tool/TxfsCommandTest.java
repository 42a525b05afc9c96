package dev.txfs.tool;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.fs.posix.Posix;
import dev.txfs.fs.posix.Stat;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.ParseResult;

class TxfsCommandTest extends CliTestBase {
    private Path src;
    private final Posix posix = Posix.get();

    @BeforeEach
    void setUp() throws Exception {
        src = tmp.resolve("src");
        Files.createDirectories(src.resolve("d/e"));
        Files.writeString(src.resolve("hello"), "hello\n");
        Files.writeString(src.resolve("d/64"), "x".repeat(64));
        Files.writeString(src.resolve("d/65"), "y".repeat(65));
        byte[] big = new byte[1 << 20];
        new Random(1).nextBytes(big);
        Files.write(src.resolve("d/big"), big);
        Files.createFile(src.resolve("empty"));
        Files.createSymbolicLink(src.resolve("link"), Path.of("hello"));
        Files.createSymbolicLink(src.resolve("dangling"), Path.of("no/such/target"));
        Files.createLink(src.resolve("d/e/hello-again"), src.resolve("hello"));
        Files.createLink(src.resolve("d/hello3"), src.resolve("hello"));
        posix.mknod(bytes(src.resolve("fifo")), Stat.S_IFIFO | 0640, 0);
        byte[] odd = Posix.child(bytes(src), new byte[] {'n', (byte) 0xff, '\n', '-'});
        posix.mknod(odd, Stat.S_IFREG | 0600, 0);
        posix.chmod(bytes(src.resolve("d/65")), 04755);
        posix.chmod(bytes(src.resolve("d/e")), 01777);
        posix.setXattr(bytes(src.resolve("hello")), "user.note", "v".getBytes(UTF_8), 0);
        posix.setTimes(bytes(src.resolve("link")), Posix.OMIT_TIME, 1_000_000_123L, true);
        posix.setTimes(bytes(src.resolve("d/64")), Posix.OMIT_TIME, 1_600_000_000_987_654_321L, true);
        assertEquals(0, run("--store", store.toString(), "init").exit());
    }

    private static byte[] bytes(Path p) {
        return Posix.bytes(p.toString());
    }

    private String snapshot(String... extra) {
        String[] args = new String[extra.length + 2];
        args[0] = "snapshot";
        args[1] = "--from-dir=" + src;
        System.arraycopy(extra, 0, args, 2, extra.length);
        Run r = inStore(args);
        assertEquals(0, r.exit(), r.err());
        String id = r.out().strip();
        assertTrue(id.matches("[0-9a-f]{64}"), id);
        return id;
    }

    private static String field(String showOutput, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " +(\\S+)").matcher(showOutput);
        assertTrue(m.find(), showOutput);
        return m.group(1);
    }

    @Test
    void init_whenStoreAlreadyExists_failsWithOneLine() {
        Run r = inStore("init");
        assertEquals(1, r.exit());
        assertEquals(List.of("txfs: a store already exists in " + store), r.errLines());
    }

    @Test
    void snapshot_whenDirectoryCrafted_logAndShowDescribeIt() {
        String id = snapshot("-m", "first one");

        Run log = inStore("log");
        assertEquals(0, log.exit(), log.err());
        assertTrue(log.out().startsWith("snapshot " + id + " (HEAD)"), log.out());
        assertTrue(log.out().contains("    first one"), log.out());

        Run show = inStore("show", id);
        assertEquals(0, show.exit(), show.err());
        assertEquals(id, field(show.out(), "snapshot"));
        // 7 files (hello and its 2 links, 64, 65, big, empty, odd) = 8 names; 2 dirs; 2 symlinks; 1 fifo
        assertTrue(
                show.out()
                        .contains(
                                "entries   13: 8 files, 2 directories, 2 symlinks, 1 other; 1 hard-link groups (3 names)"),
                show.out());
    }

    @Test
    void snapshot_whenTakenTwiceOfAnUnchangedTree_hasTheSameTreeAndTheFirstAsParent() {
        String first = snapshot();
        String second = snapshot();

        Run show = inStore("show", second);
        assertNotEquals(first, second);
        assertEquals(field(inStore("show", first).out(), "tree"), field(show.out(), "tree"));
        assertEquals(first, field(show.out(), "parents"));
    }

    @Test
    void checkout_whenTreeIsCrafted_reproducesEveryNameExactly() throws Exception {
        String id = snapshot();
        Path out = tmp.resolve("out");

        Run r = inStore("checkout", id.substring(0, 8), out.toString(), "--preserve-privileges");

        assertEquals(0, r.exit(), r.err());
        Map<String, String> expected = TreeListing.of(bytes(src));
        Map<String, String> actual = TreeListing.of(bytes(out));
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            assertEquals(expected.get(name), actual.get(name), name);
        }
        assertEquals(3, posix.lstat(bytes(out.resolve("d/e/hello-again"))).nlink());
    }

    @Test
    void checkout_whenTargetIsNotEmpty_exitsTwoAndWritesNothing() throws Exception {
        String id = snapshot();
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve("keep"), "x");

        Run r = inStore("checkout", id, out.toString());

        assertEquals(2, r.exit());
        assertEquals(List.of("txfs: checkout target is not empty: " + out), r.errLines());
        try (var list = Files.list(out)) {
            assertEquals(1, list.count());
        }
    }

    @Test
    void show_whenGivenUniquePrefixOrRef_resolvesIt() {
        String id = snapshot("--ref", "tags/v1");

        assertEquals(id, field(inStore("show", id.substring(0, 4)).out(), "snapshot"));
        assertEquals(id, field(inStore("show", "tags/v1").out(), "snapshot"));
        assertEquals(id, field(inStore("show", id.toUpperCase()).out(), "snapshot"));
    }

    @Test
    void show_whenPrefixTooShort_exitsTwo() {
        snapshot();
        Run r = inStore("show", "abc");
        assertEquals(2, r.exit());
        assertEquals(1, r.errLines().size());
        assertTrue(r.err().startsWith("txfs: snapshot id prefix 'abc' is too short"), r.err());
    }

    @Test
    void show_whenSnapshotUnknown_exitsThreeWithOneLine() {
        snapshot();
        Run r = inStore("show", "0000000000");
        assertEquals(3, r.exit());
        assertEquals(List.of("txfs: no ref or snapshot named '0000000000'"), r.errLines());
        assertEquals(3, inStore("log", "no-such-ref").exit());
        assertEquals(
                3,
                inStore("checkout", "no-such-ref", tmp.resolve("x").toString()).exit());
    }

    @Test
    void log_whenStoreHasNoSnapshots_exitsThree() {
        Run r = inStore("log");
        assertEquals(3, r.exit());
        assertEquals(List.of("txfs: no snapshots yet (HEAD is not set)"), r.errLines());
    }

    @Test
    void snapshot_whenOptionUnknown_exitsTwoWithOneLine() {
        Run r = inStore("snapshot", "--from-dir", src.toString(), "--bogus");
        assertEquals(2, r.exit());
        assertEquals(List.of("txfs: Unknown option: '--bogus' (see 'txfs help snapshot')"), r.errLines());
        assertEquals("", r.out());
    }

    @Test
    void snapshot_whenFromDirMissing_exitsTwo() {
        Run r = inStore("snapshot");
        assertEquals(2, r.exit());
        assertEquals(1, r.errLines().size());
        assertTrue(r.err().contains("--from-dir"), r.err());
    }

    @Test
    void snapshot_whenSourceDoesNotExist_exitsThree() {
        Run r = inStore("snapshot", "--from-dir", tmp.resolve("nope").toString());
        assertEquals(3, r.exit());
        assertEquals(List.of("txfs: no such directory: " + tmp.resolve("nope")), r.errLines());
    }

    @Test
    void snapshot_whenRefNameInvalid_exitsTwo() {
        Run r = inStore("snapshot", "--from-dir", src.toString(), "--ref", "bad..name");
        assertEquals(2, r.exit());
        assertEquals(List.of("txfs: invalid ref name: 'bad..name'"), r.errLines());
    }

    @Test
    void anyCommand_whenStoreIsNotAStore_exitsFour() throws Exception {
        Path notAStore = Files.createDirectories(tmp.resolve("plain"));
        for (String verb : List.of("log", "verify", "show")) {
            Run r = run("--store", notAStore.toString(), verb, "HEAD");
            assertEquals(4, r.exit(), verb + ": " + r.err());
            assertEquals(List.of("txfs: not a txfs store: " + notAStore + " (no txfs-store.conf)"), r.errLines());
        }
    }

    @Test
    void verify_whenStoreIsHealthy_printsOkAndExitsZero() {
        snapshot();
        Run r = inStore("verify");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().matches("ok: \\d+ objects, \\d+ bytes\\n"), r.out());
        assertEquals(0, inStore("verify", "HEAD").exit());
    }

    @Test
    void verify_whenAFileChunkIsCorrupted_exitsOneNamingTheObjectAndPath() {
        String id = snapshot();
        ObjectId chunk;
        try (LmdbObjectStore s = LmdbObjectStore.open(store)) {
            Root root =
                    Snapshots.loadRoot(s, Snapshots.load(s, ObjectId.parse(id)).root());
            TreeEntry d =
                    Directories.find(s, root.dir().tree(), "d".getBytes(UTF_8)).orElseThrow();
            TreeEntry f = Directories.find(s, d.tree(), "65".getBytes(UTF_8)).orElseThrow();
            chunk = f.content().id();
            s.corruptForTest(chunk, new byte[] {1, 1, 'b', 'a', 'd'});
        }

        Run r = inStore("verify");

        assertEquals(1, r.exit());
        List<String> lines = r.out().lines().toList();
        assertEquals(1, lines.size(), r.out());
        assertTrue(lines.get(0).contains(chunk.toHex()), lines.get(0));
        assertTrue(lines.get(0).contains("/d/65"), lines.get(0));
        assertTrue(r.err().startsWith("txfs: 1 damaged or missing objects"), r.err());
    }

    @Test
    void snapshot_whenRunAgainWithStatCache_readsOnlyChangedFiles() throws Exception {
        // A clock 10 s ahead makes the files old enough for the cache to trust them.
        Setup future =
                cmd -> ((SnapshotCommand) cmd.getSubcommands().get("snapshot").getCommand()).clock =
                        () -> System.currentTimeMillis() * 1_000_000L + 10_000_000_000L;
        StoreLocator locator = new StoreLocator(Map.of(), 1000, tmp);
        Run first = run(future, locator, "--store", store.toString(), "snapshot", "--from-dir", src.toString(), "-v");
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.err().contains("read 6 files"), first.err());

        Files.writeString(src.resolve("d/64"), "z".repeat(64));
        Run second = run(future, locator, "--store", store.toString(), "snapshot", "--from-dir", src.toString(), "-v");

        assertEquals(0, second.exit(), second.err());
        assertTrue(second.err().contains("read 1 files (0.0 MiB), 5 unchanged"), second.err());
        Path out = tmp.resolve("out");
        assertEquals(0, inStore("checkout", "HEAD", out.toString()).exit());
        assertEquals("z".repeat(64), Files.readString(out.resolve("d/64")));
    }

    @Test
    void snapshot_whenStatCacheCorrupt_readsEverythingAndRecordsTheSameTree() throws Exception {
        String first = snapshot();
        try (var files = Files.list(store.resolve("statcache"))) {
            for (Path f : files.toList()) {
                Files.write(f, new byte[] {1, 2, 3});
            }
        }
        String second = snapshot();
        assertEquals(
                field(inStore("show", first).out(), "tree"),
                field(inStore("show", second).out(), "tree"));
    }

    @Test
    void anyCommand_withoutStoreOption_usesEnvironmentThenDefault() {
        Path home = tmp.resolve("home");
        StoreLocator byEnv = new StoreLocator(Map.of(StoreLocator.ENV, store.toString()), 1000, home);
        Run viaEnv = run(cmd -> {}, byEnv, "snapshot", "--from-dir", src.toString());
        assertEquals(0, viaEnv.exit(), viaEnv.err());
        assertEquals(0, inStore("show", viaEnv.out().strip()).exit());

        StoreLocator byDefault = new StoreLocator(Map.of(), 1000, home);
        Run viaDefault = run(cmd -> {}, byDefault, "snapshot", "--from-dir", src.toString());
        assertEquals(0, viaDefault.exit(), viaDefault.err());
        assertTrue(Files.exists(home.resolve(".local/share/txfs/txfs-store.conf")));
    }

    @Test
    void storeLocator_whenRootOrXdg_picksTheDocumentedPlaces() {
        Path home = Path.of("/home/u");
        assertEquals(
                Path.of("/var/lib/txfs"),
                new StoreLocator(Map.of(), 0, home).locate(null).dir());
        assertEquals(
                Path.of("/x/txfs"),
                new StoreLocator(Map.of("XDG_DATA_HOME", "/x"), 5, home)
                        .locate(null)
                        .dir());
        assertEquals(
                Path.of("/home/u/.local/share/txfs"),
                new StoreLocator(Map.of(), 5, home).locate(null).dir());
        assertEquals(
                Path.of("/e"),
                new StoreLocator(Map.of("TXFS_STORE", "/e"), 0, home)
                        .locate(null)
                        .dir());
        assertEquals(
                Path.of("/o"),
                new StoreLocator(Map.of("TXFS_STORE", "/e"), 0, home)
                        .locate(Path.of("/o"))
                        .dir());
    }

    @Test
    void version_printsTxfsAndTheProjectVersion() {
        Run r = run("--version");
        assertEquals(0, r.exit());
        assertTrue(r.out().matches("txfs \\d+\\.\\d+\\.\\d+\\S*\\n"), r.out());
    }

    @Test
    void help_listsEveryExitCodeAsTheReadmeDoes() throws Exception {
        Run r = run("help");
        assertEquals(0, r.exit());
        String readme = Files.readString(Path.of("README-exit-codes.md"));
        for (ExitCode c : ExitCode.values()) {
            assertTrue(
                    r.out().contains("  " + c.code + "   " + c.meaning.substring(0, Math.min(20, c.meaning.length()))),
                    c + "\n" + r.out());
            assertTrue(readme.contains("| " + c.code + " |"), c + " missing in README-exit-codes.md");
        }
    }

    /**
     * Regression (issue 17): {@code txfs help} showed the first description line of begin, commit,
     * status and mount, which ends mid-sentence ("...every process it has").
     */
    @Test
    void help_whenListingVerbs_showsEachSummaryAsAWholeSentence() {
        Run r = run("help");
        assertEquals(0, r.exit());
        String list = r.out().substring(r.out().indexOf("Commands:\n") + "Commands:\n".length());
        list = list.substring(0, list.indexOf("\n\n"));
        Map<String, String> summaries = new LinkedHashMap<>();
        String verb = null;
        for (String line : list.lines().toList()) {
            Matcher m = Pattern.compile("^  (\\S+)\\s+(.*)$").matcher(line);
            if (m.matches()) {
                verb = m.group(1);
                summaries.put(verb, m.group(2).strip());
            } else {
                summaries.merge(verb, line.strip(), (a, b) -> a + " " + b);
            }
        }
        assertTrue(summaries.keySet().containsAll(List.of("begin", "commit", "status", "mount", "txn")), list);
        summaries.forEach((name, summary) -> {
            assertTrue(summary.endsWith("."), name + " is cut: " + summary);
            assertTrue(!summary.contains("\u2026") && !summary.endsWith(";"), name + ": " + summary);
        });
        assertTrue(summaries.get("begin").endsWith("until txfs commit or txfs abort."), summaries.get("begin"));
        assertTrue(summaries.get("commit").endsWith("prints its id."), summaries.get("commit"));
    }

    /** Issue 17: only {@code txfs help mount} told that a root filesystem needs -o rootfs; the README shows it. */
    @Test
    void readme_showsTheOsImageCase_withAMountLineTxfsAccepts() throws Exception {
        String readme = Files.readString(Path.of("../README.md"));
        assertTrue(readme.contains("debootstrap refuses a\nnodev target"), "README says why");
        String mountLine = readme.lines()
                .filter(l -> l.contains(" mount -o rootfs "))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no mount -o rootfs in README.md"));
        String[] args = mountLine
                .substring(mountLine.indexOf("bin/txfs ") + "bin/txfs ".length())
                .split(" ");
        ParseResult parsed = Main.newCommandLine(new StoreLocator(Map.of(), 1000, tmp), false)
                .parseArgs(args);
        assertEquals("mount", parsed.subcommand().commandSpec().name());
        assertEquals(List.of("rootfs"), parsed.subcommand().matchedOptionValue("-o", List.of()));
    }

    @Test
    void stacktrace_whenRequested_printsTheTraceAfterTheLine() {
        Run r = run("--store", store.toString(), "--stacktrace", "show", "nothing-here");
        assertEquals(3, r.exit());
        assertEquals(
                "txfs: no ref or snapshot named 'nothing-here'", r.errLines().get(0));
        assertTrue(r.errLines().size() > 3, r.err());
    }
}
