package dev.txfs.fs.fuse;

import dev.txfs.fs.FsOps;
import dev.txfs.fs.FsOps.Attr;
import dev.txfs.fs.FsOps.Caller;
import dev.txfs.fs.FsOps.Entry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The kernel side of a mount: reader threads on {@code /dev/fuse} that decode requests, call
 * {@link FsOps}, and answer every request exactly once (FORGET, BATCH_FORGET and INTERRUPT take
 * no answer). Structures follow {@code linux/fuse.h}, protocol 7.38, little-endian.
 *
 * <p>Implementation notes: each reader thread owns a cloned fd (FUSE_DEV_IOC_CLONE) and two
 * direct buffers; a reply goes to the fd its request came from. A handler's exception becomes an
 * errno through {@link Errnos}; an unexpected one is logged and answered EIO, never left
 * unanswered (a caller would hang in D state) and never fatal to the loop. Cache-invalidation
 * notifications are queued and written by their own thread, never from a handler: the kernel may
 * hold locks a handler's request holds (FUSE-NOTES: deadlock rules). INTERRUPT is ignored: every
 * handler finishes promptly and answers normally, which the protocol allows.
 *
 * <p>Threads: {@link #start} spawns the readers; {@link #awaitEnd} returns when the kernel has
 * let go (ENODEV on read after unmount) or DESTROY was answered.
 */
public final class FuseSession {
    private static final Logger LOG = Logger.getLogger(FuseSession.class.getName());

    static final int IN_HEADER = 40;
    static final int OUT_HEADER = 16;
    static final int MAX_WRITE = 1 << 20;
    static final int BUFFER = MAX_WRITE + 4096;

    // opcodes (enum fuse_opcode)
    static final int LOOKUP = 1,
            FORGET = 2,
            GETATTR = 3,
            SETATTR = 4,
            READLINK = 5,
            SYMLINK = 6,
            MKNOD = 8,
            MKDIR = 9,
            UNLINK = 10,
            RMDIR = 11,
            RENAME = 12,
            LINK = 13,
            OPEN = 14,
            READ = 15,
            WRITE = 16,
            STATFS = 17,
            RELEASE = 18,
            FSYNC = 20,
            SETXATTR = 21,
            GETXATTR = 22,
            LISTXATTR = 23,
            REMOVEXATTR = 24,
            FLUSH = 25,
            INIT = 26,
            OPENDIR = 27,
            READDIR = 28,
            RELEASEDIR = 29,
            FSYNCDIR = 30,
            ACCESS = 34,
            CREATE = 35,
            INTERRUPT = 36,
            DESTROY = 38,
            BATCH_FORGET = 42,
            FALLOCATE = 43,
            READDIRPLUS = 44,
            RENAME2 = 45,
            LSEEK = 46;

    // INIT flags
    static final int ASYNC_READ = 1,
            BIG_WRITES = 1 << 5,
            DONT_MASK = 1 << 6,
            DO_READDIRPLUS = 1 << 13,
            READDIRPLUS_AUTO = 1 << 14,
            PARALLEL_DIROPS = 1 << 18,
            POSIX_ACL = 1 << 20,
            MAX_PAGES = 1 << 22;
    static final int FOPEN_DIRECT_IO = 1, FOPEN_KEEP_CACHE = 2;

    private final FsOps ops;
    private final int sessionFd;
    private final int threads;
    private final CountDownLatch ended;
    private final HeapGuard heap = HeapGuard.get();
    /** byte[] notifications, and CountDownLatch markers that {@link #awaitNotifications} waits on. */
    private final BlockingQueue<Object> notifications = new LinkedBlockingQueue<>();

    private volatile boolean stopping;
    private volatile int minor = 38;

    public FuseSession(FsOps ops, int sessionFd, int threads) {
        this.ops = ops;
        this.sessionFd = sessionFd;
        this.threads = threads;
        this.ended = new CountDownLatch(threads);
    }

    /** Starts the reader threads and the notification writer. */
    public void start() throws IOException {
        List<Integer> fds = new ArrayList<>();
        fds.add(sessionFd);
        for (int i = 1; i < threads; i++) {
            fds.add(FuseDevice.cloneFd(sessionFd));
        }
        for (int i = 0; i < threads; i++) {
            int fd = fds.get(i);
            Thread t = new Thread(() -> readLoop(fd), "fuse-reader-" + i);
            t.setDaemon(true);
            t.start();
        }
        Thread n = new Thread(this::notifyLoop, "fuse-notify");
        n.setDaemon(true);
        n.start();
    }

    /** Blocks until the kernel has let go of the mount. */
    public void awaitEnd() throws InterruptedException {
        ended.await();
    }

    public boolean awaitEnd(long millis) throws InterruptedException {
        return ended.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Drops the kernel's cached attributes (off=-1) or attributes and pages (off>=0) of an inode. */
    public void invalidateInode(long ino, long off, long len) {
        ByteBuffer b = ByteBuffer.allocate(OUT_HEADER + 24).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(OUT_HEADER + 24).putInt(2).putLong(0).putLong(ino).putLong(off).putLong(len);
        notifications.add(b.array());
    }

    /** Drops the kernel's cached name {@code name} in directory {@code parent}. */
    public void invalidateEntry(long parent, byte[] name) {
        int len = OUT_HEADER + 16 + name.length + 1;
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(len)
                .putInt(3)
                .putLong(0)
                .putLong(parent)
                .putInt(name.length)
                .putInt(0)
                .put(name)
                .put((byte) 0);
        notifications.add(b.array());
    }

    /**
     * Waits until every notification queued so far has been written (the kernel has applied it),
     * at most {@code millis}; false on timeout. Never call it holding a lock a request handler needs.
     */
    public boolean awaitNotifications(long millis) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        notifications.add(done);
        return done.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private void notifyLoop() {
        ByteBuffer out = ByteBuffer.allocateDirect(64 * 1024);
        while (!stopping) {
            try {
                Object item = notifications.take();
                if (item instanceof CountDownLatch done) {
                    done.countDown();
                    continue;
                }
                byte[] n = (byte[]) item;
                out.clear();
                out.put(n);
                int r = FuseDevice.write(sessionFd, out, n.length);
                if (r < 0 && r != -FuseDevice.ENOENT && r != -FuseDevice.ENODEV) {
                    LOG.fine("notification failed: errno " + -r);
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void readLoop(int fd) {
        ByteBuffer in = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        try {
            while (!stopping) {
                in.clear();
                int n = FuseDevice.read(fd, in);
                if (n == -FuseDevice.ENODEV) {
                    break; // unmounted
                }
                if (n == -FuseDevice.EINTR || n == -FuseDevice.EAGAIN || n == -FuseDevice.ENOENT) {
                    continue;
                }
                if (n < 0) {
                    LOG.severe("read from /dev/fuse failed: errno " + -n);
                    break;
                }
                in.limit(n);
                handle(fd, in, out);
            }
        } finally {
            stopping = true;
            if (fd != sessionFd) {
                FuseDevice.close(fd);
            }
            ended.countDown();
        }
    }

    private void handle(int fd, ByteBuffer in, ByteBuffer out) {
        int opcode = in.getInt(4);
        long unique = in.getLong(8);
        long nodeid = in.getLong(16);
        Caller caller =
                new Caller(in.getInt(24) & 0xffffffffL, in.getInt(28) & 0xffffffffL, in.getInt(32) & 0xffffffffL);
        in.position(IN_HEADER);
        out.clear();
        out.position(OUT_HEADER);
        int error;
        try {
            error = changesTree(opcode) && heap.full() ? Errnos.ENOSPC : dispatch(opcode, nodeid, caller, in, out);
        } catch (Throwable t) {
            error = Errnos.of(t);
            if (error == 0) {
                LOG.log(Level.WARNING, "opcode " + opcode + " on node " + nodeid + " failed", t);
                error = Errnos.EIO;
            }
            out.position(OUT_HEADER);
        }
        if (error == NO_REPLY) {
            return;
        }
        if (error != 0) {
            out.position(OUT_HEADER);
        }
        int len = out.position();
        out.putInt(0, len).putInt(4, -error).putLong(8, unique);
        int r = FuseDevice.write(fd, out, len);
        if (r == -FuseDevice.EINVAL) {
            LOG.warning("kernel rejected the reply to opcode " + opcode + "; answering EIO");
            out.putInt(0, OUT_HEADER).putInt(4, -Errnos.EIO).putLong(8, unique);
            FuseDevice.write(fd, out, OUT_HEADER);
        }
        if (opcode == DESTROY) {
            stopping = true;
        }
    }

    private static final int NO_REPLY = -1;

    /**
     * The requests refused while the heap is nearly full ({@link HeapGuard}): every change to a
     * tree's entries or metadata. Not WRITE (dirty pages are capped, and a full heap must not
     * stop the control file's commit), not reads, FORGET, RELEASE or FSYNC.
     */
    private static boolean changesTree(int opcode) {
        return switch (opcode) {
            case CREATE, MKNOD, MKDIR, SYMLINK, LINK, UNLINK, RMDIR, RENAME, RENAME2, SETATTR, SETXATTR, REMOVEXATTR ->
                true;
            default -> false;
        };
    }

    private static byte[] cstring(ByteBuffer in) {
        int start = in.position();
        int end = start;
        while (end < in.limit() && in.get(end) != 0) {
            end++;
        }
        byte[] b = new byte[end - start];
        in.get(b);
        if (in.position() < in.limit()) {
            in.get(); // the NUL
        }
        return b;
    }

    private int dispatch(int opcode, long node, Caller c, ByteBuffer in, ByteBuffer out) throws Exception {
        switch (opcode) {
            case INIT -> init(in, out);
            case DESTROY -> ops.destroy();
            case LOOKUP -> putEntry(out, ops.lookup(c, node, cstring(in)));
            case FORGET -> {
                ops.forget(node, in.getLong());
                return NO_REPLY;
            }
            case BATCH_FORGET -> {
                int count = in.getInt();
                in.getInt();
                for (int i = 0; i < count && in.remaining() >= 16; i++) {
                    ops.forget(in.getLong(), in.getLong());
                }
                return NO_REPLY;
            }
            case INTERRUPT -> {
                return NO_REPLY;
            }
            case GETATTR -> {
                int flags = in.getInt();
                in.getInt();
                long fh = in.getLong();
                putAttrOut(out, ops.getattr(c, node, (flags & 1) != 0 ? fh : -1));
            }
            case SETATTR -> putAttrOut(out, setattr(c, node, in));
            case READLINK -> out.put(ops.readlink(c, node));
            case SYMLINK -> {
                byte[] name = cstring(in);
                putEntry(out, ops.symlink(c, node, name, cstring(in)));
            }
            case MKNOD -> {
                int mode = in.getInt();
                int rdev = in.getInt();
                int umask = in.getInt();
                in.getInt();
                putEntry(out, ops.mknod(c, node, cstring(in), mode, decodeDev(rdev), umask));
            }
            case MKDIR -> {
                int mode = in.getInt();
                int umask = in.getInt();
                putEntry(out, ops.mkdir(c, node, cstring(in), mode, umask));
            }
            case UNLINK -> ops.unlink(c, node, cstring(in));
            case RMDIR -> ops.rmdir(c, node, cstring(in));
            case RENAME -> {
                long newDir = in.getLong();
                byte[] name = cstring(in);
                ops.rename(c, node, name, newDir, cstring(in), 0);
            }
            case RENAME2 -> {
                long newDir = in.getLong();
                int flags = in.getInt();
                in.getInt();
                byte[] name = cstring(in);
                ops.rename(c, node, name, newDir, cstring(in), flags);
            }
            case LINK -> {
                long old = in.getLong();
                putEntry(out, ops.link(c, old, node, cstring(in)));
            }
            case OPEN -> putOpen(out, ops.open(c, node, in.getInt()));
            case CREATE -> {
                int flags = in.getInt();
                int mode = in.getInt();
                int umask = in.getInt();
                in.getInt();
                FsOps.Created cr = ops.create(c, node, cstring(in), mode, flags, umask);
                putEntry(out, cr.entry());
                putOpen(out, new FsOps.Opened(cr.fh(), cr.keepCache(), false));
            }
            case READ -> {
                long fh = in.getLong();
                long off = in.getLong();
                int size = Math.min(in.getInt(), out.capacity() - OUT_HEADER);
                ByteBuffer dst = out.slice(OUT_HEADER, size);
                int n = ops.read(c, node, fh, off, dst);
                out.position(OUT_HEADER + n);
            }
            case WRITE -> {
                long fh = in.getLong();
                long off = in.getLong();
                int size = in.getInt();
                in.position(IN_HEADER + 40);
                ByteBuffer src = in.slice(IN_HEADER + 40, Math.min(size, in.limit() - IN_HEADER - 40));
                int n = ops.write(c, node, fh, off, src);
                out.putInt(n).putInt(0);
            }
            case STATFS -> {
                FsOps.StatFs s = ops.statfs();
                out.putLong(s.blocks())
                        .putLong(s.bfree())
                        .putLong(s.bavail())
                        .putLong(s.files())
                        .putLong(s.ffree());
                out.putInt(s.bsize()).putInt(s.namelen()).putInt(s.bsize()).putInt(0);
                for (int i = 0; i < 6; i++) {
                    out.putInt(0);
                }
            }
            case RELEASE -> ops.release(node, in.getLong());
            case RELEASEDIR -> ops.releasedir(node, in.getLong());
            case FLUSH -> {
                // Nothing to do at close: writes reach the tree as they arrive, and locks are the
                // kernel's (no POSIX_LOCKS). ENOSYS makes the kernel stop sending FLUSH (no_flush),
                // one request less per open+close; close() still writes dirty pages out first.
                return Errnos.ENOSYS;
            }
            case FSYNC, FSYNCDIR -> {
                long fh = in.getLong();
                ops.fsync(node, fh, (in.getInt() & 1) != 0);
            }
            case SETXATTR -> {
                int size = in.getInt();
                int flags = in.getInt();
                String name = new String(cstring(in), StandardCharsets.UTF_8);
                byte[] value = new byte[Math.min(size, in.remaining())];
                in.get(value);
                ops.setxattr(c, node, name, value, flags);
            }
            case GETXATTR -> {
                int size = in.getInt();
                in.getInt();
                sized(out, ops.getxattr(c, node, new String(cstring(in), StandardCharsets.UTF_8)), size);
            }
            case LISTXATTR -> {
                int size = in.getInt();
                var names = new java.io.ByteArrayOutputStream();
                for (String n : ops.listxattr(c, node)) {
                    names.writeBytes(n.getBytes(StandardCharsets.UTF_8));
                    names.write(0);
                }
                sized(out, names.toByteArray(), size);
            }
            case REMOVEXATTR -> ops.removexattr(c, node, new String(cstring(in), StandardCharsets.UTF_8));
            case ACCESS -> ops.access(c, node, in.getInt());
            case OPENDIR -> putOpen(out, ops.opendir(c, node));
            case READDIR, READDIRPLUS -> readdir(c, node, in, out, opcode == READDIRPLUS);
            case FALLOCATE -> {
                long fh = in.getLong();
                long off = in.getLong();
                long len = in.getLong();
                ops.fallocate(c, node, fh, in.getInt(), off, len);
            }
            case LSEEK -> {
                long fh = in.getLong();
                long off = in.getLong();
                out.putLong(ops.lseek(c, node, fh, off, in.getInt()));
            }
            default -> {
                return Errnos.ENOSYS;
            }
        }
        return 0;
    }

    private void init(ByteBuffer in, ByteBuffer out) {
        int major = in.getInt();
        int kminor = in.getInt();
        int readahead = in.getInt();
        int kflags = in.getInt();
        out.putInt(7);
        if (major > 7) {
            // Ask for 7.x; the kernel answers again with INIT in our major.
            out.putInt(38);
            return;
        }
        minor = Math.min(kminor, 38);
        // POSIX_ACL: the kernel enforces ACLs (we mount with default_permissions) and drops its
        // cached ACLs and attributes when one is set; DONT_MASK: we apply the umask, since a
        // directory's default ACL replaces it (the kernel sends the umask in each request).
        int flags = kflags
                & (ASYNC_READ
                        | BIG_WRITES
                        | DONT_MASK
                        | PARALLEL_DIROPS
                        | POSIX_ACL
                        | MAX_PAGES
                        | DO_READDIRPLUS
                        | READDIRPLUS_AUTO);
        out.putInt(minor).putInt(readahead).putInt(flags);
        out.putShort((short) 16).putShort((short) 12); // max_background, congestion_threshold
        out.putInt(MAX_WRITE).putInt(1); // max_write, time_gran (ns)
        out.putShort((short) (MAX_WRITE / 4096)).putShort((short) 0); // max_pages, map_alignment
        out.putInt(0); // flags2
        for (int i = 0; i < 7; i++) {
            out.putInt(0);
        }
    }

    private static void sized(ByteBuffer out, byte[] value, int size) throws dev.txfs.fs.FsException {
        if (size == 0) {
            out.putInt(value.length).putInt(0);
        } else if (value.length > size) {
            throw new dev.txfs.fs.FsException(dev.txfs.fs.FsException.Kind.RANGE, "buffer too small");
        } else {
            out.put(value);
        }
    }

    private FsOps.Attr setattr(Caller c, long node, ByteBuffer in) throws IOException {
        int valid = in.getInt();
        in.getInt();
        long fh = in.getLong();
        long size = in.getLong();
        in.getLong(); // lock_owner
        long atime = in.getLong();
        long mtime = in.getLong();
        in.getLong(); // ctime
        int atimens = in.getInt();
        int mtimens = in.getInt();
        in.getInt(); // ctimensec
        int mode = in.getInt();
        in.getInt();
        int uid = in.getInt();
        int gid = in.getInt();
        FsOps.SetAttr s = new FsOps.SetAttr(
                (valid & 1) != 0 ? mode : null,
                (valid & 2) != 0 ? (Long) (uid & 0xffffffffL) : null,
                (valid & 4) != 0 ? (Long) (gid & 0xffffffffL) : null,
                (valid & 8) != 0 ? (Long) size : null,
                (valid & 16) != 0 ? (Long) (atime * 1_000_000_000L + atimens) : null,
                (valid & 32) != 0 ? (Long) (mtime * 1_000_000_000L + mtimens) : null,
                (valid & 128) != 0,
                (valid & 256) != 0);
        return ops.setattr(c, node, (valid & 64) != 0 ? fh : -1, s);
    }

    private void readdir(Caller c, long node, ByteBuffer in, ByteBuffer out, boolean plus) throws IOException {
        long fh = in.getLong();
        long offset = in.getLong();
        int size = Math.min(in.getInt(), out.capacity() - OUT_HEADER);
        int limit = OUT_HEADER + size;
        int estimate = Math.max(1, size / (plus ? 180 : 40));
        boolean full = false;
        for (FsOps.DirEntry e : ops.readdir(c, node, fh, offset, estimate, plus)) {
            int nameLen = e.name().length;
            int rec = (24 + nameLen + 7) & ~7;
            int need = (plus ? 128 : 0) + rec;
            if (full || out.position() + need > limit) {
                // Not sent: the kernel never counts this lookup, so neither may we.
                full = true;
                if (e.entry() != null) {
                    ops.forget(e.entry().ino(), 1);
                }
                continue;
            }
            if (plus) {
                if (e.entry() != null) {
                    putEntry(out, e.entry());
                } else {
                    for (int i = 0; i < 128; i++) {
                        out.put((byte) 0);
                    }
                }
            }
            int start = out.position();
            out.putLong(e.ino()).putLong(e.nextOffset()).putInt(nameLen).putInt((e.mode() >>> 12) & 017);
            out.put(e.name());
            while (out.position() - start < rec) {
                out.put((byte) 0);
            }
        }
    }

    private static void putOpen(ByteBuffer out, FsOps.Opened o) {
        int flags = (o.keepCache() ? FOPEN_KEEP_CACHE : 0) | (o.directIo() ? FOPEN_DIRECT_IO : 0);
        out.putLong(o.fh()).putInt(flags).putInt(0);
    }

    private static void putEntry(ByteBuffer out, Entry e) {
        out.putLong(e.ino()).putLong(e.generation());
        out.putLong(e.entryValidNs() / 1_000_000_000L).putLong(e.attrValidNs() / 1_000_000_000L);
        out.putInt((int) (e.entryValidNs() % 1_000_000_000L)).putInt((int) (e.attrValidNs() % 1_000_000_000L));
        putAttr(out, e.attr());
    }

    private void putAttrOut(ByteBuffer out, Attr a) {
        long v = ops.attrValidNs(a.ino());
        out.putLong(v / 1_000_000_000L).putInt((int) (v % 1_000_000_000L)).putInt(0);
        putAttr(out, a);
    }

    private static void putAttr(ByteBuffer out, Attr a) {
        out.putLong(a.ino()).putLong(a.size()).putLong(a.blocks());
        out.putLong(Math.floorDiv(a.atimeNs(), 1_000_000_000L))
                .putLong(Math.floorDiv(a.mtimeNs(), 1_000_000_000L))
                .putLong(Math.floorDiv(a.ctimeNs(), 1_000_000_000L));
        out.putInt((int) Math.floorMod(a.atimeNs(), 1_000_000_000L))
                .putInt((int) Math.floorMod(a.mtimeNs(), 1_000_000_000L))
                .putInt((int) Math.floorMod(a.ctimeNs(), 1_000_000_000L));
        out.putInt(a.mode()).putInt((int) Math.min(a.nlink(), 0xffffffffL));
        out.putInt((int) a.uid()).putInt((int) a.gid()).putInt(encodeDev(a.rdev()));
        out.putInt(4096).putInt(0); // blksize, flags
    }

    /** The kernel's 32-bit new_encode_dev of a userspace dev_t. */
    static int encodeDev(long dev) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return (int) ((minor & 0xff) | (major << 8) | ((minor & ~0xffL) << 12));
    }

    /** A userspace dev_t from the kernel's 32-bit encoding (mknod requests). */
    static long decodeDev(int dev) {
        long d = dev & 0xffffffffL;
        long major = (d & 0xfff00) >>> 8;
        long minor = (d & 0xff) | ((d >>> 12) & 0xfff00);
        return ((major & 0xfff) << 8) | ((major & ~0xfffL) << 32) | (minor & 0xff) | ((minor & ~0xffL) << 12);
    }
}
