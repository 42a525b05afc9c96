package dev.txfs.snapshot;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What one Ed25519 signature vouches for: snapshot {@code snapshot} is version {@code version} of
 * the ref (channel) {@code ref}, signed at {@code signedAt}, valid until {@code expiresAt}; for a
 * delta stream also which stream ({@code content}, its digest). A receiver checks the signature,
 * then that the ref it moves is {@code ref} and that {@code version} is newer than the last one it
 * accepted for that ref, so a signed statement cannot be replayed onto another ref or to roll a
 * ref back. Signed delta streams carry one ({@code DeltaStream} version 3); signed ref files can
 * use the same class ({@link Purpose#REF}).
 *
 * <p>Layout of {@link #encode} (big-endian, 91 to 270 bytes):
 *
 * <pre>
 * purpose   u8          1: a delta stream, 2: a ref file; a statement for one is never valid as the other
 * refLength u8          1 &lt;= refLength &lt;= MAX_REF
 * ref       refLength   US-ASCII, a valid ref name ({@link RefStore#NAME})
 * snapshot  id32        the snapshot the ref is to name
 * version   u64         0 &lt;= version &lt; 2^63; a receiver accepts only increasing versions per ref
 * signedAt  u64         seconds since 1970-01-01 UTC when signed (informative)
 * expiresAt u64         seconds since 1970-01-01 UTC after which it is refused; 0: never
 * content   id32        a delta stream: its end digest (which covers its base and target);
 *                       a ref file: 32 zero bytes
 * </pre>
 *
 * The signed message is {@code "txfs-statement-v1\0"} followed by those bytes ({@link #message}).
 * Nothing is outside the signature but the signature itself.
 */
public record SignedStatement(
        Purpose purpose, String ref, ObjectId snapshot, long version, long signedAt, long expiresAt, ObjectId content) {
    /** The longest ref name a statement holds (the store keeps a value per signed ref, keys up to 200 bytes). */
    public static final int MAX_REF = 180;

    public static final int MAX_LENGTH = 1 + 1 + MAX_REF + ObjectId.LENGTH + 3 * 8 + ObjectId.LENGTH;
    private static final byte[] DOMAIN = "txfs-statement-v1\0".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectId NONE = ObjectId.fromBytes(new byte[ObjectId.LENGTH], 0);

    /** What a statement is about; the byte values are part of the layout. */
    public enum Purpose {
        DELTA(1),
        REF(2);

        final int code;

        Purpose(int code) {
            this.code = code;
        }
    }

    public SignedStatement {
        Objects.requireNonNull(purpose, "purpose");
        Objects.requireNonNull(snapshot, "snapshot");
        if (ref == null || ref.length() > MAX_REF || !RefStore.NAME.matcher(ref).matches() || ref.contains("..")) {
            throw new IllegalArgumentException(
                    "a signed ref name must be a valid ref name of at most " + MAX_REF + " characters: '" + ref + "'");
        }
        if (version < 0 || expiresAt < 0 || signedAt < 0) {
            throw new IllegalArgumentException("version and times must not be negative");
        }
        content = content == null ? NONE : content;
    }

    /** A statement for a delta stream with end digest {@code digest}. */
    public static SignedStatement forDelta(
            String ref, ObjectId snapshot, long version, long signedAt, long expiresAt, ObjectId digest) {
        return new SignedStatement(Purpose.DELTA, ref, snapshot, version, signedAt, expiresAt, digest);
    }

    /** Whether it has expired at {@code nowSeconds} (seconds since the epoch). */
    public boolean expiredAt(long nowSeconds) {
        return expiresAt != 0 && nowSeconds > expiresAt;
    }

    public byte[] encode() {
        byte[] name = ref.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(2 + name.length + ObjectId.LENGTH + 24 + ObjectId.LENGTH);
        b.put((byte) purpose.code).put((byte) name.length).put(name);
        b.put(snapshot.toBytes()).putLong(version).putLong(signedAt).putLong(expiresAt);
        b.put(content.toBytes());
        return b.array();
    }

    /** The statement {@code raw} holds exactly; throws {@link MalformedObjectException} otherwise. */
    public static SignedStatement decode(byte[] raw) {
        try {
            ByteBuffer b = ByteBuffer.wrap(raw);
            int p = b.get() & 0xff;
            Purpose purpose = p == Purpose.DELTA.code ? Purpose.DELTA : p == Purpose.REF.code ? Purpose.REF : null;
            if (purpose == null) {
                throw new MalformedObjectException("signed statement: unknown purpose " + p);
            }
            byte[] name = new byte[b.get() & 0xff];
            b.get(name);
            ObjectId snapshot = ObjectId.fromBytes(get(b, ObjectId.LENGTH), 0);
            long version = b.getLong();
            long signedAt = b.getLong();
            long expiresAt = b.getLong();
            ObjectId content = ObjectId.fromBytes(get(b, ObjectId.LENGTH), 0);
            if (b.hasRemaining()) {
                throw new MalformedObjectException("signed statement: " + b.remaining() + " trailing bytes");
            }
            return new SignedStatement(
                    purpose,
                    new String(name, StandardCharsets.US_ASCII),
                    snapshot,
                    version,
                    signedAt,
                    expiresAt,
                    content);
        } catch (BufferUnderflowException e) {
            throw new MalformedObjectException("signed statement: truncated");
        } catch (IllegalArgumentException e) {
            throw new MalformedObjectException("signed statement: " + e.getMessage());
        }
    }

    private static byte[] get(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    /** The bytes a signature signs: the domain, then {@link #encode}. */
    public byte[] message() {
        byte[] body = encode();
        byte[] m = new byte[DOMAIN.length + body.length];
        System.arraycopy(DOMAIN, 0, m, 0, DOMAIN.length);
        System.arraycopy(body, 0, m, DOMAIN.length, body.length);
        return m;
    }

    public byte[] sign(Ed25519.Secret key) {
        return key.sign(message());
    }

    /** Whether {@code signature} is {@code key}'s signature of this statement. */
    public boolean verifiedBy(Ed25519.Public key, byte[] signature) {
        return key.verifies(message(), signature);
    }
}
