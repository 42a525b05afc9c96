package dev.txfs.journal;

import dev.txfs.journal.DeltaReader.DeltaException;
import dev.txfs.journal.DeltaReader.Problem;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeLimits;
import dev.txfs.snapshot.TreeNode;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks the shape of the trees an import stream brings, which decoding each node alone cannot:
 * every entry sits in the trie bucket its name hashes to (so a name can appear only once in a
 * directory, whichever bucket a lookup starts from), internal nodes say their true depth and the
 * counts of their children, and no directory is more than {@link TreeLimits#MAX_DEPTH} levels
 * below the root.
 *
 * <p>Implementation notes: every rule is local to a node and its children, so each node is summed
 * up once, children first, whatever the number of paths that reach it: a node's entries and
 * subdirectories, the longest chain of directories below it (its height), and the hash prefix all
 * its names share (the first name's hash and how many 5-bit groups all share). An internal node at
 * depth d requires of its child in bucket i: d+1 shared groups, group d equal to i, and the first
 * d groups equal to its other children's. Together, at every node, these are the placement rule of
 * {@code Directories} ({@code TreeNode.bucket}). The walk is an explicit stack (a 20,000-deep
 * tree costs heap, not thread stack) and stops at the first directory whose height passes the
 * limit. Nodes the stream references but does not hold are read from the store and measured
 * for their height and hash prefix: placing an old subtree deeper is a way to build a deep tree
 * too. A store node was written by txfs or checked by an import, so its own child counts are
 * trusted: only its children with subdirectories are read (and its first child, for a name's
 * hash). The cost is one read per node the stream names, plus the store nodes on the paths to
 * subdirectories below them: for a delta, the directories-with-subdirectories among the
 * unchanged siblings of the changed paths, never the files. Limit, stated honestly: a store that
 * imported a hostile stream before these checks may hold nodes whose counts lie.
 *
 * <p>Memory: a stream node is decoded once, when it is read, and only a {@link Node} is kept: the
 * ids and recorded counts of the children it needs (49 bytes each), its first name's hash and a
 * few numbers. Names, modes, xattrs and file contents are dropped. A stream leaf holds at most
 * {@link TreeNode#MAX_LEAF} entries (txfs never writes a larger one; a larger one is refused), an
 * internal node at most 32 children, so a node retains at most {@link #MAX_NODE_BYTES} (12,800
 * bytes; plus its id and map entry, about 100), whatever its size in the stream (up to {@link
 * DeltaStream#MAX_OBJECT}); a summed-up node keeps a {@code Summary} of about 100 bytes.
 */
final class TreeShape {
    private static final int LEAF = -1;
    /**
     * The most a {@link Node} of the stream retains, in bytes, whatever the node's size: its
     * fixed part and hash ({@link Node#FIXED_BYTES}) and {@link Node#CHILD_BYTES} for each of at
     * most {@link TreeNode#MAX_LEAF} children (a leaf's directories; an internal node has at most
     * {@link TreeNode#FANOUT}).
     */
    static final long MAX_NODE_BYTES = Node.FIXED_BYTES + (long) TreeNode.MAX_LEAF * Node.CHILD_BYTES;

    private final ObjectStore store;
    /** The stream's tree nodes, as the checks need them (never their entries). */
    private final Map<ObjectId, Node> streamNodes = new HashMap<>();
    /** Nodes summed up (stream and store). */
    private final Map<ObjectId, Summary> done = new HashMap<>();

    TreeShape(ObjectStore store) {
        this.store = store;
    }

    /**
     * What a node holds, as its parent sees it: {@code depth} -1 for a leaf, {@code hash} null
     * for an empty leaf.
     */
    private record Summary(int depth, long entries, long subdirs, long height, ObjectId hash, int groups) {}

    /**
     * What the checks need of one node, in a few arrays: the children that must be summed first
     * (a leaf's directories, an internal node's children) with the counts the node records for
     * them, and what the node's other entries add up to. Names, modes, xattrs and file contents
     * are not kept.
     */
    private static final class Node {
        /** Object headers, the fields, the arrays' headers and a name hash (an ObjectId). */
        static final long FIXED_BYTES = 256;
        /** A child's id (32), recorded entries and subdirectories (2 longs) and bucket (1). */
        static final long CHILD_BYTES = ObjectId.LENGTH + 2 * Long.BYTES + 1;

        /** {@link #LEAF}, or an internal node's depth. */
        final int depth;
        /** A leaf's entries and subdirectories; a store internal node's recorded totals. */
        final long entries;

        final long subdirs;
        /** The height of the entries that need no child read: a file 1, a store directory without subdirectories 1 or 2. */
        final long flat;
        /** A leaf's first name's hash (null when empty) and how many 5-bit groups all its names share. */
        final ObjectId hash;

        final int groups;
        /** The children to sum first, 32 bytes each. */
        final byte[] ids;
        /** The entries and subdirectories recorded for child i at 2i and 2i+1. */
        final long[] counts;
        /** An internal node's bucket of each child; null for a leaf. */
        final byte[] buckets;

        private Node(
                int depth,
                long entries,
                long subdirs,
                long flat,
                ObjectId hash,
                int groups,
                byte[] ids,
                long[] counts,
                byte[] buckets) {
            this.depth = depth;
            this.entries = entries;
            this.subdirs = subdirs;
            this.flat = flat;
            this.hash = hash;
            this.groups = groups;
            this.ids = ids;
            this.counts = counts;
            this.buckets = buckets;
        }

        /**
         * The node {@code id} of bytes {@code raw}. Of a store node ({@code trusted}) only the
         * children with subdirectories are kept (and an internal node's first, for the hash
         * prefix): its own counts are trusted.
         */
        static Node of(ObjectId id, byte[] raw, boolean trusted) {
            TreeNode node = TreeNode.decode(raw);
            return node.isLeaf() ? leaf(id, node.entries(), trusted) : internal(node, trusted);
        }

        private static Node leaf(ObjectId id, List<TreeEntry> entries, boolean trusted) {
            if (entries.isEmpty()) {
                return new Node(LEAF, 0, 0, 0, null, 0, new byte[0], new long[0], null);
            }
            if (!trusted && entries.size() > TreeNode.MAX_LEAF) {
                throw misplaced("tree node " + id + " is a leaf of " + entries.size() + " entries (at most "
                        + TreeNode.MAX_LEAF + "; a larger directory is split)");
            }
            ObjectId first = ObjectId.hash(entries.get(0).name());
            byte[] firstBytes = first.toBytes();
            int bits = 256;
            long subdirs = 0;
            long flat = 0;
            int n = 0;
            byte[] ids = new byte[ObjectId.LENGTH * entries.size()];
            long[] counts = new long[2 * entries.size()];
            for (TreeEntry e : entries) {
                bits = Math.min(
                        bits, sharedBits(firstBytes, ObjectId.hash(e.name()).toBytes()));
                if (!isDir(e)) {
                    flat = Math.max(flat, 1);
                    continue;
                }
                subdirs++;
                if (trusted && e.dirSubdirs() == 0) {
                    flat = Math.max(flat, e.dirEntries() > 0 ? 2 : 1);
                    continue;
                }
                System.arraycopy(e.tree().toBytes(), 0, ids, n * ObjectId.LENGTH, ObjectId.LENGTH);
                counts[2 * n] = e.dirEntries();
                counts[2 * n + 1] = e.dirSubdirs();
                n++;
            }
            return new Node(
                    LEAF,
                    entries.size(),
                    subdirs,
                    flat,
                    first,
                    bits / TreeNode.BITS,
                    Arrays.copyOf(ids, n * ObjectId.LENGTH),
                    Arrays.copyOf(counts, 2 * n),
                    null);
        }

        private static Node internal(TreeNode in, boolean trusted) {
            long entries = 0;
            long subdirs = 0;
            long flat = 0;
            int n = 0;
            byte[] ids = new byte[ObjectId.LENGTH * TreeNode.FANOUT];
            long[] counts = new long[2 * TreeNode.FANOUT];
            byte[] buckets = new byte[TreeNode.FANOUT];
            for (int i = 0; i < TreeNode.FANOUT; i++) {
                TreeNode.Child c = in.child(i);
                if (c == null) {
                    continue;
                }
                entries += c.entries();
                subdirs += c.subdirs();
                if (trusted && c.subdirs() == 0 && n > 0) {
                    flat = Math.max(flat, c.entries() > 0 ? 1 : 0);
                    continue;
                }
                System.arraycopy(c.id().toBytes(), 0, ids, n * ObjectId.LENGTH, ObjectId.LENGTH);
                counts[2 * n] = c.entries();
                counts[2 * n + 1] = c.subdirs();
                buckets[n] = (byte) i;
                n++;
            }
            return new Node(
                    in.depth(),
                    entries,
                    subdirs,
                    flat,
                    null,
                    0,
                    Arrays.copyOf(ids, n * ObjectId.LENGTH),
                    Arrays.copyOf(counts, 2 * n),
                    Arrays.copyOf(buckets, n));
        }

        int children() {
            return counts.length / 2;
        }

        ObjectId child(int i) {
            return ObjectId.fromBytes(ids, i * ObjectId.LENGTH);
        }

        /** What this node retains, in bytes (an estimate from the arrays' lengths, at most {@link #MAX_NODE_BYTES}). */
        long bytes() {
            return FIXED_BYTES + (long) children() * CHILD_BYTES;
        }
    }

    /** Notes a tree node of the stream, keeping only what the checks need (at most {@link #MAX_NODE_BYTES}). */
    void add(ObjectId id, byte[] raw) {
        streamNodes.put(id, Node.of(id, raw, false));
    }

    /** What the stream's nodes retain, in bytes: at most {@link #MAX_NODE_BYTES} each. */
    long retainedBytes() {
        long sum = 0;
        for (Node n : streamNodes.values()) {
            sum += n.bytes();
        }
        return sum;
    }

    /**
     * Checks the root directory and the link table of a Root of the stream, and everything below
     * them: the placement of every name, the counts every node records, and the depth limit.
     */
    void checkRoot(ObjectId id, Root root) {
        Summary dir = top(root.dir().tree());
        if (dir.entries != root.dir().dirEntries() || dir.subdirs != root.dir().dirSubdirs()) {
            throw counts(
                    "the root directory of " + id,
                    dir,
                    root.dir().dirEntries(),
                    root.dir().dirSubdirs());
        }
        if (dir.height > TreeLimits.MAX_DEPTH) {
            throw tooDeep();
        }
        if (root.links() != null) {
            Summary links = top(root.links().id());
            if (links.entries != root.links().entries()
                    || links.subdirs != root.links().subdirs()) {
                throw counts(
                        "the link table of " + id,
                        links,
                        root.links().entries(),
                        root.links().subdirs());
            }
        }
    }

    private Summary top(ObjectId top) {
        Summary s = sum(top);
        if (s.depth > 0) {
            throw misplaced(top + " is an internal node of depth " + s.depth + " at the top of a directory");
        }
        return s;
    }

    private Summary sum(ObjectId top) {
        ArrayDeque<ObjectId> stack = new ArrayDeque<>();
        Set<ObjectId> expanding = new HashSet<>();
        Map<ObjectId, Node> loaded = new HashMap<>();
        stack.push(top);
        while (!stack.isEmpty()) {
            ObjectId id = stack.peek();
            if (done.containsKey(id)) {
                stack.pop();
                continue;
            }
            Node node = loaded.computeIfAbsent(id, this::node);
            boolean ready = true;
            for (int i = 0; i < node.children(); i++) {
                ObjectId dep = node.child(i);
                if (!done.containsKey(dep)) {
                    if (expanding.contains(dep)) {
                        throw new DeltaException(Problem.MALFORMED, "tree node " + dep + " contains itself");
                    }
                    stack.push(dep);
                    ready = false;
                }
            }
            if (ready) {
                stack.pop();
                expanding.remove(id);
                loaded.remove(id);
                done.put(id, summarize(id, node));
            } else {
                expanding.add(id);
            }
        }
        return done.get(top);
    }

    private Node node(ObjectId id) {
        Node n = streamNodes.get(id);
        return n != null ? n : Node.of(id, store.get(id), true);
    }

    /** Whether {@code id} is a store node (not in the stream), whose own counts are trusted. */
    private boolean trusted(ObjectId id) {
        return !streamNodes.containsKey(id);
    }

    private static boolean isDir(TreeEntry e) {
        return e.kind() == EntryKind.DIRECTORY && e.linkPaths() == null;
    }

    private Summary summarize(ObjectId id, Node node) {
        if (node.depth != LEAF) {
            return trusted(id) ? summarizeStoreInternal(id, node) : summarizeInternal(id, node);
        }
        if (node.hash == null) {
            return new Summary(LEAF, 0, 0, 0, null, 0);
        }
        long height = node.flat;
        for (int i = 0; i < node.children(); i++) {
            Summary dir = done.get(node.child(i));
            if (dir.depth > 0) {
                throw misplaced("a directory in tree node " + id + " starts with tree node " + node.child(i)
                        + ", an internal node of depth " + dir.depth);
            }
            if (dir.entries != node.counts[2 * i] || dir.subdirs != node.counts[2 * i + 1]) {
                throw counts(
                        "the directory " + node.child(i) + " in tree node " + id,
                        dir,
                        node.counts[2 * i],
                        node.counts[2 * i + 1]);
            }
            height = Math.max(height, 1 + dir.height);
        }
        if (height > TreeLimits.MAX_DEPTH) {
            throw tooDeep();
        }
        return new Summary(LEAF, node.entries, node.subdirs, height, node.hash, node.groups);
    }

    private Summary summarizeInternal(ObjectId id, Node in) {
        int d = in.depth;
        byte[] prefix = null;
        ObjectId prefixId = null;
        long entries = 0;
        long subdirs = 0;
        long height = 0;
        for (int k = 0; k < in.children(); k++) {
            ObjectId c = in.child(k);
            int i = in.buckets[k];
            Summary s = done.get(c);
            if (s.hash == null) {
                throw misplaced("tree node " + id + " has an empty child " + c + " in bucket " + i);
            }
            if (s.depth != LEAF && s.depth != d + 1) {
                throw misplaced("tree node " + c + " says depth " + s.depth + " but is a child of node " + id
                        + " of depth " + d);
            }
            if (s.groups < d + 1
                    || TreeNode.bucket(s.hash, d) != i
                    || prefix != null && sharedBits(prefix, s.hash.toBytes()) < d * TreeNode.BITS) {
                throw misplaced("tree node " + c + " holds names that do not hash to bucket " + i + " at depth " + d
                        + " of tree node " + id + " (a name out of its bucket could be there twice)");
            }
            if (s.entries != in.counts[2 * k] || s.subdirs != in.counts[2 * k + 1]) {
                throw counts("child " + i + " of tree node " + id, s, in.counts[2 * k], in.counts[2 * k + 1]);
            }
            if (prefix == null) {
                prefix = s.hash.toBytes();
                prefixId = s.hash;
            }
            entries += s.entries;
            subdirs += s.subdirs;
            height = Math.max(height, s.height);
        }
        if (prefix == null) {
            throw misplaced("tree node " + id + " is an internal node without children");
        }
        return new Summary(d, entries, subdirs, height, prefixId, d);
    }

    /**
     * A store node's summary from its own child counts: the store wrote it (or an import checked
     * it), so only children with subdirectories are measured, and the first child gives the hash
     * prefix.
     */
    private Summary summarizeStoreInternal(ObjectId id, Node in) {
        if (in.children() == 0) {
            throw misplaced("tree node " + id + " in the store is an internal node without children");
        }
        ObjectId first = in.child(0);
        ObjectId prefix = done.get(first).hash;
        if (prefix == null) {
            throw misplaced("tree node " + id + " in the store has an empty child " + first);
        }
        long height = in.flat;
        for (int k = 0; k < in.children(); k++) {
            long h = in.counts[2 * k + 1] > 0 ? done.get(in.child(k)).height : in.counts[2 * k] > 0 ? 1 : 0;
            height = Math.max(height, h);
        }
        return new Summary(in.depth, in.entries, in.subdirs, height, prefix, in.depth);
    }

    /** How many leading bits {@code a} and {@code b} share. */
    private static int sharedBits(byte[] a, byte[] b) {
        for (int i = 0; i < a.length; i++) {
            int x = (a[i] ^ b[i]) & 0xff;
            if (x != 0) {
                return i * 8 + Integer.numberOfLeadingZeros(x) - 24;
            }
        }
        return a.length * 8;
    }

    private static DeltaException misplaced(String what) {
        return new DeltaException(Problem.MALFORMED, "misplaced tree node: " + what);
    }

    private static DeltaException counts(String what, Summary s, long entries, long subdirs) {
        return new DeltaException(
                Problem.MALFORMED,
                what + " records " + entries + " entries and " + subdirs + " subdirectories, but holds " + s.entries
                        + " and " + s.subdirs);
    }

    private static DeltaException tooDeep() {
        return new DeltaException(
                Problem.TOO_LARGE,
                "the tree is more than " + TreeLimits.MAX_DEPTH
                        + " directories deep (the limit; TreeLimits.MAX_DEPTH)");
    }
}
