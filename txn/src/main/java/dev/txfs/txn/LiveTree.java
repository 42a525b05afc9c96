package dev.txfs.txn;

import dev.txfs.journal.Change;
import dev.txfs.journal.Merge;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.RefStore;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TxfsException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
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
 * <p>Transactions ({@link #begin}) are private trees over the live state at their start; {@link
 * #commit} merges one three ways into the live tree, records it as a snapshot under {@code HEAD} and
 * moves {@code HEAD} and {@value #REF} together in one durable store transaction: after a crash
 * the store has both or neither. All trees share one counter for node serials and change sequence
 * numbers (see {@link MutableTree#nextSeq()}).
 *
 * <p>Locking: every access to {@link #tree()} or a transaction's tree holds {@link #lock()}.
 */
public final class LiveTree {
    /** The ref holding the live tree's last synced state. */
    public static final String REF = "live";

    private final ObjectStore store;
    /** The ref {@link #sync} moves: {@value #REF}, or null for an isolated tree, which persists nothing. */
    private final String ref;

    private final MutableTree tree;
    private final LongSupplier clock;
    private final Object lock = new Object();
    private final AtomicLong counter = new AtomicLong();
    private ObjectId lastRoot;
    /** Open transactions, guarded by {@link #lock}. */
    private final java.util.Set<Transaction> open = new java.util.LinkedHashSet<>();

    private LiveTree(ObjectStore store, ObjectId root, LongSupplier clock, String ref) {
        this.store = store;
        this.ref = ref;
        this.clock = clock;
        this.tree = new MutableTree(store, root, clock, counter);
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
        return new LiveTree(store, root, clock, REF);
    }

    /**
     * A tree over {@code snapshot}'s that no ref records ({@code txfs mount --isolated}): {@link
     * #sync} writes its objects but moves nothing, so it ends with its process unless committed
     * (see {@link #commitKept}, {@link #resetTo}).
     */
    public static LiveTree isolated(ObjectStore store, ObjectId snapshot, LongSupplier clock) {
        return new LiveTree(store, Snapshots.load(store, snapshot).root(), clock, null);
    }

    /** Whether this tree is isolated (see {@link #isolated}). */
    public boolean isIsolated() {
        return ref == null;
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

    /**
     * A sync that failed: the live tree's changes since the last good sync are not durable. Every
     * later sync tries again; {@link #syncFailure()} holds this until one succeeds.
     */
    public static final class SyncFailedException extends TxfsException {
        SyncFailedException(Throwable cause) {
            super(
                    "sync of the live tree failed, changes since the last good sync are not durable: "
                            + describe(cause),
                    cause);
        }

        /** The cause in one line: its type and message (a StackOverflowError has none). */
        static String describe(Throwable t) {
            return t.getMessage() == null
                    ? t.getClass().getSimpleName()
                    : t.getClass().getSimpleName() + ": " + t.getMessage();
        }
    }

    /** The failure of the last sync, null when it succeeded; read without the lock. */
    private volatile SyncFailedException syncFailure;

    /**
     * Why the last sync failed, or empty if it succeeded: what {@code fsync} and {@code txfs
     * umount} report until a sync succeeds again. Threads: any.
     */
    public Optional<SyncFailedException> syncFailure() {
        return Optional.ofNullable(syncFailure);
    }

    /**
     * Writes all changes and makes them the durable live state; returns the root id. A failure of
     * any kind (a full store, an I/O error, an Error such as StackOverflowError) is thrown as a
     * {@link SyncFailedException} and recorded ({@link #syncFailure()}); the tree keeps its changes,
     * so the next sync writes them.
     */
    public ObjectId sync() throws FileSystemException {
        synchronized (lock) {
            try {
                ObjectId root = syncWithLock();
                syncFailure = null;
                return root;
            } catch (Exception | StackOverflowError e) {
                SyncFailedException f = new SyncFailedException(e);
                syncFailure = f;
                throw f;
            }
        }
    }

    private ObjectId syncWithLock() throws FileSystemException {
        return tree.flush((root, w) -> {
            if (ref != null && (!root.equals(lastRoot) || store.refs().find(REF).isEmpty())) {
                // the tree's last objects, its snapshot and the ref in one LMDB write and one
                // sync: an fsync pays 2 disk flushes instead of 4
                ObjectId snap = w.put(new Snapshot(root, List.of(), clock.getAsLong(), "txfs", "live state").encode());
                while (!w.flushAndSet(
                        List.of(new RefStore.Update(REF, store.refs().find(REF).orElse(null), snap)))) {
                    // moved by another writer meanwhile: the objects are in; set it over that
                }
            } else {
                w.flush();
            }
            lastRoot = root;
            return root;
        });
    }

    /**
     * What a garbage collection must keep besides the refs, all written out: the live tree's root,
     * and for each open transaction its tree, its base tree and its base snapshot. The caller holds
     * {@link #lock()} from this call until the collection has ended, so nothing changes meanwhile.
     */
    public List<ObjectId> heldObjects() throws FileSystemException {
        synchronized (lock) {
            List<ObjectId> out = new java.util.ArrayList<>();
            out.add(sync());
            for (Transaction t : open) {
                out.add(t.tree().flush());
                out.add(t.baseRoot());
                out.add(t.baseSnapshot());
            }
            return out;
        }
    }

    /**
     * Starts a transaction over the live state as it is now (synced first, so its base is durable and
     * named by a snapshot).
     */
    public Transaction begin(String id, long uid, long rootPid, String rootCommand, String message)
            throws FileSystemException {
        return begin(id, null, uid, rootPid, rootCommand, message);
    }

    /** {@link #begin(String, ObjectId, Transaction.Credentials, long, String, String)} as uid with no groups. */
    public Transaction begin(
            String id, ObjectId baseSnapshot, long uid, long rootPid, String rootCommand, String message)
            throws FileSystemException {
        return begin(id, baseSnapshot, Transaction.Credentials.of(uid, -1), rootPid, rootCommand, message);
    }

    /**
     * Starts a transaction over {@code baseSnapshot}'s tree ({@code txfs run --base}), or over the
     * live state when that is null. Its commit merges three ways from that base: what it changed
     * relative to the snapshot is applied to the live tree as it is then. A base whose tree is the
     * live state's is the same as none.
     */
    public Transaction begin(
            String id,
            ObjectId baseSnapshot,
            Transaction.Credentials creds,
            long rootPid,
            String rootCommand,
            String message)
            throws FileSystemException {
        synchronized (lock) {
            ObjectId root = baseSnapshot == null
                    ? null
                    : Snapshots.load(store, baseSnapshot).root();
            Transaction t = root == null || root.equals(sync())
                    ? start(id, null, creds, rootPid, rootCommand, message)
                    : transaction(id, baseSnapshot, root, root, creds, rootPid, rootCommand, message, true);
            open.add(t);
            return t;
        }
    }

    /**
     * A transaction based on the live state as it is now (synced first), whose tree starts as
     * {@code treeRoot}, or as the base when that is null. The caller holds the lock.
     */
    private Transaction start(
            String id,
            ObjectId treeRoot,
            Transaction.Credentials creds,
            long rootPid,
            String rootCommand,
            String message)
            throws FileSystemException {
        ObjectId root = sync();
        return transaction(
                id,
                store.refs().find(REF).orElseThrow(),
                root,
                treeRoot != null ? treeRoot : root,
                creds,
                rootPid,
                rootCommand,
                message,
                false);
    }

    /**
     * A transaction over {@code baseSnapshot} (tree {@code baseRoot}) whose tree starts as {@code
     * treeRoot}; {@code ownBase} when that base is not the live state's (see {@link Transaction#ownBase}).
     */
    private Transaction transaction(
            String id,
            ObjectId baseSnapshot,
            ObjectId baseRoot,
            ObjectId treeRoot,
            Transaction.Credentials creds,
            long rootPid,
            String rootCommand,
            String message,
            boolean ownBase) {
        return new Transaction(
                id,
                new MutableTree(store, treeRoot, clock, counter),
                baseRoot,
                baseSnapshot,
                tree.nextSeq(),
                clock.getAsLong(),
                creds,
                rootPid,
                rootCommand,
                message,
                ownBase);
    }

    /**
     * Ends an open transaction by recording its tree as a snapshot whose parent is its base, under
     * ref {@code ref} (which must not exist), without touching the live tree or {@code HEAD}: the
     * kept output of {@code txfs run --keep}, to be diffed, committed ({@link #commitKept}) or
     * dropped later. Returns the snapshot; the transaction is then {@link Transaction.State#KEPT}.
     */
    public ObjectId keep(Transaction t, String ref, String author, String message) throws FileSystemException {
        synchronized (lock) {
            if (t.state() != Transaction.State.OPEN) {
                throw new IllegalStateException(t + " is " + t.state().name().toLowerCase());
            }
            ObjectId root = t.tree().flush();
            ObjectId snap;
            try (ObjectWriter w = store.newWriter()) {
                snap = w.put(
                        new Snapshot(root, List.of(t.baseSnapshot()), clock.getAsLong(), author, message).encode());
                w.flush();
            }
            if (!store.refs().compareAndSet(ref, null, snap)) {
                throw new IllegalArgumentException("ref " + ref + " exists");
            }
            t.setState(Transaction.State.KEPT);
            open.remove(t);
            return snap;
        }
    }

    /**
     * Commits a kept run ({@link #keep}): the changes snapshot {@code kept} made relative to its
     * parent are merged three ways into the live tree, as if its transaction were committed now. On
     * conflict nothing changes. The caller drops the kept run's ref after a success: a crash in
     * between leaves the ref, and committing it again then merges changes the live tree already has,
     * which changes nothing.
     */
    public CommitResult commitKept(ObjectId kept, String author, String message) throws FileSystemException {
        return commitKept(kept, author, message, CommitCheck.NONE);
    }

    /**
     * {@link #commitKept(ObjectId, String, String)}, refused with {@link DeniedException} (and
     * nothing changed) when {@code check} refuses what the merge would do to the live tree.
     */
    public CommitResult commitKept(ObjectId kept, String author, String message, CommitCheck check)
            throws FileSystemException {
        synchronized (lock) {
            Snapshot k = Snapshots.load(store, kept);
            if (k.parents().size() != 1) {
                throw new IllegalArgumentException("snapshot " + kept.toHex() + " is not a kept run (it has "
                        + k.parents().size() + " parents)");
            }
            ObjectId base = k.parents().get(0);
            Transaction t =
                    transaction("kept", base, Snapshots.load(store, base).root(), k.root(), ROOT, 0, "", message, true);
            open.add(t);
            try {
                return commit(t, author, message, check);
            } finally {
                open.remove(t);
            }
        }
    }

    private static final Transaction.Credentials ROOT = Transaction.Credentials.of(0, 0);

    /**
     * A rule the effect of a commit on the live tree must pass: {@link #commit(Transaction, String,
     * String, CommitCheck)} calls it under {@link #lock()}, after a successful merge and before
     * anything is recorded, so that what it saw is what lands.
     */
    @FunctionalInterface
    public interface CommitCheck {
        /** Checks nothing (root's commits). */
        CommitCheck NONE = (store, live, merged, applied) -> List.of();

        /**
         * The paths the commit may not change, each with why, in the order of {@code applied};
         * empty to let it through.
         *
         * @param live the live tree's root now
         * @param merged the root the commit would make the live tree (its objects are in {@code store})
         * @param applied the changes from {@code live} to {@code merged}, as {@link Merge.Result#applied}
         */
        List<String> refused(ObjectStore store, ObjectId live, ObjectId merged, List<Change> applied);
    }

    /** A commit that a {@link CommitCheck} refused: nothing changed. */
    public static final class DeniedException extends AccessDeniedException {
        private final List<String> paths;

        public DeniedException(List<String> paths) {
            super(paths.isEmpty() ? "/" : paths.get(0), null, "permission denied");
            this.paths = List.copyOf(paths);
        }

        /** The refused paths, each with why. */
        public List<String> paths() {
            return paths;
        }

        @Override
        public String getMessage() {
            return "permission denied in the live tree:\n" + String.join("\n", paths);
        }
    }

    /**
     * What a commit did: the snapshot recorded (null when the transaction changed nothing, or on
     * conflict), the paths in conflict (the commit then changed nothing), and the changes it made to
     * the live tree.
     */
    public record CommitResult(
            ObjectId snapshot, List<String> conflicts, List<Change> applied, long reloadSeq, long elapsedNs) {
        public boolean conflicted() {
            return !conflicts.isEmpty();
        }
    }

    /**
     * Merges {@code t} into the live tree (three ways: its base, its tree, the live tree now) and
     * records the result under {@code HEAD}, durably, before returning. On conflict nothing changes
     * and the transaction stays open; on success it is {@link Transaction.State#COMMITTED}. A
     * transaction that changed nothing commits without recording a snapshot.
     */
    public CommitResult commit(Transaction t, String author, String message) throws FileSystemException {
        return commit(t, author, message, CommitCheck.NONE);
    }

    /**
     * {@link #commit(Transaction, String, String)}, checked: once the merge has succeeded and before
     * anything is recorded, {@code check} is shown what the commit would do to the live tree; if it
     * refuses any path, the commit throws {@link DeniedException}, nothing changes (the merged
     * objects it wrote belong to no ref) and the transaction stays open, as on a conflict.
     */
    public CommitResult commit(Transaction t, String author, String message, CommitCheck check)
            throws FileSystemException {
        synchronized (lock) {
            long start = System.nanoTime();
            if (t.state() != Transaction.State.OPEN) {
                throw new IllegalStateException(t + " is " + t.state().name().toLowerCase());
            }
            ObjectId ours = t.tree().flush();
            if (ours.equals(t.baseRoot())) {
                t.setState(Transaction.State.COMMITTED);
                open.remove(t);
                return new CommitResult(null, List.of(), List.of(), 0, System.nanoTime() - start);
            }
            ObjectId theirs = tree.flush();
            try (ObjectWriter w = store.newWriter()) {
                Merge.Result m = Merge.threeWay(store, w, t.baseRoot(), ours, theirs);
                if (m.root() == null) {
                    w.flush();
                    return new CommitResult(null, m.conflicts(), List.of(), 0, System.nanoTime() - start);
                }
                if (check != CommitCheck.NONE && !m.applied().isEmpty()) {
                    w.flush(); // the checker reads the merged tree from the store
                    List<String> refused = check.refused(store, theirs, m.root(), m.applied());
                    if (!refused.isEmpty()) {
                        throw new DeniedException(refused);
                    }
                }
                ObjectId snap;
                while (true) {
                    Optional<ObjectId> head = store.refs().find(Snapshots.HEAD);
                    Optional<ObjectId> live = store.refs().find(REF);
                    snap = w.put(new Snapshot(
                                    m.root(), head.map(List::of).orElse(List.of()), clock.getAsLong(), author, message)
                            .encode());
                    w.flush();
                    if (store.refs()
                            .compareAndSetAll(List.of(
                                    new RefStore.Update(Snapshots.HEAD, head.orElse(null), snap),
                                    new RefStore.Update(REF, live.orElse(null), snap)))) {
                        break;
                    }
                }
                long seq = tree.nextSeq();
                tree.reload(m.root(), m.applied().stream().map(Change::segments).toList());
                lastRoot = m.root();
                t.setState(Transaction.State.COMMITTED);
                open.remove(t);
                return new CommitResult(snap, List.of(), m.applied(), seq, System.nanoTime() - start);
            }
        }
    }

    /**
     * The snapshot the live state is in after commit result {@code r}: the one it recorded, or, for
     * a commit that changed nothing, the live state's own.
     */
    public ObjectId snapshotOf(CommitResult r) {
        return r.snapshot() != null ? r.snapshot() : store.refs().find(REF).orElseThrow();
    }

    /**
     * Makes the live tree the tree of {@code snapshot}, in one step, and records that as a new
     * snapshot under {@code HEAD} (history keeps everything before it). It is the commit of a
     * transaction whose tree is the snapshot's: merged against the live tree it was based on, it
     * cannot conflict, and {@link CommitResult#applied} says which paths changed for the caller's
     * caches. Open transactions are untouched; at their commit, what the rollback changed counts as
     * changed outside them.
     */
    public CommitResult rollback(ObjectId snapshot, String author, String message) throws FileSystemException {
        synchronized (lock) {
            Transaction t = start("rollback", Snapshots.load(store, snapshot).root(), ROOT, 0, "", message);
            CommitResult r = commit(t, author, message);
            if (r.snapshot() == null && !r.conflicted()) {
                // The live tree already is that tree: record the rollback all the same.
                ObjectId snap = Snapshots.record(store, Snapshots.HEAD, t.baseRoot(), author, message, clock);
                return new CommitResult(snap, List.of(), List.of(), r.reloadSeq(), r.elapsedNs());
            }
            return r;
        }
    }

    /**
     * Makes an isolated tree ({@link #isolated}) the tree {@code root}, in one step: {@code txfs
     * abort --mount} of an isolated mount returns it to its base. {@link CommitResult#applied} says
     * which paths changed, for the caller's caches; nothing is recorded.
     */
    public CommitResult resetTo(ObjectId root) throws FileSystemException {
        synchronized (lock) {
            if (ref != null) {
                throw new IllegalStateException("only an isolated tree is reset; the live tree rolls back");
            }
            long start = System.nanoTime();
            List<Change> changes = dev.txfs.journal.Diff.between(store, tree.flush(), root);
            long seq = tree.nextSeq();
            tree.reload(root, changes.stream().map(Change::segments).toList());
            lastRoot = root;
            return new CommitResult(null, List.of(), changes, seq, System.nanoTime() - start);
        }
    }

    /** Drops a transaction: the live tree and history stay as if it never existed. */
    public void abort(Transaction t) {
        synchronized (lock) {
            if (t.state() == Transaction.State.OPEN) {
                t.setState(Transaction.State.ABORTED);
            }
            open.remove(t);
        }
    }

    /** Records the live tree as a snapshot under {@code HEAD}; returns the snapshot id. */
    public ObjectId snapshot(String author, String message) throws FileSystemException {
        ObjectId root = sync();
        return Snapshots.record(store, Snapshots.HEAD, root, author, message, clock);
    }
}
