package dev.txfs.journal;

import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.MalformedObjectException;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeRef;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The changes between two trees, one {@link Change} per changed path, sorted by the path's bytes.
 *
 * <p>What counts as a change:
 *
 * <ul>
 *   <li>A name present on one side only is ADDED or DELETED. A whole directory added or deleted is
 *       one change at the directory; its contents are not listed.
 *   <li>A file, symlink or special file is MODIFIED when any field of its inode differs (content,
 *       mode, owner, mtime, xattrs, kind) or its link count does.
 *   <li>A directory is MODIFIED when its own metadata (mode, owner, xattrs) differs, or when its
 *       mtime differs while its contents do not. A new mtime and entry counts that come with
 *       changed contents are not reported by themselves: the changed children are.
 *   <li>A directory replaced by a non-directory, or the other way round, is one MODIFIED change
 *       with both kinds; the directory's contents are not listed.
 *   <li>Hard-linked names are reported by their paths like plain files ({@link HardLinks}): a
 *       change to the shared inode is MODIFIED at each of its paths; a new name is ADDED at its path
 *       and MODIFIED (the link count) at the inode's other paths.
 * </ul>
 *
 * <p>Cost: O(changes × depth) store reads. Directories whose tree ids are equal are not read, and
 * within a changed directory only the trie nodes that differ are ({@link DirectoryDiff}). The link
 * tables are compared the same way; a record found changed sends the diff to that inode's paths,
 * and records of unchanged inodes are looked up one by one where a changed name refers to them.
 *
 * <p>Threads: a call uses only its arguments; {@code store} must allow reads from the caller's
 * thread. Errors: a tree that does not decode raises {@link MalformedObjectException}, a missing
 * object {@link ObjectStore.MissingObjectException}.
 */
public final class Diff {
    private Diff() {}

    /** The changes that turn the tree {@code rootA} into {@code rootB} (Root object ids). */
    public static List<Change> between(ObjectStore store, ObjectId rootA, ObjectId rootB) {
        if (rootA.equals(rootB)) {
            return List.of();
        }
        return new Run(store, Snapshots.loadRoot(store, rootA), Snapshots.loadRoot(store, rootB)).changes();
    }

    /** One diff: the two roots and what has been found so far. */
    private static final class Run {
        private final ObjectStore store;
        private final Side a;
        private final Side b;
        /** Raw path → change; sorted bytewise. */
        private final TreeMap<String, Change> changes = new TreeMap<>();
        /** Raw paths whose entries the directory walk compared. */
        private final Set<String> examined = new HashSet<>();
        /** Raw paths of directories reported whole (added, deleted, or replaced by a non-directory). */
        private final Set<String> whole = new HashSet<>();

        Run(ObjectStore store, Root a, Root b) {
            this.store = store;
            this.a = new Side(store, a);
            this.b = new Side(store, b);
        }

        List<Change> changes() {
            TreeEntry ra = a.root.dir();
            TreeEntry rb = b.root.dir();
            if (dirChanged(ra, rb)) {
                changes.put("", Change.modified("", EntryKind.DIRECTORY, EntryKind.DIRECTORY));
            }
            // The link records that changed, found first so that the walk resolves names through them.
            List<DirectoryDiff.EntryChange> records = DirectoryDiff.between(store, linksId(a.root), linksId(b.root));
            for (DirectoryDiff.EntryChange r : records) {
                a.records.put(RawPaths.of(r.name()), Optional.ofNullable(r.before()));
                b.records.put(RawPaths.of(r.name()), Optional.ofNullable(r.after()));
            }
            if (!ra.tree().equals(rb.tree())) {
                directory("", ra.tree(), rb.tree());
            }
            while (!pending.isEmpty()) {
                Pending p = pending.pop();
                for (DirectoryDiff.EntryChange c : DirectoryDiff.between(store, p.treeA, p.treeB)) {
                    String path = RawPaths.child(p.dir, c.name());
                    examined.add(path);
                    entry(path, c.before(), c.after());
                }
            }
            for (DirectoryDiff.EntryChange r : records) {
                linkRecord(r.before(), r.after());
            }
            return new ArrayList<>(changes.values());
        }

        private static ObjectId linksId(Root r) {
            TreeRef links = r.links();
            return links == null ? null : links.id();
        }

        /** A directory whose two versions are still to compare. */
        private record Pending(String dir, ObjectId treeA, ObjectId treeB) {}

        /** Directories still to compare: a queue, not recursion, so depth never reaches the stack. */
        private final Deque<Pending> pending = new ArrayDeque<>();

        private void directory(String dir, ObjectId treeA, ObjectId treeB) {
            pending.push(new Pending(dir, treeA, treeB));
        }

        private void entry(String path, TreeEntry ea, TreeEntry eb) {
            if (ea == null) {
                changes.put(path, Change.added(path, b.kindOf(eb)));
                if (Entries.isDir(eb)) {
                    whole.add(path);
                }
            } else if (eb == null) {
                changes.put(path, Change.deleted(path, a.kindOf(ea)));
                if (Entries.isDir(ea)) {
                    whole.add(path);
                }
            } else if (Entries.isDir(ea) && Entries.isDir(eb)) {
                if (dirChanged(ea, eb)) {
                    changes.put(path, Change.modified(path, EntryKind.DIRECTORY, EntryKind.DIRECTORY));
                }
                if (!ea.tree().equals(eb.tree())) {
                    directory(path, ea.tree(), eb.tree());
                }
            } else if (Entries.isDir(ea) || Entries.isDir(eb)) {
                changes.put(path, Change.modified(path, a.kindOf(ea), b.kindOf(eb)));
                whole.add(path);
            } else {
                Inode ia = a.resolve(ea);
                Inode ib = b.resolve(eb);
                if (!ia.equals(ib)) {
                    changes.put(path, Change.modified(path, ia.entry.kind(), ib.entry.kind()));
                }
            }
        }

        /** Own metadata changed, or the mtime changed while the contents did not. */
        private static boolean dirChanged(TreeEntry ea, TreeEntry eb) {
            return !Entries.sameDirMetadata(ea, eb) || (ea.tree().equals(eb.tree()) && ea.mtimeNs() != eb.mtimeNs());
        }

        /**
         * A changed link record: its paths whose directory entries are unchanged (so the walk did
         * not meet them) still name a changed inode. Such a path has the same HARDLINK entry, hence
         * the same key, on both sides (the trees are consistent), so its inode is the record itself.
         */
        private void linkRecord(TreeEntry ra, TreeEntry rb) {
            if (ra == null || rb == null) {
                return; // a new or removed key: every name of it changed its entry, and was examined
            }
            Inode ia = new Inode(Entries.inode(ra), ra.linkPaths().size());
            Inode ib = new Inode(Entries.inode(rb), rb.linkPaths().size());
            if (ia.equals(ib)) {
                return;
            }
            TreeSet<String> paths = RawPaths.ofAll(ra.linkPaths());
            paths.retainAll(RawPaths.ofAll(rb.linkPaths()));
            for (String p : paths) {
                if (!examined.contains(p) && !belowWhole(p)) {
                    changes.put(p, Change.modified(RawPaths.display(p), ra.kind(), rb.kind()));
                }
            }
        }

        private boolean belowWhole(String path) {
            for (int i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) {
                if (whole.contains(path.substring(0, i))) {
                    return true;
                }
            }
            return false;
        }
    }

    /** What a non-directory name stands for: its inode and link count. */
    private record Inode(TreeEntry entry, int nlink) {}

    /** One tree and the link records read from it. */
    private static final class Side {
        private final ObjectStore store;
        final Root root;
        /** Link key (raw) → record; empty when the key has none. Changed records are put in first. */
        final Map<String, Optional<TreeEntry>> records = new HashMap<>();

        Side(ObjectStore store, Root root) {
            this.store = store;
            this.root = root;
        }

        Inode resolve(TreeEntry e) {
            if (e.kind() != EntryKind.HARDLINK) {
                return new Inode(Entries.inode(e), 1);
            }
            TreeEntry rec = record(e);
            return new Inode(Entries.inode(rec), rec.linkPaths().size());
        }

        EntryKind kindOf(TreeEntry e) {
            return e.kind() == EntryKind.HARDLINK ? record(e).kind() : e.kind();
        }

        private TreeEntry record(TreeEntry link) {
            String key = RawPaths.of(link.linkKey());
            return records.computeIfAbsent(key, k -> HardLinks.find(store, root, link.linkKey()))
                    .orElseThrow(() ->
                            new MalformedObjectException("hard link " + link.nameString() + " names no link record"));
        }
    }
}
