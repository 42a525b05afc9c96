package dev.txfs.fs.posix;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * The POSIX calls txfs needs beyond {@code java.nio}, on byte-exact paths, with errno turned into
 * {@link PosixException}. Symlinks are never followed unless a method says so.
 *
 * <p>Threads: safe for any thread; each thread has its own scratch buffers.
 */
public final class Posix {
    public static final int AT_FDCWD = -100;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    public static final int AT_REMOVEDIR = 0x200;
    public static final int AT_EMPTY_PATH = 0x1000;

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_NOCTTY = 0400;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_NOATIME = 01000000;
    public static final int O_CLOEXEC = 02000000;
    /** Differs between architectures (arm64 and ppc use their own values). */
    public static final int O_DIRECTORY;
    /** Differs between architectures (arm64 and ppc use their own values). */
    public static final int O_NOFOLLOW;

    public static final int SEEK_SET = 0;
    public static final int SEEK_CUR = 1;
    public static final int SEEK_END = 2;

    public static final int XATTR_CREATE = 1;
    public static final int XATTR_REPLACE = 2;

    /** A time argument of {@link #setTimes} that leaves that time as it is (UTIME_OMIT). */
    public static final long OMIT_TIME = Long.MIN_VALUE;

    private static final long UTIME_OMIT = (1L << 30) - 2;
    private static final int STATX_BASIC_STATS = 0x7ff;
    private static final int XATTR_LIST_MAX = 65536;
    private static final int IO_BUFFER = 256 * 1024;
    private static final long SYS_GETDENTS64;
    private static final java.lang.invoke.VarHandle LONG_VIEW =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.nativeOrder());

    static {
        String arch = System.getProperty("os.arch");
        boolean armLike = arch.equals("aarch64") || arch.startsWith("ppc");
        O_DIRECTORY = armLike ? 040000 : 0200000;
        O_NOFOLLOW = armLike ? 0100000 : 0400000;
        SYS_GETDENTS64 = switch (arch) {
            case "amd64", "x86_64" -> 217;
            case "aarch64", "riscv64", "loongarch64" -> 61;
            case "ppc64", "ppc64le" -> 202;
            case "s390x" -> 220;
            default -> -1;
        };
    }

    private final LibC libc;
    private final Runtime runtime;
    private final ThreadLocal<Pointer> statBuf;
    private final ThreadLocal<Pointer> scratch;
    private final ThreadLocal<Pointer> ioBuf;
    private final ThreadLocal<byte[]> rawScratch = ThreadLocal.withInitial(() -> new byte[XATTR_LIST_MAX]);

    private Posix(LibC libc) {
        this.libc = libc;
        this.runtime = Runtime.getRuntime(libc);
        this.statBuf = ThreadLocal.withInitial(() -> Memory.allocateDirect(runtime, 256, true));
        this.scratch = ThreadLocal.withInitial(() -> Memory.allocateDirect(runtime, XATTR_LIST_MAX, false));
        this.ioBuf = ThreadLocal.withInitial(() -> Memory.allocateDirect(runtime, IO_BUFFER, false));
    }

    private static final class Holder {
        static final Posix INSTANCE = new Posix(LibraryLoader.create(LibC.class).load("c"));
    }

    /** The facade; binds libc on the first call (a few hundred milliseconds, once). */
    public static Posix get() {
        return Holder.INSTANCE;
    }

    Runtime runtime() {
        return runtime;
    }

    LibC libc() {
        return libc;
    }

    // ---- errors

    private PosixException error(String call, byte[] path) {
        int errno = runtime.getLastError();
        return error(call, path == null ? null : display(path), errno);
    }

    PosixException error(String call, String path, int errno) {
        String description;
        try {
            description = libc.strerror(errno);
        } catch (RuntimeException e) {
            description = "error";
        }
        return new PosixException(call, path, errno, description);
    }

    /** A path for messages: its bytes decoded as UTF-8 (invalid bytes shown as U+FFFD). */
    public static String display(byte[] path) {
        return new String(path, StandardCharsets.UTF_8);
    }

    /** {@code path} with a terminating NUL, as libc wants it. */
    static byte[] c(byte[] path) {
        byte[] out = Arrays.copyOf(path, path.length + 1);
        for (int i = 0; i < path.length; i++) {
            if (path[i] == 0) {
                throw new IllegalArgumentException("path contains a NUL byte: " + display(path));
            }
        }
        return out;
    }

    /** The bytes of a path as java.nio would pass them to the kernel. */
    public static byte[] bytes(String path) {
        return path.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code dir + "/" + name} as bytes. */
    public static byte[] child(byte[] dir, byte[] name) {
        boolean slash = dir.length > 0 && dir[dir.length - 1] == '/';
        byte[] out = new byte[dir.length + (slash ? 0 : 1) + name.length];
        System.arraycopy(dir, 0, out, 0, dir.length);
        if (!slash) {
            out[dir.length] = '/';
        }
        System.arraycopy(name, 0, out, out.length - name.length, name.length);
        return out;
    }

    // ---- metadata

    /** stat without following a final symlink (lstat). */
    public Stat lstat(byte[] path) throws PosixException {
        return statx(AT_FDCWD, c(path), AT_SYMLINK_NOFOLLOW, "lstat", path);
    }

    /** stat following symlinks. */
    public Stat stat(byte[] path) throws PosixException {
        return statx(AT_FDCWD, c(path), 0, "stat", path);
    }

    /** fstat of an open descriptor. */
    public Stat fstat(int fd) throws PosixException {
        return statx(fd, new byte[1], AT_EMPTY_PATH, "fstat", null);
    }

    private Stat statx(int dirfd, byte[] cpath, int flags, String call, byte[] path) throws PosixException {
        Pointer b = statBuf.get();
        if (libc.statx(dirfd, cpath, flags, STATX_BASIC_STATS, b) != 0) {
            throw error(call, path);
        }
        return new Stat(
                Stat.makedev(b.getInt(136) & 0xffffffffL, b.getInt(140) & 0xffffffffL),
                b.getLong(32),
                b.getShort(28) & 0xffff,
                b.getInt(16) & 0xffffffffL,
                b.getInt(20) & 0xffffffffL,
                b.getInt(24) & 0xffffffffL,
                Stat.makedev(b.getInt(128) & 0xffffffffL, b.getInt(132) & 0xffffffffL),
                b.getLong(40),
                b.getLong(48),
                timestamp(b, 64),
                timestamp(b, 112),
                timestamp(b, 96));
    }

    private static long timestamp(Pointer b, int off) {
        return b.getLong(off) * 1_000_000_000L + (b.getInt(off + 8) & 0xffffffffL);
    }

    /** Sets owner and group without following a symlink (lchown). */
    public void lchown(byte[] path, long uid, long gid) throws PosixException {
        if (libc.fchownat(AT_FDCWD, c(path), (int) uid, (int) gid, AT_SYMLINK_NOFOLLOW) != 0) {
            throw error("lchown", path);
        }
    }

    /** Sets permission bits (07777) of a non-symlink. */
    public void chmod(byte[] path, int mode) throws PosixException {
        if (libc.fchmodat(AT_FDCWD, c(path), mode & 07777, 0) != 0) {
            throw error("chmod", path);
        }
    }

    /**
     * Sets access and modification times in nanoseconds ({@link #OMIT_TIME} leaves one as it is);
     * with {@code noFollow}, a symlink's own times.
     */
    public void setTimes(byte[] path, long atimeNs, long mtimeNs, boolean noFollow) throws PosixException {
        long[] ts = new long[4];
        timespec(ts, 0, atimeNs);
        timespec(ts, 2, mtimeNs);
        if (libc.utimensat(AT_FDCWD, c(path), ts, noFollow ? AT_SYMLINK_NOFOLLOW : 0) != 0) {
            throw error("utimensat", path);
        }
    }

    private static void timespec(long[] ts, int at, long ns) {
        if (ns == OMIT_TIME) {
            ts[at] = 0;
            ts[at + 1] = UTIME_OMIT;
        } else {
            ts[at] = Math.floorDiv(ns, 1_000_000_000L);
            ts[at + 1] = Math.floorMod(ns, 1_000_000_000L);
        }
    }

    public int umask(int mask) {
        return libc.umask(mask);
    }

    /** The effective uid of this process (unsigned). */
    public long geteuid() {
        return libc.geteuid() & 0xffffffffL;
    }

    public long getegid() {
        return libc.getegid() & 0xffffffffL;
    }

    // ---- names

    /** Creates a directory with {@code mode} (less the umask). */
    public void mkdir(byte[] path, int mode) throws PosixException {
        if (libc.mkdirat(AT_FDCWD, c(path), mode) != 0) {
            throw error("mkdir", path);
        }
    }

    /**
     * Creates a non-directory inode: {@code mode} holds the type bits (S_IFIFO, S_IFCHR, S_IFBLK,
     * S_IFSOCK, S_IFREG) and the permissions (less the umask); {@code dev} is for devices.
     */
    public void mknod(byte[] path, int mode, long dev) throws PosixException {
        if (libc.mknodat(AT_FDCWD, c(path), mode, dev) != 0) {
            throw error("mknod", path);
        }
    }

    public void symlink(byte[] target, byte[] path) throws PosixException {
        if (libc.symlinkat(c(target), AT_FDCWD, c(path)) != 0) {
            throw error("symlink", path);
        }
    }

    /** A new name for an existing inode; a symlink is linked itself, not its target. */
    public void link(byte[] existing, byte[] newPath) throws PosixException {
        if (libc.linkat(AT_FDCWD, c(existing), AT_FDCWD, c(newPath), 0) != 0) {
            throw error("link", newPath);
        }
    }

    public void unlink(byte[] path) throws PosixException {
        if (libc.unlinkat(AT_FDCWD, c(path), 0) != 0) {
            throw error("unlink", path);
        }
    }

    public void rmdir(byte[] path) throws PosixException {
        if (libc.unlinkat(AT_FDCWD, c(path), AT_REMOVEDIR) != 0) {
            throw error("rmdir", path);
        }
    }

    public void rename(byte[] from, byte[] to) throws PosixException {
        if (libc.renameat(AT_FDCWD, c(from), AT_FDCWD, c(to)) != 0) {
            throw error("rename", to);
        }
    }

    /** A symlink's target, byte-exact. */
    public byte[] readlink(byte[] path) throws PosixException {
        byte[] cpath = c(path);
        Pointer buf = scratch.get();
        long size = buf.size();
        while (true) {
            long n = libc.readlinkat(AT_FDCWD, cpath, buf, size);
            if (n < 0) {
                throw error("readlink", path);
            }
            if (n < size) {
                byte[] out = new byte[(int) n];
                buf.get(0, out, 0, out.length);
                return out;
            }
            size *= 4;
            buf = Memory.allocateDirect(runtime, size, false);
        }
    }

    /** The names in a directory, in the order the filesystem returns them, without "." and "..". */
    public List<DirEntry> listDirectory(byte[] path) throws PosixException {
        int fd = openDirectory(path);
        try {
            return listDirectory(fd, path);
        } finally {
            closeQuietly(fd);
        }
    }

    /** Opens a directory (not following a symlink) for {@link #listDirectory(int, byte[])} and {@link #lstatAt}. */
    public int openDirectory(byte[] path) throws PosixException {
        return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    }

    /** The names in an open directory (read from its current position); {@code path} is for errors. */
    public List<DirEntry> listDirectory(int fd, byte[] path) throws PosixException {
        if (SYS_GETDENTS64 < 0) {
            throw new UnsupportedOperationException(
                    "listing directories is not supported on " + System.getProperty("os.arch"));
        }
        List<DirEntry> out = new ArrayList<>();
        Pointer buf = scratch.get();
        byte[] raw = rawScratch.get();
        while (true) {
            long n = libc.syscall(SYS_GETDENTS64, fd, buf, buf.size());
            if (n < 0) {
                throw error("getdents64", path);
            }
            if (n == 0) {
                return out;
            }
            buf.get(0, raw, 0, (int) n);
            int off = 0;
            while (off < n) {
                int reclen = (raw[off + 16] & 0xff) | (raw[off + 17] & 0xff) << 8;
                int type = raw[off + 18] & 0xff;
                int end = off + 19;
                while (end < off + reclen && raw[end] != 0) {
                    end++;
                }
                int len = end - off - 19;
                boolean dot = (len == 1 && raw[off + 19] == '.')
                        || (len == 2 && raw[off + 19] == '.' && raw[off + 20] == '.');
                if (!dot) {
                    long ino = (long) LONG_VIEW.get(raw, off);
                    out.add(new DirEntry(Arrays.copyOfRange(raw, off + 19, end), type, ino));
                }
                off += reclen;
            }
        }
    }

    /**
     * lstat of {@code name} in the open directory {@code dirfd}: no path walk from the root, so
     * cheaper than {@link #lstat} in a tree walk. {@code pathForErrors} names it in messages.
     */
    public Stat lstatAt(int dirfd, byte[] name, byte[] pathForErrors) throws PosixException {
        return statx(dirfd, c(name), AT_SYMLINK_NOFOLLOW, "lstat", pathForErrors);
    }

    // ---- extended attributes

    /** The names of all extended attributes of {@code path} (not following a symlink), any namespace. */
    public List<String> listXattrs(byte[] path) throws PosixException {
        byte[] cpath = c(path);
        Pointer buf = scratch.get();
        long n = libc.llistxattr(cpath, buf, buf.size());
        if (n < 0) {
            int errno = runtime.getLastError();
            if (errno == Errno.EOPNOTSUPP) {
                return List.of();
            }
            if (errno != Errno.ERANGE) {
                throw error("llistxattr", display(path), errno);
            }
            long size = libc.llistxattr(cpath, null, 0);
            if (size < 0) {
                throw error("llistxattr", path);
            }
            buf = Memory.allocateDirect(runtime, size + 1, false);
            n = libc.llistxattr(cpath, buf, size + 1);
            if (n < 0) {
                throw error("llistxattr", path);
            }
        }
        if (n == 0) {
            return List.of();
        }
        byte[] raw = new byte[(int) n];
        buf.get(0, raw, 0, raw.length);
        List<String> names = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == 0) {
                if (i > start) {
                    names.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                }
                start = i + 1;
            }
        }
        return names;
    }

    /** One extended attribute's value (not following a symlink). */
    public byte[] getXattr(byte[] path, String name) throws PosixException {
        byte[] cpath = c(path);
        byte[] cname = c(name.getBytes(StandardCharsets.UTF_8));
        Pointer buf = scratch.get();
        long n = libc.lgetxattr(cpath, cname, buf, buf.size());
        while (n < 0) {
            int errno = runtime.getLastError();
            if (errno != Errno.ERANGE) {
                throw error("lgetxattr " + name, display(path), errno);
            }
            long size = libc.lgetxattr(cpath, cname, null, 0);
            if (size < 0) {
                throw error("lgetxattr " + name, path);
            }
            buf = Memory.allocateDirect(runtime, size + 1, false);
            n = libc.lgetxattr(cpath, cname, buf, size + 1);
        }
        byte[] out = new byte[(int) n];
        buf.get(0, out, 0, out.length);
        return out;
    }

    /**
     * All extended attributes by name (not following a symlink). An attribute removed between
     * listing and reading is left out.
     */
    public SortedMap<String, byte[]> getXattrs(byte[] path) throws PosixException {
        List<String> names = listXattrs(path);
        if (names.isEmpty()) {
            return Collections.emptySortedMap();
        }
        TreeMap<String, byte[]> out = new TreeMap<>();
        for (String name : names) {
            try {
                out.put(name, getXattr(path, name));
            } catch (PosixException e) {
                if (e.errno() != Errno.ENODATA) {
                    throw e;
                }
            }
        }
        return out;
    }

    /** Sets an extended attribute (not following a symlink); {@code flags}: XATTR_CREATE/REPLACE or 0. */
    public void setXattr(byte[] path, String name, byte[] value, int flags) throws PosixException {
        if (libc.lsetxattr(c(path), c(name.getBytes(StandardCharsets.UTF_8)), value, value.length, flags) != 0) {
            int errno = runtime.getLastError();
            throw error("lsetxattr " + name, display(path), errno);
        }
    }

    public void removeXattr(byte[] path, String name) throws PosixException {
        if (libc.lremovexattr(c(path), c(name.getBytes(StandardCharsets.UTF_8))) != 0) {
            throw error("lremovexattr " + name, path);
        }
    }

    // ---- file descriptors

    /** open(2); {@code mode} matters only with O_CREAT. */
    public int open(byte[] path, int flags, int mode) throws PosixException {
        int fd = libc.openat(AT_FDCWD, c(path), flags, mode);
        if (fd < 0) {
            throw error("open", path);
        }
        return fd;
    }

    public void close(int fd) throws PosixException {
        if (libc.close(fd) != 0) {
            throw error("close", (String) null, runtime.getLastError());
        }
    }

    /** close(2), ignoring errors (for cleanup paths). */
    public void closeQuietly(int fd) {
        libc.close(fd);
    }

    /** Reads up to {@code len} bytes; 0 at end of file. Retries on EINTR. */
    public int read(int fd, byte[] dst, int off, int len) throws PosixException {
        Pointer buf = ioBuf.get();
        int want = (int) Math.min(len, buf.size());
        while (true) {
            long n = libc.read(fd, buf, want);
            if (n >= 0) {
                buf.get(0, dst, off, (int) n);
                return (int) n;
            }
            int errno = runtime.getLastError();
            if (errno != Errno.EINTR) {
                throw error("read", (String) null, errno);
            }
        }
    }

    /** Writes all of {@code src[off, off+len)}. */
    public void write(int fd, byte[] src, int off, int len) throws PosixException {
        Pointer buf = ioBuf.get();
        while (len > 0) {
            int chunk = (int) Math.min(len, buf.size());
            buf.put(0, src, off, chunk);
            int done = 0;
            while (done < chunk) {
                long n = libc.write(fd, buf.slice(done), chunk - done);
                if (n < 0) {
                    int errno = runtime.getLastError();
                    if (errno == Errno.EINTR) {
                        continue;
                    }
                    throw error("write", (String) null, errno);
                }
                done += (int) n;
            }
            off += chunk;
            len -= chunk;
        }
    }

    public long lseek(int fd, long offset, int whence) throws PosixException {
        long r = libc.lseek(fd, offset, whence);
        if (r < 0) {
            throw error("lseek", (String) null, runtime.getLastError());
        }
        return r;
    }

    public void ftruncate(int fd, long length) throws PosixException {
        if (libc.ftruncate(fd, length) != 0) {
            throw error("ftruncate", (String) null, runtime.getLastError());
        }
    }

    public void fsync(int fd) throws PosixException {
        if (libc.fsync(fd) != 0) {
            throw error("fsync", (String) null, runtime.getLastError());
        }
    }

    /** A stream over {@code fd} that closes it on {@link InputStream#close()}. */
    public InputStream inputStream(int fd, byte[] pathForErrors) {
        return new FdInputStream(this, fd, pathForErrors);
    }

    /**
     * A stream writing {@code fd} from offset 0 (a new file) that closes it on close. With {@code
     * sparse}, writes that are all zeros become holes (the stream seeks over them and sets the final
     * length on close).
     */
    public OutputStream outputStream(int fd, byte[] pathForErrors, boolean sparse) {
        return new FdOutputStream(this, fd, pathForErrors, sparse);
    }
}
