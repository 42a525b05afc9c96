package dev.txfs.tool;

import dev.txfs.fs.fuse.FuseMount;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code txfs umount}: sync, unmount, and wait for the daemon to finish. */
@Command(
        name = "umount",
        description = {
            "Unmount a txfs: the daemon syncs the live tree, the kernel lets go, the daemon exits.",
            "Also clears the mount of a daemon that died."
        })
final class UmountCommand extends BaseCommand {
    @Parameters(paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Override
    public Integer call() throws Exception {
        Path mp = mountpoint.toAbsolutePath().normalize();
        Mounts.TxfsMount m =
                Mounts.at(mp).orElseThrow(() -> new ToolException(ExitCode.NOT_FOUND, "no txfs is mounted at " + mp));
        Path socket = ControlSocket.pathFor(m.store(), m.mountpoint());
        Optional<ProcessHandle> daemon = Optional.empty();
        try {
            String pid = ControlSocket.call(socket, "unmount");
            daemon = ProcessHandle.of(Long.parseLong(pid.trim()));
        } catch (IOException e) {
            // No answer: the daemon died (clear its stale mount), or it exited right after
            // unmounting, before its reply reached us (nothing left to do).
            if (Mounts.at(mp).isPresent()) {
                try {
                    FuseMount.unmount(mp, false);
                } catch (IOException busy) {
                    FuseMount.unmount(mp, true);
                }
            }
        } catch (ToolException e) {
            throw new ToolException(ExitCode.FAILED, "cannot unmount " + mp + ": " + e.getMessage());
        }
        if (daemon.isPresent()) {
            daemon.get().onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (Mounts.at(mp).isPresent() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        if (Mounts.at(mp).isPresent()) {
            throw new ToolException(ExitCode.FAILED, "still mounted: " + mp);
        }
        return 0;
    }
}
