package dev.txfs.fs;

import static dev.txfs.fs.DirectLiveFs.INSIDE;
import static dev.txfs.fs.DirectLiveFs.OUTSIDE;
import static dev.txfs.fs.DirectLiveFs.O_RDWR;
import static dev.txfs.fs.DirectLiveFs.bytes;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.txfs.fs.FsException.Kind;
import dev.txfs.txn.Transaction;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** A {@code --require-txn} LiveFs, driven directly (no kernel): where changes need a transaction. */
class LiveFsRequireTxnTest {
    private final DirectLiveFs d = new DirectLiveFs(true);

    private static Kind kindOf(Executable e) {
        return assertThrows(FsException.class, e).kind();
    }

    /**
     * Regression: a descriptor opened for writing inside a transaction continued on the live tree
     * after commit and kept writing into it, a change outside any transaction on a mount that
     * promises there are none.
     */
    @Test
    void write_throughAHandleOpenedInACommittedTransaction_failsWithReadOnly() throws Exception {
        Transaction t = d.begin();
        FsOps.Created c = d.fs.create(INSIDE, FsOps.ROOT, "f".getBytes(UTF_8), 0100644, O_RDWR, 022);
        long ino = c.entry().ino();
        assertEquals(3, d.fs.write(INSIDE, ino, c.fh(), 0, bytes("in\n")));
        d.commit(t);

        assertEquals(Kind.READ_ONLY, kindOf(() -> d.fs.write(INSIDE, ino, c.fh(), 3, bytes("out\n"))));
        assertEquals(Kind.READ_ONLY, kindOf(() -> d.fs.fallocate(INSIDE, ino, c.fh(), 0, 0, 100)));
        assertEquals("in\n", d.read(OUTSIDE, ino, c.fh()), "the committed content only");
        d.fs.release(ino, c.fh());
    }

    /**
     * Regression (issue 14, finding 12): the kernel's write-out of a shared mapping's pages (pid 0)
     * through a handle of a committed transaction landed in the live tree, so a mapping made inside
     * kept writing there after the transaction ended. Now refused, and the kernel is told to drop
     * the refused pages, which it holds although the tree does not.
     */
    @Test
    void pageWriteOut_throughAHandleOpenedInACommittedTransaction_isRefused_andThePagesDropped() throws Exception {
        DirectLiveFs.RecordingNotifier n = new DirectLiveFs.RecordingNotifier();
        d.fs.setNotifier(n);
        Transaction t = d.begin();
        FsOps.Created c = d.fs.create(INSIDE, FsOps.ROOT, "f".getBytes(UTF_8), 0100644, O_RDWR, 022);
        long ino = c.entry().ino();
        d.commit(t);
        n.sent.clear();
        assertEquals(
                Kind.READ_ONLY, kindOf(() -> d.fs.write(new FsOps.Caller(0, 0, 0), ino, c.fh(), 0, bytes("page"))));
        assertEquals("", d.read(OUTSIDE, ino, c.fh()));
        assertEquals(List.of("inode " + ino + " 0 0"), n.sent);
        d.fs.release(ino, c.fh());
    }

    /**
     * Before a commit the kernel is asked to write out the pages of every file open for writing in
     * the committing transaction (INVAL_INODE from offset 0), and waited for, so that the commit
     * holds what a mapping wrote before it; files only read, and the live tree's, are left alone.
     */
    @Test
    void writeBackTransactionPages_asksTheKernelToWriteOutFilesOpenForWritingInTheTransaction() throws Exception {
        DirectLiveFs.RecordingNotifier n = new DirectLiveFs.RecordingNotifier();
        d.fs.setNotifier(n);
        Transaction t = d.begin();
        LiveFs.View v = d.fs.openViews().get(t.id());
        d.fs.writeBackTransactionPages(v);
        assertEquals(List.of(), n.sent, "nothing open: nothing to wait for");
        FsOps.Created w = d.fs.create(INSIDE, FsOps.ROOT, "w".getBytes(UTF_8), 0100644, O_RDWR, 022);
        FsOps.Created r = d.fs.create(INSIDE, FsOps.ROOT, "r".getBytes(UTF_8), 0100644, O_RDWR, 022);
        d.fs.release(r.entry().ino(), r.fh());
        long rfh = d.fs.open(INSIDE, r.entry().ino(), DirectLiveFs.O_RDONLY).fh();
        n.sent.clear();
        d.fs.writeBackTransactionPages(v);
        assertEquals(List.of("inode " + w.entry().ino() + " 0 0", "await"), n.sent);
        d.fs.release(r.entry().ino(), rfh);
        d.fs.release(w.entry().ino(), w.fh());
        d.commit(t);
    }

    /**
     * Regression: each commit asked the kernel to write out the files open for writing in every open
     * transaction, and waited up to a second for them, so any user's commit flushed (and was slowed
     * by) other users' transactions. Only the committing transaction's files are written out.
     */
    @Test
    void writeBackTransactionPages_leavesOtherTransactionsFilesAlone() throws Exception {
        DirectLiveFs.RecordingNotifier n = new DirectLiveFs.RecordingNotifier();
        d.fs.setNotifier(n);
        Transaction t = d.begin();
        FsOps.Caller other = new FsOps.Caller(0, 0, 300);
        Transaction u;
        synchronized (d.fs.lock()) {
            u = d.live.begin("t2", 0, other.pid(), "test", "");
            d.fs.addView(u);
            d.membership.pids.put(other.pid(), u.id());
        }
        FsOps.Created mine = d.fs.create(INSIDE, FsOps.ROOT, "mine".getBytes(UTF_8), 0100644, O_RDWR, 022);
        FsOps.Created theirs = d.fs.create(other, FsOps.ROOT, "theirs".getBytes(UTF_8), 0100644, O_RDWR, 022);
        n.sent.clear();

        d.fs.writeBackTransactionPages(d.fs.openViews().get(t.id()));

        assertEquals(List.of("inode " + mine.entry().ino() + " 0 0", "await"), n.sent);
        d.fs.release(mine.entry().ino(), mine.fh());
        d.fs.release(theirs.entry().ino(), theirs.fh());
        d.commit(t);
        d.commit(u);
    }

    @Test
    void openForWriting_outsideATransaction_failsWithReadOnly() throws Exception {
        Transaction t = d.begin();
        FsOps.Created c = d.fs.create(INSIDE, FsOps.ROOT, "f".getBytes(UTF_8), 0100644, O_RDWR, 022);
        d.fs.release(c.entry().ino(), c.fh());
        d.commit(t);
        long ino = d.lookup(OUTSIDE, "f");
        assertEquals(Kind.READ_ONLY, kindOf(() -> d.fs.open(OUTSIDE, ino, O_RDWR)));
        d.fs.release(ino, d.fs.open(OUTSIDE, ino, DirectLiveFs.O_RDONLY).fh());
    }
}
