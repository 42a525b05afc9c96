package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Memory stays bounded when a transaction writes a big file: the mount's daemon runs with a
 * 256 MiB heap ({@code TXFS_DAEMON_HEAP=256m} in the environment of {@code txfs mount}); a shell
 * in a transaction streams non-repeating data ({@code /dev/urandom}) through {@code tee} into a
 * file and {@code sha256sum}, and commits; outside, the file's sha256 matches.
 *
 * <p>The daemon's memory: VmHWM (peak resident set) is printed but cannot be the bound, because
 * it counts the pages of the store's LMDB memory map the daemon touched: page cache, file-backed
 * and reclaimable, growing with the data (measured with 2 GiB: VmHWM 816 MiB after the commit and
 * 2.5 GiB after reading the file back, while anonymous memory peaked at 400 MiB). The bound is
 * on RssAnon, the daemon's own memory (heap, metaspace, code, stacks, direct buffers), sampled
 * every 100 ms through the write, the commit and the read back: below {@link #BOUND_MIB}, that
 * is 256 MiB of heap plus the JVM's non-heap memory (~150 MiB) plus FUSE request buffers, with
 * room to spare, yet far below the file: a daemon that held the transaction's data in memory
 * would exceed it (or stop with -XX:+ExitOnOutOfMemoryError).
 *
 * <p>{@code -Dtxfs.bigWriteGiB=10} runs the 10 GiB version (not in the default run: minutes).
 */
class TransactionBigWriteTest extends TransactionItBase {
    static final long BOUND_MIB = 700;

    @BeforeAll
    static void smallHeap() {
        remountWithEnv(Map.of("TXFS_DAEMON_HEAP", "256m"));
    }

    @Test
    void bigWriteInATransaction_streamsWithBoundedMemory() throws Exception {
        int gib = Integer.getInteger("txfs.bigWriteGiB", 1);
        List<Long> pids = daemonPids();
        assertEquals(1, pids.size(), "one daemon: " + pids);
        long pid = pids.get(0);
        String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
        assertTrue(cmdline.contains("-Xmx256m"), "the daemon got the heap cap: " + cmdline);

        AtomicLong peakAnonKiB = new AtomicLong();
        AtomicLong peakFileKiB = new AtomicLong();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peakAnonKiB.accumulateAndGet(statusKiB(pid, "RssAnon"), Math::max);
                peakFileKiB.accumulateAndGet(statusKiB(pid, "RssFile"), Math::max);
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.setDaemon(true);
        sampler.start();

        dir("big");
        Path w = tempDir("txfs-big");
        try {
            long t0 = System.nanoTime();
            Process p = shell(w, """
                    cd "$M/big"
                    "$T" begin > /dev/null
                    echo "$EPOCHREALTIME" > "$W/start"
                    head -c "$GIB"G /dev/urandom | tee data | sha256sum | cut -d' ' -f1 > "$W/sha"
                    echo "$EPOCHREALTIME" > "$W/written"
                    "$T" commit
                    """.replace("$GIB", Integer.toString(gib)));
            assertTrue(p.waitFor(gib * 5L + 2, TimeUnit.MINUTES), "the shell finished");
            long t1 = System.nanoTime();
            assertEquals(0, p.exitValue(), Files.readString(w.resolve("err")));
            double wroteS = Double.parseDouble(
                            Files.readString(w.resolve("written")).strip())
                    - Double.parseDouble(Files.readString(w.resolve("start")).strip());
            long hwmMiB = statusKiB(pid, "VmHWM") / 1024;

            String sha = sh(
                            "sha256sum < \"$1\" | cut -d' ' -f1",
                            mp.resolve("big/data").toString())
                    .ok()
                    .out()
                    .strip();
            long t2 = System.nanoTime();
            sampler.interrupt();
            sampler.join();
            long anonMiB = peakAnonKiB.get() / 1024;
            System.out.printf(
                    "[big write] %d GiB: written in the transaction in %.1f s, with the commit %.1f s, read back"
                            + " from outside in %.1f s; daemon VmHWM %d MiB after the commit (%d MiB after the"
                            + " read); peak sampled RssAnon %d MiB, RssFile %d MiB%n",
                    gib,
                    wroteS,
                    (t1 - t0) / 1e9,
                    (t2 - t1) / 1e9,
                    hwmMiB,
                    statusKiB(pid, "VmHWM") / 1024,
                    anonMiB,
                    peakFileKiB.get() / 1024);
            assertEquals(Files.readString(w.resolve("sha")).strip(), sha, "the committed file's content");
            assertEquals((long) gib << 30, Files.size(mp.resolve("big/data")));
            assertTrue(anonMiB < BOUND_MIB, "daemon RssAnon " + anonMiB + " MiB < " + BOUND_MIB + " MiB");
        } finally {
            sampler.interrupt();
            removeTree(w);
        }
    }

    /** A "Name:  N kB" line of /proc/PID/status, in KiB (0 once the process is gone). */
    private static long statusKiB(long pid, String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(name + ":")) {
                    return Long.parseLong(
                            line.substring(name.length() + 1).replace("kB", "").strip());
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
