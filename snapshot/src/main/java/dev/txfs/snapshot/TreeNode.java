package dev.txfs.snapshot;

import java.util.List;

/**
 * A decoded tree node: a leaf holding sorted entries, or an internal node of a large directory
 * whose 32 children split the names by 5 bits of SHA-256(name) per level (a hash array mapped trie,
 * as irmin's inodes). The shape is a function of the set of names alone, so a tree id is
 * deterministic: a set of at most {@link #MAX_LEAF} entries is one leaf, a larger one is split.
 */
final class TreeNode {
    static final int FANOUT = 32;
    static final int BITS = 5;
    /** Measured: 256 keeps a leaf of typical entries under ~24 KiB and a 100k directory at depth 2. */
    static final int MAX_LEAF = 256;

    /** One child of an internal node and the counts of its subtree. */
    record Child(ObjectId id, long entries, long subdirs) {}

    final List<TreeEntry> entries;
    final int depth;
    final Child[] children;

    private TreeNode(List<TreeEntry> entries, int depth, Child[] children) {
        this.entries = entries;
        this.depth = depth;
        this.children = children;
    }

    static TreeNode leaf(List<TreeEntry> sorted) {
        return new TreeNode(List.copyOf(sorted), 0, null);
    }

    static TreeNode internal(int depth, Child[] children) {
        if (depth > 49) {
            throw new MalformedObjectException("tree node depth " + depth + " exceeds the hash");
        }
        return new TreeNode(null, depth, children);
    }

    boolean isLeaf() {
        return children == null;
    }

    /** The bucket of a name's hash at a depth: bits [5d, 5d+5) of SHA-256(name), big-endian bit order. */
    static int bucket(ObjectId nameHash, int depth) {
        int bit = depth * BITS;
        int v = ((nameHash.byteAt(bit / 8) & 0xff) << 8) | (nameHash.byteAt(bit / 8 + 1) & 0xff);
        return (v >>> (16 - BITS - bit % 8)) & (FANOUT - 1);
    }
}
