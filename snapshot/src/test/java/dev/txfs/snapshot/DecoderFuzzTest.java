package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded mutations of valid encodings of every object type: decoding must succeed or throw
 * {@link MalformedObjectException}: no other exception, no OutOfMemoryError, no hang.
 *
 * <p>Reproduce a failure with {@code -Dtxfs.fuzz.seed=<seed>} (the failure message prints it); the
 * default seeds are fixed so every run checks the same inputs.
 */
final class DecoderFuzzTest {
    static final int MUTATIONS = 20_000;
    private static final long BASE_SEED = Long.getLong("txfs.fuzz.seed", 0x7478_6673_f022L);
    private static final long[] BIG_VARINTS = {
        Integer.MAX_VALUE, 1L << 31, 1L << 32, 1L << 62, Long.MAX_VALUE, -1L, 0x7fff_ffff_ffffL, 4097, 1 << 20
    };

    /** Decodes by the type in the header, as the store's readers do. */
    static Object decodeAny(byte[] raw) {
        return switch (ObjectType.of(raw)) {
            case CHUNK -> Chunks.decode(raw);
            case BLOB -> Blob.decode(raw);
            case TREE -> TreeCodec.decodeNode(raw);
            case SNAPSHOT -> Snapshot.decode(raw);
            case ROOT -> Root.decode(raw);
        };
    }

    /** The canonical bytes of what {@link #decodeAny} returned. */
    static byte[] encodeAny(Object decoded) {
        if (decoded instanceof byte[] chunk) {
            return Chunks.encode(chunk, 0, chunk.length);
        } else if (decoded instanceof Blob b) {
            return b.encode();
        } else if (decoded instanceof TreeNode n) {
            return ObjectCodecTest.reencodeNode(n);
        } else if (decoded instanceof Snapshot s) {
            return s.encode();
        } else if (decoded instanceof Root r) {
            return r.encode();
        }
        throw new AssertionError(decoded);
    }

    static Stream<Arguments> samples() {
        List<Arguments> out = new ArrayList<>();
        int i = 0;
        for (Map.Entry<String, byte[]> e : SampleObjects.encodings().entrySet()) {
            out.add(Arguments.of(e.getKey(), e.getValue(), BASE_SEED + 1000L * i++));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("samples")
    void decode_whenBytesAreMutated_succeedsOrThrowsMalformedOnly(String type, byte[] valid, long seed) {
        decodeAny(valid); // the sample itself is valid
        List<String> failures = new ArrayList<>();
        assertTimeoutPreemptively(
                Duration.ofSeconds(30),
                () -> {
                    Random r = new Random(seed);
                    for (int i = 0; i < MUTATIONS && failures.size() < 5; i++) {
                        byte[] m = mutate(valid, r);
                        try {
                            decodeAny(m);
                        } catch (MalformedObjectException expected) {
                            // the one allowed failure
                        } catch (Throwable t) {
                            failures.add("mutation " + i + ": " + t + " at " + where(t) + " on " + hex(m));
                        }
                    }
                },
                () -> type + ": decoding hung; seed " + seed);
        if (!failures.isEmpty()) {
            fail(type + ": seed " + seed + " (rerun with -Dtxfs.fuzz.seed=" + BASE_SEED
                    + "), other exceptions than MalformedObjectException:\n" + String.join("\n", failures));
        }
    }

    /**
     * Decoders accept only canonical bytes: when a mutated input decodes, re-encoding what it decoded
     * gives the very same bytes, so one state never has two ids.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("samples")
    void decode_whenAMutationIsAccepted_itIsTheCanonicalEncoding(String type, byte[] valid, long seed) {
        List<String> failures = new ArrayList<>();
        int accepted = 0;
        Random r = new Random(seed);
        for (int i = 0; i < MUTATIONS && failures.size() < 3; i++) {
            byte[] m = mutate(valid, r);
            Object decoded;
            try {
                decoded = decodeAny(m);
            } catch (MalformedObjectException e) {
                continue;
            }
            accepted++;
            byte[] again = encodeAny(decoded);
            if (!Arrays.equals(m, again)) {
                failures.add("mutation " + i + ": accepted " + hex(m) + "\n    re-encodes as " + hex(again));
            }
        }
        if (!failures.isEmpty()) {
            fail(type + ": seed " + seed + ", " + failures.size() + "+ of " + accepted
                    + " accepted mutations are not canonical:\n" + String.join("\n", failures));
        }
    }

    /** One to three mutations of the kinds a damaged disk or a hostile stream produces. */
    static byte[] mutate(byte[] in, Random r) {
        byte[] b = in;
        int n = 1 + r.nextInt(3);
        for (int k = 0; k < n; k++) {
            b = mutateOnce(b, r);
        }
        return b;
    }

    private static byte[] mutateOnce(byte[] b, Random r) {
        if (b.length == 0) {
            return new byte[] {(byte) r.nextInt(256)};
        }
        int p = r.nextInt(b.length);
        switch (r.nextInt(9)) {
            case 0 -> { // flip one bit
                b = b.clone();
                b[p] ^= (byte) (1 << r.nextInt(8));
            }
            case 1 -> { // a random byte
                b = b.clone();
                b[p] = (byte) r.nextInt(256);
            }
            case 2 -> { // an interesting byte
                b = b.clone();
                int[] v = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x81, 0x40};
                b[p] = (byte) v[r.nextInt(v.length)];
            }
            case 3 -> b = Arrays.copyOf(b, p); // truncate
            case 4 -> { // insert random bytes
                byte[] ins = new byte[1 + r.nextInt(16)];
                r.nextBytes(ins);
                b = splice(b, p, 0, ins);
            }
            case 5 -> b = splice(b, p, 1 + r.nextInt(Math.min(64, b.length - p)), new byte[0]); // delete
            case 6 -> { // inflate a length or count: replace one byte by a huge varint
                b = splice(b, p, 1, varint(BIG_VARINTS[r.nextInt(BIG_VARINTS.length)]));
            }
            case 7 -> { // duplicate a range elsewhere
                int len = 1 + r.nextInt(Math.min(48, b.length - p));
                byte[] seg = Arrays.copyOfRange(b, p, p + len);
                b = splice(b, r.nextInt(b.length + 1), 0, seg);
            }
            default -> { // pad a small byte into a two-byte varint of the same value
                if ((b[p] & 0x80) == 0) {
                    b = splice(b, p, 1, new byte[] {(byte) (b[p] | 0x80), 0});
                } else {
                    b = b.clone();
                    b[p] &= 0x7f;
                }
            }
        }
        return b;
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    private static byte[] varint(long v) {
        byte[] out = new byte[10];
        int n = 0;
        while ((v & ~0x7fL) != 0) {
            out[n++] = (byte) ((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out[n++] = (byte) v;
        return Arrays.copyOf(out, n);
    }

    private static String where(Throwable t) {
        StackTraceElement[] st = t.getStackTrace();
        return st.length == 0 ? "?" : st[0].toString();
    }

    private static String hex(byte[] b) {
        String h = HexFormat.of().formatHex(b, 0, Math.min(b.length, 160));
        return b.length > 160 ? h + "...(" + b.length + " bytes)" : h;
    }
}
