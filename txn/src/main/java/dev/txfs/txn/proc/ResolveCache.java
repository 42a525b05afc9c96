package dev.txfs.txn.proc;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

/**
 * A short-lived cache of thread id → transaction, shared by both {@link Membership} modes.
 *
 * <p>Implementation notes. An entry lives {@link #TTL_NANOS} (1 s). A cached answer can only be
 * wrong if the membership changed or the tid now names another thread. Membership changes
 * ({@code add}, {@code remove}) call {@link #clear()}. Reuse of a tid within 1 s needs the kernel
 * to hand out every other pid first: pids are allocated cyclically up to {@code
 * /proc/sys/kernel/pid_max} (32768 on small machines, 4194304 on most), so that many forks in one
 * second. A process that leaves a transaction by itself (parent-walk: re-parents to init;
 * cgroup: moves itself to another cgroup) is seen at most 1 s late.
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

    private record Entry(Optional<String> txn, long expiresAt) {}

    private final LongSupplier ticker;
    private final AtomicReference<ConcurrentHashMap<Long, Entry>> map =
            new AtomicReference<>(new ConcurrentHashMap<>());

    /** @param ticker nanoseconds, as {@link System#nanoTime()} */
    ResolveCache(LongSupplier ticker) {
        this.ticker = ticker;
    }

    /** The cached answer for {@code tid}, or {@code resolver}'s, which is then cached. */
    Optional<String> get(long tid, LongFunction<Optional<String>> resolver) {
        ConcurrentHashMap<Long, Entry> m = map.get();
        long now = ticker.getAsLong();
        Entry e = m.get(tid);
        if (e != null && now - e.expiresAt() < 0) {
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
        m.put(tid, new Entry(txn, now + TTL_NANOS));
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
