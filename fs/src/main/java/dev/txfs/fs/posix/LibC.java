package dev.txfs.fs.posix;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;

/**
 * The libc functions txfs binds, one to one. Paths and names are NUL-terminated {@code byte[]}
 * ({@link Posix} appends the NUL); types follow LP64 Linux ({@code long} for size_t, ssize_t,
 * off_t and dev_t; {@code int} for mode_t, uid_t and gid_t). Public only because jnr-ffi generates
 * its implementation; use {@link Posix}.
 */
public interface LibC {
    int statx(int dirfd, @In byte[] path, int flags, int mask, Pointer statxbuf);

    int openat(int dirfd, @In byte[] path, int flags, int mode);

    int close(int fd);

    long read(int fd, Pointer buf, long count);

    long write(int fd, Pointer buf, long count);

    long lseek(int fd, long offset, int whence);

    int ftruncate(int fd, long length);

    int fsync(int fd);

    long syscall(long number, int fd, Pointer buf, long count);

    long readlinkat(int dirfd, @In byte[] path, Pointer buf, long size);

    long llistxattr(@In byte[] path, Pointer list, long size);

    long lgetxattr(@In byte[] path, @In byte[] name, Pointer value, long size);

    int lsetxattr(@In byte[] path, @In byte[] name, @In byte[] value, long size, int flags);

    int lremovexattr(@In byte[] path, @In byte[] name);

    int mknodat(int dirfd, @In byte[] path, int mode, long dev);

    int mkdirat(int dirfd, @In byte[] path, int mode);

    int symlinkat(@In byte[] target, int newdirfd, @In byte[] linkpath);

    int linkat(int olddirfd, @In byte[] oldpath, int newdirfd, @In byte[] newpath, int flags);

    int fchownat(int dirfd, @In byte[] path, int uid, int gid, int flags);

    int fchmodat(int dirfd, @In byte[] path, int mode, int flags);

    int utimensat(int dirfd, @In byte[] path, @In long[] times, int flags);

    int unlinkat(int dirfd, @In byte[] path, int flags);

    int renameat(int olddirfd, @In byte[] oldpath, int newdirfd, @In byte[] newpath);

    int fchmod(int fd, int mode);

    int fchown(int fd, int uid, int gid);

    int fsetxattr(int fd, @In byte[] name, @In byte[] value, long size, int flags);

    int futimens(int fd, @In long[] times);

    int dup(int fd);

    int umask(int mask);

    int geteuid();

    int getegid();

    String strerror(int errnum);
}
