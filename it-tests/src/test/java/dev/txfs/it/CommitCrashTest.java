package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of the daemon at a random moment around {@code txfs commit}, many times: a shell begins a
 * transaction, writes a round's directory (20 small files and 2 MiB of random data, whose sha256 it
 * notes outside the mount), removes the previous round's directory and runs {@code txfs commit};
 * the test kills the daemon after a seeded random delay spanning before, during and after the
 * commit (calibrated by one commit left alone; every other round aims at the commit's end, where
 * the daemon does its part), clears the mount (umount -l) and mounts again.
 * Then: {@code txfs log} works and has the round's snapshot as HEAD or stays as it was; the live
 * tree has all of the round's changes (its directory complete, the previous one gone) or none; a
 * commit command that exited 0 means the snapshot is HEAD and its content complete; {@code txfs
 * verify} is clean (every 5th round and at the end).
 *
 * <p>{@code -Dtxfs.commitcrash.rounds=N} (default 12 in CI, where {@link CrashInjectionTest} also
 * kills commits, at random moments of a wider workload; 50 or more by hand) and {@code
 * -Dtxfs.commitcrash.seed=N} (printed).
 */
class CommitCrashTest extends TransactionItBase {
    private static final int FILES = 20;

    private static final String SCRIPT = """
            cd "$M/crash"
            "$T" begin -m "crash r$R" > /dev/null
            mkdir "r$R"
            for i in $(seq 1 %d); do echo "round $R file $i" > "r$R/f$i"; done
            head -c 2M /dev/urandom > "r$R/big"
            sha256sum < "r$R/big" | cut -d' ' -f1 > "$W/big.sha"
            if [ "$P" != - ]; then rm -r "r$P"; fi
            touch "$W/committing"
            set +e
            "$T" commit > "$W/snap" 2> "$W/commit-err"
            echo $? > "$W/rc"
            """.formatted(FILES);

    /** One round's shell: started, waited for up to the commit. */
    private Process start(Path w, int round, int previous) throws Exception {
        Process p = shell(w, "R=" + round + " P=" + (previous < 0 ? "-" : previous) + "\n" + SCRIPT);
        Path marker = w.resolve("committing");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(marker)) {
            if (!p.isAlive()) {
                throw new AssertionError("round " + round + ": shell exited " + p.exitValue() + " before commit: "
                        + Files.readString(w.resolve("err")));
            }
            assertTrue(System.nanoTime() < deadline, "round " + round + ": shell reached commit");
            Thread.sleep(1);
        }
        return p;
    }

    @Test
    void killDuringCommit_leavesAllOrNothingAndAValidStore() throws Exception {
        int rounds = Integer.getInteger("txfs.commitcrash.rounds", 12);
        long seed = Long.getLong("txfs.commitcrash.seed", System.nanoTime() % 1_000_000);
        Random random = new Random(seed);
        dir("crash");
        long started = System.nanoTime();

        // calibration: round 0 commits undisturbed; its commit's wall time sets the kill window
        Path w0 = tempDir("txfs-crash");
        long commitMs;
        try {
            Process p = start(w0, 0, -1);
            long t0 = System.nanoTime();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            commitMs = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(
                    "0",
                    Files.readString(w0.resolve("rc")).strip(),
                    Files.readString(w0.resolve("commit-err")) + Files.readString(w0.resolve("err")) + daemonLogs());
            checkRound(0, true, w0);
        } finally {
            removeTree(w0);
        }
        long windowMs = commitMs * 3 / 2;
        System.out.println("[crash] seed " + seed + ", " + rounds + " rounds; a commit took " + commitMs
                + " ms (JVM start included); kills at 0.." + windowMs + " ms after it starts, every other one"
                + " near its end (" + commitMs * 7 / 10 + ".." + commitMs * 11 / 10 + " ms)");

        TreeMap<String, Integer> outcomes = new TreeMap<>();
        int present = 0; // the round whose directory the live tree has
        List<String> log = log();
        for (int round = 1; round <= rounds; round++) {
            Path w = tempDir("txfs-crash");
            try {
                // the client's JVM start takes most of a commit's wall time: every other round aims
                // at the end, where the daemon merges, writes and moves the refs
                long delay = round % 2 == 0
                        ? random.nextInt((int) windowMs + 1)
                        : commitMs * 7 / 10 + random.nextInt((int) (commitMs * 4 / 10) + 1);
                Process p = start(w, round, present);
                Thread.sleep(delay);
                for (long pid : daemonPids()) {
                    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                }
                for (long pid : daemonPids()) {
                    ProcessHandle.of(pid).ifPresent(h -> h.onExit().join());
                }
                clearMount();
                assertTrue(
                        p.waitFor(60, TimeUnit.SECONDS), "round " + round + ": the shell ends once the mount is gone");
                String rc = Files.exists(w.resolve("rc"))
                        ? Files.readString(w.resolve("rc")).strip()
                        : "?";

                if (round % 5 == 0 || round == rounds) {
                    Result v = txfs("--store", store.toString(), "verify");
                    assertTrue(v.exit() == 0 && v.out().startsWith("ok: "), "round " + round + ": " + v.describe());
                }
                mount();

                List<String> after = log();
                boolean committed = after.size() == log.size() + 1;
                String why =
                        "round " + round + " (seed " + seed + ", kill after " + delay + " ms, commit exit " + rc + ")";
                if (committed) {
                    assertEquals(ids(log), ids(after.subList(1, after.size())), why + ": history below the new HEAD");
                    assertTrue(after.get(0).contains(" crash r" + round + " (HEAD"), why + ": " + after.get(0));
                } else {
                    assertEquals(ids(log), ids(after), why + ": the log is as it was");
                }
                if (rc.equals("0")) {
                    String snap = Files.readString(w.resolve("snap")).strip();
                    assertTrue(committed, why + ": commit printed " + snap + " and exited 0, so it is durable");
                    assertTrue(after.get(0).startsWith(snap.substring(0, 12)), why + ": HEAD is " + after.get(0));
                }
                checkRound(round, committed, w);
                if (committed) {
                    assertFalse(Files.exists(mp.resolve("crash/r" + present)), why + ": the previous round's is gone");
                    present = round;
                } else {
                    assertTrue(
                            Files.isDirectory(mp.resolve("crash/r" + present)), why + ": the previous round's is kept");
                }
                String outcome =
                        (committed ? "committed" : "not committed") + (rc.equals("0") ? ", commit exit 0" : "");
                outcomes.merge(outcome, 1, Integer::sum);
                log = after;
            } finally {
                removeTree(w);
            }
        }
        System.out.printf(
                "[crash] outcomes %s; %d rounds in %.1f s%n", outcomes, rounds, (System.nanoTime() - started) / 1e9);
        String open = txfs("txn", "list", "--mount", mp.toString()).ok().out();
        assertEquals(1, open.lines().count(), "no transaction survived a crash:\n" + open);
    }

    /** The live tree holds round {@code round}'s directory complete, or (not committed) not at all. */
    private static void checkRound(int round, boolean committed, Path w) throws Exception {
        Path d = mp.resolve("crash/r" + round);
        if (!committed) {
            assertFalse(Files.exists(d), "round " + round + " not committed: none of its directory");
            return;
        }
        try (var s = Files.list(d)) {
            assertEquals(FILES + 1, s.count(), "round " + round + ": every file");
        }
        for (int i = 1; i <= FILES; i++) {
            assertEquals("round " + round + " file " + i + "\n", Files.readString(d.resolve("f" + i)));
        }
        byte[] big = Files.readAllBytes(d.resolve("big"));
        assertEquals(2 << 20, big.length, "round " + round + ": big's size");
        assertEquals(
                Files.readString(w.resolve("big.sha")).strip(),
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(big)),
                "round " + round + ": big's content");
    }

    /** The short snapshot ids of {@code txfs log --oneline} lines (the ref names after them move). */
    private static List<String> ids(List<String> log) {
        return log.stream().map(l -> l.substring(0, 12)).toList();
    }

    /** The daemon logs of the store, for a failure message. */
    private static String daemonLogs() throws java.io.IOException {
        StringBuilder b = new StringBuilder("\n--- daemon logs:\n");
        try (var logs = Files.list(store.resolve("logs"))) {
            for (Path p : logs.sorted().toList()) {
                List<String> lines = Files.readAllLines(p);
                lines.subList(Math.max(0, lines.size() - 40), lines.size())
                        .forEach(l -> b.append(l).append('\n'));
            }
        }
        return b.toString();
    }

    /** txfs log --oneline, which reads (and so checks) every snapshot from HEAD down. */
    private static List<String> log() {
        return txfs("--store", store.toString(), "log", "--oneline")
                .ok()
                .out()
                .lines()
                .toList();
    }

    /** The kernel side of a killed daemon's mount: lazily unmounted, so the next mount starts clean. */
    private static void clearMount() {
        if (isMounted()) {
            run(QUICK, null, List.of("umount", "-l", mp.toString())).ok();
        }
        assertFalse(isMounted(), "cleared: " + mp);
    }
}
