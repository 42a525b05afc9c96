package dev.txfs.fs;

import static dev.txfs.fs.DirectLiveFs.INSIDE;
import static dev.txfs.fs.DirectLiveFs.OUTSIDE;
import static dev.txfs.fs.DirectLiveFs.O_RDWR;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.txfs.fs.FsException.Kind;
import dev.txfs.snapshot.TreeExceptions.NoSuchAttributeException;
import dev.txfs.txn.Transaction;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A transaction of a user other than root on the live state shows set-id bits, device numbers and
 * file capabilities only on the live tree's current version of a file: a version the live tree
 * has since replaced or changed is served as on a nosuid,nodev mount (the old setuid binary a
 * package manager just fixed must not stay runnable as root in a transaction begun before).
 */
class LiveFsReplacedPrivilegesTest {
    private static final String CAPS = "security.capability";
    /** vfs_cap_data revision 2 with CAP_SETUID permitted and effective. */
    private static final byte[] CAP_SETUID = {1, 0, 0, 2, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    /** /dev/zero's numbers as a userspace dev_t. */
    private static final long ZERO = (1 << 8) | 5;

    private static final long NOBODY = 65534;

    private final DirectLiveFs d = new DirectLiveFs(false);

    /** A transaction for {@link DirectLiveFs#INSIDE} acting as user {@code uid}. */
    private Transaction beginAs(long uid) throws Exception {
        synchronized (d.fs.lock()) {
            Transaction t = d.live.begin("t1", null, Transaction.Credentials.of(uid, uid), INSIDE.pid(), "test", "");
            d.fs.addView(t);
            d.membership.pids.put(INSIDE.pid(), t.id());
            return t;
        }
    }

    /** A setuid-root file {@code name} with a capability in the live tree. */
    private long setuidRoot(String name) throws Exception {
        FsOps.Created f = d.fs.create(OUTSIDE, FsOps.ROOT, name.getBytes(UTF_8), 0104755, O_RDWR, 0);
        d.fs.release(f.entry().ino(), f.fh());
        d.fs.setxattr(OUTSIDE, f.entry().ino(), CAPS, CAP_SETUID, 0);
        return f.entry().ino();
    }

    private FsOps.Entry lookup(FsOps.Caller c, String name) throws Exception {
        return d.fs.lookup(c, FsOps.ROOT, name.getBytes(UTF_8));
    }

    /** A rename in the live tree, retried once after the ESTALE that makes the kernel look both names up again. */
    private void renameInLive(String from, String to) throws Exception {
        try {
            d.fs.rename(OUTSIDE, FsOps.ROOT, from.getBytes(UTF_8), FsOps.ROOT, to.getBytes(UTF_8), 0);
        } catch (FsException e) {
            assertEquals(Kind.STALE, e.kind());
            d.fs.rename(OUTSIDE, FsOps.ROOT, from.getBytes(UTF_8), FsOps.ROOT, to.getBytes(UTF_8), 0);
        }
    }

    /**
     * Regression: a transaction begun before root replaced a setuid-root binary by rename went on
     * serving the old one with its setuid bit and capability on the live node's inode, so its user
     * could run the fixed hole as root. The old version now gets an inode of its own (none the
     * kernel holds live attributes for) and is served without them.
     */
    @Test
    void userTransaction_afterTheLiveTreeRenamedANewFileOverASetuidOne_servesTheOldOneWithoutPrivileges()
            throws Exception {
        setuidRoot("suid");
        beginAs(NOBODY);
        FsOps.Entry before = lookup(INSIDE, "suid");
        assertEquals(0104755, before.attr().mode(), "the live tree's current version keeps its bit");
        assertArrayEquals(CAP_SETUID, d.fs.getxattr(INSIDE, before.ino(), CAPS));

        FsOps.Created fixed = d.fs.create(OUTSIDE, FsOps.ROOT, "suid.new".getBytes(UTF_8), 0100755, O_RDWR, 0);
        d.fs.release(fixed.entry().ino(), fixed.fh());
        renameInLive("suid.new", "suid");

        FsOps.Entry after = lookup(INSIDE, "suid");
        assertNotEquals(before.ino(), after.ino(), "not the inode the kernel cached the live attributes on");
        assertEquals(0100755, after.attr().mode());
        assertEquals(0100755, d.fs.getattr(INSIDE, after.ino(), -1).mode());
        assertThrows(NoSuchAttributeException.class, () -> d.fs.getxattr(INSIDE, after.ino(), CAPS));
        assertEquals(List.of(), d.fs.listxattr(INSIDE, after.ino()));
    }

    /** As above, for a setuid file and a device node the live tree changed in place. */
    @Test
    void userTransaction_afterTheLiveTreeChangedThemInPlace_servesTheOldVersionsWithoutPrivileges() throws Exception {
        long suid = setuidRoot("suid");
        long zero = d.fs.mknod(OUTSIDE, FsOps.ROOT, "zero".getBytes(UTF_8), 020666, ZERO, 0)
                .ino();
        beginAs(NOBODY);
        assertEquals(ZERO, lookup(INSIDE, "zero").attr().rdev(), "unchanged since begin: as stored");
        lookup(INSIDE, "suid");

        long fh = d.fs.open(OUTSIDE, suid, O_RDWR).fh();
        d.fs.write(OUTSIDE, suid, fh, 0, DirectLiveFs.bytes("fixed"));
        d.fs.release(suid, fh);
        d.fs.setattr(OUTSIDE, zero, -1, new FsOps.SetAttr(0644, null, null, null, null, null, false, false));

        assertEquals(0100755, lookup(INSIDE, "suid").attr().mode());
        assertEquals(0, lookup(INSIDE, "zero").attr().rdev());
        assertEquals(0104755, lookup(OUTSIDE, "suid").attr().mode(), "the live tree as stored");
    }

    /** Root's transactions, and a user's own setuid file, keep their bits whatever the live tree did. */
    @Test
    void rootTransaction_orTheUsersOwnSetuidFile_keepTheBitsAfterALiveReplace() throws Exception {
        setuidRoot("suid");
        FsOps.Created own = d.fs.create(OUTSIDE, FsOps.ROOT, "own".getBytes(UTF_8), 0104755, O_RDWR, 0);
        d.fs.release(own.entry().ino(), own.fh());
        d.fs.setattr(
                OUTSIDE,
                own.entry().ino(),
                -1,
                new FsOps.SetAttr(null, NOBODY, NOBODY, null, null, null, false, false));
        d.fs.setattr(
                OUTSIDE, own.entry().ino(), -1, new FsOps.SetAttr(04755, null, null, null, null, null, false, false));
        Transaction t = beginAs(NOBODY);
        lookup(INSIDE, "own");
        d.fs.unlink(OUTSIDE, FsOps.ROOT, "own".getBytes(UTF_8));
        assertEquals(0104755, lookup(INSIDE, "own").attr().mode(), "setuid to its own user grants nothing");
        d.commit(t);

        beginAs(0);
        lookup(INSIDE, "suid");
        FsOps.Created fixed = d.fs.create(OUTSIDE, FsOps.ROOT, "suid.new".getBytes(UTF_8), 0100755, O_RDWR, 0);
        d.fs.release(fixed.entry().ino(), fixed.fh());
        renameInLive("suid.new", "suid");
        assertEquals(0104755, lookup(INSIDE, "suid").attr().mode());
    }
}
