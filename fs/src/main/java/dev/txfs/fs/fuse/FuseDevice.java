package dev.txfs.fs.fuse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * {@code /dev/fuse}: opening it, cloning a session fd per reader thread (FUSE_DEV_IOC_CLONE),
 * and raw read(2)/write(2) on direct buffers. Raw calls, not a FileChannel: a FileChannel
 * serialises readers and closes itself when a reading thread is interrupted.
 */
final class FuseDevice {
    static final FuseSyscalls LIBC = LibraryLoader.create(FuseSyscalls.class).load("c");
    static final Runtime RUNTIME = Runtime.getRuntime(LIBC);
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 02000000;
    /** _IOR(229, 0, uint32_t). */
    private static final long FUSE_DEV_IOC_CLONE = 0x8004e500L;

    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENODEV = 19;
    static final int EINVAL = 22;

    private FuseDevice() {}

    static int open() throws IOException {
        int fd = LIBC.open(cstr("/dev/fuse"), O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            throw new IOException("cannot open /dev/fuse: " + errnoName(errno()) + " (is the fuse module loaded?)");
        }
        return fd;
    }

    /** A new fd attached to the session of {@code sessionFd}, for one more reader thread. */
    static int cloneFd(int sessionFd) throws IOException {
        int fd = open();
        Pointer arg = jnr.ffi.Memory.allocateDirect(RUNTIME, 4);
        arg.putInt(0, sessionFd);
        if (LIBC.ioctl(fd, FUSE_DEV_IOC_CLONE, arg) < 0) {
            int e = errno();
            LIBC.close(fd);
            throw new IOException("FUSE_DEV_IOC_CLONE failed: " + errnoName(e));
        }
        return fd;
    }

    /** Reads one request; returns its length, or -errno. */
    static int read(int fd, ByteBuffer direct) {
        direct.position(0); // jnr wraps from the buffer's position
        Pointer p = Pointer.wrap(RUNTIME, direct);
        long n = LIBC.read(fd, p, direct.capacity());
        return n < 0 ? -errno() : (int) n;
    }

    /** Writes one reply or notification of {@code len} bytes; returns 0 or -errno. */
    static int write(int fd, ByteBuffer direct, int len) {
        direct.position(0); // jnr wraps from the buffer's position
        Pointer p = Pointer.wrap(RUNTIME, direct);
        long n = LIBC.write(fd, p, len);
        return n < 0 ? -errno() : 0;
    }

    static void close(int fd) {
        LIBC.close(fd);
    }

    static int errno() {
        return RUNTIME.getLastError();
    }

    static String errnoName(int e) {
        return switch (e) {
            case 1 -> "EPERM";
            case 2 -> "ENOENT";
            case 13 -> "EACCES";
            case 16 -> "EBUSY";
            case 19 -> "ENODEV";
            case 20 -> "ENOTDIR";
            case 22 -> "EINVAL";
            default -> "errno " + e;
        };
    }

    static byte[] cstr(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[b.length + 1];
        System.arraycopy(b, 0, out, 0, b.length);
        return out;
    }
}
