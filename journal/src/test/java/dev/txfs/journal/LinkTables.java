package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Checks a whole tree's link table against its hard-link entries, by brute force. */
final class LinkTables {
    private LinkTables() {}

    static void assertConsistent(ObjectStore store, ObjectId rootId) {
        Root root = Snapshots.loadRoot(store, rootId);
        Map<String, TreeSet<String>> linking = new TreeMap<>();
        scan(store, root.dir().tree(), "", linking);
        Map<String, TreeSet<String>> recorded = new TreeMap<>();
        if (root.links() != null) {
            assertNotEquals(0, root.links().entries(), "an empty link table is written as none");
            for (TreeEntry rec : Directories.list(store, root.links().id())) {
                TreeSet<String> paths = new TreeSet<>();
                rec.linkPaths().forEach(p -> paths.add(new String(p, ISO_8859_1)));
                String key = new String(rec.name(), ISO_8859_1);
                assertTrue(paths.size() >= 2, "record " + key + " has " + paths);
                assertEquals(key, paths.first(), "a record is keyed by its smallest path");
                assertTrue(rec.kind() != EntryKind.DIRECTORY && rec.kind() != EntryKind.HARDLINK, key);
                recorded.put(key, paths);
            }
        }
        assertEquals(recorded, linking, "link records against the names that link to them");
    }

    private static void scan(ObjectStore store, ObjectId tree, String dir, Map<String, TreeSet<String>> linking) {
        for (TreeEntry e : Directories.list(store, tree)) {
            String path = dir + "/" + new String(e.name(), ISO_8859_1);
            if (e.kind() == EntryKind.DIRECTORY) {
                scan(store, e.tree(), path, linking);
            } else if (e.kind() == EntryKind.HARDLINK) {
                linking.computeIfAbsent(new String(e.linkKey(), ISO_8859_1), k -> new TreeSet<>())
                        .add(path);
            }
        }
    }
}
