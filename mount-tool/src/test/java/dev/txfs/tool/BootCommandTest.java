package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code txfs boot}: output, exit codes, and that bad input changes nothing. */
final class BootCommandTest extends CliTestBase {
    private String a;
    private String b;
    private Path cmdline;

    @BeforeEach
    void storeWithTwoSnapshots() throws Exception {
        assertEquals(0, inStore("init").exit());
        Path src = Files.createDirectories(tmp.resolve("src"));
        Files.writeString(src.resolve("marker"), "a");
        a = inStore("snapshot", "--from-dir", src.toString(), "-m", "a").out().trim();
        Files.writeString(src.resolve("marker"), "b");
        b = inStore("snapshot", "--from-dir", src.toString(), "-m", "b").out().trim();
        cmdline = tmp.resolve("cmdline");
    }

    private Run resolve(String line, String... more) throws Exception {
        Files.writeString(cmdline, line + "\n");
        String[] args = new String[3 + more.length];
        args[0] = "boot";
        args[1] = "resolve";
        args[2] = "--cmdline=" + cmdline;
        System.arraycopy(more, 0, args, 3, more.length);
        return inStore(args);
    }

    @Test
    void resolve_printsSnapshotRuleAndWhy_andFallbackGoesToStderr() throws Exception {
        assertEquals(0, inStore("boot", "set-default", a, "--tries", "2").exit());
        Run r = resolve("ro txfs.store=/dev/vda:/store");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("snapshot=" + a + "\nrule=boot/default\n"), r.out());
        assertTrue(r.out().contains("tries-left=1/2"), r.out());
        assertTrue(r.out().contains("store-device=/dev/vda\nstore-dir=/store"), r.out());
        Run bogus = resolve("txfs.root=nonesuch", "--json");
        assertEquals(0, bogus.exit());
        assertTrue(bogus.out().startsWith("{\"snapshot\":\"" + a + "\",\"rule\":\"boot/default\""), bogus.out());
        assertTrue(bogus.out().contains("\"fallback\":true"), bogus.out());
        assertEquals(
                "txfs: boot: txfs.root=nonesuch names no ref, tag or snapshot and there is no boot/last-good:"
                        + " falling back to boot/default " + a.substring(0, 12),
                bogus.err().trim());
    }

    @Test
    void resolve_dryRun_usesNoTry() throws Exception {
        inStore("boot", "set-default", a, "--tries", "1");
        resolve("", "--dry-run");
        assertTrue(inStore("boot", "list").out().contains("(1 of 1 tries left"));
        resolve("");
        assertTrue(inStore("boot", "list").out().contains("(no tries left of 1"));
    }

    @Test
    void badInput_isOneLine_withItsExitCode_andChangesNothing() throws Exception {
        inStore("boot", "set-default", a, "--tries", "2");
        String before = inStore("boot", "list", "--json").out();
        Run r = inStore("boot", "set-default", b, "--tries", "0");
        assertEquals(2, r.exit());
        assertEquals(1, r.errLines().size(), r.err());
        assertEquals(3, inStore("boot", "set-default", "nosuch").exit());
        assertEquals(
                3,
                inStore("boot", "resolve", "--cmdline", tmp.resolve("absent").toString())
                        .exit());
        assertEquals(2, inStore("boot", "resolve").exit());
        assertEquals(3, inStore("boot", "mark-good", "nosuch").exit());
        assertEquals(2, inStore("boot", "nonesuch").exit());
        assertEquals(before, inStore("boot", "list", "--json").out());
    }

    @Test
    void resolve_withNothingToBoot_exits3() throws Exception {
        Run r = resolve("");
        assertEquals(3, r.exit());
        assertTrue(r.err().startsWith("txfs: boot: no txfs.root on the command line"), r.err());
    }

    @Test
    void markGood_withoutABoot_exits3_thenAfterOne_setsLastGood() throws Exception {
        assertEquals(3, inStore("boot", "mark-good").exit());
        inStore("boot", "set-default", a);
        resolve("txfs.root=" + b.substring(0, 6));
        Run r = inStore("boot", "mark-good");
        assertEquals(0, r.exit(), r.err());
        assertEquals("boot/last-good " + b, r.out().trim());
        assertTrue(inStore("boot", "list").out().contains("(3 of 3 tries left"), "b is not the default");
    }

    @Test
    void install_thenUninstall_leavesNothingBehind() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("root"));
        Run in = run("boot", "install", "--root", root.toString());
        assertEquals(0, in.exit(), in.err());
        Path lib = root.resolve("usr/lib/txfs/boot/txfs-boot.sh");
        assertTrue(Files.readString(lib).contains("txfs_boot_root()"));
        assertTrue(Files.isExecutable(root.resolve("usr/share/initramfs-tools/hooks/txfs")));
        assertTrue(Files.isExecutable(root.resolve("usr/lib/dracut/modules.d/90txfs/module-setup.sh")));
        assertTrue(
                Files.isSymbolicLink(root.resolve("etc/systemd/system/default.target.wants/txfs-mark-good.service")));
        assertTrue(in.err().contains("no runtime"), in.err());
        Run out = run("boot", "install", "--root", root.toString(), "--uninstall");
        assertEquals(0, out.exit(), out.err());
        try (var s = Files.walk(root)) {
            assertEquals(
                    java.util.List.of(), s.filter(Files::isRegularFile).toList(), "every file install made is gone");
        }
    }
}
