package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.TreeLimits;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, finding 6: diff and merge of trees as deep as {@link TreeLimits#MAX_DEPTH} work on a
 * thread's default stack (the daemon commits on FUSE reader and control threads, the CLI diffs on
 * its main thread). Both walk with explicit stacks; before, the merge overflowed a default stack at
 * this depth.
 */
class DeepTreeTest {
    private static final long T = 1_700_000_000_000_000_000L;
    private static final String BOTTOM = "/" + "d/".repeat(TreeLimits.MAX_DEPTH - 1);

    private final InMemoryObjectStore store = new InMemoryObjectStore();

    private static <T> T onDefaultStack(Callable<T> work) throws Exception {
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

    /** The tree {@code base} with a file {@code name} added at the bottom of its chain. */
    private ObjectId withFile(ObjectId base, String name) throws Exception {
        MutableTree t = new MutableTree(store, base, () -> T);
        t.createFile((Dir) t.get(BOTTOM), name.getBytes(UTF_8), 0644, 0, 0);
        return t.flush();
    }

    @Test
    void diffAndMerge_ofTreesAtTheDepthLimit_workOnADefaultStack() throws Exception {
        MutableTree t = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);
        Dir d = t.root();
        for (int i = 1; i < TreeLimits.MAX_DEPTH; i++) {
            d = t.mkdir(d, "d".getBytes(UTF_8), 0755, 0, 0);
        }
        ObjectId base = t.flush();
        ObjectId ours = withFile(base, "ours");
        ObjectId theirs = withFile(base, "theirs");

        List<Change> diff = onDefaultStack(() -> Diff.between(store, base, ours));
        assertTrue(diff.stream().anyMatch(c -> c.path().equals(BOTTOM + "ours")), diff.toString());

        Merge.Result m = onDefaultStack(() -> {
            try (ObjectWriter w = store.newWriter()) {
                return Merge.threeWay(store, w, base, ours, theirs);
            }
        });
        assertEquals(List.of(), m.conflicts());
        assertNotNull(m.root());
        MutableTree merged = new MutableTree(store, m.root(), () -> T);
        assertTrue(merged.find(BOTTOM + "ours").isPresent());
        assertTrue(merged.find(BOTTOM + "theirs").isPresent());
        assertEquals(
                List.of(BOTTOM + "ours"),
                m.applied().stream()
                        .map(Change::path)
                        .filter(p -> p.endsWith("ours"))
                        .toList());
    }
}
