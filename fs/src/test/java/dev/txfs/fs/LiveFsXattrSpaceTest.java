package dev.txfs.fs;

import static dev.txfs.fs.DirectLiveFs.INSIDE;
import static dev.txfs.fs.DirectLiveFs.OUTSIDE;
import static dev.txfs.fs.DirectLiveFs.O_RDWR;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.txfs.fs.FsException.Kind;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node's extended attributes take at most {@link LiveFs#MAX_XATTR_BYTES}, names and values
 * together, in the live tree and in transactions (issue 14, finding 5: one user's xattrs on one
 * file filled the daemon's heap).
 */
class LiveFsXattrSpaceTest {
    private static final byte[] QUARTER = new byte[16 * 1024];

    private final DirectLiveFs d = new DirectLiveFs(false);

    private long file(FsOps.Caller c, String name) throws Exception {
        FsOps.Created f = d.fs.create(c, FsOps.ROOT, name.getBytes(UTF_8), 0100644, O_RDWR, 0);
        d.fs.release(f.entry().ino(), f.fh());
        return f.entry().ino();
    }

    /** Fills {@code ino} with 16 KiB values: three fit, the fourth fails with ENOSPC; a replace and a removal free room. */
    private void fillAndFree(FsOps.Caller c, long ino) throws Exception {
        for (int i = 0; i < 3; i++) {
            d.fs.setxattr(c, ino, "user.k" + i, QUARTER, 0);
        }
        FsException full = assertThrows(FsException.class, () -> d.fs.setxattr(c, ino, "user.k3", QUARTER, 0));
        assertEquals(Kind.NO_SPACE, full.kind());
        d.fs.setxattr(c, ino, "user.k2", QUARTER, 0); // a replace counts the new value only
        assertEquals(
                Kind.NO_SPACE,
                assertThrows(FsException.class, () -> d.fs.setxattr(c, ino, "user.k", new byte[65536], 0))
                        .kind());
        d.fs.removexattr(c, ino, "user.k0");
        d.fs.setxattr(c, ino, "user.k3", QUARTER, 0);
        assertEquals(List.of("user.k1", "user.k2", "user.k3"), d.fs.listxattr(c, ino));
    }

    @Test
    void liveTree_xattrsPastTheBound_failWithNoSpace() throws Exception {
        fillAndFree(OUTSIDE, file(OUTSIDE, "f"));
    }

    @Test
    void transaction_xattrsPastTheBound_failWithNoSpace() throws Exception {
        d.begin();
        fillAndFree(INSIDE, file(INSIDE, "f"));
    }
}
