package dev.txfs.journal;

import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import java.util.List;
import java.util.Objects;

/**
 * Three-way merge of trees: what {@code txfs commit} does with a transaction ("ours"), the live
 * tree as it is at commit time ("theirs") and the tree the transaction started from ("base").
 *
 * <p>The rules:
 *
 * <ul>
 *   <li>The result is theirs with ours' changes (relative to base) applied on top. If ours is base
 *       the result is theirs; if theirs is base (or ours), it is ours.
 *   <li>A path changed on one side only takes that side's entry. A path changed on both sides is
 *       a conflict unless both made exactly the same change: the same resulting entry (every
 *       field: kind, content, mode, owner, mtime, xattrs), or both deleted it.
 *   <li>A directory that is a directory on both sides (changed on both) is merged name by name,
 *       recursively: changes to different names inside it do not conflict. Its mode, uid, gid and
 *       xattrs (the xattrs as one value) each take the side that changed them; changed on both
 *       sides differently, they conflict at the directory's path. Its mtime is the later of the two
 *       sides'. A directory added on both sides is merged the same way from an empty base (so its
 *       metadata must be equal on both sides), and so is one that both sides made out of a
 *       non-directory.
 *   <li>Hence a directory deleted, or replaced by a non-directory, on one side while the other
 *       changed anything in it (or its own entry) is a conflict at the directory's path; so is a
 *       name added on both sides with different entries, unless both are directories.
 *   <li>Hard links ({@link dev.txfs.snapshot.HardLinks}): directory entries that are hard links
 *       merge as entries (name and key), and the link table merges record by record, by key: a
 *       record's inode (kind, metadata, content) by the rules above, as one value; its path set
 *       three ways (theirs, minus the paths ours removed, plus the paths ours added). A record
 *       deleted on one side and changed on the other, or whose inode changed on both sides
 *       differently, is a conflict at all of its paths. Then the result is checked: for every key
 *       whose record ours changed, each path of the record must be a hard link to that key in the
 *       merged tree and no other path may be; the record must have two paths or more and be keyed
 *       by the smallest. A failed check is a conflict at the record's paths: a broken tree is
 *       never written. (Only those keys need checking: any other key's record and names come
 *       unchanged from theirs, and theirs is consistent.)
 *   <li>The root directory's own entry merges by the directory rules, at the path "/".
 * </ul>
 *
 * <p>A conflicting merge returns every conflicting path, each once, sorted, and no root; objects it
 * wrote are unreferenced. The merged root id is a function of the three inputs alone.
 *
 * <p>Cost: O((ours' changes) × depth) reads and writes; theirs is read only where ours changed
 * something ({@link DirectoryDiff} carries it along the walk of base against ours), plus, for
 * {@link Result#applied}, a {@link Diff} of theirs against the result.
 *
 * <p>Threads: {@code out} belongs to the calling thread. The merged objects are staged in
 * {@code out}; the caller flushes it before publishing the root.
 */
public final class Merge {
    private Merge() {}

    /**
     * The outcome of a merge.
     *
     * @param root the merged Root's id; null when there are conflicts
     * @param conflicts the conflicting paths (display form, as {@link Change#path()}), sorted by
     *     their bytes; empty when merged
     * @param applied ours' changes as they landed on theirs: the paths whose entries in the merged
     *     tree differ from theirs (as {@link Diff#between} of theirs and the result); empty on conflict
     */
    public record Result(ObjectId root, List<String> conflicts, List<Change> applied) {
        public Result {
            conflicts = List.copyOf(conflicts);
            applied = List.copyOf(applied);
            if ((root == null) == conflicts.isEmpty()) {
                throw new IllegalArgumentException("a result has a root or conflicts, not both");
            }
        }

        /** Whether the merge succeeded (no conflicts). */
        public boolean merged() {
            return root != null;
        }
    }

    /**
     * Merges ours' changes since {@code base} into {@code theirs} (all three: Root object ids in
     * {@code store}), writing new objects with {@code out}, which must write to {@code store}.
     */
    public static Result threeWay(ObjectStore store, ObjectWriter out, ObjectId base, ObjectId ours, ObjectId theirs) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(ours, "ours");
        Objects.requireNonNull(theirs, "theirs");
        if (ours.equals(base) || ours.equals(theirs)) {
            return new Result(theirs, List.of(), List.of());
        }
        if (theirs.equals(base)) {
            return new Result(ours, List.of(), Diff.between(store, theirs, ours));
        }
        return new TreeMerger(store, out, base, ours, theirs).merge();
    }
}
