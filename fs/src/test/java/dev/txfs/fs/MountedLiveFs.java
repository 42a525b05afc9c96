package dev.txfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.txfs.fs.fuse.FuseMount;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.txn.LiveTree;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A LiveFs over an in-memory store, mounted through the real kernel in a test's temporary
 * directory (skipped without root and /dev/fuse); {@link #close} always unmounts.
 */
final class MountedLiveFs implements AutoCloseable {
    final InMemoryObjectStore store = new InMemoryObjectStore();
    final LiveTree live;
    final LiveFs fs;
    final Path mountpoint;
    private final FuseMount mount;

    MountedLiveFs(Path tmp) throws IOException {
        assumeTrue(
                Files.isWritable(Path.of("/dev/fuse")) && "root".equals(System.getProperty("user.name")),
                "needs root and /dev/fuse");
        live = LiveTree.open(store, Optional.empty(), () -> System.currentTimeMillis() * 1_000_000L);
        mountpoint = Files.createDirectory(tmp.resolve("mnt"));
        fs = new LiveFs(
                live,
                () -> System.currentTimeMillis() * 1_000_000L,
                () -> new FsOps.StatFs(1 << 20, 1 << 19, 1 << 19, 1 << 20, 1 << 19, 4096, 255),
                () -> {});
        mount = FuseMount.mount(fs, mountpoint, "txfs-test", false, 2, List.of());
    }

    /** Runs a bash script in the mount; it must succeed. Returns its output. */
    String sh(String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script)
                .directory(mountpoint.toFile())
                .redirectErrorStream(true)
                .start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + script);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), script + "\n" + out);
        return out;
    }

    dev.txfs.fs.fuse.FuseSession session() {
        return mount.session();
    }

    @Override
    public void close() throws IOException {
        mount.close();
    }
}
