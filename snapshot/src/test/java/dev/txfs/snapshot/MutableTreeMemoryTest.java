package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.MutableNode.File;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** File data streams into chunks: dirty pages stay bounded whatever is written. */
class MutableTreeMemoryTest {
    private static final long T = 1_700_000_000_000_000_000L;

    @Test
    void write_whenTenFilesGetTwentyMiBEach_dirtyPagesStayUnderTheTreeBudget() throws Exception {
        InMemoryObjectStore store = new InMemoryObjectStore();
        MutableTree tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);
        List<File> files = new ArrayList<>();
        List<ByteArrayOutputStream> expected = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            files.add(tree.createFile(tree.root(), ("f" + i).getBytes(UTF_8), 0644, 0, 0));
            expected.add(new ByteArrayOutputStream());
        }
        Random rnd = new Random(7);
        byte[] buf = new byte[1 << 20];
        long peak = 0;
        for (int mib = 0; mib < 20; mib++) {
            for (int i = 0; i < files.size(); i++) {
                rnd.nextBytes(buf);
                tree.write(files.get(i), (long) mib << 20, buf, 0, buf.length);
                expected.get(i).write(buf);
                peak = Math.max(peak, tree.dirtyBytes());
            }
        }
        assertTrue(peak <= MutableTree.TREE_SPILL_BYTES + (1 << 20), "peak dirty bytes " + peak);
        ObjectId root = tree.flush();
        assertEquals(0, tree.dirtyBytes());
        MutableTree reopened = new MutableTree(store, root, () -> T);
        for (int i = 0; i < files.size(); i++) {
            File f = (File) reopened.get("/f" + i);
            byte[] got = new byte[20 << 20];
            assertEquals(got.length, reopened.read(f, 0, got, 0, got.length));
            assertTrue(java.util.Arrays.equals(expected.get(i).toByteArray(), got), "content of f" + i);
            // The spilled, incrementally chunked content is the canonical chunking of the bytes.
            assertEquals(
                    FileContents.write(store.newWriter(), got),
                    Directories.find(store, Root.decode(store.get(root)).dir().tree(), ("f" + i).getBytes(UTF_8))
                            .orElseThrow()
                            .content());
        }
    }

    @Test
    void flush_whenAnUnlinkedFileIsStillDirty_releasesItsPages() throws Exception {
        InMemoryObjectStore store = new InMemoryObjectStore();
        MutableTree tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);
        File f = tree.createFile(tree.root(), "gone".getBytes(UTF_8), 0644, 0, 0);
        tree.write(f, 0, new byte[300_000], 0, 300_000);
        tree.unlink(tree.root(), "gone".getBytes(UTF_8));
        tree.flush();
        assertEquals(0, tree.dirtyBytes());
        byte[] back = new byte[10];
        assertEquals(10, tree.read(f, 0, back, 0, 10), "an open handle still reads the unlinked file");
    }

    @Test
    void flush_whenScatteredSmallWritesHitABigFile_rechunksOnlyAroundEachWrite() throws Exception {
        InMemoryObjectStore store = new InMemoryObjectStore();
        MutableTree tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);
        File f = tree.createFile(tree.root(), "big".getBytes(UTF_8), 0644, 0, 0);
        Random rnd = new Random(11);
        byte[] data = new byte[32 << 20];
        rnd.nextBytes(data);
        tree.write(f, 0, data, 0, data.length);
        tree.flush();
        long before = store.stats().objects();
        byte[] small = new byte[4096];
        for (int i = 0; i < 20; i++) {
            rnd.nextBytes(small);
            int off = rnd.nextInt(data.length - small.length);
            tree.write(f, off, small, 0, small.length);
            System.arraycopy(small, 0, data, off, small.length);
        }
        ObjectId root = tree.flush();
        long added = store.stats().objects() - before;
        // Each write dirties one or two 64 KiB pages and re-chunks a chunk or two around them;
        // plus the new blob, the root directory and the root object.
        assertTrue(added <= 20 * 3 + 3, "objects added: " + added);
        assertEquals(
                FileContents.write(store.newWriter(), data),
                Directories.find(store, Root.decode(store.get(root)).dir().tree(), "big".getBytes(UTF_8))
                        .orElseThrow()
                        .content(),
                "the same content as chunking the whole file afresh");
    }

    @Test
    void flush_whenAFileIsTruncatedUpTo8GiB_storesItsZerosWithoutChunkingThem() throws Exception {
        InMemoryObjectStore store = new InMemoryObjectStore();
        MutableTree tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);
        File f = tree.createFile(tree.root(), "sparse".getBytes(UTF_8), 0644, 0, 0);
        tree.write(f, 1000, "head".getBytes(UTF_8), 0, 4);
        tree.truncate(f, 8L << 30);
        tree.write(f, (5L << 30) + 12345, "marker".getBytes(UTF_8), 0, 6);
        long t0 = System.nanoTime();
        ObjectId root = tree.flush();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 5_000, "flush of an 8 GiB sparse file took " + ms + " ms");
        MutableTree reopened = new MutableTree(store, root, () -> T);
        File g = (File) reopened.get("/sparse");
        assertEquals(8L << 30, g.size());
        byte[] got = new byte[6];
        reopened.read(g, (5L << 30) + 12345, got, 0, 6);
        assertEquals("marker", new String(got, UTF_8));
        byte[] zeros = new byte[100];
        reopened.read(g, 7L << 30, zeros, 0, 100);
        assertTrue(java.util.Arrays.equals(new byte[100], zeros));
    }

    @Test
    void flush_whenAFileIsTruncatedUp_givesTheSameContentAsChunkingItsBytes() throws Exception {
        InMemoryObjectStore store = new InMemoryObjectStore();
        MutableTree tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);
        File f = tree.createFile(tree.root(), "s".getBytes(UTF_8), 0644, 0, 0);
        byte[] data = new byte[40 << 20]; // random head, zeros, 4 KiB random at 30 MiB, zeros
        byte[] head = new byte[300_000];
        new Random(5).nextBytes(head);
        System.arraycopy(head, 0, data, 0, head.length);
        byte[] mid = new byte[4096];
        new Random(6).nextBytes(mid);
        System.arraycopy(mid, 0, data, 30 << 20, mid.length);
        tree.write(f, 0, data, 0, 300_000);
        tree.truncate(f, data.length);
        tree.write(f, 30 << 20, data, 30 << 20, 4096);
        ObjectId root = tree.flush();
        assertEquals(
                FileContents.write(store.newWriter(), data),
                Directories.find(store, Root.decode(store.get(root)).dir().tree(), "s".getBytes(UTF_8))
                        .orElseThrow()
                        .content());
    }
}
