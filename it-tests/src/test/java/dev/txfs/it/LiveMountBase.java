package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * One live txfs mount per test class: {@code txfs init} and {@code txfs mount} of a fresh store
 * in {@code @BeforeAll}; in {@code @AfterAll} {@code txfs umount} (falling back to {@code umount
 * -l} and killing a daemon left behind), removal of the temporary directory, and last {@code
 * txfs verify} of the store, so every class also checks the store it wrote. Needs root and
 * {@code /dev/fuse}; the classes are skipped elsewhere.
 *
 * <p>Commands run with their own short timeouts ({@link #QUICK}, or what a test passes): a hung
 * mount fails the test instead of the build.
 */
abstract class LiveMountBase extends TxfsItBase {
    static final Duration QUICK = Duration.ofSeconds(60);

    static Path work;
    static Path store;
    static Path mp;

    @BeforeAll
    static void mountStore() throws IOException {
        assumeTrue(Files.isWritable(Path.of("/dev/fuse")) && isRoot(), "needs root and /dev/fuse");
        work = tempDir("txfs-live");
        store = work.resolve("store");
        mp = Files.createDirectory(work.resolve("mnt"));
        bash(QUICK, "chmod 0755 \"$1\" \"$2\"", work.toString(), mp.toString()).ok(); // nobody walks in
        txfs("--store", store.toString(), "init").ok();
        mount();
    }

    @AfterAll
    static void unmountStore() {
        if (work == null) {
            return;
        }
        String verify = null;
        List<String> logged = List.of();
        try {
            unmountOrClear();
            if (Files.isDirectory(store)) {
                Result v = txfs("--store", store.toString(), "verify");
                verify = v.exit() == 0 && v.out().startsWith("ok: ") ? null : v.describe();
                logged = daemonProblems();
            }
        } finally {
            removeTree(work);
            work = null;
        }
        assertEquals(null, verify, "txfs verify of the store after the tests");
        assertEquals(List.of(), logged, "the daemon logged no warning (an unexpected failure answers EIO)");
    }

    /** WARNING and SEVERE records of the daemon logs, each with the line after it (the message). */
    static List<String> daemonProblems() {
        List<String> problems = new ArrayList<>();
        try (var logs = Files.list(store.resolve("logs"))) {
            for (Path log : logs.toList()) {
                List<String> lines = Files.readAllLines(log);
                for (int i = 0; i < lines.size(); i++) {
                    if (lines.get(i).startsWith("WARNING") || lines.get(i).startsWith("SEVERE")) {
                        problems.add(lines.get(i) + (i + 1 < lines.size() ? " / " + lines.get(i + 1) : ""));
                    }
                }
            }
        } catch (IOException e) {
            problems.add("cannot read the daemon logs: " + e);
        }
        return problems;
    }

    static void mount(String... options) {
        mountWithEnv(Map.of(), options);
    }

    /** txfs mount with {@code env} added to its environment (the daemon it starts reads e.g. TXFS_DAEMON_HEAP). */
    static Result mountWithEnv(Map<String, String> env, String... options) {
        List<String> cmd = new ArrayList<>(List.of("env"));
        env.forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.addAll(List.of(TXFS.toString(), "--store", store.toString(), "mount", mp.toString()));
        cmd.addAll(List.of(options));
        Result r = run(TIMEOUT, null, cmd).ok();
        assertTrue(isMounted(), "mounted: " + mp);
        return r;
    }

    /** Unmounts and mounts the store again with {@code options} (e.g. from a subclass's {@code @BeforeAll}). */
    static Result remount(String... options) {
        return remountWithEnv(Map.of(), options);
    }

    /** {@link #remount} with {@code env} added to the environment of txfs mount. */
    static Result remountWithEnv(Map<String, String> env, String... options) {
        unmountOrClear();
        return mountWithEnv(env, options);
    }

    /** txfs umount, and if the mount or its daemon is still there, umount -l and kill -9. */
    static void unmountOrClear() {
        if (isMounted()) {
            Result r = run(QUICK, null, List.of(TXFS.toString(), "umount", mp.toString()));
            if (r.exit() != 0) {
                System.err.println("[live mount] txfs umount failed: " + r.describe());
            }
        }
        if (isMounted()) {
            run(QUICK, null, List.of("umount", "-l", mp.toString()));
        }
        for (long pid : daemonPids()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    static boolean isMounted() {
        try {
            String target = " " + mp + " ";
            return Files.readAllLines(Path.of("/proc/mounts")).stream().anyMatch(l -> l.contains(target));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The pids of the daemons serving this class's mount point (normally one). */
    static List<Long> daemonPids() {
        return daemonPids(mp);
    }

    /** The pids of the daemons serving mount point {@code m}. */
    static List<Long> daemonPids(Path m) {
        Result r = run(QUICK, null, List.of("pgrep", "-f", "mount --foreground " + m + "( |$)"));
        List<Long> pids = new ArrayList<>();
        for (String line : r.out().lines().toList()) {
            if (!line.isBlank()) {
                pids.add(Long.parseLong(line.strip()));
            }
        }
        return pids;
    }

    /** A fresh directory inside the mount for one test. */
    static Path dir(String name) {
        Path d = mp.resolve(name);
        bash(QUICK, "rm -rf \"$1\" && mkdir \"$1\"", d.toString()).ok();
        return d;
    }

    /** bash in {@code cwd} ({@code set -euo pipefail}), args as $1, $2, ... */
    static Result bashIn(Path cwd, String script, String... args) {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "set -euo pipefail\numask 022\n" + script, "bash"));
        cmd.addAll(List.of(args));
        return run(QUICK, cwd, cmd);
    }

    static Result bash(Duration timeout, String script, String... args) {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "set -euo pipefail\n" + script, "bash"));
        cmd.addAll(List.of(args));
        return run(timeout, null, cmd);
    }

    /** python3 in {@code cwd}; args in sys.argv[1:]. */
    static Result py(Path cwd, String script, String... args) {
        return py(QUICK, cwd, script, args);
    }

    static Result py(Duration timeout, Path cwd, String script, String... args) {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", UMASK_PY, script));
        cmd.addAll(List.of(args));
        return run(timeout, cwd, cmd);
    }

    /** python3 as the user nobody (runuser), in {@code cwd}. */
    static Result pyAsNobody(Path cwd, String script, String... args) {
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "nobody", "--", "bash", "-c", UMASK_PY, script));
        cmd.addAll(List.of(args));
        return run(QUICK, cwd, cmd);
    }

    /** Runs python3 -c $0 with the remaining arguments, under umask 022. */
    private static final String UMASK_PY = "umask 022; exec python3 -c \"$0\" \"$@\"";

    /** Python prelude: {@code err(f)} runs f and returns the errno name it failed with, or "ok". */
    static final String PY_ERR = """
            import os, errno, sys, ctypes, stat
            def err(f):
                try:
                    f()
                    return 'ok'
                except OSError as e:
                    return errno.errorcode[e.errno]
            """;
}
