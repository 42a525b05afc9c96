package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of the daemon at a seeded random moment of a mixed workload, trial after trial, then a
 * remount and the checks of issue 7. Each trial runs three python3 processes
 * ({@code crash_agent.py}) through the mount: one writes live files (new files fsync'ed, new files
 * not fsync'ed, atomic replaces by temporary file + fsync + rename + fsync of the directory), two
 * run transactions one after another (begin, a directory of files and a line appended to a shared
 * file, then commit or abort). Each keeps a ledger outside the mount of what it did and what
 * returned. After the kill: {@code txfs verify} is clean; every commit that returned is in the
 * history and its snapshot holds exactly what the committed transactions up to it wrote; the live
 * tree holds exactly what the committed transactions wrote, nothing of an aborted or unfinished
 * one; every fsync'ed live file has its fsync'ed content (a replaced one: that or a later
 * version), and any other live file is absent or a prefix of what was written; every snapshot
 * returned in an earlier trial is still in the history.
 *
 * <p>{@code -Dtxfs.crash.trials=N} (default 4; 200 is the long run of docs/RELIABILITY.md),
 * {@code -Dtxfs.crash.syscallTrials=N} (kills by strace at LMDB's writes, default 2) and {@code
 * -Dtxfs.crash.seed=S}: trial i runs with seed S + i, printed; {@code -Dtxfs.crash.seed=S
 * -Dtxfs.crash.trials=1} replays one (the timing of the processes is not replayed, the choices and
 * the moment of the kill are).
 */
class CrashInjectionTest extends TransactionItBase {
    private static final int TRIALS = Integer.getInteger("txfs.crash.trials", 4);
    private static final int SYSCALL_TRIALS = Integer.getInteger("txfs.crash.syscallTrials", 2);
    private static final int POWER_CUT_TRIALS = Integer.getInteger("txfs.crash.powerCutTrials", 2);
    /** The daemon syscalls a kill by strace aims at, and the range of the call's number it waits for. */
    private static final List<String> SYSCALLS = List.of("pwrite64", "pwrite64", "writev", "fdatasync");

    private static final int SYSCALL_MIN_COUNT = 5;

    private static final int SYSCALL_MAX_COUNT = 80;
    /** How long the workload runs before a kill by strace that has not come is replaced by kill -9. */
    private static final int SYSCALL_WAIT_SECONDS = 10;

    private static final int TXN_AGENTS = 2;
    /** The kill comes this many ms after the workload starts, plus up to {@link #KILL_SPREAD_MS}. */
    private static final int KILL_MIN_MS = 200;

    private static final int KILL_SPREAD_MS = 4000;
    private static final Pattern LOG_LINE = Pattern.compile("^(\\p{XDigit}{12}) .* crash (\\S+) n(\\d+)(?: \\(.*)?$");

    /** How a trial ends its daemon. */
    private enum Kill {
        /** SIGKILL after a seeded delay. */
        RANDOM_MOMENT,
        /** SIGKILL from strace at a seeded write or sync call of LMDB. */
        LMDB_WRITE,
        /** SIGKILL once the live writer's first fsync has returned. */
        AFTER_FIRST_FSYNC,
        /** RANDOM_MOMENT and LMDB_WRITE (where strace is present) in turn. */
        ALTERNATING;

        Kill forTrial(int i) {
            return this != ALTERNATING ? this : i % 2 == 1 && has("strace") ? LMDB_WRITE : RANDOM_MOMENT;
        }
    }

    /** Set while the daemons of a test run under the power-cut shim. */
    private PowerCut powerCut;

    @Test
    void killAtRandomMoments_losesNothingThatReturnedAndShowsNothingUncommitted() throws Exception {
        runTrials("txfs.crash.trials", TRIALS, Kill.RANDOM_MOMENT);
    }

    /**
     * The kill comes from strace, at the entry of the n-th {@code pwrite64}, {@code writev} or
     * {@code fdatasync} of a daemon thread: LMDB writes data pages (pwrite64, writev), fdatasyncs
     * them, then writes the meta page (a 120-byte pwrite64), so these kills fall between its data
     * and its meta page writes, or before either.
     */
    @Test
    void killAtLmdbWrites_losesNothingThatReturnedAndShowsNothingUncommitted() throws Exception {
        assumeTrue(has("strace"), "needs strace (scripts/ensure-deps.sh installs it)");
        runTrials("txfs.crash.syscallTrials", SYSCALL_TRIALS, Kill.LMDB_WRITE);
    }

    /**
     * A kill at a random moment or (every other trial) by strace at a write of LMDB, and then a
     * simulated power failure ({@link PowerCut}): of the store's writes that no fsync had covered
     * when the daemon died, a seeded part never reached the disk. The same checks must hold.
     */
    @Test
    void powerCutAtRandomMoments_losesNothingThatReturnedAndShowsNothingUncommitted() throws Exception {
        assumeTrue(has("gcc"), "needs gcc for the power-cut shim (scripts/ensure-deps.sh installs it)");
        underPowerCut(false, () -> runTrials("txfs.crash.powerCutTrials", POWER_CUT_TRIALS, Kill.ALTERNATING));
    }

    /**
     * The power-cut harness can fail: on a disk that acknowledges flushes without doing them, the
     * cut takes back everything since the mount, so the file the live writer fsync'ed before the
     * kill is gone (and any commit that returned), and the trial must say so.
     */
    @Test
    void powerCutOnADiskThatIgnoresFlushes_isCaught() throws Exception {
        assumeTrue(has("gcc"), "needs gcc for the power-cut shim (scripts/ensure-deps.sh installs it)");
        Path agent = prepare();
        underPowerCut(true, () -> {
            long seed = firstSeed();
            AssertionError e = assertThrows(
                    AssertionError.class, () -> trial(agent, seed, new HashSet<>(), Kill.AFTER_FIRST_FSYNC));
            System.out.println("[crash] seed " + seed + ", a disk that ignores flushes: " + e.getMessage());
            assertTrue(
                    e.getMessage().contains("was fsync'ed but is gone")
                            || e.getMessage().contains("fsync'ed content changed")
                            || e.getMessage().contains("commit returned, so it is durable"),
                    "the trial fails on what was lost: " + e.getMessage());
        });
    }

    private interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body} with daemons under the power-cut shim, and mounts without it afterwards. */
    private void underPowerCut(boolean lyingDisk, Body body) throws Exception {
        Path dir = tempDir("txfs-powercut");
        try {
            powerCut = PowerCut.build(dir, store.resolve("data.mdb"), lyingDisk);
            remountWithEnv(powerCut.env());
            body.run();
        } finally {
            powerCut = null;
            killDaemon();
            mountAgain();
            removeTree(dir);
        }
    }

    /** Mounts the store after a kill, under the power-cut shim if a test set one. */
    private void mountAgain() throws IOException {
        unmountOrClear();
        mountWithEnv(powerCut == null ? Map.of() : powerCut.env());
    }

    /** -Dtxfs.crash.seed, else one from the clock (printed by the callers, so a failure replays). */
    private static long firstSeed() {
        return Long.getLong("txfs.crash.seed", System.nanoTime() % 1_000_000);
    }

    /** The workload's directories and a first snapshot (a HEAD for txfs log, and both durable); returns the agent. */
    private static Path prepare() throws Exception {
        dir("live");
        dir("tx");
        snapshotIn(mp, "crash: start");
        return Path.of(CrashInjectionTest.class.getResource("crash_agent.py").toURI());
    }

    private void runTrials(String property, int trials, Kill kill) throws Exception {
        long seed = firstSeed();
        Path agent = prepare();
        System.out.println("[crash] " + trials + " trials, seeds " + seed + ".." + (seed + trials - 1) + ", "
                + switch (kill) {
                    case LMDB_WRITE -> "killed by strace at a write of LMDB";
                    case ALTERNATING -> "killed after a random delay and by strace at a write of LMDB in turn";
                    default -> "killed after a random delay";
                }
                + (powerCut != null ? ", then a simulated power cut" : ""));
        long started = System.nanoTime();
        Set<String> returned = new HashSet<>(); // short ids of every snapshot whose commit returned
        List<String> failures = new ArrayList<>();
        Map<String, Integer> totals = new TreeMap<>();
        for (int i = 0; i < trials; i++) {
            long trialSeed = seed + i;
            try {
                Map<String, Integer> counts = trial(agent, trialSeed, returned, kill.forTrial(i));
                counts.forEach((k, v) -> totals.merge(k, v, Integer::sum));
                System.out.println("[crash] trial " + i + " seed " + trialSeed + " ok " + counts);
            } catch (AssertionError | Exception e) { // an exception too: the run goes on, the seed is kept
                failures.add("seed " + trialSeed + ": " + e);
                System.out.println("[crash] trial " + i + " seed " + trialSeed + " FAILED: " + e);
                killDaemon(); // if the trial failed before it killed the daemon, or after the remount
                mountAgain();
            }
        }
        System.out.printf(
                "[crash] %d trials, %d failed, %.1f s; totals %s%n",
                trials, failures.size(), (System.nanoTime() - started) / 1e9, totals);
        assertEquals(
                List.of(),
                failures,
                "failed trials (replay: -Dtxfs.crash.seed=S -D" + property + "=1 and this test's name in -Dtest)");
        // the workload did run: without these, the checks above would hold vacuously
        assertTrue(trials < 5 || totals.getOrDefault("live fsync'ed", 0) > 0, "some file was fsync'ed: " + totals);
        assertTrue(trials < 20 || totals.getOrDefault("commit returned", 0) > 0, "some commit returned: " + totals);
        String open = txfs("txn", "list", "--mount", mp.toString()).ok().out();
        assertEquals(1, open.lines().count(), "no transaction survived a crash:\n" + open);
    }

    /** One trial; returns what it saw, counted. */
    private Map<String, Integer> trial(Path agent, long seed, Set<String> returned, Kill kill) throws Exception {
        Random random = new Random(seed);
        String name = "s" + seed;
        Path ledgers = tempDir("txfs-crash");
        Map<String, Integer> counts = new TreeMap<>();
        try {
            Files.createDirectories(mp.resolve("live/" + name));
            List<Process> agents = new ArrayList<>();
            agents.add(startAgent(agent, ledgers, "live", "live/" + name, seed + "live"));
            for (int k = 0; k < TXN_AGENTS; k++) {
                agents.add(startAgent(agent, ledgers, "txn", name + "a" + k, seed + "a" + k));
            }
            awaitLedgers(ledgers, agents, ""); // python's start is not part of the workload (seconds under load)
            String why;
            if (kill == Kill.LMDB_WRITE) {
                String call = SYSCALLS.get(random.nextInt(SYSCALLS.size()));
                int when = SYSCALL_MIN_COUNT + random.nextInt(SYSCALL_MAX_COUNT - SYSCALL_MIN_COUNT + 1);
                why = "kill at " + call + " #" + when + " of a daemon thread";
                // from the first begin's return on, the syscalls counted are mostly commits and fsyncs
                awaitLedgers(ledgers, agents, "begin\t");
                Process strace = attachStrace(ledgers, call, when);
                if (strace.waitFor(SYSCALL_WAIT_SECONDS, TimeUnit.SECONDS)) {
                    counts.merge("killed by strace", 1, Integer::sum);
                } else {
                    why += " (not reached in " + SYSCALL_WAIT_SECONDS + " s: kill -9)";
                    counts.merge("syscall not reached, kill -9", 1, Integer::sum);
                }
                killDaemon();
                assertTrue(strace.waitFor(30, TimeUnit.SECONDS), why + ": strace ends with the daemon");
            } else if (kill == Kill.AFTER_FIRST_FSYNC) {
                why = "kill after the first fsync returned";
                awaitLiveFsync(ledgers.resolve("live/ledger"), agents);
                killDaemon();
            } else {
                long delay = KILL_MIN_MS + random.nextInt(KILL_SPREAD_MS);
                why = "kill after " + delay + " ms";
                Thread.sleep(delay);
                killDaemon();
            }
            for (Process p : agents) {
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    throw new AssertionError(why + ": an agent did not end once the mount was gone");
                }
            }
            try (Stream<Path> s = Files.walk(ledgers)) {
                for (Path err :
                        s.filter(f -> f.getFileName().toString().equals("err")).toList()) {
                    assertEquals(
                            "",
                            Files.readString(err),
                            why + ": " + err.getParent().getFileName() + "'s stderr");
                }
            }

            if (powerCut != null) {
                powerCut.cut(random).forEach((k, v) -> counts.merge(k, v, Integer::sum));
            }
            Result v = txfs("--store", store.toString(), "verify");
            assertTrue(v.exit() == 0 && v.out().startsWith("ok: "), why + ": verify: " + v.describe());
            List<String> log = txfs("--store", store.toString(), "log", "--oneline")
                    .ok()
                    .out()
                    .lines()
                    .toList();
            mountAgain();

            Set<String> ids = new HashSet<>();
            log.forEach(l -> ids.add(l.substring(0, 12)));
            for (String id : returned) {
                assertTrue(ids.contains(id), why + ": snapshot " + id + " of an earlier trial is in the history");
            }
            checkTransactions(ledgers, name, log, returned, counts, why);
            checkLive(ledgers.resolve("live"), mp.resolve("live/" + name), counts, why);
            return counts;
        } finally {
            removeTree(ledgers);
            if (isMounted()) {
                bash(QUICK, "rm -rf \"$1\"/live/\"$2\" \"$1\"/tx/\"$2\"a*", mp.toString(), name);
            }
        }
    }

    private Process startAgent(Path agent, Path ledgers, String mode, String name, String seed) throws IOException {
        Path ledger = Files.createDirectory(ledgers.resolve(mode.equals("live") ? "live" : name));
        ProcessBuilder pb = new ProcessBuilder(
                        "python3",
                        agent.toString(),
                        mode,
                        TXFS.toString(),
                        mp.toString(),
                        name,
                        ledger.toString(),
                        seed)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ledger.resolve("out").toFile())
                .redirectError(ledger.resolve("err").toFile());
        Process p = pb.start();
        shells.add(p); // killed after the test whatever happens
        return p;
    }

    /**
     * strace attached to the daemon (all its threads), set to kill it with SIGKILL on entering the
     * {@code when}-th {@code call} of one of its threads; returns once it is attached.
     */
    private Process attachStrace(Path ledgers, String call, int when) throws Exception {
        List<Long> pids = daemonPids();
        assertEquals(1, pids.size(), "one daemon serves the mount: " + pids);
        Path err = ledgers.resolve("strace.err");
        Process p = new ProcessBuilder(
                        "strace",
                        "-f",
                        "-p",
                        String.valueOf(pids.get(0)),
                        "-e",
                        "trace=" + call,
                        "-e",
                        "inject=" + call + ":signal=SIGKILL:when=" + when,
                        "-o",
                        ledgers.resolve("strace.log").toString())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(err.toFile())
                .start();
        shells.add(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(err).contains("attached")) {
            if (!p.isAlive()) {
                assumeTrue(false, "strace cannot attach to the daemon here: " + Files.readString(err));
            }
            assertTrue(System.nanoTime() < deadline, "strace attached within 30 s: " + Files.readString(err));
            Thread.sleep(5);
        }
        return p;
    }

    /**
     * Waits until every transaction agent's ledger (every agent's, for "") has a line starting
     * with {@code prefix}, or an agent has ended (a kill by strace can come first; the ledgers and
     * stderr are checked afterwards).
     */
    private static void awaitLedgers(Path ledgers, List<Process> agents, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (Stream<Path> s = Files.list(ledgers)) {
            for (Path d : s.filter(Files::isDirectory).toList()) {
                if (!prefix.isEmpty() && d.getFileName().toString().equals("live")) {
                    continue;
                }
                Path ledger = d.resolve("ledger");
                while (!Files.exists(ledger)
                        || !prefix.isEmpty()
                                && Files.readAllLines(ledger).stream().noneMatch(l -> l.startsWith(prefix))) {
                    if (agents.stream().anyMatch(p -> !p.isAlive())) {
                        return;
                    }
                    assertTrue(System.nanoTime() < deadline, "agents reached '" + prefix + "' within 60 s");
                    Thread.sleep(5);
                }
            }
        }
    }

    /** Waits until the live writer's ledger records a returned fsync. */
    private static void awaitLiveFsync(Path ledger, List<Process> agents) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(ledger) || Files.readAllLines(ledger).stream().noneMatch(l -> l.startsWith("synced\t"))) {
            assertTrue(agents.get(0).isAlive(), "the live writer runs until its first fsync");
            assertTrue(System.nanoTime() < deadline, "the live writer fsync'ed a file within 60 s");
            Thread.sleep(5);
        }
    }

    /** SIGKILL to the daemon, then the dead mount lazily unmounted so the next mount starts clean. */
    private static void killDaemon() {
        List<Long> pids = daemonPids(); // none if strace killed it
        assertTrue(pids.size() <= 1, "one daemon serves the mount: " + pids);
        pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(h -> h.onExit().join()));
        if (isMounted()) {
            run(QUICK, null, List.of("umount", "-l", mp.toString())).ok();
        }
    }

    /** What one transaction did, from its agent's ledger. */
    private static final class Txn {
        final String agent;
        final int n;
        final Map<String, String> files = new LinkedHashMap<>();
        String logLine;
        boolean commitStarted;
        String commitRc;
        String commitOut;
        String abortRc;

        Txn(String agent, int n) {
            this.agent = agent;
            this.n = n;
        }

        String label() {
            return agent + " n" + n;
        }
    }

    private static void checkTransactions(
            Path ledgers, String name, List<String> log, Set<String> returned, Map<String, Integer> counts, String why)
            throws IOException {
        Map<String, Txn> txns = new LinkedHashMap<>();
        for (int k = 0; k < TXN_AGENTS; k++) {
            String agent = name + "a" + k;
            for (String[] e : events(ledgers.resolve(agent))) {
                if (e[0].equals("error")) {
                    continue;
                }
                int n = Integer.parseInt(e[1]);
                Txn t = txns.computeIfAbsent(agent + " n" + n, x -> new Txn(agent, n));
                switch (e[0]) {
                    case "begin" -> {}
                    case "file" -> t.files.put(e[2], e[3]);
                    case "logline" -> t.logLine = e[2];
                    case "commit" -> t.commitStarted = true;
                    case "committed" -> {
                        t.commitRc = e[2];
                        t.commitOut = e[3];
                    }
                    case "abort" -> {}
                    case "aborted" -> t.abortRc = e[2];
                    default -> throw new AssertionError("unknown ledger event " + Arrays.toString(e));
                }
            }
        }
        // the history, newest first: which of this trial's transactions are in it, where
        Map<String, Integer> position = new LinkedHashMap<>();
        Map<String, String> idOf = new LinkedHashMap<>();
        for (int i = 0; i < log.size(); i++) {
            Matcher m = LOG_LINE.matcher(log.get(i));
            if (m.matches() && m.group(2).startsWith(name + "a")) {
                String label = m.group(2) + " n" + m.group(3);
                Txn t = txns.get(label);
                assertTrue(t != null && t.commitStarted, why + ": " + label + " is in the history but never committed");
                assertEquals(null, position.put(label, i), why + ": " + label + " is in the history once");
                idOf.put(label, m.group(1));
            }
        }
        for (Txn t : txns.values()) {
            boolean inLog = position.containsKey(t.label());
            if ("0".equals(t.commitRc)) {
                assertTrue(t.commitOut.matches("\\p{XDigit}{64}"), why + ": " + t.label() + " printed " + t.commitOut);
                String id = t.commitOut.substring(0, 12);
                assertEquals(id, idOf.get(t.label()), why + ": " + t.label() + "'s commit returned, so it is durable");
                returned.add(id);
                counts.merge("commit returned", 1, Integer::sum);
            } else if (t.commitStarted) { // cut by the kill: it exited non-zero or not at all
                counts.merge(inLog ? "commit cut, kept" : "commit cut, lost", 1, Integer::sum);
            } else {
                assertTrue(!inLog, why + ": " + t.label() + " was never committed but is in the history");
                counts.merge(t.abortRc != null ? "aborted" : "open at the kill", 1, Integer::sum);
            }
        }
        // the live tree: exactly the committed transactions
        assertEquals(
                expected(txns, position, 0),
                tree(mp.resolve("tx"), name + "a"),
                why + ": the live tree's tx/ of this trial (committed: " + position.keySet() + ")");
        // each returned snapshot: exactly the transactions committed up to it
        for (Txn t : txns.values()) {
            if ("0".equals(t.commitRc)) {
                int p = position.get(t.label());
                assertEquals(
                        expected(txns, position, p),
                        tree(mp.resolve(".txfs/snapshots/" + t.commitOut + "/tx"), name + "a"),
                        why + ": snapshot " + t.commitOut + " of " + t.label());
            }
        }
    }

    /** The tx/ entries of this trial that the transactions at history position {@code from} and older wrote. */
    private static Map<String, String> expected(Map<String, Txn> txns, Map<String, Integer> position, int from) {
        Map<String, String> tree = new TreeMap<>();
        Map<String, StringBuilder> logs = new TreeMap<>();
        for (Txn t : txns.values()) { // in ledger order, so n ascending per agent
            Integer p = position.get(t.label());
            if (p != null && p >= from) {
                tree.put(t.agent + "-n" + t.n, "dir");
                t.files.forEach(tree::put);
                logs.computeIfAbsent(t.agent + ".log", x -> new StringBuilder())
                        .append(t.logLine)
                        .append('\n');
            }
        }
        logs.forEach((file, text) -> tree.put(file, sha256(text.toString().getBytes())));
        return tree;
    }

    /** Entries under {@code root} whose first component starts with {@code prefix}: path to "dir" or a SHA-256. */
    private static Map<String, String> tree(Path root, String prefix) throws IOException {
        Map<String, String> tree = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                String rel = root.relativize(p).toString();
                if (rel.isEmpty() || !rel.startsWith(prefix)) {
                    continue;
                }
                tree.put(rel, Files.isDirectory(p) ? "dir" : sha256(Files.readAllBytes(p)));
            }
        }
        return tree;
    }

    /**
     * The live agent's files: an fsync'ed one holds what was fsync'ed (a replaced one: that or a
     * later version, whole); any other is absent or a prefix of what was being written.
     */
    private static void checkLive(Path ledger, Path dir, Map<String, Integer> counts, String why) throws IOException {
        Map<String, List<String[]>> byPath = new TreeMap<>();
        for (String[] e : events(ledger)) {
            if (!e[0].equals("error")) {
                byPath.computeIfAbsent(e[1], x -> new ArrayList<>()).add(e);
            }
        }
        for (var entry : byPath.entrySet()) {
            Path file = mp.resolve(entry.getKey());
            List<String[]> es = entry.getValue();
            byte[] now = Files.exists(file) ? Files.readAllBytes(file) : null;
            boolean replaced = es.get(0)[0].equals("pending");
            int lastSynced = -1;
            for (int i = 0; i < es.size(); i++) {
                if (es.get(i)[0].equals("synced")) {
                    lastSynced = i;
                }
            }
            String what = why + ": " + entry.getKey();
            if (lastSynced >= 0) {
                assertTrue(now != null, what + " was fsync'ed but is gone");
            }
            if (now == null) {
                counts.merge("live unsynced, lost", 1, Integer::sum);
                continue;
            }
            if (replaced) {
                boolean match = false;
                for (int i = Math.max(0, lastSynced); i < es.size() && !match; i++) {
                    match = Arrays.equals(now, Files.readAllBytes(ledger.resolve(es.get(i)[2])));
                }
                assertTrue(match, what + ": not the fsync'ed version nor a later one (" + now.length + " bytes)");
                counts.merge("live replaced", 1, Integer::sum);
            } else {
                byte[] intended = Files.readAllBytes(ledger.resolve(es.get(0)[2]));
                if (lastSynced >= 0) {
                    assertTrue(
                            Arrays.equals(intended, now),
                            what + ": fsync'ed content changed (" + now.length + " bytes, expected " + intended.length
                                    + ")");
                    counts.merge("live fsync'ed", 1, Integer::sum);
                } else {
                    assertTrue(
                            now.length <= intended.length && Arrays.equals(now, Arrays.copyOf(intended, now.length)),
                            what + ": not a prefix of what was written");
                    counts.merge(
                            now.length == intended.length ? "live unsynced, kept" : "live unsynced, partly kept",
                            1,
                            Integer::sum);
                }
            }
        }
        // nothing else in the agent's directory but its temporary files
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    String rel = mp.relativize(p).toString();
                    assertTrue(
                            rel.endsWith(".tmp") || byPath.containsKey(rel), why + ": " + rel + " was never written");
                }
            }
        }
    }

    /** The ledger's events, each split at tabs. */
    private static List<String[]> events(Path ledger) throws IOException {
        Path f = ledger.resolve("ledger");
        if (!Files.exists(f)) {
            return List.of();
        }
        return Files.readAllLines(f).stream().map(l -> l.split("\t", -1)).toList();
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
