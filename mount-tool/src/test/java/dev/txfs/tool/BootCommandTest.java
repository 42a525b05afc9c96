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

    /**
     * Regression (issue 14, finding 14): the initramfs wrote {@code /run/txfs/booted} unquoted and
     * txfs-mark-good.service sourced it as root, so a {@code txfs.store=} holding {@code $(...)}
     * ran commands. The store directory here is such a name: the hook library's writer records it,
     * it parses back to the same string, the unit's command runs nothing of it, and {@code
     * mark-good --booted} marks the recorded snapshot good in that store.
     */
    @Test
    void markGood_fromABootRecordWithShellSyntaxInTheStore_runsNothingAndMarksGood() throws Exception {
        String crafted = "st$(touch pwned1);touch pwned2;`touch pwned3`'q'\"d\" $HOME";
        Path dir = tmp.resolve(crafted);
        assertEquals(0, run("--store", dir.toString(), "init").exit());
        Path src = Files.createDirectories(tmp.resolve("src2"));
        Files.writeString(src.resolve("marker"), "c");
        String c = run("--store", dir.toString(), "snapshot", "--from-dir", src.toString(), "-m", "c")
                .out()
                .trim();
        Path booted = tmp.resolve("booted");
        Path lib = Path.of("src/main/boot/lib/txfs-boot.sh").toAbsolutePath();
        assertEquals(
                0,
                sh(
                        ". \"$1\" && txfs_write_booted \"$2\" \"$3\" boot/default \"$4\" 4242",
                        lib.toString(),
                        booted.toString(),
                        c,
                        dir.toString()));
        assertEquals(
                "rw-------",
                java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(booted)));
        BootedFile record = BootedFile.parse(Files.readString(booted), booted.toString());
        assertEquals(dir.toString(), record.store().toString());
        assertEquals(c, record.snapshot().toHex());

        // the unit's command, with the launcher replaced by a stub that records its arguments
        String unit = Files.readString(Path.of("src/main/boot/systemd/txfs-mark-good.service"));
        String exec = unit.lines()
                .filter(l -> l.startsWith("ExecStart="))
                .findFirst()
                .orElseThrow()
                .substring("ExecStart=".length());
        Path stub = tmp.resolve("txfs-stub");
        Files.writeString(stub, "#!/bin/sh\nprintf '%s\\n' \"$@\" >\"${0%/*}/stub-args\"\n");
        stub.toFile().setExecutable(true);
        int exit = sh(
                exec.replace("/usr/lib/txfs/bin/txfs", stub.toString()).replace("/run/txfs/booted", booted.toString()));
        for (String pwned : new String[] {"pwned1", "pwned2", "pwned3"}) {
            assertTrue(!Files.exists(tmp.resolve(pwned)), pwned + " was created: the record ran as shell");
        }
        assertEquals(0, exit);
        assertEquals("boot\nmark-good\n--booted\n" + booted + "\n", Files.readString(tmp.resolve("stub-args")));

        Run r = run("boot", "mark-good", "--booted", booted.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals("boot/last-good " + c, r.out().trim());
        assertTrue(run("--store", dir.toString(), "boot", "list").out().contains("boot/last-good   " + c));
    }

    @Test
    void markGood_fromAMalformedBootRecord_failsWithUsage_andChangesNothing() throws Exception {
        Path booted = Files.writeString(tmp.resolve("booted"), "snapshot=" + a + "\nstore=relative\n");
        Run r = run("boot", "mark-good", "--booted", booted.toString());
        assertEquals(ExitCode.USAGE.code, r.exit());
        assertTrue(r.err().contains("malformed boot record"), r.err());
        Files.writeString(booted, "snapshot=" + a + "\nstore=" + store + "\nstore=/elsewhere\n");
        assertEquals(
                ExitCode.USAGE.code,
                run("boot", "mark-good", "--booted", booted.toString()).exit());
        assertTrue(!inStore("boot", "list").out().contains("last-good"));
    }

    /** Runs {@code script} with {@code sh -c} in the test's directory; its exit code. */
    private int sh(String script, String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("sh", "-c", script, "sh"));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true);
        pb.environment().put("TXFS_CONSOLE", "");
        Process p = pb.start();
        p.getInputStream().transferTo(System.err);
        return p.waitFor();
    }
}
