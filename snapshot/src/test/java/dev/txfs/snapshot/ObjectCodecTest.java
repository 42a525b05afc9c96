package dev.txfs.snapshot;

import static dev.txfs.snapshot.SampleObjects.id;
import static dev.txfs.snapshot.SampleObjects.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Round trips and canonical form of every object encoding. */
final class ObjectCodecTest {

    // ---- helpers -------------------------------------------------------------------------------

    static void assertSameEntry(TreeEntry expected, TreeEntry actual) {
        String n = expected.nameString();
        assertArrayEquals(expected.name(), actual.name(), n);
        assertEquals(expected.kind(), actual.kind(), n);
        assertEquals(expected.mode(), actual.mode(), n);
        assertEquals(expected.uid(), actual.uid(), n);
        assertEquals(expected.gid(), actual.gid(), n);
        assertEquals(expected.mtimeNs(), actual.mtimeNs(), n);
        assertEquals(expected.mtimeNs(), actual.ctimeNs(), n + ": ctime is not stored, it decodes as mtime");
        assertEquals(expected.xattrs().keySet(), actual.xattrs().keySet(), n);
        for (Map.Entry<String, byte[]> x : expected.xattrs().entrySet()) {
            assertArrayEquals(x.getValue(), actual.xattrs().get(x.getKey()), n + " xattr " + x.getKey());
        }
        assertEquals(expected.content(), actual.content(), n);
        assertEquals(expected.tree(), actual.tree(), n);
        assertEquals(expected.dirEntries(), actual.dirEntries(), n);
        assertEquals(expected.dirSubdirs(), actual.dirSubdirs(), n);
        assertArrayEquals(expected.symlinkTarget(), actual.symlinkTarget(), n);
        assertEquals(expected.rdev(), actual.rdev(), n);
        assertArrayEquals(expected.linkKey(), actual.linkKey(), n);
        if (expected.linkPaths() == null) {
            assertNull(actual.linkPaths(), n);
        } else {
            assertEquals(expected.linkPaths().size(), actual.linkPaths().size(), n);
            for (int i = 0; i < expected.linkPaths().size(); i++) {
                assertArrayEquals(
                        expected.linkPaths().get(i), actual.linkPaths().get(i), n + " path " + i);
            }
        }
        assertEquals(expected, actual, n);
    }

    static byte[] reencodeNode(TreeNode node) {
        return node.isLeaf() ? TreeCodec.encodeLeaf(node.entries) : TreeCodec.encodeInternal(node.depth, node.children);
    }

    // ---- chunks and blobs ----------------------------------------------------------------------

    @Test
    void chunk_encodeThenDecode_returnsTheDataAfterATwoByteHeader() {
        byte[] data = SampleObjects.random(1, 1000);
        byte[] enc = Chunks.encode(data, 100, 500);
        assertEquals(ObjectType.CHUNK, ObjectType.of(enc));
        assertEquals(Chunks.DATA_OFFSET + 500, enc.length);
        assertArrayEquals(Arrays.copyOfRange(data, 100, 600), Chunks.decode(enc));
        assertArrayEquals(new byte[0], Chunks.decode(Chunks.encode(new byte[0], 0, 0)));
    }

    @Test
    void blob_encodeThenDecode_roundTripsAndReencodesToTheSameBytes() {
        Blob b = SampleObjects.blob();
        byte[] enc = b.encode();
        Blob d = Blob.decode(enc);
        assertEquals(b, d);
        assertEquals(
                b.size(), d.chunks().stream().mapToLong(Blob.ChunkRef::length).sum());
        assertArrayEquals(enc, d.encode());
        assertEquals(new Blob(0, List.of()), Blob.decode(new Blob(0, List.of()).encode()));
    }

    @Test
    void blob_decode_whenChunkLengthsDoNotSumToSize_isMalformed() {
        byte[] enc = new Blob(10, List.of(new Blob.ChunkRef(id("a"), 4), new Blob.ChunkRef(id("b"), 5))).encode();
        var e = assertThrows(MalformedObjectException.class, () -> Blob.decode(enc));
        assertTrue(e.getMessage().contains("sum to 9"), e.getMessage());
    }

    @Test
    void blob_decode_whenAChunkIsEmpty_isMalformed() {
        byte[] enc = new Blob(0, List.of(new Blob.ChunkRef(id("a"), 0))).encode();
        assertThrows(MalformedObjectException.class, () -> Blob.decode(enc));
    }

    @Test
    void decode_whenBytesAreAnotherType_isMalformedAndNamesBoth() {
        byte[] snapshot = SampleObjects.snapshot().encode();
        var e = assertThrows(MalformedObjectException.class, () -> Blob.decode(snapshot));
        assertTrue(e.getMessage().contains("expected a blob, found a snapshot"), e.getMessage());
        assertThrows(
                MalformedObjectException.class,
                () -> Snapshot.decode(SampleObjects.blob().encode()));
        assertThrows(MalformedObjectException.class, () -> TreeCodec.decodeNode(snapshot));
        assertThrows(MalformedObjectException.class, () -> Root.decode(SampleObjects.leafBytes()));
        assertThrows(MalformedObjectException.class, () -> Chunks.decode(SampleObjects.leafBytes()));
    }

    @Test
    void objectType_of_whenVersionIsNotOne_isMalformed() {
        byte[] enc = SampleObjects.blob().encode();
        enc[1] = 2;
        var e = assertThrows(MalformedObjectException.class, () -> ObjectType.of(enc));
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
        assertThrows(MalformedObjectException.class, () -> ObjectType.of(new byte[] {9, 1}));
        assertThrows(MalformedObjectException.class, () -> ObjectType.of(new byte[] {2}));
    }

    @Test
    void decode_whenTrailingBytesFollow_isMalformed() {
        for (Map.Entry<String, byte[]> e : SampleObjects.encodings().entrySet()) {
            if (e.getKey().equals("chunk")) {
                continue; // a chunk is all data
            }
            byte[] longer = Arrays.copyOf(e.getValue(), e.getValue().length + 1);
            assertThrows(
                    MalformedObjectException.class, () -> DecoderFuzzTest.decodeAny(longer), e.getKey() + " + 1 byte");
        }
    }

    // ---- snapshots and roots -------------------------------------------------------------------

    @Test
    void snapshot_encodeThenDecode_roundTripsIncludingNegativeTimeAndUnicode() {
        Snapshot s = SampleObjects.snapshot();
        byte[] enc = s.encode();
        Snapshot d = Snapshot.decode(enc);
        assertEquals(s, d);
        assertArrayEquals(enc, d.encode());
        Snapshot first = new Snapshot(id("r"), List.of(), 0, "", "");
        assertEquals(first, Snapshot.decode(first.encode()));
    }

    @Test
    void root_encodeThenDecode_roundTripsWithAndWithoutLinkTable() {
        for (boolean links : new boolean[] {true, false}) {
            Root r = SampleObjects.root(links);
            byte[] enc = r.encode();
            Root d = Root.decode(enc);
            assertSameEntry(r.dir(), d.dir());
            assertEquals(r.links(), d.links());
            assertArrayEquals(enc, d.encode());
        }
    }

    @Test
    void root_decode_whenEntryIsNotAnUnnamedDirectory_isMalformed() {
        TreeEntry named =
                TreeEntry.builder("x", EntryKind.DIRECTORY).tree(id("t"), 0, 0).build();
        byte[] enc = new Root(named, null).encode();
        assertThrows(MalformedObjectException.class, () -> Root.decode(enc));
    }

    // ---- tree nodes ----------------------------------------------------------------------------

    @Test
    void leaf_encodeThenDecode_keepsEveryFieldOfEveryKind() {
        List<TreeEntry> entries = SampleObjects.allKinds();
        byte[] enc = TreeCodec.encodeLeaf(entries);
        TreeNode node = TreeCodec.decodeNode(enc);
        assertTrue(node.isLeaf());
        assertEquals(entries.size(), node.entries.size());
        for (int i = 0; i < entries.size(); i++) {
            assertSameEntry(entries.get(i), node.entries.get(i));
        }
        assertArrayEquals(enc, reencodeNode(node));
    }

    @Test
    void entry_encodeThenDecode_keepsUidOf2To32Minus1AndNanosecondMtimeButNotCtime() {
        TreeEntry e = TreeEntry.builder("f", EntryKind.FILE)
                .owner(4_294_967_295L, 4_294_967_294L)
                .times(-1, 1_234_567_890_123_456_789L)
                .content(Content.EMPTY)
                .build();
        TreeEntry d =
                TreeCodec.decodeNode(TreeCodec.encodeLeaf(List.of(e))).entries.get(0);
        assertEquals(4_294_967_295L, d.uid());
        assertEquals(4_294_967_294L, d.gid());
        assertEquals(-1, d.mtimeNs());
        assertEquals(-1, d.ctimeNs(), "ctime is not stored: a checkout could never restore it");
    }

    @Test
    void entry_decode_keepsNonUtf8NameBytesExactly() {
        byte[] name = {(byte) 0xc3, (byte) 0x28, (byte) 0xff, 0x01};
        TreeEntry e = TreeEntry.builder(name, EntryKind.FIFO).build();
        TreeEntry d =
                TreeCodec.decodeNode(TreeCodec.encodeLeaf(List.of(e))).entries.get(0);
        assertArrayEquals(name, d.name());
    }

    @Test
    void internal_encodeThenDecode_keepsDepthAndChildrenInTheirSlots() {
        TreeNode.Child[] children = SampleObjects.children();
        byte[] enc = TreeCodec.encodeInternal(3, children);
        TreeNode node = TreeCodec.decodeNode(enc);
        assertFalse(node.isLeaf());
        assertEquals(3, node.depth);
        assertArrayEquals(children, node.children);
        assertArrayEquals(enc, reencodeNode(node));
    }

    @Test
    void directoryOfThousandEntries_everyNodeReencodesToItsOwnBytes() {
        InMemoryObjectStore store = new InMemoryObjectStore();
        List<TreeEntry> entries = new ArrayList<>();
        List<TreeEntry> kinds = SampleObjects.allKinds();
        for (int i = 0; i < 1000; i++) {
            TreeEntry k = kinds.get(i % kinds.size());
            entries.add(k.toBuilder().withName(utf8("n" + i)).build());
        }
        TreeRef ref;
        try (ObjectWriter w = store.newWriter()) {
            ref = Directories.write(w, entries);
        }
        List<ObjectId> nodes = new ArrayList<>();
        Directories.forEachNodeId(store, ref.id(), nodes::add);
        assertTrue(nodes.size() > 1, "1000 entries make more than one node");
        for (ObjectId id : nodes) {
            byte[] raw = store.get(id);
            assertArrayEquals(raw, reencodeNode(TreeCodec.decodeNode(raw)), id.toHex());
            assertEquals(id, ObjectId.hash(raw));
        }
    }

    @Test
    void leaf_decode_whenEntriesAreNotSorted_isMalformed() {
        TreeEntry a = TreeEntry.builder("a", EntryKind.FIFO).build();
        TreeEntry b = TreeEntry.builder("b", EntryKind.FIFO).build();
        assertThrows(MalformedObjectException.class, () -> TreeCodec.decodeNode(TreeCodec.encodeLeaf(List.of(b, a))));
        assertThrows(MalformedObjectException.class, () -> TreeCodec.decodeNode(TreeCodec.encodeLeaf(List.of(a, a))));
    }

    @Test
    void internal_decode_whenDepthExceedsTheHash_isMalformed() {
        byte[] enc = TreeCodec.encodeInternal(50, SampleObjects.children());
        assertThrows(MalformedObjectException.class, () -> TreeCodec.decodeNode(enc));
    }

    /**
     * Regression guard: the canonical form of a varint is its shortest one. A decoder that also
     * accepts a padded form ({@code 0x85 0x00} for 5) gives one logical object two encodings, so
     * {@code encode(decode(bytes)) != bytes} and an imported object may not be the object txfs would
     * write for the same state.
     */
    @Test
    void decode_whenAVarintHasARedundantZeroByte_isMalformed() {
        Snapshot s = new Snapshot(id("r"), List.of(), 5, "a", "m");
        byte[] enc = s.encode();
        // header(2) root(32) parentCount(1) time(1: zigzag 5 = 10) author...
        int timeAt = 2 + 32 + 1;
        assertEquals(10, enc[timeAt]);
        byte[] padded = new byte[enc.length + 1];
        System.arraycopy(enc, 0, padded, 0, timeAt);
        padded[timeAt] = (byte) (10 | 0x80);
        padded[timeAt + 1] = 0;
        System.arraycopy(enc, timeAt + 1, padded, timeAt + 2, enc.length - timeAt - 1);
        assertThrows(
                MalformedObjectException.class,
                () -> Snapshot.decode(padded),
                "a padded varint decodes to the same snapshot under another id");
    }

    /**
     * Whatever the encoder writes, the decoder must read back. A hard link deep in a tree has an
     * absolute path longer than 4096 bytes (Linux limits path arguments to 4096 bytes, not the depth
     * of a tree), and the record's key and path list hold that path.
     */
    @Test
    void decode_whenAHardLinkPathIsLongerThan4096Bytes_readsTheRecordBack() {
        StringBuilder deep = new StringBuilder();
        while (deep.length() <= 5000) {
            deep.append("/a-directory-name-of-some-length");
        }
        byte[] longPath = utf8(deep + "/file");
        TreeEntry record = HardLinks.record(
                TreeEntry.builder("x", EntryKind.FILE).content(Content.EMPTY).build(), List.of(longPath, utf8("/z")));
        TreeEntry link = HardLinks.link(utf8("file"), longPath);
        byte[] links = TreeCodec.encodeLeaf(List.of(record));
        byte[] dir = TreeCodec.encodeLeaf(List.of(link));
        assertSameEntry(record, TreeCodec.decodeNode(links).entries.get(0));
        assertSameEntry(link, TreeCodec.decodeNode(dir).entries.get(0));
    }

    // ---- object ids ----------------------------------------------------------------------------

    @Test
    void objectId_hash_isSha256OfAllTheBytes() {
        assertEquals(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                ObjectId.hash(new byte[0]).toHex());
        assertEquals(
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                ObjectId.hash(utf8("abc")).toHex());
        byte[] buf = utf8("xxabcxx");
        assertEquals(ObjectId.hash(utf8("abc")), ObjectId.hash(buf, 2, 3));
    }

    @Test
    void objectId_parseOfToHex_returnsAnEqualId() {
        for (int i = 0; i < 100; i++) {
            ObjectId id = id("id" + i);
            String hex = id.toHex();
            assertEquals(64, hex.length());
            assertTrue(hex.matches("[0-9a-f]{64}"), hex);
            ObjectId parsed = ObjectId.parse(hex);
            assertEquals(id, parsed);
            assertEquals(id.hashCode(), parsed.hashCode());
            assertEquals(hex, parsed.toString());
            assertEquals(hex.substring(0, 12), parsed.shortHex());
            assertEquals(id, ObjectId.fromBytes(id.toBytes(), 0));
        }
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "abc",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
                "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                " 3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85-"
            })
    void objectId_parse_whenNot64HexDigits_throwsIllegalArgument(String s) {
        var e = assertThrows(IllegalArgumentException.class, () -> ObjectId.parse(s));
        assertTrue(e.getMessage().contains("64 hex digits"), e.getMessage());
    }

    @Test
    void objectId_fromBytes_whenFewerThan32Bytes_throwsIllegalArgument() {
        assertThrows(IllegalArgumentException.class, () -> ObjectId.fromBytes(new byte[40], 9));
    }

    @Test
    void objectId_compareTo_ordersBytesUnsigned() {
        HexFormat hex = HexFormat.of();
        ObjectId low = ObjectId.parse("7f" + "ff".repeat(31));
        ObjectId high = ObjectId.parse("80" + "00".repeat(31));
        assertTrue(low.compareTo(high) < 0);
        assertTrue(high.compareTo(low) > 0);
        assertEquals(0, high.compareTo(ObjectId.fromBytes(hex.parseHex("80" + "00".repeat(31)), 0)));
        assertFalse(low.equals(high));
    }
}
