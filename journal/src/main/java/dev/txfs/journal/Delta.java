package dev.txfs.journal;

import dev.txfs.snapshot.Blob;
import dev.txfs.snapshot.ObjectGraph;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectType;
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
         * of the same file name, or for a Blob's chunk the old Blob's chunks nearest to the same
         * byte offset (in file order); for a file's Blob, the old Blob of the same name. Hints for
         * {@link DeltaStream}, which uses those of the same type.
         */
        final Map<ObjectId, List<ObjectId>> bases = new HashMap<>();
        /** The most base chunks noted for one chunk ({@link DeltaStream#MAX_BASES}). */
        static final int NEAR = 8;

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
                byte[] aBytes = p.a == null ? null : store.get(p.a);
                if (aBytes != null) {
                    ObjectGraph.slots(aBytes, (slot, id, chunk) -> {
                        inFrom.add(id);
                        aSlots.put(slot, id);
                    });
                }
                byte[] bBytes = store.get(p.b);
                List<List<ObjectId>> byOffset = aBytes != null
                                && ObjectType.of(aBytes) == ObjectType.BLOB
                                && ObjectType.of(bBytes) == ObjectType.BLOB
                        ? byOffset(
                                Blob.decode(aBytes).chunks(),
                                Blob.decode(bBytes).chunks())
                        : null;
                List<Pair> next = new ArrayList<>();
                ObjectGraph.slots(bBytes, (slot, id, chunk) -> {
                    if (!inFrom.contains(id) && !out.contains(id)) {
                        next.add(new Pair(aSlots.get(slot), id, chunk));
                        List<ObjectId> near = !chunk || aSlots.isEmpty()
                                ? List.of()
                                : byOffset != null
                                        ? byOffset.get(Integer.parseInt(slot.substring(1)))
                                        : aSlots.get(slot) != null ? List.of(aSlots.get(slot)) : List.of();
                        if (!chunk && slot.charAt(0) == 'f' && aSlots.get(slot) != null) {
                            near = List.of(aSlots.get(slot)); // a file's Blob: its old Blob
                        }
                        if (!near.isEmpty()) {
                            bases.putIfAbsent(id, near);
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

        /**
         * For each chunk of the new Blob, the old Blob's chunks it most likely came from: those
         * between the chunks both Blobs hold just before and just after it (all old chunks if
         * there are none between), nearest to its offset moved by the shift at the last shared
         * chunk; the one holding its middle, then neighbours, alternately after and before, up
         * to {@link #NEAR} in all, in file order. Indices would drift whenever an edit adds or
         * removes cut points, and offsets whenever it inserts or deletes bytes.
         */
        private static List<List<ObjectId>> byOffset(List<Blob.ChunkRef> a, List<Blob.ChunkRef> b) {
            long[] starts = new long[a.size() + 1];
            Map<ObjectId, Integer> index = new HashMap<>();
            for (int j = 0; j < a.size(); j++) {
                starts[j + 1] = starts[j] + a.get(j).length();
                index.putIfAbsent(a.get(j).id(), j);
            }
            int n = b.size();
            int[] after = new int[n]; // the old chunks after the last chunk both hold, at or before i
            int[] before = new int[n]; // ... and before the first one at or after i
            int last = -1;
            for (int i = 0; i < n; i++) {
                Integer k = index.get(b.get(i).id());
                last = k != null ? k : last;
                after[i] = last + 1;
            }
            int first = a.size();
            for (int i = n - 1; i >= 0; i--) {
                Integer k = index.get(b.get(i).id());
                first = k != null ? k : first;
                before[i] = first - 1;
            }
            List<List<ObjectId>> result = new ArrayList<>(n);
            long s = 0;
            long shift = 0; // old offset - new offset at the last chunk both Blobs hold
            for (int i = 0; i < n; i++) {
                Blob.ChunkRef c = b.get(i);
                Integer old = index.get(c.id());
                if (old != null) {
                    shift = starts[old] - s;
                }
                long middle = s + shift + c.length() / 2;
                s += c.length();
                int min = after[i];
                int max = before[i];
                if (min > max) { // no old chunks between the shared ones around it: look anywhere
                    min = 0;
                    max = a.size() - 1;
                }
                if (min > max) {
                    result.add(List.of());
                    continue;
                }
                int j = java.util.Arrays.binarySearch(starts, middle);
                j = Math.max(min, Math.min(max, j >= 0 ? j : -j - 2));
                int lo = j;
                int hi = j;
                while (hi - lo + 1 < NEAR && (lo > min || hi < max)) {
                    if (hi < max) {
                        hi++;
                    }
                    if (hi - lo + 1 < NEAR && lo > min) {
                        lo--;
                    }
                }
                List<ObjectId> near = new ArrayList<>();
                for (int k = lo; k <= hi; k++) {
                    near.add(a.get(k).id());
                }
                result.add(near);
            }
            return result;
        }
    }
}
