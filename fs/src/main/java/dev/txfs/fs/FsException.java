package dev.txfs.fs;

import java.io.IOException;

/** A POSIX failure with no java.nio type: carries the error by name; {@code fs.fuse} maps it. */
public final class FsException extends IOException {
    /** The failures the filesystem raises itself. */
    public enum Kind {
        BAD_HANDLE,
        READ_ONLY,
        NOT_SUPPORTED,
        RANGE,
        NO_SPACE,
        TOO_BIG,
        INVALID,
        ACCESS,
        NO_SUCH_OFFSET,
        /** The inode or handle is not (any more) what the caller's view holds: the kernel looks the name up again. */
        STALE,
        PERMISSION
    }

    private final Kind kind;

    public FsException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
