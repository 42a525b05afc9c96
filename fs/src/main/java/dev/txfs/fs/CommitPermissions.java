package dev.txfs.fs;

import dev.txfs.fs.fuse.PosixAcl;
import dev.txfs.journal.Change;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.txn.LiveTree;
import dev.txfs.txn.Transaction.Credentials;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The POSIX permission check of a non-root commit: what the commit would change in the live tree
 * must be what its user could have done there, now, with their credentials.
 *
 * <p>Implementation notes. A transaction's view is checked against its base, and the base may be
 * an old snapshot (finding 1 of issue 14: a directory 0777 then, root's 0755 now). So at commit,
 * under the live tree's lock and after the merge, each change the merge would apply (live → merged,
 * {@link dev.txfs.journal.Merge.Result#applied}) is judged as if it were replayed in the live tree:
 *
 * <ul>
 *   <li>A name added, removed or replaced needs write and search on its live directory and search
 *       on every live directory above. In a sticky directory, removing or replacing a name needs
 *       owning the entry or the directory.
 *   <li>A node the commit adds must be the user's: its owner the user, its group one of the user's
 *       groups (or the setgid directory's group it inherits), no setgid bit with a group the user is
 *       not in, no device node, no {@code trusted.*} or {@code security.*} xattr; a directory added
 *       is checked node by node. A node that the same commit removes from elsewhere in the live
 *       tree, unchanged, is a rename: only the two directories are checked (and write on a
 *       directory that changes parent). Hence a non-root commit cannot add a name for another user's
 *       node (a hard link to it, or a copy of it from an old base); it can move one, once per
 *       removal of it.
 *   <li>A directory removed (not moved) is removed node by node: write and search on each directory
 *       in it, the sticky rule for each name.
 *   <li>A node changed in place: new content needs write on the live file (a symlink or a device
 *       node is never written, only replaced), and a non-owner's new content must leave no setuid
 *       bit, no setgid bit with group execute and no {@code security.capability} (clearing them is
 *       allowed, as the kernel clears them on write); mode or ACLs need owning it; a new group
 *       needs owning it and membership of that group; a new owner is never allowed;
 *       {@code user.*} xattrs need write, {@code system.posix_acl_*} ownership, any other namespace
 *       root; a new mtime alone needs owning it, or write on it and a time within the transaction's
 *       life (what {@code utimes(NULL)} would give). A change refused in place passes if replacing
 *       the name with the new node (as an editor's rename over it does) passes.
 * </ul>
 *
 * <p>Permissions are the kernel's ({@link PosixAccess}). Root is not checked (use {@link #of}, which gives {@link LiveTree.CommitCheck#NONE} for root).
 *
 * <p>Cost: O(changes × depth) store reads (each live directory read once), plus the nodes of added
 * or removed directories, which are changes too. Nothing is read where the commit changed nothing.
 *
 * <p>Limits: a change to a hard-linked inode is checked at every path of it (search on each
 * path's directories), which refuses more than the kernel would when one path is reachable and
 * another is not. Inode change times are not compared.
 */
public final class CommitPermissions implements LiveTree.CommitCheck {
    private static final int W = PosixAccess.W, X = PosixAccess.X;
    private static final int S_ISUID = 04000, S_ISGID = 02000, S_ISVTX = 01000, S_IXGRP = 010;
    private static final String CAPABILITY = "security.capability";

    private final Credentials creds;
    private final long sinceNs;
    private final LongSupplier clock;

    private CommitPermissions(Credentials creds, long sinceNs, LongSupplier clock) {
        this.creds = creds;
        this.sinceNs = sinceNs;
        this.clock = clock;
    }

    /**
     * The check of a commit made as {@code creds}: none for root. {@code sinceNs} is when the changes
     * began (the transaction's start, a kept run's base): an mtime set in [sinceNs, now] is one that
     * {@code utimes} to "now" could have given.
     */
    public static LiveTree.CommitCheck of(Credentials creds, long sinceNs, LongSupplier clock) {
        return creds.isRoot() ? LiveTree.CommitCheck.NONE : new CommitPermissions(creds, sinceNs, clock);
    }

    /**
     * The check of committing the run kept as snapshot {@code kept} ({@code txfs commit --run}, an
     * isolated mount's commit) as {@code creds}: its changes may have begun at its base's time.
     */
    public static LiveTree.CommitCheck ofKept(ObjectStore store, ObjectId kept, Credentials creds, LongSupplier clock) {
        if (creds.isRoot()) {
            return LiveTree.CommitCheck.NONE;
        }
        List<ObjectId> parents = Snapshots.load(store, kept).parents();
        long since = parents.size() == 1 ? Snapshots.load(store, parents.get(0)).timeNs() : 0;
        return new CommitPermissions(creds, since, clock);
    }

    @Override
    public List<String> refused(ObjectStore store, ObjectId live, ObjectId merged, List<Change> applied) {
        return new Run(new StoredTree(store, live), new StoredTree(store, merged)).check(applied);
    }

    /** A node as a rename keeps it: everything but its name, link paths and change time. */
    private record Identity(
            EntryKind kind,
            int mode,
            long uid,
            long gid,
            long mtimeNs,
            Content content,
            ObjectId tree,
            String target,
            long rdev,
            Map<String, String> xattrs) {
        static Identity of(TreeEntry inode) {
            Map<String, String> x = new TreeMap<>();
            inode.xattrs().forEach((k, v) -> x.put(k, HexFormat.of().formatHex(v)));
            return new Identity(
                    inode.kind(),
                    inode.mode(),
                    inode.uid(),
                    inode.gid(),
                    inode.mtimeNs(),
                    inode.content(),
                    inode.tree(),
                    inode.symlinkTarget() == null ? null : HexFormat.of().formatHex(inode.symlinkTarget()),
                    inode.rdev(),
                    x);
        }
    }

    /** One check: the two trees and what has been found. */
    private final class Run {
        private final StoredTree live;
        private final StoredTree merged;
        /** Live directory (raw path) → why a name may not be added or removed there, if it may not. */
        private final Map<String, Optional<String>> writable = new HashMap<>();
        /** Live directory (raw path) → why it may not be searched (it or one above), if it may not. */
        private final Map<String, Optional<String>> searchable = new HashMap<>();
        /**
         * Nodes the commit removes from the live tree, and how many times (each removal lets one added
         * name be a rename of it); and the nodes it adds.
         */
        private final Map<Identity, Integer> removed = new HashMap<>();

        private final Map<Identity, String> added = new HashMap<>();

        Run(StoredTree live, StoredTree merged) {
            this.live = live;
            this.merged = merged;
        }

        List<String> check(List<Change> applied) {
            for (Change c : applied) {
                Optional<TreeEntry> l = live.find(c.raw());
                Optional<TreeEntry> m = merged.find(c.raw());
                if (l.isPresent() && (m.isEmpty() || replaced(l.get(), m.get()))) {
                    removed.merge(Identity.of(live.inode(l.get())), 1, Integer::sum);
                }
                if (m.isPresent() && (l.isEmpty() || replaced(l.get(), m.get()))) {
                    added.put(Identity.of(merged.inode(m.get())), c.raw());
                }
            }
            List<String> out = new ArrayList<>();
            for (Change c : applied) {
                String why = change(c.raw());
                if (why != null) {
                    out.add(c.path() + ": " + why);
                }
            }
            return out;
        }

        /** Whether the name's node is another kind now: the name was replaced, not changed in place. */
        private boolean replaced(TreeEntry l, TreeEntry m) {
            return live.inode(l).kind() != merged.inode(m).kind();
        }

        /** Why the change at {@code raw} is refused, or null. */
        private String change(String raw) {
            Optional<TreeEntry> l = live.find(raw);
            Optional<TreeEntry> m = merged.find(raw);
            if (l.isEmpty() && m.isEmpty()) {
                return null;
            }
            if (l.isEmpty()) {
                return firstOf(nameChange(raw), () -> newNode(raw, m.get()));
            }
            if (m.isEmpty()) {
                return firstOf(removal(raw, l.get()), () -> null);
            }
            if (replaced(l.get(), m.get())) {
                return replacement(raw, l.get(), m.get());
            }
            String inPlace = inPlace(raw, live.inode(l.get()), merged.inode(m.get()));
            if (inPlace == null || l.get().kind() == EntryKind.DIRECTORY) {
                return inPlace;
            }
            return replacement(raw, l.get(), m.get()) == null ? null : inPlace;
        }

        private String replacement(String raw, TreeEntry l, TreeEntry m) {
            return firstOf(removal(raw, l), () -> newNode(raw, m));
        }

        private static String firstOf(String a, Supplier<String> b) {
            return a != null ? a : b.get();
        }

        /** Why the live name at {@code raw} may not be removed (or replaced), or null. */
        private String removal(String raw, TreeEntry l) {
            String why = nameChange(raw);
            if (why != null) {
                return why;
            }
            why = sticky(StoredTree.parentOf(raw), live.inode(l));
            if (why != null) {
                return why;
            }
            TreeEntry node = live.inode(l);
            String to = added.get(Identity.of(node));
            if (node.kind() == EntryKind.DIRECTORY) {
                if (to == null) {
                    return emptying(raw, node);
                }
                if (!StoredTree.parentOf(to).equals(StoredTree.parentOf(raw)) && !access(node, W)) {
                    return "moving a directory to another one needs write permission on it";
                }
            }
            return null;
        }

        /** Why the live directory at {@code raw} may not be emptied name by name (rm -r), or null. */
        private String emptying(String raw, TreeEntry dir) {
            if (!live.list(dir).isEmpty() && !access(dir, W | X)) {
                return "removing what " + StoredTree.display(raw) + " holds needs write and search on it";
            }
            for (TreeEntry e : live.list(dir)) {
                String path = StoredTree.child(raw, e.name());
                TreeEntry node = live.inode(e);
                String why = sticky(dir, node, raw);
                if (why == null && node.kind() == EntryKind.DIRECTORY) {
                    why = emptying(path, node);
                }
                if (why != null) {
                    return why;
                }
            }
            return null;
        }

        /** Why a name may not be added to or removed from the live directory of {@code raw}, or null. */
        private String nameChange(String raw) {
            String dir = StoredTree.parentOf(raw);
            return writable.computeIfAbsent(dir, d -> Optional.ofNullable(reachable(d, W | X)))
                    .orElse(null);
        }

        /** Why {@code dir} is not a live directory with {@code want}, searchable from the root, or null. */
        private String reachable(String dir, int want) {
            if (!dir.isEmpty()) {
                String up = StoredTree.parentOf(dir);
                Optional<String> known = searchable.get(up);
                if (known == null) {
                    known = Optional.ofNullable(reachable(up, X));
                    searchable.put(up, known);
                }
                String above = known.orElse(null);
                if (above != null) {
                    return above;
                }
            }
            Optional<TreeEntry> d = live.find(dir);
            if (d.isEmpty() || d.get().kind() != EntryKind.DIRECTORY) {
                return StoredTree.display(dir) + " is not a directory in the live tree";
            }
            if (!access(d.get(), want)) {
                return (want == X ? "needs search permission on " : "needs write and search permission on ")
                        + StoredTree.display(dir);
            }
            return null;
        }

        private String sticky(String dir, TreeEntry node) {
            return live.find(dir).map(d -> sticky(d, node, dir)).orElse(null);
        }

        /** Why the sticky bit of {@code d} forbids removing {@code node} from it, or null. */
        private String sticky(TreeEntry d, TreeEntry node, String dir) {
            if ((d.mode() & S_ISVTX) != 0 && node.uid() != creds.uid() && d.uid() != creds.uid()) {
                return StoredTree.display(dir) + " is sticky and neither it nor the entry is the user's";
            }
            return null;
        }

        /** Why the node the commit puts at {@code raw} may not be added, or null. */
        private String newNode(String raw, TreeEntry m) {
            TreeEntry node = merged.inode(m);
            Identity id = Identity.of(node);
            Integer left = removed.get(id);
            if (left != null) {
                // a rename of a live node: its directories are checked where it left. One removal
                // makes one rename: a second name for it would be a hard link (protected_hardlinks)
                if (left == 1) {
                    removed.remove(id);
                } else {
                    removed.put(id, left - 1);
                }
                return null;
            }
            TreeEntry parent = merged.find(StoredTree.parentOf(raw)).orElse(null);
            return ownNode(raw, node, parent);
        }

        /** Why {@code node} (and all below it) is not a node the user could have made, or null. */
        private String ownNode(String raw, TreeEntry node, TreeEntry parent) {
            String name = StoredTree.display(raw);
            if (node.uid() != creds.uid()) {
                return name + " is owned by uid " + node.uid() + ": only root may add another user's node";
            }
            boolean inherited = parent != null && (parent.mode() & S_ISGID) != 0 && parent.gid() == node.gid();
            if (!creds.inGroup(node.gid()) && !inherited) {
                return name + " has group " + node.gid() + ", not one of the user's";
            }
            if (node.kind() != EntryKind.DIRECTORY && (node.mode() & S_ISGID) != 0 && !creds.inGroup(node.gid())) {
                return name + " is setgid to group " + node.gid() + ", not one of the user's";
            }
            if (node.kind() == EntryKind.CHAR_DEVICE || node.kind() == EntryKind.BLOCK_DEVICE) {
                return name + " is a device node: only root may add one";
            }
            for (String key : node.xattrs().keySet()) {
                if (key.startsWith("trusted.") || key.startsWith("security.")) {
                    return name + " has xattr " + key + ": only root may set one";
                }
            }
            if (node.kind() == EntryKind.DIRECTORY) {
                for (TreeEntry e : merged.list(node)) {
                    String why = ownNode(StoredTree.child(raw, e.name()), merged.inode(e), node);
                    if (why != null) {
                        return why;
                    }
                }
            }
            return null;
        }

        /** Why the live node {@code l} may not become {@code m} in place (same kind), or null. */
        private String inPlace(String raw, TreeEntry l, TreeEntry m) {
            boolean dir = l.kind() == EntryKind.DIRECTORY;
            boolean owner = l.uid() == creds.uid();
            if (l.uid() != m.uid()) {
                return "changing the owner to uid " + m.uid() + " needs root";
            }
            boolean content = !dir
                    && (!Objects.equals(l.content(), m.content())
                            || !Arrays.equals(l.symlinkTarget(), m.symlinkTarget())
                            || l.rdev() != m.rdev());
            if (content && l.kind() != EntryKind.FILE) {
                // a symlink's mode (0777) says nothing: its target is changed by replacing it
                return "changing a " + l.kind().name().toLowerCase().replace('_', ' ')
                        + " means replacing it, which needs write and search on its directory";
            }
            if (content && !access(l, W)) {
                return "changing its content needs write permission on it";
            }
            boolean killPriv = content && !owner;
            if (killPriv && privileged(m)) {
                return "would keep set-id bits/capability on a file changed by a non-owner";
            }
            if (l.mode() != m.mode() && !owner && !(killPriv && m.mode() == (l.mode() & ~killedBits(l.mode())))) {
                return "changing its mode needs owning it";
            }
            if (l.gid() != m.gid() && !(owner && creds.inGroup(m.gid()))) {
                return "changing its group to " + m.gid() + " needs owning it and being in that group";
            }
            String why = xattrs(l, m, owner, killPriv);
            if (why != null) {
                return why;
            }
            if (!content && l.mtimeNs() != m.mtimeNs() && !owner) {
                boolean now = m.mtimeNs() >= sinceNs && m.mtimeNs() <= clock.getAsLong();
                if (!(dir ? access(l, W | X) : now && access(l, W))) {
                    return "setting its modification time needs owning it";
                }
            }
            return null;
        }

        /**
         * Why the xattr changes from {@code l} to {@code m} are refused, or null. {@code killPriv}: a
         * non-owner changed the content, which drops the file's capability (cap_inode_killpriv).
         */
        private String xattrs(TreeEntry l, TreeEntry m, boolean owner, boolean killPriv) {
            SortedMap<String, byte[]> all = new TreeMap<>(l.xattrs());
            all.putAll(m.xattrs());
            for (String key : all.keySet()) {
                if (Arrays.equals(l.xattrs().get(key), m.xattrs().get(key))) {
                    continue;
                }
                if (killPriv && key.equals(CAPABILITY) && !m.xattrs().containsKey(key)) {
                    continue;
                }
                if (key.startsWith("user.")) {
                    if (!access(l, W)) {
                        return "changing xattr " + key + " needs write permission on it";
                    }
                } else if (key.equals(PosixAcl.ACCESS) || key.equals(PosixAcl.DEFAULT)) {
                    if (!owner) {
                        return "changing its ACL needs owning it";
                    }
                } else {
                    return "changing xattr " + key + " needs root";
                }
            }
            return null;
        }

        /**
         * Whether {@code node} keeps what the kernel drops when a non-owner changes a file's content
         * (should_remove_suid, cap_inode_killpriv): the setuid bit, the setgid bit of a group-executable
         * file, a file capability. The view drops them on write and truncate, but not on every path
         * that changes content (fallocate, page write-back), so the commit refuses what still has them.
         */
        private static boolean privileged(TreeEntry node) {
            return (node.mode() & killedBits(node.mode())) != 0 || node.xattrs().containsKey(CAPABILITY);
        }

        /** The mode bits a change of content by a non-owner clears, of a file with {@code mode}. */
        private static int killedBits(int mode) {
            return S_ISUID | ((mode & S_IXGRP) != 0 ? S_ISGID : 0);
        }

        /** Whether the user has {@code want} (rwx bits) on the node, as the kernel decides. */
        private boolean access(TreeEntry node, int want) {
            return PosixAccess.permits(creds, node, want);
        }
    }
}
