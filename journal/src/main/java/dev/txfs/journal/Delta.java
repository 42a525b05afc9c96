package dev.txfs.journal;

import dev.txfs.snapshot.ObjectGraph;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Snapshot;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What snapshot {@code to} adds to snapshot {@code from}: the objects {@code to} reaches that
 * {@code from} does not (what {@code txfs export FROM..TO} ships), and the normalized changes
 * between their trees ({@link Diff}: one per changed path). Applying a delta to a store holding
 * {@code from} is adding its objects: the store then holds everything {@code to} reaches.
 *
 * <p>Implementation notes: both graphs are walked together from the two snapshots, pairing the
 * objects that fill the same slot ({@link ObjectGraph#slots}: the same name in a directory leaf,
 * the same child of an internal node, the Root of a snapshot). A pair of equal ids is never
 * entered, so unchanged subtrees cost nothing: the walk reads O(changed objects × depth) objects,
 * never whole trees. Every object the {@code from} side of a visited pair references is known to be
 * in {@code from}, and is not sent even when it turns up at another slot of {@code to} (a file
 * renamed within its directory, a chunk shared with the old version of its file). Chunks are
 * listed without being read.
 *
 * <p>Limit, stated honestly: an object that {@code from} holds only below a subtree the walk did
 * not enter (a file copied or moved from an unchanged directory to another one) is sent again.
 * The delta is then larger than the exact difference, never smaller; importing skips objects the
 * store already has.
 *
 * <p>Threads: a call uses only its arguments. Errors: {@link ObjectStore.MissingObjectException}
 * when the store lacks an object either snapshot reaches, {@link
 * dev.txfs.snapshot.MalformedObjectException} for one that does not decode.
 */
public record Delta(
        ObjectId from, ObjectId to, List<ObjectId> objects, List<Change> changes, Map<ObjectId, List<ObjectId>> bases) {
    public Delta {
        objects = List.copyOf(objects);
        changes = List.copyOf(changes);
        bases = Map.copyOf(bases);
    }

    /** A delta without base hints. */
    public Delta(ObjectId from, ObjectId to, List<ObjectId> objects, List<Change> changes) {
        this(from, to, objects, changes, Map.of());
    }

    /** The delta from snapshot {@code from} (null: a full export) to snapshot {@code to}. */
    public static Delta between(ObjectStore store, ObjectId from, ObjectId to) {
        Walk walk = new Walk(store);
        List<ObjectId> objects = walk.run(from, to);
        List<Change> changes = from == null
                ? List.of()
                : Diff.between(
                        store,
                        Snapshot.decode(store.get(from)).root(),
                        Snapshot.decode(store.get(to)).root());
        return new Delta(from, to, objects, changes, walk.bases);
    }

    /** Whether this delta carries everything (no base). */
    public boolean isFull() {
        return from == null;
    }

    /** One walk over the two graphs. */
    private static final class Walk {
        private final ObjectStore store;
        /** Objects known to be reachable from {@code from}. */
        private final Set<ObjectId> inFrom = new HashSet<>();
        /** Objects of the delta, in the order found (referrers before what they reference). */
        private final LinkedHashSet<ObjectId> out = new LinkedHashSet<>();
        /**
         * For a chunk of the delta, the {@code from}-side objects around its slot: the content
         * of the same file name, or the chunks at the same index of a Blob and its neighbours (in
         * file order). Hints for {@link DeltaStream}, which uses those that are chunks.
         */
        final Map<ObjectId, List<ObjectId>> bases = new HashMap<>();

        Walk(ObjectStore store) {
            this.store = store;
        }

        /** A {@code to}-side object and the {@code from}-side object in the same slot (or null). */
        private record Pair(ObjectId a, ObjectId b, boolean chunk) {}

        List<ObjectId> run(ObjectId from, ObjectId to) {
            if (from != null) {
                inFrom.add(from);
            }
            ArrayDeque<Pair> stack = new ArrayDeque<>();
            stack.push(new Pair(from, to, false));
            while (!stack.isEmpty()) {
                Pair p = stack.pop();
                if (inFrom.contains(p.b) || !out.add(p.b) || p.chunk) {
                    continue;
                }
                Map<String, ObjectId> aSlots = new HashMap<>();
                if (p.a != null) {
                    ObjectGraph.slots(store.get(p.a), (slot, id, chunk) -> {
                        inFrom.add(id);
                        aSlots.put(slot, id);
                    });
                }
                List<Pair> next = new ArrayList<>();
                ObjectGraph.slots(store.get(p.b), (slot, id, chunk) -> {
                    if (!inFrom.contains(id) && !out.contains(id)) {
                        next.add(new Pair(aSlots.get(slot), id, chunk));
                        if (chunk && !aSlots.isEmpty()) {
                            List<ObjectId> near = near(aSlots, slot);
                            if (!near.isEmpty()) {
                                bases.putIfAbsent(id, near);
                            }
                        }
                    }
                });
                // pushed in reverse so that the walk visits slots in their order (a stable stream)
                for (int i = next.size() - 1; i >= 0; i--) {
                    stack.push(next.get(i));
                }
            }
            return new ArrayList<>(out);
        }

        /** The {@code from}-side ids at {@code slot}, and for a Blob's chunk at its neighbours. */
        private static List<ObjectId> near(Map<String, ObjectId> aSlots, String slot) {
            List<ObjectId> near = new ArrayList<>();
            if (slot.charAt(0) == 'c') {
                int i = Integer.parseInt(slot.substring(1));
                for (int k = i - 1; k <= i + 1; k++) {
                    ObjectId id = aSlots.get("c" + k);
                    if (id != null) {
                        near.add(id);
                    }
                }
            } else if (aSlots.get(slot) != null) {
                near.add(aSlots.get(slot));
            }
            return near;
        }
    }
}
