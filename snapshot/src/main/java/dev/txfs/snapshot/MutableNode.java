package dev.txfs.snapshot;

import java.util.Map;
import java.util.TreeMap;

/**
 * A node of a {@link MutableTree}: one inode's metadata, and per kind its directory children,
 * file content or special payload. Object identity is inode identity: every name of a hard-linked
 * file resolves to the same node. Read access is public; changes go through the tree.
 */
public abstract sealed class MutableNode permits MutableNode.Dir, MutableNode.File, MutableNode.Special {
    final MutableTree tree;
    final long serial;
    final EntryKind kind;
    int mode;
    long uid;
    long gid;
    long mtimeNs;
    long ctimeNs;
    TreeMap<String, byte[]> xattrs;
    /** The directory holding this node's one name; null for the root and for link-group members. */
    Dir parent;

    byte[] name;
    /** Non-null while the node has two or more names. */
    MutableTree.LinkGroup group;

    /**
     * When (a value of the tree's sequence counter) this node's own entry last changed: content,
     * metadata, link count, or for a directory its names. 0: never since it was loaded.
     */
    long changedSeq;
    /** When this node last got a name (created, moved, linked, loaded by a reload); 0: never. */
    long attachedSeq;

    MutableNode(MutableTree tree, TreeEntry e) {
        this.tree = tree;
        this.serial = tree.nextSerial();
        this.kind = e.kind();
        this.mode = e.mode();
        this.uid = e.uid();
        this.gid = e.gid();
        this.mtimeNs = e.mtimeNs();
        this.ctimeNs = e.ctimeNs();
        this.xattrs = new TreeMap<>(e.xattrs());
    }

    /** A number unique to this node object within its tree's life (the fs layer's inode handle). */
    public long serial() {
        return serial;
    }

    public EntryKind kind() {
        return kind;
    }

    public int mode() {
        return mode;
    }

    public int stMode() {
        return kind.typeBits | mode;
    }

    public long uid() {
        return uid;
    }

    public long gid() {
        return gid;
    }

    public long mtimeNs() {
        return mtimeNs;
    }

    public long ctimeNs() {
        return ctimeNs;
    }

    /** See {@link #changedSeq}: the sequence number of this node's last change, 0 if none. */
    public long changedSeq() {
        return changedSeq;
    }

    /** The sequence number of the last time this node got a name, 0 if loaded as stored. */
    public long attachedSeq() {
        return attachedSeq;
    }

    /** Unchanged and where it was since the tree loaded it. */
    public boolean pristine() {
        return changedSeq == 0 && attachedSeq == 0;
    }

    public Map<String, byte[]> xattrs() {
        return java.util.Collections.unmodifiableMap(xattrs);
    }

    public abstract long size();

    public long nlink() {
        return group == null ? 1 : group.paths.size();
    }

    /** The entry this node flushes to (content must have been flushed first for files). */
    TreeEntry.Builder entryBuilder(byte[] entryName) {
        return TreeEntry.builder(entryName, kind)
                .mode(mode)
                .owner(uid, gid)
                .times(mtimeNs, ctimeNs)
                .xattrs(xattrs);
    }

    /** A directory. */
    public static final class Dir extends MutableNode {
        /** The directory as last written; its entries are loaded into {@link #children} on demand. */
        TreeRef base;
        /** Loaded names: a node, or null for a name deleted since {@link #base}. */
        final TreeMap<byte[], MutableNode> children = new TreeMap<>(Directories.NAME_ORDER);
        /** Names whose entries differ from {@link #base}. */
        final java.util.TreeSet<byte[]> changed = new java.util.TreeSet<>(Directories.NAME_ORDER);

        long entries;
        long subdirs;
        boolean listed;
        /** When {@link #base} was last replaced by {@link MutableTree#reload}; nodes loaded from it are that new. */
        long baseSeq;

        Dir(MutableTree tree, TreeEntry e) {
            super(tree, e);
            this.base = new TreeRef(e.tree(), e.dirEntries(), e.dirSubdirs());
            this.entries = e.dirEntries();
            this.subdirs = e.dirSubdirs();
        }

        @Override
        public long size() {
            return entries;
        }

        @Override
        public long nlink() {
            return 2 + subdirs;
        }

        public long entryCount() {
            return entries;
        }

        public Dir parent() {
            return parent;
        }
    }

    /** A regular file. */
    public static final class File extends MutableNode {
        final FileBuffer data;

        File(MutableTree tree, TreeEntry e) {
            super(tree, e);
            this.data = new FileBuffer(e.content());
        }

        @Override
        public long size() {
            return data.size();
        }
    }

    /** A symlink, device, fifo or socket. */
    public static final class Special extends MutableNode {
        byte[] target;
        long rdev;

        Special(MutableTree tree, TreeEntry e) {
            super(tree, e);
            this.target = e.kind() == EntryKind.SYMLINK ? e.symlinkTarget() : null;
            this.rdev = e.rdev();
        }

        public byte[] target() {
            return target == null ? null : target.clone();
        }

        public long rdev() {
            return rdev;
        }

        @Override
        public long size() {
            return target == null ? 0 : target.length;
        }
    }

    @Override
    public String toString() {
        return kind + "#" + serial
                + (name == null ? "" : ":" + new String(name, java.nio.charset.StandardCharsets.UTF_8))
                + (group == null ? "" : " links=" + group.paths.size());
    }
}
