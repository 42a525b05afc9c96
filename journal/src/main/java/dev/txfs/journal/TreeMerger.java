package dev.txfs.journal;

import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeRef;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeSet;
import java.util.function.BiPredicate;

/**
 * One run of {@link Merge#threeWay} past its shortcuts; the rules are in {@link Merge}'s javadoc.
 *
 * <p>Implementation notes. Each directory is merged by a walk of base against ours that carries
 * theirs along ({@link DirectoryDiff#walk}): only names ours changed are visited, with the three
 * entries at that name; the merged entries that differ from theirs go to {@link
 * Directories#update} on theirs' directory, so a directory costs the trie nodes on the paths to
 * changed names. A conflicting name keeps theirs' entry, so the merged tree stays well formed for
 * the link check; it is never returned. The link table merges the same way, by key.
 */
final class TreeMerger {
    private final ObjectStore store;
    private final ObjectWriter out;
    /** Reads the merged tree: objects staged in {@link #out} and the store's. */
    private final ObjectStore merged;

    private final Root base;
    private final Root ours;
    private final Root theirs;
    private final ObjectId theirsId;
    /** Conflicting raw paths ("" is the root). */
    private final TreeSet<String> conflicts = new TreeSet<>();
    /** The link records ours changed, with their merged result, to check at the end. */
    private final List<Touched> touched = new ArrayList<>();

    /** A link key ours changed: its records (null where absent) and the merged one. */
    private record Touched(byte[] key, TreeEntry base, TreeEntry ours, TreeEntry theirs, TreeEntry merged) {}

    TreeMerger(ObjectStore store, ObjectWriter out, ObjectId base, ObjectId ours, ObjectId theirs) {
        this.store = store;
        this.out = out;
        this.merged = ReadView.of(out);
        this.base = Snapshots.loadRoot(store, base);
        this.ours = Snapshots.loadRoot(store, ours);
        this.theirs = Snapshots.loadRoot(store, theirs);
        this.theirsId = theirs;
    }

    Merge.Result merge() {
        TreeEntry rootDir = entry("", base.dir(), ours.dir(), theirs.dir());
        TreeRef links = links();
        checkLinks(rootDir.tree());
        if (!conflicts.isEmpty()) {
            return new Merge.Result(null, RawPaths.display(conflicts), List.of());
        }
        ObjectId id = out.put(new Root(rootDir, links).encode());
        return new Merge.Result(id, List.of(), Diff.between(merged, theirsId, id));
    }

    private void conflict(String path) {
        conflicts.add(path);
    }

    // ---- directories -------------------------------------------------------------------------

    /** What {@link #quick} answers for two directories that both changed: merge them name by name. */
    private static final TreeEntry DESCEND =
            TreeEntry.builder(new byte[] {'?'}, EntryKind.FIFO).build();

    /**
     * The merged entry at a path that ours changed ({@code o} differs from {@code b}). Directories
     * both sides changed are merged with an explicit stack of {@link DirectoryMerge}s, children
     * before their parent: the depth of the trees never reaches the thread's stack.
     */
    private TreeEntry entry(String path, TreeEntry b, TreeEntry o, TreeEntry t) {
        TreeEntry quick = quick(path, b, o, t);
        if (quick != DESCEND) {
            return quick;
        }
        Deque<DirectoryMerge> stack = new ArrayDeque<>();
        stack.push(new DirectoryMerge(path, Entries.isDir(b) ? b : null, o, t));
        while (true) {
            DirectoryMerge d = stack.peek();
            if (d.next < d.names.size()) {
                Named n = d.names.get(d.next++);
                String child = RawPaths.child(d.path, n.name);
                TreeEntry m = quick(child, n.entries[0], n.entries[1], n.entries[2]);
                if (m == DESCEND) {
                    d.descended = n;
                    TreeEntry cb = n.entries[0];
                    stack.push(new DirectoryMerge(child, Entries.isDir(cb) ? cb : null, n.entries[1], n.entries[2]));
                } else {
                    d.merged(n, m);
                }
                continue;
            }
            stack.pop();
            TreeEntry m = d.finish();
            if (stack.isEmpty()) {
                return m;
            }
            DirectoryMerge parent = stack.peek();
            parent.merged(parent.descended, m);
        }
    }

    /** The merged entry when no directory merge is needed, else {@link #DESCEND}. */
    private TreeEntry quick(String path, TreeEntry b, TreeEntry o, TreeEntry t) {
        if (Objects.equals(o, b) || Objects.equals(o, t)) {
            return t;
        }
        if (Objects.equals(t, b)) {
            return o;
        }
        if (Entries.isDir(o) && Entries.isDir(t)) {
            return DESCEND;
        }
        conflict(path);
        return t;
    }

    /** A name ours changed in a directory, with its entries in base, ours and theirs (null: absent). */
    private record Named(byte[] name, TreeEntry[] entries) {}

    /**
     * Two directories both changed (or both added: {@code b} null), merged name by name: the names
     * ours changed (one walk of base against ours, theirs carried along), then their merged entries
     * applied to theirs' directory.
     */
    private final class DirectoryMerge {
        final String path;
        final TreeEntry b;
        final TreeEntry o;
        final TreeEntry t;
        /** The contents' merge when a shortcut settles it, else null and {@link #names} to merge. */
        final TreeRef settled;

        final List<Named> names = new ArrayList<>();
        final SortedMap<byte[], TreeEntry> changes = Directories.changes();
        int next;
        /** The name whose directories are being merged below this one. */
        Named descended;

        DirectoryMerge(String path, TreeEntry b, TreeEntry o, TreeEntry t) {
            this.path = path;
            this.b = b;
            this.o = o;
            this.t = t;
            ObjectId bt = b == null ? null : b.tree();
            TreeRef ot = Entries.treeRef(o);
            TreeRef tt = Entries.treeRef(t);
            if (ot.id().equals(bt) || ot.id().equals(tt.id())) {
                settled = tt;
            } else if (tt.id().equals(bt)) {
                settled = ot;
            } else {
                settled = null;
                DirectoryDiff.walk(
                        store,
                        new ObjectId[] {bt, ot.id(), tt.id()},
                        (name, e) -> names.add(new Named(name, e.clone())));
            }
        }

        void merged(Named n, TreeEntry m) {
            if (!Objects.equals(m, n.entries[2])) {
                changes.put(n.name, m);
            }
        }

        TreeEntry finish() {
            TreeRef tree = settled != null ? settled : Directories.update(out, Entries.treeRef(t), changes);
            int mode = pick(path, b == null ? null : b.mode(), o.mode(), t.mode(), Objects::equals);
            long uid = pick(path, b == null ? null : b.uid(), o.uid(), t.uid(), Objects::equals);
            long gid = pick(path, b == null ? null : b.gid(), o.gid(), t.gid(), Objects::equals);
            SortedMap<String, byte[]> xattrs =
                    pick(path, b == null ? null : b.xattrs(), o.xattrs(), t.xattrs(), Entries::sameXattrs);
            long mtime = Math.max(o.mtimeNs(), t.mtimeNs());
            return TreeEntry.builder(t.name(), EntryKind.DIRECTORY)
                    .mode(mode)
                    .owner(uid, gid)
                    .times(mtime, mtime)
                    .xattrs(xattrs)
                    .tree(tree)
                    .build();
        }
    }

    /** One metadata field three ways: the side that changed it; both differently: a conflict. */
    private <T> T pick(String path, T b, T o, T t, BiPredicate<T, T> same) {
        if (b != null && same.test(o, b)) {
            return t;
        }
        if (same.test(t, o) || (b != null && same.test(t, b))) {
            return o;
        }
        conflict(path);
        return t;
    }

    // ---- hard links --------------------------------------------------------------------------

    private TreeRef links() {
        TreeRef b = base.links();
        TreeRef o = ours.links();
        TreeRef t = theirs.links();
        ObjectId bid = b == null ? null : b.id();
        ObjectId oid = o == null ? null : o.id();
        ObjectId tid = t == null ? null : t.id();
        if (Objects.equals(oid, bid) || Objects.equals(oid, tid)) {
            return t;
        }
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        DirectoryDiff.walk(store, new ObjectId[] {bid, oid, tid}, (key, e) -> {
            TreeEntry m = record(e[0], e[1], e[2]);
            touched.add(new Touched(key, e[0], e[1], e[2], m));
            if (!Objects.equals(m, e[2])) {
                changes.put(key, m);
            }
        });
        TreeRef result = changes.isEmpty() ? t : Directories.update(out, t, changes);
        return result == null || result.entries() == 0 ? null : result;
    }

    /** The merged link record for a key ours changed; a conflict keeps theirs. */
    private TreeEntry record(TreeEntry b, TreeEntry o, TreeEntry t) {
        if (Objects.equals(o, t)) {
            return t;
        }
        if (Objects.equals(t, b)) {
            return o;
        }
        if (o == null || t == null) {
            conflictAt(b, o, t);
            return t;
        }
        TreeEntry bi = b == null ? null : Entries.withoutPaths(b);
        TreeEntry oi = Entries.withoutPaths(o);
        TreeEntry ti = Entries.withoutPaths(t);
        TreeEntry inode;
        if (oi.equals(bi) || oi.equals(ti)) {
            inode = ti;
        } else if (ti.equals(bi)) {
            inode = oi;
        } else {
            conflictAt(b, o, t);
            return t;
        }
        TreeSet<String> bp = RawPaths.ofAll(b == null ? null : b.linkPaths());
        TreeSet<String> op = RawPaths.ofAll(o.linkPaths());
        TreeSet<String> paths = RawPaths.ofAll(t.linkPaths());
        for (String p : bp) {
            if (!op.contains(p)) {
                paths.remove(p);
            }
        }
        for (String p : op) {
            if (!bp.contains(p)) {
                paths.add(p);
            }
        }
        return inode.toBuilder()
                .linkPaths(paths.stream().map(RawPaths::bytes).toList())
                .build();
    }

    private void conflictAt(TreeEntry... records) {
        for (TreeEntry r : records) {
            if (r != null) {
                conflicts.addAll(RawPaths.ofAll(r.linkPaths()));
            }
        }
    }

    /**
     * For each key ours changed: the merged record is well formed, and exactly its paths are hard
     * links to it in the merged tree. The candidates are the record's paths on both sides and in
     * the result: every entry of the merged tree comes unchanged from ours or theirs, at the same
     * path, and both are consistent, so a name linking to the key is a path of one of them.
     */
    private void checkLinks(ObjectId rootTree) {
        for (Touched x : touched) {
            TreeEntry m = x.merged();
            TreeSet<String> expected = RawPaths.ofAll(m == null ? null : m.linkPaths());
            TreeSet<String> candidates = new TreeSet<>(expected);
            candidates.addAll(RawPaths.ofAll(x.ours() == null ? null : x.ours().linkPaths()));
            candidates.addAll(
                    RawPaths.ofAll(x.theirs() == null ? null : x.theirs().linkPaths()));
            boolean ok = m == null
                    || (expected.size() >= 2
                            && expected.first().equals(RawPaths.of(x.key()))
                            && m.kind() != EntryKind.DIRECTORY
                            && m.kind() != EntryKind.HARDLINK);
            for (String p : candidates) {
                if (!ok) {
                    break;
                }
                TreeEntry e = lookup(rootTree, p);
                boolean linked = e != null && e.kind() == EntryKind.HARDLINK && Arrays.equals(e.linkKey(), x.key());
                ok = linked == expected.contains(p);
            }
            if (!ok) {
                conflicts.addAll(candidates);
                conflictAt(x.base());
            }
        }
    }

    /** The entry at a raw absolute path of the merged tree, or null. */
    private TreeEntry lookup(ObjectId rootTree, String path) {
        String[] names = path.substring(1).split("/", -1);
        ObjectId tree = rootTree;
        for (int i = 0; i < names.length; i++) {
            Optional<TreeEntry> e = Directories.find(merged, tree, RawPaths.bytes(names[i]));
            if (e.isEmpty() || i == names.length - 1) {
                return e.orElse(null);
            }
            if (!Entries.isDir(e.get())) {
                return null;
            }
            tree = e.get().tree();
        }
        return null;
    }
}
