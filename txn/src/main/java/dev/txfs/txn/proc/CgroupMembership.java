package dev.txfs.txn.proc;

import dev.txfs.txn.proc.Membership.ForeignProcessException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Membership by cgroup v2: each transaction is a cgroup {@code txfs-<instance>-<txnId>} made
 * <em>inside</em> the cgroup its processes came from, and a process belongs to the transaction
 * whose cgroup (or a cgroup below it) it is in.
 *
 * <p>Implementation notes.
 *
 * <ul>
 *   <li>Layout. A process in cgroup {@code O} joins {@code O/txfs-<instance>-<txnId>}: a child of
 *       its own cgroup, so every limit of {@code O} and of its ancestors (pids.max, memory.max,
 *       cpu weights, systemd's per-unit accounting and kill) still applies to it and to what it
 *       forks. cgroup v2 lets a cgroup that holds processes have children as long as it enables no
 *       controller in {@code cgroup.subtree_control}, and a cgroup that holds processes cannot
 *       enable one (the "no internal processes" rule; the hierarchy's root is exempt, and there a
 *       child only adds controllers without limits). A transaction whose processes came from
 *       several cgroups has one such cgroup under each. No controller is enabled by txfs: the
 *       cgroups only label processes.
 *   <li>Resolving is one read of {@code /proc/<tid>/cgroup} (it works for thread ids directly),
 *       then a lookup of the path and its ancestors in a map of the exact cgroup paths this
 *       membership made. A name alone proves nothing: a user who may make cgroups (a delegated
 *       subtree, a container) can make one called {@code txfs-<instance>-<id>} anywhere, but only
 *       the paths txfs made count, and those are root's directories, into which only root can move
 *       processes. Not cached: checking that a cached thread id still names the same thread (its
 *       start time, finding 15) costs the same one read. With no transaction open, nothing is
 *       read.
 *   <li>Joining. {@link #add} checks every process it would move against the transaction's user
 *       (all of them first, then each again just before it moves), then moves the root first, so
 *       whatever it forks from then on is born inside; then its existing descendants, repeating
 *       until a pass finds none left outside (a descendant may fork while we move it). After each
 *       move it checks again that the pid is the process it checked (its start time: the pid may
 *       have been reused between the check and the write) and that its uids still pass (it may
 *       have run a setuid program meanwhile); if not, the pid is moved back where it came from and
 *       the move fails as the check would have (gone, or {@link ForeignProcessException}). Each
 *       moved process's previous cgroup is remembered against its {@link ProcessRef}. A descendant is
 *       moved only if it was where the root was (in no transaction, or in the same one of this
 *       membership): one in a nested transaction, or in another daemon's, stays there; as with
 *       parent walk, the nearest root wins. A root in one of our transactions gets its new cgroup
 *       beside that transaction's (under the cgroup both came from), not inside it.
 *   <li>A process is in one cgroup: a root in another daemon's transaction (a path component
 *       {@code txfs-…} that is not ours, or the top-level {@code txfs} of older versions) is
 *       refused rather than silently taken out of it.
 *   <li>Leaving. {@link #remove} forgets the transaction first (members resolve to the live tree
 *       at once), then moves every process still in its cgroups back: to its remembered cgroup, or
 *       for processes born inside to the cgroup the transaction cgroup was made in; failing that
 *       (gone, or it took controllers meanwhile) to the nearest ancestor that takes it. Then it
 *       rmdirs, retrying while processes are still leaving. Members may make cgroups inside their
 *       own (root members can): those are drained and removed too.
 *   <li>A daemon that crashed leaves its cgroups. {@link #open} walks the hierarchy once and
 *       removes the empty root-owned {@code txfs-<instance>-*} cgroups it finds; populated ones
 *       are left to their processes and their ids cannot be reused ({@link #add} fails with
 *       "already exists").
 * </ul>
 */
final class CgroupMembership implements Membership {
    private static final Logger LOG = Logger.getLogger(CgroupMembership.class.getName());

    /** Passes over the root's descendants in {@link #add}. */
    private static final int MAX_MOVE_PASSES = 10;

    /** Attempts at draining and removing a transaction cgroup, {@link #DRAIN_PAUSE_MS} apart. */
    private static final int MAX_DRAIN_ATTEMPTS = 50;

    private static final long DRAIN_PAUSE_MS = 10;

    /** One transaction: its cgroups, one per cgroup its processes came from. */
    private static final class Txn {
        final String id;
        final Optional<String> answer;

        /** Cgroup path of each of its cgroups → its directory; written under the lock. */
        final Map<String, Path> cgroups = new ConcurrentHashMap<>();

        /** The cgroup each moved process came from. Guarded by the membership lock. */
        final Map<ProcessRef, String> origins = new HashMap<>();

        Txn(String id) {
            this.id = id;
            this.answer = Optional.of(id);
        }
    }

    private final Cgroup2Mount mount;
    private final long self = ProcessHandle.current().pid();
    private final ConcurrentHashMap<String, Txn> txns = new ConcurrentHashMap<>();

    /** The exact paths of the transaction cgroups this membership made. */
    private final TxnCgroups<Txn> paths;

    private final Object lock = new Object();

    /** Transactions whose cgroups could not be removed yet; retried by close. Guarded by lock. */
    private final List<Txn> leftovers = new ArrayList<>();

    /** Guarded by lock. */
    private boolean closed;

    /** Runs after each pid is written into a transaction cgroup, before it is checked again (tests). */
    Consumer<ProcessRef> afterMoveForTests = p -> {};

    private CgroupMembership(Cgroup2Mount mount, String instance) {
        this.mount = mount;
        this.paths = new TxnCgroups<>(instance, mount.pathOf(mount.mountPoint().resolve(TxnCgroups.OLD_TOP)));
    }

    /** Checks that the cgroup v2 hierarchy can take transaction cgroups; throws, saying why, if not. */
    static CgroupMembership open(String instance) throws IOException {
        Ids.check(instance, "instance name");
        Cgroup2Mount mount = Cgroup2Mount.find().orElseThrow(() -> new IOException("no cgroup2 hierarchy is mounted"));
        if (mount.readOnly()) {
            throw new IOException("the cgroup2 hierarchy at " + mount.mountPoint() + " is mounted read-only");
        }
        if (!Files.isWritable(mount.mountPoint())
                || !Files.isWritable(mount.mountPoint().resolve("cgroup.procs"))) {
            throw new IOException("cannot write the cgroup2 hierarchy at " + mount.mountPoint());
        }
        CgroupMembership m = new CgroupMembership(mount, instance);
        CgroupFiles.removeStale(mount.mountPoint(), m.paths.name(""));
        return m;
    }

    @Override
    public Mode mode() {
        return Mode.CGROUP;
    }

    /** Locking: takes the membership lock; does not block {@link #resolve}. */
    @Override
    public List<Foreign> add(String txnId, ProcessRef root, long uid, boolean othersAllowed) throws IOException {
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
            if (paths.inOther(origin)) {
                throw new IOException("process " + root.pid() + " is in the cgroup " + origin
                        + " of another txfs daemon's transaction; a process can be in one such transaction at a"
                        + " time");
            }
            Optional<Txn> rootWasIn = paths.owner(origin);
            Map<Long, Foreign> foreign = new LinkedHashMap<>();
            Owners.check(root.pid(), uid, othersAllowed).ifPresent(f -> foreign.put(f.pid(), f));
            Txn t = txns.get(txnId);
            for (long pid : toMove(t, root, rootWasIn)) {
                Owners.check(pid, uid, othersAllowed).ifPresent(f -> foreign.put(f.pid(), f));
            }
            boolean fresh = t == null;
            if (fresh) {
                t = new Txn(txnId);
                txns.put(txnId, t);
            }
            try {
                if (!rootWasIn.equals(Optional.of(t))) {
                    moveInWithLock(t, root, origin, uid, othersAllowed, foreign);
                } else if (!root.alive()) {
                    throw gone(root.pid());
                }
                moveDescendantsWithLock(t, root, rootWasIn, uid, othersAllowed, foreign);
            } catch (IOException | RuntimeException e) {
                if (fresh) {
                    forgetWithLock(t);
                    drainAndRemoveWithLock(t);
                }
                throw e;
            }
            return List.copyOf(foreign.values());
        }
    }

    @Override
    public Optional<String> resolve(long tid) {
        if (tid <= 0 || txns.isEmpty()) {
            return Optional.empty();
        }
        return resolveUncached(tid);
    }

    /** One read of {@code /proc/<tid>/cgroup}. */
    Optional<String> resolveUncached(long tid) {
        return ProcInfo.cgroup2Path(tid).flatMap(paths::owner).map(t -> t.id);
    }

    @Override
    public void remove(String txnId) {
        synchronized (lock) {
            Txn t = txns.get(txnId);
            if (t == null) {
                return;
            }
            forgetWithLock(t);
            if (!drainAndRemoveWithLock(t)) {
                leftovers.add(t);
            }
        }
    }

    @Override
    public boolean hasMembers(String txnId) {
        Txn t = txns.get(txnId);
        if (t == null) {
            return false;
        }
        for (Path dir : List.copyOf(t.cgroups.values())) {
            try {
                if (Files.readString(dir.resolve("cgroup.events")).contains("populated 1")) {
                    return true;
                }
            } catch (NoSuchFileException e) {
                if (Files.isDirectory(dir) && !CgroupFiles.readPids(dir).isEmpty()) {
                    return true; // kernels before 4.13 have no cgroup.events
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return false;
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            for (Txn t : List.copyOf(txns.values())) {
                forgetWithLock(t);
                if (!drainAndRemoveWithLock(t)) {
                    leftovers.add(t);
                }
            }
            for (Txn t : List.copyOf(leftovers)) {
                if (drainAndRemoveWithLock(t)) {
                    leftovers.remove(t);
                } else {
                    LOG.warning("cannot remove the cgroups of transaction " + t.id + ": processes keep appearing in"
                            + " them");
                }
            }
        }
    }

    /** The directories of a transaction's cgroups (for tests). */
    List<Path> cgroupDirs(String txnId) {
        Txn t = txns.get(txnId);
        return t == null ? List.of() : List.copyOf(t.cgroups.values());
    }

    /** The name of a transaction's cgroups. */
    String cgroupName(String txnId) {
        return paths.name(txnId);
    }

    /** {@code t}'s cgroup under {@code base}, made if it has none there yet. */
    private Path cgroupUnderWithLock(Txn t, String base) throws IOException {
        Path parent = mount.dirOf(base)
                .orElseThrow(() -> new IOException("cgroup " + base + " is outside the cgroup2 mount " + mount));
        Path dir = parent.resolve(cgroupName(t.id));
        String path = mount.pathOf(dir);
        if (t.cgroups.containsKey(path)) {
            return dir;
        }
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("cgroup " + dir + " already exists (left by an earlier txfs daemon?)");
        } catch (IOException e) {
            throw new IOException("cannot create cgroup " + dir + ": " + CgroupFiles.reason(e), e);
        }
        t.cgroups.put(path, dir);
        paths.put(path, t);
        return dir;
    }

    /**
     * Moves {@code p}, checked against {@code uid} before, from cgroup {@code from} into {@code t},
     * then checks it again: a pid that now names another process (reused between the check and the
     * write) fails as gone, one whose uids no longer pass as the check does; either is moved back to
     * {@code from} first.
     */
    private void moveInWithLock(
            Txn t, ProcessRef p, String from, long uid, boolean othersAllowed, Map<Long, Foreign> foreign)
            throws IOException {
        Path dir = cgroupUnderWithLock(t, paths.base(from));
        try {
            CgroupFiles.writePid(dir, p.pid());
        } catch (IOException e) {
            if (CgroupFiles.isNoSuchProcess(e)) {
                throw gone(p.pid());
            }
            throw new IOException(
                    "cannot move process " + p.pid() + " into cgroup " + dir + ": " + CgroupFiles.reason(e), e);
        }
        try {
            afterMoveForTests.accept(p);
            if (!p.alive()) {
                throw gone(p.pid());
            }
            Owners.check(p.pid(), uid, othersAllowed).ifPresent(f -> foreign.put(f.pid(), f));
        } catch (IOException | RuntimeException e) {
            List<String> back = new ArrayList<>();
            back.add(from);
            for (String c = CgroupFiles.parent(mount.pathOf(dir)); c != null; c = CgroupFiles.parent(c)) {
                back.add(c);
            }
            moveToFirstWithLock(t, p.pid(), back);
            throw e;
        }
        t.origins.put(p, from);
    }

    /**
     * The root's descendants that a pass would move: those not in {@code t} yet that were where the
     * root was (in none of our transactions or the same one, and in no other daemon's).
     */
    private List<Long> toMove(Txn t, ProcessRef root, Optional<Txn> rootWasIn) {
        List<Long> out = new ArrayList<>();
        for (long pid : ProcInfo.descendants(root.pid())) {
            if (pid == self) {
                continue;
            }
            Optional<String> cg = ProcInfo.cgroup2Path(pid);
            if (cg.isEmpty()) {
                continue; // gone
            }
            Optional<Txn> in = paths.owner(cg.get());
            if (t != null && in.equals(Optional.of(t))) {
                continue; // already in
            }
            if (in.isPresent() ? !in.equals(rootWasIn) : paths.inOther(cg.get())) {
                continue; // in a transaction the root was not in: it stays there
            }
            out.add(pid);
        }
        return out;
    }

    private void moveDescendantsWithLock(
            Txn t,
            ProcessRef root,
            Optional<Txn> rootWasIn,
            long uid,
            boolean othersAllowed,
            Map<Long, Foreign> foreign)
            throws IOException {
        for (int pass = 0; pass < MAX_MOVE_PASSES; pass++) {
            int moved = 0;
            for (long pid : toMove(t, root, rootWasIn)) {
                Optional<ProcessRef> ref = ProcessRef.of(pid);
                Optional<String> cg = ProcInfo.cgroup2Path(pid);
                if (ref.isEmpty() || cg.isEmpty()) {
                    continue;
                }
                Owners.check(pid, uid, othersAllowed).ifPresent(f -> foreign.put(f.pid(), f));
                try {
                    moveInWithLock(t, ref.get(), cg.get(), uid, othersAllowed, foreign);
                    moved++;
                } catch (ForeignProcessException e) {
                    throw e;
                } catch (IOException e) {
                    if (!e.getMessage().endsWith(" is gone")) {
                        LOG.warning("process " + pid + " (" + ProcInfo.cmdline(pid) + ") stays outside transaction "
                                + t.id + ": " + e.getMessage());
                    }
                }
            }
            if (moved == 0) {
                return;
            }
        }
    }

    /** Members resolve to the live tree from now on. */
    private void forgetWithLock(Txn t) {
        txns.remove(t.id, t);
        t.cgroups.keySet().forEach(p -> paths.remove(p, t));
    }

    /**
     * Moves every process in {@code t}'s cgroup subtrees out, then removes the subtrees; true once
     * every directory is gone.
     */
    private boolean drainAndRemoveWithLock(Txn t) {
        for (int attempt = 0; attempt < MAX_DRAIN_ATTEMPTS; attempt++) {
            boolean removed = true;
            for (Map.Entry<String, Path> cgroup : List.copyOf(t.cgroups.entrySet())) {
                List<Path> dirs = CgroupFiles.subtreeDeepestFirst(cgroup.getValue());
                String home = CgroupFiles.parent(cgroup.getKey());
                for (Path d : dirs) {
                    for (long pid : CgroupFiles.readPids(d)) {
                        moveBackWithLock(t, pid, home);
                    }
                }
                for (Path d : dirs) {
                    try {
                        Files.delete(d);
                    } catch (NoSuchFileException e) {
                        // gone already
                    } catch (IOException e) {
                        removed = false;
                    }
                }
                if (!Files.exists(cgroup.getValue())) {
                    t.cgroups.remove(cgroup.getKey());
                }
            }
            if (removed && t.cgroups.isEmpty()) {
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
     * Moves {@code pid} to the cgroup it came from; failing that (born inside, gone, or it cannot
     * take processes) to {@code home}, the cgroup the transaction cgroup was made in, then to its
     * ancestors, never into a transaction cgroup that is not live.
     */
    private void moveBackWithLock(Txn t, long pid, String home) {
        Optional<ProcessRef> ref = ProcessRef.of(pid);
        if (ref.isEmpty()) {
            return;
        }
        List<String> targets = new ArrayList<>();
        String origin = t.origins.get(ref.get());
        if (origin != null) {
            targets.add(origin);
        }
        for (String p = home; p != null; p = CgroupFiles.parent(p)) {
            targets.add(p);
        }
        moveToFirstWithLock(t, pid, targets);
    }

    /** Moves {@code pid} to the first of {@code targets} that takes it, never into another daemon's. */
    private void moveToFirstWithLock(Txn t, long pid, List<String> targets) {
        IOException last = null;
        for (String p : targets) {
            if (paths.inOther(p)) {
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
        LOG.log(Level.WARNING, "cannot move process " + pid + " out of transaction " + t.id + "'s cgroups", last);
    }

    private static IOException gone(long pid) {
        return new IOException("process " + pid + " is gone");
    }
}
