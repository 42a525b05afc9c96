package dev.txfs.tool;

import dev.txfs.snapshot.Chunker;
import dev.txfs.snapshot.Chunks;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.FileContents;
import dev.txfs.snapshot.ObjectWriter;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.Arrays;

/**
 * {@link FileContents#write(ObjectWriter, InputStream)} with a fast path for files that fit in one
 * minimum-size chunk (most files of a typical tree): they are read into a per-thread buffer
 * instead of the 512 KiB buffer FileContents allocates per call. The result is the same Content:
 * up to {@link Content#INLINE_MAX} bytes inline, otherwise one chunk (the chunker never cuts at or
 * below its minimum size). SmallFilesTest checks the equivalence.
 */
final class SmallFiles {
    private static final int LIMIT = Chunker.standard().minSize();
    private static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[LIMIT + 1]);

    private SmallFiles() {}

    static Content write(ObjectWriter out, InputStream in) throws IOException {
        byte[] buf = BUFFER.get();
        int n = 0;
        while (n < buf.length) {
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        if (n <= LIMIT) {
            if (n <= Content.INLINE_MAX) {
                return Content.inline(Arrays.copyOf(buf, n));
            }
            return Content.chunk(out.put(Chunks.encode(buf, 0, n)), n);
        }
        // SequenceInputStream closes each stream it finishes: keep the caller's open.
        InputStream rest = new FilterInputStream(in) {
            @Override
            public void close() {}
        };
        return FileContents.write(out, new SequenceInputStream(new ByteArrayInputStream(buf.clone(), 0, n), rest));
    }
}
