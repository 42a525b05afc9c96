package dev.txfs.fs;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.fs.FsOps.Caller;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.txn.LiveTree;
import dev.txfs.txn.Transaction;
import dev.txfs.txn.proc.Membership;
import dev.txfs.txn.proc.ProcessRef;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A LiveFs over an in-memory store driven directly, without a kernel: callers are made-up pids,
 * and {@link #begin} puts {@link #INSIDE} into a transaction as {@code txfs begin} would.
 */
final class DirectLiveFs {
    static final int O_RDONLY = 0, O_RDWR = 2;
    static final Caller INSIDE = new Caller(0, 0, 100);
    static final Caller OUTSIDE = new Caller(0, 0, 200);

    /** Membership by a fixed table of pids. */
    static final class TableMembership implements Membership {
        final Map<Long, String> pids = new HashMap<>();

        @Override
        public Mode mode() {
            return Mode.PARENT_WALK;
        }

        @Override
        public List<Foreign> add(String txnId, ProcessRef root, long uid, boolean othersAllowed) {
            pids.put(root.pid(), txnId);
            return List.of();
        }

        @Override
        public Optional<String> resolve(long tid) {
            return Optional.ofNullable(pids.get(tid));
        }

        @Override
        public void remove(String txnId) {
            pids.values().removeIf(txnId::equals);
        }

        @Override
        public boolean hasMembers(String txnId) {
            return pids.containsValue(txnId);
        }

        @Override
        public void close() {}
    }

    final LiveTree live = LiveTree.open(new InMemoryObjectStore(), Optional.empty(), () -> 1L);
    final TableMembership membership = new TableMembership();
    final LiveFs fs;

    DirectLiveFs(boolean requireTxn) {
        fs = new LiveFs(
                live,
                () -> 1L,
                () -> new FsOps.StatFs(1 << 20, 1 << 19, 1 << 19, 1 << 20, 1 << 19, 4096, 255),
                () -> {},
                membership,
                requireTxn);
    }

    Transaction begin() throws Exception {
        synchronized (fs.lock()) {
            Transaction t = live.begin("t1", 0, INSIDE.pid(), "test", "");
            fs.addView(t);
            membership.pids.put(INSIDE.pid(), t.id());
            return t;
        }
    }

    /** As {@link #begin}, on snapshot {@code base} ({@code txfs run --base}): a view on another base when it is not the live state. */
    Transaction beginOn(ObjectId base) throws Exception {
        synchronized (fs.lock()) {
            Transaction t = live.begin("t1", base, 0, INSIDE.pid(), "test", "");
            fs.addView(t);
            membership.pids.put(INSIDE.pid(), t.id());
            return t;
        }
    }

    /** Notifications LiveFs sends, as text: {@code inode INO OFF LEN}, {@code entry PARENT NAME}, {@code await}. */
    static final class RecordingNotifier implements LiveFs.Notifier {
        final List<String> sent = new ArrayList<>();

        @Override
        public void invalidateEntry(long parent, byte[] name) {
            sent.add("entry " + parent + " " + new String(name, UTF_8));
        }

        @Override
        public void invalidateInode(long ino, long off, long len) {
            sent.add("inode " + ino + " " + off + " " + len);
        }

        @Override
        public void await() {
            sent.add("await");
        }
    }

    void commit(Transaction t) throws Exception {
        synchronized (fs.lock()) {
            LiveTree.CommitResult r = live.commit(t, "root", "test");
            fs.closeView(fs.openViews().get(t.id()), r);
        }
        membership.remove(t.id());
    }

    long lookup(Caller c, String name) throws Exception {
        return fs.lookup(c, FsOps.ROOT, name.getBytes(UTF_8)).ino();
    }

    String read(Caller c, long ino, long fh) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(4096);
        fs.read(c, ino, fh, 0, dst);
        return new String(dst.array(), 0, dst.position(), UTF_8);
    }

    static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(UTF_8));
    }
}
