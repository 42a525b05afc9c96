package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Sixteen real shells at once, each in a loop: {@code txfs begin}, writes of every kind under its
 * own directory (create, overwrite, append, mkdir, rename of a file and of a directory, unlink)
 * and sometimes one write to a small set of shared files, then commit or abort (bash's RANDOM,
 * seeded per shell); a commit that conflicts (exit 6) is aborted. Each shell logs round, decision
 * and outcome to a file outside the mount. At the end, from outside: each shell's directory is
 * exactly what its committed rounds make of it (aborted and conflicting rounds left nothing),
 * each shared file holds the content of the newest snapshot in {@code txfs log} that wrote it,
 * the log holds the committed rounds and no other, and no transaction is left open.
 *
 * <p>{@code -Dtxfs.stress.seed=N} repeats a run's choices (the seed is printed; the interleaving
 * is the scheduler's); {@code -Dtxfs.stress.rounds=N} changes the rounds per shell (default 5).
 */
class TransactionStressTest extends TransactionItBase {
    private static final int SHELLS = 16;
    private static final int SHARED = 4;

    private static final String SCRIPT = """
            RANDOM=$SEED
            cd "$M/stress/s$I"
            for r in $(seq 1 "$ROUNDS"); do
              "$T" begin -m "stress s$I r$r" > /dev/null
              echo "s$I r$r" > "f$r"
              echo "s$I r$r" > persist
              echo "r$r" >> log
              mkdir "d$r"
              echo "x$r" > "d$r/x"
              echo tmp > "tmp$r"
              mv "tmp$r" "m$r"
              p=$((r - 1))
              if [ -e "f$p" ]; then rm "f$p"; fi
              if [ -d "d$p" ]; then mv "d$p" "e$p"; fi
              [ "$(cat persist)" = "s$I r$r" ] || { echo "$r reads back $(cat persist)" >> "$W/log"; exit 1; }
              shared=-
              if [ $((RANDOM % 2)) = 0 ]; then
                shared=k$((RANDOM % SHARED))
                echo "s$I r$r" > "$M/stress/shared/$shared"
              fi
              if [ $((RANDOM % 10)) -lt 7 ]; then
                set +e
                "$T" commit > "$W/snap" 2> "$W/commit-err"
                rc=$?
                set -e
                if [ $rc = 0 ]; then
                  echo "$r commit $shared $(cat "$W/snap")" >> "$W/log"
                elif [ $rc = 6 ]; then
                  echo "$r conflict $shared $(tr '\\n' ' ' < "$W/commit-err")" >> "$W/log"
                  "$T" abort
                else
                  echo "$r failed $rc $(tr '\\n' ' ' < "$W/commit-err")" >> "$W/log"
                  exit 1
                fi
              else
                "$T" abort
                echo "$r abort $shared" >> "$W/log"
              fi
            done
            echo done
            """;

    /** One logged round: {@code outcome} is commit, conflict or abort; {@code shared} a file name or "-". */
    private record Round(int shell, int round, String outcome, String shared, String rest) {}

    @Test
    void sixteenShellsCommitAndAbortConcurrently_everyCommittedChangeAndNoAbortedOne() throws Exception {
        long seed = Long.getLong("txfs.stress.seed", System.nanoTime() % 1_000_000);
        int rounds = Integer.getInteger("txfs.stress.rounds", 5);
        System.out.println("[stress] seed " + seed + ", " + SHELLS + " shells x " + rounds + " rounds");
        Path d = dir("stress");
        Files.createDirectory(d.resolve("shared"));
        for (int k = 0; k < SHARED; k++) {
            Files.writeString(d.resolve("shared/k" + k), "init\n");
        }
        Path work = tempDir("txfs-stress");
        try {
            List<Process> ps = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < SHELLS; i++) {
                Files.createDirectory(d.resolve("s" + i));
                Path w = Files.createDirectory(work.resolve("s" + i));
                ps.add(shell(
                        w,
                        "I=" + i + " SEED=" + (seed + i) + " ROUNDS=" + rounds + " SHARED=" + SHARED + "\n" + SCRIPT));
            }
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
            for (int i = 0; i < SHELLS; i++) {
                Process p = ps.get(i);
                boolean done = p.waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                Path w = work.resolve("s" + i);
                String why = "shell " + i + " (seed " + (seed + i) + ")\n--- log:\n" + read(w.resolve("log"))
                        + "--- stderr:\n" + read(w.resolve("err"));
                assertTrue(done, "finished: " + why);
                assertEquals(0, p.exitValue(), why);
            }
            System.out.printf("[stress] shells took %.1f s%n", (System.nanoTime() - start) / 1e9);

            List<Round> all = new ArrayList<>();
            for (int i = 0; i < SHELLS; i++) {
                all.addAll(parse(i, read(work.resolve("s" + i).resolve("log"))));
            }
            assertEquals(SHELLS * rounds, all.size(), "one logged outcome per round");
            Map<String, Integer> counts = new TreeMap<>();
            all.forEach(r -> counts.merge(r.outcome(), 1, Integer::sum));
            System.out.println("[stress] outcomes " + counts);
            assertTrue(counts.getOrDefault("commit", 0) > 0, "some rounds committed: " + counts);
            assertTrue(counts.getOrDefault("conflict", 0) > 0, "some commits conflicted: " + counts);

            // each shell's own directory: its committed rounds, replayed in order, and nothing else
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < SHELLS; i++) {
                int shell = i;
                List<Round> mine = all.stream().filter(r -> r.shell() == shell).toList();
                Map<String, String> want = expected(i, mine);
                Map<String, String> seen = actual(d.resolve("s" + i));
                if (!want.equals(seen)) {
                    wrong.add("s" + i + ": " + difference(want, seen) + "; rounds " + mine);
                }
            }
            // commits: each printed a snapshot id; the log has exactly the committed rounds
            List<String> log = txfs("--store", store.toString(), "log", "--oneline")
                    .ok()
                    .out()
                    .lines()
                    .toList();
            Map<String, Integer> position = new HashMap<>(); // short id -> index, newest first
            List<String> logged = new ArrayList<>();
            for (int n = 0; n < log.size(); n++) {
                String line = log.get(n);
                position.put(line.substring(0, 12), n);
                int at = line.indexOf(" stress s");
                if (at >= 0) {
                    logged.add(line.substring(at + 1).replaceFirst(" \\(.*\\)$", "")); // without "(HEAD, live)"
                }
            }
            List<String> committed = new ArrayList<>();
            for (Round r : all) {
                if (r.outcome().equals("commit")) {
                    assertTrue(r.rest().matches("[0-9a-f]{64}"), "commit printed a snapshot id: " + r);
                    assertTrue(position.containsKey(r.rest().substring(0, 12)), "in txfs log: " + r);
                    committed.add("stress s" + r.shell() + " r" + r.round());
                } else if (r.outcome().equals("conflict")) {
                    assertTrue(
                            !r.shared().equals("-") && r.rest().contains("/stress/shared/" + r.shared()),
                            "a conflict names the shared file the round wrote: " + r);
                }
            }
            assertEquals(sorted(committed), sorted(logged), "snapshots in the log = committed rounds");

            // shared files: the newest committed snapshot that wrote each
            Map<String, String> sharedWant = new TreeMap<>();
            for (int k = 0; k < SHARED; k++) {
                String name = "k" + k;
                Round last = null;
                for (Round r : all) {
                    if (r.outcome().equals("commit")
                            && r.shared().equals(name)
                            && (last == null
                                    || position.get(r.rest().substring(0, 12))
                                            < position.get(last.rest().substring(0, 12)))) {
                        last = r;
                    }
                }
                sharedWant.put(name, last == null ? "init\n" : "s" + last.shell() + " r" + last.round() + "\n");
            }
            Map<String, String> sharedSeen = actual(d.resolve("shared"));
            if (!sharedWant.equals(sharedSeen)) {
                wrong.add("shared: " + difference(sharedWant, sharedSeen));
            }
            if (!wrong.isEmpty()) {
                // is it the daemon's tree or only what the kernel shows? a snapshot taken now tells
                Path copy = work.resolve("checkout");
                txfs("--store", store.toString(), "checkout", snapshotNow(), copy.toString())
                        .ok();
                for (int i = 0; i < SHELLS; i++) {
                    int shell = i;
                    Map<String, String> want = expected(
                            i, all.stream().filter(r -> r.shell() == shell).toList());
                    Map<String, String> recorded = actual(copy.resolve("stress/s" + i));
                    if (!want.equals(recorded)) {
                        wrong.add("s" + i + " in a snapshot taken now: " + difference(want, recorded));
                    }
                }
                Map<String, String> recorded = actual(copy.resolve("stress/shared"));
                if (!sharedWant.equals(recorded)) {
                    wrong.add("shared in a snapshot taken now: " + difference(sharedWant, recorded));
                }
            }

            String open = txfs("txn", "list", "--mount", mp.toString()).ok().out();
            assertEquals(1, open.lines().count(), "no transaction left open:\n" + open);
            // last, so that the checks above run even when what the kernel shows is wrong
            assertEquals(List.of(), wrong, "files that differ from their committed rounds (seed " + seed + ")");
        } finally {
            removeTree(work);
        }
    }

    /**
     * Regression (found by the stress test): a file a committed transaction created keeps that
     * transaction's inode number in the live tree; a later transaction that overwrites it through
     * the name the kernel still caches wrote under the same inode (no divergence), so once it read
     * the file back, the kernel's page cache of that inode showed its uncommitted content to
     * everyone, during the transaction and after its abort.
     */
    @Test
    void overwriteOfAFileACommitCreated_staysPrivateAndIsGoneAfterAbort() throws Exception {
        Path d = dir("reuse");
        Path w = tempDir("txfs-reuse");
        try {
            Process p = shell(w, """
                    cd "$M/reuse"
                    "$T" begin > /dev/null
                    echo v1 > p
                    "$T" commit > /dev/null
                    "$T" begin > /dev/null
                    echo v2 > p
                    cat p
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" abort
                    """);
            await(w.resolve("written"), p);
            assertEquals("v1\n", Files.readString(d.resolve("p")), "outside, during the transaction");
            Files.createFile(w.resolve("go"));
            assertEquals("v2\n", finish(p, w));
            assertEquals("v1\n", Files.readString(d.resolve("p")), "outside, after the abort");
        } finally {
            removeTree(w);
        }
    }

    private static String snapshotNow() {
        return sh("cd \"$2\" && \"$1\" snapshot -m probe", TXFS.toString(), mp.toString())
                .ok()
                .out()
                .strip();
    }

    /** The entries whose expected and actual content differ, as {@code path: want -> got}. */
    private static String difference(Map<String, String> want, Map<String, String> got) {
        List<String> out = new ArrayList<>();
        java.util.Set<String> keys = new java.util.TreeSet<>(want.keySet());
        keys.addAll(got.keySet());
        for (String k : keys) {
            if (!java.util.Objects.equals(want.get(k), got.get(k))) {
                out.add(k + ": " + show(want.get(k)) + " -> " + show(got.get(k)));
            }
        }
        return String.join(", ", out);
    }

    private static String show(String content) {
        return content == null ? "(absent)" : "'" + content.replace("\n", "\\n") + "'";
    }

    private static List<String> sorted(List<String> l) {
        return l.stream().sorted().toList();
    }

    private static String read(Path p) throws IOException {
        return Files.exists(p) ? Files.readString(p) : "(none)\n";
    }

    private static List<Round> parse(int shell, String log) {
        List<Round> rounds = new ArrayList<>();
        for (String line : log.lines().toList()) {
            String[] f = line.split(" ", 4);
            assertTrue(f.length >= 3 && f[1].matches("commit|conflict|abort"), "shell " + shell + ": " + line);
            rounds.add(new Round(shell, Integer.parseInt(f[0]), f[1], f[2], f.length > 3 ? f[3].strip() : ""));
        }
        return rounds;
    }

    /** What shell {@code i}'s directory holds after its committed rounds (paths; "/" marks a directory). */
    private static Map<String, String> expected(int i, List<Round> rounds) {
        Map<String, String> m = new TreeMap<>();
        StringBuilder log = new StringBuilder();
        for (Round round : rounds) {
            if (!round.outcome().equals("commit")) {
                continue;
            }
            int r = round.round();
            int p = r - 1;
            m.put("f" + r, "s" + i + " r" + r + "\n");
            m.put("persist", "s" + i + " r" + r + "\n");
            log.append("r").append(r).append('\n');
            m.put("log", log.toString());
            m.put("d" + r + "/", "");
            m.put("d" + r + "/x", "x" + r + "\n");
            m.put("m" + r, "tmp\n");
            m.remove("f" + p);
            if (m.remove("d" + p + "/") != null) {
                m.put("e" + p + "/", "");
                m.put("e" + p + "/x", m.remove("d" + p + "/x"));
            }
        }
        return m;
    }

    private static Map<String, String> actual(Path dir) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                if (p.equals(dir)) {
                    continue;
                }
                String rel = dir.relativize(p).toString();
                if (Files.isDirectory(p)) {
                    m.put(rel + "/", "");
                } else {
                    m.put(rel, Files.readString(p));
                }
            }
        }
        return m;
    }
}
