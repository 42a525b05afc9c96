package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.txfs.snapshot.MutableNode.File;
import dev.txfs.snapshot.ObjectStore.StoreFullException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, finding 6: a flush that failed (a full store) dropped what the writer had staged while
 * the tree had moved on to it, so the retried sync wrote a root whose trees and file contents were
 * never written. Now the writer keeps them, and the next flush lets go of what the tree no longer
 * reaches, so deleting the file that filled the store makes room again.
 */
class MutableTreeStoreFullTest {
    private static final long T = 1_700_000_000_000_000_000L;

    @TempDir
    Path tmp;

    @Test
    void flush_afterAFailedFlush_keepsWhatTheTreeReachesAndDropsWhatItDoesNot() throws Exception {
        try (LmdbObjectStore store = LmdbObjectStore.create(tmp.resolve("store"), 8 << 20)) {
            MutableTree tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);
            Random rnd = new Random(3);
            byte[] keptData = new byte[3 << 20];
            rnd.nextBytes(keptData);
            File kept = tree.createFile(tree.root(), "kept".getBytes(UTF_8), 0644, 0, 0);
            tree.write(kept, 0, keptData, 0, keptData.length);
            byte[] bigData = new byte[6 << 20];
            rnd.nextBytes(bigData);
            File big = tree.createFile(tree.root(), "big".getBytes(UTF_8), 0644, 0, 0);
            tree.write(big, 0, bigData, 0, bigData.length);

            assertThrows(StoreFullException.class, tree::flush);
            tree.unlink(tree.root(), "big".getBytes(UTF_8));
            ObjectId root = tree.flush();

            MutableTree reopened = new MutableTree(store, root, () -> T);
            File back = (File) reopened.get("/kept");
            byte[] got = new byte[keptData.length];
            assertEquals(got.length, reopened.read(back, 0, got, 0, got.length));
            assertArrayEquals(keptData, got, "written before the failed flush, durable after the next");
            Snapshots.record(store, Snapshots.HEAD, root, "t", "after a full store", () -> T);
            Verifier.Report v = Verifier.verify(store, n -> {});
            assertEquals(List.of(), v.problems());
        }
    }
}
