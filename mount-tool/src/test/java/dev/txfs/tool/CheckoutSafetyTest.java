package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.txfs.fs.Privileges;
import dev.txfs.fs.posix.Errno;
import dev.txfs.fs.posix.Posix;
import dev.txfs.fs.posix.PosixException;
import dev.txfs.fs.posix.Stat;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeLimits;
import dev.txfs.snapshot.TreeRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Checkout into places another user controls (issue 14, finding 9) and of privileged entries from
 * a source nobody vouched for (finding 11). Runs as root: that is whom the findings are about.
 */
final class CheckoutSafetyTest extends CliTestBase {
    private final Posix posix = Posix.get();
    private Path src;

    @BeforeEach
    void rootAndAStore() throws Exception {
        assumeTrue(StoreLocator.effectiveUid() == 0, "needs root");
        assertEquals(0, inStore("init").exit());
        src = Files.createDirectories(tmp.resolve("src"));
    }

    private static void exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
    }

    private String snapshot() {
        Run r = inStore("snapshot", "--from-dir", src.toString(), "-m", "t");
        assertEquals(0, r.exit(), r.err());
        return r.out().trim();
    }

    private Stat lstat(Path p) throws PosixException {
        return posix.lstat(Posix.bytes(p.toString()));
    }

    /** A block device 0666, a setuid-root file, a setgid file and a cap_setuid file. */
    private String privilegedSnapshot() throws Exception {
        exec("mknod", "-m", "0666", src.resolve("disk").toString(), "b", "7", "0");
        Path suid = Files.writeString(src.resolve("suid"), "#!/bin/sh\n");
        exec("chmod", "4755", suid.toString());
        Path sgid = Files.writeString(src.resolve("sgid"), "#!/bin/sh\n");
        exec("chmod", "2755", sgid.toString());
        Path cap = Files.writeString(src.resolve("cap"), "#!/bin/sh\n");
        exec("setcap", "cap_setuid+ep", cap.toString());
        Files.writeString(src.resolve("plain"), "plain\n");
        return snapshot();
    }

    private boolean hasCapability(Path p) throws PosixException {
        return posix.listXattrs(Posix.bytes(p.toString())).contains(Privileges.CAPABILITY);
    }

    /**
     * Regression (finding 11): an unsigned snapshot (from an imported stream, say) recreated a
     * 0666 block device, a setuid-root file and a cap_setuid file as they were, under root.
     */
    @Test
    void checkout_ofAnUnsignedSnapshot_createsNoDeviceSetIdBitOrCapability() throws Exception {
        String id = privilegedSnapshot();
        Path out = tmp.resolve("out");
        Run r = inStore("checkout", id, out.toString());
        assertEquals(0, r.exit(), r.err());
        assertFalse(Files.exists(out.resolve("disk"), LinkOption.NOFOLLOW_LINKS), "no device node");
        assertEquals(0755, lstat(out.resolve("suid")).permissions());
        assertEquals(0755, lstat(out.resolve("sgid")).permissions());
        assertFalse(hasCapability(out.resolve("cap")));
        assertEquals("plain\n", Files.readString(out.resolve("plain")));
        assertTrue(r.err().contains("device node not created (source not signed by a trusted key"), r.err());
        assertTrue(r.err().contains("setuid/setgid bit not set"), r.err());
        assertTrue(r.err().contains("file capability not set"), r.err());
    }

    @Test
    void checkout_withPreservePrivileges_orOfASnapshotSignedByATrustedKey_recreatesThem() throws Exception {
        String id = privilegedSnapshot();
        Path out = tmp.resolve("out");
        Run r = inStore("checkout", id, out.toString(), "--preserve-privileges");
        assertEquals(0, r.exit(), r.err());
        assertTrue(lstat(out.resolve("disk")).type() == Stat.S_IFBLK);
        assertEquals(04755, lstat(out.resolve("suid")).permissions());
        assertEquals(02755, lstat(out.resolve("sgid")).permissions());
        assertTrue(hasCapability(out.resolve("cap")));

        Path key = tmp.resolve("key");
        assertEquals(0, inStore("key", "generate", "-o", key.toString()).exit());
        assertEquals(0, inStore("sign", id, "--key", key.toString()).exit());
        Path notYet = tmp.resolve("not-yet-trusted");
        assertEquals(0, inStore("checkout", id, notYet.toString()).exit());
        assertEquals(0755, lstat(notYet.resolve("suid")).permissions(), "a key that is not trusted counts for nothing");
        assertEquals(0, inStore("key", "trust", key + ".pub").exit());
        Path signed = tmp.resolve("signed");
        Run s = inStore("checkout", id, signed.toString());
        assertEquals(0, s.exit(), s.err());
        assertEquals(04755, lstat(signed.resolve("suid")).permissions());
        assertTrue(hasCapability(signed.resolve("cap")));
        assertTrue(lstat(signed.resolve("disk")).type() == Stat.S_IFBLK);
    }

    /** Regression (finding 9): root wrote into a directory that another user could rearrange under it. */
    @Test
    void checkout_intoADirectoryOwnedByNobody_isRefusedForRoot_andWritesNothing() throws Exception {
        Files.writeString(src.resolve("f"), "x");
        String id = snapshot();
        Path theirs = Files.createDirectory(tmp.resolve("theirs"));
        exec("chown", "65534:65534", theirs.toString());
        Run r = inStore("checkout", id, theirs.toString());
        assertEquals(ExitCode.DENIED.code, r.exit(), r.err());
        assertTrue(r.err().contains("belongs to uid 65534"), r.err());
        try (var list = Files.list(theirs)) {
            assertEquals(0, list.count());
        }

        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Run o = inStore("checkout", id, open.toString());
        assertEquals(ExitCode.DENIED.code, o.exit(), o.err());
        assertTrue(o.err().contains("writable by other users"), o.err());

        Path sticky = Files.createDirectory(tmp.resolve("sticky"));
        exec("chmod", "1777", sticky.toString());
        assertEquals(0, inStore("checkout", id, sticky.toString()).exit(), "sticky: others cannot move our names");

        Path link = Files.createSymbolicLink(tmp.resolve("link"), Files.createDirectory(tmp.resolve("real")));
        assertEquals(
                ExitCode.USAGE.code, inStore("checkout", id, link.toString()).exit());
    }

    /**
     * Regression (finding 9): the metadata pass ran chmod on paths, so a directory of the checkout
     * swapped for a symlink meanwhile made its target (here a root 0700 directory) 0777. The swap
     * is made deterministic by running it between the walk and the metadata pass.
     */
    @Test
    void checkout_whenADirectoryIsSwappedForASymlink_neverFollowsIt() throws Exception {
        Path d = Files.createDirectory(src.resolve("d"));
        Files.writeString(d.resolve("f"), "x");
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
        String id = snapshot();
        Path victim = Files.createDirectory(tmp.resolve("victim"));
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwx------"));
        Path secret = Files.writeString(victim.resolve("secret"), "root only");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path out = Files.createDirectory(tmp.resolve("out"));
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwx------"));

        Runnable swap = () -> {
            try {
                Files.move(out.resolve("d"), tmp.resolve("d-moved"));
                Files.createSymbolicLink(out.resolve("d"), victim);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        int fd = posix.openDirectory(Posix.bytes(out.toString()));
        try (LmdbObjectStore s = LmdbObjectStore.open(store)) {
            var root = Snapshots.load(s, BaseCommand.resolve(s, id)).root();
            Checkout c = new Checkout(s, posix, 1, false, new Warnings(), new Checkout.Counters())
                    .beforeDirectoryMetadata(swap);
            PosixException e = assertThrows(PosixException.class, () -> c.run(root, fd, Posix.bytes(out.toString())));
            // O_NOFOLLOW | O_DIRECTORY on a symlink: ENOTDIR (ELOOP without O_DIRECTORY)
            assertTrue(e.errno() == Errno.ENOTDIR || e.errno() == Errno.ELOOP, e.getMessage());
        } finally {
            posix.closeQuietly(fd);
        }
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(victim)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)));
        assertNotEquals(0777, lstat(victim).permissions());
    }

    /** A snapshot whose tree is a chain of directories "d" with the file "leaf" at {@code depth}. */
    private String chainSnapshot(int depth) {
        try (LmdbObjectStore s = LmdbObjectStore.open(store);
                ObjectWriter w = s.newWriter()) {
            TreeEntry leaf = TreeEntry.builder("leaf", EntryKind.FILE)
                    .mode(0644)
                    .content(Content.inline("deep".getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                    .build();
            TreeRef dir = Directories.write(w, List.of(leaf));
            for (int i = depth - 1; i >= 1; i--) {
                TreeEntry d = TreeEntry.builder("d", EntryKind.DIRECTORY)
                        .mode(0755)
                        .tree(dir)
                        .build();
                dir = Directories.write(w, List.of(d));
            }
            ObjectId root = HardLinks.writeRoot(
                    w,
                    TreeEntry.builder("", EntryKind.DIRECTORY)
                            .mode(0755)
                            .tree(dir)
                            .build(),
                    List.of());
            w.flush();
            return Snapshots.record(s, Snapshots.HEAD, root, "t", "chain", () -> 1L)
                    .toHex();
        }
    }

    /**
     * Part of finding 6: the walk is iterative and stops at {@link TreeLimits#MAX_DEPTH} with a
     * clear error (it recursed once per level, and checked out any depth the store held).
     */
    @Test
    void checkout_ofATreeDeeperThanTheLimit_failsClearly_andOneAtTheLimitChecksOut() throws Exception {
        String atLimit = chainSnapshot(TreeLimits.MAX_DEPTH);
        Path out = tmp.resolve("out");
        Path deep = tmp.resolve("deep");
        try {
            Run ok = inStore("checkout", atLimit, out.toString());
            assertEquals(0, ok.exit(), ok.err());
            assertTrue(Files.isRegularFile(out.resolve("d/".repeat(TreeLimits.MAX_DEPTH - 1) + "leaf")));

            String tooDeep = chainSnapshot(TreeLimits.MAX_DEPTH + 1);
            Run r = inStore("checkout", tooDeep, deep.toString());
            assertEquals(ExitCode.STORE.code, r.exit(), r.err());
            assertTrue(r.err().contains("tree deeper than " + TreeLimits.MAX_DEPTH + " levels"), r.err());
        } finally {
            // rm walks by descriptors; JUnit's cleanup resolves each level's real path (minutes here)
            exec("rm", "-rf", out.toString(), deep.toString());
        }
    }
}
