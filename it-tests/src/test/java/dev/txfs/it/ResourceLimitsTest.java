package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Resource limits through a real mount (issue 7): a full store, many open files, a directory with
 * very many entries, a very large file, and a transaction with very many changes. Each test prints
 * what it cost the daemon in memory (VmHWM, the peak resident set, and VmRSS after) so that
 * docs/RELIABILITY.md can record it. CI runs small sizes; the sizes of the issue are one property
 * each:
 *
 * <pre>
 *   -Dtxfs.limits.entries=100000     entries in one directory (CI: 10,000)
 *   -Dtxfs.limits.openFiles=10000    files open at once (CI: 4,000)
 *   -Dtxfs.limits.fileMiB=20480      one file of pseudo-random data (CI: 256)
 *   -Dtxfs.limits.txnChanges=1000000 files created in one transaction (CI: 5,000)
 * </pre>
 */
class ResourceLimitsTest extends TransactionItBase {
    private static final Duration LONG = Duration.ofMinutes(60);

    private static long prop(String name, long ci) {
        return Long.getLong("txfs.limits." + name, ci);
    }

    /**
     * The daemon's memory: its resident set (peak, now, and now split into anonymous memory, the
     * heap and the JVM's own, and file pages, mostly LMDB's map of the store, which the kernel can
     * drop), then the heap in use after a full collection.
     */
    private static String memory() throws Exception {
        List<Long> pids = daemonPids();
        assertEquals(1, pids.size(), "one daemon");
        Map<String, Long> kb = new java.util.HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pids.get(0) + "/status"))) {
            String[] f = line.split(":\\s+");
            if (f.length == 2 && f[1].endsWith(" kB")) {
                kb.put(f[0], Long.parseLong(f[1].replace(" kB", "").strip()));
            }
        }
        long hwm = kb.getOrDefault("VmHWM", 0L) / 1024;
        long rss = kb.getOrDefault("VmRSS", 0L) / 1024;
        long anon = kb.getOrDefault("RssAnon", 0L) / 1024;
        long file = kb.getOrDefault("RssFile", 0L) / 1024;
        // what the daemon's data costs: the heap in use after a full collection
        run(QUICK, null, List.of("jcmd", Long.toString(pids.get(0)), "GC.run"));
        String info = run(QUICK, null, List.of("jcmd", Long.toString(pids.get(0)), "GC.heap_info"))
                .out();
        java.util.regex.Matcher used =
                java.util.regex.Pattern.compile("used (\\d+)K").matcher(info);
        String heap = used.find() ? Long.parseLong(used.group(1)) / 1024 + " MiB" : "?";
        return "daemon RSS peak " + hwm + " MiB, now " + rss + " MiB (anonymous " + anon + ", file pages " + file
                + "), heap in use after GC " + heap;
    }

    private static void report(String what, long startNs) throws Exception {
        System.out.printf("resource limits: %s: %.1f s; %s%n", what, (System.nanoTime() - startNs) / 1e9, memory());
    }

    private interface OwnStore {
        void run(Path work, Path store, Path mnt) throws Exception;
    }

    /**
     * {@code body} with a store and a mount point of its own in a temporary directory; whatever
     * happens, the mount goes (txfs umount, else umount -l) and the directory with it.
     */
    private static void withOwnStore(String prefix, OwnStore body) throws Exception {
        Path w = tempDir(prefix);
        Path small = w.resolve("store");
        Path m = Files.createDirectory(w.resolve("mnt"));
        try {
            body.run(w, small, m);
        } finally {
            if (txfs("--store", small.toString(), "umount", m.toString()).exit() != 0) {
                bash(Duration.ofSeconds(30), "umount -l \"$1\" 2>/dev/null || true", m.toString());
            }
            removeTree(w);
        }
    }

    @Test
    void storeFull_theWriterGetsEnospc_andNothingCommittedIsLost() throws Exception {
        withOwnStore("txfs-full", (w, small, m) -> {
            txfs("--store", small.toString(), "init", "--map-size", "96M").ok();
            txfs("--store", small.toString(), "mount", m.toString()).ok();
            Files.writeString(m.resolve("kept"), "committed before the store filled\n");
            String snap = bashIn(m, "\"$1\" snapshot -m 'before full'", TXFS.toString())
                    .ok()
                    .out()
                    .strip();
            Result fill = py(LONG, m, PY_ERR + """
                    def fill():
                        with open('big', 'wb') as f:
                            while True:
                                f.write(os.urandom(1 << 20))
                    print(err(fill))
                    """);
            assertEquals("ENOSPC", fill.out().strip(), fill.describe());
            assertEquals(
                    "committed before the store filled\n",
                    Files.readString(m.resolve("kept")),
                    "the mount still serves what it had");
            // removing the file makes room for the live tree again (its chunks wait for gc)
            bashIn(m, "rm -f big").ok();
            Files.writeString(m.resolve("again"), "the store takes writes again\n");
            assertEquals("the store takes writes again\n", Files.readString(m.resolve("again")));
            txfs("--store", small.toString(), "umount", m.toString()).ok();
            Result v = txfs("--store", small.toString(), "verify");
            assertEquals(0, v.exit(), "verify after a full store: " + v.describe());
            assertTrue(txfs("--store", small.toString(), "gc").ok().out().startsWith("freed "));
            txfs("--store", small.toString(), "checkout", snap, w.resolve("out").toString())
                    .ok();
            assertEquals(
                    "committed before the store filled\n",
                    Files.readString(w.resolve("out/kept")),
                    "the snapshot committed before is intact");
            txfs("--store", small.toString(), "mount", m.toString()).ok();
            assertEquals("the store takes writes again\n", Files.readString(m.resolve("again")), "synced");
        });
    }

    /**
     * A transaction that outgrows the daemon's heap: with a small heap, creating files in it ends
     * in ENOSPC (the heap guard) instead of an OutOfMemoryError that would end the daemon and drop
     * the transaction; the same daemon then commits everything created before the refusal.
     */
    @Test
    void transactionOutgrowingTheHeap_getsEnospc_andCommitsWhatItHas() throws Exception {
        withOwnStore("txfs-heap", (w, small, m) -> {
            txfs("--store", small.toString(), "init").ok();
            run(
                            QUICK,
                            null,
                            List.of(
                                    "env",
                                    "TXFS_DAEMON_HEAP=" + prop("guardHeapMiB", 192) + "m",
                                    TXFS.toString(),
                                    "--store",
                                    small.toString(),
                                    "mount",
                                    m.toString()))
                    .ok();
            List<Long> daemon = daemonPids(m);
            assertEquals(1, daemon.size(), "one daemon serves the mount: " + daemon);
            long t0 = System.nanoTime();
            Result r = bash(LONG, """
                    cd "$2"
                    "$1" begin >/dev/null
                    python3 -c 'import os, errno
                    for i in range(10_000_000):
                        try:
                            if i % 1000 == 0:
                                os.mkdir("d%d" % (i // 1000))
                            with open("d%d/f%d" % (i // 1000, i % 1000), "w") as f:
                                f.write("x")
                        except OSError as e:
                            print(errno.errorcode[e.errno], i)
                            break'
                    "$1" commit -m "what fitted" >/dev/null && echo committed
                    touch after-commit && echo created
                    """, TXFS.toString(), m.toString());
            System.out.printf(
                    "resource limits: heap guard: %s in %.1f s%n",
                    r.out().lines().findFirst().orElse(""), (System.nanoTime() - t0) / 1e9);
            List<String> out = r.ok().out().lines().toList();
            assertEquals(3, out.size(), r.describe());
            String[] refused = out.get(0).split(" ");
            assertEquals("ENOSPC", refused[0], "the create past the heap limit: " + r.describe());
            long made = Long.parseLong(refused[1]);
            assertTrue(made > 1000, "files created before the heap filled: " + made);
            assertEquals(List.of("committed", "created"), out.subList(1, 3), r.describe());
            assertEquals(daemon, daemonPids(m), "the same daemon serves the mount");
            assertEquals(
                    Long.toString(made),
                    bashIn(m, "find . -name 'f*' -type f | wc -l").ok().out().strip(),
                    "every file created before the refusal was committed");
            txfs("--store", small.toString(), "umount", m.toString()).ok();
            assertEquals(0, txfs("--store", small.toString(), "verify").exit());
            StringBuilder log = new StringBuilder();
            try (var logs = Files.list(small.resolve("logs"))) {
                for (Path f : logs.toList()) {
                    log.append(Files.readString(f));
                }
            }
            assertTrue(log.indexOf("heap nearly full") >= 0, "the daemon said why it refused:\n" + log);
            assertTrue(log.indexOf("OutOfMemoryError") < 0, log.toString());
        });
    }

    @Test
    void manyOpenFiles_allReadBackWhileOpen() throws Exception {
        long n = prop("openFiles", 4000);
        Path d = dir("open-files");
        long t0 = System.nanoTime();
        Result r = py(LONG, d, PY_ERR + """
                import resource
                n = int(sys.argv[1])
                resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
                fds = [os.open('f%d' % i, os.O_CREAT | os.O_RDWR, 0o644) for i in range(n)]
                for i, fd in enumerate(fds):
                    os.write(fd, b'file %d' % i)
                bad = [i for i, fd in enumerate(fds) if os.pread(fd, 64, 0) != b'file %d' % i]
                for fd in fds:
                    os.close(fd)
                print(len(bad), len(os.listdir('.')))
                """, Long.toString(n));
        assertEquals("0 " + n, r.ok().out().strip(), r.describe());
        report(n + " files open at once", t0);
    }

    @Test
    void hugeDirectory_listsStatsAndSnapshots() throws Exception {
        long n = prop("entries", 10_000);
        Path d = dir("huge-dir");
        long t0 = System.nanoTime();
        py(LONG, d, """
                import os, sys
                for i in range(int(sys.argv[1])):
                    os.close(os.open('e%07d' % i, os.O_CREAT | os.O_WRONLY, 0o644))
                """, Long.toString(n)).ok();
        report(n + " entries created in one directory", t0);
        t0 = System.nanoTime();
        Result r = bashIn(d, "ls -f | wc -l; stat -c %s e0000007; ls e$(printf %07d $(( $1 - 1 )))", Long.toString(n));
        assertEquals((n + 2) + "\n0\ne" + String.format("%07d", n - 1) + "\n", r.ok().out());
        report("listed and looked up", t0);
        t0 = System.nanoTime();
        String snap = snapshotIn(d, "huge dir");
        report("snapshot of it", t0);
        assertEquals(
                Long.toString(n + 2),
                bashIn(mp, "ls -f .txfs/snapshots/$1/huge-dir | wc -l", snap.substring(0, 12))
                        .ok()
                        .out()
                        .strip(),
                "the snapshot has every entry");
        bash(LONG, "rm -rf \"$1\"", d.toString()).ok();
    }

    @Test
    void bigFile_writtenAndReadBackWhole() throws Exception {
        long mib = prop("fileMiB", 256);
        Path d = dir("big-file");
        long t0 = System.nanoTime();
        // random data (no dedup helps), written and hashed in one pass, read back and hashed again
        Result r = py(LONG, d, """
                import os, sys, hashlib
                n = int(sys.argv[1])
                h = hashlib.sha256()
                seed = os.urandom(1 << 20)
                with open('big', 'wb') as f:
                    for i in range(n):
                        block = hashlib.sha256(seed + i.to_bytes(8, 'little')).digest() * 32768
                        h.update(block)
                        f.write(block)
                    f.flush()
                    os.fsync(f.fileno())
                g = hashlib.sha256()
                with open('big', 'rb') as f:
                    while True:
                        b = f.read(1 << 20)
                        if not b:
                            break
                        g.update(b)
                print(h.hexdigest() == g.hexdigest(), os.stat('big').st_size)
                """, Long.toString(mib));
        assertEquals("True " + (mib << 20), r.ok().out().strip(), r.describe());
        report(mib + " MiB file written, fsync'ed and read back", t0);
        bashIn(d, "rm -f big").ok();
    }

    @Test
    void transactionWithVeryManyChanges_commits() throws Exception {
        long n = prop("txnChanges", 5_000);
        Path d = dir("txn-many");
        Path w = tempDir("txfs-many");
        try {
            long t0 = System.nanoTime();
            Process p = shell(w, """
                    cd "$M/txn-many"
                    "$T" begin >/dev/null
                    python3 -c 'import os, sys
                    n = int(sys.argv[1])
                    for i in range(n):
                        d = "d%%04d" %% (i // 1000)
                        if i %% 1000 == 0:
                            os.mkdir(d)
                        with open(d + "/f%%04d" %% (i %% 1000), "w") as f:
                            f.write("x")' %d
                    touch "$W/written"
                    "$T" commit --json
                    """.formatted(n));
            long deadline = System.nanoTime() + LONG.toNanos();
            while (!Files.exists(w.resolve("written")) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            await(w.resolve("written"), p);
            report(n + " files written in a transaction", t0);
            t0 = System.nanoTime();
            assertTrue(p.waitFor(LONG.toSeconds(), java.util.concurrent.TimeUnit.SECONDS), "commit finished");
            String json = finish(p, w);
            report("committed", t0);
            assertTrue(json.contains("\"changes\":"), json);
            assertEquals(
                    Long.toString(n),
                    bashIn(d, "find . -type f | wc -l").ok().out().strip(),
                    "all of it is in the live tree after commit");
        } finally {
            removeTree(w);
            bash(LONG, "rm -rf \"$1\"", mp.resolve("txn-many").toString()).ok();
        }
    }
}
