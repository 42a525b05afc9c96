package dev.txfs.txn;

import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;

/**
 * One open transaction: a private {@link MutableTree} over the live state as it was at {@code
 * txfs begin} (its base), plus who owns it. Reads see base + own changes; writes stay in this tree
 * (file data spills into unreferenced chunks in the store) until {@link LiveTree#commit} merges them.
 *
 * <p>Locking: like the live tree, every access to {@link #tree()} holds {@link LiveTree#lock()}.
 */
public final class Transaction {
    public enum State {
        OPEN,
        COMMITTED,
        ABORTED,
        /** Recorded as a snapshot under a ref by {@link LiveTree#keep}, not merged. */
        KEPT
    }

    private final String id;
    private final MutableTree tree;
    private final ObjectId baseRoot;
    private final ObjectId baseSnapshot;
    private final long baseSeq;
    private final long startedNs;
    private final long uid;
    private final long rootPid;
    private final String rootCommand;
    private final String message;
    private final boolean ownBase;
    private State state = State.OPEN;

    Transaction(
            String id,
            MutableTree tree,
            ObjectId baseRoot,
            ObjectId baseSnapshot,
            long baseSeq,
            long startedNs,
            long uid,
            long rootPid,
            String rootCommand,
            String message,
            boolean ownBase) {
        this.id = id;
        this.tree = tree;
        this.baseRoot = baseRoot;
        this.baseSnapshot = baseSnapshot;
        this.baseSeq = baseSeq;
        this.startedNs = startedNs;
        this.uid = uid;
        this.rootPid = rootPid;
        this.rootCommand = rootCommand;
        this.message = message;
        this.ownBase = ownBase;
    }

    public String id() {
        return id;
    }

    public MutableTree tree() {
        return tree;
    }

    /** The tree id the transaction started from. */
    public ObjectId baseRoot() {
        return baseRoot;
    }

    /**
     * The snapshot holding {@link #baseRoot()}: the live state's snapshot at begin, or the snapshot
     * the transaction was begun on ({@link #ownBase()}).
     */
    public ObjectId baseSnapshot() {
        return baseSnapshot;
    }

    /**
     * The live tree's sequence number at begin: a live node whose change and attach sequence
     * numbers are at most this is exactly as the base has it.
     */
    public long baseSeq() {
        return baseSeq;
    }

    /**
     * Whether the transaction was begun on a snapshot of its own choosing ({@code txfs run --base})
     * rather than on the live state: then no file of its tree is the live tree's version, whatever
     * the sequence numbers say (directories at the same place still correspond).
     */
    public boolean ownBase() {
        return ownBase;
    }

    public long startedNs() {
        return startedNs;
    }

    /** The user that owns it: only they (or root) may commit, abort or inspect it. */
    public long uid() {
        return uid;
    }

    public long rootPid() {
        return rootPid;
    }

    public String rootCommand() {
        return rootCommand;
    }

    /** The message given to {@code txfs begin -m}, "" if none. */
    public String message() {
        return message;
    }

    public State state() {
        return state;
    }

    void setState(State s) {
        state = s;
    }

    @Override
    public String toString() {
        return "transaction " + id;
    }
}
