package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.ObjectStore.StoreFormatException;
import dev.txfs.snapshot.ObjectStore.StoreFullException;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.Txn;

/** The contract on the LMDB store, plus what only a persistent, shared store has to get right. */
final class LmdbObjectStoreTest extends ObjectStoreContractTest {
    @TempDir
    Path tmp;

    @Override
    protected ObjectStore newStore() {
        return LmdbObjectStore.create(tmp.resolve("store"), 1L << 30);
    }

    private Path dir() {
        return tmp.resolve("store");
    }

    private static void rewriteConf(Path dir, String text) throws Exception {
        Files.writeString(dir.resolve(LmdbObjectStore.CONF), text);
    }

    // ---- opening and creating ------------------------------------------------------------------

    @Test
    void open_whenDirectoryIsNotAStore_throwsStoreFormatExceptionNamingIt() throws Exception {
        Path notAStore = Files.createDirectories(tmp.resolve("photos"));
        Files.writeString(notAStore.resolve("cat.jpg"), "meow");
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(notAStore));
        assertTrue(e.getMessage().contains("not a txfs store"), e.getMessage());
        assertTrue(e.getMessage().contains(notAStore.toString()), e.getMessage());
        assertEquals(
                List.of(notAStore.resolve("cat.jpg")), Files.list(notAStore).toList(), "open wrote nothing");
    }

    @Test
    void open_whenDirectoryDoesNotExist_throwsStoreFormatExceptionNamingIt() {
        Path missing = tmp.resolve("missing");
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(missing));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertFalse(Files.exists(missing));
    }

    @Test
    void open_whenConfSaysFormat2_saysTheStoreIsNewer() throws Exception {
        store.close();
        rewriteConf(dir(), "format=2\nmap-size=" + (1L << 30) + "\n");
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(dir()));
        assertTrue(e.getMessage().contains("newer"), e.getMessage());
        assertTrue(e.getMessage().contains("format 2"), e.getMessage());
    }

    @Test
    void open_whenConfIsMalformed_throwsStoreFormatException() throws Exception {
        store.close();
        rewriteConf(dir(), "format=one\n");
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(dir()));
        assertTrue(e.getMessage().contains("malformed"), e.getMessage());
        rewriteConf(dir(), "format=0\n");
        assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(dir()));
        rewriteConf(dir(), "# no format line\n");
        assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(dir()));
    }

    @Test
    void open_whenTheEnvironmentRecordsAnotherFormat_throwsStoreFormatException() {
        store.close();
        try (Env<ByteBuffer> env =
                Env.create().setMapSize(1L << 30).setMaxDbs(8).open(dir().toFile())) {
            Dbi<ByteBuffer> meta = env.openDbi("meta", DbiFlags.MDB_CREATE);
            try (Txn<ByteBuffer> txn = env.txnWrite()) {
                meta.put(txn, direct("format"), direct("7"));
                txn.commit();
            }
        }
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(dir()));
        assertTrue(e.getMessage().contains("format 7"), e.getMessage());
    }

    /**
     * A store whose data file is gone has lost every snapshot: opening it must say so, not quietly
     * start a new, empty environment under the old configuration (and write into it).
     */
    @Test
    void open_whenTheDataFileIsMissing_failsInsteadOfStartingAnEmptyStore() throws Exception {
        putAndClose(chunk(1, 100));
        store.close();
        Files.delete(dir().resolve("data.mdb"));
        var e = assertThrows(
                StoreFormatException.class, () -> LmdbObjectStore.open(dir()).close());
        assertTrue(e.getMessage().contains(dir().toString()), e.getMessage());
        assertFalse(Files.exists(dir().resolve("data.mdb")), "open created a new, empty data file");
    }

    private static ByteBuffer direct(String s) {
        byte[] b = s.getBytes(UTF_8);
        ByteBuffer buf = ByteBuffer.allocateDirect(b.length);
        buf.put(b).flip();
        return buf;
    }

    @Test
    void create_whenDirectoryIsNotEmpty_failsAndLeavesItAlone() throws Exception {
        Path busy = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(busy.resolve("notes.txt"), "keep me");
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.create(busy, 1L << 30));
        assertTrue(e.getMessage().contains("non-empty"), e.getMessage());
        assertEquals(List.of(busy.resolve("notes.txt")), Files.list(busy).toList());
    }

    @Test
    void create_whenAStoreExists_failsAndKeepsIt() {
        ObjectId id = putAndClose(chunk(1, 100));
        store.close();
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.create(dir(), 1L << 30));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        try (LmdbObjectStore again = LmdbObjectStore.open(dir())) {
            assertTrue(again.contains(id));
        }
    }

    @Test
    void create_whenMapSizeIsBelowOneMebibyte_throwsIllegalArgument() {
        assertThrows(IllegalArgumentException.class, () -> LmdbObjectStore.create(tmp.resolve("tiny"), 1000));
    }

    @Test
    void reopen_afterClose_seesObjectsAndRefs() {
        byte[] obj = chunk(2, 70_000);
        ObjectId id = putAndClose(obj);
        assertTrue(store.refs().compareAndSet("HEAD", null, id));
        assertTrue(store.refs().compareAndSet("boot/default", null, id));
        store.close();
        store = LmdbObjectStore.open(dir());
        assertArrayEquals(obj, store.get(id));
        assertEquals(Optional.of(id), store.refs().find("HEAD"));
        assertEquals(
                List.of("HEAD", "boot/default"),
                new ArrayList<>(store.refs().list("").keySet()));
        assertEquals(1, store.stats().objects());
        assertEquals(1L << 30, store.stats().mapSize());
    }

    @Test
    void reopen_afterClose_seesValues_andShallowSetAndFormatAreUntouched() {
        byte[] v = "abc 2 3".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(store.refs().compareAndSetAll(List.of(), List.of(new RefStore.ValueUpdate("boot/tries", null, v))));
        store.close();
        store = LmdbObjectStore.open(dir());
        assertArrayEquals(v, store.refs().findValue("boot/tries").orElseThrow());
        assertEquals(java.util.Set.of(), ((LmdbObjectStore) store).shallow());
    }

    @Test
    void put_beforeFlush_isNotVisibleToTheStore() {
        byte[] obj = chunk(3, 100);
        try (ObjectWriter w = store.newWriter()) {
            ObjectId id = w.put(obj);
            assertFalse(store.contains(id), "staged objects become visible at flush");
            w.flush();
            assertTrue(store.contains(id));
        }
    }

    @Test
    void close_isIdempotent_andUseAfterCloseIsAnIllegalState() {
        store.close();
        store.close();
        assertThrows(IllegalStateException.class, () -> store.find(SampleObjects.id("x")));
        assertThrows(
                IllegalStateException.class, () -> store.refs().compareAndSet("HEAD", null, SampleObjects.id("x")));
    }

    /** Bad input gets a clear error: a spec longer than LMDB's 511-byte key limit names nothing. */
    @Test
    void resolve_whenSpecIsLongerThanAnyRefCanBe_saysNoSuchSnapshot() {
        String spec = "a".repeat(600);
        var e = assertThrows(TxfsException.class, () -> Snapshots.resolve(store, spec));
        assertTrue(e.getMessage().startsWith("no ref or snapshot named"), e.getMessage());
        assertEquals(Optional.empty(), store.refs().find("x".repeat(300)));
    }

    @Test
    void verify_whenAChunkIsCorruptedOnDisk_reportsIt() {
        ObjectId root;
        Content c;
        try (ObjectWriter w = store.newWriter()) {
            c = FileContents.write(w, SampleObjects.random(4, 5000));
            TreeRef top = Directories.write(
                    w, List.of(TreeEntry.builder("f", EntryKind.FILE).content(c).build()));
            root = HardLinks.writeRoot(
                    w, TreeEntry.builder("", EntryKind.DIRECTORY).tree(top).build(), List.of());
        }
        ObjectId snap = Snapshots.record(store, "HEAD", root, "t", "m", () -> 1L);
        assertTrue(Verifier.verify(store, n -> {}).clean());
        ((LmdbObjectStore) store).corruptForTest(c.id(), Chunks.encode(new byte[5000], 0, 5000));
        Verifier.Report report = Verifier.verify(store, n -> {});
        assertEquals(1, report.problems().size(), report.problems().toString());
        assertEquals(c.id(), report.problems().get(0).id());
        assertEquals(List.of(snap.shortHex() + ":/f"), report.problems().get(0).paths());
    }

    // ---- a full store --------------------------------------------------------------------------

    /**
     * Issue 14, finding 6: a failed write dropped what the writer had staged, so a retried sync of
     * a tree that had moved on to those objects recorded a root whose trees were never written.
     */
    @Test
    void flush_afterAFailedFlush_writesWhatWasStagedOnceThereIsRoom() {
        try (LmdbObjectStore full = LmdbObjectStore.create(tmp.resolve("retry"), 4 << 20)) {
            ObjectWriter w = full.newWriter();
            List<ObjectId> ballast = new ArrayList<>();
            for (int i = 0; i < 45; i++) {
                ballast.add(w.put(chunk(i, 64 * 1024)));
            }
            w.flush();
            List<byte[]> staged = new ArrayList<>();
            assertThrows(StoreFullException.class, () -> {
                for (int i = 1000; i < 1020; i++) {
                    byte[] obj = chunk(i, 64 * 1024);
                    staged.add(obj);
                    w.put(obj);
                }
                w.flush();
            });
            full.delete(ballast);
            // LMDB reuses pages a write freed once a later write has committed
            assertTrue(full.refs().compareAndSet("after-delete", null, ObjectId.hash(staged.get(0))));
            w.flush();
            for (byte[] obj : staged) {
                assertArrayEquals(obj, full.get(ObjectId.hash(obj)), "staged before the failure, written after");
            }
        }
    }

    @Test
    void flush_whenTheMapIsFull_throwsStoreFullAndKeepsEverythingCommittedBefore() {
        Path small = tmp.resolve("small");
        List<byte[]> flushed = new ArrayList<>();
        ObjectId head;
        try (LmdbObjectStore full = LmdbObjectStore.create(small, 4 << 20)) {
            ObjectWriter w = full.newWriter();
            byte[] first = chunk(0, 1000);
            head = w.put(first);
            w.flush();
            flushed.add(first);
            assertTrue(full.refs().compareAndSet("HEAD", null, head));
            var e = assertThrows(StoreFullException.class, () -> {
                for (int i = 1; i < 1000; i++) {
                    byte[] obj = chunk(i, 64 * 1024);
                    w.put(obj);
                    w.flush();
                    flushed.add(obj);
                }
            });
            assertTrue(e.getMessage().contains("store full"), e.getMessage());
            assertTrue(flushed.size() > 10, "only " + flushed.size() + " objects fit in 4 MiB");
            // the open store still reads
            assertArrayEquals(first, full.get(head));
            assertEquals(Optional.of(head), full.refs().find("HEAD"));
        }
        try (LmdbObjectStore again = LmdbObjectStore.open(small)) {
            for (byte[] obj : flushed) {
                assertArrayEquals(obj, again.get(ObjectId.hash(obj)));
            }
            assertEquals(Optional.of(head), again.refs().find("HEAD"));
            assertEquals(flushed.size(), again.stats().objects());
            assertEquals(4 << 20, again.stats().mapSize());
        }
    }

    // ---- two processes -------------------------------------------------------------------------

    /**
     * LMDB forbids opening one environment twice in one process (closing either drops the other's
     * POSIX locks), so the second user of the store is a child JVM: it must see what this process
     * committed, and this process, still open, must see what it commits.
     */
    @Test
    void twoProcesses_whileBothHaveTheStoreOpen_seeEachOthersObjectsAndRefs() throws Exception {
        byte[] mine = chunk(5, 3000);
        ObjectId mineId = putAndClose(mine);
        assertTrue(store.refs().compareAndSet("parent", null, mineId));

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ProcessBuilder pb = new ProcessBuilder(
                        java,
                        "--add-opens",
                        "java.base/java.nio=ALL-UNNAMED",
                        "--add-opens",
                        "java.base/sun.nio.ch=ALL-UNNAMED",
                        "-cp",
                        cp,
                        SecondProcess.class.getName(),
                        dir().toString(),
                        mineId.toHex())
                .redirectErrorStream(true);
        File log = tmp.resolve("child.log").toFile();
        pb.redirectOutput(log);
        Process child = pb.start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child still running");
        String output = Files.readString(log.toPath());
        assertEquals(0, child.exitValue(), output);

        ObjectId theirs = ObjectId.hash(SecondProcess.object());
        assertArrayEquals(SecondProcess.object(), store.get(theirs));
        assertEquals(Optional.of(theirs), store.refs().find("child"));
        assertEquals(Optional.of(mineId), store.refs().find("parent"), "the child's CAS with a wrong expected value");
    }

    /** The other process of {@link #twoProcesses_whileBothHaveTheStoreOpen_seeEachOthersObjectsAndRefs}. */
    public static final class SecondProcess {
        static byte[] object() {
            return chunk(6, 4000);
        }

        public static void main(String[] args) {
            Path dir = Path.of(args[0]);
            ObjectId parentsObject = ObjectId.parse(args[1]);
            try (LmdbObjectStore s = LmdbObjectStore.open(dir)) {
                if (!s.contains(parentsObject) || !s.refs().find("parent").equals(Optional.of(parentsObject))) {
                    System.out.println("child does not see the parent's object or ref");
                    System.exit(3);
                }
                ObjectId id;
                try (ObjectWriter w = s.newWriter()) {
                    id = w.put(object());
                }
                if (!s.refs().compareAndSet("child", null, id)) {
                    System.out.println("child could not create its ref");
                    System.exit(4);
                }
                if (s.refs().compareAndSet("parent", id, id)) {
                    System.out.println("CAS with a wrong expected value succeeded");
                    System.exit(5);
                }
            } catch (RuntimeException e) {
                e.printStackTrace(System.out);
                System.exit(6);
            }
            System.exit(0);
        }
    }
}
