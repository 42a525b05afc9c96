package dev.txfs.txn.proc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Membership by cgroup v2: each transaction is the cgroup {@code <mount>/txfs/<instance>/<txnId>},
 * and a process belongs to the transaction whose cgroup (or a cgroup below it) it is in.
 *
 * <p>Implementation notes.
 *
 * <ul>
 *   <li>Layout. {@code txfs} and {@code txfs/<instance>} never hold processes, only transaction
 *       cgroups (the "no internal processes" rule would forbid it as soon as a controller is
 *       enabled). No controller is enabled by txfs: the cgroups only label processes.
 *   <li>Joining. {@link #add} moves the root first, so whatever it forks from then on is born
 *       inside; then it moves the root's existing descendants, repeating until a pass finds none
 *       left outside (a descendant may fork while we move it). Each moved process's previous
 *       cgroup is remembered against its {@link ProcessRef}. A descendant is moved only if it was
 *       where the root was (outside txfs, or in the same transaction of this instance): one already
 *       in a nested transaction, or in another instance's, stays there — as with parent walk, the
 *       nearest root wins.
 *   <li>A process is in one cgroup: a root already in another instance's transaction is refused
 *       rather than silently taken out of it.
 *   <li>Leaving. {@link #remove} forgets the transaction first (members resolve to the live tree
 *       at once), then moves every process still in the cgroup back — to its remembered cgroup,
 *       or for processes born inside to the first root's — falling back to the nearest existing
 *       ancestor cgroup outside {@code txfs}, finally the hierarchy's root; then rmdirs, retrying
 *       while processes are still leaving. Members may make cgroups inside their own: those are
 *       drained and removed too.
 *   <li>Resolving is one read of {@code /proc/<tid>/cgroup}, which works for thread ids directly,
 *       then a map lookup; cached ({@link ResolveCache}). With no transaction open, nothing is
 *       read.
 *   <li>A daemon that crashed leaves its cgroups. {@link #open} removes the empty ones it finds
 *       under its instance directory; populated ones are left to their processes and their ids
 *       cannot be reused ({@link #add} fails with "already exists").
 * </ul>
 */
final class CgroupMembership implements Membership {
    private static final Logger LOG = Logger.getLogger(CgroupMembership.class.getName());

    /** The directory under the cgroup2 mount that holds every instance. */
    static final String TOP = "txfs";

    /** Passes over the root's descendants in {@link #add}. */
    private static final int MAX_MOVE_PASSES = 10;

    /** Attempts at draining and removing a transaction cgroup, {@link #DRAIN_PAUSE_MS} apart. */
    private static final int MAX_DRAIN_ATTEMPTS = 50;

    private static final long DRAIN_PAUSE_MS = 10;

    /** One transaction's cgroup. */
    private static final class Txn {
        final String id;
        final Path dir;
        final String path;
        final Optional<String> answer;

        /** The cgroup each moved process came from. Guarded by the membership lock. */
        final Map<ProcessRef, String> origins = new HashMap<>();

        /** The first root's previous cgroup: where processes born inside go back to. */
        String rootOrigin;

        Txn(String id, Path dir, String path) {
            this.id = id;
            this.dir = dir;
            this.path = path;
            this.answer = Optional.of(id);
        }
    }

    private final Cgroup2Mount mount;
    private final Path topDir;
    private final Path instanceDir;
    private final String topPrefix;
    private final String memberPrefix;
    private final boolean createdTop;
    private final long self = ProcessHandle.current().pid();
    private final ResolveCache cache;
    private final ConcurrentHashMap<String, Txn> txns = new ConcurrentHashMap<>();
    private final Object lock = new Object();

    /** Transactions whose cgroup could not be removed yet; retried by close. Guarded by lock. */
    private final List<Txn> leftovers = new ArrayList<>();

    /** Guarded by lock. */
    private boolean closed;

    private CgroupMembership(
            Cgroup2Mount mount, Path topDir, Path instanceDir, boolean createdTop, LongSupplier ticker) {
        this.mount = mount;
        this.topDir = topDir;
        this.instanceDir = instanceDir;
        this.topPrefix = mount.pathOf(topDir) + "/";
        this.memberPrefix = mount.pathOf(instanceDir) + "/";
        this.createdTop = createdTop;
        this.cache = new ResolveCache(ticker);
    }

    /**
     * Creates {@code <cgroup2 mount>/txfs/<instance>}; throws, saying why, if the hierarchy is
     * missing or not writable.
     */
    static CgroupMembership open(String instance, LongSupplier ticker) throws IOException {
        Ids.check(instance, "instance name");
        Cgroup2Mount mount = Cgroup2Mount.find().orElseThrow(() -> new IOException("no cgroup2 hierarchy is mounted"));
        if (mount.readOnly()) {
            throw new IOException("the cgroup2 hierarchy at " + mount.mountPoint() + " is mounted read-only");
        }
        Path top = mount.mountPoint().resolve(TOP);
        Path dir = top.resolve(instance);
        boolean createdTop = false;
        for (int attempt = 0; ; attempt++) {
            try {
                createdTop |= CgroupFiles.mkdir(top);
                CgroupFiles.mkdir(dir);
                break;
            } catch (NoSuchFileException e) {
                // Another instance's close removed txfs/ between our two mkdirs.
                if (attempt == 3) {
                    throw new IOException("cannot create cgroup " + dir + ": " + CgroupFiles.reason(e), e);
                }
            } catch (IOException e) {
                throw new IOException("cannot create cgroup " + dir + ": " + CgroupFiles.reason(e), e);
            }
        }
        if (!Files.isWritable(dir.resolve("cgroup.procs"))) {
            CgroupFiles.rmdirQuietly(dir);
            if (createdTop) {
                CgroupFiles.rmdirQuietly(top);
            }
            throw new IOException("cannot write " + dir.resolve("cgroup.procs"));
        }
        CgroupMembership m = new CgroupMembership(mount, top, dir, createdTop, ticker);
        m.removeStaleCgroups();
        return m;
    }

    @Override
    public Mode mode() {
        return Mode.CGROUP;
    }

    /** Locking: takes the membership lock; does not block {@link #resolve}. */
    @Override
    public void add(String txnId, ProcessRef root) throws IOException {
        Ids.check(txnId, "transaction id");
        synchronized (lock) {
            if (closed) {
                throw new IOException("the membership is closed");
            }
            if (root.pid() == self) {
                throw new IOException("process " + root.pid() + " is the txfs daemon itself");
            }
            String origin =
                    ProcInfo.cgroup2Path(root.pid()).filter(p -> root.alive()).orElseThrow(() -> gone(root.pid()));
            if (origin.startsWith(topPrefix) && ownTxn(origin).isEmpty()) {
                throw new IOException("process " + root.pid() + " is in the cgroup " + origin
                        + " of another txfs daemon's transaction; a process can be in one such transaction at a"
                        + " time");
            }
            Txn t = txns.get(txnId);
            boolean fresh = t == null;
            if (fresh) {
                Path dir = instanceDir.resolve(txnId);
                try {
                    Files.createDirectory(dir);
                } catch (FileAlreadyExistsException e) {
                    throw new IOException("cgroup " + dir + " already exists (left by an earlier txfs daemon?)");
                } catch (IOException e) {
                    throw new IOException("cannot create cgroup " + dir + ": " + CgroupFiles.reason(e), e);
                }
                t = new Txn(txnId, dir, mount.pathOf(dir));
                txns.put(txnId, t);
            }
            try {
                moveInWithLock(t, root, origin);
                moveDescendantsWithLock(t, root, origin);
            } catch (IOException | RuntimeException e) {
                if (fresh) {
                    txns.remove(txnId);
                    drainAndRemoveWithLock(t);
                }
                throw e;
            } finally {
                cache.clear();
            }
        }
    }

    @Override
    public Optional<String> resolve(long tid) {
        if (tid <= 0 || txns.isEmpty()) {
            return Optional.empty();
        }
        return cache.get(tid, this::resolveUncached);
    }

    /** One read of {@code /proc/<tid>/cgroup}. */
    Optional<String> resolveUncached(long tid) {
        return ProcInfo.cgroup2Path(tid).flatMap(this::ownTxn).map(t -> t.id);
    }

    @Override
    public void remove(String txnId) {
        synchronized (lock) {
            Txn t = txns.remove(txnId);
            if (t == null) {
                return;
            }
            cache.clear();
            if (!drainAndRemoveWithLock(t)) {
                leftovers.add(t);
            }
            cache.clear();
        }
    }

    @Override
    public boolean hasMembers(String txnId) {
        Txn t = txns.get(txnId);
        if (t == null) {
            return false;
        }
        try {
            return Files.readString(t.dir.resolve("cgroup.events")).contains("populated 1");
        } catch (NoSuchFileException e) {
            return !CgroupFiles.readPids(t.dir).isEmpty(); // kernels before 4.13 have no cgroup.events
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            for (String id : List.copyOf(txns.keySet())) {
                Txn t = txns.remove(id);
                if (!drainAndRemoveWithLock(t)) {
                    leftovers.add(t);
                }
            }
            cache.clear();
            for (Txn t : List.copyOf(leftovers)) {
                if (drainAndRemoveWithLock(t)) {
                    leftovers.remove(t);
                } else {
                    LOG.warning("cannot remove cgroup " + t.dir + ": processes keep appearing in it");
                }
            }
            CgroupFiles.rmdirQuietly(instanceDir);
            if (createdTop) {
                CgroupFiles.rmdirQuietly(topDir);
            }
        }
    }

    Path instanceDir() {
        return instanceDir;
    }

    /** The transaction whose cgroup is {@code cgroupPath} or an ancestor of it. */
    private Optional<Txn> ownTxn(String cgroupPath) {
        if (!cgroupPath.startsWith(memberPrefix)) {
            return Optional.empty();
        }
        int from = memberPrefix.length();
        int end = cgroupPath.indexOf('/', from);
        return Optional.ofNullable(txns.get(end < 0 ? cgroupPath.substring(from) : cgroupPath.substring(from, end)));
    }

    private void moveInWithLock(Txn t, ProcessRef root, String origin) throws IOException {
        if (CgroupFiles.isIn(origin, t.path)) {
            return;
        }
        try {
            CgroupFiles.writePid(t.dir, root.pid());
        } catch (IOException e) {
            if (CgroupFiles.isNoSuchProcess(e)) {
                throw gone(root.pid());
            }
            throw new IOException(
                    "cannot move process " + root.pid() + " into cgroup " + t.dir + ": " + CgroupFiles.reason(e), e);
        }
        t.origins.put(root, origin);
        if (t.rootOrigin == null) {
            t.rootOrigin = origin;
        }
        if (!root.alive()) {
            throw gone(root.pid());
        }
    }

    /**
     * Moves the root's descendants that were where the root was (outside txfs, or in the same one
     * of our transactions); a descendant already in another transaction is that transaction's.
     */
    private void moveDescendantsWithLock(Txn t, ProcessRef root, String rootOrigin) {
        Optional<Txn> rootWasIn = ownTxn(rootOrigin);
        for (int pass = 0; pass < MAX_MOVE_PASSES; pass++) {
            int moved = 0;
            for (long pid : ProcInfo.descendants(root.pid())) {
                if (pid == self) {
                    continue;
                }
                Optional<String> cg = ProcInfo.cgroup2Path(pid);
                Optional<ProcessRef> ref = ProcessRef.of(pid);
                if (cg.isEmpty() || ref.isEmpty() || CgroupFiles.isIn(cg.get(), t.path)) {
                    continue; // gone, or already in
                }
                if (cg.get().startsWith(topPrefix)
                        && (rootWasIn.isEmpty() || ownTxn(cg.get()).orElse(null) != rootWasIn.get())) {
                    continue; // in a transaction the root was not in: it stays there
                }
                try {
                    CgroupFiles.writePid(t.dir, pid);
                    t.origins.put(ref.get(), cg.get());
                    moved++;
                } catch (IOException e) {
                    if (!CgroupFiles.isNoSuchProcess(e)) {
                        LOG.warning("process " + pid + " (" + ProcInfo.cmdline(pid) + ") stays outside transaction "
                                + t.id + ": cannot move it into " + t.dir + ": " + CgroupFiles.reason(e));
                    }
                }
            }
            if (moved == 0) {
                return;
            }
        }
    }

    /**
     * Moves every process in {@code t}'s cgroup subtree out, then removes the subtree; true once
     * the directory is gone.
     */
    private boolean drainAndRemoveWithLock(Txn t) {
        for (int attempt = 0; attempt < MAX_DRAIN_ATTEMPTS; attempt++) {
            List<Path> dirs = CgroupFiles.subtreeDeepestFirst(t.dir);
            if (dirs.isEmpty()) {
                return true;
            }
            for (Path d : dirs) {
                for (long pid : CgroupFiles.readPids(d)) {
                    moveBackWithLock(t, pid);
                }
            }
            boolean removed = true;
            for (Path d : dirs) {
                try {
                    Files.delete(d);
                } catch (NoSuchFileException e) {
                    // gone already
                } catch (IOException e) {
                    removed = false;
                }
            }
            if (removed) {
                return true;
            }
            try {
                Thread.sleep(DRAIN_PAUSE_MS); // exiting processes leave the cgroup a moment later
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    /**
     * Moves {@code pid} to the cgroup it came from; failing that (gone, or it cannot take
     * processes) to its nearest ancestor outside txfs, down to the hierarchy's root.
     */
    private void moveBackWithLock(Txn t, long pid) {
        Optional<ProcessRef> ref = ProcessRef.of(pid);
        if (ref.isEmpty()) {
            return;
        }
        String target = t.origins.getOrDefault(ref.get(), t.rootOrigin != null ? t.rootOrigin : mount.root());
        IOException last = null;
        for (String p = target; p != null; p = CgroupFiles.parent(p)) {
            if (p.equals(topPrefix.substring(0, topPrefix.length() - 1))
                    || p.startsWith(topPrefix) && !isLiveTxnDir(p)) {
                continue;
            }
            Optional<Path> dir = mount.dirOf(p);
            if (dir.isEmpty()) {
                continue;
            }
            try {
                CgroupFiles.writePid(dir.get(), pid);
                return;
            } catch (IOException e) {
                if (CgroupFiles.isNoSuchProcess(e)) {
                    return;
                }
                last = e;
            }
        }
        LOG.log(Level.WARNING, "cannot move process " + pid + " out of " + t.dir, last);
    }

    private boolean isLiveTxnDir(String cgroupPath) {
        return ownTxn(cgroupPath).filter(x -> x.path.equals(cgroupPath)).isPresent();
    }

    /** Removes the empty cgroups a crashed daemon left under this instance's directory. */
    private void removeStaleCgroups() {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(instanceDir, Files::isDirectory)) {
            for (Path d : dirs) {
                List<Path> subtree = CgroupFiles.subtreeDeepestFirst(d);
                try {
                    for (Path s : subtree) {
                        Files.delete(s);
                    }
                    LOG.info("removed stale cgroup " + d);
                } catch (IOException e) {
                    LOG.warning("cgroup " + d + " left by an earlier txfs daemon still has processes; leaving it");
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot list " + instanceDir, e);
        }
    }

    private static IOException gone(long pid) {
        return new IOException("process " + pid + " is gone");
    }
}
