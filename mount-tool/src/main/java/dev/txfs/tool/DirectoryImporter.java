package dev.txfs.tool;

import dev.txfs.fs.posix.DirEntry;
import dev.txfs.fs.posix.Errno;
import dev.txfs.fs.posix.Posix;
import dev.txfs.fs.posix.PosixException;
import dev.txfs.fs.posix.Stat;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeLimits;
import dev.txfs.snapshot.TreeRef;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Records a host directory tree in the store, exactly: kinds, permission bits, owners, mtime and
 * ctime in ns, every xattr, symlink targets, device numbers, hard links inside the tree and
 * byte-exact names. Returns the id of the tree's {@code Root} object.
 *
 * <p>Implementation notes: the calling thread walks the tree (getdents64 and statx, no symlink
 * followed, mount points crossed unless told otherwise) and builds an in-memory picture of it; regular files whose stat
 * cache entry does not match are read and chunked by a {@link WorkerPool}, one {@link ObjectWriter}
 * per worker, and the workers also check, in batches, that the objects of stat cache hits are
 * still in the store. Hard-link groups need the whole walk (a group is two or more names of one (dev, ino)
 * inside the tree), so the trees are written after it, bottom-up, on the calling thread. Memory:
 * one small node per name; file content streams through the chunker.
 *
 * <p>A file that disappears between listing and reading is left out with a warning; a file that
 * changes while it is read is recorded as read, with the metadata seen after reading, a warning,
 * and no stat cache entry.
 */
final class DirectoryImporter {
    /** What a run recorded. */
    record Result(
            ObjectId root,
            long files,
            long directories,
            long others,
            long bytes,
            long filesRead,
            long bytesRead,
            long cacheHits) {}

    /** Counters for progress output, updated as the walk and the reads go. */
    static final class Counters {
        final AtomicLong scanned = new AtomicLong();
        final AtomicLong filesRead = new AtomicLong();
        final AtomicLong bytesRead = new AtomicLong();
    }

    private static final class Node {
        final byte[] name;
        final byte[] path;
        /** Levels below the source (the source is 0). */
        int depth;

        Stat st;
        SortedMap<String, byte[]> xattrs = Collections.emptySortedMap();
        List<Node> children;
        byte[] target;
        Content content;
        StatCache.Entry cached;
        ReadResult read;
        Group group;
        boolean vanished;

        Node(byte[] name, byte[] path, Stat st) {
            this.name = name;
            this.path = path;
            this.st = st;
        }
    }

    private record InodeKey(long dev, long ino) {}

    private static final class Group {
        final Node first;
        final List<byte[]> paths = new ArrayList<>();
        byte[] key;

        Group(Node first) {
            this.first = first;
        }
    }

    private record ReadResult(Content content, Stat after, boolean vanished) {}

    private static final int CACHED_BATCH = 512;

    private final ObjectStore store;
    private final Posix posix;
    private final int threads;
    private final StatCache previous;
    private final StatCache next;
    private final Warnings warnings;
    private final Counters counters;

    private final Map<InodeKey, Group> groups = new HashMap<>();
    /** Regular files whose content is being found: from the stat cache or by reading. */
    private final List<Node> regularFiles = new ArrayList<>();

    private final List<Future<?>> tasks = new ArrayList<>();
    private List<Node> cachedBatch = new ArrayList<>();
    private byte[] source;
    private Runnable afterContent = () -> {};
    private boolean oneFileSystem;
    private long rootDev;
    private long files;
    private long directories;
    private long others;
    private long bytes;
    private long cacheHits;

    /**
     * @param previous the last scan's cache (may be empty), consulted for unchanged files
     * @param next receives an entry for every regular file recorded, for the next run
     */
    DirectoryImporter(
            ObjectStore store,
            Posix posix,
            int threads,
            StatCache previous,
            StatCache next,
            Warnings warnings,
            Counters counters) {
        this.store = store;
        this.posix = posix;
        this.threads = threads;
        this.previous = previous;
        this.next = next;
        this.warnings = warnings;
        this.counters = counters;
    }

    /** Whether to stay on the source's filesystem: mount points are recorded as empty directories. */
    DirectoryImporter oneFileSystem(boolean stay) {
        this.oneFileSystem = stay;
        return this;
    }

    /**
     * Runs {@code task} on its own thread as soon as every file's content is known (so the {@code
     * next} stat cache is complete), while the trees are written; {@link #run} waits for it.
     */
    DirectoryImporter afterContent(Runnable task) {
        this.afterContent = task;
        return this;
    }

    /** Records the tree at {@code source} (an absolute path of a directory, symlinks resolved). */
    Result run(byte[] source) throws IOException, InterruptedException {
        this.source = source;
        Node root = new Node(new byte[0], new byte[0], posix.lstat(source));
        if (!root.st.isDirectory()) {
            throw new ToolException(ExitCode.USAGE, "not a directory: " + Posix.display(source));
        }
        root.xattrs = posix.getXattrs(source);
        rootDev = root.st.dev();
        try (WorkerPool pool = new WorkerPool(store, threads, "txfs-read")) {
            walk(root, source, pool);
            submitCached(pool);
            pool.finish();
        }
        collectReads();
        Thread after = new Thread(afterContent, "txfs-after-content");
        after.start();
        try (ObjectWriter w = store.newWriter()) {
            List<TreeEntry> records = new ArrayList<>();
            for (Group g : groups.values()) {
                if (g.paths.size() >= 2 && !g.first.vanished) {
                    records.add(HardLinks.record(inode(w, g.first, g.first.name), g.paths));
                }
            }
            TreeEntry rootEntry = inode(w, root, root.name);
            ObjectId id = HardLinks.writeRoot(w, rootEntry, records);
            w.flush();
            after.join();
            return new Result(
                    id,
                    files,
                    directories,
                    others,
                    bytes,
                    counters.filesRead.get(),
                    counters.bytesRead.get(),
                    cacheHits);
        }
    }

    /**
     * Reads the tree below {@code top}, depth first in name order, with an explicit stack: the
     * source's depth never reaches the thread's stack. A name deeper than {@link
     * TreeLimits#MAX_DEPTH} levels below the source ends the import (nothing is recorded).
     */
    private void walk(Node top, byte[] topAbs, WorkerPool pool) throws IOException {
        Deque<Map.Entry<Node, byte[]>> todo = new ArrayDeque<>();
        todo.push(Map.entry(top, topAbs));
        while (!todo.isEmpty()) {
            Map.Entry<Node, byte[]> next = todo.pop();
            Node dir = next.getKey();
            byte[] abs = next.getValue();
            List<Node> subdirs = new ArrayList<>();
            int fd = posix.openDirectory(abs);
            try {
                List<DirEntry> names = posix.listDirectory(fd, abs);
                dir.children = new ArrayList<>(names.size());
                if (!names.isEmpty() && dir.depth + 1 > TreeLimits.MAX_DEPTH) {
                    throw new ToolException(
                            ExitCode.USAGE,
                            "too deep: "
                                    + Posix.display(
                                            Posix.child(abs, names.get(0).name())) + " is more than "
                                    + TreeLimits.MAX_DEPTH + " levels below " + Posix.display(source)
                                    + "; nothing recorded");
                }
                for (DirEntry d : names) {
                    visit(dir, fd, abs, d.name(), subdirs, pool);
                }
            } finally {
                posix.closeQuietly(fd);
            }
            for (int i = subdirs.size() - 1; i >= 0; i--) {
                Node sub = subdirs.get(i);
                sub.depth = dir.depth + 1;
                todo.push(Map.entry(sub, Posix.child(abs, sub.name)));
            }
        }
    }

    /** Records one name of {@code dir} (open as {@code fd}); directories go to {@code subdirs}. */
    private void visit(Node dir, int fd, byte[] abs, byte[] name, List<Node> subdirs, WorkerPool pool)
            throws IOException {
        byte[] childAbs = Posix.child(abs, name);
        byte[] childPath = Posix.child(dir.path, name);
        Stat st;
        try {
            st = posix.lstatAt(fd, name, childAbs);
        } catch (PosixException e) {
            if (e.errno() == Errno.ENOENT) {
                warnings.add("skipped, removed while reading the tree", Posix.display(childAbs));
                return;
            }
            throw e;
        }
        counters.scanned.incrementAndGet();
        Node n = new Node(name, childPath, st);
        dir.children.add(n);
        if (st.isDirectory()) {
            directories++;
            n.xattrs = posix.getXattrs(childAbs);
            if (oneFileSystem && st.dev() != rootDev) {
                n.children = new ArrayList<>(); // a mount point: recorded, not entered
            } else {
                subdirs.add(n);
            }
            return;
        }
        if (st.isRegularFile()) {
            files++;
        } else {
            others++;
        }
        if (st.nlink() > 1) {
            Group g = groups.get(new InodeKey(st.dev(), st.ino()));
            if (g != null) {
                g.paths.add(childPath);
                n.group = g;
                return;
            }
            g = new Group(n);
            g.paths.add(childPath);
            n.group = g;
            groups.put(new InodeKey(st.dev(), st.ino()), g);
        }
        if (st.isRegularFile()) {
            bytes += st.size();
            regularFiles.add(n);
            n.cached = previous.find(childPath, st);
            if (n.cached != null) {
                cachedBatch.add(n);
                if (cachedBatch.size() == CACHED_BATCH) {
                    submitCached(pool);
                }
            } else {
                n.xattrs = posix.getXattrs(childAbs);
                tasks.add(pool.submit(w -> {
                    n.read = read(w, childAbs, n.st);
                    return null;
                }));
            }
        } else {
            n.xattrs = posix.getXattrs(childAbs);
            if (st.isSymlink()) {
                n.target = posix.readlink(childAbs);
            }
        }
    }

    /**
     * Checks on a worker that the content objects of stat cache hits are still in the store (a
     * lookup each; the walk goes on meanwhile); a file whose objects are gone is read after all.
     */
    private void submitCached(WorkerPool pool) {
        if (cachedBatch.isEmpty()) {
            return;
        }
        List<Node> batch = cachedBatch;
        cachedBatch = new ArrayList<>(CACHED_BATCH);
        tasks.add(pool.submit(w -> {
            for (Node n : batch) {
                Content c = n.cached.content();
                if (!c.isInline() && !store.contains(c.id())) {
                    n.cached = null;
                    byte[] abs = concat(source, n.path);
                    n.xattrs = posix.getXattrs(abs);
                    n.read = read(w, abs, n.st);
                }
            }
            return null;
        }));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private ReadResult read(ObjectWriter w, byte[] abs, Stat before) throws IOException {
        int fd;
        try {
            fd = openForReading(abs);
        } catch (PosixException e) {
            if (e.errno() == Errno.ENOENT) {
                return new ReadResult(null, before, true);
            }
            throw e;
        }
        try (InputStream in = posix.inputStream(fd, abs)) {
            Content c = SmallFiles.write(w, in);
            Stat after = posix.fstat(fd);
            counters.filesRead.incrementAndGet();
            counters.bytesRead.addAndGet(c.size());
            return new ReadResult(c, after, false);
        }
    }

    private int openForReading(byte[] abs) throws PosixException {
        int flags = Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_CLOEXEC | Posix.O_NONBLOCK;
        try {
            return posix.open(abs, flags | Posix.O_NOATIME, 0);
        } catch (PosixException e) {
            if (e.errno() != Errno.EPERM) {
                throw e;
            }
            return posix.open(abs, flags, 0); // O_NOATIME needs ownership or CAP_FOWNER
        }
    }

    private void collectReads() throws IOException, InterruptedException {
        WorkerPool.awaitAll(tasks);
        for (Node n : regularFiles) {
            if (n.cached != null) {
                cacheHits++;
                n.content = n.cached.content();
                n.xattrs = n.cached.xattrs();
                next.put(n.path, n.st, n.content, n.xattrs);
                n.cached = null;
                continue;
            }
            ReadResult r = n.read;
            n.read = null;
            if (r.vanished()) {
                if (n.group != null && n.group.paths.size() > 1) {
                    throw new IOException(
                            "hard-linked file " + Posix.display(n.path) + " was removed while being read");
                }
                n.vanished = true;
                warnings.add("skipped, removed while reading the tree", Posix.display(n.path));
                continue;
            }
            n.content = r.content();
            Stat before = n.st;
            n.st = r.after();
            boolean unchanged = before.size() == r.after().size()
                    && before.mtimeNs() == r.after().mtimeNs()
                    && before.ctimeNs() == r.after().ctimeNs()
                    && r.content().size() == r.after().size();
            if (unchanged) {
                next.put(n.path, n.st, n.content, n.xattrs);
            } else {
                warnings.add("file changed while it was read", Posix.display(n.path));
            }
        }
    }

    /** The entry for a name: a hard link to its group's record, or the inode itself. */
    private TreeEntry entry(ObjectWriter w, Node n) {
        if (n.group != null && n.group.paths.size() >= 2) {
            return HardLinks.link(n.name, key(n.group));
        }
        return inode(w, n, n.name);
    }

    private static byte[] key(Group g) {
        if (g.key == null) {
            byte[] min = g.paths.get(0);
            for (byte[] p : g.paths) {
                if (Directories.NAME_ORDER.compare(p, min) < 0) {
                    min = p;
                }
            }
            g.key = min;
        }
        return g.key;
    }

    /** The full entry of an inode (a directory's subtree is written first). */
    private TreeEntry inode(ObjectWriter w, Node n, byte[] name) {
        Stat st = n.st;
        EntryKind kind = EntryKind.ofMode(st.mode());
        TreeEntry.Builder b = TreeEntry.builder(name, kind)
                .mode(st.permissions())
                .owner(st.uid(), st.gid())
                .times(st.mtimeNs(), st.ctimeNs())
                .xattrs(n.xattrs);
        switch (kind) {
            case FILE -> b.content(n.content);
            case SYMLINK -> b.symlinkTarget(n.target);
            case CHAR_DEVICE, BLOCK_DEVICE -> b.rdev(st.rdev());
            case DIRECTORY -> b.tree(writeDirectory(w, n));
            default -> {}
        }
        return b.build();
    }

    private TreeRef writeDirectory(ObjectWriter w, Node dir) {
        List<TreeEntry> entries = new ArrayList<>(dir.children.size());
        for (Node c : dir.children) {
            if (!c.vanished) {
                entries.add(entry(w, c));
            }
        }
        dir.children = null; // written: let the subtree go
        return Directories.write(w, entries);
    }
}
