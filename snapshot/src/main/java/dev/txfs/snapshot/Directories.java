package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Reads and writes directories as tries of {@link TreeNode}s.
 *
 * <p>Implementation notes: a directory's node shape depends only on its set of names (at most
 * {@link TreeNode#MAX_LEAF} names: one sorted leaf; more: an internal node whose children split
 * the names by the next 5 bits of SHA-256(name)). {@link #update} keeps that invariant while
 * touching only the children that hold changed names, so changing one entry of a 100,000-entry
 * directory writes one leaf and two internal nodes (a few KiB), not the whole directory; it
 * collapses a subtree back into a leaf when it shrinks to {@link TreeNode#MAX_LEAF} names.
 */
public final class Directories {
    public static final Comparator<byte[]> NAME_ORDER = Arrays::compareUnsigned;

    private Directories() {}

    /** A new, empty change set for {@link #update}: name → new entry, or null to delete. */
    public static SortedMap<byte[], TreeEntry> changes() {
        return new TreeMap<>(NAME_ORDER);
    }

    static TreeNode load(ObjectWriter reader, ObjectId id) {
        return TreeCodec.decodeNode(reader.find(id).orElseThrow(() -> new ObjectStore.MissingObjectException(id)));
    }

    static TreeNode load(ObjectStore store, ObjectId id) {
        return TreeCodec.decodeNode(store.get(id));
    }

    /** The entry named {@code name} in the directory whose top node is {@code tree}. */
    public static Optional<TreeEntry> find(ObjectStore store, ObjectId tree, byte[] name) {
        TreeNode node = load(store, tree);
        ObjectId hash = null;
        int depth = 0;
        while (!node.isLeaf()) {
            checkDepth(node, depth, tree);
            if (hash == null) {
                hash = ObjectId.hash(name);
            }
            TreeNode.Child child = node.children[TreeNode.bucket(hash, depth)];
            if (child == null) {
                return Optional.empty();
            }
            node = load(store, child.id());
            depth++;
        }
        int i = search(node.entries, name);
        return i >= 0 ? Optional.of(node.entries.get(i)) : Optional.empty();
    }

    private static void checkDepth(TreeNode node, int depth, ObjectId tree) {
        if (node.depth != depth) {
            throw new MalformedObjectException(
                    "tree " + tree + ": node at depth " + depth + " says depth " + node.depth);
        }
    }

    private static int search(List<TreeEntry> sorted, byte[] name) {
        int lo = 0;
        int hi = sorted.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Arrays.compareUnsigned(sorted.get(mid).nameRef(), name);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    /** Every entry: leaves in trie order, names sorted within a leaf (a small directory: by name). */
    public static void forEach(ObjectStore store, ObjectId tree, Consumer<TreeEntry> action) {
        forEachNode(store, tree, 0, action);
    }

    private static void forEachNode(ObjectStore store, ObjectId id, int depth, Consumer<TreeEntry> action) {
        TreeNode node = load(store, id);
        if (node.isLeaf()) {
            node.entries.forEach(action);
            return;
        }
        checkDepth(node, depth, id);
        for (TreeNode.Child c : node.children) {
            if (c != null) {
                forEachNode(store, c.id(), depth + 1, action);
            }
        }
    }

    /** All entries sorted by name. */
    public static List<TreeEntry> list(ObjectStore store, ObjectId tree) {
        List<TreeEntry> out = new ArrayList<>();
        forEach(store, tree, out::add);
        out.sort((a, b) -> NAME_ORDER.compare(a.nameRef(), b.nameRef()));
        return out;
    }

    /** The ids of every node of a directory (for verify and gc). */
    public static void forEachNodeId(ObjectStore store, ObjectId tree, Consumer<ObjectId> action) {
        action.accept(tree);
        TreeNode node = load(store, tree);
        if (!node.isLeaf()) {
            for (TreeNode.Child c : node.children) {
                if (c != null) {
                    forEachNodeId(store, c.id(), action);
                }
            }
        }
    }

    /** Writes a directory holding exactly {@code entries} (names unique, any order). */
    public static TreeRef write(ObjectWriter out, List<TreeEntry> entries) {
        List<TreeEntry> sorted = new ArrayList<>(entries);
        sorted.sort((a, b) -> NAME_ORDER.compare(a.nameRef(), b.nameRef()));
        for (int i = 1; i < sorted.size(); i++) {
            if (Arrays.equals(sorted.get(i - 1).nameRef(), sorted.get(i).nameRef())) {
                throw new IllegalArgumentException(
                        "duplicate name in directory: " + sorted.get(i).nameString());
            }
        }
        return write(out, sorted, 0);
    }

    private static TreeRef write(ObjectWriter out, List<TreeEntry> sorted, int depth) {
        long subdirs =
                sorted.stream().filter(e -> e.kind() == EntryKind.DIRECTORY).count();
        if (sorted.size() <= TreeNode.MAX_LEAF) {
            return new TreeRef(out.put(TreeCodec.encodeLeaf(sorted)), sorted.size(), subdirs);
        }
        List<List<TreeEntry>> parts = new ArrayList<>(TreeNode.FANOUT);
        for (int i = 0; i < TreeNode.FANOUT; i++) {
            parts.add(new ArrayList<>());
        }
        for (TreeEntry e : sorted) {
            parts.get(TreeNode.bucket(ObjectId.hash(e.nameRef()), depth)).add(e);
        }
        TreeNode.Child[] children = new TreeNode.Child[TreeNode.FANOUT];
        for (int i = 0; i < TreeNode.FANOUT; i++) {
            if (!parts.get(i).isEmpty()) {
                TreeRef r = write(out, parts.get(i), depth + 1);
                children[i] = new TreeNode.Child(r.id(), r.entries(), r.subdirs());
            }
        }
        return new TreeRef(out.put(TreeCodec.encodeInternal(depth, children)), sorted.size(), subdirs);
    }

    /**
     * Applies {@code changes} (name → entry, null deletes) to the directory {@code base} (null: an
     * empty one) and writes the result. Cost: the nodes on the paths to changed names.
     */
    public static TreeRef update(ObjectWriter out, TreeRef base, SortedMap<byte[], TreeEntry> changes) {
        if (base == null) {
            base = write(out, List.of());
        }
        if (changes.isEmpty()) {
            return base;
        }
        return update(out, base.id(), changes, 0);
    }

    private static TreeRef update(ObjectWriter out, ObjectId id, SortedMap<byte[], TreeEntry> changes, int depth) {
        TreeNode node = load(out, id);
        if (node.isLeaf()) {
            TreeMap<byte[], TreeEntry> merged = new TreeMap<>(NAME_ORDER);
            for (TreeEntry e : node.entries) {
                merged.put(e.nameRef(), e);
            }
            applyTo(merged, changes);
            return write(out, new ArrayList<>(merged.values()), depth);
        }
        checkDepth(node, depth, id);
        List<SortedMap<byte[], TreeEntry>> parts = new ArrayList<>(TreeNode.FANOUT);
        for (int i = 0; i < TreeNode.FANOUT; i++) {
            parts.add(null);
        }
        for (Map.Entry<byte[], TreeEntry> c : changes.entrySet()) {
            int b = TreeNode.bucket(ObjectId.hash(c.getKey()), depth);
            if (parts.get(b) == null) {
                parts.set(b, new TreeMap<>(NAME_ORDER));
            }
            parts.get(b).put(c.getKey(), c.getValue());
        }
        TreeNode.Child[] children = node.children.clone();
        long total = 0;
        long subdirs = 0;
        for (int i = 0; i < TreeNode.FANOUT; i++) {
            if (parts.get(i) != null) {
                TreeRef child = children[i] == null
                        ? write(out, applyTo(new TreeMap<>(NAME_ORDER), parts.get(i)), depth + 1)
                        : update(out, children[i].id(), parts.get(i), depth + 1);
                children[i] =
                        child.entries() == 0 ? null : new TreeNode.Child(child.id(), child.entries(), child.subdirs());
            }
            if (children[i] != null) {
                total += children[i].entries();
                subdirs += children[i].subdirs();
            }
        }
        if (total <= TreeNode.MAX_LEAF) {
            List<TreeEntry> all = new ArrayList<>();
            for (TreeNode.Child c : children) {
                if (c != null) {
                    collect(out, c.id(), all);
                }
            }
            all.sort((a, b) -> NAME_ORDER.compare(a.nameRef(), b.nameRef()));
            return write(out, all, depth);
        }
        return new TreeRef(out.put(TreeCodec.encodeInternal(depth, children)), total, subdirs);
    }

    private static List<TreeEntry> applyTo(TreeMap<byte[], TreeEntry> merged, SortedMap<byte[], TreeEntry> changes) {
        for (Map.Entry<byte[], TreeEntry> c : changes.entrySet()) {
            if (c.getValue() == null) {
                merged.remove(c.getKey());
            } else {
                if (!Arrays.equals(c.getKey(), c.getValue().nameRef())) {
                    throw new IllegalArgumentException("change for " + new String(c.getKey()) + " names another entry");
                }
                merged.put(c.getKey(), c.getValue());
            }
        }
        return new ArrayList<>(merged.values());
    }

    private static void collect(ObjectWriter out, ObjectId id, List<TreeEntry> into) {
        TreeNode node = load(out, id);
        if (node.isLeaf()) {
            into.addAll(node.entries);
        } else {
            for (TreeNode.Child c : node.children) {
                if (c != null) {
                    collect(out, c.id(), into);
                }
            }
        }
    }
}
