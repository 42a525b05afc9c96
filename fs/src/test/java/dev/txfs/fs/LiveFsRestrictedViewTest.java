package dev.txfs.fs;

import static dev.txfs.fs.DirectLiveFs.INSIDE;
import static dev.txfs.fs.DirectLiveFs.OUTSIDE;
import static dev.txfs.fs.DirectLiveFs.O_RDWR;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.TreeExceptions.NoSuchAttributeException;
import dev.txfs.txn.Transaction;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Views on another base than the live state, and the snapshots under {@code /.txfs/snapshots},
 * behave as nosuid,nodev (issue 14, finding 2): no setuid/setgid bit on a regular file, device
 * number 0 on a device node, no security.capability; the live tree and transactions on it show
 * them as stored.
 */
class LiveFsRestrictedViewTest {
    private static final String CAPS = "security.capability";
    /** vfs_cap_data revision 2 with CAP_SETUID permitted and effective. */
    private static final byte[] CAP_SETUID = {1, 0, 0, 2, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    /** /dev/zero's numbers as a userspace dev_t. */
    private static final long ZERO = (1 << 8) | 5;

    private final DirectLiveFs d = new DirectLiveFs(false);

    /** A setuid-root file with a capability and a 0666 device node in the live tree, then a snapshot of them. */
    private ObjectId privileged() throws Exception {
        FsOps.Created f = d.fs.create(OUTSIDE, FsOps.ROOT, "suid".getBytes(UTF_8), 0106755, O_RDWR, 0);
        d.fs.release(f.entry().ino(), f.fh());
        d.fs.setxattr(OUTSIDE, f.entry().ino(), CAPS, CAP_SETUID, 0);
        d.fs.mknod(OUTSIDE, FsOps.ROOT, "zero".getBytes(UTF_8), 020666, ZERO, 0);
        return d.live.snapshot("root", "privileged");
    }

    private FsOps.Entry lookup(FsOps.Caller c, String name) throws Exception {
        return d.fs.lookup(c, FsOps.ROOT, name.getBytes(UTF_8));
    }

    @Test
    void oldBaseView_showsNoSetuidBits_noDeviceNumber_andNoCapability() throws Exception {
        ObjectId old = privileged();
        d.fs.mkdir(OUTSIDE, FsOps.ROOT, "since".getBytes(UTF_8), 0755, 0); // the live state moves on
        d.beginOn(old);

        FsOps.Entry suid = lookup(INSIDE, "suid");
        assertEquals(0100755, suid.attr().mode());
        assertEquals(0100755, d.fs.getattr(INSIDE, suid.ino(), -1).mode());
        assertEquals(0, lookup(INSIDE, "zero").attr().rdev());
        assertEquals(020666, lookup(INSIDE, "zero").attr().mode());
        assertThrows(NoSuchAttributeException.class, () -> d.fs.getxattr(INSIDE, suid.ino(), CAPS));
        assertEquals(List.of(), d.fs.listxattr(INSIDE, suid.ino()));

        FsOps.Entry live = lookup(OUTSIDE, "suid");
        assertEquals(0106755, live.attr().mode(), "the live tree as stored");
        assertEquals(ZERO, lookup(OUTSIDE, "zero").attr().rdev());
        assertArrayEquals(CAP_SETUID, d.fs.getxattr(OUTSIDE, live.ino(), CAPS));
    }

    @Test
    void transactionOnTheLiveState_showsThemAsStored() throws Exception {
        privileged();
        d.begin();
        FsOps.Entry suid = lookup(INSIDE, "suid");
        assertEquals(0106755, suid.attr().mode());
        assertEquals(ZERO, lookup(INSIDE, "zero").attr().rdev());
        assertArrayEquals(CAP_SETUID, d.fs.getxattr(INSIDE, suid.ino(), CAPS));
        assertEquals(List.of(CAPS), d.fs.listxattr(INSIDE, suid.ino()));
    }

    @Test
    void snapshotsDirectory_showsNoSetuidBits_noDeviceNumber_andNoCapability() throws Exception {
        ObjectId old = privileged();
        MountOps ops = new MountOps(d.fs);
        FsOps.Entry dir = ops.lookup(OUTSIDE, LiveFs.CTL_DIR, SnapshotsFs.NAME);
        FsOps.Entry snap = ops.lookup(OUTSIDE, dir.ino(), old.toHex().getBytes(ISO_8859_1));
        FsOps.Entry suid = ops.lookup(OUTSIDE, snap.ino(), "suid".getBytes(UTF_8));
        assertEquals(0100755, suid.attr().mode());
        assertEquals(0100755, ops.getattr(OUTSIDE, suid.ino(), -1).mode());
        assertEquals(
                0,
                ops.lookup(OUTSIDE, snap.ino(), "zero".getBytes(UTF_8)).attr().rdev());
        assertThrows(NoSuchAttributeException.class, () -> ops.getxattr(OUTSIDE, suid.ino(), CAPS));
        assertEquals(List.of(), ops.listxattr(OUTSIDE, suid.ino()));
    }

    /**
     * A write by a user other than root in an old-base view clears the setuid and setgid bits and
     * the capability, which the kernel does not see there and so cannot clear itself: the commit
     * does not carry a privileged file some user changed.
     */
    @Test
    void oldBaseView_writeByAUser_clearsSetuidBitsAndCapability() throws Exception {
        ObjectId old = privileged();
        d.fs.mkdir(OUTSIDE, FsOps.ROOT, "since".getBytes(UTF_8), 0755, 0);
        Transaction t = d.beginOn(old);
        long ino = lookup(INSIDE, "suid").ino();
        long fh = d.fs.open(INSIDE, ino, O_RDWR).fh();
        FsOps.Caller user = new FsOps.Caller(1000, 1000, INSIDE.pid());
        d.fs.write(user, ino, fh, 0, DirectLiveFs.bytes("x"));
        d.fs.release(ino, fh);
        d.commit(t);

        FsOps.Entry live = lookup(OUTSIDE, "suid");
        assertEquals(0100755, live.attr().mode());
        assertEquals(List.of(), d.fs.listxattr(OUTSIDE, live.ino()));
    }

    /**
     * After the commit of an old-base view, a device node or setuid file it made does not keep the
     * view's inode (whose device number 0 and mode the kernel would keep): the live tree's names lead
     * to a number of their own, which shows them as stored.
     */
    @Test
    void oldBaseView_committedDeviceAndSetuidFile_getLiveInodesOfTheirOwn() throws Exception {
        ObjectId old = d.live.snapshot("root", "empty");
        d.fs.mkdir(OUTSIDE, FsOps.ROOT, "since".getBytes(UTF_8), 0755, 0);
        Transaction t = d.beginOn(old);
        FsOps.Created f = d.fs.create(INSIDE, FsOps.ROOT, "suid".getBytes(UTF_8), 0104755, O_RDWR, 0);
        d.fs.release(f.entry().ino(), f.fh());
        long dev = d.fs.mknod(INSIDE, FsOps.ROOT, "zero".getBytes(UTF_8), 020666, ZERO, 0)
                .ino();
        d.commit(t);

        FsOps.Entry suid = lookup(OUTSIDE, "suid");
        FsOps.Entry zero = lookup(OUTSIDE, "zero");
        assertNotEquals(f.entry().ino(), suid.ino());
        assertNotEquals(dev, zero.ino());
        assertEquals(0104755, suid.attr().mode());
        assertEquals(ZERO, zero.attr().rdev());
    }

    /** trusted.* names are listed under /.txfs/snapshots to root only, as in the live tree (CAP_SYS_ADMIN). */
    @Test
    void snapshotsDirectory_listsTrustedXattrsToRootOnly() throws Exception {
        FsOps.Created f = d.fs.create(OUTSIDE, FsOps.ROOT, "f".getBytes(UTF_8), 0100644, O_RDWR, 0);
        d.fs.release(f.entry().ino(), f.fh());
        d.fs.setxattr(OUTSIDE, f.entry().ino(), "trusted.k", new byte[] {1}, 0);
        d.fs.setxattr(OUTSIDE, f.entry().ino(), "user.k", new byte[] {1}, 0);
        ObjectId snap = d.live.snapshot("root", "trusted");
        MountOps ops = new MountOps(d.fs);
        FsOps.Entry dir = ops.lookup(OUTSIDE, LiveFs.CTL_DIR, SnapshotsFs.NAME);
        FsOps.Entry root = ops.lookup(OUTSIDE, dir.ino(), snap.toHex().getBytes(ISO_8859_1));
        long ino = ops.lookup(OUTSIDE, root.ino(), "f".getBytes(UTF_8)).ino();
        assertEquals(List.of("trusted.k", "user.k"), ops.listxattr(OUTSIDE, ino));
        assertEquals(List.of("user.k"), ops.listxattr(new FsOps.Caller(1000, 1000, 300), ino));
    }
}
