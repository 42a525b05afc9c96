package dev.txfs.tool;

import dev.txfs.fs.CommitPermissions;
import dev.txfs.fs.LiveFs;
import dev.txfs.fs.TxnControl;
import dev.txfs.fs.TxnControl.Failure;
import dev.txfs.journal.Change;
import dev.txfs.journal.Diff;
import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.txn.LiveTree;
import dev.txfs.txn.Transaction;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The transaction an isolated mount is ({@code txfs mount --isolated --base ID DIR}): a private,
 * writable tree over a snapshot, served by its own daemon with full kernel caching (no other
 * process shares it, so no per-process routing). {@code txfs commit --mount DIR} records the tree
 * as a snapshot whose parent is the base and merges what changed since the base into the store's
 * live tree, three ways, as a transaction's commit does: through the daemon serving the live tree
 * if there is one (control socket request {@code commit-kept}), else directly under the store's
 * mount lock. The mount then goes on from what it committed. {@code txfs abort --mount DIR}
 * returns the tree to its base; unmounting without commit drops the changes (nothing refers to
 * them). Only the user who mounted it, or root, may commit or abort.
 *
 * <p>While an isolated mount is up it holds the store open, so {@code txfs gc} waits for it (the
 * objects it wrote belong to no ref until it commits).
 */
final class IsolatedMount implements TxnControl.Isolated {
    private final LmdbObjectStore store;
    private final Path storeDir;
    private final Path mountpoint;
    private final LiveTree tree;
    private final long ownerUid;
    private LiveFs fs;
    /** The snapshot the mount's changes are relative to, and its tree. Guarded by the tree's lock. */
    private ObjectId base;

    private ObjectId baseRoot;

    IsolatedMount(LmdbObjectStore store, Path storeDir, Path mountpoint, LiveTree tree, ObjectId base, long ownerUid) {
        this.store = store;
        this.storeDir = storeDir;
        this.mountpoint = mountpoint;
        this.tree = tree;
        this.ownerUid = ownerUid;
        this.base = base;
        this.baseRoot = Snapshots.load(store, base).root();
    }

    void serve(LiveFs fs) {
        this.fs = fs;
        fs.control().serveIsolated(this);
    }

    private void check(long uid) throws Failure {
        if (uid != 0 && uid != ownerUid) {
            throw new Failure(
                    TxnControl.EXIT_DENIED,
                    "this isolated mount belongs to " + TxnControl.userName(ownerUid) + " (uid " + ownerUid + ")");
        }
    }

    @Override
    public String commit(long uid, String message) throws Failure, IOException {
        check(uid);
        synchronized (tree.lock()) {
            ObjectId root = tree.sync();
            if (root.equals(baseRoot)) {
                return base.toHex() + "\t0\t0\n";
            }
            String author = TxnControl.userName(uid);
            String msg = message.isEmpty() ? "txfs commit of isolated mount " + mountpoint : message;
            ObjectId kept;
            try (ObjectWriter w = store.newWriter()) {
                kept = w.put(new Snapshot(root, List.of(base), Daemon.nowNs(), author, msg).encode());
                w.flush();
            }
            String reply = mergeIntoLive(kept, author, msg);
            base = kept;
            baseRoot = root;
            return reply;
        }
    }

    /**
     * Who the mount's commit acts as in the live tree: its owner (this daemon runs as them), or null
     * for root, whose commits are not checked (see {@link CommitPermissions}).
     */
    private Transaction.Credentials owner() throws IOException {
        return ownerUid == 0
                ? null
                : Transaction.Credentials.ofThread(
                        ProcessHandle.current().pid(), ownerUid, StoreLocator.effectiveGid());
    }

    /** Merges {@code kept} into the store's live tree; the commit reply "SNAPSHOT\tCHANGES\tMICROS". */
    private String mergeIntoLive(ObjectId kept, String author, String msg) throws Failure, IOException {
        Transaction.Credentials creds = owner();
        List<Mounts.TxfsMount> serving = Mounts.ofStore(storeDir);
        if (!serving.isEmpty()) {
            Mounts.TxfsMount m = serving.get(0);
            try {
                String[] f = ControlSocket.call(
                                ControlSocket.pathFor(m.store(), m.mountpoint()),
                                "commit-kept " + kept.toHex() + "\t" + author.replace("\t", " ") + "\t"
                                        + msg.replace("\t", " ").replace("\n", "\\n")
                                        + (creds == null ? "" : "\t" + creds.encode()))
                        .split(" ");
                return String.join("\t", f) + "\n";
            } catch (ToolException e) {
                throw new Failure(e.exitCode().code, e.getMessage().replace("\t", "\n"));
            }
        }
        MountLock lock;
        try {
            lock = MountLock.acquire(storeDir, mountpoint);
        } catch (ToolException e) {
            throw new Failure(
                    TxnControl.EXIT_FAILED, "the store's live tree is being mounted; try again: " + e.getMessage());
        }
        try (lock) {
            LiveTree live = LiveTree.open(store, Optional.empty(), Daemon::nowNs);
            LiveTree.CommitResult r;
            try {
                r = live.commitKept(
                        kept,
                        author,
                        msg,
                        creds == null
                                ? LiveTree.CommitCheck.NONE
                                : CommitPermissions.ofKept(store, kept, creds, Daemon::nowNs));
            } catch (LiveTree.DeniedException e) {
                throw denied(e.paths());
            }
            if (r.conflicted()) {
                throw conflict(r.conflicts());
            }
            return TxnControl.commitReply(live.snapshotOf(r), r);
        }
    }

    /** What stands in a conflict reply where a transaction's id would (see TxnCommands.Commit). */
    static final String CONFLICT_ID = "isolated-mount";

    /** A conflict reply as the control file gives one: the summary, {@link #CONFLICT_ID}, one path per line. */
    static Failure conflict(List<String> paths) {
        return new Failure(
                TxnControl.EXIT_CONFLICT,
                "conflict: changed both in the isolated mount and in the live tree since its base; nothing was"
                        + " committed and the mount keeps its changes\n" + CONFLICT_ID + "\n"
                        + String.join("\n", paths));
    }

    static Failure denied(List<String> paths) {
        return new Failure(
                TxnControl.EXIT_DENIED,
                "permission denied: the live tree does not let the mount's owner make these changes; nothing was"
                        + " committed:\n" + String.join("\n", paths));
    }

    @Override
    public String abort(long uid) throws Failure, IOException {
        check(uid);
        synchronized (tree.lock()) {
            fs.resetTo(baseRoot);
            return base.toHex() + "\n";
        }
    }

    @Override
    public String status(long uid, boolean json) throws Failure, IOException {
        check(uid);
        synchronized (tree.lock()) {
            List<Change> changes = Diff.between(store, baseRoot, tree.sync());
            if (json) {
                Json w = new Json()
                        .beginObject()
                        .field("context", "isolated mount")
                        .field("base", base.toHex())
                        .field("user", TxnControl.userName(ownerUid));
                TxnControl.writeChanges(w, changes);
                return w.endObject() + "\n";
            }
            StringBuilder b = new StringBuilder("context: isolated mount " + mountpoint + "\nbase: " + base.toHex()
                    + "\nuser: " + TxnControl.userName(ownerUid) + "\n");
            b.append(changes.isEmpty() ? "no changes\n" : "changes:\n");
            for (Change ch : changes) {
                b.append(TxnControl.changeLine(ch));
            }
            return b.toString();
        }
    }
}
