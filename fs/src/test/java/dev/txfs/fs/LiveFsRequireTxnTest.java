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
     * The kernel writes out a shared mapping's dirty pages with pid 0, possibly after the commit
     * although they were dirtied before it: those writes still land, in the live tree.
     */
    @Test
    void pageWriteOut_throughAHandleOpenedInACommittedTransaction_lands() throws Exception {
        Transaction t = d.begin();
        FsOps.Created c = d.fs.create(INSIDE, FsOps.ROOT, "f".getBytes(UTF_8), 0100644, O_RDWR, 022);
        long ino = c.entry().ino();
        d.commit(t);
        assertEquals(4, d.fs.write(new FsOps.Caller(0, 0, 0), ino, c.fh(), 0, bytes("page")));
        assertEquals("page", d.read(OUTSIDE, ino, c.fh()));
        d.fs.release(ino, c.fh());
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
