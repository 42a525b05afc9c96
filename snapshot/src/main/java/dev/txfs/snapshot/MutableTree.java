package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableNode.File;
import dev.txfs.snapshot.MutableNode.Special;
import dev.txfs.snapshot.TreeExceptions.InvalidOperationException;
import dev.txfs.snapshot.TreeExceptions.IsDirectoryException;
import dev.txfs.snapshot.TreeExceptions.NameTooLongException;
import dev.txfs.snapshot.TreeExceptions.NoSuchAttributeException;
import dev.txfs.snapshot.TreeExceptions.NotPermittedException;
import dev.txfs.snapshot.TreeExceptions.TooDeepException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;

/**
 * A filesystem tree being changed: copy-on-write nodes over an immutable {@link Root}, loaded
 * lazily, with the operations a filesystem needs, and {@link #flush()} writing a new root.
 *
 * <p>Implementation notes. Each directory keeps its last written {@link TreeRef} and the names
 * changed since; a change marks the name in its directory and the directory's name in each
 * ancestor, up to the first already marked. {@link #flush()} rewrites only marked names, through
 * {@link Directories#update}, so its cost is O(changed entries × depth). Hard-linked nodes (see
 * {@link HardLinks}) are not marked in their directories when their content or metadata changes
 * (their entries only carry the group key): their group is marked, and flush rewrites the group's
 * record in the link table; when a group's key (its smallest path) changes, flush re-marks every
 * name of it. The link table is loaded whole, once, when a hard link is first met or a directory
 * is renamed (a rename rewrites the paths of groups below it): memory and rename cost
 * O(hard-linked inodes). File data lives in {@link FileBuffer}s, which spill to chunks in the store
 * past {@link #FILE_SPILL_BYTES} so memory stays bounded whatever the file size.
 *
 * <p>Times: creating, writing and truncating set mtime and ctime; metadata changes set ctime;
 * directory changes set the directory's mtime and ctime. No atime is kept (reads do not change a
 * tree id).
 *
 * <p>Threads: not thread-safe; the caller serialises all calls (the live tree holds one lock).
 */
public final class MutableTree {
    /** Directories this small are loaded whole on their first lookup. */
    static final long LIST_ON_LOOKUP = 1024;

    /** A file's dirty pages are written out as chunks once they reach this size. */
    static final long FILE_SPILL_BYTES = 16L << 20;

    /** How {@link #rename} treats an existing destination (renameat2 flags). */
    public enum RenameMode {
        REPLACE,
        NOREPLACE,
        EXCHANGE
    }

    /** How {@link #setXattr} treats an existing attribute (setxattr flags). */
    public enum XattrMode {
        ANY,
        CREATE,
        REPLACE
    }

    /** The names of one hard-linked inode. */
    static final class LinkGroup {
        final MutableNode node;
        /** Absolute paths as ISO-8859-1 strings (one char per byte, so String order is byte order). */
        final TreeSet<String> paths = new TreeSet<>();
        /** The key this group has in the written link table, null if not written yet. */
        String flushedKey;

        LinkGroup(MutableNode node) {
            this.node = node;
        }

        String key() {
            return paths.first();
        }
    }

    private final ObjectStore store;
    private final ObjectWriter out;
    private final LongSupplier clock;
    private final Dir root;
    private TreeRef linksBase;
    private boolean linksLoaded;
    /** When the link table was last replaced by {@link #reload}. */
    private long linksSeq;

    private final Map<String, LinkGroup> groupsByFlushedKey = new HashMap<>();
    private final Set<LinkGroup> groups = new LinkedHashSet<>();
    private final Set<LinkGroup> dirtyGroups = new LinkedHashSet<>();
    private final Set<String> removedKeys = new TreeSet<>();
    private final Set<File> dirtyFiles = new LinkedHashSet<>();
    private final java.util.concurrent.atomic.AtomicLong serials;

    /** Opens the tree of {@code rootId}; {@code clockNs} gives "now" in ns since the epoch. */
    public MutableTree(ObjectStore store, ObjectId rootId, LongSupplier clockNs) {
        this(store, rootId, clockNs, new java.util.concurrent.atomic.AtomicLong());
    }

    /**
     * Like {@link #MutableTree(ObjectStore, ObjectId, LongSupplier)}, drawing node serials and change
     * sequence numbers from {@code counter}: trees sharing one counter never give two nodes the same
     * serial, and their sequence numbers order all their changes in one timeline (the FUSE layer uses
     * both to tell versions of a node apart across the live tree and transactions).
     */
    public MutableTree(
            ObjectStore store, ObjectId rootId, LongSupplier clockNs, java.util.concurrent.atomic.AtomicLong counter) {
        this.serials = counter;
        this.store = store;
        this.out = store.newWriter();
        this.clock = clockNs;
        Root r = Root.decode(store.get(rootId));
        this.root = new Dir(this, r.dir());
        this.linksBase = r.links();
    }

    /** Writes an empty tree (a root directory with the given mode and owner) and returns its id. */
    public static ObjectId writeEmpty(ObjectStore store, int mode, long uid, long gid, long timeNs) {
        try (ObjectWriter w = store.newWriter()) {
            TreeEntry dir = TreeEntry.builder(new byte[0], EntryKind.DIRECTORY)
                    .mode(mode)
                    .owner(uid, gid)
                    .times(timeNs, timeNs)
                    .tree(Directories.write(w, List.of()))
                    .build();
            return HardLinks.writeRoot(w, dir, List.of());
        }
    }

    long nextSerial() {
        return serials.incrementAndGet();
    }

    /** A new sequence number: later than every change made so far in trees sharing the counter. */
    public long nextSeq() {
        return serials.incrementAndGet();
    }

    public Dir root() {
        return root;
    }

    // ---- lookup ---------------------------------------------------------------------------

    /** The node named {@code name} in {@code dir}. */
    public Optional<MutableNode> lookup(Dir dir, byte[] name) {
        if (dir.children.containsKey(name)) {
            return Optional.ofNullable(dir.children.get(name));
        }
        if (dir.listed) {
            return Optional.empty();
        }
        if (dir.base.entries() <= LIST_ON_LOOKUP) {
            // One read of a small directory beats a trie walk and a leaf decode per name.
            list(dir);
            return Optional.ofNullable(dir.children.get(name));
        }
        Optional<TreeEntry> e = Directories.find(store, dir.base.id(), name);
        MutableNode n = e.map(entry -> materialize(dir, entry)).orElse(null);
        if (n != null) {
            dir.children.put(name, n);
        }
        return Optional.ofNullable(n);
    }

    /** All names of {@code dir} with their nodes, sorted by name. */
    public SortedMap<byte[], MutableNode> list(Dir dir) {
        if (!dir.listed) {
            Directories.forEach(store, dir.base.id(), e -> {
                if (!dir.children.containsKey(e.nameRef())) {
                    dir.children.put(e.nameRef(), materialize(dir, e));
                }
            });
            dir.listed = true;
        }
        java.util.TreeMap<byte[], MutableNode> out = new java.util.TreeMap<>(Directories.NAME_ORDER);
        dir.children.forEach((k, v) -> {
            if (v != null) {
                out.put(k, v);
            }
        });
        return out;
    }

    private MutableNode materialize(Dir parent, TreeEntry e) {
        MutableNode n;
        switch (e.kind()) {
            case HARDLINK -> {
                loadLinks();
                LinkGroup g = groupsByFlushedKey.get(new String(e.linkKey(), ISO_8859_1));
                if (g == null) {
                    throw new MalformedObjectException("hard link " + e.nameString() + " names no link record");
                }
                return g.node;
            }
            case DIRECTORY -> n = new Dir(this, e);
            case FILE -> n = new File(this, e);
            default -> n = new Special(this, e);
        }
        n.parent = parent;
        n.name = e.name();
        n.attachedSeq = parent.baseSeq;
        if (n instanceof Dir d) {
            d.baseSeq = parent.baseSeq; // what is loaded from it is as new as it
        }
        return n;
    }

    private void loadLinks() {
        if (linksLoaded) {
            return;
        }
        linksLoaded = true;
        if (linksBase == null) {
            return;
        }
        Directories.forEach(store, linksBase.id(), rec -> {
            if (rec.linkPaths() == null || rec.linkPaths().size() < 2) {
                throw new MalformedObjectException("link record " + rec.nameString() + " has fewer than two paths");
            }
            if (groupsByFlushedKey.containsKey(new String(rec.nameRef(), ISO_8859_1))) {
                return;
            }
            MutableNode node = rec.kind() == EntryKind.FILE ? new File(this, rec) : new Special(this, rec);
            node.attachedSeq = linksSeq;
            LinkGroup g = new LinkGroup(node);
            rec.linkPaths().forEach(p -> g.paths.add(new String(p, ISO_8859_1)));
            g.flushedKey = new String(rec.nameRef(), ISO_8859_1);
            node.group = g;
            groups.add(g);
            groupsByFlushedKey.put(g.flushedKey, g);
        });
    }

    /** The node at an absolute path (no symlinks followed). */
    public Optional<MutableNode> find(String path) {
        MutableNode n = root;
        for (String part : path.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            if (!(n instanceof Dir d)) {
                return Optional.empty();
            }
            Optional<MutableNode> next = lookup(d, part.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            if (next.isEmpty()) {
                return Optional.empty();
            }
            n = next.get();
        }
        return Optional.of(n);
    }

    /** Like {@link #find} but a missing path is a {@link NoSuchFileException}. */
    public MutableNode get(String path) throws NoSuchFileException {
        return find(path).orElseThrow(() -> new NoSuchFileException(path));
    }

    /** The directory at {@code path}. */
    public Dir getDir(String path) throws FileSystemException {
        MutableNode n = get(path);
        if (!(n instanceof Dir d)) {
            throw new NotDirectoryException(path);
        }
        return d;
    }

    /** A path of the node (the smallest one for a hard-linked node); empty if it has no name now. */
    public Optional<String> pathOf(MutableNode n) {
        if (n == root) {
            return Optional.of("/");
        }
        if (n.group != null) {
            return Optional.of(n.group.key());
        }
        String p = rawPath(n);
        return Optional.ofNullable(
                p == null ? null : new String(p.getBytes(ISO_8859_1), java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Every name of the node: its directory and name there (several for a hard-linked node). */
    public List<Map.Entry<Dir, byte[]>> namesOf(MutableNode n) throws FileSystemException {
        List<Map.Entry<Dir, byte[]>> out = new ArrayList<>();
        if (n.group != null) {
            for (String p : n.group.paths) {
                int slash = p.lastIndexOf('/');
                out.add(Map.entry(
                        getDirRaw(p.substring(0, slash)), p.substring(slash + 1).getBytes(ISO_8859_1)));
            }
        } else if (n.parent != null) {
            out.add(Map.entry(n.parent, n.name.clone()));
        }
        return out;
    }

    /**
     * Whether the node has a name and neither it nor any directory above it got its name after
     * sequence number {@code seq}: then its path now is the path it had at {@code seq}.
     */
    public boolean placedBy(MutableNode n, long seq) {
        if (n.group != null) {
            return false;
        }
        for (MutableNode x = n; x != root; x = x.parent) {
            if (x == null || x.attachedSeq > seq) {
                return false;
            }
        }
        return true;
    }

    /** The path as an ISO-8859-1 string ("" for the root), null if detached. */
    private String rawPath(MutableNode n) {
        // Up the parents, not recursion: a path is as deep as the tree, and no tree walk may
        // depend on the caller's stack (issue 14, finding 6).
        List<MutableNode> up = new ArrayList<>();
        String top;
        for (MutableNode x = n; ; x = x.parent) {
            if (x == root) {
                top = "";
                break;
            }
            if (x.group != null) {
                top = x.group.key();
                break;
            }
            if (x.parent == null) {
                return null;
            }
            up.add(x);
        }
        StringBuilder p = new StringBuilder(top);
        for (int i = up.size() - 1; i >= 0; i--) {
            p.append('/').append(new String(up.get(i).name, ISO_8859_1));
        }
        return p.toString();
    }

    private String childPath(Dir d, byte[] name) {
        String p = rawPath(d);
        return (p == null ? "(deleted)" : p) + "/" + new String(name, ISO_8859_1);
    }

    private String display(Dir d, byte[] name) {
        return new String(childPath(d, name).getBytes(ISO_8859_1), java.nio.charset.StandardCharsets.UTF_8);
    }

    // ---- change tracking -------------------------------------------------------------------

    private long now() {
        return clock.getAsLong();
    }

    private void markChanged(Dir d, byte[] name) {
        d.changed.add(name);
        Dir x = d;
        while (x.parent != null && x.parent.changed.add(x.name)) {
            x = x.parent;
        }
    }

    /** The node's own entry (metadata or content) changed. */
    private void touch(MutableNode n) {
        n.changedSeq = nextSeq();
        if (n.group != null) {
            dirtyGroups.add(n.group);
        } else if (n.parent != null) {
            markChanged(n.parent, n.name);
        }
    }

    private void touchDir(Dir d, long t) {
        d.mtimeNs = t;
        d.ctimeNs = t;
        touch(d);
    }

    // ---- namespace -------------------------------------------------------------------------

    static void checkName(byte[] name) throws FileSystemException {
        if (name.length > 255) {
            throw new NameTooLongException(new String(name, java.nio.charset.StandardCharsets.UTF_8));
        }
        if (name.length == 0
                || (name.length == 1 && name[0] == '.')
                || (name.length == 2 && name[0] == '.' && name[1] == '.')) {
            throw new InvalidOperationException(new String(name, ISO_8859_1), "invalid name");
        }
        for (byte b : name) {
            if (b == '/' || b == 0) {
                throw new InvalidOperationException(new String(name, ISO_8859_1), "name contains '/' or NUL");
            }
        }
    }

    private void checkAbsent(Dir dir, byte[] name) throws FileSystemException {
        checkName(name);
        if (lookup(dir, name).isPresent()) {
            throw new FileAlreadyExistsException(display(dir, name));
        }
        checkDepth(dir, name);
    }

    // ---- depth -----------------------------------------------------------------------------

    private int depth(Dir d) {
        return DepthLimit.depth(d, root);
    }

    /** Refuses a new name in {@code dir} deeper than {@link TreeLimits#MAX_DEPTH}. */
    private void checkDepth(Dir dir, byte[] name) throws TooDeepException {
        if (depth(dir) + 1 > TreeLimits.MAX_DEPTH) {
            throw new TooDeepException(display(dir, name));
        }
    }

    /**
     * Refuses to move {@code n} from {@code from} into {@code dst} when it, or anything below it,
     * would then sit deeper than {@link TreeLimits#MAX_DEPTH}. A move that does not make {@code n}
     * deeper cannot break the limit and costs O(depth); one that does walks the subdirectories of
     * {@code n} (see {@link DepthLimit#heightExceeds}).
     */
    private void checkMoveDepth(MutableNode n, Dir from, Dir dst, byte[] dstName) throws TooDeepException {
        int top = depth(dst) + 1;
        if (top > TreeLimits.MAX_DEPTH) {
            throw new TooDeepException(display(dst, dstName));
        }
        if (n instanceof Dir d
                && top > depth(from) + 1
                && DepthLimit.heightExceeds(store, d, TreeLimits.MAX_DEPTH - top)) {
            throw new TooDeepException(display(dst, dstName));
        }
    }

    private <N extends MutableNode> N attachNew(Dir dir, byte[] name, N node) {
        long t = now();
        node.mtimeNs = t;
        node.ctimeNs = t;
        node.parent = dir;
        node.name = name.clone();
        node.attachedSeq = nextSeq();
        dir.children.put(node.name, node);
        dir.entries++;
        if (node instanceof Dir) {
            dir.subdirs++;
        }
        markChanged(dir, node.name);
        touchDir(dir, t);
        return node;
    }

    /** Creates an empty regular file. */
    public File createFile(Dir dir, byte[] name, int mode, long uid, long gid) throws FileSystemException {
        checkAbsent(dir, name);
        TreeEntry e = TreeEntry.builder(name, EntryKind.FILE)
                .mode(mode)
                .owner(uid, gid)
                .content(Content.EMPTY)
                .build();
        return attachNew(dir, name, new File(this, e));
    }

    /** Creates an empty directory. */
    public Dir mkdir(Dir dir, byte[] name, int mode, long uid, long gid) throws FileSystemException {
        checkAbsent(dir, name);
        TreeRef empty = Directories.write(out, List.of());
        TreeEntry e = TreeEntry.builder(name, EntryKind.DIRECTORY)
                .mode(mode)
                .owner(uid, gid)
                .tree(empty)
                .build();
        Dir d = attachNew(dir, name, new Dir(this, e));
        d.listed = true; // new and empty: every name it will hold is in children
        return d;
    }

    public Special symlink(Dir dir, byte[] name, byte[] target, long uid, long gid) throws FileSystemException {
        checkAbsent(dir, name);
        if (target.length == 0 || target.length > 4095) {
            throw new InvalidOperationException(display(dir, name), "symlink target must be 1 to 4095 bytes");
        }
        TreeEntry e = TreeEntry.builder(name, EntryKind.SYMLINK)
                .mode(0777)
                .owner(uid, gid)
                .symlinkTarget(target)
                .build();
        return attachNew(dir, name, new Special(this, e));
    }

    /** Creates a fifo, socket, or character or block device. */
    public Special mknod(Dir dir, byte[] name, EntryKind kind, int mode, long rdev, long uid, long gid)
            throws FileSystemException {
        if (kind != EntryKind.FIFO
                && kind != EntryKind.SOCKET
                && kind != EntryKind.CHAR_DEVICE
                && kind != EntryKind.BLOCK_DEVICE) {
            throw new InvalidOperationException(display(dir, name), "mknod of a " + kind);
        }
        checkAbsent(dir, name);
        TreeEntry e = TreeEntry.builder(name, kind)
                .mode(mode)
                .owner(uid, gid)
                .rdev(rdev)
                .build();
        return attachNew(dir, name, new Special(this, e));
    }

    /** Removes a name that is not a directory. */
    public void unlink(Dir dir, byte[] name) throws FileSystemException {
        MutableNode n = lookup(dir, name).orElseThrow(() -> new NoSuchFileException(display(dir, name)));
        if (n instanceof Dir) {
            throw new IsDirectoryException(display(dir, name));
        }
        long t = now();
        detach(dir, name, n);
        n.ctimeNs = t;
        touch(n);
        touchDir(dir, t);
    }

    /** Removes an empty directory. */
    public void rmdir(Dir dir, byte[] name) throws FileSystemException {
        MutableNode n = lookup(dir, name).orElseThrow(() -> new NoSuchFileException(display(dir, name)));
        if (!(n instanceof Dir d)) {
            throw new NotDirectoryException(display(dir, name));
        }
        if (d.entries > 0) {
            throw new DirectoryNotEmptyException(display(dir, name));
        }
        detach(dir, name, n);
        touchDir(dir, now());
    }

    /** Takes {@code name} out of {@code dir}; a link group loses that path. */
    private void detach(Dir dir, byte[] name, MutableNode n) throws FileSystemException {
        String path = childPath(dir, name);
        dir.children.put(name.clone(), null);
        dir.entries--;
        if (n instanceof Dir) {
            dir.subdirs--;
        }
        markChanged(dir, name.clone());
        if (n.group != null) {
            LinkGroup g = n.group;
            g.paths.remove(path);
            dirtyGroups.add(g);
            if (g.paths.size() == 1) {
                dissolve(g);
            }
        } else {
            n.parent = null;
        }
    }

    /** A group down to one name: its node becomes an ordinary entry again. */
    private void dissolve(LinkGroup g) throws FileSystemException {
        String last = g.paths.first();
        int slash = last.lastIndexOf('/');
        Dir parent = getDirRaw(last.substring(0, slash));
        MutableNode n = g.node;
        n.group = null;
        n.parent = parent;
        n.name = last.substring(slash + 1).getBytes(ISO_8859_1);
        lookup(parent, n.name);
        markChanged(parent, n.name);
        if (g.flushedKey != null) {
            removedKeys.add(g.flushedKey);
            groupsByFlushedKey.remove(g.flushedKey);
        }
        groups.remove(g);
        dirtyGroups.remove(g);
    }

    private Dir getDirRaw(String rawPath) throws FileSystemException {
        MutableNode n = root;
        for (String part : rawPath.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            byte[] name = part.getBytes(ISO_8859_1);
            n = lookup((Dir) n, name).orElseThrow(() -> new NoSuchFileException(rawPath));
        }
        if (!(n instanceof Dir d)) {
            throw new NotDirectoryException(rawPath);
        }
        return d;
    }

    /** Gives {@code target} (not a directory) another name. */
    public void link(MutableNode target, Dir dir, byte[] name) throws FileSystemException {
        if (target instanceof Dir) {
            throw new NotPermittedException(display(dir, name), "hard link to a directory");
        }
        checkAbsent(dir, name);
        loadLinks(); // groups made here must not be shadowed by a later load of the written table
        if (target.group == null) {
            String old = rawPath(target);
            if (old == null) {
                throw new NoSuchFileException(display(dir, name), null, "the link target has no name any more");
            }
            LinkGroup g = new LinkGroup(target);
            g.paths.add(old);
            markChanged(target.parent, target.name);
            target.parent = null;
            target.group = g;
            groups.add(g);
        }
        target.group.paths.add(childPath(dir, name));
        dirtyGroups.add(target.group);
        dir.children.put(name.clone(), target);
        dir.entries++;
        markChanged(dir, name.clone());
        long t = now();
        target.ctimeNs = t;
        target.changedSeq = nextSeq();
        target.attachedSeq = target.changedSeq;
        touchDir(dir, t);
    }

    /** Moves a name, with renameat2 semantics for an existing destination. */
    public void rename(Dir srcDir, byte[] srcName, Dir dstDir, byte[] dstName, RenameMode mode)
            throws FileSystemException {
        MutableNode n = lookup(srcDir, srcName).orElseThrow(() -> new NoSuchFileException(display(srcDir, srcName)));
        checkName(dstName);
        if (srcDir == dstDir && java.util.Arrays.equals(srcName, dstName)) {
            return;
        }
        Optional<MutableNode> existing = lookup(dstDir, dstName);
        if (n instanceof Dir d && isWithin(dstDir, d)) {
            throw new InvalidOperationException(display(srcDir, srcName), "cannot move a directory into itself");
        }
        if (mode == RenameMode.EXCHANGE) {
            MutableNode other = existing.orElseThrow(() -> new NoSuchFileException(display(dstDir, dstName)));
            if (other instanceof Dir od && isWithin(srcDir, od)) {
                throw new InvalidOperationException(display(dstDir, dstName), "cannot move a directory into itself");
            }
            checkMoveDepth(n, srcDir, dstDir, dstName);
            checkMoveDepth(other, dstDir, srcDir, srcName);
            if (other != n) { // two names of one inode: nothing to swap
                exchange(srcDir, srcName, n, dstDir, dstName, other);
            }
            return;
        }
        if (existing.isPresent()) {
            MutableNode e = existing.get();
            if (mode == RenameMode.NOREPLACE) {
                throw new FileAlreadyExistsException(display(dstDir, dstName));
            }
            if (e == n) {
                return; // two names of one inode: POSIX says do nothing
            }
            if (n instanceof Dir) {
                if (!(e instanceof Dir ed)) {
                    throw new NotDirectoryException(display(dstDir, dstName));
                }
                if (ed.entries > 0) {
                    throw new DirectoryNotEmptyException(display(dstDir, dstName));
                }
            } else if (e instanceof Dir) {
                throw new IsDirectoryException(display(dstDir, dstName));
            }
        }
        checkMoveDepth(n, srcDir, dstDir, dstName);
        if (existing.isPresent()) {
            MutableNode e = existing.get();
            detach(dstDir, dstName, e);
            e.ctimeNs = now();
            touch(e);
        }
        long t = now();
        String oldPath = childPath(srcDir, srcName);
        detachForMove(srcDir, srcName, n);
        attachMoved(dstDir, dstName, n, oldPath);
        if (n instanceof Dir) {
            movePrefixes(Map.of(oldPath, childPath(dstDir, dstName)));
        }
        n.ctimeNs = t;
        touch(n);
        touchDir(srcDir, t);
        touchDir(dstDir, t);
    }

    private void exchange(Dir sd, byte[] sn, MutableNode a, Dir dd, byte[] dn, MutableNode b)
            throws FileSystemException {
        long t = now();
        String pa = childPath(sd, sn);
        String pb = childPath(dd, dn);
        detachForMove(sd, sn, a);
        detachForMove(dd, dn, b);
        attachMoved(dd, dn, a, pa);
        attachMoved(sd, sn, b, pb);
        Map<String, String> moves = new HashMap<>();
        if (a instanceof Dir) {
            moves.put(pa, pb);
        }
        if (b instanceof Dir) {
            moves.put(pb, pa);
        }
        movePrefixes(moves);
        a.ctimeNs = t;
        b.ctimeNs = t;
        touch(a);
        touch(b);
        touchDir(sd, t);
        touchDir(dd, t);
    }

    private void detachForMove(Dir dir, byte[] name, MutableNode n) {
        dir.children.put(name.clone(), null);
        dir.entries--;
        if (n instanceof Dir) {
            dir.subdirs--;
        }
        markChanged(dir, name.clone());
    }

    private void attachMoved(Dir dir, byte[] name, MutableNode n, String oldPath) {
        String newPath = childPath(dir, name);
        n.attachedSeq = nextSeq();
        dir.children.put(name.clone(), n);
        dir.entries++;
        if (n instanceof Dir) {
            dir.subdirs++;
        }
        markChanged(dir, name.clone());
        if (n.group != null) {
            n.group.paths.remove(oldPath);
            n.group.paths.add(newPath);
            dirtyGroups.add(n.group);
        } else {
            n.parent = dir;
            n.name = name.clone();
        }
    }

    /**
     * Moved directories carry the hard-linked names below them: rewrites every group path under
     * an old directory path (key) to the new one (value), all in one pass so that an exchange of
     * two directories does not move a path twice.
     */
    private void movePrefixes(Map<String, String> moves) {
        if (moves.isEmpty() || (linksBase == null && groups.isEmpty())) {
            return;
        }
        loadLinks();
        for (LinkGroup g : groups) {
            List<String> before = new ArrayList<>(g.paths);
            boolean changed = false;
            for (String p : before) {
                for (Map.Entry<String, String> m : moves.entrySet()) {
                    if (p.startsWith(m.getKey() + "/")) {
                        g.paths.remove(p);
                        changed = true;
                        break;
                    }
                }
            }
            if (!changed) {
                continue;
            }
            for (String p : before) {
                for (Map.Entry<String, String> m : moves.entrySet()) {
                    if (p.startsWith(m.getKey() + "/")) {
                        g.paths.add(m.getValue() + p.substring(m.getKey().length()));
                        break;
                    }
                }
            }
            dirtyGroups.add(g);
        }
    }

    /** Whether {@code d} is {@code ancestor} or below it. */
    private static boolean isWithin(Dir d, Dir ancestor) {
        for (Dir x = d; x != null; x = x.parent) {
            if (x == ancestor) {
                return true;
            }
        }
        return false;
    }

    // ---- attributes ------------------------------------------------------------------------

    /** chmod/chown/utimens: null leaves a field alone; ctime becomes now. */
    public void setAttributes(MutableNode n, Integer mode, Long uid, Long gid, Long mtimeNs) {
        if (mode != null) {
            n.mode = mode & 07777;
        }
        if (uid != null) {
            n.uid = uid;
        }
        if (gid != null) {
            n.gid = gid;
        }
        if (mtimeNs != null) {
            n.mtimeNs = mtimeNs;
        }
        n.ctimeNs = now();
        touch(n);
    }

    public Optional<byte[]> getXattr(MutableNode n, String name) {
        byte[] v = n.xattrs.get(name);
        return Optional.ofNullable(v == null ? null : v.clone());
    }

    public List<String> listXattrs(MutableNode n) {
        return List.copyOf(n.xattrs.keySet());
    }

    public void setXattr(MutableNode n, String name, byte[] value, XattrMode mode) throws FileSystemException {
        if (name.isEmpty() || name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
            throw new InvalidOperationException(name, "invalid extended attribute name");
        }
        if (value.length > TreeCodec.MAX_XATTR_VALUE) {
            throw new InvalidOperationException(name, "extended attribute value larger than 1 MiB");
        }
        boolean present = n.xattrs.containsKey(name);
        if (mode == XattrMode.CREATE && present) {
            throw new FileAlreadyExistsException(name);
        }
        if (mode == XattrMode.REPLACE && !present) {
            throw new NoSuchAttributeException(pathOf(n).orElse("?"), name);
        }
        n.xattrs.put(name, value.clone());
        n.ctimeNs = now();
        touch(n);
    }

    public void removeXattr(MutableNode n, String name) throws FileSystemException {
        if (n.xattrs.remove(name) == null) {
            throw new NoSuchAttributeException(pathOf(n).orElse("?"), name);
        }
        n.ctimeNs = now();
        touch(n);
    }

    // ---- file content ----------------------------------------------------------------------

    public int read(File f, long off, byte[] dst, int dstOff, int len) {
        return f.data.read(out, off, dst, dstOff, len);
    }

    public void write(File f, long off, byte[] src, int srcOff, int len) throws FileSystemException {
        if (off < 0 || off + len < 0) {
            throw new InvalidOperationException(pathOf(f).orElse("?"), "negative offset");
        }
        long before = f.data.dirtyBytes();
        f.data.write(out, off, src, srcOff, len);
        modified(f, before);
    }

    public void truncate(File f, long size) throws FileSystemException {
        if (size < 0) {
            throw new InvalidOperationException(pathOf(f).orElse("?"), "negative size");
        }
        long before = f.data.dirtyBytes();
        f.data.truncate(size);
        modified(f, before);
    }

    /** Bytes in dirty pages of all files; kept under {@link #TREE_SPILL_BYTES}. */
    private long dirtyBytes;

    long dirtyBytes() {
        return dirtyBytes;
    }

    /** All files' dirty pages together are written out as chunks past this size. */
    static final long TREE_SPILL_BYTES = 64L << 20;

    private void modified(File f, long dirtyBefore) {
        long t = now();
        f.mtimeNs = t;
        f.ctimeNs = t;
        touch(f);
        dirtyFiles.add(f);
        dirtyBytes += f.data.dirtyBytes() - dirtyBefore;
        if (f.data.dirtyBytes() >= FILE_SPILL_BYTES) {
            spill(f);
        }
        if (dirtyBytes >= TREE_SPILL_BYTES) {
            for (File d : List.copyOf(dirtyFiles)) {
                spill(d);
            }
        }
    }

    /** Writes a file's dirty pages out as chunks; its entry is still rewritten at the next flush. */
    private void spill(File f) {
        dirtyBytes -= f.data.dirtyBytes();
        f.data.flush(out);
    }

    // ---- reload ----------------------------------------------------------------------------

    /**
     * Moves this tree, which must have no unflushed change, to the tree {@code newRootId}, keeping
     * every loaded node whose entry is the same there: the live tree takes a merged commit this way,
     * and the directories and files nobody changed stay the same node objects (the same inodes, the
     * same open handles). {@code changed} must name every path (as name segments) whose entry differs
     * between the current state and the new tree, directories whose contents differ included; cost
     * O(changed × depth). A replaced or removed node loses its name (open handles keep it, as after
     * a rename over it). A node loaded from the new tree has an {@link MutableNode#attachedSeq} of
     * this reload.
     */
    public void reload(ObjectId newRootId, java.util.Collection<List<byte[]>> changed) throws FileSystemException {
        if (!root.changed.isEmpty() || !dirtyGroups.isEmpty() || !removedKeys.isEmpty()) {
            throw new IllegalStateException("reload of a tree with unflushed changes");
        }
        Root r = Root.decode(store.get(newRootId));
        long seq = nextSeq();
        ObjectId oldLinks = linksBase == null ? null : linksBase.id();
        ObjectId newLinks = r.links() == null ? null : r.links().id();
        if (!java.util.Objects.equals(oldLinks, newLinks)) {
            dropLinkGroups();
            linksBase = r.links();
            linksSeq = seq;
        }
        PathTrie trie = new PathTrie();
        for (List<byte[]> p : changed) {
            PathTrie t = trie;
            for (byte[] name : p) {
                t = t.children.computeIfAbsent(name, k -> new PathTrie());
            }
        }
        Deque<Reloading> todo = new ArrayDeque<>();
        todo.push(new Reloading(root, r.dir(), trie));
        while (!todo.isEmpty()) {
            Reloading x = todo.pop();
            reloadDir(x.dir, x.entry, x.changed, seq, todo);
        }
    }

    /** A loaded directory {@link #reload} still has to move to its new entry. */
    private record Reloading(Dir dir, TreeEntry entry, PathTrie changed) {}

    private static final class PathTrie {
        final TreeMap<byte[], PathTrie> children = new TreeMap<>(Directories.NAME_ORDER);
    }

    /** Moves one directory to its new entry; its loaded subdirectories that changed go to {@code todo}. */
    private void reloadDir(Dir d, TreeEntry e, PathTrie t, long seq, Deque<Reloading> todo) {
        d.mode = e.mode();
        d.uid = e.uid();
        d.gid = e.gid();
        d.mtimeNs = e.mtimeNs();
        d.ctimeNs = e.ctimeNs();
        d.xattrs = new TreeMap<>(e.xattrs());
        TreeRef ref = new TreeRef(e.tree(), e.dirEntries(), e.dirSubdirs());
        if (ref.equals(d.base) && t.children.isEmpty()) {
            return;
        }
        d.base = ref;
        d.entries = ref.entries();
        d.subdirs = ref.subdirs();
        d.baseSeq = seq;
        d.changedSeq = seq;
        for (Map.Entry<byte[], PathTrie> c : t.children.entrySet()) {
            byte[] name = c.getKey();
            boolean loaded = d.children.containsKey(name);
            if (!loaded && !d.listed) {
                continue; // loaded from the new base when first asked for
            }
            Optional<TreeEntry> ne = Directories.find(store, d.base.id(), name);
            MutableNode old = d.children.get(name);
            if (ne.isEmpty()) {
                d.children.remove(name);
                loseName(old);
            } else if (old instanceof Dir od && old.group == null && ne.get().kind() == EntryKind.DIRECTORY) {
                todo.push(new Reloading(od, ne.get(), c.getValue()));
            } else {
                MutableNode n = materialize(d, ne.get());
                n.attachedSeq = seq;
                d.children.put(n.group == null ? n.name : name.clone(), n);
                if (old != n) {
                    loseName(old);
                }
            }
        }
    }

    private static void loseName(MutableNode n) {
        if (n != null && n.group == null) {
            n.parent = null;
        }
    }

    /** Forgets every loaded link group: its names are unloaded, its node keeps no name. */
    private void dropLinkGroups() throws FileSystemException {
        for (LinkGroup g : groups) {
            for (String p : g.paths) {
                int slash = p.lastIndexOf('/');
                Optional<Dir> parent = loadedDir(p.substring(0, slash));
                if (parent.isPresent()) {
                    parent.get().children.remove(p.substring(slash + 1).getBytes(ISO_8859_1));
                    parent.get().listed = false;
                }
            }
            g.node.group = null;
            g.node.parent = null;
        }
        groups.clear();
        groupsByFlushedKey.clear();
        linksLoaded = false;
    }

    /** The directory at a raw path if it and all its ancestors are loaded. */
    private Optional<Dir> loadedDir(String rawPath) {
        MutableNode n = root;
        for (String part : rawPath.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            if (!(n instanceof Dir d)) {
                return Optional.empty();
            }
            n = d.children.get(part.getBytes(ISO_8859_1));
            if (n == null) {
                return Optional.empty();
            }
        }
        return n instanceof Dir d ? Optional.of(d) : Optional.empty();
    }

    // ---- flush -----------------------------------------------------------------------------

    /**
     * Writes every change and returns the new root's id. Cost O(changed entries × depth); the
     * objects are durable in the store when it returns. The tree stays usable, now over that root.
     */
    public ObjectId flush() throws FileSystemException {
        return flush((root, w) -> {
            w.flush();
            return root;
        });
    }

    /** What ends a {@link #flush(Finish)}. */
    public interface Finish<R> {
        /**
         * Gets the new root's id and the tree's writer, in which the last of the changes are still
         * staged; must write them ({@link ObjectWriter#flush} or {@link ObjectWriter#flushAndSet}),
         * and may stage more first (a snapshot of the root) to go in the same write.
         */
        R finish(ObjectId root, ObjectWriter out) throws FileSystemException;
    }

    /** {@link #flush()}, with the final write left to {@code finish}. */
    public <R> R flush(Finish<R> finish) throws FileSystemException {
        for (LinkGroup g : dirtyGroups) {
            if (!g.key().equals(g.flushedKey)) {
                for (String p : g.paths) {
                    int slash = p.lastIndexOf('/');
                    Dir parent = getDirRaw(p.substring(0, slash));
                    byte[] name = p.substring(slash + 1).getBytes(ISO_8859_1);
                    lookup(parent, name); // a changed name must be loaded: flushDir reads it from children
                    markChanged(parent, name);
                }
                if (g.flushedKey != null) {
                    removedKeys.add(g.flushedKey);
                }
            }
        }
        TreeRef rootRef = flushDir(root);
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        for (String k : removedKeys) {
            changes.put(k.getBytes(ISO_8859_1), null);
        }
        for (LinkGroup g : dirtyGroups) {
            List<byte[]> paths =
                    g.paths.stream().map(p -> p.getBytes(ISO_8859_1)).toList();
            changes.put(g.key().getBytes(ISO_8859_1), HardLinks.record(inodeEntry(g.node, new byte[] {'x'}), paths));
        }
        if (!changes.isEmpty()) {
            linksBase = Directories.update(out, linksBase, changes);
            if (linksBase.entries() == 0) {
                linksBase = null;
            }
        }
        for (String k : removedKeys) {
            groupsByFlushedKey.remove(k);
        }
        for (LinkGroup g : dirtyGroups) {
            g.flushedKey = g.key();
            groupsByFlushedKey.put(g.flushedKey, g);
        }
        dirtyGroups.clear();
        removedKeys.clear();
        for (File f : List.copyOf(dirtyFiles)) {
            spill(f); // unlinked while open: not in the tree, but its pages still count
            dirtyFiles.remove(f);
        }
        TreeEntry rootEntry = root.entryBuilder(new byte[0]).tree(rootRef).build();
        ObjectId id = out.put(new Root(rootEntry, linksBase).encode());
        // After a failed write, what the tree no longer reaches goes: the file that filled the
        // store, once deleted, must not keep every later sync from fitting. That includes the
        // spilled pages of a file unlinked while still open (the tree cannot tell whether it
        // is), whose reads through that handle then fail.
        out.retainReachable(List.of(id));
        return finish.finish(id, out);
    }

    /** A directory being flushed and the changed names of it not yet looked at. */
    private record Flushing(Dir dir, Iterator<byte[]> names) {}

    /**
     * Writes the changed directories at and below {@code top}, children before their parent, with
     * an explicit stack: the tree's depth never reaches the thread's stack. A failure part way
     * leaves every directory either written (its changes cleared, its base the new one) or still
     * marked, so the next flush carries on where this one stopped.
     */
    private TreeRef flushDir(Dir top) {
        Deque<Flushing> stack = new ArrayDeque<>();
        if (!top.changed.isEmpty()) {
            stack.push(new Flushing(top, top.changed.iterator()));
        }
        while (!stack.isEmpty()) {
            Flushing f = stack.peek();
            if (f.names.hasNext()) {
                MutableNode n = f.dir.children.get(f.names.next());
                if (n instanceof Dir child && n.group == null && !child.changed.isEmpty()) {
                    stack.push(new Flushing(child, child.changed.iterator()));
                }
                continue;
            }
            stack.pop();
            writeDir(f.dir);
        }
        return top.base;
    }

    /** Writes one directory whose changed subdirectories are all written. */
    private void writeDir(Dir d) {
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        for (byte[] name : d.changed) {
            MutableNode n = d.children.get(name);
            if (n == null) {
                changes.put(name, null);
            } else if (n.group != null) {
                changes.put(name, HardLinks.link(name, n.group.key().getBytes(ISO_8859_1)));
            } else if (n instanceof Dir child) {
                changes.put(name, child.entryBuilder(name).tree(child.base).build());
            } else {
                changes.put(name, inodeEntry(n, name));
            }
        }
        d.base = Directories.update(out, d.base, changes);
        d.changed.clear();
        d.children.values().removeIf(java.util.Objects::isNull);
        if (d.base.entries() != d.entries || d.base.subdirs() != d.subdirs) {
            throw new IllegalStateException(
                    "directory counts diverged: wrote " + d.base + ", tracked " + d.entries + "/" + d.subdirs);
        }
    }

    /** The full entry of a non-directory node (its file content flushed). */
    private TreeEntry inodeEntry(MutableNode n, byte[] name) {
        TreeEntry.Builder b = n.entryBuilder(name);
        if (n instanceof File f) {
            dirtyBytes -= f.data.dirtyBytes();
            b.content(f.data.flush(out));
            dirtyFiles.remove(f);
        } else if (n instanceof Special s) {
            if (s.target != null) {
                b.symlinkTarget(s.target);
            }
            b.rdev(s.rdev);
        }
        return b.build();
    }
}
