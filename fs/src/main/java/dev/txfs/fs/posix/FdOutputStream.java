package dev.txfs.fs.posix;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes a file descriptor opened at offset 0 (a new or truncated file); owns it (closes it once).
 * In sparse mode an all-zero write of at least one block becomes a seek, and close sets the length
 * with ftruncate so a trailing hole is kept.
 */
final class FdOutputStream extends OutputStream {
    private static final int MIN_HOLE = 4096;

    private final Posix posix;
    private final int fd;
    private final byte[] path;
    private final boolean sparse;
    private long position;
    private boolean skipped;
    private boolean closed;

    FdOutputStream(Posix posix, int fd, byte[] path, boolean sparse) {
        this.posix = posix;
        this.fd = fd;
        this.path = path;
        this.sparse = sparse;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        try {
            if (sparse && len >= MIN_HOLE && allZero(b, off, len)) {
                posix.lseek(fd, len, Posix.SEEK_CUR);
                skipped = true;
            } else {
                posix.write(fd, b, off, len);
            }
            position += len;
        } catch (PosixException e) {
            throw path == null ? e : e.withPath(Posix.display(path));
        }
    }

    private static boolean allZero(byte[] b, int off, int len) {
        for (int i = off, end = off + len; i < end; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (skipped) {
                posix.ftruncate(fd, position);
            }
        } catch (PosixException e) {
            posix.closeQuietly(fd);
            throw path == null ? e : e.withPath(Posix.display(path));
        }
        posix.close(fd);
    }
}
