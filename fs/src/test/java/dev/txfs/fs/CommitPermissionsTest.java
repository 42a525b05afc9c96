package dev.txfs.fs;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.fs.fuse.PosixAcl;
import dev.txfs.journal.Diff;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.txn.LiveTree;
import dev.txfs.txn.Transaction.Credentials;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The rule table of {@link CommitPermissions}: a change to the live tree made by a non-root user's
 * commit passes only if that user could have made it there directly (issue 14, finding 1).
 */
class CommitPermissionsTest {
    private static final long U = 65534, G = 65534, STAFF = 100, OTHER_USER = 1000;
    private static final Credentials USER = new Credentials(U, G, Set.of(STAFF));
    private static final Credentials OUTSIDER = Credentials.of(U, G);

    private final AtomicLong clock = new AtomicLong(1_000_000_000_000L);
    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private final ObjectId live;
    private final long since;

    /** What a transaction does to a copy of the live tree. */
    interface Edit {
        void apply(MutableTree t) throws Exception;
    }

    CommitPermissionsTest() throws Exception {
        MutableTree t = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, clock.get()), clock::get);
        MutableNode.Dir root = t.root();
        MutableNode.Dir usr = t.mkdir(root, b("usr"), 0755, 0, 0);
        MutableNode.File tool = t.createFile(usr, b("tool"), 04755, 0, 0);
        t.write(tool, 0, b("old"), 0, 3);
        t.symlink(usr, b("link"), b("tool"), 0, 0);
        t.mkdir(root, b("srv"), 0755, 0, 0);
        MutableNode.Dir tmp = t.mkdir(root, b("tmp"), 01777, 0, 0);
        t.createFile(tmp, b("roots"), 0666, 0, 0);
        t.createFile(tmp, b("mine"), 0644, U, G);
        MutableNode.Dir home = t.mkdir(t.mkdir(root, b("home"), 0755, 0, 0), b("u"), 0755, U, G);
        t.createFile(home, b("f"), 0644, U, G);
        MutableNode.Dir shared = t.mkdir(root, b("shared"), 0775, 0, STAFF);
        t.createFile(shared, b("g"), 0664, 0, STAFF);
        t.createFile(shared, b("suid"), 04775, 0, STAFF);
        t.createFile(shared, b("sgid"), 02775, 0, STAFF);
        t.createFile(shared, b("sgid-nox"), 02664, 0, STAFF);
        MutableNode.File cap = t.createFile(shared, b("cap"), 0775, 0, STAFF);
        t.setXattr(cap, "security.capability", b("cap"), MutableTree.XattrMode.ANY);
        t.createFile(home, b("own-suid"), 04775, U, G);
        MutableNode.Dir priv = t.mkdir(root, b("private"), 0700, 0, 0);
        t.mkdir(priv, b("open"), 0777, 0, 0);
        MutableNode.Dir acl = t.mkdir(root, b("acl"), 0750, 0, 0);
        t.setXattr(acl, PosixAcl.ACCESS, acl(7, U, 7, 5, 7, 0), MutableTree.XattrMode.ANY);
        MutableNode.Dir tree = t.mkdir(shared, b("tree"), 0775, 0, STAFF);
        t.mkdir(shared, b("tree2"), 0755, 0, 0);
        t.createFile(t.mkdir(tree, b("locked"), 0755, 0, 0), b("x"), 0644, 0, 0);
        live = t.flush();
        since = clock.addAndGet(1_000_000);
    }

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    /** An access ACL: owner, one named user, owning group, mask, other. */
    private static byte[] acl(int owner, long user, int userPerm, int group, int mask, int other) {
        ByteBuffer x = ByteBuffer.allocate(4 + 8 * 5).order(ByteOrder.LITTLE_ENDIAN);
        x.putInt(2);
        x.putShort((short) 0x01).putShort((short) owner).putInt(-1);
        x.putShort((short) 0x02).putShort((short) userPerm).putInt((int) user);
        x.putShort((short) 0x04).putShort((short) group).putInt(-1);
        x.putShort((short) 0x10).putShort((short) mask).putInt(-1);
        x.putShort((short) 0x20).putShort((short) other).putInt(-1);
        return x.array();
    }

    /** What the check refuses of {@code edit} made to the live tree, as {@code who}. */
    private List<String> refused(Credentials who, Edit edit) throws Exception {
        MutableTree t = new MutableTree(store, live, () -> clock.addAndGet(1000));
        edit.apply(t);
        ObjectId merged = t.flush();
        return CommitPermissions.of(who, since, clock::get)
                .refused(store, live, merged, Diff.between(store, live, merged));
    }

    private static void assertRefused(List<String> refused, String path) {
        assertEquals(1, refused.size(), refused.toString());
        assertTrue(refused.get(0).startsWith(path + ": "), refused.toString());
    }

    @Test
    void addName_inRootOwned0755Directory_isRefusedNamingThePath() throws Exception {
        assertRefused(refused(USER, t -> t.createFile(t.getDir("/srv"), b("x"), 0644, U, G)), "/srv/x");
    }

    @Test
    void addName_inOwnDirectory_passes() throws Exception {
        assertEquals(List.of(), refused(USER, t -> t.createFile(t.getDir("/home/u"), b("x"), 0644, U, G)));
    }

    @Test
    void addName_belowADirectoryWithoutSearch_isRefusedEvenWhereTheParentIs0777() throws Exception {
        List<String> r = refused(USER, t -> t.createFile(t.getDir("/private/open"), b("x"), 0644, U, G));
        assertRefused(r, "/private/open/x");
        assertTrue(r.get(0).contains("search permission on /private"), r.toString());
    }

    @Test
    void addName_inGroupWritableDirectory_passesForAMemberOnly() throws Exception {
        Edit add = t -> t.createFile(t.getDir("/shared"), b("x"), 0644, U, G);
        assertEquals(List.of(), refused(USER, add));
        assertRefused(refused(OUTSIDER, add), "/shared/x");
    }

    @Test
    void addName_whereANamedUserAclEntryGrantsWrite_passes() throws Exception {
        assertEquals(List.of(), refused(USER, t -> t.createFile(t.getDir("/acl"), b("x"), 0644, U, G)));
        Credentials other = Credentials.of(OTHER_USER, OTHER_USER);
        assertRefused(
                refused(other, t -> t.createFile(t.getDir("/acl"), b("x"), 0644, OTHER_USER, OTHER_USER)), "/acl/x");
    }

    @Test
    void removeName_inStickyDirectory_needsOwningTheEntry() throws Exception {
        assertRefused(refused(USER, t -> t.unlink(t.getDir("/tmp"), b("roots"))), "/tmp/roots");
        assertEquals(List.of(), refused(USER, t -> t.unlink(t.getDir("/tmp"), b("mine"))));
    }

    @Test
    void replaceRootsBinary_inRootOwnedDirectory_isRefused() throws Exception {
        assertRefused(
                refused(USER, t -> {
                    t.unlink(t.getDir("/usr"), b("tool"));
                    t.createFile(t.getDir("/usr"), b("tool"), 0755, U, G);
                }),
                "/usr/tool");
    }

    @Test
    void writeContent_needsWritePermissionOnTheLiveFile() throws Exception {
        Edit write = t -> t.write((MutableNode.File) t.get("/shared/g"), 0, b("new"), 0, 3);
        assertEquals(List.of(), refused(USER, write));
        assertRefused(refused(OUTSIDER, write), "/shared/g");
        assertRefused(refused(USER, t -> t.write((MutableNode.File) t.get("/usr/tool"), 0, b("x"), 0, 1)), "/usr/tool");
    }

    /**
     * Finding A of the review of issue 14: the view clears set-id bits and capabilities on write and
     * truncate, but fallocate and page write-backs change content without it; a non-owner's commit
     * kept root's setuid bit on a file whose content that user chose.
     */
    @Test
    void writeContent_byANonOwner_keepingSetIdBitsOrCapability_isRefused() throws Exception {
        for (String path : List.of("/shared/suid", "/shared/sgid", "/shared/cap")) {
            List<String> r = refused(USER, t -> t.write((MutableNode.File) t.get(path), 0, b("new"), 0, 3));
            assertRefused(r, path);
            assertTrue(
                    r.get(0).contains("would keep set-id bits/capability on a file changed by a non-owner"),
                    r.toString());
        }
    }

    /** What the kernel does on a non-owner's write: the bits and the capability go, and that passes. */
    @Test
    void writeContent_byANonOwner_clearingSetIdBitsAndCapability_passes() throws Exception {
        assertEquals(List.of(), refused(USER, t -> {
            MutableNode.File f = (MutableNode.File) t.get("/shared/suid");
            t.write(f, 0, b("new"), 0, 3);
            t.setAttributes(f, 0775, null, null, null);
        }));
        assertEquals(List.of(), refused(USER, t -> {
            MutableNode.File f = (MutableNode.File) t.get("/shared/sgid");
            t.write(f, 0, b("new"), 0, 3);
            t.setAttributes(f, 0775, null, null, null);
        }));
        assertEquals(List.of(), refused(USER, t -> {
            MutableNode.File f = (MutableNode.File) t.get("/shared/cap");
            t.write(f, 0, b("new"), 0, 3);
            t.removeXattr(f, "security.capability");
        }));
        // setgid without group execute is not a privilege (mandatory locking): the kernel keeps it
        assertEquals(
                List.of(), refused(USER, t -> t.write((MutableNode.File) t.get("/shared/sgid-nox"), 0, b("n"), 0, 1)));
        // clearing more than the kernel clears is still a chmod
        assertRefused(
                refused(USER, t -> {
                    MutableNode.File f = (MutableNode.File) t.get("/shared/suid");
                    t.write(f, 0, b("new"), 0, 3);
                    t.setAttributes(f, 0755, null, null, null);
                }),
                "/shared/suid");
    }

    @Test
    void writeContent_byTheOwner_ofTheirOwnSetuidFile_passes() throws Exception {
        assertEquals(
                List.of(), refused(USER, t -> t.write((MutableNode.File) t.get("/home/u/own-suid"), 0, b("n"), 0, 1)));
    }

    /** A symlink's mode is 0777: the check must not read it as "anyone may change its target". */
    @Test
    void retargetRootsSymlink_inRootOwnedDirectory_isRefused() throws Exception {
        assertRefused(
                refused(USER, t -> {
                    t.unlink(t.getDir("/usr"), b("link"));
                    t.symlink(t.getDir("/usr"), b("link"), b("/home/u/evil"), 0, 0);
                }),
                "/usr/link");
    }

    @Test
    void chmod_needsOwnership() throws Exception {
        assertEquals(List.of(), refused(USER, t -> t.setAttributes(t.get("/home/u/f"), 0600, null, null, null)));
        assertRefused(refused(USER, t -> t.setAttributes(t.get("/shared/g"), 0666, null, null, null)), "/shared/g");
    }

    @Test
    void chown_toAnotherUser_isNeverAllowed() throws Exception {
        assertRefused(refused(USER, t -> t.setAttributes(t.get("/home/u/f"), null, 0L, null, null)), "/home/u/f");
    }

    @Test
    void chgrp_needsOwnershipAndMembershipOfTheNewGroup() throws Exception {
        assertEquals(List.of(), refused(USER, t -> t.setAttributes(t.get("/home/u/f"), null, null, STAFF, null)));
        assertRefused(refused(USER, t -> t.setAttributes(t.get("/home/u/f"), null, null, 0L, null)), "/home/u/f");
    }

    @Test
    void xattrs_userNeedsWrite_trustedAndSecurityNeedRoot() throws Exception {
        assertEquals(
                List.of(),
                refused(USER, t -> t.setXattr(t.get("/shared/g"), "user.k", b("v"), MutableTree.XattrMode.ANY)));
        assertRefused(
                refused(USER, t -> t.setXattr(t.get("/home/u/f"), "trusted.k", b("v"), MutableTree.XattrMode.ANY)),
                "/home/u/f");
        assertRefused(
                refused(
                        USER,
                        t -> t.setXattr(t.get("/home/u/f"), "security.capability", b("v"), MutableTree.XattrMode.ANY)),
                "/home/u/f");
    }

    @Test
    void aclChange_needsOwnership() throws Exception {
        assertRefused(
                refused(USER, t -> t.setXattr(t.get("/shared/g"), PosixAcl.ACCESS, acl(6, U, 6, 6, 6, 4), null)),
                "/shared/g");
    }

    @Test
    void utimes_toAGivenTime_needsOwnership_toNowNeedsWrite() throws Exception {
        assertRefused(refused(USER, t -> t.setAttributes(t.get("/shared/g"), null, null, null, 5L)), "/shared/g");
        assertEquals(List.of(), refused(USER, t -> t.setAttributes(t.get("/shared/g"), null, null, null, since + 1)));
        assertEquals(List.of(), refused(USER, t -> t.setAttributes(t.get("/home/u/f"), null, null, null, 5L)));
    }

    @Test
    void hardLinkToRootsSetuidBinary_inOwnDirectory_isRefused() throws Exception {
        assertRefused(refused(USER, t -> t.link(t.get("/usr/tool"), t.getDir("/home/u"), b("tool"))), "/home/u/tool");
    }

    @Test
    void renameOfAnotherUsersFile_withinAWritableDirectory_passes() throws Exception {
        assertEquals(
                List.of(),
                refused(
                        USER,
                        t -> t.rename(
                                t.getDir("/shared"),
                                b("g"),
                                t.getDir("/shared"),
                                b("h"),
                                MutableTree.RenameMode.REPLACE)));
    }

    /**
     * Finding B of the review of issue 14: one removal of root's node let it be added under any
     * number of names, so a rename plus hard links (which protected_hardlinks refuses) passed.
     */
    @Test
    void renameOfAnotherUsersFile_plusAHardLinkToIt_refusesTheSecondName() throws Exception {
        List<String> r = refused(USER, t -> {
            t.rename(t.getDir("/shared"), b("g"), t.getDir("/shared"), b("h"), MutableTree.RenameMode.REPLACE);
            t.link(t.get("/shared/h"), t.getDir("/home/u"), b("g"));
        });
        assertEquals(1, r.size(), r.toString());
        assertTrue(r.get(0).contains("only root may add another user's node"), r.toString());
    }

    @Test
    void addedDirectory_holdingAnotherUsersNode_isRefused() throws Exception {
        assertRefused(
                refused(USER, t -> {
                    MutableNode.Dir d = t.mkdir(t.getDir("/home/u"), b("d"), 0755, U, G);
                    t.createFile(d, b("suid"), 04755, 0, 0);
                }),
                "/home/u/d");
    }

    @Test
    void addedDeviceNode_isRefused() throws Exception {
        assertRefused(
                refused(USER, t -> t.mknod(t.getDir("/home/u"), b("sda"), EntryKind.BLOCK_DEVICE, 0666, 0x800, U, G)),
                "/home/u/sda");
    }

    @Test
    void removeDirectoryTree_needsWriteOnEveryDirectoryInIt() throws Exception {
        // rmdir of an empty directory needs write on its parent only
        assertEquals(List.of(), refused(USER, t -> t.rmdir(t.getDir("/shared"), b("tree2"))));
        assertRefused(
                refused(USER, t -> {
                    t.unlink(t.getDir("/shared/tree/locked"), b("x"));
                    t.rmdir(t.getDir("/shared/tree"), b("locked"));
                    t.rmdir(t.getDir("/shared"), b("tree"));
                }),
                "/shared/tree");
    }

    @Test
    void root_isNotChecked() {
        assertSame(LiveTree.CommitCheck.NONE, CommitPermissions.of(Credentials.of(0, 0), 0, clock::get));
    }
}
