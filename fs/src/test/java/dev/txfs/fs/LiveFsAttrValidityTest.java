package dev.txfs.fs;

import static dev.txfs.fs.DirectLiveFs.INSIDE;
import static dev.txfs.fs.DirectLiveFs.OUTSIDE;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/**
 * How long the kernel may cache a directory's attributes: long while every view that reaches it
 * sees the same, 0 while they differ, for the mount's root too and for a view that has not asked
 * about the directory yet (issue 14, finding 16: the root always kept the long validity).
 */
class LiveFsAttrValidityTest {
    private final DirectLiveFs d = new DirectLiveFs(false);

    private static byte[] name(String s) {
        return s.getBytes(UTF_8);
    }

    @Test
    void root_changedInATransaction_getsValidityZero() throws Exception {
        d.begin();
        assertEquals(LiveFs.VALID_NS, d.fs.attrValidNs(FsOps.ROOT), "the same in both views");
        d.fs.mkdir(INSIDE, FsOps.ROOT, name("made"), 0755, 0);
        assertNotEquals(
                d.fs.getattr(INSIDE, FsOps.ROOT, -1).nlink(),
                d.fs.getattr(OUTSIDE, FsOps.ROOT, -1).nlink());
        assertEquals(0, d.fs.attrValidNs(FsOps.ROOT));
    }

    @Test
    void root_changedInTheLiveTree_getsValidityZero() throws Exception {
        d.begin();
        d.fs.mkdir(OUTSIDE, FsOps.ROOT, name("made"), 0755, 0);
        assertEquals(0, d.fs.attrValidNs(FsOps.ROOT));
    }

    @Test
    void directoryTheTransactionHasNotReached_changedOutside_getsValidityZero() throws Exception {
        long dir = d.fs.mkdir(OUTSIDE, FsOps.ROOT, name("d"), 0755, 0).ino();
        d.begin();
        assertEquals(LiveFs.VALID_NS, d.fs.attrValidNs(dir));
        d.fs.mkdir(OUTSIDE, dir, name("x"), 0755, 0);
        assertEquals(0, d.fs.attrValidNs(dir), "from getattr");
        assertEquals(0, d.fs.lookup(OUTSIDE, FsOps.ROOT, name("d")).attrValidNs(), "from lookup");
    }

    @Test
    void noTransaction_longValidity() throws Exception {
        long dir = d.fs.mkdir(OUTSIDE, FsOps.ROOT, name("d"), 0755, 0).ino();
        d.fs.mkdir(OUTSIDE, dir, name("x"), 0755, 0);
        assertEquals(LiveFs.VALID_NS, d.fs.attrValidNs(dir));
        assertEquals(LiveFs.VALID_NS, d.fs.attrValidNs(FsOps.ROOT));
    }
}
