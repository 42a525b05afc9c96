package dev.txfs.snapshot;

/** Chunk objects: {@code 01 01} followed by the raw bytes of a piece of file content. */
public final class Chunks {
    private Chunks() {}

    public static byte[] encode(byte[] data, int off, int len) {
        return ObjectType.CHUNK.header(len).bytes(data, off, len).toByteArray();
    }

    /** The content bytes of a chunk object. */
    public static byte[] decode(byte[] canonical) {
        ByteReader r = ObjectType.CHUNK.body(canonical);
        return r.bytes(r.remaining(), "chunk data");
    }

    /** Where the data starts in a chunk object's bytes (reads copy from there, without decoding). */
    public static final int DATA_OFFSET = 2;
}
