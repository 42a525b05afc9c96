package dev.txfs.fs.posix;

import java.nio.file.FileSystemException;

/**
 * A failed system call: which call, on which path, and the errno. The message reads {@code
 * "lsetxattr /a/b: Operation not permitted (EPERM)"}.
 */
public class PosixException extends FileSystemException {
    private final int errno;
    private final String call;
    private final String description;

    public PosixException(String call, String path, int errno, String description) {
        super(path, null, description + " (" + Errno.name(errno) + ")");
        this.errno = errno;
        this.call = call;
        this.description = description;
    }

    /** The errno value (see {@link Errno}). */
    public int errno() {
        return errno;
    }

    /** The libc function that failed. */
    public String call() {
        return call;
    }

    /** The same failure, naming {@code path} (for calls on descriptors, whose path the caller knows). */
    public PosixException withPath(String path) {
        PosixException e = new PosixException(call, path, errno, description);
        e.setStackTrace(getStackTrace());
        return e;
    }

    @Override
    public String getMessage() {
        return call + (getFile() == null ? "" : " " + getFile()) + ": " + getReason();
    }
}
