package dev.txfs.txn;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Snapshots;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LiveTreeTest {
    private final AtomicLong clock = new AtomicLong(1_000_000_000_000L);
    private final InMemoryObjectStore store = new InMemoryObjectStore();

    private LiveTree open(Optional<ObjectId> snapshot) {
        return LiveTree.open(store, snapshot, () -> clock.addAndGet(1000));
    }

    @Test
    void open_whenStoreIsEmpty_startsFromAnEmptyRootOwnedByRoot() throws Exception {
        LiveTree live = open(Optional.empty());
        assertEquals(0, live.tree().list(live.tree().root()).size());
        assertEquals(0755, live.tree().root().mode());
        assertEquals(0, live.tree().root().uid());
    }

    @Test
    void sync_whenReopened_theNextLiveTreeSeesTheChanges() throws Exception {
        LiveTree live = open(Optional.empty());
        MutableNode.File f = live.tree().createFile(live.tree().root(), "f".getBytes(UTF_8), 0644, 0, 0);
        live.tree().write(f, 0, "data".getBytes(UTF_8), 0, 4);
        ObjectId root = live.sync();
        assertEquals(
                root,
                Snapshots.load(store, store.refs().find(LiveTree.REF).orElseThrow())
                        .root());

        LiveTree again = open(Optional.empty());
        MutableNode.File g = (MutableNode.File) again.tree().get("/f");
        byte[] buf = new byte[4];
        assertEquals(4, again.tree().read(g, 0, buf, 0, 4));
        assertArrayEquals("data".getBytes(UTF_8), buf);
    }

    @Test
    void sync_whenNothingChanged_doesNotMoveTheLiveRef() throws Exception {
        LiveTree live = open(Optional.empty());
        live.sync();
        ObjectId ref = store.refs().find(LiveTree.REF).orElseThrow();
        live.sync();
        assertEquals(ref, store.refs().find(LiveTree.REF).orElseThrow());
    }

    @Test
    void snapshot_recordsHistoryUnderHeadWithParents() throws Exception {
        LiveTree live = open(Optional.empty());
        ObjectId first = live.snapshot("alice", "one");
        live.tree().mkdir(live.tree().root(), "d".getBytes(UTF_8), 0755, 0, 0);
        ObjectId second = live.snapshot("alice", "two");
        assertEquals(second, store.refs().find(Snapshots.HEAD).orElseThrow());
        assertEquals(List.of(first), Snapshots.load(store, second).parents());
        assertEquals("two", Snapshots.load(store, second).message());
    }

    @Test
    void open_whenSnapshotGiven_startsFromItInsteadOfTheLiveState() throws Exception {
        LiveTree live = open(Optional.empty());
        ObjectId empty = live.snapshot("a", "empty");
        live.tree().mkdir(live.tree().root(), "later".getBytes(UTF_8), 0755, 0, 0);
        live.sync();
        LiveTree fromSnap = open(Optional.of(empty));
        assertTrue(fromSnap.tree().find("/later").isEmpty());
        assertTrue(open(Optional.empty()).tree().find("/later").isPresent());
    }

    @Test
    void commit_whenNamesAreNotUtf8_theLiveTreeHoldsTheExactNames() throws Exception {
        LiveTree live = open(Optional.empty());
        Transaction t = live.begin("t1", 0, 1, "sh", "");
        byte[] name = {'b', (byte) 0xff, (byte) 0xfe, 'x'};
        MutableNode.Dir d = t.tree().mkdir(t.tree().root(), name, 0755, 0, 0);
        t.tree().createFile(d, name, 0644, 0, 0);
        LiveTree.CommitResult r = live.commit(t, "alice", "bytes");
        assertTrue(r.snapshot() != null && r.conflicts().isEmpty());
        MutableNode.Dir got =
                (MutableNode.Dir) live.tree().lookup(live.tree().root(), name).orElseThrow();
        assertTrue(live.tree().lookup(got, name).isPresent(), "the reloaded live tree has the file by its bytes");
        assertEquals(Transaction.State.COMMITTED, t.state());
        assertTrue(r.elapsedNs() > 0);
    }

    @Test
    void commit_whenBothSidesChangedThePath_failsAndTheTransactionStaysOpen() throws Exception {
        LiveTree live = open(Optional.empty());
        live.tree().createFile(live.tree().root(), "f".getBytes(UTF_8), 0644, 0, 0);
        ObjectId before = live.snapshot("a", "base");
        Transaction t = live.begin("t1", 0, 1, "sh", "");
        MutableNode.File ours = (MutableNode.File) t.tree().get("/f");
        t.tree().write(ours, 0, "ours".getBytes(UTF_8), 0, 4);
        MutableNode.File theirs = (MutableNode.File) live.tree().get("/f");
        live.tree().write(theirs, 0, "theirs".getBytes(UTF_8), 0, 6);
        LiveTree.CommitResult r = live.commit(t, "a", "m");
        assertEquals(List.of("/f"), r.conflicts());
        assertEquals(Transaction.State.OPEN, t.state());
        assertEquals(before, store.refs().find(Snapshots.HEAD).orElseThrow(), "history did not move");
    }

    @Test
    void commit_whenNothingChanged_recordsNoSnapshot() throws Exception {
        LiveTree live = open(Optional.empty());
        ObjectId head = live.snapshot("a", "base");
        Transaction t = live.begin("t1", 0, 1, "sh", "");
        LiveTree.CommitResult r = live.commit(t, "a", "m");
        assertEquals(null, r.snapshot());
        assertEquals(head, store.refs().find(Snapshots.HEAD).orElseThrow());
    }

    @Test
    void rollback_makesTheLiveTreeTheSnapshotsTreeAndRecordsIt() throws Exception {
        LiveTree live = open(Optional.empty());
        live.tree().createFile(live.tree().root(), "old".getBytes(UTF_8), 0644, 0, 0);
        ObjectId first = live.snapshot("a", "first");
        live.tree().unlink(live.tree().root(), "old".getBytes(UTF_8));
        live.tree().mkdir(live.tree().root(), "new".getBytes(UTF_8), 0755, 0, 0);
        ObjectId second = live.snapshot("a", "second");

        LiveTree.CommitResult r = live.rollback(first, "a", "rollback to first");

        assertTrue(
                live.tree().find("/old").isPresent() && live.tree().find("/new").isEmpty());
        assertEquals(2, r.applied().size(), "old came back, new went: " + r.applied());
        assertEquals(r.snapshot(), store.refs().find(Snapshots.HEAD).orElseThrow());
        assertEquals(List.of(second), Snapshots.load(store, r.snapshot()).parents(), "history keeps all");
        assertEquals(
                Snapshots.load(store, first).root(),
                Snapshots.load(store, r.snapshot()).root());
        assertEquals(Snapshots.load(store, first).root(), live.sync(), "the live state is that tree");
    }

    @Test
    void begin_onAnOlderSnapshot_seesItsTreeAndCommitAppliesOnlyWhatItChanged() throws Exception {
        LiveTree live = open(Optional.empty());
        live.tree().createFile(live.tree().root(), "old".getBytes(UTF_8), 0644, 0, 0);
        ObjectId first = live.snapshot("a", "first");
        live.tree().createFile(live.tree().root(), "later".getBytes(UTF_8), 0644, 0, 0);
        live.sync();
        Transaction t = live.begin("t1", first, 0, 1, "make", "");
        assertTrue(t.ownBase());
        assertEquals(first, t.baseSnapshot());
        assertTrue(t.tree().find("/later").isEmpty(), "the base's tree, not the live one");
        t.tree().createFile(t.tree().root(), "built".getBytes(UTF_8), 0644, 0, 0);
        LiveTree.CommitResult r = live.commit(t, "a", "build");
        assertTrue(r.snapshot() != null && r.conflicts().isEmpty());
        assertTrue(live.tree().find("/built").isPresent());
        assertTrue(live.tree().find("/later").isPresent(), "the base lacked it, the run did not delete it");
    }

    @Test
    void begin_onTheLiveStatesOwnSnapshot_isAnOrdinaryTransaction() throws Exception {
        LiveTree live = open(Optional.empty());
        ObjectId head = live.snapshot("a", "now");
        assertTrue(!live.begin("t1", head, 0, 1, "sh", "").ownBase());
    }

    @Test
    void keep_recordsTheTreeUnderTheRefWithTheBaseAsParent_andCommitKeptMergesItLater() throws Exception {
        LiveTree live = open(Optional.empty());
        live.tree().createFile(live.tree().root(), "f".getBytes(UTF_8), 0644, 0, 0);
        ObjectId head = live.snapshot("a", "base");
        Transaction t = live.begin("t1", head, 0, 1, "make", "");
        t.tree().createFile(t.tree().root(), "out".getBytes(UTF_8), 0644, 0, 0);
        ObjectId kept = live.keep(t, "runs/r1", "a", "kept");
        assertEquals(Transaction.State.KEPT, t.state());
        assertEquals(Optional.of(kept), store.refs().find("runs/r1"));
        assertEquals(List.of(t.baseSnapshot()), Snapshots.load(store, kept).parents());
        assertTrue(live.tree().find("/out").isEmpty(), "keeping leaves the live tree alone");
        assertEquals(head, store.refs().find(Snapshots.HEAD).orElseThrow(), "and HEAD");

        live.tree().createFile(live.tree().root(), "meanwhile".getBytes(UTF_8), 0644, 0, 0);
        LiveTree.CommitResult r = live.commitKept(kept, "a", "merge it");
        assertTrue(r.snapshot() != null && r.conflicts().isEmpty());
        assertTrue(live.tree().find("/out").isPresent());
        assertTrue(live.tree().find("/meanwhile").isPresent());
        assertEquals(r.snapshot(), store.refs().find(Snapshots.HEAD).orElseThrow());
        LiveTree.CommitResult again = live.commitKept(kept, "a", "twice");
        assertTrue(again.conflicts().isEmpty() && again.applied().isEmpty(), "committing it again changes nothing");
    }

    @Test
    void commitKept_whenTheLiveTreeChangedTheSamePath_conflictsAndChangesNothing() throws Exception {
        LiveTree live = open(Optional.empty());
        live.tree().createFile(live.tree().root(), "f".getBytes(UTF_8), 0644, 0, 0);
        ObjectId head = live.snapshot("a", "base");
        Transaction t = live.begin("t1", head, 0, 1, "make", "");
        t.tree().write((MutableNode.File) t.tree().get("/f"), 0, "run".getBytes(UTF_8), 0, 3);
        ObjectId kept = live.keep(t, "runs/r1", "a", "kept");
        live.tree().write((MutableNode.File) live.tree().get("/f"), 0, "live".getBytes(UTF_8), 0, 4);
        ObjectId liveRoot = live.sync();
        LiveTree.CommitResult r = live.commitKept(kept, "a", "merge it");
        assertEquals(List.of("/f"), r.conflicts());
        assertEquals(liveRoot, live.sync());
        assertEquals(4, live.tree().get("/f").size());
    }

    /**
     * Issue 14, finding 1: a commit's permission check runs under the lock after the merge, sees
     * the changes as they would land, and when it refuses nothing changes and the transaction
     * stays open.
     */
    @Test
    void commit_whenTheCheckRefuses_throwsDeniedChangesNothingAndStaysOpen() throws Exception {
        LiveTree live = open(Optional.empty());
        ObjectId old = live.snapshot("root", "old");
        live.tree().mkdir(live.tree().root(), "later".getBytes(UTF_8), 0755, 0, 0);
        ObjectId liveRoot = live.sync();
        ObjectId head = store.refs().find(Snapshots.HEAD).orElseThrow();
        Transaction t = live.begin("t1", old, Transaction.Credentials.of(65534, 65534), 1, "sh", "");
        t.tree().createFile(t.tree().root(), "x".getBytes(UTF_8), 0644, 65534, 65534);
        List<List<String>> seen = new java.util.ArrayList<>();
        LiveTree.CommitCheck refuse = (s, l, merged, applied) -> {
            seen.add(applied.stream().map(dev.txfs.journal.Change::path).toList());
            assertEquals(liveRoot, l);
            return List.of("/x: no");
        };
        LiveTree.DeniedException e = org.junit.jupiter.api.Assertions.assertThrows(
                LiveTree.DeniedException.class, () -> live.commit(t, "nobody", "m", refuse));
        assertEquals(List.of("/x: no"), e.paths());
        assertEquals(List.of(List.of("/x")), seen);
        assertEquals(Transaction.State.OPEN, t.state());
        assertEquals(liveRoot, live.sync());
        assertEquals(head, store.refs().find(Snapshots.HEAD).orElseThrow());

        LiveTree.CommitResult r = live.commit(t, "nobody", "m", (s, l, merged, applied) -> List.of());
        assertEquals(Transaction.State.COMMITTED, t.state());
        assertTrue(
                live.tree().find("/x").isPresent() && live.tree().find("/later").isPresent());
        assertTrue(r.snapshot() != null);
    }

    @Test
    void credentials_groups_includeTheGroup() {
        assertEquals(java.util.Set.of(7L, 8L), new Transaction.Credentials(1, 7, java.util.Set.of(8L)).groups());
    }

    @Test
    void credentials_encode_decodesToTheSame_andMalformedIsRefused() {
        Transaction.Credentials c = new Transaction.Credentials(65534, 65534, java.util.Set.of(4L, 100L));
        assertEquals(c, Transaction.Credentials.decode(c.encode()));
        assertEquals(Transaction.Credentials.of(5, -1), Transaction.Credentials.decode("5:-1:"));
        org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> Transaction.Credentials.decode("5:1"));
        org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> Transaction.Credentials.decode("x:1:"));
    }
}
