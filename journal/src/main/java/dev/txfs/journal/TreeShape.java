package dev.txfs.journal;

import dev.txfs.journal.DeltaReader.DeltaException;
import dev.txfs.journal.DeltaReader.Problem;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeLimits;
import java.util.ArrayDeque;
import java.util.ArrayList;
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
 */
final class TreeShape {
    private static final int LEAF = -1;
    private final ObjectStore store;
    /** The stream's tree nodes, decoded ({@link TrieNodes#decode}). */
    private final Map<ObjectId, Object> streamNodes = new HashMap<>();
    /** Nodes summed up (stream and store). */
    private final Map<ObjectId, Summary> done = new HashMap<>();

    TreeShape(ObjectStore store) {
        this.store = store;
    }

    /**
     * What a node holds, as its parent sees it: {@code depth} -1 for a leaf, {@code hash} null
     * for an empty leaf.
     */
    private record Summary(int depth, long entries, long subdirs, long height, byte[] hash, int groups) {}

    /** Notes a tree node of the stream. */
    void add(ObjectId id, byte[] raw) {
        streamNodes.put(id, TrieNodes.decode(id, raw));
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
        Map<ObjectId, Object> loaded = new HashMap<>();
        stack.push(top);
        while (!stack.isEmpty()) {
            ObjectId id = stack.peek();
            if (done.containsKey(id)) {
                stack.pop();
                continue;
            }
            Object node = loaded.computeIfAbsent(id, this::node);
            boolean ready = true;
            for (ObjectId dep : dependencies(id, node)) {
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

    private Object node(ObjectId id) {
        Object n = streamNodes.get(id);
        return n != null ? n : TrieNodes.read(store, id);
    }

    /** Whether {@code id} is a store node (not in the stream), whose own counts are trusted. */
    private boolean trusted(ObjectId id) {
        return !streamNodes.containsKey(id);
    }

    /**
     * The nodes {@code node}'s summary needs: of a stream node, every child and every directory
     * it names; of a store node, only those with subdirectories, and its first child (for the
     * hash prefix).
     */
    @SuppressWarnings("unchecked")
    private List<ObjectId> dependencies(ObjectId id, Object node) {
        boolean trusted = trusted(id);
        List<ObjectId> deps = new ArrayList<>();
        if (node instanceof TrieNodes.Internal in) {
            for (int i = 0; i < TrieNodes.FANOUT; i++) {
                ObjectId c = in.children()[i];
                if (c != null && (!trusted || in.subdirs()[i] > 0 || deps.isEmpty())) {
                    deps.add(c);
                }
            }
        } else {
            for (TreeEntry e : (List<TreeEntry>) node) {
                if (isDir(e) && (!trusted || e.dirSubdirs() > 0)) {
                    deps.add(e.tree());
                }
            }
        }
        return deps;
    }

    private static boolean isDir(TreeEntry e) {
        return e.kind() == EntryKind.DIRECTORY && e.linkPaths() == null;
    }

    @SuppressWarnings("unchecked")
    private Summary summarize(ObjectId id, Object node) {
        boolean trusted = trusted(id);
        if (node instanceof TrieNodes.Internal in) {
            return trusted ? summarizeStoreInternal(id, in) : summarizeInternal(id, in);
        }
        List<TreeEntry> entries = (List<TreeEntry>) node;
        if (entries.isEmpty()) {
            return new Summary(LEAF, 0, 0, 0, null, 0);
        }
        byte[] first = ObjectId.hash(entries.get(0).name()).toBytes();
        int bits = 256;
        long subdirs = 0;
        long height = 0;
        for (TreeEntry e : entries) {
            bits = Math.min(bits, sharedBits(first, ObjectId.hash(e.name()).toBytes()));
            long h = 1;
            if (isDir(e) && trusted && e.dirSubdirs() == 0) {
                subdirs++;
                h += e.dirEntries() > 0 ? 1 : 0;
            } else if (isDir(e)) {
                subdirs++;
                Summary dir = done.get(e.tree());
                if (dir.depth > 0) {
                    throw misplaced("directory '" + e.nameString() + "' in tree node " + id + " starts with tree node "
                            + e.tree() + ", an internal node of depth " + dir.depth);
                }
                if (dir.entries != e.dirEntries() || dir.subdirs != e.dirSubdirs()) {
                    throw counts(
                            "directory '" + e.nameString() + "' in tree node " + id,
                            dir,
                            e.dirEntries(),
                            e.dirSubdirs());
                }
                h += dir.height;
            }
            height = Math.max(height, h);
        }
        if (height > TreeLimits.MAX_DEPTH) {
            throw tooDeep();
        }
        return new Summary(LEAF, entries.size(), subdirs, height, first, bits / TrieNodes.BITS);
    }

    private Summary summarizeInternal(ObjectId id, TrieNodes.Internal in) {
        int d = in.depth();
        byte[] prefix = null;
        long entries = 0;
        long subdirs = 0;
        long height = 0;
        for (int i = 0; i < TrieNodes.FANOUT; i++) {
            ObjectId c = in.children()[i];
            if (c == null) {
                continue;
            }
            Summary s = done.get(c);
            if (s.hash == null) {
                throw misplaced("tree node " + id + " has an empty child " + c + " in bucket " + i);
            }
            if (s.depth != LEAF && s.depth != d + 1) {
                throw misplaced("tree node " + c + " says depth " + s.depth + " but is a child of node " + id
                        + " of depth " + d);
            }
            if (s.groups < d + 1
                    || TrieNodes.bucketOfHash(s.hash, d) != i
                    || prefix != null && sharedBits(prefix, s.hash) < d * TrieNodes.BITS) {
                throw misplaced("tree node " + c + " holds names that do not hash to bucket " + i + " at depth " + d
                        + " of tree node " + id + " (a name out of its bucket could be there twice)");
            }
            if (s.entries != in.entries()[i] || s.subdirs != in.subdirs()[i]) {
                throw counts("child " + i + " of tree node " + id, s, in.entries()[i], in.subdirs()[i]);
            }
            prefix = prefix == null ? s.hash : prefix;
            entries += s.entries;
            subdirs += s.subdirs;
            height = Math.max(height, s.height);
        }
        if (prefix == null) {
            throw misplaced("tree node " + id + " is an internal node without children");
        }
        return new Summary(d, entries, subdirs, height, prefix, d);
    }

    /**
     * A store node's summary from its own child counts: the store wrote it (or an import checked
     * it), so only children with subdirectories are measured, and the first child gives the hash
     * prefix.
     */
    private Summary summarizeStoreInternal(ObjectId id, TrieNodes.Internal in) {
        long entries = 0;
        long subdirs = 0;
        long height = 0;
        byte[] prefix = null;
        for (int i = 0; i < TrieNodes.FANOUT; i++) {
            ObjectId c = in.children()[i];
            if (c == null) {
                continue;
            }
            entries += in.entries()[i];
            subdirs += in.subdirs()[i];
            Summary s = done.get(c);
            if (prefix == null) {
                prefix = s.hash;
                if (prefix == null) {
                    throw misplaced("tree node " + id + " in the store has an empty child " + c);
                }
            }
            height = Math.max(height, in.subdirs()[i] > 0 ? s.height : in.entries()[i] > 0 ? 1 : 0);
        }
        if (prefix == null) {
            throw misplaced("tree node " + id + " in the store is an internal node without children");
        }
        return new Summary(in.depth(), entries, subdirs, height, prefix, in.depth());
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
