package dev.txfs.snapshot;

/**
 * Cuts file content into content-defined chunks (FastCDC with normalized chunking).
 *
 * <p>The rolling hash is the Gear hash {@code h = (h << 1) + GEAR[b]}. The 256-entry {@code GEAR} table is the output
 * of SplitMix64 seeded with {@link #GEAR_SEED} (the ASCII bytes {@code "txfsCDC!"}), one value per entry in order.
 * Hashing starts at {@code h = 0} at offset {@code minSize} of a chunk (the bytes before it are skipped), and the chunk
 * ends after the first byte at which {@code (h & mask) == 0}, where {@code mask} is the top {@code log2(avgSize) + 2}
 * bits of the hash at offsets below {@code avgSize} and the top {@code log2(avgSize) - 2} bits from there on
 * (normalization level 2); a chunk never exceeds {@code maxSize}. The table, the seed, the masks and the
 * {@link #standard()} sizes are part of the store format: changing any of them changes every file's chunk ids.
 */
public final class Chunker {
    public static final int MIN_SIZE = 16 * 1024;
    public static final int AVG_SIZE = 64 * 1024;
    public static final int MAX_SIZE = 256 * 1024;

    /** SplitMix64 seed of the gear table: {@code "txfsCDC!"} in ASCII. */
    static final long GEAR_SEED = 0x7478667343444321L;

    private static final long[] GEAR = new long[256];

    static {
        long state = GEAR_SEED;
        for (int i = 0; i < GEAR.length; i++) {
            long z = (state += 0x9E3779B97F4A7C15L);
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            GEAR[i] = z ^ (z >>> 31);
        }
    }

    private static final Chunker STANDARD = new Chunker(MIN_SIZE, AVG_SIZE, MAX_SIZE);

    private final int minSize;
    private final int avgSize;
    private final int maxSize;
    private final long maskSmall;
    private final long maskLarge;

    Chunker(int minSize, int avgSize, int maxSize) {
        if (Integer.bitCount(avgSize) != 1 || avgSize < 64) {
            throw new IllegalArgumentException("avgSize must be a power of two >= 64: " + avgSize);
        }
        if (minSize < 1 || minSize >= avgSize || maxSize <= avgSize) {
            throw new IllegalArgumentException(
                    "need 1 <= min < avg < max, got " + minSize + "/" + avgSize + "/" + maxSize);
        }
        this.minSize = minSize;
        this.avgSize = avgSize;
        this.maxSize = maxSize;
        int bits = Integer.numberOfTrailingZeros(avgSize);
        this.maskSmall = -1L << (64 - (bits + 2));
        this.maskLarge = -1L << (64 - (bits - 2));
    }

    /** The chunker of the store format; its boundaries never change. */
    public static Chunker standard() {
        return STANDARD;
    }

    public int minSize() {
        return minSize;
    }

    public int maxSize() {
        return maxSize;
    }

    int avgSize() {
        return avgSize;
    }

    /**
     * Length of the next chunk of buf[off, off+len). The caller passes len >= maxSize() unless the data ends at
     * off+len (then the whole rest may be returned as the last chunk). Returns a value in [1, len]; returns len when
     * len <= minSize().
     */
    public int cut(byte[] buf, int off, int len) {
        if (off < 0 || len < 0 || len > buf.length - off) {
            throw new IndexOutOfBoundsException("off " + off + ", len " + len + ", buffer " + buf.length);
        }
        if (len <= minSize) {
            return len;
        }
        final long[] gear = GEAR;
        final long maskS = maskSmall;
        final long maskL = maskLarge;
        final int end = off + Math.min(len, maxSize);
        final int normal = Math.min(end, off + avgSize);
        long h = 0;
        int i = off + minSize;
        for (; i < normal; i++) {
            h = (h << 1) + gear[buf[i] & 0xff];
            if ((h & maskS) == 0) {
                return i + 1 - off;
            }
        }
        for (; i < end; i++) {
            h = (h << 1) + gear[buf[i] & 0xff];
            if ((h & maskL) == 0) {
                return i + 1 - off;
            }
        }
        return end - off;
    }
}
