package dev.txfs.journal;

import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectType;
import dev.txfs.snapshot.TxfsException;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The portable stream of a {@link Delta} ({@code txfs export} writes it, {@code txfs import}
 * reads it through {@link DeltaReader}). All integers are big-endian, ids are 32 raw bytes.
 *
 * <pre>
 * stream    := header object* end [signature]                     and then the end of the file
 * header    := magic:"TXFSDELT" (54 58 46 53 44 45 4c 54)  version:u8 = 1
 *              flags:u8 (bit 0: a base follows; other bits 0)  [from:id32]  to:id32
 * object    := 01 type:u8 id:id32 length:u32 bytes[length]
 *              bytes are the object's canonical encoding (its first byte is type again);
 *              id = SHA-256(bytes); 2 &lt;= length &lt;= MAX_OBJECT
 * end       := 02 count:u64 digest:32
 *              count = number of object records; digest = SHA-256 of every byte of the stream
 *              from the first byte of the magic through the last byte of count
 * signature := 03 key:id32 sig:64
 *              key = SHA-256 of the signer's 32-byte Ed25519 public key; sig = Ed25519 signature
 *              of "txfs-delta-signature-v1\0" followed by the 32 digest bytes
 * </pre>
 *
 * <p>The objects are those of {@link Delta#objects}, each once, referrers before what they
 * reference (a reader does not depend on the order). Nothing in the stream is trusted before it
 * is checked: every length is checked against the limits below and against the bytes left
 * before anything is allocated, every object is re-hashed, the digest covers the header so a
 * signature also binds the base and target, and the signature is not part of the digest (it
 * signs it). A stream ends right after its end record or signature; anything more is an error.
 */
public final class DeltaStream {
    static final byte[] MAGIC = "TXFSDELT".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int FLAG_BASE = 1;
    static final int TAG_OBJECT = 1;
    static final int TAG_END = 2;
    static final int TAG_SIGNATURE = 3;
    /** The largest object accepted: chunks are at most 256 KiB, tree nodes far less. */
    public static final int MAX_OBJECT = 16 << 20;
    /** The most objects one stream may hold (the reader keeps their ids in memory). */
    public static final long MAX_OBJECTS = 20_000_000L;

    private static final byte[] SIGNATURE_DOMAIN = "txfs-delta-signature-v1\0".getBytes(StandardCharsets.US_ASCII);

    private DeltaStream() {}

    /** What a written stream holds: objects (of which chunks), the stream's bytes and digest. */
    public record Written(long objects, long chunks, long bytes, ObjectId digest) {}

    /** Writes {@code delta} from {@code store}, signed with {@code signer} when not null. */
    public static Written write(ObjectStore store, Delta delta, OutputStream sink, Ed25519.Secret signer)
            throws IOException {
        MessageDigest md = sha256();
        CountingOutputStream counting = new CountingOutputStream(sink);
        DataOutputStream out = new DataOutputStream(new DigestOutputStream(counting, md));
        out.write(MAGIC);
        out.writeByte(VERSION);
        out.writeByte(delta.from() == null ? 0 : FLAG_BASE);
        if (delta.from() != null) {
            out.write(delta.from().toBytes());
        }
        out.write(delta.to().toBytes());
        long count = 0;
        long chunks = 0;
        for (ObjectId id : delta.objects()) {
            byte[] raw = store.get(id);
            if (raw.length > MAX_OBJECT) {
                throw new StreamException(id + " is " + raw.length + " bytes, over the stream's limit");
            }
            out.writeByte(TAG_OBJECT);
            out.writeByte(raw[0]);
            out.write(id.toBytes());
            out.writeInt(raw.length);
            out.write(raw);
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
            tail.writeByte(TAG_SIGNATURE);
            tail.write(signer.publicKey().id().toBytes());
            tail.write(signer.sign(signedMessage(digest)));
        }
        tail.flush();
        return new Written(count, chunks, counting.count, ObjectId.fromBytes(digest, 0));
    }

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
