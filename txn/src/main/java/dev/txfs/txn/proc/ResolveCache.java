package dev.txfs.txn.proc;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;

/**
 * A short-lived cache of thread id → transaction for {@link ParentWalkMembership}, whose uncached
 * answer is a walk up the ppid chain (one {@code /proc} read per ancestor).
 *
 * <p>Implementation notes. An entry lives {@link #TTL_NANOS} (1 s) and names one thread: the tid
 * and the thread's start time (read before resolving). A hit re-reads the start time (one read of
 * {@code /proc/<tid>/stat}) and is used only if it is the same: a tid the kernel handed to a new
 * thread (pids are reused once the pid space has wrapped, {@code /proc/sys/kernel/pid_max}, 32768
 * on small machines) never inherits the old thread's transaction. If the thread was replaced
 * between the start-time read and the resolution, the entry carries the old start time and the
 * next hit misses: safe both ways. Membership changes ({@code add}, {@code remove}) call {@link
 * #clear()}. A process that leaves a transaction by itself (re-parents to init) is seen at most
 * 1 s late. cgroup mode has no cache: its resolution is one read too, as the check would be.
 *
 * <p>{@link #clear()} installs a fresh map rather than emptying the current one: a lookup that
 * started before the clear puts its (possibly stale) answer into the map it started with, which
 * is no longer reachable, so no stale answer survives a membership change. The size is bounded by
 * dropping everything past {@link #MAX_ENTRIES}; at one entry per live thread that hardly ever
 * happens, and refilling is cheap.
 *
 * <p>Threads: lock-free; any thread may call any method.
 */
final class ResolveCache {
    /** How long an answer is reused. */
    static final long TTL_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Past this many entries the whole cache is dropped. */
    static final int MAX_ENTRIES = 65_536;

    private record Entry(Optional<String> txn, long starttime, long expiresAt) {}

    private final LongSupplier ticker;
    private final LongUnaryOperator startTime;
    private final AtomicReference<ConcurrentHashMap<Long, Entry>> map =
            new AtomicReference<>(new ConcurrentHashMap<>());

    /**
     * @param ticker nanoseconds, as {@link System#nanoTime()}
     * @param startTime a thread's start time by its id, negative if it is gone
     */
    ResolveCache(LongSupplier ticker, LongUnaryOperator startTime) {
        this.ticker = ticker;
        this.startTime = startTime;
    }

    /** The cached answer for {@code tid}, or {@code resolver}'s, which is then cached. */
    Optional<String> get(long tid, LongFunction<Optional<String>> resolver) {
        ConcurrentHashMap<Long, Entry> m = map.get();
        long now = ticker.getAsLong();
        Entry e = m.get(tid);
        long started = startTime.applyAsLong(tid);
        if (started < 0) {
            return Optional.empty(); // gone: a request of a thread that exited is the live tree's
        }
        if (e != null && now - e.expiresAt() < 0 && e.starttime() == started) {
            return e.txn();
        }
        Optional<String> txn = resolver.apply(tid);
        if (m.size() >= MAX_ENTRIES) {
            ConcurrentHashMap<Long, Entry> fresh = new ConcurrentHashMap<>();
            // Fails if a clear() came in meanwhile: then the answer may be stale; do not cache it.
            if (!map.compareAndSet(m, fresh)) {
                return txn;
            }
            m = fresh;
        }
        m.put(tid, new Entry(txn, started, now + TTL_NANOS));
        return txn;
    }

    /** Forgets every answer; answers being computed now are not cached. */
    void clear() {
        map.set(new ConcurrentHashMap<>());
    }

    int size() {
        return map.get().size();
    }
}
