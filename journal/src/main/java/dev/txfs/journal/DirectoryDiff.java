package dev.txfs.journal;

import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.MalformedObjectException;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The names whose entries differ between two directories (one level, no recursion), found by
 * walking their tries in parallel.
 *
 * <p>Implementation notes. A directory is a trie of tree nodes whose shape depends only on its set
 * of names ({@link Directories}): a leaf of at most 256 sorted entries, or an internal node whose 32
 * children split the names by 5 bits of SHA-256(name) per level. Two sides are walked bucket by
 * bucket; a bucket whose child ids are equal on both sides is skipped unread, so the cost is the
 * nodes on the paths to changed names: O(changes × trie depth) reads. Where the shapes differ (a
 * directory that grew past a leaf, or shrank into one), a leaf's entries are split by bucket at the
 * other side's depth and the walk goes on, so the two sides always meet at the same depth. Names
 * are compared within leaves by a merge join; entries are equal when their encodings are.
 *
 * <p>The walk can carry more sides than the two it compares (a three-way merge carries the other
 * side along): they are read only where the two compared sides differ.
 */
public final class DirectoryDiff {
    private static final Comparator<TreeEntry> BY_NAME = (a, b) -> Directories.NAME_ORDER.compare(a.name(), b.name());

    private DirectoryDiff() {}

    /** One name whose entry differs; {@code before} or {@code after} is null where it is absent. */
    public record EntryChange(byte[] name, TreeEntry before, TreeEntry after) {}

    /**
     * The names whose entries differ between the directories whose top tree nodes are {@code before}
     * and {@code after} (either may be null: an empty directory), sorted by name. Subdirectories are
     * entries like any other: their contents are not compared.
     */
    public static List<EntryChange> between(ObjectStore store, ObjectId before, ObjectId after) {
        List<EntryChange> out = new ArrayList<>();
        walk(store, new ObjectId[] {before, after}, (name, e) -> out.add(new EntryChange(name, e[0], e[1])));
        out.sort((a, b) -> Directories.NAME_ORDER.compare(a.name(), b.name()));
        return out;
    }

    /** Gets the entries at one name on every side (null where absent); the array is the visitor's. */
    @FunctionalInterface
    interface Visitor {
        void visit(byte[] name, TreeEntry[] entries);
    }

    /**
     * Visits every name whose entries differ between sides 0 and 1, with the entries of all sides
     * (a null top: an empty directory). Order: trie order, not name order.
     */
    static void walk(ObjectStore store, ObjectId[] tops, Visitor visitor) {
        if (tops.length < 2) {
            throw new IllegalArgumentException("a walk compares two sides");
        }
        Object[] sides = new Object[tops.length];
        for (int i = 0; i < tops.length; i++) {
            sides[i] = tops[i] == null ? List.of() : tops[i];
        }
        walk(store, sides, 0, visitor);
    }

    /**
     * One position of the walk. A side is an unread node ({@link ObjectId}), a read internal node
     * ({@link TreeNode}) or entries ({@code List<TreeEntry>}, sorted; empty when absent).
     */
    @SuppressWarnings("unchecked")
    private static void walk(ObjectStore store, Object[] sides, int depth, Visitor visitor) {
        if (same(sides[0], sides[1])) {
            return;
        }
        boolean internal = false;
        for (int i = 0; i < sides.length; i++) {
            if (sides[i] instanceof ObjectId id) {
                TreeNode read = TreeNode.decode(store.get(id));
                sides[i] = read.isLeaf() ? read.entries() : read;
            }
            if (sides[i] instanceof TreeNode node) {
                if (node.depth() != depth) {
                    throw new MalformedObjectException("tree node at depth " + depth + " says depth " + node.depth());
                }
                internal = true;
            }
        }
        if (!internal) {
            List<TreeEntry>[] lists = new List[sides.length];
            for (int i = 0; i < sides.length; i++) {
                lists[i] = (List<TreeEntry>) sides[i];
            }
            join(lists, visitor);
            return;
        }
        for (int b = 0; b < TreeNode.FANOUT; b++) {
            Object[] children = new Object[sides.length];
            for (int i = 0; i < sides.length; i++) {
                if (sides[i] instanceof TreeNode node) {
                    children[i] =
                            node.child(b) == null ? List.of() : node.child(b).id();
                } else {
                    children[i] = inBucket((List<TreeEntry>) sides[i], depth, b);
                }
            }
            walk(store, children, depth + 1, visitor);
        }
    }

    private static boolean same(Object a, Object b) {
        if (a instanceof ObjectId) {
            return a.equals(b);
        }
        return a instanceof List<?> la && la.isEmpty() && b instanceof List<?> lb && lb.isEmpty();
    }

    private static List<TreeEntry> inBucket(List<TreeEntry> entries, int depth, int bucket) {
        List<TreeEntry> out = new ArrayList<>();
        for (TreeEntry e : entries) {
            if (TreeNode.bucket(ObjectId.hash(e.name()), depth) == bucket) {
                out.add(e);
            }
        }
        return out.isEmpty() ? List.of() : out;
    }

    /** Merge join of the two compared lists; the other sides are looked up by binary search. */
    private static void join(List<TreeEntry>[] lists, Visitor visitor) {
        List<TreeEntry> a = lists[0];
        List<TreeEntry> b = lists[1];
        int i = 0;
        int j = 0;
        while (i < a.size() || j < b.size()) {
            int c = i >= a.size()
                    ? 1
                    : j >= b.size()
                            ? -1
                            : Directories.NAME_ORDER.compare(
                                    a.get(i).name(), b.get(j).name());
            TreeEntry ea = c <= 0 ? a.get(i++) : null;
            TreeEntry eb = c >= 0 ? b.get(j++) : null;
            if (Objects.equals(ea, eb)) {
                continue;
            }
            TreeEntry[] entries = new TreeEntry[lists.length];
            entries[0] = ea;
            entries[1] = eb;
            byte[] name = ea != null ? ea.name() : eb.name();
            for (int k = 2; k < lists.length; k++) {
                entries[k] = find(lists[k], name);
            }
            visitor.visit(name, entries);
        }
    }

    private static TreeEntry find(List<TreeEntry> sorted, byte[] name) {
        int i = Collections.binarySearch(sorted, probe(name), BY_NAME);
        return i >= 0 ? sorted.get(i) : null;
    }

    private static TreeEntry probe(byte[] name) {
        return TreeEntry.builder(name, EntryKind.FIFO).build();
    }
}
