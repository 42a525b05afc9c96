package dev.txfs.snapshot;

import static dev.txfs.snapshot.SampleObjects.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** File content: inline, one chunk or a blob; streaming; deduplication; edits cost one or two chunks. */
final class FileContentsTest {
    private static final int MIB = 1 << 20;
    private final InMemoryObjectStore store = new InMemoryObjectStore();

    /** An input stream that returns at most a few bytes per read, as pipes and sockets do. */
    static final class StingyStream extends InputStream {
        private final ByteArrayInputStream in;
        private final Random r;

        StingyStream(byte[] data, long seed) {
            this.in = new ByteArrayInputStream(data);
            this.r = new Random(seed);
        }

        @Override
        public int read() {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) {
            return in.read(b, off, Math.min(len, 1 + r.nextInt(70_000)));
        }
    }

    /** {@code size} zero bytes without holding them. */
    static final class Zeros extends InputStream {
        private long left;

        Zeros(long size) {
            this.left = size;
        }

        @Override
        public int read() {
            return left-- > 0 ? 0 : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (left <= 0) {
                return -1;
            }
            int n = (int) Math.min(len, left);
            java.util.Arrays.fill(b, off, off + n, (byte) 0);
            left -= n;
            return n;
        }
    }

    private Content write(byte[] data) {
        try (ObjectWriter w = store.newWriter()) {
            return FileContents.write(w, data);
        }
    }

    private Content write(InputStream in) throws IOException {
        try (ObjectWriter w = store.newWriter()) {
            return FileContents.write(w, in);
        }
    }

    private Set<ObjectId> ids() {
        Set<ObjectId> out = new HashSet<>();
        store.forEachId(out::add);
        return out;
    }

    private Map<ObjectType, Integer> countByType(Set<ObjectId> ids) {
        Map<ObjectType, Integer> out = new EnumMap<>(ObjectType.class);
        for (ObjectId id : ids) {
            out.merge(ObjectType.of(store.get(id)), 1, Integer::sum);
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 63, 64})
    void write_whenAtMost64Bytes_inlinesTheContentAndStoresNothing(int size) {
        byte[] data = random(size, size);
        Content c = write(data);
        assertTrue(c.isInline());
        assertEquals(size, c.size());
        assertArrayEquals(data, c.inlineData());
        assertEquals(0, store.stats().objects());
        assertArrayEquals(data, FileContents.readAll(store, c));
        assertEquals(List.of(), FileContents.chunks(store, c));
    }

    @ParameterizedTest
    @ValueSource(ints = {65, 1000, Chunker.MIN_SIZE})
    void write_whenContentIsExactlyOneChunk_refersToTheChunkWithoutABlob(int size) {
        byte[] data = random(size, size);
        Content c = write(data);
        assertFalse(c.isInline());
        assertFalse(c.isBlob());
        assertEquals(size, c.size());
        assertEquals(ObjectId.hash(Chunks.encode(data, 0, size)), c.id());
        assertEquals(1, store.stats().objects());
        assertArrayEquals(data, FileContents.readAll(store, c));
        assertEquals(List.of(new Blob.ChunkRef(c.id(), size)), FileContents.chunks(store, c));
    }

    @Test
    void write_whenContentSpansSeveralChunks_refersToABlobListingThem() {
        byte[] data = random(5, MIB);
        Content c = write(data);
        assertTrue(c.isBlob());
        Blob blob = Blob.decode(store.get(c.id()));
        assertEquals(MIB, blob.size());
        assertTrue(blob.chunks().size() > 1);
        long sum = 0;
        for (Blob.ChunkRef ref : blob.chunks()) {
            assertTrue(ref.length() >= Chunker.MIN_SIZE || sum + ref.length() == MIB, "short chunk inside");
            assertTrue(ref.length() <= Chunker.MAX_SIZE);
            assertEquals(ref.length(), Chunks.decode(store.get(ref.id())).length);
            sum += ref.length();
        }
        assertEquals(MIB, sum);
        assertEquals(blob.chunks().size() + 1, store.stats().objects());
    }

    @ParameterizedTest
    @ValueSource(
            ints = {
                65,
                Chunker.MIN_SIZE - 1,
                Chunker.MIN_SIZE,
                Chunker.MIN_SIZE + 1,
                Chunker.AVG_SIZE,
                Chunker.MAX_SIZE - 1,
                Chunker.MAX_SIZE,
                Chunker.MAX_SIZE + 1,
                2 * Chunker.MAX_SIZE - 1,
                2 * Chunker.MAX_SIZE,
                2 * Chunker.MAX_SIZE + 1,
                3 * Chunker.MAX_SIZE + 7,
                5 * MIB + 3
            })
    void write_whenStreamedInShortReads_equalsTheInMemoryWriteAndReadsBack(int size) throws IOException {
        byte[] data = random(size * 31L, size);
        Content fromBytes = write(data);
        Content streamed = write(new StingyStream(data, size));
        assertEquals(fromBytes, streamed);
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        FileContents.copyTo(store, streamed, out);
        assertArrayEquals(data, out.toByteArray());
    }

    @Test
    void write_whenAllZerosOfMaxChunkSize_isOneChunkAndTwiceThatIsABlobOfOneChunk() {
        Content one = write(new byte[Chunker.MAX_SIZE]);
        assertFalse(one.isBlob(), one.toString());
        Content two = write(new byte[2 * Chunker.MAX_SIZE]);
        assertTrue(two.isBlob(), two.toString());
        assertEquals(2, store.stats().objects(), "the zero chunk and the blob");
    }

    /**
     * Regression: FileContents.write reads through a buffer of two maximum chunks and stopped when
     * the chunks consumed that buffer exactly (two max-size chunks, as zeros give), without reading
     * the rest of the stream: everything after the first 512 KiB was silently dropped.
     */
    @ParameterizedTest
    @ValueSource(ints = {2 * Chunker.MAX_SIZE + 1, 3 * Chunker.MAX_SIZE, 4 * MIB})
    void write_whenZerosFillTheReadBufferExactly_keepsTheRestOfTheFile(int size) {
        Content c = write(new byte[size]);
        assertEquals(size, c.size(), "content size");
        assertArrayEquals(new byte[size], FileContents.readAll(store, c));
    }

    /** The same loss with real data: a file that starts with 512 KiB of zeros (a disk image, a sparse file). */
    @Test
    void write_whenFileStartsWith512KiBOfZeros_keepsTheDataAfterThem() throws IOException {
        byte[] data = new byte[2 * MIB];
        byte[] tail = random(13, data.length - 2 * Chunker.MAX_SIZE);
        System.arraycopy(tail, 0, data, 2 * Chunker.MAX_SIZE, tail.length);
        Content c = write(new StingyStream(data, 13));
        assertEquals(data.length, c.size(), "content size");
        assertArrayEquals(data, FileContents.readAll(store, c));
    }

    @Test
    void copyTo_of20MiBStreamedFile_returnsTheSameBytes() throws Exception {
        byte[] data = random(20, 20 * MIB);
        Content c = write(new StingyStream(data, 20));
        assertEquals(20L * MIB, c.size());
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        expected.update(data);
        MessageDigest actual = MessageDigest.getInstance("SHA-256");
        long[] written = {0};
        FileContents.copyTo(store, c, new OutputStream() {
            @Override
            public void write(int b) {
                actual.update((byte) b);
                written[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                assertTrue(len <= Chunker.MAX_SIZE, "copyTo writes one chunk at a time");
                actual.update(b, off, len);
                written[0] += len;
            }
        });
        assertEquals(20L * MIB, written[0]);
        assertArrayEquals(expected.digest(), actual.digest());
    }

    @ParameterizedTest
    @ValueSource(longs = {101, 102, 103})
    void write_whenOneByteIsInsertedAtTheStartOf10MiB_storesAtMostTwoNewChunks(long seed) {
        byte[] data = random(seed, 10 * MIB);
        Content before = write(data);
        Set<ObjectId> old = ids();
        byte[] edited = new byte[data.length + 1];
        edited[0] = 42;
        System.arraycopy(data, 0, edited, 1, data.length);
        Content after = write(edited);
        Set<ObjectId> added = ids();
        added.removeAll(old);
        Map<ObjectType, Integer> byType = countByType(added);
        assertTrue(byType.getOrDefault(ObjectType.CHUNK, 0) <= 2, "seed " + seed + ": new objects " + byType);
        assertEquals(1, byType.getOrDefault(ObjectType.BLOB, 0), "seed " + seed + ": new objects " + byType);
        assertEquals(data.length + 1, after.size());
        assertArrayEquals(edited, FileContents.readAll(store, after));
        assertArrayEquals(data, FileContents.readAll(store, before));
    }

    @Test
    void write_whenOneByteInTheMiddleOf10MiBChanges_storesAtMostTwoNewChunks() {
        byte[] data = random(104, 10 * MIB);
        write(data);
        Set<ObjectId> old = ids();
        data[5 * MIB] ^= 1;
        write(data);
        Set<ObjectId> added = ids();
        added.removeAll(old);
        Map<ObjectType, Integer> byType = countByType(added);
        assertTrue(byType.getOrDefault(ObjectType.CHUNK, 0) <= 2, "new objects " + byType);
    }

    @Test
    void write_whenTwoFilesAreIdentical_sharesAllObjects() throws IOException {
        byte[] data = random(7, 3 * MIB);
        Content first = write(data);
        long objects = store.stats().objects();
        long bytes = store.stats().bytesUsed();
        Content second = write(new StingyStream(data.clone(), 8));
        assertEquals(first, second);
        assertEquals(objects, store.stats().objects());
        assertEquals(bytes, store.stats().bytesUsed());
    }

    @Test
    void write_when100MiBOfZeros_storesOneChunkAndOneBlob() throws IOException {
        long size = 100L * MIB;
        Content c = write(new Zeros(size));
        assertTrue(c.isBlob());
        assertEquals(size, c.size());
        Map<ObjectType, Integer> byType = countByType(ids());
        assertEquals(Map.of(ObjectType.CHUNK, 1, ObjectType.BLOB, 1), byType);
        List<Blob.ChunkRef> chunks = FileContents.chunks(store, c);
        assertEquals(size, chunks.stream().mapToLong(Blob.ChunkRef::length).sum());
        assertEquals(1, chunks.stream().map(Blob.ChunkRef::id).distinct().count());
        assertTrue(
                store.stats().bytesUsed() < 2 * Chunker.MAX_SIZE,
                "bytes: " + store.stats().bytesUsed());
    }

    @Test
    void copyTo_whenAChunkIsMissing_throwsMissingObjectNamingIt() {
        Content c = write(random(9, MIB));
        Blob.ChunkRef second = FileContents.chunks(store, c).get(1);
        store.remove(second.id());
        var e = assertThrows(
                ObjectStore.MissingObjectException.class,
                () -> FileContents.copyTo(store, c, OutputStream.nullOutputStream()));
        assertEquals(second.id(), e.id());
    }

    @Test
    void copyTo_whenAChunkHasTheWrongLength_isMalformed() {
        Content c = write(random(10, MIB));
        Blob.ChunkRef first = FileContents.chunks(store, c).get(0);
        store.corrupt(first.id(), Chunks.encode(new byte[10], 0, 10));
        assertThrows(
                MalformedObjectException.class, () -> FileContents.copyTo(store, c, OutputStream.nullOutputStream()));
    }

    @Test
    void chunks_whenTheEntrySizeDisagreesWithTheBlob_isMalformed() {
        Content c = write(random(11, MIB));
        Content lying = Content.blob(c.id(), c.size() + 1);
        assertThrows(MalformedObjectException.class, () -> FileContents.chunks(store, lying));
    }

    @Test
    void of_whenChunksHoldAtMost64Bytes_inlinesThem() {
        byte[] data = random(12, 40);
        List<Blob.ChunkRef> chunks;
        ObjectId a;
        ObjectId b;
        try (ObjectWriter w = store.newWriter()) {
            a = w.put(Chunks.encode(data, 0, 30));
            b = w.put(Chunks.encode(data, 30, 10));
            chunks = List.of(new Blob.ChunkRef(a, 30), new Blob.ChunkRef(b, 10));
            Content c = FileContents.of(w, chunks, 40);
            assertTrue(c.isInline());
            assertArrayEquals(data, c.inlineData());
            assertEquals(Content.EMPTY, FileContents.of(w, List.of(), 0));
        }
    }
}
