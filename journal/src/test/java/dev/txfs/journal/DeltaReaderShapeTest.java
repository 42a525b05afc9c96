package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.journal.DeltaReader.DeltaException;
import dev.txfs.journal.DeltaReader.Problem;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeLimits;
import dev.txfs.snapshot.TreeNode;
import dev.txfs.snapshot.TreeRef;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * {@link DeltaReader} refuses trees whose shape no txfs writes (issue 14, finding 11): an entry in
 * a trie bucket its name does not hash to (which is how one name gets into a directory twice),
 * wrong child counts, and a directory deeper than {@link TreeLimits#MAX_DEPTH}. Each stream is
 * otherwise perfect (every object hashes to its id, every name is safe); before these checks they
 * all imported.
 */
final class DeltaReaderShapeTest {
    private final InMemoryObjectStore source = new InMemoryObjectStore();

    /** Imports {@code stream} into {@code target} as HEAD; asserts the problem, one line, and no change. */
    private static DeltaException rejected(ObjectStore target, byte[] stream, Problem problem) {
        DeltaFixture.State before = DeltaFixture.state(target);
        DeltaException e = assertThrows(
                DeltaException.class, () -> DeltaReader.check(DeltaReader.Source.of(stream), target, List.of())
                        .apply(target, "HEAD", target.refs().find("HEAD").orElse(null)));
        assertEquals(problem, e.problem(), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), "one line");
        assertEquals(before, DeltaFixture.state(target), "the store is unchanged");
        return e;
    }

    private static void imports(ObjectStore target, byte[] stream) throws Exception {
        DeltaReader.Checked c = DeltaReader.check(DeltaReader.Source.of(stream), target, List.of());
        c.apply(target, "HEAD", target.refs().find("HEAD").orElse(null));
        assertEquals(c.to(), target.refs().find("HEAD").orElseThrow());
    }

    @Test
    void import_wellShapedLargeDirectory_imports() throws Exception {
        ObjectId snap = snapshot(w -> internal(w, buckets(names(300)), b -> b));
        imports(new InMemoryObjectStore(), DeltaFixture.stream(source, null, snap, null));
    }

    /**
     * Regression: one name in the leaves of two buckets of a 300-entry directory. Each leaf is
     * sorted and duplicate-free, so only the placement rule sees it; checkout used to abort half
     * written on the second copy.
     */
    @Test
    void import_sameNameInTwoBuckets_isMalformed() throws Exception {
        List<List<TreeEntry>> buckets = buckets(names(300));
        int a = firstNonEmpty(buckets, 0);
        int b = firstNonEmpty(buckets, a + 1);
        TreeEntry twice = buckets.get(a).get(0);
        buckets.get(b).add(twice.toBuilder().build());
        ObjectId snap = snapshot(w -> internal(w, buckets, x -> x));
        DeltaException e =
                rejected(new InMemoryObjectStore(), DeltaFixture.stream(source, null, snap, null), Problem.MALFORMED);
        assertTrue(e.getMessage().contains("do not hash to bucket " + b), e.getMessage());
    }

    /** An entry moved to a bucket it does not hash to: a lookup of its name never finds it. */
    @Test
    void import_entryInTheWrongBucket_isMalformed() throws Exception {
        List<List<TreeEntry>> buckets = buckets(names(300));
        int a = firstNonEmpty(buckets, 0);
        int b = firstNonEmpty(buckets, a + 1);
        buckets.get(b).add(buckets.get(a).remove(0));
        ObjectId snap = snapshot(w -> internal(w, buckets, x -> x));
        DeltaException e =
                rejected(new InMemoryObjectStore(), DeltaFixture.stream(source, null, snap, null), Problem.MALFORMED);
        assertTrue(e.getMessage().contains("misplaced tree node"), e.getMessage());
    }

    /** Child counts that disagree with the child: du, link counts and trie collapsing trust them. */
    @Test
    void import_internalNodeWithWrongChildCounts_isMalformed() throws Exception {
        ObjectId snap = snapshot(w -> internal(w, buckets(names(300)), n -> n + 1));
        DeltaException e =
                rejected(new InMemoryObjectStore(), DeltaFixture.stream(source, null, snap, null), Problem.MALFORMED);
        assertTrue(e.getMessage().contains("records"), e.getMessage());
    }

    /**
     * Regression: a leaf of more than {@link TreeNode#MAX_LEAF} entries, which no txfs writes (a
     * larger directory is split). Refused, so that what the check keeps of a node is bounded
     * ({@link TreeShape#MAX_NODE_BYTES}).
     */
    @Test
    void import_leafOfMoreThanMaxLeafEntries_isMalformed() throws Exception {
        List<TreeEntry> sorted = new ArrayList<>(names(TreeNode.MAX_LEAF + 1));
        sorted.sort((x, y) -> Directories.NAME_ORDER.compare(x.name(), y.name()));
        ObjectId snap = snapshot(w -> oversizedLeaf(w, sorted));
        DeltaException e =
                rejected(new InMemoryObjectStore(), DeltaFixture.stream(source, null, snap, null), Problem.MALFORMED);
        assertTrue(e.getMessage().contains("is a leaf of " + (TreeNode.MAX_LEAF + 1) + " entries"), e.getMessage());
    }

    /**
     * Fuzz-style: random large directories (random names and sizes), each written once well shaped
     * (imports) and once with one random defect: an entry moved or copied to another bucket, a
     * child count off by one, or the node's depth byte changed. Every defect is refused as
     * MALFORMED with the store unchanged.
     */
    @Test
    void import_randomTrieDefects_areAllRefusedAndWellShapedTriesImport() throws Exception {
        Random rnd = new Random(Long.getLong("txfs.fuzz.seed", 1));
        for (int round = 0; round < 8; round++) {
            List<TreeEntry> entries = new ArrayList<>();
            Set<String> used = new HashSet<>();
            int n = 257 + rnd.nextInt(400);
            while (entries.size() < n) {
                String name = Long.toString(rnd.nextLong() & Long.MAX_VALUE, 36);
                if (used.add(name)) {
                    entries.add(names(1).get(0).toBuilder()
                            .withName(name.getBytes(UTF_8))
                            .build());
                }
            }
            List<List<TreeEntry>> good = buckets(entries);
            ObjectId ok = snapshot(w -> internal(w, good, c -> c));
            imports(new InMemoryObjectStore(), DeltaFixture.stream(source, null, ok, null));

            List<List<TreeEntry>> bad = buckets(entries);
            int a = firstNonEmpty(bad, rnd.nextInt(16));
            int b = firstNonEmpty(bad, a + 1 + rnd.nextInt(Math.max(1, 31 - a - 15)));
            int defect = rnd.nextInt(4);
            int[] depth = {0};
            Function<Long, Long> count = c -> c;
            switch (defect) {
                case 0 ->
                    bad.get(b).add(bad.get(a).remove(rnd.nextInt(bad.get(a).size())));
                case 1 -> bad.get(b).add(bad.get(a).get(rnd.nextInt(bad.get(a).size())));
                case 2 -> count = c -> c - 1;
                default -> depth[0] = 1 + rnd.nextInt(TreeNode.MAX_DEPTH);
            }
            Function<Long, Long> counts = count;
            ObjectId snap = snapshot(w -> internal(w, bad, counts, depth[0]));
            rejected(new InMemoryObjectStore(), DeltaFixture.stream(source, null, snap, null), Problem.MALFORMED);
        }
    }

    /** The audit's tree: 20,000 nested directories, refused in one line, on the default thread stack. */
    @Test
    void import_20000DeepTree_isTooLarge() throws Exception {
        ObjectId snap = snapshot(w -> chain(w, 20_000));
        DeltaException e =
                rejected(new InMemoryObjectStore(), DeltaFixture.stream(source, null, snap, null), Problem.TOO_LARGE);
        assertTrue(e.getMessage().contains("more than " + TreeLimits.MAX_DEPTH + " directories deep"), e.getMessage());
    }

    @Test
    void import_treeExactlyAtTheDepthLimit_importsAndOneMoreLevelIsTooLarge() throws Exception {
        ObjectId atLimit = snapshot(w -> chain(w, TreeLimits.MAX_DEPTH));
        imports(new InMemoryObjectStore(), DeltaFixture.stream(source, null, atLimit, null));
        ObjectId over = snapshot(w -> chain(w, TreeLimits.MAX_DEPTH + 1));
        rejected(new InMemoryObjectStore(), DeltaFixture.stream(source, null, over, null), Problem.TOO_LARGE);
    }

    /**
     * A delta that places a deep subtree the receiving store already has (and does not send it)
     * under a new chain of directories: only the store's part makes it too deep, so the reader
     * measures store subtrees too.
     */
    @Test
    void import_deltaMovingAStoreSubtreeDeeper_isTooLarge() throws Exception {
        int deep = TreeLimits.MAX_DEPTH - 10;
        TreeRef[] old = new TreeRef[1];
        ObjectId first = snapshot(w -> {
            old[0] = chain(w, deep);
            return old[0];
        });
        ObjectId second = snapshot(w -> {
            TreeRef moved = old[0];
            for (int i = 0; i < 20; i++) {
                moved = Directories.write(w, List.of(dir("m" + i, moved)));
            }
            return Directories.write(w, List.of(dir("d", old[0]), dir("moved", moved)));
        });
        InMemoryObjectStore target = DeltaFixture.copyOf(source, first);
        target.refs().compareAndSet("HEAD", null, first);
        byte[] delta = DeltaFixture.stream(source, first, second, null);
        rejected(target, delta, Problem.TOO_LARGE);
    }

    /**
     * The cost of the checks on a delta of one file added to a 30,000-file tree: the reader reads
     * the store nodes of the unchanged subtrees the new directories name (here the 29,000-entry
     * directory's other trie nodes), not the whole store. Prints the numbers.
     */
    @Test
    void check_deltaOfOneFileInA30000FileTree_readsTheTouchedDirectoriesNodes() throws Exception {
        ObjectId base = DeltaTest.bigTreeSnapshot(source, 30_000);
        ObjectId root = new Editor(source, Snapshot.decode(source.get(base)).root())
                .at(Editor.T0 + 1)
                .write("/flat/added", "new")
                .flush();
        ObjectId next = DeltaFixture.snapshot(source, root, List.of(base), "one more file");
        byte[] delta = DeltaFixture.stream(source, base, next, null);
        InMemoryObjectStore target = DeltaFixture.copyOf(source, base);
        long nodes = DeltaFixture.reachable(source, base).size();
        CountingStore counting = new CountingStore(target);
        long t0 = System.nanoTime();
        DeltaReader.check(DeltaReader.Source.of(delta), counting, List.of());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf(
                "check of a one-file delta to a 30,000-file tree (%d objects): %d store reads, %d ms%n",
                nodes, counting.reads, ms);
        assertTrue(counting.reads < nodes / 4, "reads: " + counting.reads);
    }

    /**
     * Fuzz-style: chains of random depth around the limit, split at a random level between a
     * first snapshot (already in the store) and a delta that moves it under new directories.
     * The delta imports exactly when the whole tree is at most {@link TreeLimits#MAX_DEPTH} deep.
     */
    @Test
    void import_randomDepthsSplitBetweenStoreAndStream_importExactlyWhenWithinTheLimit() throws Exception {
        Random rnd = new Random(Long.getLong("txfs.fuzz.seed", 1));
        for (int round = 0; round < 6; round++) {
            int inStore = 1 + rnd.nextInt(TreeLimits.MAX_DEPTH);
            int above = Math.max(
                    0,
                    rnd.nextInt(2) == 0
                            ? TreeLimits.MAX_DEPTH - inStore - rnd.nextInt(3) // within: at or just below the limit
                            : TreeLimits.MAX_DEPTH - inStore + 1 + rnd.nextInt(3)); // over by 1 to 3
            TreeRef[] old = new TreeRef[1];
            ObjectId first = snapshot(w -> old[0] = chain(w, inStore));
            ObjectId second = snapshot(w -> {
                TreeRef t = old[0];
                for (int i = 0; i < above; i++) {
                    t = Directories.write(w, List.of(dir("up" + i, t)));
                }
                return t;
            });
            InMemoryObjectStore target = DeltaFixture.copyOf(source, first);
            target.refs().compareAndSet("HEAD", null, first);
            byte[] delta = DeltaFixture.stream(source, first, second, null);
            String what = inStore + " levels in the store under " + above + " new ones";
            if (inStore + above <= TreeLimits.MAX_DEPTH) {
                imports(target, delta);
            } else {
                DeltaException e = rejected(target, delta, Problem.TOO_LARGE);
                assertTrue(e.getMessage().contains("directories deep"), what + ": " + e.getMessage());
            }
        }
    }

    /** Nested directories {@code depth} deep: "d" in "d" in ..., the innermost empty. */
    private static TreeRef chain(ObjectWriter w, int depth) {
        TreeRef t = Directories.write(w, List.of());
        for (int i = 1; i < depth; i++) {
            t = Directories.write(w, List.of(dir("d", t)));
        }
        return Directories.write(w, List.of(dir("d", t)));
    }

    private interface RootDir {
        TreeRef write(ObjectWriter w);
    }

    /** A snapshot in {@link #source} whose root directory {@code dir} writes. */
    private ObjectId snapshot(RootDir dir) {
        try (ObjectWriter w = source.newWriter()) {
            ObjectId root = HardLinks.writeRoot(w, dir(dir.write(w)), List.of());
            ObjectId snap = w.put(new Snapshot(root, List.of(), 1, "t", "m").encode());
            w.flush();
            return snap;
        }
    }

    private static List<TreeEntry> names(int n) {
        List<TreeEntry> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(TreeEntry.builder("n" + i, EntryKind.FILE)
                    .mode(0644)
                    .mtime(1)
                    .content(Content.inline(("" + i).getBytes(UTF_8)))
                    .build());
        }
        return out;
    }

    /** The entries split into the 32 buckets of depth 0, as {@code Directories} places them. */
    private static List<List<TreeEntry>> buckets(List<TreeEntry> entries) {
        List<List<TreeEntry>> out = new ArrayList<>();
        for (int i = 0; i < TreeNode.FANOUT; i++) {
            out.add(new ArrayList<>());
        }
        for (TreeEntry e : entries) {
            out.get(TreeNode.bucket(ObjectId.hash(e.name()), 0)).add(e);
        }
        return out;
    }

    private static int firstNonEmpty(List<List<TreeEntry>> buckets, int from) {
        for (int i = from; i < buckets.size(); i++) {
            if (!buckets.get(i).isEmpty()) {
                return i;
            }
        }
        throw new AssertionError("no bucket from " + from);
    }

    /**
     * An internal node of depth 0 over one leaf per non-empty bucket, written byte by byte as
     * {@code TreeCodec} documents it ({@code 03 01 01 depth bitmap:u32le (id entries subdirs)*}),
     * recording {@code count(n)} entries for a leaf of n.
     */
    private static TreeRef internal(ObjectWriter w, List<List<TreeEntry>> buckets, Function<Long, Long> count) {
        return internal(w, buckets, count, 0);
    }

    /** {@link #internal(ObjectWriter, List, Function)} with {@code depth} in its header. */
    private static TreeRef internal(
            ObjectWriter w, List<List<TreeEntry>> buckets, Function<Long, Long> count, int depth) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {3, 1, 1, (byte) depth});
        int bitmap = 0;
        for (int i = 0; i < buckets.size(); i++) {
            bitmap |= buckets.get(i).isEmpty() ? 0 : 1 << i;
        }
        b.writeBytes(new byte[] {(byte) bitmap, (byte) (bitmap >> 8), (byte) (bitmap >> 16), (byte) (bitmap >> 24)});
        long total = 0;
        for (List<TreeEntry> leaf : buckets) {
            if (!leaf.isEmpty()) {
                TreeRef r = Directories.write(w, leaf);
                b.writeBytes(r.id().toBytes());
                varint(b, count.apply(r.entries()));
                varint(b, r.subdirs());
                total += r.entries();
            }
        }
        return new TreeRef(w.put(b.toByteArray()), total, 0);
    }

    /**
     * A leaf of {@code sorted} (sorted by name, unique) whatever their number: the entries of
     * leaves {@code Directories} writes for slices of at most 200, under one leaf header.
     */
    private static TreeRef oversizedLeaf(ObjectWriter w, List<TreeEntry> sorted) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {3, 1, 0});
        varint(b, sorted.size());
        for (int from = 0; from < sorted.size(); from += 200) {
            List<TreeEntry> part = sorted.subList(from, Math.min(sorted.size(), from + 200));
            byte[] leaf = w.find(Directories.write(w, part).id()).orElseThrow();
            int skip = 3 + (part.size() < 0x80 ? 1 : 2);
            b.write(leaf, skip, leaf.length - skip);
        }
        return new TreeRef(w.put(b.toByteArray()), sorted.size(), 0);
    }

    private static void varint(ByteArrayOutputStream b, long v) {
        while (v >= 0x80) {
            b.write((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        b.write((int) v);
    }

    private static TreeEntry dir(String name, TreeRef tree) {
        return TreeEntry.builder(name, EntryKind.DIRECTORY)
                .mode(0755)
                .mtime(1)
                .tree(tree)
                .build();
    }

    private static TreeEntry dir(TreeRef tree) {
        return dir("", tree);
    }
}
