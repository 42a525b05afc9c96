package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How hard links are represented so that a tree id stays deterministic.
 *
 * <p>A set of names sharing one inode (two or more names inside the tree) is a <em>link group</em>.
 * Each name is a {@link EntryKind#HARDLINK} entry carrying the group's key; the inode itself (kind,
 * metadata, content) is a <em>record</em> in the root's link table: an entry named by the key with
 * the sorted absolute paths of all its names. The key is the smallest of those paths (bytewise), so
 * it is a function of the filesystem's state alone, not of the order links were made. A group that
 * shrinks to one name becomes an ordinary entry again. nlink of a record is its path count.
 */
public final class HardLinks {
    private HardLinks() {}

    /** The record of a group: {@code inode}'s metadata and content, named by the smallest path. */
    public static TreeEntry record(TreeEntry inode, List<byte[]> paths) {
        if (paths.size() < 2) {
            throw new IllegalArgumentException("a link group has at least two names");
        }
        if (inode.kind() == EntryKind.DIRECTORY || inode.kind() == EntryKind.HARDLINK) {
            throw new IllegalArgumentException("cannot hard-link a " + inode.kind());
        }
        List<byte[]> sorted = new ArrayList<>(paths);
        sorted.sort(Directories.NAME_ORDER);
        return inode.toBuilder().withName(sorted.get(0)).linkPaths(sorted).build();
    }

    /** One name of a group. */
    public static TreeEntry link(byte[] name, byte[] key) {
        return TreeEntry.builder(name, EntryKind.HARDLINK).linkKey(key).build();
    }

    /** The record for a HARDLINK entry's key in a root's link table. */
    public static Optional<TreeEntry> find(ObjectStore store, Root root, byte[] key) {
        return root.links() == null
                ? Optional.empty()
                : Directories.find(store, root.links().id(), key);
    }

    /** Writes a root object from the root directory's entry and the records of all link groups. */
    public static ObjectId writeRoot(ObjectWriter out, TreeEntry rootDir, List<TreeEntry> records) {
        TreeRef links = records.isEmpty() ? null : Directories.write(out, records);
        return out.put(new Root(rootDir.toBuilder().withName(new byte[0]).build(), links).encode());
    }
}
