package dev.txfs.snapshot;

import dev.txfs.snapshot.MutableNode.Dir;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * How {@link MutableTree} measures depth for {@link TreeLimits#MAX_DEPTH}: how deep a loaded
 * directory is, and whether names below one reach past a budget. Both iterative.
 */
final class DepthLimit {
    private DepthLimit() {}

    /** How many levels below {@code root} {@code d} is (the root is 0), counted up its parents. */
    static int depth(Dir d, Dir root) {
        int depth = 0;
        for (Dir x = d; x != root && x != null; x = x.parent) {
            depth++;
        }
        return depth;
    }

    /** A directory still to look at in {@link #heightExceeds}: a loaded node or a stored entry. */
    private record Below(Dir node, TreeEntry stored, int level) {}

    /**
     * Whether some name lies more than {@code budget} levels below {@code top} (its own names are one
     * level below it). Iterative; reads only directories that have subdirectories (the counts in
     * each entry say which), loaded nodes as they are now and the rest from the store, and stops at
     * the first name too deep: cost O(directories with subdirectories below {@code top}).
     */
    static boolean heightExceeds(ObjectStore store, Dir top, int budget) {
        Deque<Below> todo = new ArrayDeque<>();
        todo.push(new Below(top, null, 0));
        while (!todo.isEmpty()) {
            Below b = todo.pop();
            long entries = b.node != null ? b.node.entries : b.stored.dirEntries();
            long subdirs = b.node != null ? b.node.subdirs : b.stored.dirSubdirs();
            if (entries > 0 && b.level + 1 > budget) {
                return true;
            }
            if (subdirs == 0) {
                continue;
            }
            int next = b.level + 1;
            if (b.node == null) {
                Directories.forEach(store, b.stored.tree(), e -> {
                    if (e.kind() == EntryKind.DIRECTORY) {
                        todo.push(new Below(null, e, next));
                    }
                });
                continue;
            }
            Dir d = b.node;
            d.children.forEach((name, child) -> {
                if (child instanceof Dir cd) {
                    todo.push(new Below(cd, null, next));
                }
            });
            if (!d.listed) {
                Directories.forEach(store, d.base.id(), e -> {
                    if (e.kind() == EntryKind.DIRECTORY && !d.children.containsKey(e.nameRef())) {
                        todo.push(new Below(null, e, next));
                    }
                });
            }
        }
        return false;
    }
}
