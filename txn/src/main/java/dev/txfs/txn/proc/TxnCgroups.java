package dev.txfs.txn.proc;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The cgroup paths of one membership's transactions, and what a process's cgroup path says: which
 * of them it is in (the nearest wins), whether it is in another daemon's, where it came from.
 * Only the exact paths registered here count: a name alone proves nothing, since a user who may
 * make cgroups (a delegated subtree, a container) can make one called {@code txfs-<instance>-<id>}
 * anywhere.
 *
 * <p>Threads: lookups are lock-free; {@link #put} and {@link #remove} are called under the
 * membership's lock.
 *
 * @param <T> what a registered path stands for (a transaction)
 */
final class TxnCgroups<T> {
    /** The name of every transaction cgroup starts with this, whatever the instance. */
    static final String PREFIX = "txfs-";

    /** The top-level directory older txfs versions kept their transaction cgroups in. */
    static final String OLD_TOP = "txfs";

    private final String namePrefix;
    private final String oldTopPath;
    private final ConcurrentHashMap<String, T> byPath = new ConcurrentHashMap<>();

    /**
     * @param instance the membership's instance name, part of every cgroup name
     * @param oldTopPath the cgroup path of {@value #OLD_TOP} at the top of the hierarchy
     */
    TxnCgroups(String instance, String oldTopPath) {
        this.namePrefix = PREFIX + instance + "-";
        this.oldTopPath = oldTopPath;
    }

    /** The name of a transaction's cgroups: {@code txfs-<instance>-<txnId>}. */
    String name(String txnId) {
        return namePrefix + txnId;
    }

    void put(String cgroupPath, T t) {
        byPath.put(cgroupPath, t);
    }

    void remove(String cgroupPath, T t) {
        byPath.remove(cgroupPath, t);
    }

    /**
     * What the registered cgroup {@code cgroupPath} or its nearest registered ancestor stands for.
     * Hot path: a substring test, then one map lookup per ancestor.
     */
    Optional<T> owner(String cgroupPath) {
        if (!cgroupPath.contains("/" + namePrefix)) {
            return Optional.empty();
        }
        for (String p = cgroupPath; p != null; p = CgroupFiles.parent(p)) {
            T t = byPath.get(p);
            if (t != null) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code cgroupPath} is in a transaction cgroup that is not registered here: a
     * component {@code txfs-…} with no registered cgroup above it, or the top-level {@value
     * #OLD_TOP} of older versions. Below a registered cgroup every name is a member's.
     */
    boolean inOther(String cgroupPath) {
        if (CgroupFiles.isIn(cgroupPath, oldTopPath)) {
            return true;
        }
        int from = 1;
        while (from < cgroupPath.length()) {
            int end = cgroupPath.indexOf('/', from);
            if (end < 0) {
                end = cgroupPath.length();
            }
            if (byPath.containsKey(cgroupPath.substring(0, end))) {
                return false;
            }
            if (cgroupPath.startsWith(PREFIX, from)) {
                return true;
            }
            from = end + 1;
        }
        return false;
    }

    /**
     * Where a process in {@code cgroupPath} was before any registered transaction: the parent of
     * the outermost registered cgroup on the path, or the path itself.
     */
    String base(String cgroupPath) {
        String base = cgroupPath;
        for (String p = cgroupPath; p != null; p = CgroupFiles.parent(p)) {
            if (byPath.containsKey(p)) {
                base = CgroupFiles.parent(p);
            }
        }
        return base;
    }
}
