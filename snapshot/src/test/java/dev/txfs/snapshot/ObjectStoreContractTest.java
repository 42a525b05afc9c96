package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What every {@link ObjectStore} and its {@link RefStore} promise; one subclass per implementation
 * (as jimfs's AbstractJimfsIntegrationTest and irmin-test do).
 */
public abstract class ObjectStoreContractTest {
    protected ObjectStore store;

    /** A new, empty store; closed after each test. */
    protected abstract ObjectStore newStore() throws Exception;

    @BeforeEach
    void openStore() throws Exception {
        store = newStore();
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    /** A chunk object of {@code n} seeded random bytes. */
    protected static byte[] chunk(long seed, int n) {
        return Chunks.encode(SampleObjects.random(seed, n), 0, n);
    }

    /** A small chunk object distinct for every {@code i}. */
    protected static byte[] small(long i) {
        byte[] data = ByteBuffer.allocate(Long.BYTES).putLong(i).array();
        return Chunks.encode(data, 0, data.length);
    }

    protected ObjectId putAndClose(byte[] canonical) {
        try (ObjectWriter w = store.newWriter()) {
            return w.put(canonical);
        }
    }

    protected List<ObjectId> putAll(int n) {
        List<ObjectId> ids = new ArrayList<>(n);
        try (ObjectWriter w = store.newWriter()) {
            for (int i = 0; i < n; i++) {
                ids.add(w.put(small(i)));
            }
        }
        return ids;
    }

    // ---- objects -------------------------------------------------------------------------------

    @Test
    void put_thenFind_returnsTheSameBytesUnderTheirSha256() {
        byte[] obj = chunk(1, 1000);
        ObjectId id = putAndClose(obj);
        assertEquals(ObjectId.hash(obj), id);
        assertArrayEquals(obj, store.find(id).orElseThrow());
        assertArrayEquals(obj, store.get(id));
        assertTrue(store.contains(id));
    }

    @Test
    void find_whenObjectIsAbsent_isEmptyAndGetThrowsMissingObjectNamingIt() {
        ObjectId id = ObjectId.hash(chunk(2, 10));
        assertEquals(Optional.empty(), store.find(id));
        assertFalse(store.contains(id));
        var e = assertThrows(ObjectStore.MissingObjectException.class, () -> store.get(id));
        assertEquals(id, e.id());
        assertTrue(e.getMessage().contains(id.toHex()), e.getMessage());
    }

    @Test
    void find_returnsACopy_soCallersCannotChangeStoredBytes() {
        byte[] obj = chunk(3, 100);
        ObjectId id = putAndClose(obj);
        byte[] got = store.find(id).orElseThrow();
        got[0] ^= 1;
        assertArrayEquals(obj, store.get(id));
    }

    @Test
    void put_whenCallerReusesItsArrayAfterPut_storesTheBytesAsTheyWereAtPut() {
        byte[] obj = chunk(4, 500);
        byte[] original = obj.clone();
        ObjectId id;
        try (ObjectWriter w = store.newWriter()) {
            id = w.put(obj);
            obj[10] ^= 0x55; // a caller reusing its buffer for the next chunk
        }
        assertArrayEquals(original, store.get(id));
    }

    @Test
    void put_whenSameBytesArePutAgain_storesThemOnce() {
        byte[] obj = chunk(5, 4096);
        ObjectId id = putAndClose(obj);
        ObjectStore.StoreStats before = store.stats();
        assertEquals(1, before.objects());
        try (ObjectWriter w = store.newWriter()) {
            assertEquals(id, w.put(obj.clone()));
            assertEquals(id, w.put(obj.clone()));
            w.flush();
            assertEquals(id, w.put(obj));
        }
        try (ObjectWriter w = store.newWriter()) {
            assertEquals(id, w.put(obj));
        }
        assertEquals(before.objects(), store.stats().objects());
        assertArrayEquals(obj, store.get(id));
    }

    @Test
    void put_whenTwoWritersPutTheSameBytes_storesThemOnce() {
        byte[] obj = chunk(6, 300);
        ObjectWriter a = store.newWriter();
        ObjectWriter b = store.newWriter();
        assertEquals(a.put(obj), b.put(obj.clone()));
        a.close();
        b.close();
        assertEquals(1, store.stats().objects());
    }

    @Test
    void writerFind_seesItsOwnObjectsBeforeFlush() {
        byte[] obj = chunk(7, 200);
        try (ObjectWriter w = store.newWriter()) {
            ObjectId id = w.put(obj);
            assertArrayEquals(obj, w.find(id).orElseThrow());
            assertEquals(Optional.empty(), w.find(ObjectId.hash(chunk(8, 200))));
        }
    }

    @Test
    void writerFlush_makesObjectsVisibleToTheStoreAndToOtherWriters() {
        byte[] obj = chunk(9, 200);
        ObjectWriter w = store.newWriter();
        ObjectId id = w.put(obj);
        w.flush();
        assertTrue(store.contains(id));
        assertArrayEquals(obj, store.get(id));
        try (ObjectWriter other = store.newWriter()) {
            assertArrayEquals(obj, other.find(id).orElseThrow());
        }
        byte[] later = chunk(10, 200);
        ObjectId laterId = w.put(later);
        w.close();
        assertArrayEquals(later, store.get(laterId));
        w.close(); // idempotent
    }

    @ParameterizedTest
    @ValueSource(ints = {(1 << 20) + 1, 5 << 20, 33 << 20})
    void put_whenObjectIsLargerThanOneMebibyte_roundTrips(int size) {
        byte[] obj = chunk(size, size);
        ObjectId id = putAndClose(obj);
        assertArrayEquals(obj, store.get(id));
        assertEquals(1, store.stats().objects());
        assertTrue(store.stats().bytesUsed() >= size);
    }

    // ---- listing -------------------------------------------------------------------------------

    @Test
    void findByPrefix_whenPrefixHasOddOrEvenLength_returnsExactlyTheIdsStartingWithIt() {
        TreeSet<ObjectId> all = new TreeSet<>(putAll(3000));
        Random r = new Random(12);
        List<String> prefixes = new ArrayList<>(List.of("", "0", "f", "ff", "fff", "00", "000", "80", "7f", "8"));
        for (int i = 0; i < 40; i++) {
            String hex = new ArrayList<>(all).get(r.nextInt(all.size())).toHex();
            prefixes.add(hex.substring(0, 1 + i % 8));
            prefixes.add(hex);
        }
        for (int i = 0; i < 20; i++) { // mostly absent
            prefixes.add(Long.toHexString(r.nextLong()).substring(0, 5));
        }
        for (String p : prefixes) {
            for (int limit : new int[] {1, 3, 64, 5000}) {
                List<ObjectId> expected = all.stream()
                        .filter(id -> id.toHex().startsWith(p))
                        .limit(limit)
                        .toList();
                assertEquals(expected, store.findByPrefix(p, limit), "prefix '" + p + "' limit " + limit);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 9_999, 10_000, 10_001, 25_000})
    void forEachId_visitsEveryObjectOnceInIdOrder(int n) {
        TreeSet<ObjectId> expected = new TreeSet<>(putAll(n));
        List<ObjectId> visited = new ArrayList<>();
        store.forEachId(visited::add);
        assertEquals(new ArrayList<>(expected), visited);
    }

    @Test
    void forEachId_whenTheActionReadsTheStore_visitsEveryObject() {
        List<ObjectId> ids = putAll(12_000);
        long[] bytes = {0};
        store.forEachId(id -> bytes[0] += store.get(id).length);
        assertEquals(12_000L * (Chunks.DATA_OFFSET + Long.BYTES), bytes[0]);
        assertEquals(ids.size(), store.stats().objects());
    }

    // ---- refs ----------------------------------------------------------------------------------

    private final ObjectId a = SampleObjects.id("a");
    private final ObjectId b = SampleObjects.id("b");
    private final ObjectId c = SampleObjects.id("c");

    @Test
    void refFind_whenAbsent_isEmpty() {
        assertEquals(Optional.empty(), store.refs().find("HEAD"));
        assertEquals(Map.of(), store.refs().list(""));
    }

    @Test
    void flushAndSet_writesTheStagedObjectsAndMovesTheRefsOnlyIfAllMatch() {
        assertTrue(store.refs().compareAndSet("live", null, a));
        try (ObjectWriter w = store.newWriter()) {
            ObjectId x = w.put(small(101));
            assertTrue(w.flushAndSet(List.of(new RefStore.Update("live", a, x), new RefStore.Update("HEAD", null, x))));
            assertTrue(store.contains(x));
            assertEquals(Optional.of(x), store.refs().find("live"));
            assertEquals(Optional.of(x), store.refs().find("HEAD"));

            ObjectId y = w.put(small(102));
            assertFalse(
                    w.flushAndSet(List.of(new RefStore.Update("live", x, y), new RefStore.Update("HEAD", a, y))),
                    "HEAD is not at a: nothing moves");
            assertTrue(store.contains(y), "the objects are written whatever the refs say");
            assertEquals(Optional.of(x), store.refs().find("live"));
            assertEquals(Optional.of(x), store.refs().find("HEAD"));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> w.flushAndSet(List.of(new RefStore.Update("../bad", null, y))));
        }
    }

    @Test
    void compareAndSet_whenExpectedAbsentAndRefAbsent_createsIt() {
        assertTrue(store.refs().compareAndSet("HEAD", null, a));
        assertEquals(Optional.of(a), store.refs().find("HEAD"));
    }

    @Test
    void compareAndSet_whenExpectedAbsentButRefExists_returnsFalseAndChangesNothing() {
        assertTrue(store.refs().compareAndSet("HEAD", null, a));
        assertFalse(store.refs().compareAndSet("HEAD", null, b));
        assertEquals(Optional.of(a), store.refs().find("HEAD"));
    }

    @Test
    void compareAndSet_whenExpectedIsWrong_returnsFalseAndChangesNothing() {
        assertTrue(store.refs().compareAndSet("HEAD", null, a));
        assertFalse(store.refs().compareAndSet("HEAD", b, c));
        assertFalse(store.refs().compareAndSet("HEAD", b, null));
        assertEquals(Optional.of(a), store.refs().find("HEAD"));
        assertFalse(store.refs().compareAndSet("other", a, b), "absent ref, expected present");
        assertEquals(Optional.empty(), store.refs().find("other"));
    }

    @Test
    void compareAndSet_whenExpectedMatches_movesTheRef() {
        assertTrue(store.refs().compareAndSet("HEAD", null, a));
        assertTrue(store.refs().compareAndSet("HEAD", a, b));
        assertEquals(Optional.of(b), store.refs().find("HEAD"));
        assertTrue(store.refs().compareAndSet("HEAD", b, b));
        assertEquals(Optional.of(b), store.refs().find("HEAD"));
    }

    @Test
    void compareAndSet_whenNextIsNull_deletesTheRef() {
        assertTrue(store.refs().compareAndSet("tags/v1", null, a));
        assertTrue(store.refs().compareAndSet("tags/v1", a, null));
        assertEquals(Optional.empty(), store.refs().find("tags/v1"));
        assertEquals(Map.of(), store.refs().list(""));
        assertTrue(store.refs().compareAndSet("tags/v1", null, b), "a deleted ref can be created again");
        assertTrue(store.refs().compareAndSet("absent", null, null), "absent stays absent");
        assertEquals(Optional.empty(), store.refs().find("absent"));
    }

    @Test
    void list_returnsTheRefsStartingWithThePrefixSortedByName() {
        store.refs().compareAndSet("boot/last-good", null, b);
        store.refs().compareAndSet("boot/default", null, a);
        store.refs().compareAndSet("bootstrap", null, c);
        store.refs().compareAndSet("HEAD", null, c);
        store.refs().compareAndSet("tags/v1", null, a);
        assertEquals(
                List.of("boot/default", "boot/last-good"),
                new ArrayList<>(store.refs().list("boot/").keySet()));
        assertEquals(
                Map.of("boot/default", a, "boot/last-good", b), store.refs().list("boot/"));
        assertEquals(
                List.of("HEAD", "boot/default", "boot/last-good", "bootstrap", "tags/v1"),
                new ArrayList<>(store.refs().list("").keySet()));
        assertEquals(Map.of(), store.refs().list("nothing/"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "/HEAD",
                "HEAD/",
                "boot//default",
                "..",
                "a/../b",
                "a..b",
                ".hidden",
                "tags/.v1",
                "-flag",
                "with space",
                "tab\there",
                "ünï",
                "a:b",
                "a*",
                "refs\\x",
                "new\nline"
            })
    void compareAndSet_whenNameIsInvalid_throwsIllegalArgumentAndStoresNothing(String name) {
        var e = assertThrows(IllegalArgumentException.class, () -> store.refs().compareAndSet(name, null, a));
        assertTrue(e.getMessage().contains("invalid ref name"), e.getMessage());
        assertEquals(Map.of(), store.refs().list(""));
    }

    @Test
    void compareAndSet_whenNameIsLongerThan255_throwsIllegalArgument() {
        assertTrue(store.refs().compareAndSet("x".repeat(255), null, a));
        assertThrows(IllegalArgumentException.class, () -> store.refs().compareAndSet("x".repeat(256), null, a));
    }

    @ParameterizedTest
    @ValueSource(strings = {"HEAD", "boot/default", "boot/last-good", "tags/v1.0", "a_b", "_x", "9", "a/b/c/d"})
    void compareAndSet_whenNameIsValid_storesTheRef(String name) {
        assertTrue(store.refs().compareAndSet(name, null, a));
        assertEquals(Optional.of(a), store.refs().find(name));
    }

    /** Many writers moving one ref by read-then-CAS: every successful CAS is one step, none is lost. */
    @Test
    void compareAndSet_whenThreadsRace_exactlyOneWinsEachStep() throws Exception {
        int threads = 4;
        int stepsEach = 15;
        List<ObjectId> values = new ArrayList<>();
        for (int i = 0; i <= threads * stepsEach; i++) {
            values.add(SampleObjects.id("step " + i));
        }
        assertTrue(store.refs().compareAndSet("counter", null, values.get(0)));
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> wins = new ArrayList<>();
        try {
            for (int t = 0; t < threads; t++) {
                wins.add(pool.submit(() -> {
                    start.await();
                    int won = 0;
                    while (won < stepsEach) {
                        ObjectId cur = store.refs().find("counter").orElseThrow();
                        int step = values.indexOf(cur);
                        if (store.refs().compareAndSet("counter", cur, values.get(step + 1))) {
                            won++;
                        }
                    }
                    return won;
                }));
            }
            start.countDown();
            int total = 0;
            for (Future<Integer> f : wins) {
                total += f.get(60, TimeUnit.SECONDS);
            }
            assertEquals(threads * stepsEach, total);
            assertEquals(
                    Optional.of(values.get(threads * stepsEach)), store.refs().find("counter"));
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- values beside the refs ----------------------------------------------------------------

    @Test
    void compareAndSetAll_withValues_movesRefsAndValuesTogetherOrNotAtAll() {
        ObjectId a = putAndClose(small(1));
        byte[] v1 = "one".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] v2 = "two".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        RefStore refs = store.refs();
        assertEquals(Optional.empty(), refs.findValue("boot/tries"));
        assertTrue(refs.compareAndSetAll(
                List.of(new RefStore.Update("boot/default", null, a)),
                List.of(new RefStore.ValueUpdate("boot/tries", null, v1))));
        assertArrayEquals(v1, refs.findValue("boot/tries").orElseThrow());
        // a stale expected value: neither the ref nor the value moves
        assertFalse(refs.compareAndSetAll(
                List.of(new RefStore.Update("boot/default", a, null)),
                List.of(new RefStore.ValueUpdate("boot/tries", v2, null))));
        assertEquals(Optional.of(a), refs.find("boot/default"));
        assertArrayEquals(v1, refs.findValue("boot/tries").orElseThrow());
        // a stale expected ref: the value does not move either
        assertFalse(refs.compareAndSetAll(
                List.of(new RefStore.Update("boot/default", null, a)),
                List.of(new RefStore.ValueUpdate("boot/tries", v1, v2))));
        assertArrayEquals(v1, refs.findValue("boot/tries").orElseThrow());
        assertTrue(refs.compareAndSetAll(List.of(), List.of(new RefStore.ValueUpdate("boot/tries", v1, null))));
        assertEquals(Optional.empty(), refs.findValue("boot/tries"));
        assertEquals(Optional.of(a), refs.find("boot/default"));
    }
}
