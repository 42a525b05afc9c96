package dev.txfs.snapshot;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Per snapshot, the bytes only it holds: what deleting it from history (and collecting) would
 * free. Costs one walk over the distinct objects of the history, however many snapshots share
 * them: each object remembers the one snapshot that reached it first, and becomes shared (with all
 * it reaches, once) when a second one does.
 */
public final class SpaceUsage {
    /** One snapshot's figures: stored bytes only it reaches, and all stored bytes it reaches. */
    public record Usage(ObjectId id, Snapshot snapshot, long exclusiveBytes) {}

    /**
     * All snapshots of the refs' histories, newest first; the bytes the store's objects take;
     * and the bytes no snapshot reaches (what {@code gc} frees, less what a mount holds).
     */
    public record Report(List<Usage> snapshots, long storedBytes, long unreachableBytes) {}

    private static final int SHARED = -1;

    private final ObjectStore store;
    /** Object → index of the one snapshot that reaches it, or {@link #SHARED}. */
    private final Map<ObjectId, Integer> owner = new HashMap<>();

    private final Map<ObjectId, Long> size = new HashMap<>();

    private SpaceUsage(ObjectStore store) {
        this.store = store;
    }

    public static Report measure(ObjectStore store) {
        SpaceUsage u = new SpaceUsage(store);
        List<ObjectId> snaps = new ArrayList<>(Snapshots.history(store));
        for (int i = 0; i < snaps.size(); i++) {
            u.walk(snaps.get(i), i);
        }
        long[] exclusive = new long[snaps.size()];
        long reached = 0;
        for (Map.Entry<ObjectId, Integer> e : u.owner.entrySet()) {
            long b = u.size.get(e.getKey());
            reached += b;
            if (e.getValue() != SHARED) {
                exclusive[e.getValue()] += b;
            }
        }
        List<Usage> out = new ArrayList<>();
        for (int i = 0; i < snaps.size(); i++) {
            out.add(new Usage(snaps.get(i), Snapshots.load(store, snaps.get(i)), exclusive[i]));
        }
        out.sort(Comparator.comparingLong((Usage x) -> x.snapshot().timeNs()).reversed());
        long[] stored = {0};
        store.forEachId(id -> stored[0] += u.size.containsKey(id) ? u.size.get(id) : u.storedSize(id));
        return new Report(out, stored[0], stored[0] - reached);
    }

    private long storedSize(ObjectId id) {
        return store.find(id).map(b -> (long) b.length).orElse(0L);
    }

    /** Everything snapshot {@code index} reaches; objects another snapshot reached become shared. */
    private void walk(ObjectId snapshot, int index) {
        Deque<ObjectId> todo = new ArrayDeque<>();
        visit(snapshot, -1, index, todo);
        while (!todo.isEmpty()) {
            ObjectId id = todo.pop();
            byte[] raw = store.get(id);
            size.put(id, (long) raw.length);
            ObjectGraph.references(raw, (ref, chunkBytes) -> visit(ref, chunkBytes, index, todo));
        }
    }

    private void visit(ObjectId id, long chunkBytes, int index, Deque<ObjectId> todo) {
        Integer o = owner.get(id);
        if (o == null) {
            owner.put(id, index);
            if (chunkBytes >= 0) {
                size.put(id, chunkBytes);
            } else {
                todo.push(id); // its size is recorded when the walk reads it
            }
        } else if (o != index && o != SHARED) {
            share(id, chunkBytes);
        }
    }

    /** Marks {@code id} and what it reaches shared, stopping at what already is. */
    private void share(ObjectId start, long startChunkBytes) {
        owner.put(start, SHARED);
        if (startChunkBytes >= 0) {
            return;
        }
        Deque<ObjectId> todo = new ArrayDeque<>();
        todo.push(start);
        while (!todo.isEmpty()) {
            ObjectGraph.references(store.get(todo.pop()), (ref, chunkBytes) -> {
                Integer o = owner.get(ref);
                if (o != null && o != SHARED) {
                    owner.put(ref, SHARED);
                    if (chunkBytes < 0) {
                        todo.push(ref);
                    }
                }
            });
        }
    }
}
