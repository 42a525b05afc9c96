package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code txfs run} through a real mount: a command and its children in a transaction of their own
 * from their first system call; --keep / --commit / --discard; several runs at once isolated from
 * each other and from the live tree; --base on an older snapshot with the kernel's caches warm
 * from the live tree; exit status passed through; and reproducible builds with gcc (same sources,
 * same base, same tree id; a build that embeds the time differs, and txfs diff names the file).
 */
class RunCommandTest extends TransactionItBase {
    private static final Pattern REF = Pattern.compile("\"ref\":\"(runs/[^\"]+)\"");
    private static final Pattern TREE = Pattern.compile("\"tree\":\"([0-9a-f]{64})\"");
    private static final Pattern ACTION = Pattern.compile("\"action\":\"([a-z]+)\"");

    /** bin/txfs in {@code cwd} (inside the mount), its stdout and stderr kept apart. */
    static Result txfsIn(Path cwd, String... args) {
        List<String> cmd = new ArrayList<>(List.of(TXFS.toString()));
        cmd.addAll(List.of(args));
        return run(QUICK, cwd, cmd);
    }

    private static String group(Pattern p, String json) {
        Matcher m = p.matcher(json);
        assertTrue(m.find(), p + " in " + json);
        return m.group(1);
    }

    /** The last line of stdout: the JSON summary of txfs run --json. */
    private static String summary(Result r) {
        List<String> lines = r.out().lines().toList();
        return lines.get(lines.size() - 1);
    }

    /**
     * Issue 17: {@code txn list} outside a mount failed with "not in a txfs mount" though the store
     * had exactly one mount, and showed a run's command as the txfs client's whole JVM line.
     */
    @Test
    void txnList_outsideTheMount_usesTheStoresOnlyMount_andShowsARunAsTyped() throws Exception {
        dir("listed");
        Path w = tempDir("txfs-run-list");
        try {
            Process p = shell(w, """
                    cd "$M/listed"
                    "$T" run --discard -- sh -c 'touch "$W/started"; while [ ! -e "$W/go" ]; do sleep 0.02; done'
                    """);
            await(w.resolve("started"), p);
            Result text = run(QUICK, w, List.of(TXFS.toString(), "--store", store.toString(), "txn", "list"))
                    .ok();
            assertTrue(
                    text.out().lines().anyMatch(l -> l.contains("  txfs run --discard -- sh -c touch ")),
                    text::describe);
            assertFalse(text.out().contains("--add-opens"), text::describe);
            Result json = run(QUICK, w, List.of(TXFS.toString(), "--store", store.toString(), "txn", "list", "--json"))
                    .ok();
            assertTrue(json.out().contains("\"command\":\"txfs run --discard -- sh -c touch "), json::describe);
            Files.createFile(w.resolve("go"));
            finish(p, w);
        } finally {
            removeTree(w);
        }
    }

    @Test
    void keep_isolatesTheRunAndKeepsItsOutputForDiffAndALaterCommit() throws Exception {
        Path d = dir("run-keep");
        Files.writeString(d.resolve("src"), "source\n");
        String base = snapshotIn(d, "run-keep base");
        Path w = tempDir("txfs-run");
        try {
            // the run writes, then waits while the test looks from outside
            Process p = shell(w, """
                    cd "$M/run-keep"
                    "$T" run --json --name keep1 -- bash -c 'echo built > out; echo more >> src; touch "$W/written"
                        while [ ! -e "$W/go" ]; do sleep 0.02; done; cat out src'
                    """);
            await(w.resolve("written"), p);
            assertFalse(Files.exists(d.resolve("out")), "outside: the run's new file is invisible");
            assertEquals("source\n", Files.readString(d.resolve("src")), "outside: the run's change is invisible");
            Files.writeString(d.resolve("outside"), "written outside meanwhile\n");
            Files.createFile(w.resolve("go"));
            String out = finish(p, w);
            assertTrue(out.startsWith("built\nsource\nmore\n"), "the run sees its own writes: " + out);
            String json = out.lines().reduce((a, b) -> b).orElseThrow();
            assertEquals("kept", group(ACTION, json), json);
            assertEquals("runs/keep1", group(REF, json));
            assertTrue(json.contains("\"exit\":0"), json);
            assertTrue(json.contains("{\"path\":\"/run-keep/out\",\"change\":\"added\"}"), json);
            assertTrue(json.contains("{\"path\":\"/run-keep/src\",\"change\":\"modified\"}"), json);

            assertFalse(Files.exists(d.resolve("out")), "kept, not committed");
            String diff = txfsIn(d, "diff", base, "runs/keep1").ok().out();
            assertTrue(diff.contains("A\t/run-keep/out") && diff.contains("M\t/run-keep/src"), diff);
            assertFalse(diff.contains("outside"), "the kept run does not have what was written outside: " + diff);

            txfsIn(d, "commit", "--run", "keep1").ok();
            assertEquals("built\n", Files.readString(d.resolve("out")), "committed later: visible outside");
            assertEquals("source\nmore\n", Files.readString(d.resolve("src")));
            assertTrue(Files.exists(d.resolve("outside")), "the outside write survives the merge");
            Result again = txfsIn(d, "commit", "--run", "keep1");
            assertEquals(3, again.exit(), "the ref is gone after its commit: " + again.describe());
        } finally {
            removeTree(w);
        }
    }

    @Test
    void commit_passesTheExitStatusThroughAndCommitsOnlyOnSuccess() throws Exception {
        Path d = dir("run-commit");
        Result failed = txfsIn(d, "run", "--commit", "--", "bash", "-c", "echo half > part; exit 5");
        assertEquals(5, failed.exit(), failed.describe());
        assertTrue(failed.stderr().contains("discarded"), failed.stderr());
        assertFalse(Files.exists(d.resolve("part")), "a failed --commit run leaves nothing behind");

        Result killed = txfsIn(d, "run", "--commit", "--", "bash", "-c", "echo x > k; kill -TERM $$");
        assertEquals(128 + 15, killed.exit(), "a signal's status is 128+N: " + killed.describe());
        assertFalse(Files.exists(d.resolve("k")));

        Result ok = txfsIn(d, "run", "--commit", "-m", "built it", "--json", "--", "bash", "-c", "echo whole > done");
        ok.ok();
        String json = summary(ok);
        assertEquals("committed", group(ACTION, json), json);
        assertEquals("whole\n", Files.readString(d.resolve("done")));
        String log = txfsIn(d, "log", "--oneline", "-n", "1").ok().out();
        assertTrue(log.contains("built it"), log);

        Result missing = txfsIn(d, "run", "--", "/no/such/command");
        assertEquals(127, missing.exit(), missing.describe());
        assertTrue(missing.stderr().contains("cannot start /no/such/command"), missing.stderr());
    }

    @Test
    void discard_dropsEverythingAndNothingChangedKeepsNothing() throws Exception {
        Path d = dir("run-discard");
        String refsBefore = txfsIn(d, "tag", "--list").ok().out();
        Result r = txfsIn(d, "run", "--discard", "--json", "--", "bash", "-c", "mkdir -p t/u && echo x > t/u/f");
        r.ok();
        assertEquals("discarded", group(ACTION, summary(r)));
        assertFalse(Files.exists(d.resolve("t")));
        Result none = txfsIn(d, "run", "--json", "--", "cat", "/dev/null");
        none.ok();
        assertEquals("unchanged", group(ACTION, summary(none)), "a run that changed nothing keeps nothing");
        assertFalse(summary(none).contains("\"ref\""), summary(none));
        assertEquals(refsBefore, txfsIn(d, "tag", "--list").ok().out());
    }

    @Test
    void concurrentRuns_areIsolatedFromEachOtherAndTheLiveTree_andTheSecondCommitConflicts() throws Exception {
        Path d = dir("run-many");
        Files.writeString(d.resolve("shared"), "live\n");
        int n = 4;
        List<Path> ws = new ArrayList<>();
        List<Process> ps = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Path w = tempDir("txfs-run" + i);
                ws.add(w);
                ps.add(shell(w, """
                        cd "$M/run-many"
                        "$T" run --json --name many%d -- bash -c 'echo run%d > shared; echo %d > own%d; touch "$W/written"
                            while [ ! -e "$W/go" ]; do sleep 0.02; done; cat shared; ls'
                        """.formatted(i, i, i, i)));
            }
            for (int i = 0; i < n; i++) {
                await(ws.get(i).resolve("written"), ps.get(i));
            }
            assertEquals("live\n", Files.readString(d.resolve("shared")));
            for (Path w : ws) {
                Files.createFile(w.resolve("go"));
            }
            for (int i = 0; i < n; i++) {
                String out = finish(ps.get(i), ws.get(i));
                assertTrue(
                        out.startsWith("run" + i + "\nown" + i + "\nshared\n"),
                        "run " + i + " sees only itself: " + out);
            }
            assertEquals("live\n", Files.readString(d.resolve("shared")), "nothing reached the live tree");

            txfsIn(d, "commit", "--run", "many0").ok();
            assertEquals("run0\n", Files.readString(d.resolve("shared")));
            Result second = txfsIn(d, "commit", "--run", "many1");
            assertEquals(6, second.exit(), "both changed /run-many/shared: " + second.describe());
            assertEquals(
                    "txfs: conflict: kept run many1 and the live tree changed the same paths since its base;"
                            + " nothing was committed and it stays kept\n"
                            + "txfs: conflict: /run-many/shared\n"
                            + "txfs: resolve these paths in the live tree, then txfs commit --run many1 again;"
                            + " or txfs abort --run many1 to drop the run\n",
                    second.stderr(),
                    "the summary first, then the paths, then what to do");
            Result json = txfsIn(d, "commit", "--json", "--run", "many1");
            assertEquals(6, json.exit(), json.describe());
            assertEquals("{\"conflicted\":true,\"run\":\"many1\",\"conflicts\":[\"/run-many/shared\"]}\n", json.out());
            assertEquals("run0\n", Files.readString(d.resolve("shared")), "a conflict changes nothing");
            assertFalse(Files.exists(d.resolve("own1")));
            txfsIn(d, "show", "runs/many1").ok(); // still kept
            for (int i = 1; i < n; i++) {
                txfsIn(d, "abort", "--run", "many" + i).ok();
            }
            assertEquals(3, txfsIn(d, "show", "runs/many2").exit(), "dropped");
        } finally {
            ws.forEach(TxfsItBase::removeTree);
        }
    }

    @Test
    void base_runsOnAnOlderSnapshotFromItsFirstSystemCall_whileTheKernelCachesTheLiveTree() throws Exception {
        Path d = dir("run-base");
        Files.createDirectories(d.resolve("sub"));
        Files.writeString(d.resolve("sub/f"), "old\n");
        Files.writeString(d.resolve("gone"), "was here\n");
        Path tool = d.resolve("tool.sh");
        Files.writeString(tool, "#!/bin/sh\necho old tool\n");
        tool.toFile().setExecutable(true);
        String old = snapshotIn(d, "run-base old");
        Files.writeString(d.resolve("sub/f"), "new, longer\n");
        Files.delete(d.resolve("gone"));
        Files.writeString(tool, "#!/bin/sh\necho new tool\n");
        Files.writeString(d.resolve("added"), "new\n");
        // warm the kernel's caches from the live tree: names, attributes, pages
        assertEquals(
                "new, longer\nnew tool\n",
                sh("cd \"$1\" && cat sub/f && ./tool.sh && ls -la >/dev/null", d.toString())
                        .ok()
                        .out());

        // the command's very first file operation (exec of the tool) is already inside
        Result r = txfsIn(d.resolve("sub"), "run", "--base", old.substring(0, 10), "--json", "--", "../tool.sh");
        r.ok();
        assertTrue(r.out().startsWith("old tool\n"), r.describe());
        Result look = txfsIn(
                d.resolve("sub"),
                "run",
                "--base",
                old.substring(0, 10),
                "--discard",
                "--",
                "bash",
                "-c",
                "cat f; stat -c %s f; ls ..; echo mine > f; cat f");
        look.ok();
        assertTrue(look.out().startsWith("old\n4\ngone\nsub\ntool.sh\nmine\n"), look.describe());
        // and the live tree, with its caches, is as it was
        assertEquals(
                "new, longer\n12\nadded\nsub\ntool.sh\nnew tool\n",
                sh("cd \"$1\" && cat sub/f && stat -c %s sub/f && ls && ./tool.sh", d.toString())
                        .ok()
                        .out());

        // committing a run on an old base applies what it changed, relative to that base
        txfsIn(d, "run", "--base", old, "--commit", "--", "bash", "-c", "echo fresh > fresh")
                .ok();
        assertEquals("fresh\n", Files.readString(d.resolve("fresh")));
        assertEquals("new, longer\n", Files.readString(d.resolve("sub/f")), "what it did not change stays live");
        assertFalse(Files.exists(d.resolve("gone")));

        Result bogus = txfsIn(d, "run", "--base", "no-such-ref", "--", "touch", "x");
        assertEquals(3, bogus.exit(), bogus.describe());
        assertTrue(bogus.stderr().contains("no-such-ref"), bogus.stderr());
        assertFalse(Files.exists(d.resolve("x")), "nothing ran");
    }

    @Test
    void badInput_getsOneClearLineAndChangesNothing() throws Exception {
        Path d = dir("run-bad");
        Result name = txfsIn(d, "run", "--name", "a/../b", "--", "touch", "x");
        assertEquals(2, name.exit(), name.describe());
        assertTrue(name.stderr().contains("invalid run name"), name.stderr());
        Result both = txfsIn(d, "run", "--commit", "--discard", "--", "touch", "x");
        assertEquals(2, both.exit(), both.describe());
        Result discardName = txfsIn(d, "run", "--discard", "--name", "n", "--", "touch", "x");
        assertEquals(2, discardName.exit(), discardName.describe());
        Result noCmd = txfsIn(d, "run", "--commit");
        assertEquals(2, noCmd.exit(), noCmd.describe());
        Result clamp = txfsIn(d, "run", "--clamp-mtime", "-3", "--", "touch", "x");
        assertEquals(2, clamp.exit(), clamp.describe());
        assertFalse(Files.exists(d.resolve("x")));
        // txfs run inside a transaction: nested transactions are refused before anything runs
        Result nested = txfsIn(d, "run", "--", "bash", "-c", "\"$0\" run -- touch x", TXFS.toString());
        assertEquals(1, nested.exit(), nested.describe());
        assertTrue(nested.stderr().contains("nested transactions are not supported"), nested.stderr());
        // a name already taken: the output is kept under the transaction's id instead of lost
        txfsIn(d, "run", "--name", "taken", "--", "bash", "-c", "echo 1 > t1").ok();
        Result taken = txfsIn(d, "run", "--name", "taken", "--json", "--", "bash", "-c", "echo 2 > t2");
        taken.ok();
        assertTrue(taken.stderr().contains("runs/taken exists"), taken.stderr());
        String ref = group(REF, summary(taken));
        assertNotEquals("runs/taken", ref);
        assertTrue(txfsIn(d, "diff", "runs/taken", ref).ok().out().contains("/run-bad/t2"));
        txfsIn(d, "abort", "--run", "taken").ok();
        txfsIn(d, "abort", "--run", ref).ok();
        assertEquals(3, txfsIn(d, "abort", "--run", "taken").exit());
    }

    @Test
    void gccBuilds_sameSourcesSameBase_giveTheSameTreeId_andAnEmbeddedTimeShowsInTheDiff() throws Exception {
        assumeTrue(has("gcc") && has("make"), "needs gcc and make");
        Path d = dir("run-gcc");
        Path src = Files.createDirectories(d.resolve("src"));
        for (int i = 0; i < 8; i++) {
            Files.writeString(
                    src.resolve("m" + i + ".c"), "int f" + i + "(int x) { return x * " + (i + 3) + " + " + i + "; }\n");
        }
        StringBuilder main = new StringBuilder("#include <stdio.h>\n");
        for (int i = 0; i < 8; i++) {
            main.append("int f").append(i).append("(int);\n");
        }
        main.append("#ifndef STAMP\n#define STAMP\n#endif\n#define STR2(x) #x\n#define STR(x) STR2(x)\n");
        main.append("int main(void) { int s = 0;");
        for (int i = 0; i < 8; i++) {
            main.append(" s += f").append(i).append("(").append(i).append(");");
        }
        main.append(" printf(\"%d%s\\n\", s, STR(STAMP)); return 0; }\n");
        Files.writeString(src.resolve("main.c"), main.toString());
        Files.writeString(src.resolve("Makefile"), """
                OBJ = $(patsubst %.c,out/%.o,$(wildcard *.c))
                out/hello: $(OBJ)
                \t$(CC) -o $@ $(OBJ)
                out/%.o: %.c
                \t@mkdir -p out
                \t$(CC) $(CFLAGS) -c -o $@ $<
                """);
        String base = snapshotIn(d, "run-gcc sources");
        String build = "make -s";

        List<String> trees = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Result r = txfsIn(
                    src,
                    "run",
                    "--base",
                    base,
                    "--clamp-mtime",
                    "1700000000",
                    "--name",
                    "gcc" + i,
                    "--json",
                    "--",
                    "bash",
                    "-c",
                    build);
            r.ok();
            trees.add(group(TREE, summary(r)));
            Thread.sleep(1100); // a later second: only the clamp can make the times equal
        }
        assertEquals(trees.get(0), trees.get(1), "two builds of the same sources on the same base");
        String diff0 = txfsIn(d, "diff", base, "runs/gcc0").ok().out();
        assertEquals("A\t/run-gcc/src/out\n", diff0, "an added directory is one change");
        assertEquals("", txfsIn(d, "diff", "runs/gcc0", "runs/gcc1").ok().out(), "nothing differs");

        Result stamped = txfsIn(
                src,
                "run",
                "--base",
                base,
                "--clamp-mtime",
                "1700000000",
                "--name",
                "gcc-stamped",
                "--json",
                "--",
                "bash",
                "-c",
                "export CFLAGS=-DSTAMP=$(date +%s%N); " + build + " && out/hello");
        stamped.ok();
        assertNotEquals(trees.get(0), group(TREE, summary(stamped)), "an embedded time changes the tree");
        String diff = txfsIn(d, "diff", "runs/gcc0", "runs/gcc-stamped").ok().out();
        assertTrue(diff.contains("M\t/run-gcc/src/out/main.o") && diff.contains("M\t/run-gcc/src/out/hello"), diff);
        assertFalse(diff.contains("/run-gcc/src/out/m0.o"), "objects without the time are equal: " + diff);

        // without a clamp, the mtimes of a later build differ: the ids do too (so the clamp is what made them equal)
        Result unclamped = txfsIn(src, "run", "--base", base, "--discard", "--json", "--", "bash", "-c", build);
        unclamped.ok();
        assertNotEquals(trees.get(0), group(TREE, summary(unclamped)));
        for (String n : List.of("gcc0", "gcc1", "gcc-stamped")) {
            txfsIn(d, "abort", "--run", n).ok();
        }
    }
}
