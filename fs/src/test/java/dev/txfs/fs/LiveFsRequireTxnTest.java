package dev.txfs.fs;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.txfs.fs.FsException.Kind;
import dev.txfs.fs.FsOps.Caller;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.txn.LiveTree;
import dev.txfs.txn.Transaction;
import dev.txfs.txn.proc.Membership;
import dev.txfs.txn.proc.ProcessRef;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A {@code --require-txn} LiveFs, driven directly (no kernel): where changes need a transaction. */
class LiveFsRequireTxnTest {
    private static final int O_RDWR = 2;
    private static final Caller INSIDE = new Caller(0, 0, 100);
    private static final Caller OUTSIDE = new Caller(0, 0, 200);

    /** Membership by a fixed table of pids. */
    private static final class TableMembership implements Membership {
        final Map<Long, String> pids = new HashMap<>();

        @Override
        public Mode mode() {
            return Mode.PARENT_WALK;
        }

        @Override
        public void add(String txnId, ProcessRef root) {
            pids.put(root.pid(), txnId);
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

    private final LiveTree live = LiveTree.open(new InMemoryObjectStore(), Optional.empty(), () -> 1L);
    private final TableMembership membership = new TableMembership();
    private final LiveFs fs = new LiveFs(
            live,
            () -> 1L,
            () -> new FsOps.StatFs(1 << 20, 1 << 19, 1 << 19, 1 << 20, 1 << 19, 4096, 255),
            () -> {},
            membership,
            true);

    private Transaction begin() throws Exception {
        synchronized (fs.lock()) {
            Transaction t = live.begin("t1", 0, INSIDE.pid(), "test", "");
            fs.addView(t);
            membership.pids.put(INSIDE.pid(), t.id());
            return t;
        }
    }

    private void commit(Transaction t) throws Exception {
        synchronized (fs.lock()) {
            LiveTree.CommitResult r = live.commit(t, "root", "test");
            fs.closeView(fs.openViews().get(t.id()), r);
        }
        membership.remove(t.id());
    }

    private static ByteBuffer bytes(String s) {
        return ByteBuffer.wrap(s.getBytes(UTF_8));
    }

    private static Kind kindOf(Executable e) {
        return assertThrows(FsException.class, e::run).kind();
    }

    private interface Executable {
        void run() throws Exception;
    }

    /**
     * Regression: a descriptor opened for writing inside a transaction continued on the live tree
     * after commit and kept writing into it, a change outside any transaction on a mount that
     * promises there are none.
     */
    @Test
    void write_throughAHandleOpenedInACommittedTransaction_failsWithReadOnly() throws Exception {
        Transaction t = begin();
        FsOps.Created c = fs.create(INSIDE, FsOps.ROOT, "f".getBytes(UTF_8), 0100644, O_RDWR, 022);
        assertEquals(3, fs.write(INSIDE, c.entry().ino(), c.fh(), 0, bytes("in\n")));
        commit(t);

        assertEquals(Kind.READ_ONLY, kindOf(() -> fs.write(INSIDE, c.entry().ino(), c.fh(), 3, bytes("out\n"))));
        assertEquals(Kind.READ_ONLY, kindOf(() -> fs.fallocate(INSIDE, c.entry().ino(), c.fh(), 0, 0, 100)));
        ByteBuffer dst = ByteBuffer.allocate(100);
        fs.read(OUTSIDE, c.entry().ino(), c.fh(), 0, dst);
        assertEquals("in\n", new String(dst.array(), 0, dst.position(), UTF_8), "the committed content only");
        fs.release(c.entry().ino(), c.fh());
    }

    @Test
    void openForWriting_outsideATransaction_failsWithReadOnly_insideWorks() throws Exception {
        Transaction t = begin();
        FsOps.Created c = fs.create(INSIDE, FsOps.ROOT, "f".getBytes(UTF_8), 0100644, O_RDWR, 022);
        fs.release(c.entry().ino(), c.fh());
        commit(t);
        long ino = fs.lookup(OUTSIDE, FsOps.ROOT, "f".getBytes(UTF_8)).ino();
        assertEquals(Kind.READ_ONLY, kindOf(() -> fs.open(OUTSIDE, ino, O_RDWR)));
        fs.release(ino, fs.open(OUTSIDE, ino, 0).fh());
    }
}
