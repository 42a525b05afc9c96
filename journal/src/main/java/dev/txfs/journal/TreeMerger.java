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
import java.util.ArrayList;
import java.util.Arrays;
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

    /** The merged entry at a path that ours changed ({@code o} differs from {@code b}). */
    private TreeEntry entry(String path, TreeEntry b, TreeEntry o, TreeEntry t) {
        if (Objects.equals(o, b) || Objects.equals(o, t)) {
            return t;
        }
        if (Objects.equals(t, b)) {
            return o;
        }
        if (Entries.isDir(o) && Entries.isDir(t)) {
            return directory(path, Entries.isDir(b) ? b : null, o, t);
        }
        conflict(path);
        return t;
    }

    /** Two directories both changed (or both added: {@code b} null): merged name by name. */
    private TreeEntry directory(String path, TreeEntry b, TreeEntry o, TreeEntry t) {
        TreeRef tree = tree(path, b == null ? null : b.tree(), Entries.treeRef(o), Entries.treeRef(t));
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

    /** Merges the contents of a directory: ours' changes since {@code b} (null: empty) onto {@code t}. */
    private TreeRef tree(String path, ObjectId b, TreeRef o, TreeRef t) {
        if (o.id().equals(b) || o.id().equals(t.id())) {
            return t;
        }
        if (t.id().equals(b)) {
            return o;
        }
        SortedMap<byte[], TreeEntry> changes = Directories.changes();
        DirectoryDiff.walk(store, new ObjectId[] {b, o.id(), t.id()}, (name, e) -> {
            TreeEntry m = entry(RawPaths.child(path, name), e[0], e[1], e[2]);
            if (!Objects.equals(m, e[2])) {
                changes.put(name, m);
            }
        });
        return Directories.update(out, t, changes);
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
