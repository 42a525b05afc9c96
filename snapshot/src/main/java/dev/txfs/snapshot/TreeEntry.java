package dev.txfs.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One name in a directory: its kind, inode metadata and what it refers to. Immutable; change it
 * with {@link #toBuilder()}. A {@link EntryKind#HARDLINK} entry carries only its name and link key:
 * the shared inode is a record (an entry with {@link #linkPaths()}) in the root's link table.
 */
public final class TreeEntry {
    private final byte[] name;
    private final EntryKind kind;
    private final int mode;
    private final long uid;
    private final long gid;
    private final long mtimeNs;
    private final long ctimeNs;
    private final SortedMap<String, byte[]> xattrs;
    private final Content content;
    private final ObjectId tree;
    private final long dirEntries;
    private final long dirSubdirs;
    private final byte[] symlinkTarget;
    private final long rdev;
    private final byte[] linkKey;
    private final List<byte[]> linkPaths;

    private TreeEntry(Builder b) {
        this.name = Objects.requireNonNull(b.name, "name");
        this.kind = Objects.requireNonNull(b.kind, "kind");
        this.mode = b.mode & 07777;
        this.uid = b.uid;
        this.gid = b.gid;
        this.mtimeNs = b.mtimeNs;
        this.ctimeNs = b.ctimeNs;
        this.xattrs = Collections.unmodifiableSortedMap(new TreeMap<>(b.xattrs));
        this.content = kind == EntryKind.FILE ? Objects.requireNonNull(b.content, "content") : null;
        this.tree = kind == EntryKind.DIRECTORY ? Objects.requireNonNull(b.tree, "tree") : null;
        this.dirEntries = b.dirEntries;
        this.dirSubdirs = b.dirSubdirs;
        this.symlinkTarget = kind == EntryKind.SYMLINK ? Objects.requireNonNull(b.symlinkTarget, "target") : null;
        this.rdev = b.rdev;
        this.linkKey = kind == EntryKind.HARDLINK ? Objects.requireNonNull(b.linkKey, "linkKey") : null;
        this.linkPaths = b.linkPaths == null ? null : List.copyOf(b.linkPaths);
    }

    public static Builder builder(byte[] name, EntryKind kind) {
        return new Builder(name, kind);
    }

    public static Builder builder(String name, EntryKind kind) {
        return new Builder(name.getBytes(StandardCharsets.UTF_8), kind);
    }

    public Builder toBuilder() {
        return toBuilder(name);
    }

    private Builder toBuilder(byte[] newName) {
        Builder b = new Builder(newName, kind);
        b.mode = mode;
        b.uid = uid;
        b.gid = gid;
        b.mtimeNs = mtimeNs;
        b.ctimeNs = ctimeNs;
        b.xattrs.putAll(xattrs);
        b.content = content;
        b.tree = tree;
        b.dirEntries = dirEntries;
        b.dirSubdirs = dirSubdirs;
        b.symlinkTarget = symlinkTarget;
        b.rdev = rdev;
        b.linkKey = linkKey;
        b.linkPaths = linkPaths;
        return b;
    }

    /** The name's bytes (file names are bytes, not text). */
    public byte[] name() {
        return name.clone();
    }

    byte[] nameRef() {
        return name;
    }

    /** The name decoded as UTF-8 (lossy for names that are not UTF-8), for display. */
    public String nameString() {
        return new String(name, StandardCharsets.UTF_8);
    }

    public EntryKind kind() {
        return kind;
    }

    /** Permission bits (07777). */
    public int mode() {
        return mode;
    }

    /** st_mode: type bits and permission bits. */
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

    public SortedMap<String, byte[]> xattrs() {
        return xattrs;
    }

    public Content content() {
        return content;
    }

    public ObjectId tree() {
        return tree;
    }

    /** For a directory: how many names it holds. */
    public long dirEntries() {
        return dirEntries;
    }

    /** For a directory: how many of its names are directories (st_nlink is 2 + this). */
    public long dirSubdirs() {
        return dirSubdirs;
    }

    public byte[] symlinkTarget() {
        return symlinkTarget == null ? null : symlinkTarget.clone();
    }

    public long rdev() {
        return rdev;
    }

    public byte[] linkKey() {
        return linkKey == null ? null : linkKey.clone();
    }

    /** For a link record: the absolute paths of all its names, sorted; null for an ordinary entry. */
    public List<byte[]> linkPaths() {
        return linkPaths;
    }

    /** st_size as stat reports it. */
    public long size() {
        return switch (kind) {
            case FILE -> content.size();
            case SYMLINK -> symlinkTarget.length;
            case DIRECTORY -> dirEntries;
            default -> 0;
        };
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TreeEntry e)) {
            return false;
        }
        return Arrays.equals(TreeCodec.encodeEntry(this), TreeCodec.encodeEntry(e));
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(name) * 31 + kind.hashCode();
    }

    @Override
    public String toString() {
        return nameString() + ":" + kind + ":" + Integer.toOctalString(mode);
    }

    /** Builds entries; the fields a kind does not use are ignored. */
    public static final class Builder {
        private final byte[] name;
        private final EntryKind kind;
        private int mode;
        private long uid;
        private long gid;
        private long mtimeNs;
        private long ctimeNs;
        private final TreeMap<String, byte[]> xattrs = new TreeMap<>();
        private Content content;
        private ObjectId tree;
        private long dirEntries;
        private long dirSubdirs;
        private byte[] symlinkTarget;
        private long rdev;
        private byte[] linkKey;
        private List<byte[]> linkPaths;

        private Builder(byte[] name, EntryKind kind) {
            this.name = name.clone();
            this.kind = kind;
        }

        /** The same entry under another name. */
        public Builder withName(byte[] newName) {
            return build().toBuilder(newName);
        }

        public Builder mode(int mode) {
            this.mode = mode & 07777;
            return this;
        }

        public Builder owner(long uid, long gid) {
            this.uid = uid;
            this.gid = gid;
            return this;
        }

        public Builder times(long mtimeNs, long ctimeNs) {
            this.mtimeNs = mtimeNs;
            this.ctimeNs = ctimeNs;
            return this;
        }

        public Builder mtime(long ns) {
            this.mtimeNs = ns;
            return this;
        }

        public Builder ctime(long ns) {
            this.ctimeNs = ns;
            return this;
        }

        public Builder xattrs(Map<String, byte[]> xattrs) {
            this.xattrs.clear();
            this.xattrs.putAll(xattrs);
            return this;
        }

        public Builder content(Content content) {
            this.content = content;
            return this;
        }

        public Builder tree(ObjectId tree, long entries, long subdirs) {
            this.tree = tree;
            this.dirEntries = entries;
            this.dirSubdirs = subdirs;
            return this;
        }

        public Builder tree(TreeRef ref) {
            return tree(ref.id(), ref.entries(), ref.subdirs());
        }

        public Builder symlinkTarget(byte[] target) {
            this.symlinkTarget = target.clone();
            return this;
        }

        public Builder rdev(long rdev) {
            this.rdev = rdev;
            return this;
        }

        public Builder linkKey(byte[] key) {
            this.linkKey = key.clone();
            return this;
        }

        public Builder linkPaths(List<byte[]> paths) {
            this.linkPaths = paths;
            return this;
        }

        public TreeEntry build() {
            return new TreeEntry(this);
        }
    }
}
