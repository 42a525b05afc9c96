package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SpaceUsageTest {
    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private final AtomicLong clock = new AtomicLong(1_000_000_000_000L);
    private MutableTree tree;

    private void write(String name) throws Exception {
        MutableNode.File f = tree.createFile(tree.root(), name.getBytes(UTF_8), 0644, 0, 0);
        byte[] data = new byte[300_000];
        new Random(name.hashCode()).nextBytes(data);
        tree.write(f, 0, data, 0, data.length);
    }

    private ObjectId snapshot() throws Exception {
        return Snapshots.record(store, Snapshots.HEAD, tree.flush(), "t", "m", () -> clock.addAndGet(1_000_000_000L));
    }

    @Test
    void measure_countsForEachSnapshotOnlyWhatNoOtherReaches() throws Exception {
        tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, 0), clock::get);
        write("a");
        ObjectId s1 = snapshot();
        write("b");
        ObjectId s2 = snapshot();
        tree.unlink(tree.root(), "a".getBytes(UTF_8));
        write("c");
        ObjectId s3 = snapshot();
        write("orphan");
        tree.flush(); // written, in no snapshot

        SpaceUsage.Report r = SpaceUsage.measure(store);
        Map<ObjectId, Long> only = r.snapshots().stream()
                .collect(Collectors.toMap(SpaceUsage.Usage::id, SpaceUsage.Usage::exclusiveBytes));
        assertEquals(
                List.of(s3, s2, s1),
                r.snapshots().stream().map(SpaceUsage.Usage::id).toList(),
                "newest first");
        assertTrue(only.get(s1) < 2_000, "a is shared with s2: " + only);
        assertTrue(only.get(s2) < 2_000, "b is shared with s3: " + only);
        assertTrue(only.get(s3) >= 300_000 && only.get(s3) < 302_000, "c is s3's alone: " + only);
        assertTrue(r.unreachableBytes() >= 300_000, "the orphan: " + r.unreachableBytes());
        long[] all = {0};
        store.forEachId(id -> all[0] += store.get(id).length);
        assertEquals(all[0], r.storedBytes());
    }

    @Test
    void measure_whenAGcFreesASnapshotsExclusiveBytes_theFreedBytesMatch() throws Exception {
        tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, 0), clock::get);
        write("old-only");
        snapshot();
        tree.unlink(tree.root(), "old-only".getBytes(UTF_8));
        write("new");
        snapshot();
        GarbageCollector.collect(store, GarbageCollector.Policy.KEEP_ALL_HISTORY, List.of(), clock.get());
        SpaceUsage.Report before = SpaceUsage.measure(store);
        long oldest = before.snapshots().get(1).exclusiveBytes();
        GarbageCollector.Report gc =
                GarbageCollector.collect(store, new GarbageCollector.Policy(1, null), List.of(), clock.get());
        assertEquals(oldest, gc.bytesFreed(), "du said what deleting the oldest frees");
    }
}
