package dev.txfs.fs.fuse;

import dev.txfs.fs.FsException;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.TreeExceptions;
import dev.txfs.txn.LiveTree;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** The one table from exceptions to errno; anything unknown is EIO (and the session logs it). */
final class Errnos {
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EIO = 5;
    static final int EBADF = 9;
    static final int EACCES = 13;
    static final int EEXIST = 17;
    static final int ENOTDIR = 20;
    static final int EISDIR = 21;
    static final int EINVAL = 22;
    static final int EFBIG = 27;
    static final int ENOSPC = 28;
    static final int EROFS = 30;
    static final int ESTALE = 116;
    static final int ERANGE = 34;
    static final int ENAMETOOLONG = 36;
    static final int ENOSYS = 38;
    static final int ENOTEMPTY = 39;
    static final int ENODATA = 61;
    static final int EOPNOTSUPP = 95;
    static final int ENXIO = 6;

    private Errnos() {}

    /** The errno for a failure, or 0 if it is not one we expect (the caller logs it, answers EIO). */
    static int of(Throwable t) {
        if (t instanceof NoSuchFileException) {
            return ENOENT;
        } else if (t instanceof FileAlreadyExistsException) {
            return EEXIST;
        } else if (t instanceof DirectoryNotEmptyException) {
            return ENOTEMPTY;
        } else if (t instanceof NotDirectoryException) {
            return ENOTDIR;
        } else if (t instanceof AccessDeniedException) {
            return EACCES;
        } else if (t instanceof TreeExceptions.IsDirectoryException) {
            return EISDIR;
        } else if (t instanceof TreeExceptions.InvalidOperationException) {
            return EINVAL;
        } else if (t instanceof TreeExceptions.NoSuchAttributeException) {
            return ENODATA;
        } else if (t instanceof TreeExceptions.NameTooLongException) {
            return ENAMETOOLONG;
        } else if (t instanceof TreeExceptions.TooDeepException) {
            return ENAMETOOLONG; // deeper than TreeLimits.MAX_DEPTH: the path to the name is too long
        } else if (t instanceof TreeExceptions.NotPermittedException) {
            return EPERM;
        } else if (t instanceof ObjectStore.StoreFullException) {
            return ENOSPC;
        } else if (t instanceof LiveTree.SyncFailedException) {
            return EIO; // logged and retried by the background sync (BackgroundSync)
        } else if (t instanceof FsException f) {
            return switch (f.kind()) {
                case BAD_HANDLE -> EBADF;
                case READ_ONLY -> EROFS;
                case NOT_SUPPORTED -> EOPNOTSUPP;
                case RANGE -> ERANGE;
                case NO_SPACE -> ENOSPC;
                case TOO_BIG -> EFBIG;
                case INVALID -> EINVAL;
                case ACCESS -> EACCES;
                case NO_SUCH_OFFSET -> ENXIO;
                case STALE -> ESTALE;
                case PERMISSION -> EPERM;
            };
        }
        return 0;
    }
}
