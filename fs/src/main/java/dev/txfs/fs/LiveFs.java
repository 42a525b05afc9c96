package dev.txfs.fs;

import dev.txfs.fs.FsException.Kind;
import dev.txfs.fs.fuse.PosixAcl;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableNode.File;
import dev.txfs.snapshot.MutableNode.Special;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.MutableTree.RenameMode;
import dev.txfs.snapshot.MutableTree.XattrMode;
import dev.txfs.snapshot.TreeExceptions;
import dev.txfs.txn.LiveTree;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.function.LongSupplier;

/**
 * POSIX semantics over the live tree, by inode number: the inode table, open handles, attributes
 * and the rules the kernel leaves to the filesystem (ownership of new nodes, setgid directories,
 * xattr namespaces, fallocate modes).
 *
 * <p>Inode table: a node's number is its {@link MutableNode#serial()} (the root's is 1), so it is
 * the same every time the kernel looks the node up, also after a FORGET; the table maps the numbers
 * the kernel holds a lookup count on (FORGET drops them) back to nodes. Numbers are never reused
 * within a mount, so the generation is always 0. Only the live view exists so far; a transaction's
 * diverged nodes are distinct node objects and so get numbers of their own. st_ino is the inode
 * number: stable while mounted, not across remounts.
 *
 * <p>Not in the tree, kept here for the mount's life: atimes set by utimensat (the tree keeps no
 * atime; st_atime is the mtime otherwise) and which nodes lost their last name while open (st_nlink
 * 0).
 *
 * <p>POSIX ACLs (the kernel enforces them: FUSE_POSIX_ACL) are xattrs whose meaning the
 * filesystem keeps: setting an access ACL sets the mode, and one the mode says all of is not
 * stored; chmod rewrites the access ACL; a new node inherits its directory's default ACL, else
 * the caller's umask applies (FUSE_DONT_MASK). See {@link PosixAcl}.
 *
 * <p>Caching: nothing but the kernel changes the live tree yet, so names and attributes are
 * cached for {@link #VALID_NS} and files keep their page cache across opens.
 *
 * <p>Locking: every call holds the live tree's lock; reader threads serialise here (one
 * MutableTree is not thread-safe). Files may stay open after unlink: a handle holds its node.
 */
public final class LiveFs implements FsOps {
    static final long VALID_NS = 60_000_000_000L;
    private static final int S_IFMT = 0170000;
    private static final int S_ISGID = 02000;

    private final LiveTree live;
    private final MutableTree tree;
    private final Object lock;
    private final LongSupplier clock;
    private final StatFsSource statfs;
    private final Map<Long, MutableNode> nodes = new HashMap<>();
    private final Map<Long, Long> lookups = new HashMap<>();
    private final Map<Long, Handle> handles = new HashMap<>();
    /** Explicitly set atimes (MutableNode has identity equality, so weak keys are safe). */
    private final Map<MutableNode, Long> atimes = new WeakHashMap<>();
    /** Nodes that lost their last name (still open somewhere). */
    private final Set<MutableNode> orphans = Collections.newSetFromMap(new WeakHashMap<>());

    private long nextFh = 1;
    private final Runnable onDestroy;

    /** Where statfs numbers come from (the store's device and map). */
    public interface StatFsSource {
        StatFs get() throws IOException;
    }

    private record Handle(MutableNode node, int flags, List<DirEntry> listing) {}

    public LiveFs(LiveTree live, LongSupplier clock, StatFsSource statfs, Runnable onDestroy) {
        this.live = live;
        this.tree = live.tree();
        this.lock = live.lock();
        this.clock = clock;
        this.statfs = statfs;
        this.onDestroy = onDestroy;
        nodes.put(ROOT, tree.root());
    }

    /** How many inodes the kernel holds a lookup count on (the root included); for tests. */
    int inodesHeld() {
        synchronized (lock) {
            return nodes.size();
        }
    }

    @Override
    public long attrValidNs() {
        return VALID_NS;
    }

    private MutableNode node(long ino) throws NoSuchFileException {
        MutableNode n = nodes.get(ino);
        if (n == null) {
            throw new NoSuchFileException("inode " + ino);
        }
        return n;
    }

    private Dir dir(long ino) throws IOException {
        if (!(node(ino) instanceof Dir d)) {
            throw new NotDirectoryException("inode " + ino);
        }
        return d;
    }

    /** The node's inode number: stable for the node object's life, whatever the kernel forgets. */
    long inoOf(MutableNode n) {
        return n == tree.root() ? ROOT : n.serial() + 1;
    }

    private Attr attr(MutableNode n) {
        long ino = inoOf(n);
        long size = n.size();
        long rdev = n instanceof Special s ? s.rdev() : 0;
        return new Attr(
                ino,
                size,
                (size + 511) / 512,
                atimes.getOrDefault(n, n.mtimeNs()),
                n.mtimeNs(),
                n.ctimeNs(),
                n.stMode(),
                orphans.contains(n) ? 0 : n.nlink(),
                n.uid(),
                n.gid(),
                rdev);
    }

    /** A reply entry; counts one kernel lookup of the node. */
    private Entry entry(MutableNode n) {
        long ino = inoOf(n);
        nodes.put(ino, n);
        lookups.merge(ino, 1L, Long::sum);
        return new Entry(ino, 0, attr(n), VALID_NS, VALID_NS);
    }

    /** Marks {@code n} as having no name left if so (after unlink, rmdir, or a rename over it). */
    private void noteIfOrphaned(MutableNode n) throws IOException {
        if (n != null && tree.pathOf(n).isEmpty()) {
            orphans.add(n);
            dropIfUnreachable(n);
        }
    }

    /**
     * Empties a file nothing can reach any more (no name, no open handle), so that its data is not
     * written out as chunks at the next sync only to be unreferenced.
     */
    private void dropIfUnreachable(MutableNode n) throws IOException {
        if (n instanceof File f && f.size() > 0 && orphans.contains(f)) {
            for (Handle h : handles.values()) {
                if (h.node() == f) {
                    return;
                }
            }
            tree.truncate(f, 0);
        }
    }

    @Override
    public Entry lookup(Caller c, long parent, byte[] name) throws IOException {
        synchronized (lock) {
            Dir d = dir(parent);
            if (name.length > 255) {
                throw new TreeExceptions.NameTooLongException(new String(name));
            }
            MutableNode n = tree.lookup(d, name).orElseThrow(() -> new NoSuchFileException(new String(name)));
            return entry(n);
        }
    }

    @Override
    public void forget(long ino, long nlookup) {
        synchronized (lock) {
            if (ino == ROOT) {
                return;
            }
            Long left = lookups.merge(ino, -nlookup, Long::sum);
            if (left != null && left <= 0) {
                lookups.remove(ino);
                nodes.remove(ino);
            }
        }
    }

    @Override
    public Attr getattr(Caller c, long ino, long fh) throws IOException {
        synchronized (lock) {
            Handle h = fh >= 0 ? handles.get(fh) : null;
            return attr(h != null ? h.node() : node(ino));
        }
    }

    @Override
    public Attr setattr(Caller c, long ino, long fh, SetAttr s) throws IOException {
        synchronized (lock) {
            Handle h = fh >= 0 ? handles.get(fh) : null;
            MutableNode n = h != null ? h.node() : node(ino);
            if (s.size() != null) {
                if (!(n instanceof File f)) {
                    throw n instanceof Dir
                            ? new TreeExceptions.IsDirectoryException("inode " + ino)
                            : new FsException(Kind.INVALID, "truncate of a " + n.kind());
                }
                tree.truncate(f, s.size());
            }
            long now = clock.getAsLong();
            Long mtime = s.mtimeNow() ? (Long) now : s.mtimeNs();
            Long atime = s.atimeNow() ? (Long) now : s.atimeNs();
            if (s.mode() != null || s.uid() != null || s.gid() != null || mtime != null || atime != null) {
                tree.setAttributes(n, s.mode() == null ? null : s.mode() & 07777, s.uid(), s.gid(), mtime);
            }
            if (atime != null && atime != n.mtimeNs()) {
                atimes.put(n, atime);
            } else if (atime != null) {
                atimes.remove(n); // the default: keep the map to atimes that differ
            }
            if (s.mode() != null) {
                chmodAcl(n, s.mode() & 07777);
            }
            return attr(n);
        }
    }

    @Override
    public byte[] readlink(Caller c, long ino) throws IOException {
        synchronized (lock) {
            if (!(node(ino) instanceof Special s) || s.kind() != EntryKind.SYMLINK) {
                throw new FsException(Kind.INVALID, "not a symlink");
            }
            return s.target();
        }
    }

    /** Owner of a new node: the caller, with the group of a setgid parent. */
    private long groupFor(Caller c, Dir parent) {
        return (parent.mode() & S_ISGID) != 0 ? parent.gid() : c.gid();
    }

    /** The mode and ACLs of a new node: from the parent's default ACL if it has one, else mode & ~umask. */
    private record NewNode(int mode, byte[] accessAcl, byte[] defaultAcl) {
        void applyTo(MutableTree tree, MutableNode n) throws IOException {
            if (accessAcl != null) {
                tree.setXattr(n, PosixAcl.ACCESS, accessAcl, XattrMode.ANY);
            }
            if (defaultAcl != null) {
                tree.setXattr(n, PosixAcl.DEFAULT, defaultAcl, XattrMode.ANY);
            }
        }
    }

    private NewNode newNode(Dir parent, int mode, int umask, boolean isDir) throws FsException {
        Optional<byte[]> inherited = tree.getXattr(parent, PosixAcl.DEFAULT);
        if (inherited.isEmpty()) {
            return new NewNode(mode & ~(umask & 0777), null, null);
        }
        PosixAcl.Inherited in = PosixAcl.decode(inherited.get()).inherit(mode);
        return new NewNode(
                in.mode(), in.access() == null ? null : in.access().encode(), isDir ? inherited.get() : null);
    }

    /** chmod of a node with an access ACL: the ACL's owner, mask (or group) and other entries follow. */
    private void chmodAcl(MutableNode n, int mode) throws IOException {
        Optional<byte[]> acl = tree.getXattr(n, PosixAcl.ACCESS);
        if (acl.isPresent()) {
            tree.setXattr(
                    n, PosixAcl.ACCESS, PosixAcl.decode(acl.get()).chmod(mode).encode(), XattrMode.ANY);
        }
    }

    @Override
    public Entry mknod(Caller c, long parent, byte[] name, int mode, long rdev, int umask) throws IOException {
        synchronized (lock) {
            Dir d = dir(parent);
            int fmt = mode & S_IFMT;
            NewNode nn = newNode(d, mode, umask, false);
            if (fmt == 0100000 || fmt == 0) {
                File f = tree.createFile(d, name, nn.mode(), c.uid(), groupFor(c, d));
                nn.applyTo(tree, f);
                return entry(f);
            }
            EntryKind kind = EntryKind.ofMode(mode);
            if (kind == EntryKind.DIRECTORY || kind == EntryKind.SYMLINK) {
                throw new FsException(Kind.INVALID, "mknod of a " + kind);
            }
            Special s = tree.mknod(d, name, kind, nn.mode(), rdev, c.uid(), groupFor(c, d));
            nn.applyTo(tree, s);
            return entry(s);
        }
    }

    @Override
    public Entry mkdir(Caller c, long parent, byte[] name, int mode, int umask) throws IOException {
        synchronized (lock) {
            Dir d = dir(parent);
            NewNode nn = newNode(d, mode & 07777, umask, true);
            int m = nn.mode() | (d.mode() & S_ISGID);
            Dir made = tree.mkdir(d, name, m, c.uid(), groupFor(c, d));
            nn.applyTo(tree, made);
            return entry(made);
        }
    }

    @Override
    public Entry symlink(Caller c, long parent, byte[] name, byte[] target) throws IOException {
        synchronized (lock) {
            Dir d = dir(parent);
            return entry(tree.symlink(d, name, target, c.uid(), groupFor(c, d)));
        }
    }

    @Override
    public Entry link(Caller c, long ino, long newParent, byte[] newName) throws IOException {
        synchronized (lock) {
            MutableNode n = node(ino);
            tree.link(n, dir(newParent), newName);
            return entry(n);
        }
    }

    @Override
    public void unlink(Caller c, long parent, byte[] name) throws IOException {
        synchronized (lock) {
            Dir d = dir(parent);
            MutableNode gone = tree.lookup(d, name).orElse(null);
            tree.unlink(d, name);
            noteIfOrphaned(gone);
        }
    }

    @Override
    public void rmdir(Caller c, long parent, byte[] name) throws IOException {
        synchronized (lock) {
            Dir d = dir(parent);
            MutableNode gone = tree.lookup(d, name).orElse(null);
            tree.rmdir(d, name);
            noteIfOrphaned(gone);
        }
    }

    @Override
    public void rename(Caller c, long parent, byte[] name, long newParent, byte[] newName, int flags)
            throws IOException {
        RenameMode mode =
                switch (flags) {
                    case 0 -> RenameMode.REPLACE;
                    case 1 -> RenameMode.NOREPLACE;
                    case 2 -> RenameMode.EXCHANGE;
                    default -> throw new FsException(Kind.INVALID, "rename flags " + flags);
                };
        synchronized (lock) {
            Dir to = dir(newParent);
            MutableNode replaced =
                    mode == RenameMode.REPLACE ? tree.lookup(to, newName).orElse(null) : null;
            tree.rename(dir(parent), name, to, newName, mode);
            noteIfOrphaned(replaced);
        }
    }

    private long newHandle(MutableNode n, int flags, List<DirEntry> listing) {
        long fh = nextFh++;
        handles.put(fh, new Handle(n, flags, listing));
        return fh;
    }

    private Handle handle(long fh) throws FsException {
        Handle h = handles.get(fh);
        if (h == null) {
            throw new FsException(Kind.BAD_HANDLE, "no open handle " + fh);
        }
        return h;
    }

    @Override
    public Opened open(Caller c, long ino, int flags) throws IOException {
        synchronized (lock) {
            MutableNode n = node(ino);
            if (n instanceof Dir) {
                throw new TreeExceptions.IsDirectoryException("inode " + ino);
            }
            return new Opened(newHandle(n, flags, null), true, false);
        }
    }

    @Override
    public Created create(Caller c, long parent, byte[] name, int mode, int flags, int umask) throws IOException {
        synchronized (lock) {
            Dir d = dir(parent);
            NewNode nn = newNode(d, mode, umask, false);
            File f = tree.createFile(d, name, nn.mode(), c.uid(), groupFor(c, d));
            nn.applyTo(tree, f);
            Entry e = entry(f);
            return new Created(e, newHandle(f, flags, null), true);
        }
    }

    @Override
    public int read(Caller c, long ino, long fh, long offset, ByteBuffer dst) throws IOException {
        synchronized (lock) {
            if (!(handle(fh).node() instanceof File f)) {
                throw new FsException(Kind.INVALID, "read of a non-file");
            }
            byte[] buf = new byte[dst.remaining()];
            int n = tree.read(f, offset, buf, 0, buf.length);
            dst.put(buf, 0, n);
            return n;
        }
    }

    @Override
    public int write(Caller c, long ino, long fh, long offset, ByteBuffer src) throws IOException {
        synchronized (lock) {
            Handle h = handle(fh);
            if (!(h.node() instanceof File f)) {
                throw new FsException(Kind.INVALID, "write to a non-file");
            }
            int len = src.remaining();
            byte[] buf = new byte[len];
            src.get(buf);
            // The offset is the kernel's, also for O_APPEND (it resolved the end under the inode
            // lock), and a page write-out of a shared mapping may come on an O_APPEND handle.
            tree.write(f, offset, buf, 0, len);
            return len;
        }
    }

    @Override
    public void release(long ino, long fh) throws IOException {
        synchronized (lock) {
            Handle h = handles.remove(fh);
            if (h != null) {
                dropIfUnreachable(h.node());
            }
        }
    }

    @Override
    public void fsync(long ino, long fh, boolean datasync) throws IOException {
        live.sync();
    }

    @Override
    public Opened opendir(Caller c, long ino) throws IOException {
        synchronized (lock) {
            Dir d = dir(ino);
            List<DirEntry> listing = new ArrayList<>();
            listing.add(new DirEntry(".".getBytes(), ino, d.stMode(), 1, null));
            long parentIno = d.parent() == null ? ino : inoOf(d.parent());
            listing.add(new DirEntry("..".getBytes(), parentIno, 040755, 2, null));
            long off = 3;
            for (var e : tree.list(d).entrySet()) {
                MutableNode n = e.getValue();
                listing.add(new DirEntry(e.getKey(), 0, n.stMode(), off++, null));
            }
            return new Opened(newHandle(d, 0, listing), true, false);
        }
    }

    @Override
    public List<DirEntry> readdir(Caller c, long ino, long fh, long offset, int max, boolean plus) throws IOException {
        synchronized (lock) {
            Handle h = handle(fh);
            Dir d = (Dir) h.node();
            List<DirEntry> out = new ArrayList<>();
            for (int i = (int) Math.max(0, offset); i < h.listing().size() && out.size() < max; i++) {
                DirEntry e = h.listing().get(i);
                boolean dot = i < 2;
                MutableNode n = dot ? null : tree.lookup(d, e.name()).orElse(null);
                if (!dot && n == null) {
                    continue; // removed since opendir
                }
                long eino = dot ? e.ino() : inoOf(n);
                Entry full = plus && !dot ? entry(n) : null;
                out.add(new DirEntry(e.name(), eino, dot ? e.mode() : n.stMode(), e.nextOffset(), full));
            }
            return out;
        }
    }

    @Override
    public void releasedir(long ino, long fh) {
        synchronized (lock) {
            handles.remove(fh);
        }
    }

    @Override
    public StatFs statfs() throws IOException {
        return statfs.get();
    }

    private static XattrMode xattrMode(int flags) throws FsException {
        return switch (flags) {
            case 0 -> XattrMode.ANY;
            case 1 -> XattrMode.CREATE;
            case 2 -> XattrMode.REPLACE;
            default -> throw new FsException(Kind.INVALID, "setxattr flags " + flags);
        };
    }

    private static void checkNamespace(String name) throws FsException {
        if (!(name.startsWith("user.")
                || name.startsWith("trusted.")
                || name.startsWith("security.")
                || name.equals("system.posix_acl_access")
                || name.equals("system.posix_acl_default"))) {
            throw new FsException(Kind.NOT_SUPPORTED, "xattr namespace of " + name);
        }
    }

    @Override
    public void setxattr(Caller c, long ino, String name, byte[] value, int flags) throws IOException {
        checkNamespace(name);
        synchronized (lock) {
            MutableNode n = node(ino);
            if (name.equals(PosixAcl.ACCESS)) {
                // The ACL sets the mode; one that says no more than the mode is not kept (as in-kernel filesystems do).
                PosixAcl acl = PosixAcl.decode(value);
                tree.setAttributes(n, acl.applyTo(n.mode()), null, null, null);
                if (!acl.isMinimal()) {
                    tree.setXattr(n, name, value, XattrMode.ANY);
                } else if (tree.getXattr(n, name).isPresent()) {
                    tree.removeXattr(n, name);
                }
            } else if (name.equals(PosixAcl.DEFAULT)) {
                if (!(n instanceof Dir)) {
                    throw new FsException(Kind.ACCESS, "a default ACL on a non-directory");
                }
                if (!PosixAcl.decode(value).isEmpty()) {
                    tree.setXattr(n, name, value, XattrMode.ANY);
                } else if (tree.getXattr(n, name).isPresent()) {
                    tree.removeXattr(n, name);
                }
            } else {
                tree.setXattr(n, name, value, xattrMode(flags));
            }
        }
    }

    @Override
    public byte[] getxattr(Caller c, long ino, String name) throws IOException {
        synchronized (lock) {
            MutableNode n = node(ino);
            return tree.getXattr(n, name)
                    .orElseThrow(() -> new TreeExceptions.NoSuchAttributeException("inode " + ino, name));
        }
    }

    @Override
    public List<String> listxattr(Caller c, long ino) throws IOException {
        synchronized (lock) {
            List<String> names = tree.listXattrs(node(ino));
            if (c.uid() != 0) { // trusted.* is for CAP_SYS_ADMIN only (root stands in for it)
                names = names.stream().filter(n -> !n.startsWith("trusted.")).toList();
            }
            return names;
        }
    }

    @Override
    public void removexattr(Caller c, long ino, String name) throws IOException {
        synchronized (lock) {
            MutableNode n = node(ino);
            boolean acl = name.equals(PosixAcl.ACCESS) || name.equals(PosixAcl.DEFAULT);
            if (acl && tree.getXattr(n, name).isEmpty()) {
                return; // removing an ACL that is not there succeeds (libacl relies on it)
            }
            tree.removeXattr(n, name);
        }
    }

    @Override
    public void access(Caller c, long ino, int mask) throws IOException {
        synchronized (lock) {
            node(ino);
        }
    }

    @Override
    public void fallocate(Caller c, long ino, long fh, int mode, long offset, long length) throws IOException {
        if (offset < 0 || length <= 0) {
            throw new FsException(Kind.INVALID, "fallocate range");
        }
        synchronized (lock) {
            if (!(handle(fh).node() instanceof File f)) {
                throw new FsException(Kind.INVALID, "fallocate of a non-file");
            }
            switch (mode) {
                case 0 -> { // allocate: the range reads as it did, the size grows to cover it
                    if (offset + length > f.size()) {
                        tree.truncate(f, offset + length);
                    }
                }
                case 1 -> {} // KEEP_SIZE: nothing to reserve in a content-addressed store
                case 3 -> { // PUNCH_HOLE | KEEP_SIZE: zeros over the range, size unchanged
                    long end = Math.min(f.size(), offset + length);
                    for (long at = offset; at < end; ) {
                        int n = (int) Math.min(1 << 20, end - at);
                        tree.write(f, at, new byte[n], 0, n);
                        at += n;
                    }
                }
                default -> throw new FsException(Kind.NOT_SUPPORTED, "fallocate mode " + mode);
            }
        }
    }

    @Override
    public long lseek(Caller c, long ino, long fh, long offset, int whence) throws IOException {
        synchronized (lock) {
            MutableNode n = handle(fh).node();
            long size = n.size();
            if (offset < 0 || offset >= size) {
                throw new FsException(Kind.NO_SUCH_OFFSET, "offset past the end");
            }
            // No holes are tracked: the whole file is data, the only hole is at its end.
            return switch (whence) {
                case 3 -> offset; // SEEK_DATA
                case 4 -> size; // SEEK_HOLE
                default -> throw new FsException(Kind.INVALID, "lseek whence " + whence);
            };
        }
    }

    @Override
    public void destroy() {
        onDestroy.run();
    }
}
