package dev.txfs.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns bytes into {@link Content} (chunking, storing chunks and the blob) and back. Streams: memory
 * stays at two maximum chunks whatever the file's size.
 */
public final class FileContents {
    private static final Chunker CHUNKER = Chunker.standard();

    private FileContents() {}

    /** Chunks and stores everything {@code in} yields. */
    public static Content write(ObjectWriter out, InputStream in) throws IOException {
        byte[] buf = new byte[2 * CHUNKER.maxSize()];
        int filled = fill(in, buf, 0);
        if (filled <= Content.INLINE_MAX && filled < buf.length) {
            return Content.inline(java.util.Arrays.copyOf(buf, filled));
        }
        List<Blob.ChunkRef> chunks = new ArrayList<>();
        long size = 0;
        int start = 0;
        boolean eof = filled < buf.length;
        while (true) {
            if (!eof && filled - start < CHUNKER.maxSize()) {
                System.arraycopy(buf, start, buf, 0, filled - start);
                filled -= start;
                start = 0;
                filled = fill(in, buf, filled);
                eof = filled < buf.length;
            }
            if (filled == start) {
                break;
            }
            int n = CHUNKER.cut(buf, start, filled - start);
            chunks.add(new Blob.ChunkRef(out.put(Chunks.encode(buf, start, n)), n));
            size += n;
            start += n;
        }
        return of(out, chunks, size);
    }

    /** Content for bytes in memory (same result as streaming them). */
    public static Content write(ObjectWriter out, byte[] data) {
        try {
            return write(out, new java.io.ByteArrayInputStream(data));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The canonical Content for a list of chunks: inline, one chunk, or a blob. */
    static Content of(ObjectWriter out, List<Blob.ChunkRef> chunks, long size) {
        if (size == 0) {
            return Content.EMPTY;
        }
        if (size <= Content.INLINE_MAX) {
            // Small content is always inline, whatever produced it.
            byte[] data = new byte[(int) size];
            int off = 0;
            for (Blob.ChunkRef c : chunks) {
                byte[] d = Chunks.decode(
                        out.find(c.id()).orElseThrow(() -> new ObjectStore.MissingObjectException(c.id())));
                System.arraycopy(d, 0, data, off, d.length);
                off += d.length;
            }
            return Content.inline(data);
        }
        if (chunks.size() == 1) {
            return Content.chunk(chunks.get(0).id(), size);
        }
        return Content.blob(out.put(new Blob(size, chunks).encode()), size);
    }

    private static int fill(InputStream in, byte[] buf, int off) throws IOException {
        while (off < buf.length) {
            int n = in.read(buf, off, buf.length - off);
            if (n < 0) {
                break;
            }
            off += n;
        }
        return off;
    }

    /** The chunks of a content in order (empty for inline content). */
    public static List<Blob.ChunkRef> chunks(ObjectStore store, Content c) {
        if (c.isInline()) {
            return List.of();
        }
        if (!c.isBlob()) {
            return List.of(new Blob.ChunkRef(c.id(), (int) c.size()));
        }
        Blob blob = Blob.decode(store.get(c.id()));
        if (blob.size() != c.size()) {
            throw new MalformedObjectException(
                    "blob " + c.id() + " holds " + blob.size() + " bytes, entry says " + c.size());
        }
        return blob.chunks();
    }

    /** Writes the whole content to {@code out}, one chunk at a time. */
    public static void copyTo(ObjectStore store, Content c, OutputStream out) throws IOException {
        if (c.isInline()) {
            out.write(c.inlineData());
            return;
        }
        for (Blob.ChunkRef ref : chunks(store, c)) {
            byte[] raw = store.get(ref.id());
            ObjectType.CHUNK.body(raw);
            if (raw.length - Chunks.DATA_OFFSET != ref.length()) {
                throw new MalformedObjectException("chunk " + ref.id() + " is not " + ref.length() + " bytes");
            }
            out.write(raw, Chunks.DATA_OFFSET, ref.length());
        }
    }

    /** All the content in memory; for small files and tests. */
    public static byte[] readAll(ObjectStore store, Content c) {
        var out = new java.io.ByteArrayOutputStream((int) Math.min(c.size(), 1 << 20));
        try {
            copyTo(store, c, out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }
}
