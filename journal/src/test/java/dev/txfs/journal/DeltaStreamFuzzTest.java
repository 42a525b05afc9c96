package dev.txfs.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.txfs.journal.DeltaReader.DeltaException;
import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Verifier;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A bounded property-based mutation run of the stream reader: streams from the corpus in
 * src/test/resources/delta-corpus are flipped, overwritten, cut, spliced and, structure-aware,
 * re-sealed with a correct digest after an object was changed (so the object decoders and the
 * path, reference and reachability checks are reached, not only the digest). Every case must end
 * in a {@link DeltaException} with the store unchanged, or in an import after which the store
 * verifies clean; never another exception, never a case slower than 2 s. The corpus holds
 * version-2 streams (with packed and delta records), one version-1 stream, a signed version-3
 * stream (a signed statement) and a version-2 stream with the old signature (kept as written by
 * txfs before version 3, not rewritten with the corpus: the writer no longer makes them).
 *
 * <p>CI runs {@code txfs.fuzz.cases} (default 2000) cases from seed {@code txfs.fuzz.seed}
 * (default 1). A long run: {@code mvn -o -pl journal test -Dtest=DeltaStreamFuzzTest
 * -Dtxfs.fuzz.cases=1000000 -Dtxfs.fuzz.seed=$RANDOM}. To rewrite the corpus after a format change:
 * {@code -Dtxfs.fuzz.writeCorpus=journal/src/test/resources/delta-corpus}.
 */
final class DeltaStreamFuzzTest {
    /**
     * Version 2 (packed records) full and delta, the delta signed (version 3), the delta as version
     * 1, and the delta with a version-2 signature.
     */
    private static final String[] CORPUS = {
        "full-base.txfsdelta",
        "base-next.txfsdelta",
        "base-next-signed.txfsdelta",
        "base-next-v1.txfsdelta",
        "base-next-signed-v2.txfsdelta"
    };

    private static final int SIGNED = 2;
    private static final int SIGNED_V2 = 4;

    private static InMemoryObjectStore source;
    private static ObjectId base;
    private static ObjectId next;
    private static final List<byte[]> seeds = new ArrayList<>();
    /** The public key of the signed seed: a third of the cases with that seed require its signature. */
    private static final String SIGNER = "base-next-signed.pub";
    /** The key of the version-2 signature. */
    private static final String SIGNER_V2 = "base-next-signed-v2.pub";

    private static Ed25519.Public signer;
    private static Ed25519.Public signerV2;

    @BeforeAll
    static void corpus() throws Exception {
        source = new InMemoryObjectStore();
        base = DeltaFixture.base(source);
        next = DeltaFixture.next(source, base);
        String write = System.getProperty("txfs.fuzz.writeCorpus");
        if (write != null) {
            Ed25519.Secret key = Ed25519.generate();
            Path dir = Path.of(write);
            Files.write(dir.resolve(CORPUS[0]), DeltaFixture.stream(source, null, base, null));
            Files.write(dir.resolve(CORPUS[1]), DeltaFixture.stream(source, base, next, null));
            Files.write(dir.resolve(CORPUS[2]), DeltaFixture.stream(source, base, next, key));
            Files.write(dir.resolve(CORPUS[3]), DeltaFixture.stream(source, base, next, null, 0));
            Files.deleteIfExists(dir.resolve(SIGNER));
            Ed25519.writePublic(key.publicKey(), dir.resolve(SIGNER), "signs " + CORPUS[2]);
        }
        Path corpus = write != null
                ? Path.of(write)
                : Path.of(DeltaStreamFuzzTest.class
                                .getResource("/delta-corpus/" + SIGNER)
                                .toURI())
                        .getParent();
        signer = Ed25519.readPublic(corpus.resolve(SIGNER));
        Path v2 = write != null
                ? Path.of(DeltaStreamFuzzTest.class
                                .getResource("/delta-corpus/" + SIGNER_V2)
                                .toURI())
                        .getParent()
                : corpus;
        signerV2 = Ed25519.readPublic(v2.resolve(SIGNER_V2));
        for (String name : CORPUS) {
            seeds.add(Files.readAllBytes((name.equals(CORPUS[SIGNED_V2]) ? v2 : corpus).resolve(name)));
        }
    }

    /** A store where the corpus streams apply: the base only, for the full stream nothing. */
    private static InMemoryObjectStore freshTarget(boolean withBase) {
        return withBase ? DeltaFixture.copyOf(source, base) : new InMemoryObjectStore();
    }

    @Test
    void corpus_unmutated_importsAndGivesTheFixtureSnapshots() throws Exception {
        for (int i = 0; i < seeds.size(); i++) {
            InMemoryObjectStore target = freshTarget(i > 0);
            if (i == SIGNED_V2) {
                byte[] old = seeds.get(i);
                DeltaException e = assertThrows(
                        DeltaException.class,
                        () -> DeltaReader.check(DeltaReader.Source.of(old), target, List.of(signerV2)));
                assertEquals(DeltaReader.Problem.UNSIGNED, e.problem(), e.getMessage());
            }
            DeltaReader.Checked c = DeltaReader.check(
                    DeltaReader.Source.of(seeds.get(i)), target, i == SIGNED ? List.of(signer) : List.of());
            assertEquals(i == SIGNED, c.signatureVerified());
            assertEquals(i == SIGNED, c.statement() != null);
            c.apply(target, "imports/x", null);
            assertEquals(i == 0 ? base : next, c.to(), CORPUS[i] + " no longer matches DeltaFixture");
            assertTrue(Verifier.verify(target, n -> {}).clean());
        }
    }

    @Test
    void mutatedStreams_endInACleanErrorOrACorrectImport() throws Exception {
        int cases = Integer.getInteger("txfs.fuzz.cases", 2000);
        long seed = Long.getLong("txfs.fuzz.seed", 1);
        Random rnd = new Random(seed);
        int imported = 0;
        java.util.Map<DeltaReader.Problem, Integer> seen = new java.util.EnumMap<>(DeltaReader.Problem.class);
        long start = System.nanoTime();
        for (int n = 0; n < cases; n++) {
            int which = rnd.nextInt(seeds.size());
            byte[] stream = rnd.nextInt(3) == 0 ? reseal(seeds.get(which), rnd) : mutate(seeds.get(which), rnd);
            InMemoryObjectStore target = freshTarget(which > 0 || rnd.nextInt(8) == 0);
            List<Ed25519.Public> trust = rnd.nextInt(3) != 0
                    ? List.of()
                    : which == SIGNED ? List.of(signer) : which == SIGNED_V2 ? List.of(signerV2) : List.of();
            DeltaFixture.State before = DeltaFixture.state(target);
            long t0 = System.nanoTime();
            try {
                DeltaReader.Checked c = DeltaReader.check(DeltaReader.Source.of(stream), target, trust);
                c.apply(target, "imports/x", null);
                Verifier.Report r = Verifier.verify(target, x -> {});
                if (!r.clean()) {
                    fail("case " + n + " (seed " + seed + "): imported a stream that leaves damage: " + r.problems());
                }
                DeltaFixture.reachable(target, c.to());
                imported++;
            } catch (DeltaException e) {
                seen.merge(e.problem(), 1, Integer::sum);
                assertEquals(before, DeltaFixture.state(target), "case " + n + ": rejected but store changed");
            } catch (Throwable t) {
                throw new AssertionError("case " + n + " (seed " + seed + "): " + t, t);
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 2000, "case " + n + " took " + ms + " ms");
        }
        System.out.printf(
                "delta fuzz: %d cases in %d ms, %d imported, rejected: %s%n",
                cases, (System.nanoTime() - start) / 1_000_000, imported, seen);
    }

    /** Byte-level mutations, biased towards record boundaries and the ends of the stream. */
    private static byte[] mutate(byte[] s, Random rnd) {
        byte[] b = s.clone();
        int edits = 1 + rnd.nextInt(3);
        for (int i = 0; i < edits && b.length > 0; i++) {
            int at = position(b.length, rnd);
            switch (rnd.nextInt(6)) {
                case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[at] = (byte) rnd.nextInt(256);
                case 2 -> b = java.util.Arrays.copyOf(b, at); // truncate
                case 3 -> { // delete a range
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(64));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 4 -> { // insert random bytes
                    byte[] ins = new byte[1 + rnd.nextInt(16)];
                    rnd.nextBytes(ins);
                    byte[] c = new byte[b.length + ins.length];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(ins, 0, c, at, ins.length);
                    System.arraycopy(b, at, c, at + ins.length, b.length - at);
                    b = c;
                }
                default -> { // a big length where a length may be
                    if (at + 4 <= b.length) {
                        ByteBuffer.wrap(b).putInt(at, rnd.nextBoolean() ? -1 : rnd.nextInt(1 << 25));
                    }
                }
            }
        }
        return b;
    }

    private static void inflate(byte[] z, byte[] out) {
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(z);
            inflater.inflate(out);
        } catch (java.util.zip.DataFormatException e) {
            throw new IllegalStateException("corpus stream does not inflate", e);
        } finally {
            inflater.end();
        }
    }

    /** Raw DEFLATE of {@code o}, as the writer packs (even where it would not shrink). */
    private static byte[] deflate(byte[] o) {
        Deflater d = new Deflater(DeltaStream.DEFAULT_LEVEL, true);
        try {
            d.setInput(o);
            d.finish();
            ByteArrayOutputStream z = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (!d.finished()) {
                z.write(buf, 0, d.deflate(buf));
            }
            return z.toByteArray();
        } finally {
            d.end();
        }
    }

    private static int position(int length, Random rnd) {
        return switch (rnd.nextInt(3)) {
            case 0 -> rnd.nextInt(Math.min(length, 200));
            case 1 -> Math.max(0, length - 1 - rnd.nextInt(Math.min(length, 140)));
            default -> rnd.nextInt(length);
        };
    }

    /**
     * Structure-aware: decodes the records, changes one object's bytes (a byte flipped, cut or
     * set, keeping its id honest), drops, duplicates or swaps records, and writes the stream again
     * with a correct count and digest (and no signature), so that the checks behind the digest run.
     * In a version-2 stream each object is written packed or stored at random (delta records are
     * written back whole, as packed or stored records; byte-level mutations reach them as they are).
     */
    private static byte[] reseal(byte[] s, Random rnd) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(s);
        byte[] header = new byte[10];
        in.get(header);
        int ids = (header[9] & 1) != 0 ? 2 : 1;
        byte[] headerIds = new byte[32 * ids];
        in.get(headerIds);
        List<byte[]> objects = new ArrayList<>();
        for (int tag = in.get(); tag != DeltaStream.TAG_END; tag = in.get()) {
            in.get();
            in.position(in.position() + 32);
            byte[] raw = new byte[in.getInt()];
            if (tag == DeltaStream.TAG_OBJECT) {
                in.get(raw);
            } else if (tag == DeltaStream.TAG_PACKED) {
                byte[] z = new byte[in.getInt()];
                in.get(z);
                inflate(z, raw);
            } else { // a delta record: its bases are in the fixture's store
                ByteArrayOutputStream base = new ByteArrayOutputStream();
                for (int k = in.get(); k > 0; k--) {
                    byte[] id = new byte[32];
                    in.get(id);
                    base.write(source.get(ObjectId.fromBytes(id, 0)));
                }
                byte[] ops = new byte[in.getInt()];
                byte[] z = new byte[in.getInt()];
                in.get(z);
                inflate(z, ops);
                raw = ChunkDelta.apply(base.toByteArray(), ops, raw.length, "corpus");
            }
            objects.add(raw);
        }
        if (!objects.isEmpty()) {
            int i = rnd.nextInt(objects.size());
            byte[] o = objects.get(i);
            switch (rnd.nextInt(5)) {
                case 0 -> o[rnd.nextInt(o.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 ->
                    o[Math.min(o.length - 1, 2 + rnd.nextInt(Math.max(1, Math.min(o.length - 2, 64))))] =
                            (byte) rnd.nextInt(256);
                case 2 -> objects.set(i, java.util.Arrays.copyOf(o, Math.max(2, rnd.nextInt(o.length))));
                case 3 -> objects.remove(i);
                default -> objects.add(rnd.nextInt(objects.size() + 1), o.clone());
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(header);
        out.write(headerIds);
        boolean packing = header[8] >= DeltaStream.VERSION;
        for (byte[] o : objects) {
            byte[] z = packing && rnd.nextBoolean() ? deflate(o) : null;
            if (z != null && z.length > o.length) {
                z = null; // the reader rejects a packed record longer than its object
            }
            out.writeByte(z == null ? DeltaStream.TAG_OBJECT : DeltaStream.TAG_PACKED);
            out.writeByte(o[0]);
            out.write(ObjectId.hash(o).toBytes());
            out.writeInt(o.length);
            if (z == null) {
                out.write(o);
            } else {
                out.writeInt(z.length);
                out.write(z);
            }
        }
        out.writeByte(DeltaStream.TAG_END);
        out.writeLong(objects.size());
        out.flush();
        try {
            out.write(MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return bytes.toByteArray();
    }
}
