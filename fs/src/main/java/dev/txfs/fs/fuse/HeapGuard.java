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
 * Keeps the daemon alive when its heap is nearly full: requests that add entries (create, mkdir,
 * mknod, symlink, link, setxattr) get ENOSPC instead of the daemon dying of OutOfMemoryError,
 * which would drop every open transaction and the live tree's unsynced writes.
 *
 * <p>What costs heap is in-memory tree state: ~0.9 KB per entry a transaction changed until it
 * commits, ~0.6 KB per entry the kernel has looked up (docs/RELIABILITY.md, "Resource limits").
 * File data does not (dirty pages are capped). So the guard refuses new entries, not writes or
 * lookups, and the way out is a commit, an abort or an unmount.
 *
 * <p>How it decides: after every collection the JVM reports the heap in use; above {@link
 * #FULL} of the maximum the guard suspects a full heap. A suspicion is confirmed by a full
 * collection (at most one a second) and the exact live size it leaves, so garbage not yet
 * collected never refuses a request, and memory freed by a commit or abort is seen at the next
 * request. Logged once per episode.
 */
final class HeapGuard {
    private static final Logger LOG = Logger.getLogger(HeapGuard.class.getName());
    /** The fraction of the maximum heap in use, after a full collection, from which entries are refused. */
    static final double FULL = Double.parseDouble(System.getProperty("txfs.heap.full", "0.85"));

    private static final long RECHECK_NS = 1_000_000_000L;

    private final long max = Runtime.getRuntime().maxMemory();
    private final Set<String> heapPools;
    private volatile boolean suspect;
    private boolean refusing;
    private long checkedNs = System.nanoTime() - RECHECK_NS;

    HeapGuard() {
        heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP)
                .map(MemoryPoolMXBean::getName)
                .collect(Collectors.toSet());
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter e) {
                e.addNotificationListener(
                        (n, h) -> {
                            if (n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
                                var info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                                suspect = usedAfter(info.getGcInfo().getMemoryUsageAfterGc()) > FULL * max;
                            }
                        },
                        null,
                        null);
            }
        }
    }

    private long usedAfter(Map<String, MemoryUsage> pools) {
        return pools.entrySet().stream()
                .filter(e -> heapPools.contains(e.getKey()))
                .mapToLong(e -> e.getValue().getUsed())
                .sum();
    }

    /** Whether a request that adds an entry must be refused now (ENOSPC). */
    boolean full() {
        if (!suspect) {
            return false;
        }
        synchronized (this) {
            long now = System.nanoTime();
            if (now - checkedNs >= RECHECK_NS) {
                checkedNs = now;
                System.gc(); // the live size, not the garbage: a full collection, then the heap in use
                long used =
                        ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                boolean full = used > FULL * max;
                if (full && !refusing) {
                    LOG.warning(String.format(
                            "heap nearly full (%d of %d MiB in use after a full collection): new entries get"
                                    + " ENOSPC until a commit, an abort or an unmount frees memory"
                                    + " (TXFS_DAEMON_HEAP sets the limit at mount time)",
                            used >> 20, max >> 20));
                } else if (!full && refusing) {
                    LOG.info(String.format(
                            "heap in use back to %d of %d MiB: new entries accepted", used >> 20, max >> 20));
                }
                refusing = full;
                suspect = full;
            }
            return refusing;
        }
    }
}
