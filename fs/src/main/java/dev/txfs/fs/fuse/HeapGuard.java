package dev.txfs.fs.fuse;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

/**
 * Keeps the daemon alive when its heap is nearly full: requests that change a tree get ENOSPC
 * instead of the daemon dying of OutOfMemoryError, which would drop every open transaction and
 * the live tree's unsynced writes. One per process ({@link #get}).
 *
 * <p>What costs heap is in-memory tree state: ~0.9 KB per entry a transaction changed until it
 * ends, ~0.6 KB per entry the kernel has looked up (loaded nodes are not evicted); see
 * docs/RELIABILITY.md, "Resource limits". File data does not: dirty pages are capped at 64 MiB,
 * so writes are never refused here, and neither are lookups (that would make the tree
 * unreadable; a walk of many millions of entries can still fill the heap).
 *
 * <p>How it decides. The heap is full when less than {@link #reserve} of it is free after a full
 * collection: the reserve covers what nobody is refused (dirty pages up to 64 MiB, a 32 MiB batch
 * of objects being written) and a commit's own needs. After every collection the JVM reports the
 * heap in use; above the line the guard only suspects a full heap, and confirms with a full
 * collection (so uncollected garbage never refuses a request). While refusing it re-checks at
 * most once a second, backing off to once every 32 s while nothing changes, and at once after a
 * transaction ends or the live tree is replaced ({@link #released}). Logged when it starts and when it stops refusing.
 */
public final class HeapGuard {
    private static final Logger LOG = Logger.getLogger(HeapGuard.class.getName());
    private static final HeapGuard INSTANCE = new HeapGuard(Runtime.getRuntime().maxMemory());
    private static final long MIN_RECHECK_NS = 1_000_000_000L;
    private static final long MAX_RECHECK_NS = 32_000_000_000L;

    private final long max;
    private final long reserve;
    private final Set<String> heapPools;
    private volatile boolean suspect;
    private boolean refusing;
    private long checkedNs;
    private long recheckNs;

    static HeapGuard get() {
        return INSTANCE;
    }

    /**
     * Tree state was let go (a transaction's view closed, or the live tree replaced): memory may
     * be free, so the next request re-checks. Called by {@code LiveFs}, where every such end passes.
     */
    public static void released() {
        synchronized (INSTANCE) {
            INSTANCE.recheckNs = 0;
        }
    }

    /**
     * The heap kept free: 15% of it, but at least 128 MiB (dirty pages, an object batch, a
     * commit), and at most half of a small heap.
     */
    static long reserve(long max) {
        return Math.max((long) (0.15 * max), Math.min(128L << 20, max / 2));
    }

    private HeapGuard(long max) {
        this.max = max;
        this.reserve = reserve(max);
        heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP)
                .map(MemoryPoolMXBean::getName)
                .collect(Collectors.toSet());
        int listening = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter e) {
                e.addNotificationListener(
                        (n, h) -> {
                            if (n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
                                var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                                if (usedAfter(info.getGcInfo().getMemoryUsageAfterGc()) > max - reserve) {
                                    suspect = true;
                                }
                            }
                        },
                        null,
                        null);
                listening++;
            }
        }
        if (listening == 0) {
            LOG.warning("no garbage collector reports its collections: the heap guard cannot see a full heap");
        }
    }

    private long usedAfter(Map<String, MemoryUsage> pools) {
        return pools.entrySet().stream()
                .filter(e -> heapPools.contains(e.getKey()))
                .mapToLong(e -> e.getValue().getUsed())
                .sum();
    }

    /** Whether a request that changes a tree must be refused now (ENOSPC). */
    boolean full() {
        if (!suspect) {
            return false;
        }
        synchronized (this) {
            long now = System.nanoTime();
            if (now - checkedNs < recheckNs) {
                return refusing;
            }
            checkedNs = now;
            System.gc(); // the live size, not the garbage: a full collection, then the heap in use
            long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            boolean full = used > max - reserve;
            if (full && !refusing) {
                LOG.warning(String.format(
                        "heap nearly full (%d of %d MiB in use after a full collection, %d MiB kept free):"
                                + " changes get ENOSPC until a commit or an abort frees memory"
                                + " (TXFS_DAEMON_HEAP sets the limit at mount time)",
                        used >> 20, max >> 20, reserve >> 20));
            } else if (!full && refusing) {
                LOG.info(String.format("heap in use back to %d of %d MiB: changes accepted", used >> 20, max >> 20));
            }
            // 0 while not refusing (and after released()), so a first refusal waits MIN_RECHECK_NS
            recheckNs = full ? Math.min(MAX_RECHECK_NS, Math.max(MIN_RECHECK_NS, 2 * recheckNs)) : 0;
            refusing = full;
            suspect = full;
            return full;
        }
    }
}
