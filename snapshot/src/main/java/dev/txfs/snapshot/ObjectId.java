package dev.txfs.snapshot;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/** The 32-byte SHA-256 of an object's canonical bytes; immutable, comparable by unsigned bytes. */
public final class ObjectId implements Comparable<ObjectId> {
    public static final int LENGTH = 32;
    private static final HexFormat HEX = HexFormat.of();
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    });

    private final byte[] bytes;
    private final int hash;

    private ObjectId(byte[] bytes) {
        this.bytes = bytes;
        this.hash = (bytes[0] & 0xff) << 24 | (bytes[1] & 0xff) << 16 | (bytes[2] & 0xff) << 8 | (bytes[3] & 0xff);
    }

    /** The id of {@code canonical}: SHA-256 over all of it. */
    public static ObjectId hash(byte[] canonical) {
        return hash(canonical, 0, canonical.length);
    }

    public static ObjectId hash(byte[] buf, int off, int len) {
        MessageDigest md = SHA256.get();
        md.update(buf, off, len);
        return new ObjectId(md.digest());
    }

    public static ObjectId fromBytes(byte[] raw, int off) {
        if (raw.length - off < LENGTH) {
            throw new IllegalArgumentException("an object id needs 32 bytes, got " + (raw.length - off));
        }
        return new ObjectId(Arrays.copyOfRange(raw, off, off + LENGTH));
    }

    /** Parses 64 hex digits; throws IllegalArgumentException on anything else. */
    public static ObjectId parse(String hex) {
        if (hex.length() != 2 * LENGTH || !isHex(hex)) {
            throw new IllegalArgumentException("not an object id (64 hex digits): " + hex);
        }
        return new ObjectId(HEX.parseHex(hex));
    }

    public static boolean isHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return !s.isEmpty();
    }

    public byte[] toBytes() {
        return bytes.clone();
    }

    void writeTo(byte[] dst, int off) {
        System.arraycopy(bytes, 0, dst, off, LENGTH);
    }

    byte byteAt(int i) {
        return bytes[i];
    }

    public String toHex() {
        return HEX.formatHex(bytes);
    }

    /** The first 12 hex digits, as log output shows ids. */
    public String shortHex() {
        return toHex().substring(0, 12);
    }

    @Override
    public String toString() {
        return toHex();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ObjectId other && hash == other.hash && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public int compareTo(ObjectId o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }
}
