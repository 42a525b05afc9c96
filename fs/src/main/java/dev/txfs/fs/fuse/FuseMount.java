package dev.txfs.fs.fuse;

import dev.txfs.fs.FsOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Mounting and unmounting: {@code mount(2)} of type {@code fuse.txfs} with a fresh
 * {@code /dev/fuse} fd, then a {@link FuseSession} serving it.
 *
 * <p>Options: {@code allow_other} and {@code default_permissions} always (the kernel checks
 * permissions against the modes we report); {@code nosuid,nodev} unless {@code rootfs} asks for
 * a machine's root. As root this is {@code mount(2)}; other users mount and unmount through
 * {@code fusermount3} ({@link Fusermount}), with {@code allow_other} only where
 * {@code /etc/fuse.conf} permits it.
 */
public final class FuseMount implements AutoCloseable {
    private static final long MS_NOSUID = 2;
    private static final long MS_NODEV = 4;
    private static final int MNT_DETACH = 2;

    private final Path mountpoint;
    private final FuseSession session;
    private final int fd;
    private boolean unmounted;

    private FuseMount(Path mountpoint, FuseSession session, int fd) {
        this.mountpoint = mountpoint;
        this.session = session;
        this.fd = fd;
    }

    /**
     * Mounts {@code ops} at {@code mountpoint} and starts serving; returns once the kernel has the
     * mount (requests are answered from then on).
     */
    public static FuseMount mount(
            FsOps ops, Path mountpoint, String source, boolean rootfs, int threads, List<String> extra)
            throws IOException {
        Path mp = mountpoint.toAbsolutePath().normalize();
        if (!Files.isDirectory(mp)) {
            throw new IOException("mount point is not a directory: " + mp);
        }
        int fd;
        if (Fusermount.euid() != 0) {
            // Not root: fusermount3 mounts for us (user_id/group_id are ours; nosuid,nodev forced).
            if (rootfs) {
                throw new IOException("a root filesystem mount (dev, suid) needs root");
            }
            StringBuilder o =
                    new StringBuilder("rootmode=40000,user_id=" + Fusermount.euid() + ",group_id=" + Fusermount.egid()
                            + ",default_permissions,fsname=" + source.replace(",", "\\,") + ",subtype=txfs");
            if (Fusermount.userAllowOther()) {
                o.append(",allow_other");
            }
            fd = Fusermount.mount(mp, o.toString());
        } else {
            fd = FuseDevice.open();
            StringBuilder data = new StringBuilder(
                    "fd=" + fd + ",rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions");
            for (String o : extra) {
                data.append(',').append(o);
            }
            long flags = rootfs ? 0 : (MS_NOSUID | MS_NODEV);
            int r = FuseDevice.LIBC.mount(
                    FuseDevice.cstr(source),
                    FuseDevice.cstr(mp.toString()),
                    FuseDevice.cstr("fuse.txfs"),
                    flags,
                    FuseDevice.cstr(data.toString()));
            if (r != 0) {
                int e = FuseDevice.errno();
                FuseDevice.close(fd);
                throw new IOException("mount of " + mp + " failed: " + FuseDevice.errnoName(e));
            }
        }
        FuseSession session = new FuseSession(ops, fd, threads);
        session.start();
        return new FuseMount(mp, session, fd);
    }

    public FuseSession session() {
        return session;
    }

    public Path mountpoint() {
        return mountpoint;
    }

    /** Unmounts (lazily if {@code detach}) and waits until the kernel has let go. */
    public static void unmount(Path mountpoint, boolean detach) throws IOException {
        if (Fusermount.euid() != 0) {
            Fusermount.unmount(mountpoint.toAbsolutePath().normalize(), detach);
            return;
        }
        int r = FuseDevice.LIBC.umount2(
                FuseDevice.cstr(mountpoint.toAbsolutePath().normalize().toString()), detach ? MNT_DETACH : 0);
        if (r != 0) {
            int e = FuseDevice.errno();
            throw new IOException("unmount of " + mountpoint + " failed: " + FuseDevice.errnoName(e)
                    + (e == 16 ? " (busy: a process is using it)" : ""));
        }
    }

    /** Blocks until the session ends (the mount was unmounted). */
    public void awaitEnd() throws InterruptedException {
        session.awaitEnd();
    }

    @Override
    public void close() throws IOException {
        if (unmounted) {
            return;
        }
        unmounted = true;
        try {
            unmount(mountpoint, false);
        } catch (IOException e) {
            unmount(mountpoint, true);
        }
        try {
            session.awaitEnd(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        FuseDevice.close(fd);
    }
}
