package dev.txfs.journal;

import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeRef;
import java.util.Arrays;
import java.util.Map;
import java.util.SortedMap;

/** Comparisons of tree entries that {@link TreeEntry#equals} (every encoded field) is too strict for. */
final class Entries {
    private static final byte[] NO_NAME = new byte[0];

    private Entries() {}

    static boolean isDir(TreeEntry e) {
        return e != null && e.kind() == EntryKind.DIRECTORY;
    }

    static TreeRef treeRef(TreeEntry dir) {
        return new TreeRef(dir.tree(), dir.dirEntries(), dir.dirSubdirs());
    }

    /** The inode an entry or link record describes: no name, no link paths. */
    static TreeEntry inode(TreeEntry e) {
        return e.toBuilder().withName(NO_NAME).linkPaths(null).build();
    }

    /** A link record without its paths (it keeps its name, the link key). */
    static TreeEntry withoutPaths(TreeEntry record) {
        return record.toBuilder().linkPaths(null).build();
    }

    static boolean sameXattrs(SortedMap<String, byte[]> a, SortedMap<String, byte[]> b) {
        if (a == null || b == null) {
            return a == b;
        }
        if (a.size() != b.size()) {
            return false;
        }
        for (Map.Entry<String, byte[]> x : a.entrySet()) {
            if (!Arrays.equals(x.getValue(), b.get(x.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** Whether two directory entries have the same own metadata: mode, owner and xattrs. */
    static boolean sameDirMetadata(TreeEntry a, TreeEntry b) {
        return a.mode() == b.mode() && a.uid() == b.uid() && a.gid() == b.gid() && sameXattrs(a.xattrs(), b.xattrs());
    }
}
