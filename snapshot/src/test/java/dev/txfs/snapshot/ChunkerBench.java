package dev.txfs.snapshot;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * Measures chunker throughput, mean chunk size and edit locality for candidate parameter sets; not a JUnit test.
 *
 * <p>Run from the repository root:
 *
 * <pre>
 * mvn -q -pl snapshot test-compile
 * java -cp snapshot/target/classes:snapshot/target/test-classes dev.txfs.snapshot.ChunkerBench
 * </pre>
 */
final class ChunkerBench {
    private static final int KIB = 1024;
    private static final int MIB = 1024 * KIB;
    private static final int BUFFER = 64 * MIB;
    private static final int PASSES = 8; // 8 x 64 MiB = 512 MiB per measurement
    private static final int ROUNDS = 3;
    private static final int EDIT_SEEDS = 8;
    private static final int[][] SETS = {
        {8 * KIB, 32 * KIB, 128 * KIB}, {16 * KIB, 64 * KIB, 256 * KIB}, {32 * KIB, 128 * KIB, 512 * KIB}
    };

    private static long sink;

    private ChunkerBench() {}

    public static void main(String[] args) throws Exception {
        System.out.printf(
                "java %s, %d cpus, %d MiB x %d passes per measurement, best of %d rounds%n",
                System.getProperty("java.version"),
                Runtime.getRuntime().availableProcessors(),
                BUFFER / MIB,
                PASSES,
                ROUNDS);
        byte[] buf = ChunkerTest.random(0xBE9C4L, BUFFER);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");

        for (int warm = 0; warm < 3; warm++) { // JIT warm-up of every code path measured below
            for (int[] s : SETS) {
                chunkPass(new Chunker(s[0], s[1], s[2]), buf);
                chunkAndHashPass(new Chunker(s[0], s[1], s[2]), buf, sha);
            }
            sha.update(buf);
            sink += sha.digest()[0];
        }

        double shaBest = 0;
        for (int r = 0; r < ROUNDS; r++) {
            long t0 = System.nanoTime();
            for (int p = 0; p < PASSES; p++) {
                sha.update(buf);
                sink += sha.digest()[0];
            }
            shaBest = Math.max(shaBest, mbPerSecond(t0));
        }
        System.out.printf("SHA-256 alone: %.0f MB/s%n", shaBest);

        System.out.println(
                "| min / avg / max | chunk MB/s | chunk+SHA-256 MB/s | mean chunk | new bytes, 1-byte insert at start"
                        + " | new bytes, 4 bytes overwritten mid |");
        System.out.println("|---|---|---|---|---|---|");
        for (int[] s : SETS) {
            Chunker c = new Chunker(s[0], s[1], s[2]);
            double chunkBest = 0;
            double bothBest = 0;
            for (int r = 0; r < ROUNDS; r++) {
                long t0 = System.nanoTime();
                for (int p = 0; p < PASSES; p++) {
                    chunkPass(c, buf);
                }
                chunkBest = Math.max(chunkBest, mbPerSecond(t0));
                t0 = System.nanoTime();
                for (int p = 0; p < PASSES; p++) {
                    chunkAndHashPass(c, buf, sha);
                }
                bothBest = Math.max(bothBest, mbPerSecond(t0));
            }
            long chunks = 0;
            for (int seed = 1; seed <= 4; seed++) { // mean over 256 MiB of fresh random data
                chunks += ChunkerTest.cuts(c, ChunkerTest.random(seed, BUFFER)).length;
            }
            double mean = 4.0 * BUFFER / chunks;
            long[] insert = new long[EDIT_SEEDS];
            long[] overwrite = new long[EDIT_SEEDS];
            for (int seed = 0; seed < EDIT_SEEDS; seed++) {
                byte[] old = ChunkerTest.random(1000 + seed, 10 * MIB);
                byte[] inserted = new byte[old.length + 1];
                System.arraycopy(old, 0, inserted, 1, old.length);
                byte[] overwritten = old.clone();
                for (int i = 0; i < 4; i++) {
                    overwritten[old.length / 2 + i] ^= (byte) 0x5a;
                }
                Set<ByteBuffer> known = chunkIds(c, old);
                insert[seed] = newBytes(c, inserted, known);
                overwrite[seed] = newBytes(c, overwritten, known);
            }
            System.out.printf(
                    "| %dK / %dK / %dK | %.0f | %.0f | %.1f KiB | %s | %s |%n",
                    s[0] / KIB,
                    s[1] / KIB,
                    s[2] / KIB,
                    chunkBest,
                    bothBest,
                    mean / KIB,
                    summary(insert),
                    summary(overwrite));
        }
        System.out.println(
                "(new bytes: mean [min..max] KiB over " + EDIT_SEEDS + " seeds of 10 MiB; sink " + sink + ")");
    }

    private static void chunkPass(Chunker c, byte[] buf) {
        long n = 0;
        for (int pos = 0; pos < buf.length; n++) {
            pos += c.cut(buf, pos, buf.length - pos);
        }
        sink += n;
    }

    private static void chunkAndHashPass(Chunker c, byte[] buf, MessageDigest sha) {
        for (int pos = 0; pos < buf.length; ) {
            int n = c.cut(buf, pos, buf.length - pos);
            sha.update(buf, pos, n);
            sink += sha.digest()[0];
            pos += n;
        }
    }

    private static double mbPerSecond(long startNanos) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        return (double) PASSES * BUFFER / 1e6 / seconds;
    }

    /** SHA-256 ids of data's chunks. */
    private static Set<ByteBuffer> chunkIds(Chunker c, byte[] data) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        Set<ByteBuffer> ids = new HashSet<>();
        int pos = 0;
        for (int n : ChunkerTest.cuts(c, data)) {
            sha.update(data, pos, n);
            ids.add(ByteBuffer.wrap(sha.digest()));
            pos += n;
        }
        return ids;
    }

    /** Bytes in the chunks of data whose SHA-256 is not in known: what storing data would add. */
    private static long newBytes(Chunker c, byte[] data, Set<ByteBuffer> known) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long fresh = 0;
        int pos = 0;
        for (int n : ChunkerTest.cuts(c, data)) {
            sha.update(data, pos, n);
            if (!known.contains(ByteBuffer.wrap(sha.digest()))) {
                fresh += n;
            }
            pos += n;
        }
        return fresh;
    }

    private static String summary(long[] bytes) {
        long[] s = bytes.clone();
        Arrays.sort(s);
        double mean = Arrays.stream(s).average().orElse(0);
        return String.format("%.1f [%.1f..%.1f] KiB", mean / KIB, s[0] / (double) KIB, s[s.length - 1] / (double) KIB);
    }
}
