package dev.txfs.snapshot;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads the canonical encodings. Every read is bounds-checked: malformed input raises
 * {@link MalformedObjectException}, never an index error, a hang or a huge allocation.
 */
final class ByteReader {
    private final byte[] buf;
    private int pos;
    private final int end;

    ByteReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    ByteReader(byte[] buf, int off, int len) {
        this.buf = buf;
        this.pos = off;
        this.end = off + len;
    }

    private void need(long n, String what) {
        if (n < 0 || n > end - pos) {
            throw new MalformedObjectException("truncated " + what + " at byte " + pos);
        }
    }

    int u8(String what) {
        need(1, what);
        return buf[pos++] & 0xff;
    }

    int u32le(String what) {
        need(4, what);
        int v = 0;
        for (int i = 0; i < 4; i++) {
            v |= (buf[pos++] & 0xff) << (8 * i);
        }
        return v;
    }

    long varint(String what) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = u8(what);
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                if (shift == 63 && b > 1) {
                    break;
                }
                if (b == 0 && shift > 0) {
                    throw new MalformedObjectException("non-minimal varint for " + what + " at byte " + pos);
                }
                return v;
            }
        }
        throw new MalformedObjectException("varint too long for " + what + " at byte " + pos);
    }

    /** A varint that must lie in [0, max]. */
    int boundedInt(String what, long max) {
        long v = varint(what);
        if (v < 0 || v > max) {
            throw new MalformedObjectException(what + " out of range: " + v);
        }
        return (int) v;
    }

    long zigzag(String what) {
        long v = varint(what);
        return (v >>> 1) ^ -(v & 1);
    }

    byte[] bytes(int n, String what) {
        need(n, what);
        byte[] out = Arrays.copyOfRange(buf, pos, pos + n);
        pos += n;
        return out;
    }

    byte[] lengthPrefixed(String what, int max) {
        return bytes(boundedInt(what + " length", max), what);
    }

    String string(String what, int max) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(lengthPrefixed(what, max)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MalformedObjectException(what + " is not UTF-8");
        }
    }

    ObjectId id(String what) {
        need(ObjectId.LENGTH, what);
        ObjectId id = ObjectId.fromBytes(buf, pos);
        pos += ObjectId.LENGTH;
        return id;
    }

    int remaining() {
        return end - pos;
    }

    void expectEnd(String what) {
        if (pos != end) {
            throw new MalformedObjectException((end - pos) + " trailing bytes after " + what);
        }
    }
}
