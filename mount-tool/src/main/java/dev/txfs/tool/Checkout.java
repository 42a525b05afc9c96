package dev.txfs.tool;

import dev.txfs.fs.posix.Errno;
import dev.txfs.fs.posix.Posix;
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
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a snapshot's tree into an empty host directory, exactly: kinds, modes (setuid, sticky),
 * owners, mtime in ns (symlinks too), xattrs of every namespace, device numbers, fifos, sockets
 * and hard links. ctime cannot be set and atime is left as the kernel sets it.
 *
 * <p>Implementation notes: the calling thread walks the trees and creates directories (mode 0700
 * until the end, so a read-only directory can still be filled), symlinks and special files; regular
 * files are written by a {@link WorkerPool}, streaming one chunk at a time, runs of zeros as holes.
 * The first name of a hard-link group met in the walk gets the inode; the other names are linked
 * to it after the files are written. Directory metadata comes last, children before parents,
 * because creating names changes a directory's mtime. Per inode the order is: content, owner
 * (chown clears setuid bits and file capabilities), xattrs (an ACL sets the group bits), mode,
 * times.
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

    private record Pending(byte[] path, TreeEntry entry) {}

    private record Link(byte[] existing, byte[] name) {}

    private final ObjectStore store;
    private final Posix posix;
    private final int threads;
    private final Warnings warnings;
    private final Counters counters;

    private Root root;
    private final Map<String, TreeEntry> records = new HashMap<>();
    private final Map<String, byte[]> firstNames = new HashMap<>();
    private final List<Link> links = new ArrayList<>();
    private final List<Pending> directories = new ArrayList<>();
    private final List<Future<?>> writes = new ArrayList<>();
    private long files;
    private long others;
    private long bytes;

    Checkout(ObjectStore store, Posix posix, int threads, Warnings warnings, Counters counters) {
        this.store = store;
        this.posix = posix;
        this.threads = threads;
        this.warnings = warnings;
        this.counters = counters;
    }

    /** Writes the tree of the {@code Root} object {@code rootId} into {@code target}, an empty directory. */
    Result run(ObjectId rootId, byte[] target) throws IOException, InterruptedException {
        root = Snapshots.loadRoot(store, rootId);
        try (WorkerPool pool = new WorkerPool(null, threads, "txfs-write")) {
            walk(root.dir().tree(), target, new byte[0], pool);
            pool.finish();
        }
        WorkerPool.awaitAll(writes);
        for (Link l : links) {
            posix.link(l.existing(), l.name());
            counters.entries.incrementAndGet();
        }
        for (Pending d : directories) {
            metadata(d.path(), d.entry());
        }
        metadata(target, root.dir());
        return new Result(files, directories.size(), others, links.size(), bytes);
    }

    private void walk(ObjectId tree, byte[] dir, byte[] treePath, WorkerPool pool) throws IOException {
        for (TreeEntry e : Directories.list(store, tree)) {
            byte[] name = e.name();
            checkName(name, treePath);
            byte[] abs = Posix.child(dir, name);
            byte[] path = Posix.child(treePath, name);
            TreeEntry inode = e;
            if (e.kind() == EntryKind.HARDLINK) {
                String key = java.util.HexFormat.of().formatHex(e.linkKey());
                byte[] first = firstNames.get(key);
                if (first != null) {
                    links.add(new Link(first, abs));
                    continue;
                }
                inode = records.computeIfAbsent(key, k -> HardLinks.find(store, root, e.linkKey())
                        .orElseThrow(() -> new MalformedObjectException("hard link " + Posix.display(path)
                                + " names a link group " + Posix.display(e.linkKey()) + " that the link table lacks")));
                firstNames.put(key, abs);
            }
            create(inode, abs, path, pool);
        }
    }

    private static void checkName(byte[] name, byte[] treePath) {
        boolean bad = name.length == 0
                || (name.length == 1 && name[0] == '.')
                || (name.length == 2 && name[0] == '.' && name[1] == '.');
        for (byte b : name) {
            bad |= b == '/' || b == 0;
        }
        if (bad) {
            throw new MalformedObjectException(
                    "invalid name in directory " + Posix.display(treePath) + "/: '" + Posix.display(name) + "'");
        }
    }

    private void create(TreeEntry e, byte[] abs, byte[] path, WorkerPool pool) throws IOException {
        counters.entries.incrementAndGet();
        switch (e.kind()) {
            case DIRECTORY -> {
                posix.mkdir(abs, 0700);
                walk(e.tree(), abs, path, pool);
                directories.add(new Pending(abs, e));
            }
            case FILE -> {
                files++;
                bytes += e.size();
                writes.add(pool.submit(w -> {
                    writeFile(abs, e);
                    return null;
                }));
            }
            case SYMLINK -> {
                others++;
                posix.symlink(e.symlinkTarget(), abs);
                metadata(abs, e);
            }
            case CHAR_DEVICE, BLOCK_DEVICE, FIFO, SOCKET -> {
                others++;
                try {
                    posix.mknod(abs, e.kind().typeBits | 0600, e.rdev());
                } catch (PosixException x) {
                    if (x.errno() == Errno.EPERM && e.kind() != EntryKind.FIFO && e.kind() != EntryKind.SOCKET) {
                        warnings.add("device node not created (needs root)", Posix.display(abs));
                        return;
                    }
                    throw x;
                }
                metadata(abs, e);
            }
            default -> throw new MalformedObjectException("unexpected " + e.kind() + " at " + Posix.display(path));
        }
    }

    private void writeFile(byte[] abs, TreeEntry e) throws IOException {
        int fd = posix.open(
                abs, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0600);
        try (OutputStream out = new CountingStream(posix.outputStream(fd, abs, true), counters.bytes)) {
            FileContents.copyTo(store, e.content(), out);
        }
        metadata(abs, e);
    }

    /** Owner, xattrs, mode and times of one inode, in that order (see the class notes). */
    private void metadata(byte[] abs, TreeEntry e) throws PosixException {
        try {
            posix.lchown(abs, e.uid(), e.gid());
        } catch (PosixException x) {
            if (x.errno() != Errno.EPERM) {
                throw x;
            }
            warnings.add("owner not set (needs root)", Posix.display(abs));
        }
        for (Map.Entry<String, byte[]> x : e.xattrs().entrySet()) {
            try {
                posix.setXattr(abs, x.getKey(), x.getValue(), 0);
            } catch (PosixException ex) {
                if (ex.errno() != Errno.EPERM && ex.errno() != Errno.EOPNOTSUPP && ex.errno() != Errno.EACCES) {
                    throw ex;
                }
                warnings.add("xattr not set (" + Errno.name(ex.errno()) + ")", Posix.display(abs) + " " + x.getKey());
            }
        }
        if (e.kind() != EntryKind.SYMLINK) {
            posix.chmod(abs, e.mode());
        }
        posix.setTimes(abs, Posix.OMIT_TIME, e.mtimeNs(), true);
    }

    /** Counts bytes for progress output. */
    private static final class CountingStream extends java.io.FilterOutputStream {
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
