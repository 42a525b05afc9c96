package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.TreeLimits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, finding 6, through a real mount: 20,000 nested mkdir+chdir made every flush throw
 * StackOverflowError, fsync answered EIO to everyone, the 5 s syncer died without a word, {@code
 * txfs umount} exited 0 and everything written since was lost. The audit's recipe (100,000 levels)
 * now ends well: the mkdirs past {@link TreeLimits#MAX_DEPTH} fail with ENAMETOOLONG and change
 * nothing, and everything else keeps working. And a sync that does fail (a full store) is loud:
 * logged, fsync EIO, umount refused, until a sync succeeds.
 */
class DeepTreeMountTest extends LiveMountBase {
    private static final Duration LONG = Duration.ofMinutes(10);

    /** The number of files in the tree the live ref names now, as {@code txfs show live} counts them. */
    private static long liveFiles(Path s) {
        String json =
                txfs("--store", s.toString(), "show", "live", "--json").ok().out();
        Matcher m = Pattern.compile("\"files\":(\\d+)").matcher(json);
        assertTrue(m.find(), json);
        return Long.parseLong(m.group(1));
    }

    /** Everything the daemons of store {@code s} logged. */
    private static String daemonLog(Path s) throws Exception {
        StringBuilder log = new StringBuilder();
        try (var logs = Files.list(s.resolve("logs"))) {
            for (Path f : logs.toList()) {
                log.append(Files.readString(f));
            }
        }
        return log.toString();
    }

    @Test
    void hundredThousandNestedMkdirs_pastTheLimitFailCleanly_andSyncFsyncAndUmountKeepWorking() throws Exception {
        Path d = dir("deep"); // depth 1: the chain below it can take MAX_DEPTH - 1 levels
        dir("open");
        bash(QUICK, "chmod 1777 \"$1\"", mp.resolve("open").toString()).ok();
        Files.createDirectories(mp.resolve("top/a/b/c"));
        long t0 = System.nanoTime();
        Result r = py(LONG, d, PY_ERR + """
                n = int(sys.argv[1])
                made = 0
                errs = {}
                for i in range(n):
                    e = err(lambda: os.mkdir('d'))
                    if e != 'ok':
                        errs[e] = errs.get(e, 0) + 1
                        continue
                    os.chdir('d')
                    made += 1
                os.chdir('..')
                here = os.open('.', os.O_RDONLY)
                top = os.open(sys.argv[2], os.O_RDONLY)
                # a subtree moved to where the names below it would pass the limit
                moved = err(lambda: os.rename('a', 'a', src_dir_fd=top, dst_dir_fd=here))
                with open('bottom', 'w') as f:
                    f.write('written at the bottom\\n')
                    f.flush()
                    os.fsync(f.fileno())
                print(made, moved, ' '.join('%s=%d' % kv for kv in sorted(errs.items())))
                """, "100000", mp.resolve("top").toString());
        System.out.printf("deep chain: 100,000 mkdir+chdir in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        int made = TreeLimits.MAX_DEPTH - 1;
        assertEquals(
                made + " ENAMETOOLONG ENAMETOOLONG=" + (100_000 - made),
                r.ok().out().strip(),
                r.describe());

        // fsync works for everyone
        assertEquals(
                "ok", pyAsNobody(mp.resolve("open"), PY_ERR + """
                        def write():
                            with open('by-nobody', 'w') as f:
                                f.write('x')
                                f.flush()
                                os.fsync(f.fileno())
                        print(err(write))
                        """).ok().out().strip());
        // the background syncer still runs: a file nobody fsyncs reaches the live ref
        long before = liveFiles(store);
        Files.writeString(mp.resolve("open/not-fsynced"), "synced in the background\n");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (liveFiles(store) == before && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertEquals(before + 1, liveFiles(store), "the background sync wrote the new file");

        txfs("umount", mp.toString()).ok();
        assertFalse(isMounted());
        mount();
        String bottom = "deep/" + "d/".repeat(made - 1) + "bottom";
        assertEquals("written at the bottom\n", Files.readString(mp.resolve(bottom)));
        assertEquals("synced in the background\n", Files.readString(mp.resolve("open/not-fsynced")));
        assertTrue(Files.isDirectory(mp.resolve("top/a/b/c")), "the refused rename changed nothing");
        // verify runs in @AfterAll, with the daemon's log checked for warnings
    }

    /**
     * A store too full to sync: the daemon logs the failure with its cause and retries; fsync
     * answers EIO and {@code txfs umount} fails in one line, keeping the mount, until a sync
     * succeeds (the file that filled the store is deleted); then everything is there.
     */
    @Test
    void syncFailure_isLoggedRetriedAndFailsFsyncAndUmountUntilASyncSucceeds() throws Exception {
        Path w = tempDir("txfs-syncfail");
        Path s = w.resolve("store");
        Path m = Files.createDirectory(w.resolve("mnt"));
        try {
            txfs("--store", s.toString(), "init", "--map-size", "96M").ok();
            txfs("--store", s.toString(), "mount", m.toString()).ok();
            Files.writeString(m.resolve("kept"), "written before the store filled\n");
            Result fill = py(LONG, m, PY_ERR + """
                    def fill():
                        with open('big', 'wb') as f:
                            while True:
                                f.write(os.urandom(1 << 20))
                    print(err(fill))
                    def small():
                        with open('small', 'w') as f:
                            f.write('x')
                            f.flush()
                            os.fsync(f.fileno())
                    print(err(small))
                    """);
            assertEquals(List.of("ENOSPC", "EIO"), fill.out().lines().toList(), fill.describe());

            Result umount = txfs("--store", s.toString(), "umount", m.toString());
            assertNotEquals(0, umount.exit(), umount.describe());
            List<String> lines = umount.stderr().lines().toList();
            assertEquals(1, lines.size(), umount.describe());
            assertTrue(lines.get(0).contains("sync of the live tree failed"), lines.get(0));
            assertTrue(Files.exists(m.resolve("kept")), "still mounted and serving");
            // the background sync fails too, and says so with the cause
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!daemonLog(s).contains("background sync failed (attempt 1") && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            String failed = daemonLog(s);
            assertTrue(
                    failed.contains("background sync failed (attempt 1") && failed.contains("StoreFullException"),
                    "the daemon said why its sync failed:\n" + failed);

            bashIn(m, "rm -f big").ok();
            assertEquals("ok", py(m, PY_ERR + """
                            def again():
                                with open('again', 'w') as f:
                                    f.write('the store takes syncs again\\n')
                                    f.flush()
                                    os.fsync(f.fileno())
                            print(err(again))
                            """).ok().out().strip());
            txfs("--store", s.toString(), "umount", m.toString()).ok();
            assertEquals(0, txfs("--store", s.toString(), "verify").exit());
            txfs("--store", s.toString(), "mount", m.toString()).ok();
            assertEquals("written before the store filled\n", Files.readString(m.resolve("kept")));
            assertEquals("the store takes syncs again\n", Files.readString(m.resolve("again")));
        } finally {
            if (txfs("--store", s.toString(), "umount", m.toString()).exit() != 0) {
                bash(Duration.ofSeconds(30), "umount -l \"$1\" 2>/dev/null || true", m.toString());
            }
            removeTree(w);
        }
    }
}
