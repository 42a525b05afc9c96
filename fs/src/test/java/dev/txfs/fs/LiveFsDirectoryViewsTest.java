package dev.txfs.fs;

import static dev.txfs.fs.DirectLiveFs.INSIDE;
import static dev.txfs.fs.DirectLiveFs.OUTSIDE;
import static dev.txfs.fs.DirectLiveFs.O_RDWR;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.txfs.fs.FsOps.Caller;
import dev.txfs.txn.Transaction;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

/**
 * Directory inode numbers shared between the live tree and a transaction (driven directly, no
 * kernel): shared only while the directory is at the same place in both views, since the kernel
 * keeps one dentry per directory inode (RELIABILITY.md, bug 2).
 */
class LiveFsDirectoryViewsTest {
    private final DirectLiveFs d = new DirectLiveFs(false);

    private long mkdir(Caller c, long parent, String name) throws Exception {
        return d.fs.mkdir(c, parent, name.getBytes(UTF_8), 0755, 022).ino();
    }

    private long lookup(Caller c, long parent, String name) throws Exception {
        return d.fs.lookup(c, parent, name.getBytes(UTF_8)).ino();
    }

    private void renameOnce(Caller c, long parent, String name, long newParent, String newName) throws Exception {
        d.fs.rename(c, parent, name.getBytes(UTF_8), newParent, newName.getBytes(UTF_8), 0);
    }

    /** As the kernel does it: once more after ESTALE (names still cached somewhere answer it first). */
    private void rename(Caller c, long parent, String name, long newParent, String newName) throws Exception {
        try {
            renameOnce(c, parent, name, newParent, newName);
        } catch (FsException e) {
            if (e.kind() != FsException.Kind.STALE) {
                throw e;
            }
            renameOnce(c, parent, name, newParent, newName);
        }
    }

    private static FsException.Kind kindOf(Exception e) {
        return e instanceof FsException f ? f.kind() : null;
    }

    /** The transaction's request answers ESTALE once (its shared directory gets its own inode), then works. */
    private void afterOneEstale(ThrowingRunnable r) throws Exception {
        FsException e = assertThrows(FsException.class, r::run, "the first attempt: ESTALE, the kernel looks up again");
        assertEquals(FsException.Kind.STALE, e.kind());
        r.run();
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void liveMovesASharedDirectory_theTransactionsVersionAndEverythingBelowGetNumbersOfTheirOwn() throws Exception {
        long sh = mkdir(OUTSIDE, FsOps.ROOT, "sh");
        long dd = mkdir(OUTSIDE, sh, "d");
        long f = mkdir(OUTSIDE, sh, "f");
        long g = mkdir(OUTSIDE, f, "g");
        d.begin();
        assertEquals(f, lookup(INSIDE, sh, "f"), "precondition: shared while in place");
        assertEquals(g, lookup(INSIDE, f, "g"), "precondition: shared while in place");

        rename(OUTSIDE, sh, "f", dd, "d");

        assertEquals(f, lookup(OUTSIDE, dd, "d"), "the live tree keeps the number");
        long insideF = lookup(INSIDE, sh, "f");
        assertNotEquals(f, insideF, "inside, sh/f is no longer where the live tree has it");
        long insideG = lookup(INSIDE, insideF, "g");
        assertNotEquals(g, insideG, "nor is the directory below it");
        assertEquals(insideF, d.fs.getattr(INSIDE, insideF, -1).ino());
        Exception stale = assertThrows(Exception.class, () -> d.fs.lookup(INSIDE, f, "g".getBytes(UTF_8)));
        assertEquals(FsException.Kind.STALE, kindOf(stale), "the old number no longer stands for it inside");
        assertEquals(g, lookup(OUTSIDE, f, "g"), "outside, through the old number as before");
    }

    @Test
    void transactionMovesASharedDirectory_afterOneEstale_withNumbersOfItsOwn_thenCommit() throws Exception {
        long m = mkdir(OUTSIDE, FsOps.ROOT, "m");
        long a = mkdir(OUTSIDE, m, "a");
        long sub = mkdir(OUTSIDE, a, "sub");
        long b = mkdir(OUTSIDE, m, "b");
        Transaction t = d.begin();
        assertEquals(a, lookup(INSIDE, m, "a"));
        assertEquals(sub, lookup(INSIDE, a, "sub"));

        afterOneEstale(() -> renameOnce(INSIDE, m, "a", b, "a"));

        long insideA = lookup(INSIDE, b, "a");
        assertNotEquals(a, insideA, "inside, the moved directory has its own number");
        long insideSub = lookup(INSIDE, insideA, "sub");
        assertNotEquals(sub, insideSub, "and so has the one below");
        assertEquals(a, lookup(OUTSIDE, m, "a"), "outside, in place with its number");
        assertEquals(sub, lookup(OUTSIDE, a, "sub"));

        d.commit(t);
        assertEquals(
                insideA,
                lookup(OUTSIDE, b, "a"),
                "after the commit, the inode the kernel holds for it is the live one");
        assertEquals(insideSub, lookup(OUTSIDE, insideA, "sub"));
        Exception gone = assertThrows(Exception.class, () -> lookup(OUTSIDE, m, "a"));
        assertEquals(java.nio.file.NoSuchFileException.class, gone.getClass());
    }

    @Test
    void aFailedRenameOfASharedDirectory_stillLeavesItAndBelowWithNumbersOfTheirOwn() throws Exception {
        long m = mkdir(OUTSIDE, FsOps.ROOT, "m");
        long a = mkdir(OUTSIDE, m, "a");
        long sub = mkdir(OUTSIDE, a, "sub");
        mkdir(OUTSIDE, m, "b");
        d.fs.mknod(OUTSIDE, mkdir(OUTSIDE, m, "full"), "x".getBytes(UTF_8), 0100644, 0, 022);
        d.begin();
        assertEquals(a, lookup(INSIDE, m, "a"));
        assertEquals(sub, lookup(INSIDE, a, "sub"));

        FsException first = assertThrows(FsException.class, () -> renameOnce(INSIDE, m, "a", m, "full"));
        assertEquals(FsException.Kind.STALE, first.kind());
        assertThrows(java.nio.file.DirectoryNotEmptyException.class, () -> renameOnce(INSIDE, m, "a", m, "full"));

        long insideA = lookup(INSIDE, m, "a");
        assertNotEquals(a, insideA, "given up before the rename, kept after it failed");
        assertNotEquals(sub, lookup(INSIDE, insideA, "sub"), "below a directory of its own, its own number too");
        assertEquals(a, lookup(OUTSIDE, m, "a"));
        assertEquals(sub, lookup(OUTSIDE, a, "sub"));
    }

    @Test
    void transactionRemovesASharedDirectory_afterOneEstale_theLiveOneKeepsItsNumber() throws Exception {
        long e = mkdir(OUTSIDE, FsOps.ROOT, "e");
        d.begin();
        assertEquals(e, lookup(INSIDE, FsOps.ROOT, "e"));

        afterOneEstale(() -> d.fs.rmdir(INSIDE, FsOps.ROOT, "e".getBytes(UTF_8)));

        assertThrows(java.nio.file.NoSuchFileException.class, () -> lookup(INSIDE, FsOps.ROOT, "e"));
        assertEquals(e, lookup(OUTSIDE, FsOps.ROOT, "e"));
        assertThrows(FileAlreadyExistsException.class, () -> mkdir(OUTSIDE, FsOps.ROOT, "e"));
    }

    /**
     * Regression, "ESTALE writing a file an earlier transaction created": in a transaction, {@code
     * echo x > dir/f} failed with ESTALE when an earlier transaction had created and committed
     * {@code dir/f}. The shared number of {@code dir}, looked up only by transactions (the live
     * view had not since the mount), was bound in the inode table to the transaction alone, so
     * after its commit the next transaction could not find its own {@code dir} through it: the
     * kernel's GETATTR of {@code dir} (its attributes dropped by the commit) answered ESTALE,
     * which spent the one LOOKUP_REVAL retry that the open's divergence ESTALE then needed.
     */
    @Test
    void nextTransaction_opensForWritingAFileAnEarlierOneCreated_inADirectoryOnlyTransactionsLookedUp()
            throws Exception {
        long dir = mkdir(OUTSIDE, FsOps.ROOT, "dir");
        d.fs.forget(dir, 1); // as just after the mount: the live view has not looked "dir" up
        Transaction first = d.begin();
        assertEquals(dir, lookup(INSIDE, FsOps.ROOT, "dir"), "precondition: shared while in place");
        FsOps.Created c = d.fs.create(INSIDE, dir, "f".getBytes(UTF_8), 0100644, O_RDWR, 022);
        d.fs.release(c.entry().ino(), c.fh());
        d.commit(first);

        d.begin();
        assertEquals(dir, d.fs.getattr(INSIDE, dir, -1).ino(), "the next transaction walks through dir's inode");
        long shared = lookup(INSIDE, dir, "f");
        FsException diverged = assertThrows(FsException.class, () -> d.fs.open(INSIDE, shared, O_RDWR));
        assertEquals(FsException.Kind.STALE, diverged.kind(), "the file diverges: the kernel looks it up again");
        long own = lookup(INSIDE, dir, "f");
        assertNotEquals(shared, own, "the kernel's retry finds the transaction's own inode");
        d.fs.release(own, d.fs.open(INSIDE, own, O_RDWR).fh());
    }

    /**
     * The same cause seen from outside: a shared directory's number that only a transaction looked
     * up answered ESTALE to the live tree, and its attributes were cached as the transaction's alone.
     */
    @Test
    void aSharedDirectoryOnlyATransactionLookedUp_isTheLiveDirectoryOutside() throws Exception {
        long dir = mkdir(OUTSIDE, FsOps.ROOT, "dir");
        d.fs.forget(dir, 1);
        d.begin();
        assertEquals(dir, lookup(INSIDE, FsOps.ROOT, "dir"), "precondition: shared while in place");

        assertEquals(dir, d.fs.getattr(OUTSIDE, dir, -1).ino(), "outside, the number is the live directory's");
        FsOps.Created c = d.fs.create(INSIDE, dir, "new".getBytes(UTF_8), 0100644, O_RDWR, 022);
        d.fs.release(c.entry().ino(), c.fh());
        assertThrows(NoSuchFileException.class, () -> lookup(OUTSIDE, dir, "new"));
        assertEquals(0, d.fs.attrValidNs(dir), "the views differ in the directory's attributes: not cached");
    }
}
