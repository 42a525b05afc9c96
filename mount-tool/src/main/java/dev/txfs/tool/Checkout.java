package dev.txfs.tool;

import dev.txfs.fs.posix.Errno;
import dev.txfs.fs.posix.Posix;
import dev.txfs.fs.posix.PosixAt;
import dev.txfs.fs.posix.PosixException;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.FileContents;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.MalformedObjectException;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeLimits;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a snapshot's tree into an empty host directory, exactly: kinds, modes (setuid, sticky),
 * owners, mtime in ns (symlinks too), xattrs of every namespace, device numbers, fifos, sockets
 * and hard links. ctime cannot be set and atime is left as the kernel sets it.
 *
 * <p>Implementation notes. Everything goes through descriptors: the target is an open directory,
 * each directory is made with {@code mkdirat} and entered with {@code openat(O_NOFOLLOW |
 * O_DIRECTORY)} from its parent's descriptor, files are created {@code O_CREAT | O_EXCL |
 * O_NOFOLLOW} and get their content, owner, xattrs, mode and times through their own descriptor.
 * No path is looked up again from the root, so a symlink swapped into the tree is never followed
 * (the directories are 0700 and the caller's until their own metadata is set, last). The walk is
 * iterative and refuses a tree deeper than {@link TreeLimits#MAX_DEPTH}.
 *
 * <p>The calling thread walks the trees and creates directories, symlinks, special files and
 * hard links (a later name of a link group is linked to the first as soon as it is met), and
 * opens each regular file; a {@link WorkerPool} writes the files (at most {@value #MAX_OPEN_FILES}
 * open at once), streaming one chunk at a time, runs of zeros as holes. Directory metadata comes
 * last, children before parents, because creating names changes a directory's mtime: in reverse
 * creation order, each directory reached from its parent's descriptor (never through one whose
 * metadata is set). Per inode the order is: content, owner (chown clears setuid bits and file
 * capabilities), xattrs (an ACL sets the group bits), mode, times.
 *
 * <p>Privileges: unless {@code privileged} (a source signed by a trusted key, or {@code
 * --preserve-privileges}), device nodes are not created, and {@link InodeMetadata} drops setuid
 * and setgid bits and {@code security.capability}; each is counted in {@link Warnings}.
 *
 * <p>Not root: owners, privileged xattr namespaces and device nodes that the kernel refuses
 * (EPERM, EOPNOTSUPP) are skipped and counted in {@link Warnings}; anything else fails the run.
 */
final class Checkout {
    /** What a run wrote. */
    record Result(long files, long directories, long others, long links, long bytes) {}

    /** Counters for progress output. */
    static final class Counters {
        final AtomicLong entries = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
    }

    static final int MAX_OPEN_FILES = 128;

    /** A directory being walked: its descriptor, where it is, its entries and the next one. */
    private static final class Frame {
        final int fd;
        final byte[] abs;
        final byte[] path;
        final int index;
        final List<TreeEntry> entries;
        int next;

        Frame(int fd, byte[] abs, byte[] path, int index, List<TreeEntry> entries) {
            this.fd = fd;
            this.abs = abs;
            this.path = path;
            this.index = index;
            this.entries = entries;
        }
    }

    /** A directory made by the walk: its parent's index ({@code -1}: the target) and name. */
    private record Made(int parent, byte[] name, byte[] abs, TreeEntry entry) {}

    private final ObjectStore store;
    private final Posix posix;
    private final PosixAt at;
    private final int threads;
    private final boolean privileged;
    private final Warnings warnings;
    private final Counters counters;
    private final InodeMetadata metadata;
    private final Semaphore openFiles = new Semaphore(MAX_OPEN_FILES);

    /** Runs between the walk and the directory metadata pass (tests swap names in there). */
    private Runnable beforeDirectoryMetadata = () -> {};

    private Root root;
    private int targetFd;
    private final Map<String, TreeEntry> records = new HashMap<>();
    /** The first name of each link group met, as a path relative to the target. */
    private final Map<String, byte[]> firstNames = new HashMap<>();
    /** Link groups whose inode was not created (an untrusted device): later names are skipped too. */
    private final Set<String> skippedGroups = new HashSet<>();

    private final List<Made> directories = new ArrayList<>();
    private final List<Future<?>> writes = new ArrayList<>();
    private long files;
    private long others;
    private long links;
    private long bytes;

    Checkout(ObjectStore store, Posix posix, int threads, boolean privileged, Warnings warnings, Counters counters) {
        this.store = store;
        this.posix = posix;
        this.at = PosixAt.get();
        this.threads = threads;
        this.privileged = privileged;
        this.warnings = warnings;
        this.counters = counters;
        this.metadata = new InodeMetadata(at, privileged, warnings);
    }

    /** For tests: {@code hook} runs after every name is created, before directory metadata is set. */
    Checkout beforeDirectoryMetadata(Runnable hook) {
        this.beforeDirectoryMetadata = hook;
        return this;
    }

    /**
     * Writes the tree of the {@code Root} object {@code rootId} into the empty directory open as
     * {@code targetFd} ({@code target} names it in messages), and sets its metadata last.
     */
    Result run(ObjectId rootId, int targetFd, byte[] target) throws IOException, InterruptedException {
        root = Snapshots.loadRoot(store, rootId);
        this.targetFd = targetFd;
        try (WorkerPool pool = new WorkerPool(null, threads, "txfs-write")) {
            walk(target, pool);
            pool.finish();
        }
        WorkerPool.awaitAll(writes);
        beforeDirectoryMetadata.run();
        directoryMetadata();
        metadata.set(targetFd, target, root.dir());
        return new Result(files, directories.size(), others, links, bytes);
    }

    private void walk(byte[] target, WorkerPool pool) throws IOException, InterruptedException {
        Deque<Frame> stack = new ArrayDeque<>();
        stack.push(new Frame(
                targetFd,
                target,
                new byte[0],
                -1,
                Directories.list(store, root.dir().tree())));
        try {
            while (!stack.isEmpty()) {
                Frame f = stack.peek();
                if (f.next == f.entries.size()) {
                    closeFrame(stack.pop());
                    continue;
                }
                TreeEntry e = f.entries.get(f.next++);
                Frame child = entry(f, e, stack.size(), pool);
                if (child != null) {
                    stack.push(child);
                }
            }
        } finally {
            while (!stack.isEmpty()) {
                closeFrame(stack.pop());
            }
        }
    }

    private void closeFrame(Frame f) {
        if (f.fd != targetFd) {
            posix.closeQuietly(f.fd);
        }
    }

    /** Creates one entry of {@code f}; a new frame when it is a directory to walk. */
    private Frame entry(Frame f, TreeEntry e, int depth, WorkerPool pool) throws IOException, InterruptedException {
        byte[] name = e.name();
        checkName(name, f.path);
        byte[] abs = Posix.child(f.abs, name);
        byte[] path = f.path.length == 0 ? name : Posix.child(f.path, name); // relative: never "/..."
        if (depth > TreeLimits.MAX_DEPTH) {
            throw new MalformedObjectException("tree deeper than " + TreeLimits.MAX_DEPTH + " levels at /"
                    + Posix.display(path) + ": not checked out further");
        }
        TreeEntry inode = e;
        String key = null;
        if (e.kind() == EntryKind.HARDLINK) {
            key = HexFormat.of().formatHex(e.linkKey());
            if (skippedGroups.contains(key)) {
                return null;
            }
            byte[] first = firstNames.get(key);
            if (first != null) {
                // through directories this run made, 0700 and not yet given their metadata
                at.link(targetFd, first, f.fd, name, abs);
                links++;
                counters.entries.incrementAndGet();
                return null;
            }
            inode = records.computeIfAbsent(key, k -> HardLinks.find(store, root, e.linkKey())
                    .orElseThrow(() -> new MalformedObjectException("hard link /" + Posix.display(path)
                            + " names a link group " + Posix.display(e.linkKey()) + " that the link table lacks")));
            if (!privileged && isDevice(inode)) {
                skippedGroups.add(key);
            } else {
                firstNames.put(key, path);
            }
        }
        counters.entries.incrementAndGet();
        switch (inode.kind()) {
            case DIRECTORY -> {
                at.mkdir(f.fd, name, 0700, abs);
                int fd = at.openDirectory(f.fd, name, abs);
                directories.add(new Made(f.index, name, abs, inode));
                try {
                    return new Frame(fd, abs, path, directories.size() - 1, Directories.list(store, inode.tree()));
                } catch (RuntimeException x) {
                    posix.closeQuietly(fd);
                    throw x;
                }
            }
            case FILE -> {
                files++;
                bytes += inode.size();
                TreeEntry file = inode;
                openFiles.acquire();
                int fd;
                try {
                    fd = at.open(
                            f.fd,
                            name,
                            Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW | Posix.O_CLOEXEC,
                            0600,
                            abs);
                } catch (PosixException x) {
                    openFiles.release();
                    throw x;
                }
                writes.add(pool.submit(w -> {
                    try {
                        writeFile(fd, abs, file);
                    } finally {
                        posix.closeQuietly(fd);
                        openFiles.release();
                    }
                    return null;
                }));
            }
            case SYMLINK -> {
                others++;
                at.symlink(inode.symlinkTarget(), f.fd, name, abs);
                metadata.setAt(f.fd, name, abs, inode);
            }
            case CHAR_DEVICE, BLOCK_DEVICE, FIFO, SOCKET -> {
                others++;
                if (!privileged && isDevice(inode)) {
                    warnings.add("device node not created " + InodeMetadata.UNTRUSTED, Posix.display(abs));
                    return null;
                }
                try {
                    at.mknod(f.fd, name, inode.kind().typeBits | 0600, inode.rdev(), abs);
                } catch (PosixException x) {
                    if (x.errno() == Errno.EPERM && isDevice(inode)) {
                        warnings.add("device node not created (needs root)", Posix.display(abs));
                        if (key != null) { // its other names have nothing to link to
                            firstNames.remove(key);
                            skippedGroups.add(key);
                        }
                        return null;
                    }
                    throw x;
                }
                metadata.setAt(f.fd, name, abs, inode);
            }
            default -> throw new MalformedObjectException("unexpected " + inode.kind() + " at /" + Posix.display(path));
        }
        return null;
    }

    private static boolean isDevice(TreeEntry e) {
        return e.kind() == EntryKind.CHAR_DEVICE || e.kind() == EntryKind.BLOCK_DEVICE;
    }

    private static void checkName(byte[] name, byte[] treePath) {
        boolean bad = name.length == 0
                || (name.length == 1 && name[0] == '.')
                || (name.length == 2 && name[0] == '.' && name[1] == '.');
        for (byte b : name) {
            bad |= b == '/' || b == 0;
        }
        if (bad) {
            throw new MalformedObjectException("invalid name in directory "
                    + (treePath.length == 0 ? "" : "/" + Posix.display(treePath)) + "/: '" + Posix.display(name) + "'");
        }
    }

    /** Content, then metadata, through the file's own descriptor (which the caller closes). */
    private void writeFile(int fd, byte[] abs, TreeEntry e) throws IOException {
        int streamFd = at.dup(fd);
        try (OutputStream out = new CountingStream(posix.outputStream(streamFd, abs, true), counters.bytes)) {
            FileContents.copyTo(store, e.content(), out);
        }
        metadata.set(fd, abs, e);
    }

    /**
     * Directory metadata, children before parents: reverse creation order. Each directory is
     * opened from its parent's descriptor; {@code chain} holds the open ancestors of the last one
     * (none of which has its metadata yet).
     */
    private void directoryMetadata() throws PosixException {
        List<Integer> chainIndex = new ArrayList<>();
        List<Integer> chainFd = new ArrayList<>();
        try {
            for (int i = directories.size() - 1; i >= 0; i--) {
                Made d = directories.get(i);
                List<Integer> ancestors = new ArrayList<>();
                for (int p = d.parent(); p >= 0; p = directories.get(p).parent()) {
                    ancestors.add(p);
                }
                Collections.reverse(ancestors);
                int keep = 0;
                while (keep < chainIndex.size()
                        && keep < ancestors.size()
                        && chainIndex.get(keep).equals(ancestors.get(keep))) {
                    keep++;
                }
                while (chainIndex.size() > keep) {
                    chainIndex.remove(chainIndex.size() - 1);
                    posix.closeQuietly(chainFd.remove(chainFd.size() - 1));
                }
                for (int j = keep; j < ancestors.size(); j++) {
                    Made a = directories.get(ancestors.get(j));
                    int parentFd = chainFd.isEmpty() ? targetFd : chainFd.get(chainFd.size() - 1);
                    int fd = at.openDirectory(parentFd, a.name(), a.abs());
                    chainIndex.add(ancestors.get(j));
                    chainFd.add(fd);
                }
                int parentFd = chainFd.isEmpty() ? targetFd : chainFd.get(chainFd.size() - 1);
                int fd = at.openDirectory(parentFd, d.name(), d.abs());
                try {
                    metadata.set(fd, d.abs(), d.entry());
                } finally {
                    posix.closeQuietly(fd);
                }
            }
        } finally {
            chainFd.forEach(posix::closeQuietly);
        }
    }

    /** Counts bytes for progress output. */
    private static final class CountingStream extends FilterOutputStream {
        private final AtomicLong counter;

        CountingStream(OutputStream out, AtomicLong counter) {
            super(out);
            this.counter = counter;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            counter.addAndGet(len);
        }
    }
}
