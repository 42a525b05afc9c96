package dev.txfs.journal;

import dev.txfs.snapshot.Chunker;
import dev.txfs.snapshot.Chunks;
import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectType;
import dev.txfs.snapshot.SignedStatement;
import dev.txfs.snapshot.TxfsException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/**
 * The portable stream of a {@link Delta} ({@code txfs export} writes it, {@code txfs import}
 * reads it through {@link DeltaReader}). All integers are big-endian, ids are 32 raw bytes.
 *
 * <pre>
 * stream    := header record* end [signature | statement]         and then the end of the file
 * header    := magic:"TXFSDELT" (54 58 46 53 44 45 4c 54)  version:u8 (1, 2 or 3)
 *              flags:u8 (bit 0: a base follows; other bits 0)  [from:id32]  to:id32
 * record    := object | packed | delta                (version 1: object only; 2 and 3: all)
 * object    := 01 type:u8 id:id32 length:u32 bytes[length]
 *              bytes are the object's canonical encoding (its first byte is type again);
 *              id = SHA-256(bytes); 2 &lt;= length &lt;= MAX_OBJECT
 * packed    := 04 type:u8 id:id32 length:u32 zlength:u32 zbytes[zlength]    (versions 2, 3)
 *              zbytes is raw DEFLATE (RFC 1951, no zlib header or checksum) that inflates to
 *              exactly the length bytes of the object, ending exactly at the end of zbytes;
 *              2 &lt;= length &lt;= MAX_OBJECT, 1 &lt;= zlength &lt;= length,
 *              length &lt;= zlength * MAX_RATIO; id = SHA-256 of the inflated bytes
 * delta     := 05 type:u8 = 1 (chunk) or 2 (blob) id:id32 length:u32 nbase:u8 base:id32[nbase]
 *              oplength:u32 zlength:u32 zbytes[zlength]                      (versions 2, 3)
 *              the object as {@link ChunkDelta} operations against the concatenated canonical
 *              bytes of the base objects (of its type, each at most MAX_DELTA_TARGET bytes),
 *              which must be in the receiving store (the writer takes them from the base
 *              snapshot); zbytes is raw DEFLATE of the oplength bytes of
 *              operations, as for packed; 2 &lt;= length &lt;= MAX_DELTA_TARGET,
 *              1 &lt;= nbase &lt;= MAX_BASES, 1 &lt;= zlength &lt;= MAX_OBJECT,
 *              1 &lt;= oplength &lt;= min(MAX_OBJECT, zlength * MAX_RATIO)
 * end       := 02 count:u64 digest:32
 *              count = number of object, packed and delta records; digest = SHA-256 of every byte of
 *              the stream as it is (compressed) from the first byte of the magic through count
 * signature := 03 key:id32 sig:64                                  (versions 1 and 2 only)
 *              key = SHA-256 of the signer's 32-byte Ed25519 public key; sig = Ed25519 signature
 *              of "txfs-delta-signature-v1\0" followed by the 32 digest bytes
 * statement := 06 length:u16 statement[length] key:id32 sig:64       (version 3 only)
 *              statement = a {@link SignedStatement} of purpose DELTA (its layout is documented
 *              there): ref name, target snapshot (= to), version, signing and expiry times, and
 *              content = the digest above; 91 &lt;= length &lt;= SignedStatement.MAX_LENGTH;
 *              sig = Ed25519 signature of {@link SignedStatement#message()}
 * </pre>
 *
 * <p>The objects are those of {@link Delta#objects}, each once, referrers before what they
 * reference (a reader does not depend on the order). Nothing in the stream is trusted before it
 * is checked: every length is checked against the limits below and against the bytes left
 * before anything is allocated, every object is re-hashed, the digest covers the header so a
 * signature also binds the base and target, and the signature is not part of the digest (it
 * signs it). A stream ends right after its end record, signature or statement; anything more is
 * an error.
 *
 * <p>Version 3 replaced the signature record by the statement record: a version-2 signature
 * binds only the digest (so the base and target), and a signed stream could be replayed onto any
 * ref, or to move a ref back to an older snapshot. A statement also binds the ref it may move and a
 * version, which the importer compares with the last version it accepted for that ref. A reader
 * that trusts keys refuses a version 1 or 2 signature; the writer signs only as version 3, and
 * writes version 2 (or 1) when it does not sign, so unsigned streams stay readable by older txfs.
 *
 * <p>Version 2 added the packed and delta records. The writer sends a new chunk or Blob that has
 * objects of its type in the base snapshot near its slot ({@link Delta#bases}) as a delta record
 * when that is smallest, packs other objects when DEFLATE at the chosen level saves bytes, and stores them
 * as object records otherwise (random data does not shrink).
 * At level 0 it writes version 1 (unless it signs), which txfs builds before version 2 read.
 * Readers accept all three versions.
 */
public final class DeltaStream {
    static final byte[] MAGIC = "TXFSDELT".getBytes(StandardCharsets.US_ASCII);
    /** The version written when objects are packed; {@link #VERSION_1} has object records only. */
    static final int VERSION = 2;
    /** The version of a signed stream: {@link #VERSION} with a statement record instead of a signature. */
    static final int VERSION_SIGNED = 3;

    static final int VERSION_1 = 1;
    static final int FLAG_BASE = 1;
    static final int TAG_OBJECT = 1;
    static final int TAG_END = 2;
    static final int TAG_SIGNATURE = 3;
    static final int TAG_PACKED = 4;
    static final int TAG_DELTA = 5;
    static final int TAG_STATEMENT = 6;
    /** The largest object (and base) of a delta record: a chunk, or a Blob of up to ~7,000 chunks. */
    static final int MAX_DELTA_TARGET = Chunker.MAX_SIZE + Chunks.DATA_OFFSET;
    /** The most base chunks of one delta record. */
    static final int MAX_BASES = 8;
    /** The most an object may inflate per compressed byte (DEFLATE cannot do better than ~1032). */
    static final int MAX_RATIO = 1100;
    /** The level {@code txfs export} uses unless told otherwise (measured in docs/BENCHMARKS.md). */
    public static final int DEFAULT_LEVEL = 6;
    /** The largest object accepted: chunks are at most 256 KiB, tree nodes far less. */
    public static final int MAX_OBJECT = 16 << 20;
    /** The most objects one stream may hold (the reader keeps their ids in memory). */
    public static final long MAX_OBJECTS = 20_000_000L;

    private static final byte[] SIGNATURE_DOMAIN = "txfs-delta-signature-v1\0".getBytes(StandardCharsets.US_ASCII);

    private DeltaStream() {}

    /** What a written stream holds: objects (of which chunks), the stream's bytes and digest. */
    public record Written(long objects, long chunks, long bytes, ObjectId digest) {}

    /**
     * What to sign a stream with: the key, and what the {@link SignedStatement} says besides the
     * stream's digest and target.
     */
    public record Signer(Ed25519.Secret key, String ref, long version, long signedAt, long expiresAt) {
        public Signer {
            // the same checks the statement makes, before any byte is written
            SignedStatement.forDelta(
                    ref, ObjectId.fromBytes(new byte[ObjectId.LENGTH], 0), version, signedAt, expiresAt, null);
        }

        SignedStatement statement(ObjectId to, ObjectId digest) {
            return SignedStatement.forDelta(ref, to, version, signedAt, expiresAt, digest);
        }
    }

    /** Writes {@code delta} from {@code store} at {@link #DEFAULT_LEVEL}, signed when {@code signer} is not null. */
    public static Written write(ObjectStore store, Delta delta, OutputStream sink, Signer signer) throws IOException {
        return write(store, delta, sink, signer, DEFAULT_LEVEL);
    }

    /**
     * Writes {@code delta} from {@code store}, packing objects with DEFLATE at {@code level} (1 to
     * 9; 0 packs nothing and, unsigned, writes a version-1 stream), signed when {@code signer} is
     * not null (a version-3 stream).
     */
    public static Written write(ObjectStore store, Delta delta, OutputStream sink, Signer signer, int level)
            throws IOException {
        if (level < 0 || level > 9) {
            throw new IllegalArgumentException("compression level " + level + " is not in 0..9");
        }
        Deflater deflater = level == 0 ? null : new Deflater(level, true);
        try {
            return write(store, delta, sink, signer, deflater);
        } finally {
            if (deflater != null) {
                deflater.end();
            }
        }
    }

    private static Written write(ObjectStore store, Delta delta, OutputStream sink, Signer signer, Deflater deflater)
            throws IOException {
        MessageDigest md = sha256();
        CountingOutputStream counting = new CountingOutputStream(sink);
        DataOutputStream out = new DataOutputStream(new DigestOutputStream(counting, md));
        out.write(MAGIC);
        out.writeByte(signer != null ? VERSION_SIGNED : deflater == null ? VERSION_1 : VERSION);
        out.writeByte(delta.from() == null ? 0 : FLAG_BASE);
        if (delta.from() != null) {
            out.write(delta.from().toBytes());
        }
        out.write(delta.to().toBytes());
        long count = 0;
        long chunks = 0;
        byte[][] buffer = {new byte[1 << 16]};
        for (ObjectId id : delta.objects()) {
            byte[] raw = store.get(id);
            if (raw.length > MAX_OBJECT) {
                throw new StreamException(id + " is " + raw.length + " bytes, over the stream's limit");
            }
            int packed = deflater == null ? -1 : deflate(deflater, raw, buffer);
            if (deflater != null
                    && writeDelta(store, delta, id, raw, packed < 0 ? raw.length : packed + 4, deflater, out)) {
                count++;
                chunks += ObjectType.of(raw) == ObjectType.CHUNK ? 1 : 0;
                continue;
            }
            out.writeByte(packed < 0 ? TAG_OBJECT : TAG_PACKED);
            out.writeByte(raw[0]);
            out.write(id.toBytes());
            out.writeInt(raw.length);
            if (packed < 0) {
                out.write(raw);
            } else {
                out.writeInt(packed);
                out.write(buffer[0], 0, packed);
            }
            count++;
            if (ObjectType.of(raw) == ObjectType.CHUNK) {
                chunks++;
            }
        }
        out.writeByte(TAG_END);
        out.writeLong(count);
        out.flush();
        byte[] digest = md.digest();
        DataOutputStream tail = new DataOutputStream(counting);
        tail.write(digest);
        if (signer != null) {
            SignedStatement statement = signer.statement(delta.to(), ObjectId.fromBytes(digest, 0));
            byte[] body = statement.encode();
            tail.writeByte(TAG_STATEMENT);
            tail.writeShort(body.length);
            tail.write(body);
            tail.write(signer.key().publicKey().id().toBytes());
            tail.write(statement.sign(signer.key()));
        }
        tail.flush();
        return new Written(count, chunks, counting.count, ObjectId.fromBytes(digest, 0));
    }

    /**
     * Writes chunk {@code raw} as a delta record against the base chunks {@code delta} names for
     * it, if that takes fewer bytes than {@code otherwise} (the payload of the other record kinds).
     */
    private static boolean writeDelta(
            ObjectStore store,
            Delta delta,
            ObjectId id,
            byte[] raw,
            int otherwise,
            Deflater deflater,
            DataOutputStream out)
            throws IOException {
        List<ObjectId> hints = delta.bases().get(id);
        ObjectType type = ObjectType.of(raw);
        if (hints == null || raw.length > MAX_DELTA_TARGET || type != ObjectType.CHUNK && type != ObjectType.BLOB) {
            return false;
        }
        List<ObjectId> bases = new ArrayList<>();
        ByteArrayOutputStream base = new ByteArrayOutputStream();
        for (ObjectId b : hints) {
            byte[] bytes = store.get(b);
            if (ObjectType.of(bytes) == type && bytes.length <= MAX_DELTA_TARGET && bases.size() < MAX_BASES) {
                bases.add(b);
                base.write(bytes);
            }
        }
        if (bases.isEmpty()) {
            return false;
        }
        byte[] ops = ChunkDelta.encode(base.toByteArray(), raw);
        byte[] z = deflateAll(deflater, ops);
        int zlength = z.length;
        if (1 + 32 * bases.size() + 8 + zlength >= otherwise) {
            return false;
        }
        out.writeByte(TAG_DELTA);
        out.writeByte(raw[0]);
        out.write(id.toBytes());
        out.writeInt(raw.length);
        out.writeByte(bases.size());
        for (ObjectId b : bases) {
            out.write(b.toBytes());
        }
        out.writeInt(ops.length);
        out.writeInt(zlength);
        out.write(z);
        return true;
    }

    /** Raw DEFLATE of all of {@code b}, however long it comes out. */
    private static byte[] deflateAll(Deflater deflater, byte[] b) {
        deflater.reset();
        deflater.setInput(b);
        deflater.finish();
        ByteArrayOutputStream z = new ByteArrayOutputStream(b.length / 2 + 64);
        byte[] buf = new byte[1 << 14];
        while (!deflater.finished()) {
            z.write(buf, 0, deflater.deflate(buf));
        }
        return z.toByteArray();
    }

    /**
     * DEFLATEs {@code raw} into {@code buffer[0]} (grown as needed); returns the compressed length,
     * or -1 when packing would not make the record smaller (it has 4 more header bytes).
     */
    private static int deflate(Deflater deflater, byte[] raw, byte[][] buffer) {
        deflater.reset();
        deflater.setInput(raw);
        deflater.finish();
        int limit = raw.length - 5; // worth it only below this
        if (limit < 1) {
            return -1;
        }
        if (buffer[0].length < limit) {
            buffer[0] = new byte[Math.max(limit, buffer[0].length * 2)];
        }
        int n = 0;
        while (!deflater.finished()) {
            n += deflater.deflate(buffer[0], n, limit - n);
            if (n >= limit) {
                return -1;
            }
        }
        return n;
    }

    /** The message a version 1 or 2 signature signs (read only: such signatures are no longer written). */
    static byte[] signedMessage(byte[] digest) {
        byte[] m = new byte[SIGNATURE_DOMAIN.length + digest.length];
        System.arraycopy(SIGNATURE_DOMAIN, 0, m, 0, SIGNATURE_DOMAIN.length);
        System.arraycopy(digest, 0, m, SIGNATURE_DOMAIN.length, digest.length);
        return m;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** A delta that cannot be written. */
    public static final class StreamException extends TxfsException {
        StreamException(String message) {
            super(message);
        }
    }

    private static final class CountingOutputStream extends java.io.FilterOutputStream {
        long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }
}
