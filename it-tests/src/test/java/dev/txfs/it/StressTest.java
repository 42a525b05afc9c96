package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Load through a real mount with real tools (issue 7, "Stress and load"). First {@code stress-ng}'s
 * file-system stressors alone, on the mount and then on tmpfs as a peer reference measured in the
 * same run (the machine is shared, so only the ratio means much); then, all at once for {@code
 * txfs.stress.seconds}: the same stressors, parallel {@code tar -x}/{@code tar -d}/{@code rm -rf}
 * loops of a tarball of a few thousand files from /usr/share, a {@code git} loop (add, commit,
 * status, gc; fsck at the end), and shells that {@code txfs begin}, write, and {@code txfs commit}
 * or {@code txfs abort}. Checks: every process ends in time (else the failure carries the daemon's
 * threads (jstack, or kill -QUIT) and the processes' kernel wait channels), each ends well (stress-ng with no
 * failed stressor, each extracted tree equal to the tarball, git fsck clean, every commit
 * accepted), each transaction shell's directory holds exactly its committed rounds, the daemon
 * logged no warning; {@link LiveMountBase} then unmounts and runs {@code txfs verify}. Prints ops/s
 * per stressor (and the tmpfs ratio), tar loops/s, git commits/s and transaction rounds/s.
 *
 * <p>Long run (docs/RELIABILITY.md): {@code -Dtxfs.stress.seconds=600} (default 30). Also:
 * {@code txfs.stress.soloSeconds} (default 4) and {@code txfs.stress.soloEach} (run the stressors
 * alone one at a time rather than all at once); {@code txfs.stress.tarLoops} (default 3), {@code
 * txfs.stress.tarFiles} (default 1500), {@code txfs.stress.txnShells} (default 2), {@code
 * txfs.stress.seed} (the shells' commit/abort choices); {@code txfs.stress.graceSeconds} (how long
 * past its end a phase may run before it counts as hung, default 120).
 */
class StressTest extends TransactionItBase {
    private static final List<String> STRESSORS = List.of("dir", "rename", "link", "xattr", "hdd", "fallocate", "mmap");

    /** Sizes kept small so that a long run does not fill the disk or the page cache. */
    private static final List<String> STRESS_NG_OPTIONS =
            List.of("--hdd-bytes", "32M", "--fallocate-bytes", "32M", "--mmap-file", "--mmap-bytes", "4M", "--verify");

    /** Each loop prints {@code count N start T0 end T1} (epoch seconds) last; $END ends it. */
    private static final String TAR_LOOP = """
            t0=$(date +%s.%N); n=0
            mkdir -p "$M/tar/s$I"
            while [ "$n" = 0 ] || [ "$(date +%s)" -lt "$END" ]; do
              d="$M/tar/s$I/x$n"
              mkdir "$d"
              tar -xf "$TAR" -C "$d"
              if ! tar -df "$TAR" -C "$d" > "$W/diff" 2>&1; then
                echo "loop $n: the extracted tree differs from the tarball:" >&2; head -20 "$W/diff" >&2; exit 1
              fi
              rm -rf "$d"
              if [ -e "$d" ]; then echo "loop $n: $d is still there after rm -rf" >&2; exit 1; fi
              n=$((n + 1))
            done
            echo "count $n start $t0 end $(date +%s.%N)"
            """;

    private static final String GIT_LOOP = """
            mkdir -p "$M/git"; cd "$M/git"
            git init -q .
            git config user.email stress@txfs.invalid; git config user.name stress; git config gc.auto 0
            t0=$(date +%s.%N); n=0
            while [ "$n" = 0 ] || [ "$(date +%s)" -lt "$END" ]; do
              n=$((n + 1))
              seq "$n" $((n + 3000)) > "f$((n % 7))"
              mkdir -p "d$((n % 5))"; echo "$n" > "d$((n % 5))/g$n"
              if [ $((n % 3)) = 0 ]; then rm -rf "d$(((n + 1) % 5))"; fi
              if [ $((n % 4)) = 0 ] && [ -e "f$((n % 7))" ]; then mv "f$((n % 7))" "m$n"; fi
              git add -A
              git commit -q -m "stress $n"
              git status --porcelain > "$W/status"
              if [ -s "$W/status" ]; then echo "commit $n: status not clean:" >&2; head "$W/status" >&2; exit 1; fi
              if [ $((n % 10)) = 0 ]; then git gc -q; fi
            done
            t1=$(date +%s.%N)
            git gc -q
            if ! git fsck --full --strict > "$W/fsck" 2>&1; then echo "git fsck:" >&2; head -20 "$W/fsck" >&2; exit 1; fi
            c=$(git rev-list --count HEAD)
            if [ "$c" != "$n" ]; then echo "history has $c commits, made $n" >&2; exit 1; fi
            echo "count $n start $t0 end $t1"
            """;

    /** Rounds of begin, writes, commit (2 in 3) or abort; logs "N commit|abort" to $W/log. */
    private static final String TXN_LOOP = """
            RANDOM=$SEED
            mkdir -p "$M/txn/s$I"; cd "$M/txn/s$I"
            t0=$(date +%s.%N); n=0
            while [ "$n" = 0 ] || [ "$(date +%s)" -lt "$END" ]; do
              n=$((n + 1))
              "$T" begin -m "stress txn s$I r$n" > /dev/null
              echo "s$I r$n" > "r$n"
              echo "r$n" >> log
              mkdir "d$n"
              for k in $(seq 20); do echo "$n $k" > "d$n/k$k"; done
              if [ $((RANDOM % 3)) != 0 ]; then
                if ! "$T" commit > "$W/snap" 2> "$W/commit-err"; then
                  echo "round $n: commit failed:" >&2; cat "$W/commit-err" >&2; exit 1
                fi
                echo "$n commit" >> "$W/log"
              else
                "$T" abort
                echo "$n abort" >> "$W/log"
              fi
            done
            echo "count $n start $t0 end $(date +%s.%N)"
            """;

    /** A finished worker's numbers. */
    private record Rate(String name, long count, double seconds) {
        double perSecond() {
            return seconds <= 0 ? 0 : count / seconds;
        }
    }

    /** A background process and its marker directory (out, err, its own files). */
    private record Worker(String name, Process process, Path dir) {}

    @Test
    void toolsAndTransactionsAtOnce_noDeadlockNoDaemonErrorEveryResultRight() throws Exception {
        for (String tool : List.of("stress-ng", "git", "tar")) {
            assumeTrue(has(tool), tool + " is not installed (scripts/ensure-deps.sh installs it)");
        }
        int seconds = property("seconds", 30, 1);
        int soloSeconds = property("soloSeconds", 4, 1);
        int tarLoops = property("tarLoops", 3, 0);
        int txnShells = property("txnShells", 2, 0);
        int tarFiles = property("tarFiles", 1500, 1);
        boolean soloEach = Boolean.getBoolean("txfs.stress.soloEach");
        int graceSeconds = property("graceSeconds", 120, 1);
        long seed = Long.getLong("txfs.stress.seed", System.nanoTime() % 1_000_000);
        Path tmpfs = tmpfs();
        Path out = tempDir("txfs-stress-out");
        Path ref = tmpfs == null ? null : Files.createTempDirectory(tmpfs, "txfs-stress-ref");
        try {
            Path tarball = tarball(out, tarFiles);

            // 1. stress-ng alone: on the mount, then on tmpfs
            Map<String, Double> solo = new LinkedHashMap<>();
            Map<String, Double> peer = new LinkedHashMap<>();
            for (List<String> stressors :
                    soloEach ? STRESSORS.stream().map(List::of).toList() : List.of(STRESSORS)) {
                String name = stressors.size() == 1 ? stressors.get(0) : "all";
                solo.putAll(stressNg("txfs-" + name, stressors, dir("sng-solo"), out, soloSeconds));
                if (ref != null) {
                    peer.putAll(stressNg("tmpfs-" + name, stressors, ref, out, soloSeconds));
                }
            }

            // 2. everything at once
            dir("sng");
            long end = System.currentTimeMillis() / 1000 + seconds;
            List<Worker> workers = new ArrayList<>();
            workers.add(
                    start(out, "stress-ng", "exec stress-ng " + stressNgArgs(STRESSORS, "$M/sng", seconds, "$W/yaml")));
            for (int i = 0; i < tarLoops; i++) {
                workers.add(start(out, "tar" + i, "I=" + i + " END=" + end + " TAR=" + tarball + "\n" + TAR_LOOP));
            }
            workers.add(start(out, "git", "END=" + end + "\n" + GIT_LOOP));
            for (int i = 0; i < txnShells; i++) {
                workers.add(start(out, "txn" + i, "I=" + i + " SEED=" + (seed + i) + " END=" + end + "\n" + TXN_LOOP));
            }
            awaitAll(workers, seconds + graceSeconds);

            List<String> wrong = new ArrayList<>();
            for (Worker w : workers) {
                int exit = w.process().exitValue();
                if (exit != 0) {
                    wrong.add(
                            w.name() + " exited " + exit + ":\n" + tail(w.dir().resolve("err")));
                }
            }
            Map<String, Double> mixed = yamlRates(workers.get(0).dir().resolve("yaml"));
            wrong.addAll(stressNgFailures("mixed", workers.get(0).dir()));
            List<Rate> rates = new ArrayList<>();
            for (Worker w : workers.subList(1, workers.size())) {
                if (w.process().exitValue() == 0) {
                    rates.add(rate(w));
                }
            }
            for (int i = 0; i < txnShells; i++) {
                wrong.addAll(checkTxnShell(i, out.resolve("txn" + i)));
            }
            wrong.addAll(daemonProblems());
            wrong.addAll(exceptionsLogged());

            System.out.printf(
                    "[stress] seed %d; stress-ng alone (%s) %d s per filesystem, then everything for %d s%n",
                    seed, soloEach ? "one stressor at a time" : "all stressors at once", soloSeconds, seconds);
            System.out.printf(
                    "[stress] %-10s %12s %12s %8s %14s%n", "stressor", "txfs alone", "tmpfs", "ratio", "txfs in mix");
            for (String s : STRESSORS) {
                double a = solo.getOrDefault(s, 0.0);
                double p = peer.getOrDefault(s, 0.0);
                System.out.printf(
                        "[stress] %-10s %12.1f %12.1f %8s %14.1f%n",
                        s, a, p, p > 0 ? String.format("%.3f", a / p) : "-", mixed.getOrDefault(s, 0.0));
            }
            long files = Files.readAllLines(out.resolve("files.tar.list")).size();
            for (Rate r : rates) {
                System.out.printf(
                        "[stress] %-10s %d in %.1f s = %.3f/s%s%n",
                        r.name(),
                        r.count(),
                        r.seconds(),
                        r.perSecond(),
                        r.name().startsWith("tar") ? String.format(" (%.0f files/s)", r.perSecond() * files) : "");
            }
            assertEquals(List.of(), wrong, "failures under load (seed " + seed + ")");
        } finally {
            removeTree(ref);
            removeTree(out);
        }
    }

    /** The integer system property {@code txfs.stress.NAME}, at least {@code min}. */
    private static int property(String name, int byDefault, int min) {
        String key = "txfs.stress." + name;
        String v = System.getProperty(key);
        try {
            int n = v == null ? byDefault : Integer.parseInt(v.strip());
            if (n >= min) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("-D" + key + "=" + v + ": want an integer of at least " + min);
    }

    /** A tmpfs directory to hold the reference run (/dev/shm), or null if there is none. */
    private static Path tmpfs() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
            String[] f = line.split(" ");
            if (f.length > 2 && f[1].equals("/dev/shm") && f[2].equals("tmpfs")) {
                return Path.of("/dev/shm");
            }
        }
        System.out.println("[stress] no tmpfs at /dev/shm: no reference run");
        return null;
    }

    /** A tar of the first {@code files} files and symlinks under /usr/share (below 256 KiB each). */
    private static Path tarball(Path out, int files) throws IOException {
        Path tar = out.resolve("files.tar");
        Result r = sh("""
                        find /usr/share -xdev \\( -type f -size -256k -o -type l \\) | sort | awk -v n="$2" 'NR <= n' > "$1.list"
                        tar --no-recursion -cf "$1" -T "$1.list" 2> /dev/null
                        wc -l < "$1.list"
                        """, tar.toString(), Integer.toString(files)).ok();
        System.out.printf("[stress] tarball of %s files, %d KiB%n", r.out().strip(), Files.size(tar) / 1024);
        return tar;
    }

    private static String stressNgArgs(List<String> stressors, String dir, int seconds, String yaml) {
        List<String> args = new ArrayList<>();
        for (String s : stressors) {
            args.add("--" + s + " 1");
        }
        args.addAll(STRESS_NG_OPTIONS);
        args.addAll(List.of(
                "--timeout",
                seconds + "s",
                "--temp-path",
                "\"" + dir + "\"",
                "--metrics-brief",
                "--yaml",
                "\"" + yaml + "\""));
        return String.join(" ", args);
    }

    /** {@code stressors} at once, alone in {@code dir} for {@code seconds}: bogo ops/s (real time) of each. */
    private Map<String, Double> stressNg(String name, List<String> stressors, Path dir, Path out, int seconds)
            throws Exception {
        Worker w = start(
                out,
                "stress-ng-" + name,
                "exec stress-ng " + stressNgArgs(stressors, dir.toString(), seconds, "$W/yaml"));
        awaitAll(List.of(w), seconds + Integer.getInteger("txfs.stress.graceSeconds", 120));
        List<String> wrong = new ArrayList<>(stressNgFailures(name, w.dir()));
        if (w.process().exitValue() != 0) {
            wrong.add(
                    0,
                    "stress-ng (" + name + ") exited " + w.process().exitValue() + ":\n"
                            + tail(w.dir().resolve("err")));
        }
        assertEquals(List.of(), wrong, "stress-ng alone on " + dir);
        return yamlRates(w.dir().resolve("yaml"));
    }

    /** stress-ng's lines that report a failed or skipped stressor. */
    private static List<String> stressNgFailures(String name, Path dir) throws IOException {
        List<String> bad = new ArrayList<>();
        for (String f : List.of("out", "err")) {
            for (String line : Files.readAllLines(dir.resolve(f))) {
                if (line.contains(" fail:") || line.contains("skipped") || line.contains("unsuccessful")) {
                    bad.add("stress-ng (" + name + "): " + line);
                }
            }
        }
        return bad;
    }

    /** {@code bogo-ops-per-second-real-time} per stressor from stress-ng's --yaml file. */
    private static Map<String, Double> yamlRates(Path yaml) throws IOException {
        Map<String, Double> rates = new LinkedHashMap<>();
        if (!Files.exists(yaml)) {
            return rates;
        }
        String stressor = null;
        for (String line : Files.readAllLines(yaml)) {
            String t = line.strip();
            if (t.startsWith("- stressor: ")) {
                stressor = t.substring("- stressor: ".length()).strip();
            } else if (stressor != null && t.startsWith("bogo-ops-per-second-real-time: ")) {
                rates.put(
                        stressor,
                        Double.parseDouble(t.substring(t.indexOf(':') + 1).strip()));
            }
        }
        return rates;
    }

    private Worker start(Path out, String name, String script) throws IOException {
        Path w = Files.createDirectory(out.resolve(name));
        return new Worker(name, shell(w, script), w);
    }

    /**
     * Waits for every worker until {@code limitSeconds} from now. On a timeout fails with what is
     * stuck: each live process's state and kernel wait channel, and the daemon's threads.
     */
    private static void awaitAll(List<Worker> workers, long limitSeconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(limitSeconds);
        List<String> stuck = new ArrayList<>();
        for (Worker w : workers) {
            if (!w.process().waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                stuck.add(w.name());
            }
        }
        if (!stuck.isEmpty()) {
            StringBuilder why = new StringBuilder("not finished within " + limitSeconds + " s: " + stuck + "\n");
            for (Worker w : workers) {
                if (w.process().isAlive()) {
                    List<String> pids =
                            new ArrayList<>(List.of(Long.toString(w.process().pid())));
                    w.process().descendants().forEach(p -> pids.add(Long.toString(p.pid())));
                    why.append("--- ")
                            .append(w.name())
                            .append(":\n")
                            .append(run(
                                            QUICK,
                                            null,
                                            List.of(
                                                    "ps",
                                                    "-o",
                                                    "pid,stat,wchan:32,etime,args",
                                                    "-p",
                                                    String.join(",", pids)))
                                    .out())
                            .append(tail(w.dir().resolve("err")));
                }
            }
            why.append(daemonThreads());
            throw new AssertionError(why.toString());
        }
    }

    /**
     * The daemon's threads: {@code jstack -l}, or without a JDK {@code kill -QUIT}, whose dump the
     * JVM prints to its stdout, which is the daemon's log.
     */
    private static String daemonThreads() throws Exception {
        StringBuilder b = new StringBuilder();
        boolean jstack = has("jstack");
        for (long pid : daemonPids()) {
            b.append("--- threads of the daemon ").append(pid).append(":\n");
            if (jstack) {
                b.append(run(QUICK, null, List.of("jstack", "-l", Long.toString(pid)))
                        .out());
                continue;
            }
            run(QUICK, null, List.of("kill", "-QUIT", Long.toString(pid)));
            Thread.sleep(2000);
            try (var logs = Files.list(store.resolve("logs"))) {
                for (Path log : logs.toList()) {
                    String text = Files.readString(log);
                    int at = text.lastIndexOf("Full thread dump");
                    if (at >= 0) {
                        b.append(text.substring(at));
                    }
                }
            }
        }
        return b.toString();
    }

    /** count / (end - start) from the worker's last output line. */
    private static Rate rate(Worker w) throws IOException {
        String[] f = Files.readString(w.dir().resolve("out"))
                .strip()
                .lines()
                .reduce((a, b) -> b)
                .orElse("")
                .split(" ");
        if (f.length != 6 || !f[0].equals("count")) {
            throw new AssertionError(w.name() + " printed no count: " + String.join(" ", f));
        }
        return new Rate(w.name(), Long.parseLong(f[1]), Double.parseDouble(f[5]) - Double.parseDouble(f[3]));
    }

    /** Shell {@code i}'s directory holds exactly the rounds it committed (files, their content, the log). */
    private static List<String> checkTxnShell(int i, Path w) throws IOException {
        Path log = w.resolve("log");
        if (!Files.exists(log)) {
            return List.of();
        }
        Map<String, String> want = new TreeMap<>();
        StringBuilder lines = new StringBuilder();
        for (String line : Files.readAllLines(log)) {
            String[] f = line.split(" ");
            if (f[1].equals("commit")) {
                String n = f[0];
                want.put("r" + n, "s" + i + " r" + n + "\n");
                lines.append("r").append(n).append('\n');
                for (int k = 1; k <= 20; k++) {
                    want.put("d" + n + "/k" + k, n + " " + k + "\n");
                }
            }
        }
        if (lines.length() > 0) {
            want.put("log", lines.toString());
        }
        Path d = mp.resolve("txn/s" + i);
        Map<String, String> seen = new TreeMap<>();
        try (var walk = Files.walk(d)) {
            for (Path p : walk.toList()) {
                if (Files.isRegularFile(p)) {
                    seen.put(d.relativize(p).toString(), Files.readString(p));
                }
            }
        }
        if (want.equals(seen)) {
            return List.of();
        }
        TreeSet<String> names = new TreeSet<>(want.keySet());
        names.addAll(seen.keySet());
        List<String> diff = new ArrayList<>();
        for (String n : names) {
            if (!java.util.Objects.equals(want.get(n), seen.get(n))) {
                diff.add(n + ": " + want.get(n) + " -> " + seen.get(n));
            }
        }
        return List.of("txn" + i + "'s directory differs from its committed rounds: "
                + diff.subList(0, Math.min(10, diff.size())));
    }

    /** Lines of the daemon logs that name an exception, whatever their level. */
    private static List<String> exceptionsLogged() throws IOException {
        List<String> found = new ArrayList<>();
        try (var logs = Files.list(store.resolve("logs"))) {
            for (Path log : logs.toList()) {
                for (String line : Files.readAllLines(log)) {
                    if (line.contains("Exception") || line.contains("Error:")) {
                        found.add(log.getFileName() + ": " + line);
                    }
                }
            }
        }
        return found;
    }

    private static String tail(Path file) throws IOException {
        if (!Files.exists(file)) {
            return "(no " + file.getFileName() + ")\n";
        }
        List<String> lines = Files.readAllLines(file);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())) + "\n";
    }
}
