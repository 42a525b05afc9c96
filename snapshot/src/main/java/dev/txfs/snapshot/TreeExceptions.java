package dev.txfs.snapshot;

import java.nio.file.FileSystemException;

/**
 * The namespace failures java.nio has no type for. With java.nio's own
 * ({@code NoSuchFileException}, {@code FileAlreadyExistsException}, {@code DirectoryNotEmptyException},
 * {@code NotDirectoryException}) they are what {@link MutableTree} throws; the FUSE layer maps them
 * to errno.
 */
public final class TreeExceptions {
    private TreeExceptions() {}

    /** A directory where the operation needs something else (EISDIR). */
    public static final class IsDirectoryException extends FileSystemException {
        public IsDirectoryException(String path) {
            super(path, null, "Is a directory");
        }
    }

    /** An operation that makes no sense on its arguments (EINVAL), e.g. moving a directory into itself. */
    public static final class InvalidOperationException extends FileSystemException {
        public InvalidOperationException(String path, String reason) {
            super(path, null, reason);
        }
    }

    /** An extended attribute that is not there (ENODATA). */
    public static final class NoSuchAttributeException extends FileSystemException {
        public NoSuchAttributeException(String path, String attr) {
            super(path, null, "No such attribute: " + attr);
        }
    }

    /** A name longer than 255 bytes (ENAMETOOLONG) or a value too large for the store. */
    public static final class NameTooLongException extends FileSystemException {
        public NameTooLongException(String name) {
            super(name, null, "File name too long");
        }
    }

    /** An operation the kind of node does not allow (EPERM), e.g. a hard link to a directory. */
    public static final class NotPermittedException extends FileSystemException {
        public NotPermittedException(String path, String reason) {
            super(path, null, reason);
        }
    }

    /**
     * A name that would sit deeper than {@link TreeLimits#MAX_DEPTH} levels below the root
     * (ENAMETOOLONG: the path to it would be too long), from a create, mkdir, link or rename.
     */
    public static final class TooDeepException extends FileSystemException {
        public TooDeepException(String path) {
            super(path, null, "Too deep: more than " + TreeLimits.MAX_DEPTH + " levels below the root");
        }
    }
}
