package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeRef;
import java.util.ArrayList;
import java.util.List;

/**
 * A tree of 50,000 files, written directly as tree nodes (through MutableTree it takes seconds):
 * /flat holds 40,000 files (a three-level trie), /nested/d0 … /nested/d99 hold 100 each.
 */
final class BigTree {
    private BigTree() {}

    static ObjectId fiftyThousandFiles(ObjectStore store) {
        try (ObjectWriter w = store.newWriter()) {
            List<TreeEntry> flat = new ArrayList<>();
            for (int i = 0; i < 40_000; i++) {
                flat.add(file("f" + i, "content " + i));
            }
            List<TreeEntry> nested = new ArrayList<>();
            for (int d = 0; d < 100; d++) {
                List<TreeEntry> files = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    files.add(file("g" + i, "g " + d + "/" + i));
                }
                nested.add(dir("d" + d, Directories.write(w, files)));
            }
            TreeRef top = Directories.write(
                    w, List.of(dir("flat", Directories.write(w, flat)), dir("nested", Directories.write(w, nested))));
            return HardLinks.writeRoot(w, dir("", top), List.of());
        }
    }

    private static TreeEntry file(String name, String content) {
        return TreeEntry.builder(name, EntryKind.FILE)
                .mode(0644)
                .mtime(Editor.T0)
                .content(Content.inline(content.getBytes(UTF_8)))
                .build();
    }

    private static TreeEntry dir(String name, TreeRef tree) {
        return TreeEntry.builder(name, EntryKind.DIRECTORY)
                .mode(0755)
                .mtime(Editor.T0)
                .tree(tree)
                .build();
    }
}
