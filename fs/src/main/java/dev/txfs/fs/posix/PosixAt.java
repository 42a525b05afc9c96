package dev.txfs.fs.posix;

import java.nio.charset.StandardCharsets;
import jnr.ffi.Runtime;

/**
 * Calls on names inside an open directory (the {@code *at(2)} family) and on open descriptors:
 * a tree is written through descriptors so that no path is looked up again from the root, and a
 * final symlink is never followed. What has no {@code *at} form (extended attributes of a symlink
 * or special file) goes through {@code /proc/self/fd/DIRFD/NAME}, which names the directory the
 * descriptor holds, not whatever its path leads to now.
 *
 * <p>{@code path} arguments only name the entry in error messages.
 *
 * <p>Threads: safe for any thread.
 */
public final class PosixAt {
    private final Posix posix;
    private final LibC libc;
    private final Runtime runtime;

    private PosixAt(Posix posix) {
        this.posix = posix;
        this.libc = posix.libc();
        this.runtime = posix.runtime();
    }

    private static final class Holder {
        static final PosixAt INSTANCE = new PosixAt(Posix.get());
    }

    public static PosixAt get() {
        return Holder.INSTANCE;
    }

    private PosixException error(String call, byte[] path) {
        return posix.error(call, path == null ? null : Posix.display(path), runtime.getLastError());
    }

    /** openat(2) of {@code name} in {@code dirfd}; {@code mode} matters only with O_CREAT. */
    public int open(int dirfd, byte[] name, int flags, int mode, byte[] path) throws PosixException {
        int fd = libc.openat(dirfd, Posix.c(name), flags, mode);
        if (fd < 0) {
            throw error("open", path);
        }
        return fd;
    }

    /** Opens the directory {@code name} of {@code dirfd}, refusing a symlink (ELOOP) or non-directory. */
    public int openDirectory(int dirfd, byte[] name, byte[] path) throws PosixException {
        return open(dirfd, name, Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0, path);
    }

    public void mkdir(int dirfd, byte[] name, int mode, byte[] path) throws PosixException {
        if (libc.mkdirat(dirfd, Posix.c(name), mode) != 0) {
            throw error("mkdir", path);
        }
    }

    /** mknodat(2): {@code mode} holds the type bits and the permissions (less the umask). */
    public void mknod(int dirfd, byte[] name, int mode, long dev, byte[] path) throws PosixException {
        if (libc.mknodat(dirfd, Posix.c(name), mode, dev) != 0) {
            throw error("mknod", path);
        }
    }

    public void symlink(byte[] target, int dirfd, byte[] name, byte[] path) throws PosixException {
        if (libc.symlinkat(Posix.c(target), dirfd, Posix.c(name)) != 0) {
            throw error("symlink", path);
        }
    }

    /** A new name {@code newName} in {@code newDirfd} for {@code oldName} in {@code oldDirfd} (a symlink is not followed). */
    public void link(int oldDirfd, byte[] oldName, int newDirfd, byte[] newName, byte[] path) throws PosixException {
        if (libc.linkat(oldDirfd, Posix.c(oldName), newDirfd, Posix.c(newName), 0) != 0) {
            throw error("link", path);
        }
    }

    public Stat lstat(int dirfd, byte[] name, byte[] path) throws PosixException {
        return posix.lstatAt(dirfd, name, path);
    }

    /** Owner and group of {@code name} itself (a symlink is not followed). */
    public void lchown(int dirfd, byte[] name, long uid, long gid, byte[] path) throws PosixException {
        if (libc.fchownat(dirfd, Posix.c(name), (int) uid, (int) gid, Posix.AT_SYMLINK_NOFOLLOW) != 0) {
            throw error("lchown", path);
        }
    }

    /** Permission bits of {@code name}, which must not be a symlink (then EOPNOTSUPP: none is followed). */
    public void chmod(int dirfd, byte[] name, int mode, byte[] path) throws PosixException {
        if (libc.fchmodat(dirfd, Posix.c(name), mode & 07777, Posix.AT_SYMLINK_NOFOLLOW) != 0) {
            throw error("chmod", path);
        }
    }

    /** Times of {@code name} itself (a symlink's own); {@link Posix#OMIT_TIME} leaves one as it is. */
    public void setTimes(int dirfd, byte[] name, long atimeNs, long mtimeNs, byte[] path) throws PosixException {
        if (libc.utimensat(dirfd, Posix.c(name), timespecs(atimeNs, mtimeNs), Posix.AT_SYMLINK_NOFOLLOW) != 0) {
            throw error("utimensat", path);
        }
    }

    /** An extended attribute of {@code name} itself, through {@code /proc/self/fd/DIRFD/NAME}. */
    public void lsetXattr(int dirfd, byte[] name, String attr, byte[] value, byte[] path) throws PosixException {
        byte[] via = Posix.child(Posix.bytes("/proc/self/fd/" + dirfd), name);
        if (libc.lsetxattr(Posix.c(via), Posix.c(attr.getBytes(StandardCharsets.UTF_8)), value, value.length, 0) != 0) {
            throw error("lsetxattr " + attr, path);
        }
    }

    public void fchown(int fd, long uid, long gid, byte[] path) throws PosixException {
        if (libc.fchown(fd, (int) uid, (int) gid) != 0) {
            throw error("fchown", path);
        }
    }

    public void fchmod(int fd, int mode, byte[] path) throws PosixException {
        if (libc.fchmod(fd, mode & 07777) != 0) {
            throw error("fchmod", path);
        }
    }

    public void fsetXattr(int fd, String attr, byte[] value, byte[] path) throws PosixException {
        if (libc.fsetxattr(fd, Posix.c(attr.getBytes(StandardCharsets.UTF_8)), value, value.length, 0) != 0) {
            throw error("fsetxattr " + attr, path);
        }
    }

    public void futimens(int fd, long atimeNs, long mtimeNs, byte[] path) throws PosixException {
        if (libc.futimens(fd, timespecs(atimeNs, mtimeNs)) != 0) {
            throw error("futimens", path);
        }
    }

    /** A second descriptor of the same open file (for a stream that closes its own). */
    public int dup(int fd) throws PosixException {
        int d = libc.dup(fd);
        if (d < 0) {
            throw error("dup", null);
        }
        return d;
    }

    private static long[] timespecs(long atimeNs, long mtimeNs) {
        long[] ts = new long[4];
        timespec(ts, 0, atimeNs);
        timespec(ts, 2, mtimeNs);
        return ts;
    }

    private static void timespec(long[] ts, int at, long ns) {
        if (ns == Posix.OMIT_TIME) {
            ts[at] = 0;
            ts[at + 1] = (1L << 30) - 2; // UTIME_OMIT
        } else {
            ts[at] = Math.floorDiv(ns, 1_000_000_000L);
            ts[at + 1] = Math.floorMod(ns, 1_000_000_000L);
        }
    }
}
