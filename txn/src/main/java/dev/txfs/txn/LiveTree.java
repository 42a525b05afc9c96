package dev.txfs.txn;

import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import java.nio.file.FileSystemException;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The state processes outside any transaction see and write: one {@link MutableTree} behind one
 * lock, persisted under the ref {@value #REF}.
 *
 * <p>Persistence: {@link #sync()} flushes the tree (O(changed)) and moves {@value #REF} to a
 * snapshot of it, durably. The daemon syncs on fsync, every few seconds while dirty, and at
 * unmount; after a crash the next mount starts from the last sync, so at most that interval of
 * un-fsynced writes is lost and nothing fsync'ed is. {@value #REF} is not history: each of its
 * snapshots has no parent. {@link #snapshot} records history under {@code HEAD}.
 *
 * <p>Locking: every access to {@link #tree()} holds {@link #lock()}.
 */
public final class LiveTree {
    /** The ref holding the live tree's last synced state. */
    public static final String REF = "live";

    private final ObjectStore store;
    private final MutableTree tree;
    private final LongSupplier clock;
    private final Object lock = new Object();
    private ObjectId lastRoot;

    private LiveTree(ObjectStore store, ObjectId root, LongSupplier clock) {
        this.store = store;
        this.clock = clock;
        this.tree = new MutableTree(store, root, clock);
        this.lastRoot = root;
    }

    /**
     * Opens the live tree: from {@code snapshot} if given, else from the last synced live state,
     * else from {@code HEAD}, else an empty tree owned by root.
     */
    public static LiveTree open(ObjectStore store, Optional<ObjectId> snapshot, LongSupplier clock) {
        return open(store, snapshot, clock, 0, 0);
    }

    /** Like {@link #open(ObjectStore, Optional, LongSupplier)}; an empty tree's root is owned by uid:gid. */
    public static LiveTree open(
            ObjectStore store, Optional<ObjectId> snapshot, LongSupplier clock, long uid, long gid) {
        Optional<ObjectId> start =
                snapshot.or(() -> store.refs().find(REF)).or(() -> store.refs().find(Snapshots.HEAD));
        ObjectId root = start.map(id -> Snapshots.load(store, id).root())
                .orElseGet(() -> MutableTree.writeEmpty(store, 0755, uid, gid, clock.getAsLong()));
        return new LiveTree(store, root, clock);
    }

    public MutableTree tree() {
        return tree;
    }

    public Object lock() {
        return lock;
    }

    public ObjectStore store() {
        return store;
    }

    /** Writes all changes and makes them the durable live state; returns the root id. */
    public ObjectId sync() throws FileSystemException {
        synchronized (lock) {
            ObjectId root = tree.flush();
            if (!root.equals(lastRoot) || store.refs().find(REF).isEmpty()) {
                try (var w = store.newWriter()) {
                    ObjectId snap =
                            w.put(new Snapshot(root, List.of(), clock.getAsLong(), "txfs", "live state").encode());
                    w.flush();
                    while (true) {
                        Optional<ObjectId> cur = store.refs().find(REF);
                        if (store.refs().compareAndSet(REF, cur.orElse(null), snap)) {
                            break;
                        }
                    }
                }
                lastRoot = root;
            }
            return root;
        }
    }

    /** Records the live tree as a snapshot under {@code HEAD}; returns the snapshot id. */
    public ObjectId snapshot(String author, String message) throws FileSystemException {
        ObjectId root = sync();
        return Snapshots.record(store, Snapshots.HEAD, root, author, message, clock);
    }
}
