package dev.txfs.fs;

import static dev.txfs.fs.DirectLiveFs.INSIDE;
import static dev.txfs.fs.DirectLiveFs.OUTSIDE;
import static dev.txfs.fs.DirectLiveFs.O_RDONLY;
import static dev.txfs.fs.DirectLiveFs.O_RDWR;
import static dev.txfs.fs.DirectLiveFs.bytes;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/**
 * A transaction's descriptor on an inode it shares with the live tree, when the live tree changes
 * that file (driven directly, no kernel).
 */
class LiveFsSharedHandleTest {
    private final DirectLiveFs d = new DirectLiveFs(false);

    /**
     * Regression: the descriptor kept reading the transaction's old version from the daemon while
     * the kernel's page cache and size of the shared inode took the outside write, so a process
     * saw the new bytes while they were cached and the old ones (cut to the new size) once evicted.
     * Now it reads the live file, as the documentation says.
     */
    @Test
    void read_throughATransactionsHandleOnASharedInode_afterAnOutsideWrite_seesTheLiveFile() throws Exception {
        FsOps.Created c = d.fs.create(OUTSIDE, FsOps.ROOT, "f".getBytes(UTF_8), 0100644, O_RDWR, 022);
        d.fs.write(OUTSIDE, c.entry().ino(), c.fh(), 0, bytes("old-old-"));
        d.fs.release(c.entry().ino(), c.fh());
        d.begin();
        long shared = d.lookup(INSIDE, "f");
        assertEquals(shared, d.lookup(OUTSIDE, "f"), "precondition: one inode in both views");
        long held = d.fs.open(INSIDE, shared, O_RDONLY).fh();

        long out = d.fs.open(OUTSIDE, shared, O_RDWR).fh();
        d.fs.write(OUTSIDE, shared, out, 0, bytes("NEW-NEW-NEW-"));
        d.fs.release(shared, out);

        assertEquals("NEW-NEW-NEW-", d.read(INSIDE, shared, held), "the held descriptor: the live file");
        long fresh = d.lookup(INSIDE, "f");
        assertNotEquals(shared, fresh, "the transaction's version has a number of its own now");
        long fh = d.fs.open(INSIDE, fresh, O_RDONLY).fh();
        assertEquals("old-old-", d.read(INSIDE, fresh, fh), "a new open inside: the transaction's version");
        d.fs.release(fresh, fh);
        d.fs.release(shared, held);
    }
}
