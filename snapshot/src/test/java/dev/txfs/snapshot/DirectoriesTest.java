package dev.txfs.snapshot;

import static dev.txfs.snapshot.SampleObjects.id;
import static dev.txfs.snapshot.SampleObjects.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Large directories as hash array mapped tries: lookups, listing, O(log n) updates, determinism. */
final class DirectoriesTest {
    static final int BIG = 100_000;
    private static InMemoryObjectStore bigStore;
    private static List<TreeEntry> bigEntries;
    private static TreeRef bigRef;

    /** Counts what an update writes. */
    static final class CountingWriter implements ObjectWriter {
        final ObjectWriter delegate;
        int puts;
        long bytes;

        CountingWriter(ObjectWriter delegate) {
            this.delegate = delegate;
        }

        @Override
        public ObjectId put(byte[] canonical) {
            puts++;
            bytes += canonical.length;
            return delegate.put(canonical);
        }

        @Override
        public Optional<byte[]> find(ObjectId id) {
            return delegate.find(id);
        }

        @Override
        public void flush() {
            delegate.flush();
        }

        @Override
        public boolean flushAndSet(java.util.List<RefStore.Update> updates) {
            return delegate.flushAndSet(updates);
        }

        @Override
        public void close() {
            delegate.close();
        }
    }

    /** Entry {@code i}: mostly small files, every tenth a directory, names in no hash order. */
    static TreeEntry entry(int i, int version) {
        byte[] name = utf8(String.format("entry-%06d", i));
        if (i % 10 == 0) {
            return TreeEntry.builder(name, EntryKind.DIRECTORY)
                    .mode(0755)
                    .times(version, version)
                    .tree(id("t" + i + "/" + version), 3, 1)
                    .build();
        }
        return TreeEntry.builder(name, EntryKind.FILE)
                .mode(0644)
                .owner(1000, 1000)
                .times(1_700_000_000_000_000_000L + i, version)
                .content(Content.inline(utf8("v" + version + ":" + i)))
                .build();
    }

    static List<TreeEntry> entries(int n) {
        List<TreeEntry> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(entry(i, 0));
        }
        return out;
    }

    static TreeRef write(ObjectStore store, List<TreeEntry> entries) {
        try (ObjectWriter w = store.newWriter()) {
            return Directories.write(w, entries);
        }
    }

    static TreeRef update(ObjectStore store, TreeRef base, SortedMap<byte[], TreeEntry> changes) {
        try (ObjectWriter w = store.newWriter()) {
            return Directories.update(w, base, changes);
        }
    }

    static long subdirs(Iterable<TreeEntry> entries) {
        long n = 0;
        for (TreeEntry e : entries) {
            n += e.kind() == EntryKind.DIRECTORY ? 1 : 0;
        }
        return n;
    }

    @BeforeAll
    static void writeBigDirectory() {
        bigStore = new InMemoryObjectStore();
        bigEntries = entries(BIG);
        List<TreeEntry> shuffled = new ArrayList<>(bigEntries);
        Collections.shuffle(shuffled, new Random(1));
        bigRef = write(bigStore, shuffled);
    }

    @Test
    void write_hundredThousandEntries_countsEntriesAndSubdirs() {
        assertEquals(BIG, bigRef.entries());
        assertEquals(BIG / 10, bigRef.subdirs());
        assertFalse(TreeCodec.decodeNode(bigStore.get(bigRef.id())).isLeaf());
    }

    @Test
    void find_inHundredThousandEntries_findsEachSampledNameAndNoAbsentOne() {
        Random r = new Random(2);
        for (int k = 0; k < 2000; k++) {
            int i = r.nextInt(BIG);
            TreeEntry expected = bigEntries.get(i);
            Optional<TreeEntry> found = Directories.find(bigStore, bigRef.id(), expected.name());
            assertTrue(found.isPresent(), expected.nameString());
            ObjectCodecTest.assertSameEntry(expected, found.get());
        }
        for (String absent : List.of("entry-100000", "entry-", "", "entry-00000", "zzz", "entry-0000001")) {
            assertEquals(Optional.empty(), Directories.find(bigStore, bigRef.id(), utf8(absent)), absent);
        }
    }

    @Test
    void list_ofHundredThousandEntries_returnsAllSortedByName() {
        List<TreeEntry> listed = Directories.list(bigStore, bigRef.id());
        assertEquals(BIG, listed.size());
        // bigEntries are generated in name order already ("entry-%06d")
        for (int i = 0; i < BIG; i++) {
            assertArrayEquals(bigEntries.get(i).name(), listed.get(i).name(), "position " + i);
            assertEquals(bigEntries.get(i), listed.get(i));
        }
        int[] visited = {0};
        Directories.forEach(bigStore, bigRef.id(), e -> visited[0]++);
        assertEquals(BIG, visited[0]);
    }

    @Test
    void forEachNodeId_visitsEveryNodeOnce_andEveryNodeIsInTheStore() {
        List<ObjectId> nodes = new ArrayList<>();
        Directories.forEachNodeId(bigStore, bigRef.id(), nodes::add);
        assertEquals(nodes.size(), new HashSet<>(nodes).size());
        assertEquals(bigRef.id(), nodes.get(0));
        // 100,000 names: a root, 32 internal nodes at depth 1, leaves at depth 2 (MAX_LEAF 256)
        assertTrue(nodes.size() > 1 + 32 && nodes.size() <= 1 + 32 + 32 * 32, "nodes: " + nodes.size());
        nodes.forEach(id -> assertTrue(bigStore.contains(id)));
    }

    @Test
    void write_whenEntriesComeInAnotherOrder_givesTheSameId() {
        List<TreeEntry> reversed = new ArrayList<>(bigEntries.subList(0, 5000));
        TreeRef sorted = write(new InMemoryObjectStore(), reversed);
        Collections.reverse(reversed);
        assertEquals(sorted, write(new InMemoryObjectStore(), reversed));
    }

    @Test
    void write_whenTwoEntriesShareAName_throwsIllegalArgument() {
        List<TreeEntry> dup = List.of(entry(1, 0), entry(2, 0), entry(1, 1));
        var e = assertThrows(IllegalArgumentException.class, () -> write(new InMemoryObjectStore(), dup));
        assertTrue(e.getMessage().contains("entry-000001"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {7, 50_000, 99_999})
    void update_whenOneEntryOfHundredThousandChanges_writesAtMostThreeNodesAndUnder64KiB(int changed) {
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        TreeEntry next = entry(changed, 1);
        changes.put(next.name(), next);
        CountingWriter w = new CountingWriter(bigStore.newWriter());
        TreeRef updated = Directories.update(w, bigRef, changes);
        w.close();

        assertTrue(w.puts <= 3, "puts: " + w.puts);
        assertTrue(w.bytes < 64 * 1024, "bytes: " + w.bytes);
        assertEquals(BIG, updated.entries());
        assertEquals(bigRef.subdirs(), updated.subdirs());
        ObjectCodecTest.assertSameEntry(
                next, Directories.find(bigStore, updated.id(), next.name()).orElseThrow());
        ObjectCodecTest.assertSameEntry(
                entry(changed, 0),
                Directories.find(bigStore, bigRef.id(), next.name()).orElseThrow());

        List<TreeEntry> all = new ArrayList<>(bigEntries);
        all.set(changed, next);
        assertEquals(write(new InMemoryObjectStore(), all), updated, "update and a fresh write disagree");
    }

    @Test
    void update_whenOneEntryIsAddedOrRemoved_writesAtMostThreeNodesAndMatchesAFreshWrite() {
        TreeEntry added = TreeEntry.builder("new-name", EntryKind.DIRECTORY)
                .tree(id("x"), 0, 0)
                .build();
        SortedMap<byte[], TreeEntry> add = Directories.changes();
        add.put(added.name(), added);
        CountingWriter w = new CountingWriter(bigStore.newWriter());
        TreeRef withAdded = Directories.update(w, bigRef, add);
        assertTrue(w.puts <= 3 && w.bytes < 64 * 1024, w.puts + " puts, " + w.bytes + " bytes");
        assertEquals(new TreeRef(withAdded.id(), BIG + 1, BIG / 10 + 1), withAdded);

        SortedMap<byte[], TreeEntry> remove = Directories.changes();
        remove.put(added.name(), null);
        remove.put(entry(10, 0).name(), null); // a directory
        CountingWriter w2 = new CountingWriter(bigStore.newWriter());
        TreeRef removed = Directories.update(w2, withAdded, remove);
        assertTrue(w2.puts <= 6, "two names changed: " + w2.puts);
        List<TreeEntry> expected = new ArrayList<>(bigEntries);
        expected.remove(10);
        assertEquals(write(new InMemoryObjectStore(), expected), removed);
        assertEquals(BIG / 10 - 1, removed.subdirs());
    }

    @Test
    void update_whenNothingChanges_returnsTheBaseAndWritesNothing() {
        CountingWriter w = new CountingWriter(bigStore.newWriter());
        assertSame(bigRef, Directories.update(w, bigRef, Directories.changes()));
        assertEquals(0, w.puts);
    }

    @Test
    void update_whenBaseIsNull_startsFromAnEmptyDirectory() {
        InMemoryObjectStore store = new InMemoryObjectStore();
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        for (TreeEntry e : entries(300)) {
            changes.put(e.name(), e);
        }
        assertEquals(write(store, entries(300)), update(store, null, changes));
        assertEquals(write(store, List.of()), update(store, null, Directories.changes()));
    }

    @Test
    void update_whenChangeKeyNamesAnotherEntry_throwsIllegalArgument() {
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        changes.put(utf8("a"), entry(1, 0));
        assertThrows(IllegalArgumentException.class, () -> update(new InMemoryObjectStore(), null, changes));
    }

    @Test
    void update_whenDeletingDownTo256Entries_collapsesIntoOneLeafEqualToAFreshWrite() {
        InMemoryObjectStore store = new InMemoryObjectStore();
        List<TreeEntry> live = new ArrayList<>(entries(2000));
        TreeRef ref = write(store, live);
        Random r = new Random(3);
        while (live.size() > TreeNode.MAX_LEAF) {
            SortedMap<byte[], TreeEntry> changes = Directories.changes();
            int batch = Math.min(live.size() - TreeNode.MAX_LEAF, 1 + r.nextInt(150));
            for (int k = 0; k < batch; k++) {
                changes.put(live.remove(r.nextInt(live.size())).name(), null);
            }
            ref = update(store, ref, changes);
            assertEquals(write(new InMemoryObjectStore(), live), ref, "at " + live.size() + " entries");
            boolean leaf = TreeCodec.decodeNode(store.get(ref.id())).isLeaf();
            assertEquals(live.size() <= TreeNode.MAX_LEAF, leaf, "leaf at " + live.size() + " entries");
        }
        assertEquals(TreeNode.MAX_LEAF, ref.entries());
        // one more name splits it again
        SortedMap<byte[], TreeEntry> grow = Directories.changes();
        TreeEntry extra = entry(5000, 0);
        grow.put(extra.name(), extra);
        TreeRef grown = update(store, ref, grow);
        assertFalse(TreeCodec.decodeNode(store.get(grown.id())).isLeaf());
        live.add(extra);
        assertEquals(write(new InMemoryObjectStore(), live), grown);
    }

    @Test
    void update_whenHundredThousandShrinkTo256InOneStep_givesOneLeafEqualToAFreshWrite() {
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        List<TreeEntry> kept = new ArrayList<>();
        for (int i = 0; i < BIG; i++) {
            if (i % 390 == 0 && kept.size() < TreeNode.MAX_LEAF) {
                kept.add(bigEntries.get(i));
            } else {
                changes.put(bigEntries.get(i).name(), null);
            }
        }
        assertEquals(TreeNode.MAX_LEAF, kept.size());
        TreeRef shrunk = update(bigStore, bigRef, changes);
        TreeRef fresh = write(new InMemoryObjectStore(), kept);
        assertEquals(fresh, shrunk);
        assertTrue(TreeCodec.decodeNode(bigStore.get(shrunk.id())).isLeaf());
    }

    @Test
    void update_whenEverythingIsDeleted_givesTheEmptyDirectory() {
        InMemoryObjectStore store = new InMemoryObjectStore();
        List<TreeEntry> all = entries(1000);
        TreeRef ref = write(store, all);
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        all.forEach(e -> changes.put(e.name(), null));
        changes.put(utf8("never-there"), null);
        TreeRef empty = update(store, ref, changes);
        assertEquals(write(store, List.of()), empty);
        assertEquals(0, empty.entries());
    }

    /**
     * Model-based: random batches of inserts, replacements and deletes (including mass deletes that
     * cross the 256-entry leaf limit at depth 0 and 1) must always give the tree a fresh write of the
     * same set gives.
     */
    @ParameterizedTest
    @ValueSource(longs = {11, 12})
    void update_randomSequences_alwaysGiveTheIdOfAFreshWrite(long seed) {
        Random r = new Random(seed);
        InMemoryObjectStore store = new InMemoryObjectStore();
        TreeMap<byte[], TreeEntry> model = new TreeMap<>(Directories.NAME_ORDER);
        TreeRef ref = null;
        int universe = 20_000;
        int largest = 0;
        boolean collapsed = false;
        for (int step = 0; step < 50; step++) {
            SortedMap<byte[], TreeEntry> changes = Directories.changes();
            int op = r.nextInt(10);
            if (op < 4) { // insert or replace a batch
                int n = 1 + r.nextInt(r.nextBoolean() ? 20 : 7000);
                for (int k = 0; k < n; k++) {
                    TreeEntry e = entry(r.nextInt(universe), r.nextInt(3));
                    changes.put(e.name(), e);
                }
            } else if (op < 7) { // delete a batch, some names absent
                int n = 1 + r.nextInt(r.nextBoolean() ? 20 : 2000);
                for (int k = 0; k < n; k++) {
                    changes.put(entry(r.nextInt(universe), 0).name(), null);
                }
            } else if (op < 9) { // shrink to a size near the leaf limit
                int[] targets = {0, 1, 255, 256, 257, 300, 8000};
                int target = targets[r.nextInt(targets.length)];
                List<byte[]> names = new ArrayList<>(model.keySet());
                Collections.shuffle(names, r);
                for (int k = 0; k < names.size() - target; k++) {
                    changes.put(names.get(k), null);
                }
            } else { // one change
                TreeEntry e = entry(r.nextInt(universe), 2);
                changes.put(e.name(), r.nextBoolean() ? e : null);
            }
            for (var c : changes.entrySet()) {
                if (c.getValue() == null) {
                    model.remove(c.getKey());
                } else {
                    model.put(c.getKey(), c.getValue());
                }
            }
            ref = update(store, ref, changes);
            TreeRef fresh = write(new InMemoryObjectStore(), new ArrayList<>(model.values()));
            assertEquals(fresh, ref, "seed " + seed + ", step " + step + ", " + model.size() + " entries");
            assertEquals(subdirs(model.values()), ref.subdirs());
            collapsed |= largest > TreeNode.MAX_LEAF && model.size() <= TreeNode.MAX_LEAF;
            largest = Math.max(largest, model.size());
        }
        // the sequence reached leaves at depth 2 (a depth-1 bucket over 256 names) and shrank back
        assertTrue(largest > TreeNode.FANOUT * TreeNode.MAX_LEAF, "largest: " + largest);
        assertTrue(collapsed, "never shrank back into one leaf");
    }

    @Test
    void find_whenAnInternalNodeClaimsAnotherDepth_isMalformed() {
        InMemoryObjectStore store = new InMemoryObjectStore();
        TreeRef ref = write(store, entries(1000));
        TreeNode top = TreeCodec.decodeNode(store.get(ref.id()));
        // the same children under a node that says depth 1: every lookup must refuse it
        ObjectId lying;
        try (ObjectWriter w = store.newWriter()) {
            lying = w.put(TreeCodec.encodeInternal(1, top.children));
        }
        assertNotEquals(ref.id(), lying);
        assertThrows(
                MalformedObjectException.class,
                () -> Directories.find(store, lying, entry(3, 0).name()));
        assertThrows(MalformedObjectException.class, () -> Directories.list(store, lying));
    }
}
