package dev.txfs.fs;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.MalformedObjectException;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One stored tree read by path, for {@link CommitPermissions}: each directory on a path is read
 * once, so n lookups cost O(n × depth) store reads at most.
 *
 * <p>Paths are raw, as {@link dev.txfs.journal.Change#raw()}: "" for the root, "/a/b" below it,
 * one char per byte (ISO-8859-1), so names that are not UTF-8 are exact.
 *
 * <p>Threads: one caller at a time (the commit, under the live tree's lock).
 */
final class StoredTree {
    private final ObjectStore store;
    private final Root root;
    private final Map<String, Optional<TreeEntry>> byPath = new HashMap<>();

    StoredTree(ObjectStore store, ObjectId rootId) {
        this.store = store;
        this.root = Snapshots.loadRoot(store, rootId);
        byPath.put("", Optional.of(root.dir()));
    }

    /** The entry at {@code raw} as stored (a hard link unresolved: see {@link #inode}). */
    Optional<TreeEntry> find(String raw) {
        Optional<TreeEntry> known = byPath.get(raw);
        if (known != null) {
            return known;
        }
        int slash = raw.lastIndexOf('/');
        Optional<TreeEntry> parent = find(parentOf(raw));
        Optional<TreeEntry> e = parent.filter(p -> p.kind() == EntryKind.DIRECTORY)
                .flatMap(p -> Directories.find(
                        store, p.tree(), raw.substring(slash + 1).getBytes(ISO_8859_1)));
        byPath.put(raw, e);
        return e;
    }

    /** What a name stands for: itself, or for a hard link the record of its inode. */
    TreeEntry inode(TreeEntry e) {
        if (e.kind() != EntryKind.HARDLINK) {
            return e;
        }
        return HardLinks.find(store, root, e.linkKey())
                .orElseThrow(
                        () -> new MalformedObjectException("hard link " + e.nameString() + " names no link record"));
    }

    /** A directory's entries. */
    List<TreeEntry> list(TreeEntry dir) {
        return Directories.list(store, dir.tree());
    }

    /** The raw path of {@code raw}'s directory ("" for a name in the root). */
    static String parentOf(String raw) {
        return raw.substring(0, Math.max(0, raw.lastIndexOf('/')));
    }

    /** {@code raw}'s child {@code name}. */
    static String child(String raw, byte[] name) {
        return raw + "/" + new String(name, ISO_8859_1);
    }

    /** A raw path for people: names decoded as UTF-8, "/" for the root. */
    static String display(String raw) {
        return raw.isEmpty() ? "/" : new String(raw.getBytes(ISO_8859_1), UTF_8);
    }
}
