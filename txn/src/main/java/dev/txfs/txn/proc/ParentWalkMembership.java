package dev.txfs.txn.proc;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.logging.Logger;

/**
 * Membership by walking parent pids: a process belongs to the transaction of the nearest
 * registered root on its ppid chain, a root counting only if its start time matches (pid reuse).
 *
 * <p>Limits, stated honestly: the ppid chain is all there is. A process that re-parents itself —
 * double fork, {@code setsid} + fork, any daemon — is adopted by init (or by a subreaper such as
 * {@code systemd --user}) and leaves the transaction; so do the children of a root that exits.
 * Use cgroup mode where it matters.
 *
 * <p>Cost: uncached, one read of {@code /proc/<tid>/status} and one of {@code /proc/<pid>/stat}
 * per ancestor up to the root or to init. With no transaction open, nothing is read at all.
 */
final class ParentWalkMembership implements Membership {
    private static final Logger LOG = Logger.getLogger(ParentWalkMembership.class.getName());

    private record Root(ProcessRef ref, Optional<String> txn) {}

    private final Object lock = new Object();
    private final ResolveCache cache;

    /** Roots per transaction, in the order added. Guarded by {@link #lock}. */
    private final Map<String, Set<ProcessRef>> roots = new LinkedHashMap<>();

    /** pid → roots with that pid, newest first; rebuilt under the lock, read without it. */
    private volatile Map<Long, List<Root>> byPid = Map.of();

    ParentWalkMembership(LongSupplier ticker, String why) {
        this.cache = new ResolveCache(ticker, ParentWalkMembership::startTime);
        LOG.fine(() -> "membership by parent walk (" + why + ")");
    }

    @Override
    public Mode mode() {
        return Mode.PARENT_WALK;
    }

    /** Locking: takes the membership lock; does not block {@link #resolve}. */
    @Override
    public List<Foreign> add(String txnId, ProcessRef root, long uid, boolean othersAllowed) throws IOException {
        Ids.check(txnId, "transaction id");
        synchronized (lock) {
            if (!root.alive()) {
                throw new IOException("process " + root.pid() + " is gone");
            }
            // The root's descendants become members by ancestry alone: check them all first.
            List<Foreign> foreign = new ArrayList<>();
            Owners.check(root.pid(), uid, othersAllowed).ifPresent(foreign::add);
            for (long pid : ProcInfo.descendants(root.pid())) {
                Owners.check(pid, uid, othersAllowed).ifPresent(foreign::add);
            }
            if (!root.alive()) {
                throw new IOException("process " + root.pid() + " is gone");
            }
            roots.computeIfAbsent(txnId, k -> new LinkedHashSet<>()).add(root);
            rebuildWithLock();
            return List.copyOf(foreign);
        }
    }

    @Override
    public Optional<String> resolve(long tid) {
        if (tid <= 0 || byPid.isEmpty()) {
            return Optional.empty();
        }
        return cache.get(tid, this::resolveUncached);
    }

    /** Walks from the thread's process up to init; the first live registered root decides. */
    Optional<String> resolveUncached(long tid) {
        Map<Long, List<Root>> index = byPid;
        long[] ids = ProcInfo.tgidAndPpid(tid);
        if (ids == null) {
            return Optional.empty();
        }
        long pid = ids[0];
        long ppid = ids[1];
        for (int depth = 0; pid > 0 && depth < ProcInfo.MAX_DEPTH; depth++) {
            List<Root> candidates = index.get(pid);
            Optional<ProcInfo.Stat> stat = Optional.empty();
            if (candidates != null || ppid < 0) {
                stat = ProcInfo.stat(pid);
                if (stat.isEmpty()) {
                    return Optional.empty();
                }
            }
            if (candidates != null) {
                long starttime = stat.get().starttime();
                for (Root r : candidates) {
                    if (r.ref().starttime() == starttime) {
                        return r.txn();
                    }
                }
            }
            if (ppid < 0) {
                ppid = stat.get().ppid();
            }
            pid = ppid;
            ppid = -1;
        }
        return Optional.empty();
    }

    /** A thread's start time, which with its id names it for the life of the system; -1 if gone. */
    private static long startTime(long tid) {
        return ProcInfo.stat(tid).map(ProcInfo.Stat::starttime).orElse(-1L);
    }

    @Override
    public void remove(String txnId) {
        synchronized (lock) {
            if (roots.remove(txnId) != null) {
                rebuildWithLock();
            }
        }
    }

    @Override
    public boolean hasMembers(String txnId) {
        Set<ProcessRef> refs;
        synchronized (lock) {
            Set<ProcessRef> r = roots.get(txnId);
            if (r == null) {
                return false;
            }
            refs = Set.copyOf(r);
        }
        return refs.stream().anyMatch(ProcessRef::alive);
    }

    @Override
    public void close() {
        synchronized (lock) {
            roots.clear();
            rebuildWithLock();
        }
    }

    private void rebuildWithLock() {
        Map<Long, List<Root>> index = new HashMap<>();
        roots.forEach((txn, refs) -> {
            Optional<String> answer = Optional.of(txn);
            for (ProcessRef ref : refs) {
                index.computeIfAbsent(ref.pid(), k -> new ArrayList<>()).add(0, new Root(ref, answer));
            }
        });
        index.replaceAll((pid, list) -> List.copyOf(list));
        byPid = Map.copyOf(index);
        cache.clear();
    }
}
