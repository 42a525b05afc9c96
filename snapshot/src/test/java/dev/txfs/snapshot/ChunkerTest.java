package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

final class ChunkerTest {
    private static final int MIB = 1024 * 1024;
    private static final long[] SEEDS = {1L, 2L, 3L, 0x5eedL, 20240601L};

    @Test
    void standard_usesFormatParameters() {
        Chunker c = Chunker.standard();
        assertEquals(Chunker.MIN_SIZE, c.minSize());
        assertEquals(Chunker.MAX_SIZE, c.maxSize());
        assertEquals(Chunker.AVG_SIZE, c.avgSize());
        assertEquals(1, Integer.bitCount(Chunker.AVG_SIZE));
    }

    @Test
    void cut_standardBoundaries_neverChange() {
        // Pinned store format: if this fails, every file's chunk ids have changed.
        int[] lengths = cuts(Chunker.standard(), random(42L, 2 * MIB));
        int[] pinned = {
            41485, 71391, 92257, 84972, 73741, 64287, 77221, 128211, 66902, 118475, 72713, 71698, 72852, 89919, 72732,
            66094, 76920, 66987, 98793, 128737, 67322, 67312, 70847, 84441, 80685, 65835, 24323
        };
        assertArrayEquals(pinned, lengths, Arrays.toString(lengths));
    }

    @Test
    void cut_whenSameInput_returnsSameCuts() {
        byte[] data = random(7L, 4 * MIB);
        Chunker c = Chunker.standard();
        assertArrayEquals(cuts(c, data), cuts(c, data.clone()));
        assertArrayEquals(cuts(c, data), cuts(new Chunker(c.minSize(), c.avgSize(), c.maxSize()), data));
    }

    @Test
    void cut_whenBufferOffsetInLargerArray_returnsSameCuts() {
        byte[] data = random(8L, 4 * MIB);
        Chunker c = Chunker.standard();
        int[] expected = cuts(c, data);
        for (int pad : new int[] {1, 7, 4096, 100_003}) {
            byte[] larger = random(pad, pad + data.length + pad);
            System.arraycopy(data, 0, larger, pad, data.length);
            assertArrayEquals(expected, cuts(c, larger, pad, data.length), "padding " + pad);
        }
    }

    @Test
    void cut_everyChunkExceptLast_isWithinMinAndMax() {
        for (Chunker c : new Chunker[] {Chunker.standard(), new Chunker(256, 1024, 4096)}) {
            for (long seed : SEEDS) {
                int[] lengths = cuts(c, random(seed, 3 * MIB + 12345));
                for (int i = 0; i < lengths.length - 1; i++) {
                    int n = lengths[i];
                    assertTrue(n >= c.minSize() && n <= c.maxSize(), "seed " + seed + " chunk " + i + ": " + n);
                }
                int last = lengths[lengths.length - 1];
                assertTrue(last >= 1 && last <= c.maxSize(), "seed " + seed + " last chunk: " + last);
            }
        }
    }

    @Test
    void cut_whenInputEmpty_returnsZero() {
        assertEquals(0, Chunker.standard().cut(new byte[0], 0, 0));
        assertEquals(0, Chunker.standard().cut(new byte[10], 10, 0));
        assertEquals(0, cuts(Chunker.standard(), new byte[0]).length);
    }

    @Test
    void cut_whenInputNotLongerThanMin_returnsWholeInput() {
        Chunker c = Chunker.standard();
        byte[] data = random(9L, c.minSize() + 10);
        assertEquals(1, c.cut(data, 5, 1));
        assertEquals(1000, c.cut(data, 3, 1000));
        assertEquals(c.minSize(), c.cut(data, 10, c.minSize()));
    }

    @Test
    void cut_whenDataEndsBeforeMax_returnsAtMostRest() {
        Chunker c = Chunker.standard();
        byte[] zeros = new byte[c.maxSize() - 1];
        assertEquals(zeros.length, c.cut(zeros, 0, zeros.length));
    }

    @Test
    void cut_whenNoCutPointInConstantData_returnsMaxSize() {
        Chunker c = Chunker.standard();
        byte[] zeros = new byte[3 * c.maxSize()];
        assertArrayEquals(new int[] {c.maxSize(), c.maxSize(), c.maxSize()}, cuts(c, zeros));
    }

    @Test
    void cut_whenRangeOutsideBuffer_throws() {
        Chunker c = Chunker.standard();
        assertThrows(IndexOutOfBoundsException.class, () -> c.cut(new byte[10], 5, 6));
        assertThrows(IndexOutOfBoundsException.class, () -> c.cut(new byte[10], -1, 2));
    }

    @Test
    void constructor_whenAvgNotPowerOfTwoOrSizesUnordered_throws() {
        assertThrows(IllegalArgumentException.class, () -> new Chunker(1000, 3000, 9000));
        assertThrows(IllegalArgumentException.class, () -> new Chunker(4096, 4096, 9000));
        assertThrows(IllegalArgumentException.class, () -> new Chunker(1024, 4096, 4096));
        assertThrows(IllegalArgumentException.class, () -> new Chunker(0, 4096, 8192));
    }

    @Test
    void cut_whenOneByteInsertedAtStart_storesAtMostTwoNewChunks() {
        for (long seed : SEEDS) {
            byte[] old = random(seed, 10 * MIB);
            byte[] edited = new byte[old.length + 1];
            edited[0] = (byte) seed;
            System.arraycopy(old, 0, edited, 1, old.length);
            assertAtMostTwoNewChunks(seed, old, edited);
        }
    }

    @Test
    void cut_whenOneByteDeletedInMiddle_storesAtMostTwoNewChunks() {
        for (long seed : SEEDS) {
            byte[] old = random(seed, 10 * MIB);
            int at = old.length / 2 + (int) seed % 1000;
            byte[] edited = new byte[old.length - 1];
            System.arraycopy(old, 0, edited, 0, at);
            System.arraycopy(old, at + 1, edited, at, old.length - at - 1);
            assertAtMostTwoNewChunks(seed, old, edited);
        }
    }

    @Test
    void cut_whenFourBytesOverwrittenInMiddle_storesAtMostTwoNewChunks() {
        for (long seed : SEEDS) {
            byte[] old = random(seed, 10 * MIB);
            byte[] edited = old.clone();
            int at = old.length / 2 + (int) seed % 1000;
            for (int i = 0; i < 4; i++) {
                edited[at + i] = (byte) ~old[at + i];
            }
            assertAtMostTwoNewChunks(seed, old, edited);
        }
    }

    @Test
    void cut_whenFedFromStreamWithRefillingBuffer_matchesWholeArray() throws IOException {
        for (Chunker c : new Chunker[] {Chunker.standard(), new Chunker(256, 1024, 4096)}) {
            for (long seed : SEEDS) {
                byte[] data = random(seed, 5 * MIB + (int) seed);
                int[] expected = cuts(c, data);
                assertArrayEquals(expected, cutsFromStream(c, new ByteArrayInputStream(data)), "seed " + seed);
                InputStream dribbling = new ShortReads(new ByteArrayInputStream(data), new Random(seed));
                assertArrayEquals(expected, cutsFromStream(c, dribbling), "short reads, seed " + seed);
            }
        }
    }

    @Test
    void cut_onRandomData_averageChunkSizeWithinQuarterOfNominal() {
        for (Chunker c : new Chunker[] {Chunker.standard(), new Chunker(2048, 8192, 32768)}) {
            for (long seed : SEEDS) {
                int[] lengths = cuts(c, random(seed, 32 * MIB));
                double mean = (double) 32 * MIB / lengths.length;
                assertTrue(
                        Math.abs(mean - c.avgSize()) <= 0.25 * c.avgSize(),
                        "seed " + seed + ": mean " + mean + " vs nominal " + c.avgSize());
            }
        }
    }

    /** Chunk lengths of data fed as production code does: a 2*max buffer refilled to hold max bytes until EOF. */
    static int[] cutsFromStream(Chunker c, InputStream in) throws IOException {
        byte[] buf = new byte[2 * c.maxSize()];
        int start = 0;
        int limit = 0;
        boolean eof = false;
        int[] lengths = new int[16];
        int count = 0;
        while (true) {
            while (!eof && limit - start < c.maxSize()) {
                if (limit == buf.length) {
                    System.arraycopy(buf, start, buf, 0, limit - start);
                    limit -= start;
                    start = 0;
                }
                int n = in.read(buf, limit, buf.length - limit);
                if (n < 0) {
                    eof = true;
                } else {
                    limit += n;
                }
            }
            if (start == limit) {
                return Arrays.copyOf(lengths, count);
            }
            int n = c.cut(buf, start, limit - start);
            if (count == lengths.length) {
                lengths = Arrays.copyOf(lengths, 2 * count);
            }
            lengths[count++] = n;
            start += n;
        }
    }

    static int[] cuts(Chunker c, byte[] data) {
        return cuts(c, data, 0, data.length);
    }

    static int[] cuts(Chunker c, byte[] buf, int off, int len) {
        int[] lengths = new int[16];
        int count = 0;
        for (int pos = off, end = off + len; pos < end; ) {
            int n = c.cut(buf, pos, end - pos);
            if (count == lengths.length) {
                lengths = Arrays.copyOf(lengths, 2 * count);
            }
            lengths[count++] = n;
            pos += n;
        }
        return Arrays.copyOf(lengths, count);
    }

    static byte[] random(long seed, int size) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void assertAtMostTwoNewChunks(long seed, byte[] old, byte[] edited) {
        Chunker c = Chunker.standard();
        Set<ByteBuffer> known = new HashSet<>();
        int pos = 0;
        for (int n : cuts(c, old)) {
            known.add(sha256(old, pos, n));
            pos += n;
        }
        int fresh = 0;
        pos = 0;
        for (int n : cuts(c, edited)) {
            if (!known.contains(sha256(edited, pos, n))) {
                fresh++;
            }
            pos += n;
        }
        assertTrue(fresh >= 1 && fresh <= 2, "seed " + seed + ": " + fresh + " new chunks");
    }

    private static ByteBuffer sha256(byte[] buf, int off, int len) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(buf, off, len);
            return ByteBuffer.wrap(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Returns at most a random 1..5000 bytes per read, like a socket or a FUSE write stream. */
    private static final class ShortReads extends FilterInputStream {
        private final Random random;

        ShortReads(InputStream in, Random random) {
            super(in);
            this.random = random;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return super.read(b, off, Math.min(len, 1 + random.nextInt(5000)));
        }
    }
}
