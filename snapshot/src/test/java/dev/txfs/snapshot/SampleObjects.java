package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/** Valid objects of every type and tree entries of every kind, for codec, fuzz and store tests. */
final class SampleObjects {
    static final long UID_MAX_32 = (1L << 32) - 1;

    private SampleObjects() {}

    /** A deterministic, distinct id for a label (not the id of any stored object). */
    static ObjectId id(String label) {
        return ObjectId.hash(label.getBytes(UTF_8));
    }

    static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] utf8(String s) {
        return s.getBytes(UTF_8);
    }

    /** Xattrs with text and binary values, including an empty one and all byte values. */
    static Map<String, byte[]> xattrs() {
        TreeMap<String, byte[]> x = new TreeMap<>();
        x.put("security.selinux", utf8("system_u:object_r:bin_t:s0\0"));
        x.put("trusted.empty", new byte[0]);
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        x.put("user.binary", all);
        x.put("user.ünïcödé", new byte[] {(byte) 0xff, 0, (byte) 0x80});
        return x;
    }

    /** One entry of every kind and content form, sorted by name as a leaf needs them. */
    static List<TreeEntry> allKinds() {
        List<TreeEntry> out = new ArrayList<>();
        out.add(TreeEntry.builder("file-inline", EntryKind.FILE)
                .mode(0644)
                .owner(1000, 1000)
                .times(1_700_000_000_123_456_789L, 1_700_000_000_987_654_321L)
                .content(Content.inline(utf8("hello, world\n")))
                .build());
        out.add(TreeEntry.builder("file-empty", EntryKind.FILE)
                .mode(0600)
                .content(Content.EMPTY)
                .build());
        out.add(TreeEntry.builder("file-inline-64", EntryKind.FILE)
                .mode(0644)
                .content(Content.inline(random(64, Content.INLINE_MAX)))
                .build());
        out.add(TreeEntry.builder("file-chunk", EntryKind.FILE)
                .mode(04755)
                .owner(UID_MAX_32, UID_MAX_32)
                .times(-1L, Long.MIN_VALUE)
                .xattrs(xattrs())
                .content(Content.chunk(id("chunk"), 12_345))
                .build());
        out.add(TreeEntry.builder("file-blob", EntryKind.FILE)
                .mode(07777)
                .owner(0, UID_MAX_32)
                .times(Long.MAX_VALUE, -1_000_000_001L)
                .content(Content.blob(id("blob"), 1L << 40))
                .build());
        out.add(TreeEntry.builder("dir", EntryKind.DIRECTORY)
                .mode(0755)
                .owner(0, 0)
                .times(1, 2)
                .xattrs(Map.of("user.a", utf8("b")))
                .tree(id("tree"), 100_000, 17)
                .build());
        out.add(TreeEntry.builder("symlink", EntryKind.SYMLINK)
                .mode(0777)
                .symlinkTarget(new byte[] {'.', '.', '/', (byte) 0xff, (byte) 0xfe, 'x'})
                .build());
        out.add(TreeEntry.builder("chr", EntryKind.CHAR_DEVICE)
                .mode(0666)
                .rdev((1L << 8) | 3) // /dev/null: major 1, minor 3
                .build());
        out.add(TreeEntry.builder("blk", EntryKind.BLOCK_DEVICE)
                .mode(0660)
                .owner(0, 6)
                .rdev(0xfff_ffff_ffffL) // large major and minor
                .build());
        out.add(TreeEntry.builder("fifo", EntryKind.FIFO).mode(0600).build());
        out.add(TreeEntry.builder("socket", EntryKind.SOCKET).mode(0755).build());
        out.add(HardLinks.link(utf8("hardlink"), utf8("/a/first-name")));
        out.add(HardLinks.record(
                TreeEntry.builder("x", EntryKind.FILE)
                        .mode(0640)
                        .owner(5, 6)
                        .xattrs(Map.of("user.k", new byte[] {0}))
                        .content(Content.chunk(id("linked"), 70))
                        .build(),
                List.of(utf8("/zz/second"), utf8("/a/first"))));
        out.add(HardLinks.record(
                TreeEntry.builder("x", EntryKind.SYMLINK)
                        .symlinkTarget(utf8("target"))
                        .build(),
                List.of(utf8("/b/one"), utf8("/b/two"), utf8("/c/three"))));
        // Names that are not UTF-8, and one that sorts last only when bytes compare unsigned.
        out.add(TreeEntry.builder(new byte[] {(byte) 0xff, (byte) 0xfe}, EntryKind.FILE)
                .content(Content.inline(new byte[] {1}))
                .build());
        out.add(TreeEntry.builder(new byte[] {(byte) 0x80}, EntryKind.FIFO).build());
        out.add(TreeEntry.builder(new byte[] {'a', '\n', 'b', 0x7f}, EntryKind.SOCKET)
                .build());
        out.sort((a, b) -> Directories.NAME_ORDER.compare(a.name(), b.name()));
        return out;
    }

    static byte[] leafBytes() {
        return TreeCodec.encodeLeaf(allKinds());
    }

    /** An internal node with children in the first, a middle and the last (sign bit) slot. */
    static TreeNode.Child[] children() {
        TreeNode.Child[] c = new TreeNode.Child[TreeNode.FANOUT];
        c[0] = new TreeNode.Child(id("c0"), 300, 2);
        c[5] = new TreeNode.Child(id("c5"), 1, 0);
        c[17] = new TreeNode.Child(id("c17"), Long.MAX_VALUE, 0);
        c[31] = new TreeNode.Child(id("c31"), 257, 257);
        return c;
    }

    static byte[] internalBytes() {
        return TreeCodec.encodeInternal(3, children());
    }

    static Blob blob() {
        List<Blob.ChunkRef> chunks = new ArrayList<>();
        long size = 0;
        int[] lengths = {16_384, 65_536, 1, 262_144, 127, Integer.MAX_VALUE};
        for (int i = 0; i < lengths.length; i++) {
            chunks.add(new Blob.ChunkRef(id("chunk" + i), lengths[i]));
            size += lengths[i];
        }
        return new Blob(size, chunks);
    }

    static Snapshot snapshot() {
        return new Snapshot(
                id("root"),
                List.of(id("parent1"), id("parent2")),
                -86_400_000_000_123L,
                "Ada Lövelace <ada@example.org>",
                "first line\n\nbody with ünïcödé and a tab\t and emoji \uD83D\uDE80");
    }

    static Root root(boolean withLinks) {
        TreeEntry dir = TreeEntry.builder(new byte[0], EntryKind.DIRECTORY)
                .mode(0755)
                .owner(0, 0)
                .times(-5, 5)
                .xattrs(xattrs())
                .tree(id("top"), 12, 3)
                .build();
        return new Root(dir, withLinks ? new TreeRef(id("links"), 2, 0) : null);
    }

    static byte[] chunkBytes() {
        return Chunks.encode(random(9, 300), 0, 300);
    }

    /** Valid canonical encodings, one or more per object type. */
    static Map<String, byte[]> encodings() {
        Map<String, byte[]> m = new java.util.LinkedHashMap<>();
        m.put("chunk", chunkBytes());
        m.put("blob", blob().encode());
        m.put("tree-leaf", leafBytes());
        m.put("tree-internal", internalBytes());
        m.put("snapshot", snapshot().encode());
        m.put("root", root(true).encode());
        m.put("root-without-links", root(false).encode());
        return m;
    }
}
