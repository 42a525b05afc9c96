package dev.txfs.snapshot;

import java.util.List;

/**
 * A decoded tree node: a leaf holding sorted entries, or an internal node of a large directory
 * whose 32 children split the names by 5 bits of SHA-256(name) per level (a hash array mapped trie,
 * as irmin's inodes). The shape is a function of the set of names alone, so a tree id is
 * deterministic: a set of at most {@link #MAX_LEAF} entries is one leaf, a larger one is split.
 * Public so that readers outside this package (the import check, the directory diff) decode a
 * single node with {@link #decode} and place names with {@link #bucket} rather than repeating the
 * codec.
 */
public final class TreeNode {
    public static final int FANOUT = 32;
    public static final int BITS = 5;
    /** Measured: 256 keeps a leaf of typical entries under ~24 KiB and a 100k directory at depth 2. */
    public static final int MAX_LEAF = 256;
    /** Internal nodes deeper than this would need more than the 256 bits of a name's hash. */
    public static final int MAX_DEPTH = 49;

    /** One child of an internal node and the counts of its subtree. */
    public record Child(ObjectId id, long entries, long subdirs) {}

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
        if (depth > MAX_DEPTH) {
            throw new MalformedObjectException("tree node depth " + depth + " exceeds the hash");
        }
        return new TreeNode(null, depth, children);
    }

    /**
     * The node whose canonical bytes are {@code canonical} ({@link TreeCodec} documents the layout),
     * or {@link MalformedObjectException} (truncated, trailing bytes, a non-minimal varint, a depth
     * past {@link #MAX_DEPTH}, unsorted or duplicate names). The id is not checked.
     */
    public static TreeNode decode(byte[] canonical) {
        return TreeCodec.decodeNode(canonical);
    }

    public boolean isLeaf() {
        return children == null;
    }

    /** A leaf's entries, sorted by name (unsigned bytewise); an internal node has none. */
    public List<TreeEntry> entries() {
        if (entries == null) {
            throw new IllegalStateException("an internal node has children, not entries");
        }
        return entries;
    }

    /** An internal node's depth (0 at the top of a directory); 0 for a leaf. */
    public int depth() {
        return depth;
    }

    /** An internal node's child in {@code bucket} (0 to {@link #FANOUT} - 1), or null when empty. */
    public Child child(int bucket) {
        if (children == null) {
            throw new IllegalStateException("a leaf has entries, not children");
        }
        return children[bucket];
    }

    /** The bucket of a name's hash at a depth: bits [5d, 5d+5) of SHA-256(name), big-endian bit order. */
    public static int bucket(ObjectId nameHash, int depth) {
        int bit = depth * BITS;
        int v = ((nameHash.byteAt(bit / 8) & 0xff) << 8) | (nameHash.byteAt(bit / 8 + 1) & 0xff);
        return (v >>> (16 - BITS - bit % 8)) & (FANOUT - 1);
    }
}
