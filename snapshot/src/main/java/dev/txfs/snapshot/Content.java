package dev.txfs.snapshot;

import java.util.Arrays;
import java.util.Objects;

/**
 * A regular file's content as a tree entry refers to it, chosen deterministically from the bytes:
 * up to {@link #INLINE_MAX} bytes are inlined in the entry; content that is one chunk refers to
 * that chunk; anything longer refers to a {@link Blob} listing its chunks.
 */
public final class Content {
    /** Files this small live inside their tree entry: no object, no extra read. */
    public static final int INLINE_MAX = 64;

    public static final Content EMPTY = new Content(0, new byte[0], null, false);

    private final long size;
    private final byte[] inline;
    private final ObjectId id;
    private final boolean blob;

    private Content(long size, byte[] inline, ObjectId id, boolean blob) {
        this.size = size;
        this.inline = inline;
        this.id = id;
        this.blob = blob;
    }

    public static Content inline(byte[] data) {
        if (data.length > INLINE_MAX) {
            throw new IllegalArgumentException("inline content is at most " + INLINE_MAX + " bytes");
        }
        return data.length == 0 ? EMPTY : new Content(data.length, data.clone(), null, false);
    }

    public static Content chunk(ObjectId chunk, long size) {
        return new Content(size, null, chunk, false);
    }

    public static Content blob(ObjectId blob, long size) {
        return new Content(size, null, blob, true);
    }

    public long size() {
        return size;
    }

    public boolean isInline() {
        return inline != null;
    }

    /** The inlined bytes; only for {@link #isInline()}. */
    public byte[] inlineData() {
        return inline.clone();
    }

    /** The chunk or blob this content refers to; null when inline. */
    public ObjectId id() {
        return id;
    }

    public boolean isBlob() {
        return blob;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Content c
                && size == c.size
                && blob == c.blob
                && Objects.equals(id, c.id)
                && Arrays.equals(inline, c.inline);
    }

    @Override
    public int hashCode() {
        return Objects.hash(size, id, blob) * 31 + Arrays.hashCode(inline);
    }

    @Override
    public String toString() {
        return isInline() ? "inline:" + size : (blob ? "blob:" : "chunk:") + id.shortHex() + ":" + size;
    }
}
