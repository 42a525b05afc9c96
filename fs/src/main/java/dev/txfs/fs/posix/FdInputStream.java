package dev.txfs.fs.posix;

import java.io.IOException;
import java.io.InputStream;

/** Reads a file descriptor; owns it (closes it once). */
final class FdInputStream extends InputStream {
    private final Posix posix;
    private final int fd;
    private final byte[] path;
    private boolean closed;

    FdInputStream(Posix posix, int fd, byte[] path) {
        this.posix = posix;
        this.fd = fd;
        this.path = path;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        if (len == 0) {
            return 0;
        }
        try {
            int n = posix.read(fd, b, off, len);
            return n == 0 ? -1 : n;
        } catch (PosixException e) {
            throw path == null ? e : e.withPath(Posix.display(path));
        }
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            posix.close(fd);
        }
    }
}
