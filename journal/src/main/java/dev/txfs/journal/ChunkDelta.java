package dev.txfs.journal;

import dev.txfs.journal.DeltaReader.DeltaException;
import dev.txfs.journal.DeltaReader.Problem;
import java.io.ByteArrayOutputStream;

/**
 * A chunk as copy and insert operations against the chunks its file held before (the delta
 * record of a {@link DeltaStream}, version 2). The operations, one after another until the end:
 *
 * <pre>
 * insert := 00 length:varint bytes[length]        the next length bytes of the chunk, as given
 * copy   := 01 offset:varint length:varint        the base's bytes [offset, offset + length)
 * </pre>
 *
 * <p>varint is unsigned LEB128 of at most 5 bytes (a u32). The base is the concatenation of the
 * base objects' canonical bytes; the result is the chunk's canonical bytes and must be exactly
 * its length. A length of 0, a copy outside the base, output past the length, or operations that
 * end early are malformed.
 *
 * <p>The encoder (like git's): the base is indexed by a hash of every {@value #W}-byte block at a
 * multiple of {@value #W}; the target is scanned with a rolling hash of the same width, and each
 * match is extended both ways before it becomes a copy.
 */
final class ChunkDelta {
    static final int W = 16;
    private static final long P = 0x100000001b3L;
    private static final long PW = pow(P, W - 1);

    private ChunkDelta() {}

    /** The operations that rebuild {@code target} from {@code base}. */
    static byte[] encode(byte[] base, byte[] target) {
        int blocks = base.length / W;
        int size = Integer.highestOneBit(Math.max(16, blocks * 2 - 1)) << 1;
        int mask = size - 1;
        int[] table = new int[size]; // block start + 1, 0 for none
        for (int b = 0; b < blocks; b++) {
            table[(int) mix(hash(base, b * W)) & mask] = b * W + 1;
        }
        Ops ops = new Ops();
        int n = target.length;
        int literal = 0;
        int i = 0;
        long h = n >= W ? hash(target, 0) : 0;
        while (i + W <= n) {
            int c = table[(int) mix(h) & mask] - 1;
            if (c >= 0 && same(base, c, target, i, W)) {
                int len = W;
                while (c + len < base.length && i + len < n && base[c + len] == target[i + len]) {
                    len++;
                }
                while (c > 0 && i > literal && base[c - 1] == target[i - 1]) {
                    c--;
                    i--;
                    len++;
                }
                ops.insert(target, literal, i - literal);
                ops.copy(c, len);
                i += len;
                literal = i;
                if (i + W <= n) {
                    h = hash(target, i);
                }
                continue;
            }
            if (i + W < n) {
                h = (h - (target[i] & 0xff) * PW) * P + (target[i + W] & 0xff);
            }
            i++;
        }
        ops.insert(target, literal, n - literal);
        return ops.out.toByteArray();
    }

    /** Applies {@code ops} to {@code base}; the result must be exactly {@code length} bytes. */
    static byte[] apply(byte[] base, byte[] ops, int length, String what) {
        byte[] out = new byte[length];
        int o = 0;
        int[] at = {0};
        while (at[0] < ops.length) {
            int op = ops[at[0]++] & 0xff;
            if (op == 0) {
                long len = varint(ops, at, what);
                if (len < 1 || len > length - o || len > ops.length - at[0]) {
                    throw bad(what, "an insert of " + len + " bytes does not fit");
                }
                System.arraycopy(ops, at[0], out, o, (int) len);
                at[0] += (int) len;
                o += (int) len;
            } else if (op == 1) {
                long off = varint(ops, at, what);
                long len = varint(ops, at, what);
                if (len < 1 || off + len > base.length || len > length - o) {
                    throw bad(
                            what,
                            "a copy of " + len + " bytes at " + off + " does not fit (base " + base.length + " bytes, "
                                    + (length - o) + " left to write)");
                }
                System.arraycopy(base, (int) off, out, o, (int) len);
                o += (int) len;
            } else {
                throw bad(what, "unknown operation " + op);
            }
        }
        if (o != length) {
            throw bad(what, "the operations give " + o + " bytes, not " + length);
        }
        return out;
    }

    private static DeltaException bad(String what, String why) {
        return new DeltaException(Problem.MALFORMED, what + ": " + why);
    }

    private static long varint(byte[] b, int[] at, String what) {
        long v = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            if (at[0] >= b.length) {
                throw bad(what, "the operations end inside a number");
            }
            int x = b[at[0]++] & 0xff;
            v |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        throw bad(what, "a number longer than 5 bytes");
    }

    private static long hash(byte[] b, int from) {
        long h = 0;
        for (int k = 0; k < W; k++) {
            h = h * P + (b[from + k] & 0xff);
        }
        return h;
    }

    private static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        return h ^ h >>> 33;
    }

    private static long pow(long b, int e) {
        long r = 1;
        for (int k = 0; k < e; k++) {
            r *= b;
        }
        return r;
    }

    private static boolean same(byte[] a, int ai, byte[] b, int bi, int len) {
        return java.util.Arrays.equals(a, ai, ai + len, b, bi, bi + len);
    }

    private static final class Ops {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void insert(byte[] b, int from, int len) {
            if (len > 0) {
                out.write(0);
                varint(len);
                out.write(b, from, len);
            }
        }

        void copy(int off, int len) {
            out.write(1);
            varint(off);
            varint(len);
        }

        private void varint(long v) {
            while (v >= 0x80) {
                out.write((int) (v & 0x7f) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
