package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.journal.DeltaReader.DeltaException;
import dev.txfs.journal.DeltaReader.Problem;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.SignedStatement;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.TreeEntry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link DeltaReader}: every kind of bad stream is rejected by name, and the store stays as it was. */
final class DeltaReaderTest {
    private final InMemoryObjectStore source = new InMemoryObjectStore();
    private ObjectId base;
    private ObjectId next;
    /** A store holding the base, with HEAD at it: where streams are imported. */
    private InMemoryObjectStore target;

    @BeforeEach
    void setUp() throws Exception {
        base = DeltaFixture.base(source);
        next = DeltaFixture.next(source, base);
        target = DeltaFixture.copyOf(source, base);
        target.refs().compareAndSet("HEAD", null, base);
    }

    /** check then apply, as txfs import does. */
    private static DeltaReader.Checked importInto(ObjectStore store, byte[] stream, Collection<Ed25519.Public> trust)
            throws Exception {
        DeltaReader.Checked c = DeltaReader.check(DeltaReader.Source.of(stream), store, trust);
        c.apply(store, "HEAD", store.refs().find("HEAD").orElse(null));
        return c;
    }

    private void rejected(byte[] stream, Problem problem, Collection<Ed25519.Public> trust) {
        DeltaFixture.State before = DeltaFixture.state(target);
        DeltaException e = assertThrows(DeltaException.class, () -> importInto(target, stream, trust));
        assertEquals(problem, e.problem(), e.getMessage());
        assertEquals(-1, e.getMessage().indexOf('\n'), "one line");
        assertEquals(before, DeltaFixture.state(target), "the store is unchanged");
    }

    private void rejected(byte[] stream, Problem problem) {
        rejected(stream, problem, List.of());
    }

    private byte[] delta() throws Exception {
        return DeltaFixture.stream(source, base, next, null);
    }

    @Test
    void import_goodDelta_movesHeadToTheTarget() throws Exception {
        DeltaReader.Checked c = importInto(target, delta(), List.of());
        assertEquals(next, target.refs().find("HEAD").orElseThrow());
        assertEquals(null, c.signer());
    }

    @Test
    void import_badMagicVersionOrFlags_isMalformed() throws Exception {
        for (int[] edit : new int[][] {{0, 'X'}, {8, 0}, {8, 4}, {9, 3}}) {
            byte[] s = delta();
            s[edit[0]] = (byte) edit[1];
            rejected(s, Problem.MALFORMED);
        }
    }

    @Test
    void import_version1Stream_stillImports_andPackingMakesTheStreamSmaller() throws Exception {
        byte[] v1 = DeltaFixture.stream(source, base, next, null, 0);
        byte[] v2 = delta();
        assertEquals(1, v1[8]);
        assertEquals(2, v2[8]);
        assertEquals(-1, packedRecordAt(v1));
        assertTrue(packedRecordAt(v2) > 0, "the fixture's text file is packed");
        assertTrue(v2.length < v1.length - 10_000, v2.length + " vs " + v1.length);
        importInto(target, v1, List.of());
        assertEquals(next, target.refs().find("HEAD").orElseThrow());
    }

    @Test
    void import_everyLevel_givesTheSameObjects() throws Exception {
        byte[] v1 = DeltaFixture.stream(source, base, next, null, 0);
        for (int level = 1; level <= 9; level++) {
            InMemoryObjectStore t = DeltaFixture.copyOf(source, base);
            DeltaReader.Checked c = DeltaReader.check(
                    DeltaReader.Source.of(DeltaFixture.stream(source, base, next, null, level)), t, List.of());
            c.apply(t, "HEAD", null);
            assertEquals(DeltaFixture.reachable(source, next), DeltaFixture.reachable(t, next), "level " + level);
            assertTrue(c.bytes() < v1.length, "level " + level);
        }
    }

    @Test
    void import_packedRecordInAVersion1Stream_isMalformed() throws Exception {
        byte[] s = delta();
        s[8] = 1;
        DeltaException e = assertThrows(
                DeltaException.class, () -> DeltaReader.check(DeltaReader.Source.of(s), target, List.of()));
        assertEquals(Problem.MALFORMED, e.problem());
        assertTrue(e.getMessage().contains("unknown record tag 4"), e.getMessage());
    }

    @Test
    void import_packedRecordWhoseLengthsDisagreeWithItsData_isMalformed() throws Exception {
        int at = packedRecordAt(delta());
        int lengthAt = at + 1 + 1 + 32;
        int length = ByteBuffer.wrap(delta()).getInt(lengthAt);
        int zlength = ByteBuffer.wrap(delta()).getInt(lengthAt + 4);
        int[][] edits = {
            {lengthAt, length - 1}, // inflates to more
            {lengthAt, length + 1}, // inflates to less
            {lengthAt + 4, 0}, // no compressed bytes
            {lengthAt + 4, length + 1}, // "compressed" bigger than the object
            {lengthAt, zlength * DeltaStream.MAX_RATIO + 1}, // more than DEFLATE can inflate to
        };
        for (int[] edit : edits) {
            byte[] s = delta();
            ByteBuffer.wrap(s).putInt(edit[0], edit[1]);
            rejected(s, Problem.MALFORMED);
        }
        byte[] s = delta();
        s[lengthAt + 8] = (byte) 0xff; // the first block header: a reserved block type
        rejected(s, Problem.MALFORMED);
    }

    /** Where the first packed record of a stream starts, or -1. */
    private static int packedRecordAt(byte[] s) {
        return recordAt(s, DeltaStream.TAG_PACKED);
    }

    /** Where the first record with {@code tag} starts, or -1. */
    static int recordAt(byte[] s, int tag) {
        ByteBuffer b = ByteBuffer.wrap(s);
        int p = 8 + 2 + 32 * ((s[9] & DeltaStream.FLAG_BASE) != 0 ? 2 : 1);
        while (s[p] != tag && s[p] != DeltaStream.TAG_END) {
            int q = p + 1 + 1 + 32;
            int length = b.getInt(q);
            p = switch (s[p]) {
                case DeltaStream.TAG_OBJECT -> q + 4 + length;
                case DeltaStream.TAG_PACKED -> q + 8 + b.getInt(q + 4);
                default -> { // a delta record
                    int r = q + 4 + 1 + 32 * s[q + 4];
                    yield r + 8 + b.getInt(r + 4);
                }
            };
        }
        return s[p] == tag ? p : -1;
    }

    @Test
    void import_editedChunk_travelsAsADeltaRecordAgainstTheBase() throws Exception {
        byte[] v1 = DeltaFixture.stream(source, base, next, null, 0);
        byte[] v2 = delta();
        assertTrue(recordAt(v2, DeltaStream.TAG_DELTA) > 0, "the chunk of /bin/tool with one bit changed");
        assertTrue(v2.length < v1.length / 4, v2.length + " vs " + v1.length);
        importInto(target, v2, List.of());
        assertEquals(DeltaFixture.reachable(source, next), DeltaFixture.reachable(target, next));
    }

    @Test
    void import_deltaRecordWhoseBaseChunkIsMissingOrWhoseLengthsAreWrong_isRejected() throws Exception {
        int at = recordAt(delta(), DeltaStream.TAG_DELTA);
        int nbaseAt = at + 1 + 1 + 32 + 4;
        byte[] s = delta();
        s[nbaseAt + 1] ^= 1; // the first base id
        rejected(s, Problem.BASE_MISSING);
        int lengthsAt = nbaseAt + 1 + 32 * delta()[nbaseAt];
        int[][] edits = {
            {nbaseAt - 4, 3 << 20}, // the chunk's length over a chunk's limit
            {lengthsAt, 0}, // no operations
            {lengthsAt + 4, 0}, // no compressed bytes
            {lengthsAt, ByteBuffer.wrap(delta()).getInt(lengthsAt) + 1}, // inflates to fewer
        };
        for (int[] edit : edits) {
            byte[] t = delta();
            ByteBuffer.wrap(t).putInt(edit[0], edit[1]);
            rejected(t, Problem.MALFORMED);
        }
        byte[] u = delta();
        u[nbaseAt] = 0;
        rejected(u, Problem.MALFORMED);
        byte[] v = delta();
        v[at + 1] = 3; // says it holds a tree node
        rejected(v, Problem.MALFORMED);
    }

    @Test
    void import_truncatedAnywhere_isTruncated() throws Exception {
        byte[] s = delta();
        for (int len : new int[] {0, 5, 9, 40, 75, 200, s.length / 2, s.length - 33, s.length - 1}) {
            rejected(Arrays.copyOf(s, len), Problem.TRUNCATED);
        }
    }

    @Test
    void import_flippedObjectByte_isHashMismatch() throws Exception {
        byte[] s = DeltaFixture.stream(source, null, base, null);
        s[s.length / 2] ^= 0x10; // inside the 120 KB file's data, stored as it is (random)
        rejected(s, Problem.HASH_MISMATCH);
    }

    @Test
    void import_flippedDigestOrCount_isHashMismatch() throws Exception {
        byte[] s = delta();
        s[s.length - 1] ^= 1;
        rejected(s, Problem.HASH_MISMATCH);
        byte[] t = delta();
        t[t.length - 33] ^= 1; // last byte of the count
        rejected(t, Problem.HASH_MISMATCH);
    }

    @Test
    void import_trailingBytes_isMalformed() throws Exception {
        byte[] s = delta();
        rejected(Arrays.copyOf(s, s.length + 1), Problem.MALFORMED);
    }

    @Test
    void import_hugeObjectLength_isRejectedWithoutAllocating() throws Exception {
        byte[] s = delta();
        int lengthAt = 8 + 2 + 32 + 32 + 1 + 1 + 32; // first object's length field
        ByteBuffer.wrap(s).putInt(lengthAt, 0x7fff_fff0);
        rejected(s, Problem.TOO_LARGE);
        ByteBuffer.wrap(s).putInt(lengthAt, 0x0100_0000); // within the limit, past the end
        rejected(s, Problem.TRUNCATED);
    }

    @Test
    void import_baseNotInStore_isBaseMissing() throws Exception {
        target = new InMemoryObjectStore();
        rejected(delta(), Problem.BASE_MISSING);
    }

    @Test
    void import_streamLackingAnObject_isMissingObject() throws Exception {
        Delta d = Delta.between(source, base, next);
        List<ObjectId> fewer = new ArrayList<>(d.objects());
        fewer.remove(fewer.size() - 1);
        rejected(write(new Delta(base, next, fewer, List.of()), null), Problem.MISSING_OBJECT);
    }

    @Test
    void import_objectNotReachableFromTheTarget_isMalformed() throws Exception {
        Delta d = Delta.between(source, base, next);
        List<ObjectId> more = new ArrayList<>(d.objects());
        more.add(Snapshot.decode(source.get(base)).root());
        rejected(write(new Delta(base, next, more, List.of()), null), Problem.MALFORMED);
    }

    @Test
    void import_targetNotASnapshot_isMalformed() throws Exception {
        ObjectId root = Snapshot.decode(source.get(next)).root();
        Delta d = Delta.between(source, base, next);
        rejected(
                write(new Delta(base, root, d.objects().subList(1, d.objects().size()), List.of()), null),
                Problem.MALFORMED);
    }

    @Test
    void import_namesThatLeaveTheTree_areUnsafePath() throws Exception {
        for (String name : new String[] {"..", ".", "", "a/b", "a\0b"}) {
            rejected(fullStreamOfTreeWith(name.getBytes(UTF_8)), Problem.UNSAFE_PATH);
        }
    }

    @Test
    void import_linkRecordWithDotDotPath_isUnsafePath() throws Exception {
        InMemoryObjectStore s = new InMemoryObjectStore();
        TreeEntry inode = file("x");
        List<byte[]> paths = List.of("/a".getBytes(UTF_8), "/../etc/passwd".getBytes(UTF_8));
        try (ObjectWriter w = s.newWriter()) {
            TreeEntry record = HardLinks.record(inode, paths);
            List<TreeEntry> entries = List.of(HardLinks.link("a".getBytes(UTF_8), record.name()));
            ObjectId root = HardLinks.writeRoot(w, dir(Directories.write(w, entries)), List.of(record));
            ObjectId snap = w.put(new Snapshot(root, List.of(), 1, "t", "m").encode());
            w.flush();
            rejected(DeltaFixture.stream(s, null, snap, null), Problem.UNSAFE_PATH);
        }
    }

    /**
     * A link record's name is an absolute path ("/etc/x"); placed in a directory instead of the
     * link table it would pose as an entry whose name holds '/'. Each name is safe on its own, so
     * only checking where the node sits catches it.
     */
    @Test
    void import_linkRecordInADirectory_isUnsafePath() throws Exception {
        InMemoryObjectStore s = new InMemoryObjectStore();
        List<byte[]> paths = List.of("/etc/x".getBytes(UTF_8), "/etc/y".getBytes(UTF_8));
        try (ObjectWriter w = s.newWriter()) {
            TreeEntry record = HardLinks.record(file("x"), paths);
            ObjectId root = HardLinks.writeRoot(w, dir(Directories.write(w, List.of(record))), List.of());
            ObjectId snap = w.put(new Snapshot(root, List.of(), 1, "t", "m").encode());
            w.flush();
            rejected(DeltaFixture.stream(s, null, snap, null), Problem.UNSAFE_PATH);
        }
    }

    @Test
    void import_objectOfTheWrongTypeInASlot_isMalformed() throws Exception {
        InMemoryObjectStore s = new InMemoryObjectStore();
        try (ObjectWriter w = s.newWriter()) {
            ObjectId tree = Directories.write(w, List.of(file("x"))).id();
            ObjectId snap = w.put(new Snapshot(tree, List.of(), 1, "t", "m").encode()); // root names a tree node
            w.flush();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            DeltaStream.write(s, new Delta(null, snap, List.of(snap, tree), List.of()), out, null);
            rejected(out.toByteArray(), Problem.MALFORMED);
        }
    }

    @Test
    void import_signedByTrustedKey_isVerified() throws Exception {
        Ed25519.Secret key = Ed25519.generate();
        DeltaReader.Checked c =
                importInto(target, DeltaFixture.stream(source, base, next, key), List.of(key.publicKey()));
        assertTrue(c.signatureVerified());
        assertEquals(key.publicKey().id(), c.signer());
    }

    @Test
    void import_unsignedWhenKeysAreTrusted_isUnsigned() throws Exception {
        rejected(delta(), Problem.UNSIGNED, List.of(Ed25519.generate().publicKey()));
    }

    @Test
    void import_signedByAnotherKey_isUnknownKey() throws Exception {
        byte[] s = DeltaFixture.stream(source, base, next, Ed25519.generate());
        rejected(s, Problem.UNKNOWN_KEY, List.of(Ed25519.generate().publicKey()));
    }

    @Test
    void import_tamperedSignature_isBadSignature() throws Exception {
        Ed25519.Secret key = Ed25519.generate();
        byte[] s = DeltaFixture.stream(source, base, next, key);
        s[s.length - 5] ^= 1;
        rejected(s, Problem.BAD_SIGNATURE, List.of(key.publicKey()));
    }

    /** A signed statement (and its signature) taken from another stream of the same signer. */
    @Test
    void import_statementMovedToAnotherStream_isBadSignature() throws Exception {
        Ed25519.Secret key = Ed25519.generate();
        byte[] signedFull = DeltaFixture.stream(source, null, base, key);
        byte[] signedDelta = DeltaFixture.stream(source, base, next, key);
        int record = statementRecordLength();
        byte[] graft = Arrays.copyOf(signedDelta, signedDelta.length);
        System.arraycopy(signedFull, signedFull.length - record, graft, graft.length - record, record);
        DeltaException e = assertThrows(
                DeltaException.class,
                () -> DeltaReader.check(DeltaReader.Source.of(graft), target, List.of(key.publicKey())));
        assertTrue(e.getMessage().contains("about another stream"), e.getMessage());
        rejected(graft, Problem.BAD_SIGNATURE, List.of(key.publicKey()));
    }

    /** The statement's ref renamed after signing ("HEAD" to "HEAE"): the signature no longer holds. */
    @Test
    void import_statementEditedAfterSigning_isBadSignature() throws Exception {
        Ed25519.Secret key = Ed25519.generate();
        byte[] s = DeltaFixture.stream(source, base, next, key);
        int at = s.length - statementRecordLength();
        assertEquals(DeltaStream.TAG_STATEMENT, s[at]);
        int last = at + 3 + 2 + 3; // tag, length:u16, purpose, ref length, "HEA"
        assertEquals('D', s[last], "the ref name's last letter");
        s[last] = 'E';
        rejected(s, Problem.BAD_SIGNATURE, List.of(key.publicKey()));
    }

    /**
     * Regression (issue 14, finding 10): a stream signed by txfs before stream version 3 (a
     * signature of the digest only, in the delta corpus) imported with trusted keys: it binds no
     * ref and no version, so it could be replayed onto any ref; it is refused as unsigned.
     */
    @Test
    void import_version2SignatureWhenKeysAreTrusted_isUnsigned() throws Exception {
        Path corpus = Path.of(getClass()
                        .getResource("/delta-corpus/base-next-signed-v2.pub")
                        .toURI())
                .getParent();
        byte[] old = Files.readAllBytes(corpus.resolve("base-next-signed-v2.txfsdelta"));
        Ed25519.Public oldKey = Ed25519.readPublic(corpus.resolve("base-next-signed-v2.pub"));
        assertEquals(2, old[8]);
        rejected(old, Problem.UNSIGNED, List.of(oldKey));
        DeltaReader.Checked c = DeltaReader.check(DeltaReader.Source.of(old), target, List.of());
        assertEquals(null, c.statement(), "no key trusted: imports as before, without a statement");
    }

    @Test
    void import_signedStream_carriesItsStatement() throws Exception {
        Ed25519.Secret key = Ed25519.generate();
        byte[] s = DeltaFixture.stream(source, base, next, key);
        assertEquals(DeltaStream.VERSION_SIGNED, s[8]);
        DeltaReader.Checked c = importInto(target, s, List.of(key.publicKey()));
        assertEquals("HEAD", c.statement().ref());
        assertEquals(next, c.statement().snapshot());
        assertEquals(1, c.statement().version());
        assertEquals(DeltaFixture.SIGNED_AT, c.statement().signedAt());
        assertEquals(c.digest(), c.statement().content());
    }

    /** The length of the statement record at the end of a stream {@link DeltaFixture#signer} signed. */
    private static int statementRecordLength() {
        byte[] body = SignedStatement.forDelta("HEAD", ObjectId.hash(new byte[0]), 0, 0, 0, null)
                .encode();
        return 1 + 2 + body.length + ObjectId.LENGTH + Ed25519.SIGNATURE_LENGTH;
    }

    @Test
    void import_refMovedByAnotherWriter_isRefConflictAndTheRefStays() throws Exception {
        DeltaReader.Checked c = DeltaReader.check(DeltaReader.Source.of(delta()), target, List.of());
        DeltaException e = assertThrows(DeltaException.class, () -> c.apply(target, "HEAD", null));
        assertEquals(Problem.REF_CONFLICT, e.problem());
        assertEquals(base, target.refs().find("HEAD").orElseThrow());
    }

    private byte[] fullStreamOfTreeWith(byte[] name) throws Exception {
        InMemoryObjectStore s = new InMemoryObjectStore();
        try (ObjectWriter w = s.newWriter()) {
            List<TreeEntry> entries =
                    List.of(file("x").toBuilder().withName(name).build());
            ObjectId root = HardLinks.writeRoot(w, dir(Directories.write(w, entries)), List.of());
            ObjectId snap = w.put(new Snapshot(root, List.of(), 1, "t", "m").encode());
            w.flush();
            return DeltaFixture.stream(s, null, snap, null);
        }
    }

    private byte[] write(Delta d, Ed25519.Secret key) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DeltaStream.write(source, d, out, DeltaFixture.signer(key));
        return out.toByteArray();
    }

    private static TreeEntry file(String content) {
        return TreeEntry.builder("f", EntryKind.FILE)
                .mode(0644)
                .mtime(1)
                .content(Content.inline(content.getBytes(UTF_8)))
                .build();
    }

    private static TreeEntry dir(dev.txfs.snapshot.TreeRef tree) {
        return TreeEntry.builder("", EntryKind.DIRECTORY)
                .mode(0755)
                .mtime(1)
                .tree(tree)
                .build();
    }
}
