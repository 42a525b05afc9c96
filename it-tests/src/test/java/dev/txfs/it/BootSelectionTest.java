package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Boot selection as the initramfs runs it: the shared hook library
 * (mount-tool/src/main/boot/lib/txfs-boot.sh, which both the initramfs-tools and the dracut hooks
 * source) against fake kernel command lines, each "boot" in its own private mount namespace
 * ({@code unshare -m}). The store is in a directory of an ext4 image ({@code
 * txfs.store=IMAGE:/txfs}, mounted through a loop device as the hook mounts a disk); each snapshot
 * holds a marker file, and what the new root shows after the hook ran says which one got mounted.
 * Needs root, /dev/fuse, unshare and mkfs.ext4.
 */
class BootSelectionTest extends TxfsItBase {
    static final Path LIB = REPO.resolve("mount-tool/src/main/boot/lib/txfs-boot.sh");

    static Path work;
    static Path image;
    static String a;
    static String b;
    static String c;

    @BeforeAll
    static void storeWithThreeSnapshots() throws IOException {
        assumeTrue(Files.isWritable(Path.of("/dev/fuse")) && isRoot(), "needs root and /dev/fuse");
        assumeTrue(has("unshare") && has("mkfs.ext4"), "needs unshare and mkfs.ext4");
        work = tempDir("txfs-boot");
        image = work.resolve("disk.img");
        Files.createDirectories(work.resolve("newroot"));
        for (String s : List.of("a", "b", "c")) {
            Path d = Files.createDirectories(work.resolve("src-" + s));
            Files.writeString(d.resolve("marker"), "snapshot " + s + "\n");
            Files.createDirectories(d.resolve("etc"));
        }
        sh("truncate -s 96M \"$1\" && mkfs.ext4 -q -F \"$1\"", image.toString()).ok();
        List<String> ids = inStore("init >/dev/null"
                        + " && $t --store \"$s\" snapshot --from-dir \"$w/src-a\" -m a"
                        + " && $t --store \"$s\" snapshot --from-dir \"$w/src-b\" -m b --ref release/b"
                        + " && $t --store \"$s\" snapshot --from-dir \"$w/src-c\" -m c"
                        + " && $t --store \"$s\" tag v3 HEAD >/dev/null")
                .ok()
                .out()
                .lines()
                .toList();
        assertEquals(3, ids.size(), ids.toString());
        a = ids.get(0);
        b = ids.get(1);
        c = ids.get(2);
    }

    @AfterAll
    static void cleanUp() {
        try {
            if (work != null) {
                String left = sh(
                                "pgrep -fa \"mount --foreground $1\" || true",
                                work.resolve("newroot").toString())
                        .ok()
                        .out();
                assertEquals("", left, "no boot daemon is left running");
                // a last check of the store the boots wrote
                Result v = inStore("verify");
                assertTrue(v.exit() == 0 && v.out().startsWith("ok: "), v::describe);
            }
        } finally {
            removeTree(work);
            work = null;
        }
    }

    /**
     * Runs {@code script} with the image's store mounted in a private mount namespace ($t is bin/txfs,
     * $s the store, $w the work directory); the first word of the script is a txfs verb when the
     * script does not start with '$'.
     */
    static Result inStore(String script) {
        String body = script.startsWith("$") ? script : "$t --store \"$s\" " + script;
        return sh(
                "exec unshare -m --propagation private bash -c '"
                        + "set -eo pipefail; t=$1 w=$2; mkdir -p \"$w/img\"; mount -o loop \"$w/disk.img\" \"$w/img\";"
                        + " s=$w/img/txfs; trap \"umount $w/img\" EXIT; "
                        + body.replace("'", "'\\''")
                        + "' bash \"$1\" \"$2\"",
                TXFS.toString(),
                work.toString());
    }

    /** What one boot did: the marker the new root showed (null if the hook failed), the console. */
    record Boot(String marker, String console, Result result) {}

    /**
     * One boot: the hook library's {@code txfs_boot_root} with {@code cmdline}, in a private mount
     * namespace; then the new root's marker, optionally {@code txfs boot mark-good} run inside the
     * booted root (as the systemd unit does, finding the store from the mount), and an unmount.
     */
    static Boot boot(String cmdline, boolean markGood) throws IOException {
        return boot(cmdline, markGood, ":");
    }

    /** As {@link #boot(String, boolean)}, running {@code inBoot} (sh; $newroot, $TXFS_RUN, $2 the work dir) once booted. */
    static Boot boot(String cmdline, boolean markGood, String inBoot) throws IOException {
        Path cmd =
                Files.writeString(work.resolve("cmdline"), "ro quiet txfs.store=" + image + ":/txfs " + cmdline + "\n");
        Result r = sh(
                "exec unshare -m --propagation private sh -c '"
                        + "export TXFS=\"$1\" TXFS_RUN=\"$2/run\" TXFS_CMDLINE=\"$3\" TXFS_CONSOLE=\"$2/console\";"
                        + " rm -rf \"$TXFS_RUN\"; : >\"$TXFS_CONSOLE\"; newroot=\"$2/newroot\";"
                        + " trap \"[ -n \\\"\\${_pid:-}\\\" ] && kill \\$_pid 2>/dev/null; umount \\\"$TXFS_RUN/store-fs\\\" 2>/dev/null\" EXIT;"
                        + " . \"$4\";"
                        + " txfs_boot_root \"$newroot\" || exit 9;"
                        + " echo \"marker=$(cat \"$newroot/marker\")\";"
                        + " cat \"$TXFS_RUN/booted\";"
                        + " if [ \"$5\" = yes ]; then (cd \"$newroot/etc\" && \"$TXFS\" boot mark-good) >&2; fi;"
                        + " eval \"$6\" || echo \"in-boot failed\";"
                        + " \"$TXFS\" umount \"$newroot\" >&2;"
                        + " while kill -0 $_pid 2>/dev/null; do sleep 0.1; done"
                        + "' sh \"$@\"",
                TXFS.toString(),
                work.toString(),
                cmd.toString(),
                LIB.toString(),
                markGood ? "yes" : "no",
                inBoot);
        String console = Files.readString(work.resolve("console"));
        String marker = r.out()
                .lines()
                .filter(l -> l.startsWith("marker="))
                .map(l -> l.substring(7))
                .findFirst()
                .orElse(null);
        return new Boot(marker, console, r);
    }

    static Boot bootOk(String cmdline) throws IOException {
        return bootOk(cmdline, false);
    }

    static Boot bootOk(String cmdline, boolean markGood) throws IOException {
        Boot bt = boot(cmdline, markGood);
        assertEquals(0, bt.result().exit(), bt.result()::describe);
        return bt;
    }

    @Test
    void explicitRoot_byIdPrefixRefAndTag_mountsThatSnapshotAtTheNewRoot() throws IOException {
        inStore("boot set-default " + a).ok();
        long t0 = System.nanoTime();
        Boot byId = bootOk("txfs.root=" + b);
        System.out.printf(
                "one boot (resolve, daemon start, mount, check, unmount): %d ms%n",
                (System.nanoTime() - t0) / 1_000_000);
        assertEquals("snapshot b", byId.marker());
        assertTrue(byId.result().out().contains("snapshot=" + b + "\nrule=txfs.root\n"), byId.result()::describe);
        assertTrue(
                byId.console().contains("txfs: booting snapshot " + b + " (txfs.root: txfs.root=" + b), byId.console());
        assertEquals("snapshot c", bootOk("txfs.root=" + c.substring(0, 10)).marker());
        assertEquals("snapshot b", bootOk("txfs.root=release/b").marker());
        assertEquals("snapshot c", bootOk("txfs.root=v3").marker());
        assertEquals("snapshot c", bootOk("txfs.root=tags/v3").marker());
        assertEquals("snapshot a", bootOk("").marker(), "no txfs.root: boot/default");
    }

    @Test
    void bogusRoot_fallsBackToLastGood_andTheConsoleSaysWhy() throws IOException {
        inStore("boot set-default " + c).ok();
        inStore("boot mark-good " + b).ok();
        Boot bt = bootOk("txfs.root=doesnotexist");
        assertEquals("snapshot b", bt.marker());
        assertTrue(
                bt.console()
                        .contains("txfs: boot: txfs.root=doesnotexist names no ref, tag or snapshot:"
                                + " falling back to boot/last-good " + b.substring(0, 12)),
                bt.console());
        Boot tooShort = bootOk("txfs.root=" + a.substring(0, 2)); // a prefix under 4 digits names nothing
        assertEquals("snapshot b", tooShort.marker());
        assertTrue(tooShort.console().contains("is not usable: snapshot id prefix"), tooShort.console());
    }

    @Test
    void unmarkedBoots_useTheDefaultsTries_thenFallBackToLastGood() throws IOException {
        inStore("boot mark-good " + a).ok();
        inStore("boot set-default " + c + " --tries 2").ok();
        Boot first = bootOk("");
        assertEquals("snapshot c", first.marker());
        assertTrue(first.console().contains("try 1 of 2"), first.console());
        assertEquals("snapshot c", bootOk("").marker());
        assertTrue(inStore("boot list").ok().out().contains("(no tries left of 2"));
        Boot third = bootOk("");
        assertEquals("snapshot a", third.marker());
        assertTrue(
                third.console()
                        .contains("boot/default " + c.substring(0, 12)
                                + " used all 2 tries without being marked good: falling back to boot/last-good "
                                + a.substring(0, 12)),
                third.console());
        // an explicit root still wins and uses nothing
        assertEquals("snapshot c", bootOk("txfs.root=v3").marker());
    }

    @Test
    void markGood_fromTheBootedRoot_setsLastGood_andEndsTheCounting() throws IOException {
        inStore("boot set-default " + b + " --tries 1").ok();
        Boot bt = bootOk("", true);
        assertEquals("snapshot b", bt.marker());
        assertTrue(bt.result().stderr().contains("boot/last-good " + b), bt.result()::describe);
        String list = inStore("boot list").ok().out();
        assertTrue(list.contains("boot/last-good   " + b), list);
        assertTrue(list.contains("(trusted: marked good"), list);
        for (int i = 0; i < 2; i++) {
            Boot again = bootOk("");
            assertEquals("snapshot b", again.marker());
            assertTrue(again.console().contains("marked good or not under assessment"), again.console());
        }
    }

    @Test
    void statfs_stillAnswers_afterTheStoresMountMovedAway() throws IOException {
        // The initramfs moves /run, which holds the store's mount, into the new root before it switches
        // root: the daemon's path to its store stops resolving. statfs on the root must still work (in the
        // VM boot with systemd, journald's fstatvfs failed with ENOENT, over and over).
        inStore("boot set-default " + a).ok();
        Boot bt = boot(
                "",
                false,
                "mkdir -p \"$2/moved\" && mount --move \"$TXFS_RUN/store-fs\" \"$2/moved\""
                        + " && { stat -f -c statfs-blocks=%b \"$newroot\"; s=$?;"
                        + " mount --move \"$2/moved\" \"$TXFS_RUN/store-fs\"; [ $s = 0 ]; }");
        assertEquals(0, bt.result().exit(), bt.result()::describe);
        assertEquals("snapshot a", bt.marker());
        assertTrue(bt.result().out().matches("(?s).*statfs-blocks=[1-9][0-9]*\n.*"), bt.result()::describe);
    }

    @Test
    void noStoreOrNothingToBoot_failsTheBootWithAConsoleMessage() throws IOException {
        Path cmd = Files.writeString(work.resolve("cmdline-nostore"), "ro quiet\n");
        Result r = sh(
                "export TXFS=\"$1\" TXFS_RUN=\"$2/run-nostore\" TXFS_CMDLINE=\"$3\" TXFS_CONSOLE=;"
                        + " . \"$4\"; txfs_boot_root \"$2/newroot\" && exit 0; exit 9",
                TXFS.toString(),
                work.toString(),
                cmd.toString(),
                LIB.toString());
        assertEquals(9, r.exit(), r::describe);
        assertTrue(r.stderr().contains("txfs: no txfs.store=<device>[:<dir>] on the kernel command line"), r.stderr());
    }
}
