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
}
