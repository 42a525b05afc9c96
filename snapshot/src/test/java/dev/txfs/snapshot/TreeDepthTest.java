package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableTree.RenameMode;
import dev.txfs.snapshot.TreeExceptions.TooDeepException;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, finding 6: a deep directory chain made every flush throw StackOverflowError. No name
 * may sit deeper than {@link TreeLimits#MAX_DEPTH}, and every walk works on a tree at that depth on
 * a thread's default stack (the FUSE reader threads, the syncer and the CLI's main thread all have
 * one).
 */
class TreeDepthTest {
    private static final long T = 1_700_000_000_000_000_000L;
    private static final byte[] D = "d".getBytes(UTF_8);

    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private final MutableTree tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);

    /** A chain of {@code levels} directories named "d" under {@code top}; returns the deepest. */
    private Dir chain(Dir top, int levels) throws Exception {
        Dir d = top;
        for (int i = 0; i < levels; i++) {
            d = tree.mkdir(d, D, 0755, 0, 0);
        }
        return d;
    }

    /** Runs {@code work} on a new thread with the JVM's default stack size, as the daemon's threads are. */
    static <T> T onDefaultStack(Callable<T> work) throws Exception {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                result.set(work.call());
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        if (failure.get() != null) {
            throw new AssertionError("failed on a default stack", failure.get());
        }
        return result.get();
    }

    @Test
    void mkdir_pastTheDepthLimit_isRefusedAndChangesNothing() throws Exception {
        Dir deepest = chain(tree.root(), TreeLimits.MAX_DEPTH - 1);
        tree.createFile(deepest, "last-file".getBytes(UTF_8), 0644, 0, 0); // depth MAX_DEPTH: allowed
        Dir last = tree.mkdir(deepest, D, 0755, 0, 0); // depth MAX_DEPTH: allowed
        ObjectId before = tree.flush();

        assertThrows(TooDeepException.class, () -> tree.mkdir(last, D, 0755, 0, 0));
        assertThrows(TooDeepException.class, () -> tree.createFile(last, D, 0644, 0, 0));
        assertThrows(TooDeepException.class, () -> tree.symlink(last, D, "x".getBytes(UTF_8), 0, 0));
        assertThrows(TooDeepException.class, () -> tree.mknod(last, D, EntryKind.FIFO, 0644, 0, 0, 0));
        MutableNode file = tree.get("/d/" + "d/".repeat(TreeLimits.MAX_DEPTH - 2) + "last-file");
        assertThrows(TooDeepException.class, () -> tree.link(file, last, D));

        assertEquals(before, tree.flush(), "a refused create changes nothing");
        assertEquals(0, last.entryCount());
    }

    @Test
    void rename_whenTheMovedSubtreeWouldPassTheLimit_isRefusedAndChangesNothing() throws Exception {
        Dir deep = chain(tree.root(), TreeLimits.MAX_DEPTH - 10);
        Dir moved = tree.mkdir(tree.root(), "moved".getBytes(UTF_8), 0755, 0, 0);
        Dir movedBottom = chain(moved, 9); // names in moved reach 10 levels below the root
        tree.createFile(movedBottom, "f".getBytes(UTF_8), 0644, 0, 0); // 11 levels
        tree.createFile(deep, "x".getBytes(UTF_8), 0644, 0, 0);
        ObjectId before = tree.flush();
        // Reopened, so the height is read from the store, not from loaded nodes.
        MutableTree reopened = new MutableTree(store, before, () -> T);
        Dir deepAgain = (Dir) reopened.get("/" + "d/".repeat(TreeLimits.MAX_DEPTH - 10));
        for (MutableTree t : List.of(tree, reopened)) {
            Dir dst = t == tree ? deep : deepAgain;
            assertThrows(
                    TooDeepException.class,
                    () -> t.rename(t.root(), "moved".getBytes(UTF_8), dst, "m".getBytes(UTF_8), RenameMode.REPLACE));
            assertThrows(
                    TooDeepException.class,
                    () -> t.rename(dst, "x".getBytes(UTF_8), t.root(), "moved".getBytes(UTF_8), RenameMode.EXCHANGE));
            assertEquals(before, t.flush(), "a refused rename changes nothing");
        }
        // One level less fits exactly: the file lands at MAX_DEPTH.
        tree.rename(tree.root(), "moved".getBytes(UTF_8), deep.parent(), "m".getBytes(UTF_8), RenameMode.REPLACE);
        assertTrue(tree.find("/" + "d/".repeat(TreeLimits.MAX_DEPTH - 11) + "m/" + "d/".repeat(9) + "f")
                .isPresent());
        // Moving it back up never needs the walk, and is allowed.
        tree.rename(deep.parent(), "m".getBytes(UTF_8), tree.root(), "back".getBytes(UTF_8), RenameMode.REPLACE);
        tree.flush();
    }

    /** A tree with a chain at exactly the limit, a file at the bottom, flushed and snapshotted under HEAD. */
    private ObjectId snapshotAtTheLimit() throws Exception {
        Dir deepest = chain(tree.root(), TreeLimits.MAX_DEPTH - 1);
        tree.createFile(deepest, "f".getBytes(UTF_8), 0644, 0, 0);
        ObjectId root = onDefaultStack(tree::flush);
        return Snapshots.record(store, Snapshots.HEAD, root, "t", "deep", () -> T);
    }

    @Test
    void flush_ofAChainAtTheLimit_worksOnADefaultStack() throws Exception {
        ObjectId snap = snapshotAtTheLimit();
        // A change at the bottom rewrites every directory above it.
        tree.createFile((Dir) tree.get("/" + "d/".repeat(TreeLimits.MAX_DEPTH - 1)), "g".getBytes(UTF_8), 0644, 0, 0);
        ObjectId root = onDefaultStack(tree::flush);
        MutableTree reopened = new MutableTree(store, root, () -> T);
        assertTrue(
                reopened.find("/" + "d/".repeat(TreeLimits.MAX_DEPTH - 1) + "g").isPresent());
        assertTrue(reopened.pathOf(reopened.get("/" + "d/".repeat(TreeLimits.MAX_DEPTH - 1) + "f"))
                .orElseThrow()
                .endsWith("/d/f"));
        assertTrue(Snapshots.load(store, snap).root() != null);
    }

    @Test
    void verifyGcAndDu_ofASnapshotAtTheLimit_workOnADefaultStack() throws Exception {
        snapshotAtTheLimit();
        Verifier.Report v = onDefaultStack(() -> Verifier.verify(store, n -> {}));
        assertTrue(v.clean(), v.problems().toString());
        assertTrue(v.objectsChecked() > TreeLimits.MAX_DEPTH);
        GarbageCollector.Report gc = onDefaultStack(
                () -> GarbageCollector.collect(store, GarbageCollector.Policy.KEEP_ALL_HISTORY, List.of(), T));
        assertEquals(1, gc.snapshotsKept());
        SpaceUsage.Report du = onDefaultStack(() -> SpaceUsage.measure(store));
        assertEquals(1, du.snapshots().size());
        assertTrue(du.snapshots().get(0).exclusiveBytes() > 0);
    }

    /**
     * A store written before the limit may hold a tree deeper than any thread's stack (the finding
     * made 20,000 levels; 10,000 here): verify, gc and du still walk it. verify recursed once per
     * level before and overflowed.
     */
    @Test
    void verifyGcAndDu_ofATreeWrittenDeeperThanTheLimit_workOnADefaultStack() throws Exception {
        ObjectId root;
        try (ObjectWriter w = store.newWriter()) {
            TreeRef below = Directories.write(
                    w,
                    List.of(TreeEntry.builder("f".getBytes(UTF_8), EntryKind.FILE)
                            .mode(0644)
                            .content(Content.EMPTY)
                            .build()));
            for (int i = 0; i < 10_000; i++) {
                below = Directories.write(
                        w,
                        List.of(TreeEntry.builder(D, EntryKind.DIRECTORY)
                                .mode(0755)
                                .tree(below)
                                .build()));
            }
            root = HardLinks.writeRoot(
                    w,
                    TreeEntry.builder(new byte[0], EntryKind.DIRECTORY)
                            .mode(0755)
                            .tree(below)
                            .build(),
                    List.of());
            w.flush();
        }
        Snapshots.record(store, Snapshots.HEAD, root, "t", "deeper than the limit", () -> T);
        Verifier.Report v = onDefaultStack(() -> Verifier.verify(store, n -> {}));
        assertTrue(v.clean(), v.problems().toString());
        assertTrue(v.objectsChecked() > 10_000);
        assertEquals(
                1,
                onDefaultStack(() ->
                                GarbageCollector.collect(store, GarbageCollector.Policy.KEEP_ALL_HISTORY, List.of(), T))
                        .snapshotsKept());
        assertEquals(
                1, onDefaultStack(() -> SpaceUsage.measure(store)).snapshots().size());
    }
}
