package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class GarbageCollectorTest {
    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private final AtomicLong clock = new AtomicLong(1_000_000_000_000L);

    /** A tree holding {@code files} (name → a big random file seeded by the name), flushed. */
    private ObjectId tree(String... files) throws Exception {
        MutableTree t = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, 0), clock::get);
        MutableNode.Dir d = t.mkdir(t.root(), "d".getBytes(UTF_8), 0755, 0, 0);
        for (String f : files) {
            MutableNode.File n = t.createFile(d, f.getBytes(UTF_8), 0644, 0, 0);
            byte[] data = new byte[300_000];
            new Random(f.hashCode()).nextBytes(data);
            t.write(n, 0, data, 0, data.length);
        }
        return t.flush();
    }

    private ObjectId record(ObjectId root) {
        return Snapshots.record(store, Snapshots.HEAD, root, "t", "m", () -> clock.addAndGet(1_000_000_000L));
    }

    private void collectAll() {
        GarbageCollector.collect(store, GarbageCollector.Policy.KEEP_ALL_HISTORY, List.of(), clock.get());
    }

    private Set<ObjectId> ids() {
        Set<ObjectId> out = new java.util.TreeSet<>();
        store.forEachId(out::add);
        return out;
    }

    @Test
    void collect_whenObjectsAreUnreachable_deletesOnlyThem() throws Exception {
        ObjectId kept = record(tree("a", "b"));
        collectAll(); // the empty trees the fixture started from
        Set<ObjectId> reachable = ids();
        tree("orphan"); // an aborted transaction's tree and chunks: written, never referenced
        assertTrue(ids().size() > reachable.size());

        GarbageCollector.Report r =
                GarbageCollector.collect(store, GarbageCollector.Policy.KEEP_ALL_HISTORY, List.of(), clock.get());

        assertEquals(reachable, ids());
        assertTrue(r.bytesFreed() > 300_000, "the orphan's chunks were freed: " + r);
        assertTrue(r.snapshotsPruned().isEmpty());
        assertTrue(Verifier.verifySnapshot(store, kept, n -> {}).clean());
    }

    @Test
    void collect_whenRootsAreHeld_keepsThem() throws Exception {
        record(tree("a"));
        ObjectId held = tree("in-memory");
        GarbageCollector.Report r =
                GarbageCollector.collect(store, GarbageCollector.Policy.KEEP_ALL_HISTORY, List.of(held), clock.get());
        assertTrue(r.bytesFreed() < 1000, "only the fixture's empty starting trees went: " + r);
        MutableTree t = new MutableTree(store, held, clock::get);
        MutableNode.File f = (MutableNode.File) t.get("/d/in-memory");
        byte[] buf = new byte[300_000];
        assertEquals(300_000, t.read(f, 0, buf, 0, buf.length), "the held tree's data is all there");
    }

    @Test
    void collect_whenKeepLastTwo_prunesOlderHistoryAndMarksWhereItEnds() throws Exception {
        List<ObjectId> snaps = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            snaps.add(record(tree("common", "only" + i)));
        }
        GarbageCollector.Report r =
                GarbageCollector.collect(store, new GarbageCollector.Policy(2, null), List.of(), clock.get());
        assertEquals(List.of(snaps.get(2), snaps.get(1), snaps.get(0)), r.snapshotsPruned());
        assertEquals(List.of(snaps.get(3)), r.newlyShallow());
        assertEquals(Set.of(snaps.get(3)), store.shallow());
        assertFalse(store.contains(snaps.get(0)));
        assertTrue(store.contains(snaps.get(3)) && store.contains(snaps.get(4)));
        assertTrue(r.bytesFreed() >= 3 * 300_000, "three files only the pruned snapshots held: " + r);
        assertEquals(300_000, read(snaps.get(3), "/d/common").length, "shared data stays");
        Verifier.Report v = Verifier.verify(store, n -> {});
        assertTrue(v.clean(), "verify stops at the shallow snapshot: " + v.problems());

        // a second collection with the same policy finds nothing more
        GarbageCollector.Report again =
                GarbageCollector.collect(store, new GarbageCollector.Policy(2, null), List.of(), clock.get());
        assertEquals(0, again.objectsFreed());
        assertTrue(again.newlyShallow().isEmpty());
    }

    @Test
    void collect_whenKeepWithin_keepsYoungSnapshots() throws Exception {
        ObjectId old = record(tree("x"));
        clock.addAndGet(Duration.ofDays(10).toNanos());
        ObjectId young = record(tree("y"));
        ObjectId newest = record(tree("z"));
        GarbageCollector.Report r = GarbageCollector.collect(
                store, new GarbageCollector.Policy(null, Duration.ofDays(1)), List.of(), clock.get());
        assertEquals(List.of(old), r.snapshotsPruned());
        assertTrue(store.contains(young) && store.contains(newest));
    }

    @Test
    void collect_whenATagNamesAnOldSnapshot_keepsIt() throws Exception {
        ObjectId tagged = record(tree("t"));
        store.refs().compareAndSet("tags/release", null, tagged);
        for (int i = 0; i < 3; i++) {
            record(tree("n" + i));
        }
        GarbageCollector.Report r =
                GarbageCollector.collect(store, new GarbageCollector.Policy(1, null), List.of(), clock.get());
        assertTrue(store.contains(tagged));
        assertEquals(300_000, read(tagged, "/d/t").length);
        assertEquals(2, r.snapshotsPruned().size());
    }

    @Test
    void collect_whenAnObjectIsMissing_deletesNothing() throws Exception {
        record(tree("a"));
        ObjectId root = tree("b");
        ObjectId snap = record(root);
        tree("orphan");
        store.remove(Snapshots.load(store, snap).root());
        Set<ObjectId> before = ids();
        TxfsException e = assertThrows(
                TxfsException.class,
                () -> GarbageCollector.collect(
                        store, GarbageCollector.Policy.KEEP_ALL_HISTORY, List.of(), clock.get()));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        assertEquals(before, ids());
    }

    private byte[] read(ObjectId snapshot, String path) throws Exception {
        MutableTree t = new MutableTree(store, Snapshots.load(store, snapshot).root(), clock::get);
        MutableNode.File f = (MutableNode.File) t.get(path);
        byte[] buf = new byte[(int) f.size()];
        t.read(f, 0, buf, 0, buf.length);
        return buf;
    }
}
