package dev.txfs.snapshot;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Mark and sweep over the store: keeps what the refs and the retention policy reach (plus the
 * roots the caller still holds in memory, such as a mount's live tree and open transactions) and
 * deletes every other object, including chunks written by transactions that were aborted or lost
 * in a crash.
 *
 * <p>Retention walks each ref's history newest first: a snapshot is kept when it is a ref's
 * target, among the first {@code keepLast} of that history, or younger than {@code keepWithin}.
 * With neither limit, all history is kept and only unreachable objects go. The oldest kept
 * snapshots whose parents go are recorded as {@linkplain ObjectStore#shallow shallow} before
 * anything is deleted, so history readers stop there instead of meeting a missing parent.
 *
 * <p>The caller makes sure no one adds references meanwhile: {@link LmdbObjectStore#exclusive}
 * across processes, and its own lock inside the process. A missing or undecodable object met while
 * marking stops the collection before it deletes anything (a damaged store is for {@code verify}).
 */
public final class GarbageCollector {
    /** What history to keep; null fields mean no limit of that kind. */
    public record Policy(Integer keepLast, Duration keepWithin) {
        public static final Policy KEEP_ALL_HISTORY = new Policy(null, null);

        public Policy {
            if (keepLast != null && keepLast < 1) {
                throw new IllegalArgumentException("--keep-last must be at least 1, got " + keepLast);
            }
            if (keepWithin != null && keepWithin.isNegative()) {
                throw new IllegalArgumentException("--keep-within must not be negative");
            }
        }

        boolean keepsAll() {
            return keepLast == null && keepWithin == null;
        }
    }

    /** What a collection did. */
    public record Report(
            long objectsBefore,
            long objectsFreed,
            long bytesFreed,
            int snapshotsKept,
            List<ObjectId> snapshotsPruned,
            List<ObjectId> newlyShallow,
            long elapsedNs) {}

    private final ObjectStore store;
    private final Set<ObjectId> marked = new HashSet<>();
    private final Deque<ObjectId> todo = new ArrayDeque<>();

    private GarbageCollector(ObjectStore store) {
        this.store = store;
    }

    /**
     * Collects {@code store}. {@code held} are {@link Root} and {@link Snapshot} ids still in use
     * outside the refs (a mount's flushed live tree and transactions, their bases).
     */
    public static Report collect(ObjectStore store, Policy policy, Collection<ObjectId> held, long nowNs) {
        long start = System.nanoTime();
        GarbageCollector gc = new GarbageCollector(store);
        Set<ObjectId> shallow = store.shallow();
        Set<ObjectId> targets = new LinkedHashSet<>(store.refs().list("").values());
        Set<ObjectId> kept = new LinkedHashSet<>();
        for (ObjectId target : targets) {
            gc.retain(target, policy, nowNs, shallow, kept);
        }
        Set<ObjectId> pruned = Snapshots.history(store, targets);
        pruned.removeAll(kept);
        // Kept snapshots with a parent that goes: history ends there from now on.
        List<ObjectId> newlyShallow = new ArrayList<>();
        for (ObjectId s : kept) {
            if (!shallow.contains(s)
                    && Snapshots.load(store, s).parents().stream().anyMatch(pruned::contains)) {
                newlyShallow.add(s);
            }
        }
        kept.forEach(gc::mark);
        held.forEach(gc::mark);
        if (!newlyShallow.isEmpty()) {
            store.addShallow(newlyShallow);
        }
        List<ObjectId> garbage = new ArrayList<>();
        long[] before = {0};
        store.forEachId(id -> {
            before[0]++;
            if (!gc.marked.contains(id)) {
                garbage.add(id);
            }
        });
        long bytes = store.delete(garbage);
        return new Report(
                before[0],
                garbage.size(),
                bytes,
                kept.size(),
                List.copyOf(pruned),
                newlyShallow,
                System.nanoTime() - start);
    }

    /** Adds to {@code kept} the snapshots of one ref's history that the policy keeps. */
    private void retain(ObjectId target, Policy policy, long nowNs, Set<ObjectId> shallow, Set<ObjectId> kept) {
        long cutoff = policy.keepWithin() == null
                ? Long.MAX_VALUE
                : nowNs - policy.keepWithin().toNanos();
        // Breadth first from the target: depth counts snapshots back along the history. Older
        // snapshots than one that goes are not kept through it.
        List<ObjectId> level = List.of(target);
        Set<ObjectId> seen = new HashSet<>(level);
        for (int depth = 0; !level.isEmpty(); depth++) {
            List<ObjectId> next = new ArrayList<>();
            for (ObjectId id : level) {
                Snapshot s = Snapshots.load(store, id);
                boolean keep = depth == 0
                        || policy.keepsAll()
                        || (policy.keepLast() != null && depth < policy.keepLast())
                        || s.timeNs() >= cutoff;
                if (!keep) {
                    continue;
                }
                kept.add(id);
                if (!shallow.contains(id)) {
                    s.parents().stream().filter(seen::add).forEach(next::add);
                }
            }
            level = next;
        }
    }

    private byte[] load(ObjectId id) {
        return store.find(id)
                .orElseThrow(() -> new TxfsException("garbage collection stopped before deleting anything: object " + id
                        + " is missing (run txfs verify)"));
    }

    /** Marks {@code id} and everything it reaches (a subtree already marked is not walked again). */
    private void mark(ObjectId id) {
        if (!marked.add(id)) {
            return;
        }
        todo.push(id);
        while (!todo.isEmpty()) {
            ObjectGraph.references(load(todo.pop()), (ref, chunkBytes) -> {
                if (marked.add(ref) && chunkBytes < 0) {
                    todo.push(ref);
                }
            });
        }
    }
}
