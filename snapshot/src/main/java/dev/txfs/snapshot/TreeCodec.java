package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Canonical bytes of tree nodes, root objects and entries.
 *
 * <pre>
 * tree node   := 03 01 kind:u8 (0 leaf | 1 internal)
 *   leaf      := count:varint entry*            entries sorted by name, unsigned bytewise, no duplicates
 *   internal  := depth:u8 bitmap:u32le child*    one child per set bit, low bit first
 *   child     := id:32 entries:varint subdirs:varint
 * root        := 05 01 entry(name empty, kind DIRECTORY) hasLinks:u8 [links:child]
 * entry       := nameLen:varint name kind:u8 body [paths]
 *   kind      := EntryKind code, | 0x80 when a link record (paths follow)
 *   HARDLINK  := key:(varint len, bytes)         nothing else: the inode is the record
 *   others    := mode:varint uid:varint gid:varint mtime:zigzag-ns
 *                xattrCount:varint (name:(varint len, utf8) value:(varint len, bytes))* sorted by name
 *                then FILE:    size:varint tag:u8 (0 inline: size bytes | 1 chunk: id:32 | 2 blob: id:32)
 *                     DIR:     tree:child
 *                     SYMLINK: target:(varint len, bytes)
 *                     CHR/BLK: rdev:varint
 *                     FIFO/SOCKET: nothing
 *   paths     := count:varint (varint len, bytes)*   absolute paths, sorted
 * </pre>
 *
 * Everything is hashed; nothing in an object depends on where or when it was written. Of the
 * three times only mtime is stored: atime would make reading change a tree id, and ctime cannot
 * be restored by a checkout (nor set by any tool), so storing it would give every copy of a tree
 * a different id. A decoded entry's ctime is its mtime. Decoders check every length against the
 * remaining input before allocating.
 */
final class TreeCodec {
    static final int MAX_NAME = 4096;
    static final int MAX_XATTR_VALUE = 1 << 20;
    static final int MAX_ENTRIES = 1 << 24;
    private static final int LEAF = 0;
    private static final int INTERNAL = 1;
    private static final int RECORD_FLAG = 0x80;

    private TreeCodec() {}

    static byte[] encodeEntry(TreeEntry e) {
        ByteWriter w = new ByteWriter(64 + e.nameRef().length);
        writeEntry(w, e);
        return w.toByteArray();
    }

    static void writeEntry(ByteWriter w, TreeEntry e) {
        w.lengthPrefixed(e.nameRef());
        w.u8(e.kind().code | (e.linkPaths() != null ? RECORD_FLAG : 0));
        if (e.kind() == EntryKind.HARDLINK) {
            w.lengthPrefixed(e.linkKey());
        } else {
            w.varint(e.mode()).varint(e.uid()).varint(e.gid()).zigzag(e.mtimeNs());
            w.varint(e.xattrs().size());
            for (Map.Entry<String, byte[]> x : e.xattrs().entrySet()) {
                w.string(x.getKey()).lengthPrefixed(x.getValue());
            }
            switch (e.kind()) {
                case FILE -> {
                    Content c = e.content();
                    w.varint(c.size());
                    if (c.isInline()) {
                        w.u8(0).bytes(c.inlineData());
                    } else {
                        w.u8(c.isBlob() ? 2 : 1).id(c.id());
                    }
                }
                case DIRECTORY -> w.id(e.tree()).varint(e.dirEntries()).varint(e.dirSubdirs());
                case SYMLINK -> w.lengthPrefixed(e.symlinkTarget());
                case CHAR_DEVICE, BLOCK_DEVICE -> w.varint(e.rdev());
                default -> {}
            }
        }
        if (e.linkPaths() != null) {
            w.varint(e.linkPaths().size());
            for (byte[] p : e.linkPaths()) {
                w.lengthPrefixed(p);
            }
        }
    }

    static TreeEntry readEntry(ByteReader r) {
        byte[] name = r.lengthPrefixed("entry name", r.remaining());
        int kindByte = r.u8("entry kind");
        if ((kindByte & RECORD_FLAG) == 0 && name.length > MAX_NAME) {
            throw new MalformedObjectException("entry name length out of range: " + name.length);
        }
        EntryKind kind = EntryKind.ofCode(kindByte & ~RECORD_FLAG);
        TreeEntry.Builder b = TreeEntry.builder(name, kind);
        if (kind == EntryKind.HARDLINK) {
            b.linkKey(r.lengthPrefixed("link key", r.remaining()));
        } else {
            b.mode(r.boundedInt("mode", 07777));
            b.owner(r.varint("uid"), r.varint("gid"));
            long mtime = r.zigzag("mtime");
            b.times(mtime, mtime); // ctime is not stored: see the class comment
            int nx = r.boundedInt("xattr count", r.remaining());
            TreeMap<String, byte[]> xattrs = new TreeMap<>();
            for (int i = 0; i < nx; i++) {
                String xname = r.string("xattr name", 255);
                if (xattrs.put(xname, r.lengthPrefixed("xattr value", MAX_XATTR_VALUE)) != null
                        || !xattrs.lastKey().equals(xname)) {
                    throw new MalformedObjectException("xattrs not sorted or duplicated at " + xname);
                }
            }
            b.xattrs(xattrs);
            switch (kind) {
                case FILE -> {
                    long size = r.varint("file size");
                    int tag = r.u8("content tag");
                    if (tag == 0) {
                        if (size > Content.INLINE_MAX) {
                            throw new MalformedObjectException("inline content of " + size + " bytes");
                        }
                        b.content(Content.inline(r.bytes((int) size, "inline content")));
                    } else if (tag == 1 || tag == 2) {
                        ObjectId id = r.id("content id");
                        b.content(tag == 1 ? Content.chunk(id, size) : Content.blob(id, size));
                    } else {
                        throw new MalformedObjectException("unknown content tag " + tag);
                    }
                }
                case DIRECTORY -> b.tree(r.id("tree id"), r.varint("dir entries"), r.varint("dir subdirs"));
                case SYMLINK -> b.symlinkTarget(r.lengthPrefixed("symlink target", MAX_NAME));
                case CHAR_DEVICE, BLOCK_DEVICE -> b.rdev(r.varint("rdev"));
                default -> {}
            }
        }
        if ((kindByte & RECORD_FLAG) != 0) {
            int n = r.boundedInt("link path count", r.remaining());
            List<byte[]> paths = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                paths.add(r.lengthPrefixed("link path", r.remaining()));
            }
            b.linkPaths(paths);
        }
        return b.build();
    }

    static byte[] encodeLeaf(List<TreeEntry> sorted) {
        ByteWriter w = ObjectType.TREE.header(64 * sorted.size()).u8(LEAF).varint(sorted.size());
        for (TreeEntry e : sorted) {
            writeEntry(w, e);
        }
        return w.toByteArray();
    }

    static byte[] encodeInternal(int depth, TreeNode.Child[] children) {
        int bitmap = 0;
        for (int i = 0; i < children.length; i++) {
            if (children[i] != null) {
                bitmap |= 1 << i;
            }
        }
        ByteWriter w = ObjectType.TREE
                .header(48 * Integer.bitCount(bitmap))
                .u8(INTERNAL)
                .u8(depth)
                .u32le(bitmap);
        for (TreeNode.Child c : children) {
            if (c != null) {
                w.id(c.id()).varint(c.entries()).varint(c.subdirs());
            }
        }
        return w.toByteArray();
    }

    static TreeNode decodeNode(byte[] canonical) {
        ByteReader r = ObjectType.TREE.body(canonical);
        int kind = r.u8("node kind");
        if (kind == LEAF) {
            int n = r.boundedInt("entry count", r.remaining());
            List<TreeEntry> entries = new ArrayList<>(n);
            byte[] prev = null;
            for (int i = 0; i < n; i++) {
                TreeEntry e = readEntry(r);
                if (prev != null && Arrays.compareUnsigned(prev, e.nameRef()) >= 0) {
                    throw new MalformedObjectException("tree entries not sorted at " + e.nameString());
                }
                prev = e.nameRef();
                entries.add(e);
            }
            r.expectEnd("tree leaf");
            return TreeNode.leaf(entries);
        } else if (kind == INTERNAL) {
            int depth = r.u8("node depth");
            int bitmap = r.u32le("child bitmap");
            TreeNode.Child[] children = new TreeNode.Child[TreeNode.FANOUT];
            for (int i = 0; i < TreeNode.FANOUT; i++) {
                if ((bitmap & (1 << i)) != 0) {
                    children[i] =
                            new TreeNode.Child(r.id("child id"), r.varint("child entries"), r.varint("child subdirs"));
                }
            }
            r.expectEnd("tree node");
            return TreeNode.internal(depth, children);
        }
        throw new MalformedObjectException("unknown tree node kind " + kind);
    }

    static byte[] encodeRoot(Root root) {
        ByteWriter w = ObjectType.ROOT.header(128);
        writeEntry(w, root.dir());
        if (root.links() == null) {
            w.u8(0);
        } else {
            w.u8(1)
                    .id(root.links().id())
                    .varint(root.links().entries())
                    .varint(root.links().subdirs());
        }
        return w.toByteArray();
    }

    static Root decodeRoot(byte[] canonical) {
        ByteReader r = ObjectType.ROOT.body(canonical);
        TreeEntry dir = readEntry(r);
        if (dir.kind() != EntryKind.DIRECTORY || dir.nameRef().length != 0) {
            throw new MalformedObjectException("root entry is not an unnamed directory");
        }
        int has = r.u8("link table flag");
        TreeRef links = null;
        if (has == 1) {
            links = new TreeRef(r.id("link table id"), r.varint("link count"), r.varint("link subdirs"));
        } else if (has != 0) {
            throw new MalformedObjectException("bad link table flag " + has);
        }
        r.expectEnd("root");
        return new Root(dir, links);
    }
}
