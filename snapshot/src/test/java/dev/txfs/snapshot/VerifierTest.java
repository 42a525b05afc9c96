package dev.txfs.snapshot;

import static dev.txfs.snapshot.SampleObjects.random;
import static dev.txfs.snapshot.SampleObjects.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * verify on a small snapshot holding every kind of reference: inline, one-chunk and multi-chunk
 * files, nested directories, a hard-link group, a symlink and a fifo.
 *
 * <pre>
 * /a.txt            inline
 * /one.bin          one chunk            (the same chunk as /dir/sub/copy.bin)
 * /big2.bin         blob                 (the same blob as /dir/big.bin)
 * /h1               hard link            (group key /dir/h2)
 * /pipe             fifo
 * /dir/big.bin      blob of several chunks
 * /dir/h2           hard link
 * /dir/sub/copy.bin one chunk
 * /dir/sub/up       symlink
 * /dir/sub/part.bin blob sharing its first chunks with /dir/big.bin
 * </pre>
 */
final class VerifierTest {
    private static final LongSupplier CLOCK = () -> 1_700_000_000_000_000_000L;
    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private Content one;
    private Content big;
    private Content part;
    private Content linked;
    private TreeRef sub;
    private TreeRef dir;
    private ObjectId snapshot;
    private String at;

    static TreeEntry file(String name, Content c) {
        return TreeEntry.builder(name, EntryKind.FILE).mode(0644).content(c).build();
    }

    static TreeEntry directory(String name, TreeRef tree) {
        return TreeEntry.builder(name, EntryKind.DIRECTORY)
                .mode(0755)
                .tree(tree)
                .build();
    }

    @BeforeEach
    void recordSnapshot() {
        byte[] bigData = random(2, 700_000);
        byte[] partData = java.util.Arrays.copyOf(bigData, 400_000);
        ObjectId root;
        try (ObjectWriter w = store.newWriter()) {
            one = FileContents.write(w, random(1, 1000));
            big = FileContents.write(w, bigData);
            part = FileContents.write(w, partData);
            linked = FileContents.write(w, random(3, 5000));
            byte[] key = utf8("/dir/h2");
            sub = Directories.write(
                    w,
                    List.of(
                            file("copy.bin", one),
                            file("part.bin", part),
                            TreeEntry.builder("up", EntryKind.SYMLINK)
                                    .symlinkTarget(utf8("../.."))
                                    .build()));
            dir = Directories.write(
                    w, List.of(directory("sub", sub), file("big.bin", big), HardLinks.link(utf8("h2"), key)));
            TreeRef top = Directories.write(
                    w,
                    List.of(
                            file("a.txt", Content.inline(utf8("hi\n"))),
                            file("one.bin", one),
                            file("big2.bin", big),
                            directory("dir", dir),
                            HardLinks.link(utf8("h1"), key),
                            TreeEntry.builder("pipe", EntryKind.FIFO).build()));
            TreeEntry rootDir = directory("", top);
            TreeEntry record = HardLinks.record(file("x", linked), List.of(utf8("/h1"), key));
            root = HardLinks.writeRoot(w, rootDir, List.of(record));
        }
        snapshot = Snapshots.record(store, Snapshots.HEAD, root, "tester", "first", CLOCK);
        at = snapshot.shortHex() + ":";
        assertTrue(big.isBlob() && part.isBlob() && !one.isBlob() && !linked.isBlob(), "fixture");
    }

    private Verifier.Report verify() {
        return Verifier.verify(store, n -> {});
    }

    private Verifier.Problem onlyProblem(Verifier.Report report) {
        assertEquals(1, report.problems().size(), report.problems().toString());
        return report.problems().get(0);
    }

    private List<Blob.ChunkRef> chunks(Content c) {
        return FileContents.chunks(store, c);
    }

    /** Same length, other bytes: the object's hash no longer matches. */
    private void damage(ObjectId id) {
        byte[] raw = store.get(id);
        raw[raw.length - 1] ^= 0x5a;
        store.corrupt(id, raw);
    }

    @Test
    void verify_whenStoreIsHealthy_isCleanAndChecksEveryReachableObjectOnce() {
        Verifier.Report report = verify();
        assertTrue(report.clean(), report.problems().toString());
        // the fixture stores nothing unreachable
        assertEquals(store.stats().objects(), report.objectsChecked());
        assertEquals(store.stats().bytesUsed(), report.bytesChecked());
    }

    @Test
    void verify_whenASecondSnapshotSharesTheTree_checksOnlyTheNewSnapshotObject() {
        long before = verify().objectsChecked();
        Snapshot first = Snapshots.load(store, snapshot);
        Snapshots.record(store, Snapshots.HEAD, first.root(), "tester", "second", () -> 2L);
        store.refs().compareAndSet("tags/v1", null, snapshot);
        Verifier.Report report = verify();
        assertTrue(report.clean(), report.problems().toString());
        assertEquals(before + 1, report.objectsChecked());
    }

    @Test
    void verify_whenAChunkIsCorrupt_reportsOneCorruptProblemNamingTheChunkAndTheFile() {
        ObjectId last = chunks(part).get(chunks(part).size() - 1).id(); // only part.bin has it
        damage(last);
        Verifier.Problem p = onlyProblem(verify());
        assertEquals("corrupt", p.kind());
        assertEquals(last, p.id());
        assertTrue(p.detail().contains("expected=" + last.toHex()), p.detail());
        assertEquals(List.of(at + "/dir/sub/part.bin"), p.paths());
        assertTrue(p.toString().contains(last.toHex()), p.toString());
    }

    /**
     * A later snapshot that changed another file shares /dir with the first. The damaged chunk
     * below /dir must be named in both snapshots, though verify walks a sound subtree only once.
     */
    @Test
    void verify_whenTwoSnapshotsShareTheDamagedSubtree_namesThePathInEachSnapshot() {
        ObjectId root2;
        try (ObjectWriter w = store.newWriter()) {
            TreeRef top = Directories.write(
                    w, List.of(file("a.txt", Content.inline(utf8("changed\n"))), directory("dir", dir)));
            root2 = HardLinks.writeRoot(w, directory("", top), List.of());
        }
        ObjectId second = Snapshots.record(store, Snapshots.HEAD, root2, "tester", "second", () -> 2L);
        ObjectId last = chunks(part).get(chunks(part).size() - 1).id();
        damage(last);

        Verifier.Problem p = onlyProblem(verify());

        assertEquals(last, p.id());
        assertEquals(
                List.of(at + "/dir/sub/part.bin", second.shortHex() + ":/dir/sub/part.bin").stream()
                        .sorted()
                        .toList(),
                p.paths().stream().sorted().toList());
        assertTrue(p.toString().contains(second.shortHex() + ":/dir/sub/part.bin"), p.toString());
    }

    @Test
    void verify_whenManySnapshotsShareTheDamagedTree_namesTenAndCountsTheRest() {
        ObjectId root = Snapshots.load(store, snapshot).root();
        for (int i = 2; i <= 12; i++) {
            long t = i;
            Snapshots.record(store, Snapshots.HEAD, root, "tester", "again " + i, () -> t);
        }
        damage(part.id());

        Verifier.Problem p = onlyProblem(verify());

        assertEquals(Verifier.MAX_PATHS, p.paths().size(), p.paths().toString());
        assertEquals(2, p.morePaths());
        assertTrue(p.toString().endsWith(" and 2 more"), p.toString());
        Verifier.Report healthy = Verifier.verify(new InMemoryObjectStore(), n -> {});
        assertTrue(healthy.clean());
    }

    @Test
    void verify_whenATreeNodeIsMissing_reportsItMissingWithTheDirectoryPath() {
        store.remove(sub.id());
        Verifier.Problem p = onlyProblem(verify());
        assertEquals("missing", p.kind());
        assertEquals(sub.id(), p.id());
        assertEquals(List.of(at + "/dir/sub/"), p.paths());
    }

    @Test
    void verify_whenAChunkSharedByTwoFilesIsCorrupt_listsBothPaths() {
        damage(one.id());
        Verifier.Problem p = onlyProblem(verify());
        assertEquals(one.id(), p.id());
        assertEquals(
                List.of(at + "/dir/sub/copy.bin", at + "/one.bin").stream()
                        .sorted()
                        .toList(),
                p.paths().stream().sorted().toList());
    }

    @Test
    void verify_whenAChunkSharedByTwoDifferentBlobsIsCorrupt_listsEveryFileUsingIt() {
        ObjectId first = chunks(big).get(0).id();
        assertEquals(first, chunks(part).get(0).id(), "fixture: part.bin starts like big.bin");
        damage(first);
        Verifier.Problem p = onlyProblem(verify());
        assertTrue(p.paths().contains(at + "/dir/sub/part.bin"), p.paths().toString());
        assertTrue(
                p.paths().contains(at + "/dir/big.bin") || p.paths().contains(at + "/big2.bin"),
                p.paths().toString());
    }

    /**
     * Two identical files share their blob; verify walks a sound blob once, so a damaged chunk
     * inside it must still be reported with both files' paths.
     */
    @Test
    void verify_whenAChunkOfTwoIdenticalFilesIsCorrupt_listsBothFiles() {
        ObjectId last = chunks(big).get(chunks(big).size() - 1).id();
        damage(last);
        Verifier.Problem p = onlyProblem(verify());
        assertTrue(p.paths().contains(at + "/dir/big.bin"), p.paths().toString());
        assertTrue(p.paths().contains(at + "/big2.bin"), p.paths().toString());
    }

    /** A hard-linked file's chunk is used by every name of the group, named like any other path. */
    @Test
    void verify_whenAHardLinkedFilesChunkIsCorrupt_namesEveryLinkWithItsSnapshot() {
        damage(linked.id());
        Verifier.Problem p = onlyProblem(verify());
        assertEquals(linked.id(), p.id());
        assertTrue(p.paths().contains(at + "/dir/h2"), p.paths().toString());
        assertTrue(p.paths().contains(at + "/h1"), p.paths().toString());
    }

    @Test
    void verify_whenTheBlobIsCorrupt_reportsTheBlobNotItsChunks() {
        damage(part.id());
        Verifier.Problem p = onlyProblem(verify());
        assertEquals("corrupt", p.kind());
        assertEquals(part.id(), p.id());
        assertEquals(List.of(at + "/dir/sub/part.bin"), p.paths());
    }

    @Test
    void verify_whenTheSnapshotObjectIsCorrupt_namesTheRef() {
        damage(snapshot);
        Verifier.Problem p = onlyProblem(verify());
        assertEquals(snapshot, p.id());
        assertEquals("corrupt", p.kind());
        assertEquals(List.of("ref HEAD"), p.paths());
    }

    @Test
    void verify_whenADirectoryEntryPointsAtAChunk_reportsItMalformed() {
        InMemoryObjectStore other = new InMemoryObjectStore();
        ObjectId chunk;
        ObjectId root;
        try (ObjectWriter w = other.newWriter()) {
            chunk = w.put(Chunks.encode(random(4, 100), 0, 100));
            TreeRef top = Directories.write(w, List.of(directory("odd", new TreeRef(chunk, 0, 0))));
            root = HardLinks.writeRoot(w, directory("", top), List.of());
        }
        ObjectId snap = Snapshots.record(other, "HEAD", root, "t", "m", CLOCK);
        Verifier.Problem p = onlyProblem(Verifier.verify(other, n -> {}));
        assertEquals("malformed", p.kind());
        assertEquals(chunk, p.id());
        assertEquals(List.of(snap.shortHex() + ":/odd/"), p.paths());
    }

    /**
     * A node that hashes correctly but says the wrong depth makes every lookup in the directory
     * fail (Directories.find checks depths); verify must not call such a tree clean.
     */
    @Test
    void verify_whenAnInternalTreeNodeClaimsTheWrongDepth_reportsItMalformed() {
        InMemoryObjectStore other = new InMemoryObjectStore();
        List<TreeEntry> many = new java.util.ArrayList<>();
        for (int i = 0; i < 600; i++) {
            many.add(TreeEntry.builder("f" + i, EntryKind.FIFO).build());
        }
        ObjectId lying;
        ObjectId root;
        try (ObjectWriter w = other.newWriter()) {
            TreeRef big = Directories.write(w, many);
            TreeNode top = TreeCodec.decodeNode(other.get(big.id()));
            lying = w.put(TreeCodec.encodeInternal(1, top.children));
            TreeRef dirRef = new TreeRef(lying, big.entries(), big.subdirs());
            TreeRef topRef = Directories.write(w, List.of(directory("d", dirRef)));
            root = HardLinks.writeRoot(w, directory("", topRef), List.of());
        }
        ObjectId snap = Snapshots.record(other, "HEAD", root, "t", "m", CLOCK);
        assertThrows(MalformedObjectException.class, () -> Directories.find(other, lying, SampleObjects.utf8("f1")));
        Verifier.Problem p = onlyProblem(Verifier.verify(other, n -> {}));
        assertEquals("malformed", p.kind());
        assertEquals(lying, p.id());
        assertEquals(List.of(snap.shortHex() + ":/d/"), p.paths());
    }

    @Test
    void verify_whenAChunkIsShorterThanTheBlobSays_reportsItMalformed() {
        InMemoryObjectStore other = new InMemoryObjectStore();
        ObjectId shortChunk;
        ObjectId root;
        try (ObjectWriter w = other.newWriter()) {
            shortChunk = w.put(Chunks.encode(new byte[10], 0, 10));
            ObjectId fine = w.put(Chunks.encode(random(5, 20_000), 0, 20_000));
            Blob lying =
                    new Blob(40_000, List.of(new Blob.ChunkRef(fine, 20_000), new Blob.ChunkRef(shortChunk, 20_000)));
            ObjectId blob = w.put(lying.encode());
            TreeRef top = Directories.write(w, List.of(file("f", Content.blob(blob, 40_000))));
            root = HardLinks.writeRoot(w, directory("", top), List.of());
        }
        ObjectId snap = Snapshots.record(other, "HEAD", root, "t", "m", CLOCK);
        Verifier.Problem p = onlyProblem(Verifier.verify(other, n -> {}));
        assertEquals("malformed", p.kind());
        assertEquals(shortChunk, p.id());
        assertTrue(p.detail().contains("expected 20000"), p.detail());
        assertEquals(List.of(snap.shortHex() + ":/f"), p.paths());
    }

    @Test
    void verifySnapshot_checksOnlyThatSnapshotsHistory() {
        InMemoryObjectStore other = new InMemoryObjectStore();
        ObjectId root;
        try (ObjectWriter w = other.newWriter()) {
            root = HardLinks.writeRoot(w, directory("", Directories.write(w, List.of())), List.of());
        }
        ObjectId a = Snapshots.record(other, "HEAD", root, "t", "a", CLOCK);
        ObjectId b = Snapshots.record(other, "HEAD", root, "t", "b", CLOCK);
        Verifier.Report report = Verifier.verifySnapshot(other, b, n -> {});
        assertTrue(report.clean());
        assertEquals(4, report.objectsChecked(), "b, a, the root and its empty tree");
        other.remove(a);
        Verifier.Problem p = onlyProblem(Verifier.verifySnapshot(other, b, n -> {}));
        assertEquals(a, p.id());
        assertEquals("missing", p.kind());
        assertFalse(p.paths().isEmpty());
    }
}
