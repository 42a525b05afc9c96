package dev.txfs.fs;

import dev.txfs.fs.FsException.Kind;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableNode.File;
import dev.txfs.snapshot.MutableNode.Special;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeExceptions;
import dev.txfs.snapshot.TxfsException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * {@code /.txfs/snapshots}: every snapshot, browsable read-only in place. {@code
 * /.txfs/snapshots/<id>/} is the snapshot's tree, read lazily from the store through a {@link
 * MutableTree} of its own (nothing is copied); a unique id prefix, a ref ({@code HEAD}) or a tag's
 * short name works too, and names the same directory. Listing the directory shows the full ids of
 * the refs' histories.
 *
 * <p>It shares nothing with the live tree: its own inode numbers (from {@link #BASE}), its own
 * lock, its own trees, so browsing does not touch the live tree's caches or wait for its writers.
 * A snapshot never changes, so the kernel may cache its names, attributes and pages for long; a
 * name that is a ref or a prefix is looked up again each time, since the ref may move.
 *
 * <p>Privileges: everything here is served as if mounted nosuid,nodev, also on a {@code -o rootfs}
 * mount: an old or imported snapshot may hold a setuid binary, a device node or a file capability
 * that the live tree no longer has. Regular files show no setuid/setgid bits, device nodes device
 * number 0 (opening one fails with ENXIO), and security.capability is not served, so exec applies
 * none (see {@link LiveFs#nodeAttr}). What the snapshot records is unchanged: {@code txfs
 * checkout}, {@code export} and {@code rollback} carry the real modes, devices and capabilities.
 *
 * <p>Memory: every node looked up stays loaded until the kernel forgets it; the trees of
 * snapshots go when none of their inodes is referenced.
 */
final class SnapshotsFs {
    static final long DIR = LiveFs.CTL_DIR + 2;
    static final byte[] NAME = "snapshots".getBytes(StandardCharsets.ISO_8859_1);
    /** Inode numbers of snapshot nodes start here, far from the live tree's. */
    static final long BASE = 1L << 62;

    private static final long IMMUTABLE_NS = 3600L * 1_000_000_000L;

    private final ObjectStore store;
    private final LongSupplier clock;
    private final Object lock = new Object();

    /** A snapshot's tree, shared by every inode of it. */
    private static final class Tree {
        final MutableTree tree;
        final Map<MutableNode, Long> inos = new IdentityHashMap<>();
        long refs;

        Tree(MutableTree tree) {
            this.tree = tree;
        }
    }

    private record Node(Tree tree, MutableNode node, long[] lookups) {}

    private record Handle(Node node, List<FsOps.DirEntry> listing) {}

    private final Map<ObjectId, Tree> trees = new HashMap<>();
    private final Map<Long, Node> nodes = new HashMap<>();
    private final Map<Long, Handle> handles = new HashMap<>();
    private long nextIno = BASE;
    private long nextFh = 1;

    SnapshotsFs(ObjectStore store, LongSupplier clock) {
        this.store = store;
        this.clock = clock;
    }

    static boolean owns(long ino) {
        return ino == DIR || (ino >= BASE && ino < LiveFs.CTL_DIR);
    }

    FsOps.Attr dirAttr() {
        long now = clock.getAsLong();
        return new FsOps.Attr(DIR, 0, 0, now, now, now, 040555, 2, 0, 0, 0);
    }

    FsOps.Entry dirEntry() {
        return new FsOps.Entry(DIR, 0, dirAttr(), 0, 0);
    }

    // ---- names ---------------------------------------------------------------------------------

    FsOps.Entry lookup(long parent, byte[] name) throws IOException {
        synchronized (lock) {
            if (parent == DIR) {
                String spec = new String(name, StandardCharsets.UTF_8);
                ObjectId id;
                try {
                    id = Snapshots.resolve(store, spec);
                } catch (TxfsException e) {
                    throw new NoSuchFileException(spec);
                }
                boolean fixed = spec.equals(id.toHex());
                Snapshot s = Snapshots.load(store, id);
                Tree t = trees.computeIfAbsent(s.root(), r -> new Tree(new MutableTree(store, r, clock)));
                return entry(t, t.tree.root(), fixed);
            }
            Node p = node(parent);
            if (!(p.node() instanceof Dir d)) {
                throw new FsException(Kind.INVALID, "not a directory");
            }
            MutableNode n = p.tree().tree.lookup(d, name).orElseThrow(() -> new NoSuchFileException(new String(name)));
            return entry(p.tree(), n, true);
        }
    }

    private FsOps.Entry entry(Tree t, MutableNode n, boolean cacheable) {
        long ino = ino(t, n);
        nodes.get(ino).lookups()[0]++;
        long valid = cacheable ? IMMUTABLE_NS : 0;
        return new FsOps.Entry(ino, 0, attr(ino, n), valid, IMMUTABLE_NS);
    }

    private long ino(Tree t, MutableNode n) {
        Long ino = t.inos.get(n);
        if (ino == null) {
            ino = nextIno++;
            t.inos.put(n, ino);
            t.refs++;
            nodes.put(ino, new Node(t, n, new long[1]));
        }
        return ino;
    }

    void forget(long ino, long nlookup) {
        synchronized (lock) {
            Node n = nodes.get(ino);
            if (n == null || (n.lookups()[0] -= nlookup) > 0) {
                return;
            }
            nodes.remove(ino);
            n.tree().inos.remove(n.node());
            if (--n.tree().refs == 0) {
                trees.values().remove(n.tree());
            }
        }
    }

    private Node node(long ino) throws FsException {
        Node n = nodes.get(ino);
        if (n == null) {
            throw new FsException(Kind.STALE, "snapshot inode " + ino + " is not known");
        }
        return n;
    }

    private static FsOps.Attr attr(long ino, MutableNode n) {
        return LiveFs.nodeAttr(ino, n, n.mtimeNs(), n.nlink(), true);
    }

    FsOps.Attr getattr(long ino) throws IOException {
        if (ino == DIR) {
            return dirAttr();
        }
        synchronized (lock) {
            return attr(ino, node(ino).node());
        }
    }

    long attrValidNs(long ino) {
        return ino == DIR ? 0 : IMMUTABLE_NS;
    }

    byte[] readlink(long ino) throws IOException {
        synchronized (lock) {
            if (!(node(ino).node() instanceof Special s) || s.kind() != EntryKind.SYMLINK) {
                throw new FsException(Kind.INVALID, "not a symlink");
            }
            return s.target();
        }
    }

    // ---- contents ------------------------------------------------------------------------------

    FsOps.Opened open(long ino, int flags) throws IOException {
        if ((flags & 3) != 0 || (flags & 01000) != 0) { // O_WRONLY/O_RDWR, O_TRUNC
            throw readOnly();
        }
        synchronized (lock) {
            Node n = node(ino);
            if (n.node() instanceof Dir) {
                throw new TreeExceptions.IsDirectoryException("inode " + ino);
            }
            long fh = nextFh++;
            handles.put(fh, new Handle(n, null));
            return new FsOps.Opened(fh, true, false);
        }
    }

    int read(long fh, long offset, ByteBuffer dst) throws IOException {
        synchronized (lock) {
            Handle h = handle(fh);
            if (!(h.node().node() instanceof File f)) {
                throw new FsException(Kind.INVALID, "read of a non-file");
            }
            byte[] buf = new byte[dst.remaining()];
            int n = h.node().tree().tree.read(f, offset, buf, 0, buf.length);
            dst.put(buf, 0, n);
            return n;
        }
    }

    long lseek(long fh, long offset, int whence) throws IOException {
        synchronized (lock) {
            return LiveFs.seekDataOrHole(handle(fh).node().node().size(), offset, whence);
        }
    }

    void release(long fh) {
        synchronized (lock) {
            handles.remove(fh);
        }
    }

    private Handle handle(long fh) throws FsException {
        Handle h = handles.get(fh);
        if (h == null) {
            throw new FsException(Kind.BAD_HANDLE, "no open handle " + fh);
        }
        return h;
    }

    FsOps.Opened opendir(long ino) throws IOException {
        synchronized (lock) {
            List<FsOps.DirEntry> listing = new ArrayList<>();
            listing.add(new FsOps.DirEntry(".".getBytes(), ino, 040555, 1, null));
            if (ino == DIR) {
                listing.add(new FsOps.DirEntry("..".getBytes(), LiveFs.CTL_DIR, 040555, 2, null));
                long off = 3;
                for (ObjectId id : Snapshots.history(store)) {
                    // d_ino is only shown (lookup gives the real number): distinct, below BASE.
                    byte[] hex = id.toHex().getBytes(StandardCharsets.ISO_8859_1);
                    listing.add(new FsOps.DirEntry(hex, BASE - off, 040755, off, null));
                    off++;
                }
                long fh = nextFh++;
                handles.put(fh, new Handle(null, listing));
                return new FsOps.Opened(fh, false, false);
            }
            Node n = node(ino);
            if (!(n.node() instanceof Dir d)) {
                throw new FsException(Kind.INVALID, "not a directory");
            }
            long parent = d.parent() == null ? DIR : ino(n.tree(), d.parent());
            listing.add(new FsOps.DirEntry("..".getBytes(), parent, 040555, 2, null));
            long off = 3;
            for (var e : n.tree().tree.list(d).entrySet()) {
                listing.add(new FsOps.DirEntry(e.getKey(), 0, e.getValue().stMode(), off++, null));
            }
            long fh = nextFh++;
            handles.put(fh, new Handle(n, listing));
            return new FsOps.Opened(fh, true, false);
        }
    }

    List<FsOps.DirEntry> readdir(long fh, long offset, int max, boolean plus) throws IOException {
        synchronized (lock) {
            Handle h = handle(fh);
            List<FsOps.DirEntry> out = new ArrayList<>();
            for (int i = (int) Math.max(0, offset); i < h.listing().size() && out.size() < max; i++) {
                FsOps.DirEntry e = h.listing().get(i);
                if (i < 2 || h.node() == null) {
                    out.add(e); // dots, and snapshot ids (looked up when used)
                    continue;
                }
                Dir d = (Dir) h.node().node();
                MutableNode n = h.node().tree().tree.lookup(d, e.name()).orElseThrow();
                FsOps.Entry full = plus ? entry(h.node().tree(), n, true) : null;
                long eino = full != null ? full.ino() : ino(h.node().tree(), n);
                out.add(new FsOps.DirEntry(e.name(), eino, n.stMode(), e.nextOffset(), full));
            }
            return out;
        }
    }

    byte[] getxattr(long ino, String name) throws IOException {
        synchronized (lock) {
            if (ino == DIR) {
                throw new TreeExceptions.NoSuchAttributeException("/.txfs/snapshots", name);
            }
            Node n = node(ino);
            return n.tree()
                    .tree
                    .getXattr(n.node(), name)
                    .filter(v -> LiveFs.servedIn(true, name))
                    .orElseThrow(() -> new TreeExceptions.NoSuchAttributeException("inode " + ino, name));
        }
    }

    /** The names served (see the class javadoc); trusted.* only to root, which stands in for CAP_SYS_ADMIN. */
    List<String> listxattr(long ino, boolean root) throws IOException {
        synchronized (lock) {
            if (ino == DIR) {
                return List.of();
            }
            Node n = node(ino);
            return n.tree().tree.listXattrs(n.node()).stream()
                    .filter(x -> LiveFs.servedIn(true, x) && (root || !x.startsWith("trusted.")))
                    .toList();
        }
    }

    static FsException readOnly() {
        return new FsException(Kind.READ_ONLY, "snapshots are read-only");
    }
}
