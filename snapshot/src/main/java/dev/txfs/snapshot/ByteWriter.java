package dev.txfs.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable byte buffer with the primitives of the canonical encodings (LEB128 varints, zigzag). */
final class ByteWriter {
    private byte[] buf;
    private int len;

    ByteWriter(int capacity) {
        buf = new byte[Math.max(16, capacity)];
    }

    private void ensure(int extra) {
        if (len + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra));
        }
    }

    ByteWriter u8(int v) {
        ensure(1);
        buf[len++] = (byte) v;
        return this;
    }

    ByteWriter u32le(int v) {
        ensure(4);
        for (int i = 0; i < 4; i++) {
            buf[len++] = (byte) (v >>> (8 * i));
        }
        return this;
    }

    /** Unsigned LEB128: 7 bits a byte, low first, high bit set on all but the last. */
    ByteWriter varint(long v) {
        ensure(10);
        while ((v & ~0x7fL) != 0) {
            buf[len++] = (byte) ((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        buf[len++] = (byte) v;
        return this;
    }

    /** Signed values as zigzag LEB128. */
    ByteWriter zigzag(long v) {
        return varint((v << 1) ^ (v >> 63));
    }

    ByteWriter bytes(byte[] b) {
        return bytes(b, 0, b.length);
    }

    ByteWriter bytes(byte[] b, int off, int n) {
        ensure(n);
        System.arraycopy(b, off, buf, len, n);
        len += n;
        return this;
    }

    /** A varint length then the bytes. */
    ByteWriter lengthPrefixed(byte[] b) {
        return varint(b.length).bytes(b);
    }

    ByteWriter string(String s) {
        return lengthPrefixed(s.getBytes(StandardCharsets.UTF_8));
    }

    ByteWriter id(ObjectId id) {
        ensure(ObjectId.LENGTH);
        id.writeTo(buf, len);
        len += ObjectId.LENGTH;
        return this;
    }

    int length() {
        return len;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, len);
    }
}
