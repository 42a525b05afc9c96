package dev.txfs.journal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeNode;
import dev.txfs.snapshot.TreeRef;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@link TreeShape} keeps of the stream's tree nodes while an import is checked. */
final class TreeShapeTest {

    /**
     * Regression (review of issue 14's import checks): TreeShape kept every tree node of the
     * stream decoded, names, xattrs and all, so a stream of maximum-size tree nodes (16 MiB each)
     * ran root's {@code txfs import} out of heap instead of failing in one line. Here, leaves of
     * {@link TreeNode#MAX_LEAF} entries with long names and 8 KiB xattrs, half of them
     * directories (what a node must keep), about 2.7 MiB each: each retains at most {@link
     * TreeShape#MAX_NODE_BYTES}, a small fraction of its bytes.
     */
    @Test
    void add_largeTreeNodes_retainAtMostMaxNodeBytesEach() {
        InMemoryObjectStore store = new InMemoryObjectStore();
        TreeShape shape = new TreeShape(store);
        ObjectId sub;
        try (ObjectWriter w = store.newWriter()) {
            sub = Directories.write(w, List.of()).id();
            w.flush();
        }
        int nodes = 8;
        long streamBytes = 0;
        for (int n = 0; n < nodes; n++) {
            byte[] raw = largeLeaf(store, n, sub);
            streamBytes += raw.length;
            shape.add(ObjectId.hash(raw), raw);
        }
        assertTrue(TreeShape.MAX_NODE_BYTES <= 16 << 10, "bound per node: " + TreeShape.MAX_NODE_BYTES);
        assertTrue(
                shape.retainedBytes() <= nodes * TreeShape.MAX_NODE_BYTES,
                "retained " + shape.retainedBytes() + " bytes for " + nodes + " nodes of " + streamBytes + " bytes");
        assertTrue(
                shape.retainedBytes() * 100 < streamBytes,
                "retained " + shape.retainedBytes() + " bytes of " + streamBytes);
    }

    /** A leaf of {@link TreeNode#MAX_LEAF} entries, half directories naming {@code sub}, as txfs writes it. */
    private static byte[] largeLeaf(InMemoryObjectStore store, int n, ObjectId sub) {
        byte[] value = new byte[8 << 10];
        Arrays.fill(value, (byte) n);
        List<TreeEntry> entries = new ArrayList<>();
        for (int i = 0; i < TreeNode.MAX_LEAF; i++) {
            String name = n + "-" + i + "-" + "x".repeat(2000);
            TreeEntry.Builder b = i % 2 == 0
                    ? TreeEntry.builder(name, EntryKind.DIRECTORY).tree(sub, 0, 0)
                    : TreeEntry.builder(name, EntryKind.FILE).content(Content.inline(new byte[] {1}));
            entries.add(b.mode(0755).mtime(1).xattrs(Map.of("user.pad", value)).build());
        }
        try (ObjectWriter w = store.newWriter()) {
            TreeRef ref = Directories.write(w, entries);
            w.flush();
            return store.get(ref.id());
        }
    }
}
