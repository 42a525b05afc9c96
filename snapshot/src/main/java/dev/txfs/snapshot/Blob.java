package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.List;

/**
 * A file's content longer than one chunk: its size and its chunks in order, with their lengths
 * so a read at an offset finds its chunk without loading the others.
 *
 * <pre>
 * blob := 02 01 size:varint count:varint (chunk:id32 length:varint)*    lengths sum to size
 * </pre>
 */
public record Blob(long size, List<ChunkRef> chunks) {
    /** A chunk of a file and its length. */
    public record ChunkRef(ObjectId id, int length) {}

    public Blob {
        chunks = List.copyOf(chunks);
    }

    public byte[] encode() {
        ByteWriter w =
                ObjectType.BLOB.header(16 + 36 * chunks.size()).varint(size).varint(chunks.size());
        for (ChunkRef c : chunks) {
            w.id(c.id()).varint(c.length());
        }
        return w.toByteArray();
    }

    public static Blob decode(byte[] canonical) {
        ByteReader r = ObjectType.BLOB.body(canonical);
        long size = r.varint("blob size");
        int n = r.boundedInt("chunk count", r.remaining() / (ObjectId.LENGTH + 1));
        List<ChunkRef> chunks = new ArrayList<>(n);
        long sum = 0;
        for (int i = 0; i < n; i++) {
            ObjectId id = r.id("chunk id");
            int len = r.boundedInt("chunk length", Integer.MAX_VALUE);
            if (len == 0) {
                throw new MalformedObjectException("empty chunk in blob");
            }
            sum += len;
            chunks.add(new ChunkRef(id, len));
        }
        r.expectEnd("blob");
        if (sum != size) {
            throw new MalformedObjectException("blob chunks sum to " + sum + " bytes, size says " + size);
        }
        return new Blob(size, chunks);
    }
}
