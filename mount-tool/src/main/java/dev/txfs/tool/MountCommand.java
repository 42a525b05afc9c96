package dev.txfs.tool;

import dev.txfs.fs.TxnControl;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs mount}: serve the store's live tree, or an isolated view of a snapshot, at a directory. */
@Command(
        name = "mount",
        description = {
            "Mount the store's live tree at MOUNTPOINT. Returns when the mount is usable; the daemon",
            "keeps serving it (logs in the store's logs/ directory) until `txfs umount`.",
            "Root mounts with mount(2); other users through fusermount3 (package fuse3)."
        })
final class MountCommand extends BaseCommand {
    @Parameters(paramLabel = "MOUNTPOINT", description = "An existing directory.")
    Path mountpoint;

    @Option(names = "--foreground", description = "Serve in this process (logs to stderr) instead of a daemon.")
    boolean foreground;

    @Option(names = "--snapshot", paramLabel = "ID", description = "Start the live tree from this snapshot.")
    String snapshot;

    @Option(
            names = "-o",
            split = ",",
            paramLabel = "OPTS",
            description = "Mount options: rootfs (allow devices and setuid, for a root filesystem), dev, suid.")
    List<String> options = new ArrayList<>();

    @Option(
            names = "--require-txn",
            description =
                    "Outside transactions the mount is read-only (EROFS): every change goes through txfs begin/commit.")
    boolean requireTxn;

    @Option(
            names = "--membership",
            paramLabel = "MODE",
            description = "How processes are told apart by transaction: auto (default: cgroup v2 where the daemon"
                    + " may create cgroups, else parent-walk), cgroup, parent-walk.")
    String membership = "auto";

    @Option(
            names = "--max-user-txns",
            paramLabel = "N",
            description = "How many transactions one user other than root may have open at once (default: "
                    + TxnControl.DEFAULT_USER_LIMIT + "; root has no limit).")
    int maxUserTxns = TxnControl.DEFAULT_USER_LIMIT;

    @Option(
            names = "--isolated",
            description = "Mount a private, writable view of a snapshot (--base, default: the live state) instead of"
                    + " the live tree: its own daemon, full kernel caching; txfs commit --mount MOUNTPOINT merges its"
                    + " changes into the live tree, txfs abort --mount MOUNTPOINT drops them, and so does unmounting.")
    boolean isolated;

    @Option(names = "--base", paramLabel = "SNAPSHOT", description = "With --isolated: the snapshot to view.")
    String base;

    @Override
    public Integer call() throws Exception {
        Path mp = mountpoint.toAbsolutePath().normalize();
        if (!Files.exists(mp)) {
            throw new ToolException(ExitCode.NOT_FOUND, "mount point does not exist: " + mp);
        }
        if (!Files.isDirectory(mp)) {
            throw new ToolException(ExitCode.USAGE, "mount point is not a directory: " + mp);
        }
        if (Mounts.at(mp).isPresent()) {
            throw new ToolException(ExitCode.USAGE, "a txfs is already mounted at " + mp);
        }
        if (!List.of("auto", "cgroup", "parent-walk").contains(membership)) {
            throw new ToolException(ExitCode.USAGE, "unknown --membership mode: " + membership);
        }
        if (maxUserTxns < 1) {
            throw new ToolException(ExitCode.USAGE, "--max-user-txns must be at least 1");
        }
        if (base != null && !isolated) {
            throw new ToolException(
                    ExitCode.USAGE, "--base goes with --isolated (the live tree starts with --snapshot)");
        }
        if (isolated && (snapshot != null || requireTxn || !membership.equals("auto"))) {
            throw new ToolException(
                    ExitCode.USAGE,
                    "an isolated mount is one transaction: --snapshot, --require-txn and --membership"
                            + " do not go with --isolated (its snapshot is --base)");
        }
        boolean rootfs = false;
        List<String> extra = new ArrayList<>();
        for (String o : options) {
            switch (o) {
                case "rootfs", "dev", "suid" -> rootfs = true;
                default -> throw new ToolException(ExitCode.USAGE, "unknown mount option: " + o);
            }
        }
        Path storeDir;
        Optional<ObjectId> start = Optional.empty();
        try (LmdbObjectStore store = openStore()) {
            storeDir = store.directory().toAbsolutePath().normalize();
            if (snapshot != null) {
                start = Optional.of(resolve(store, snapshot));
            }
            if (isolated) {
                start = Optional.of(
                        base != null
                                ? resolve(store, base)
                                : store.refs()
                                        .find(dev.txfs.txn.LiveTree.REF)
                                        .or(() -> store.refs().find(dev.txfs.snapshot.Snapshots.HEAD))
                                        .orElseThrow(() -> new ToolException(
                                                ExitCode.NOT_FOUND, "the store has no snapshot yet: nothing to view")));
            }
        }
        if (isolated) {
            if (foreground) {
                Daemon.runIsolated(storeDir, mp, start.orElseThrow(), rootfs, extra);
                return 0;
            }
            return spawn(storeDir, mp, start, rootfs);
        }
        Optional<String> holder = MountLock.holder(storeDir);
        if (holder.isPresent()) {
            throw MountLock.busy(storeDir, holder.get());
        }
        if (foreground) {
            Daemon.run(storeDir, mp, start, rootfs, extra, requireTxn, membership, maxUserTxns);
            return 0;
        }
        return spawn(storeDir, mp, start, rootfs);
    }

    private int spawn(Path storeDir, Path mp, Optional<ObjectId> start, boolean rootfs)
            throws IOException, InterruptedException {
        Path log = Daemon.createLog(storeDir, mp);
        long logStart = Files.size(log); // a log is kept across mounts: read only this daemon's lines
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid"); // out of the caller's session: its Ctrl-C and hangup do not reach the daemon
        }
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of(
                "--add-opens",
                "java.base/java.nio=ALL-UNNAMED",
                "--add-opens",
                "java.base/sun.nio.ch=ALL-UNNAMED",
                "-XX:+ExitOnOutOfMemoryError",
                // File data streams through bounded buffers; without a cap the JVM grows its heap
                // to a quarter of the machine before collecting (4.8 GB RSS writing a 5 GiB file).
                "-Xmx" + System.getenv().getOrDefault("TXFS_DAEMON_HEAP", "1g"),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "--store",
                storeDir.toString(),
                "mount",
                "--foreground"));
        cmd.add(mp.toString()); // first after --foreground: tools find a mount's daemon by "mount --foreground MP"
        start.ifPresent(id -> cmd.addAll(List.of(isolated ? "--base" : "--snapshot", id.toHex())));
        if (isolated) {
            cmd.add("--isolated");
        }
        if (rootfs) {
            cmd.addAll(List.of("-o", "rootfs"));
        }
        if (requireTxn) {
            cmd.add("--require-txn");
        }
        if (!isolated) {
            cmd.addAll(List.of("--membership", membership, "--max-user-txns", Integer.toString(maxUserTxns)));
        }
        Process p = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true)
                .start();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Mounts.at(mp).isPresent()) {
                out().println("mounted "
                        + (isolated
                                ? "an isolated view of " + start.orElseThrow().shortHex() + " from "
                                : "") + storeDir + " at " + mp + " (daemon pid " + p.pid() + ", log " + log + ")");
                if (!isolated) {
                    repeatMembershipLines(log, logStart);
                }
                return 0;
            }
            if (!p.isAlive()) {
                throw new ToolException(
                        ExitCode.FAILED, "the mount daemon exited (" + p.exitValue() + "): " + lastLine(log));
            }
            Thread.sleep(20);
        }
        p.destroy();
        throw new ToolException(ExitCode.FAILED, "the mount did not appear within 60 s; see " + log);
    }

    /** The daemon's membership mode on stdout, and its warning (parent-walk) on stderr. */
    private void repeatMembershipLines(Path log, long from) throws IOException {
        String text;
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            f.seek(Math.min(from, f.length()));
            byte[] b = new byte[(int) Math.min(f.length() - f.getFilePointer(), 1 << 20)];
            f.readFully(b);
            text = new String(b, StandardCharsets.UTF_8);
        }
        for (String line : text.lines().toList()) {
            if (line.startsWith(Daemon.MEMBERSHIP)) {
                out().println(line.substring(Errors.PREFIX.length()));
            } else if (line.startsWith(Errors.PREFIX + "warning: parent-pid membership")) {
                err().println(line);
            }
        }
        err().flush();
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).startsWith("txfs: ")) {
                    return lines.get(i).substring(6);
                }
            }
            return lines.isEmpty() ? "(empty log)" : lines.get(lines.size() - 1);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
