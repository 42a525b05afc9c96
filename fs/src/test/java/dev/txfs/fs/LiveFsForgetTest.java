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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lookup counts through the real kernel: after the kernel drops its caches it has forgotten
 * every inode, and the inode table must be back to the root alone. Needs root and /dev/fuse.
 */
class LiveFsForgetTest {
    @TempDir
    Path tmp;

    private LiveFs fs;
    private FuseMount mount;
    private Path mp;

    @BeforeEach
    void mount() throws IOException {
        assumeTrue(
                Files.isWritable(Path.of("/dev/fuse")) && "root".equals(System.getProperty("user.name")),
                "needs root and /dev/fuse");
        LiveTree live = LiveTree.open(
                new InMemoryObjectStore(), Optional.empty(), () -> System.currentTimeMillis() * 1_000_000L);
        mp = Files.createDirectory(tmp.resolve("mnt"));
        fs = new LiveFs(
                live,
                () -> System.currentTimeMillis() * 1_000_000L,
                () -> new FsOps.StatFs(1 << 20, 1 << 19, 1 << 19, 1 << 20, 1 << 19, 4096, 255),
                () -> {});
        mount = FuseMount.mount(fs, mp, "txfs-test", false, 2, List.of());
    }

    @AfterEach
    void unmount() throws IOException {
        if (mount != null) {
            mount.close();
        }
    }

    private void sh(String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script)
                .directory(mp.toFile())
                .redirectErrorStream(true)
                .start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + script);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), script + "\n" + out);
    }

    /**
     * Regression: readdirplus entries that did not fit the kernel's buffer were counted as looked
     * up, so the kernel never forgot them and they stayed in the inode table for good.
     */
    @Test
    void readdirplus_whenLongNamesOverflowTheBuffer_everyInodeIsForgottenAfterDropCaches() throws Exception {
        sh("mkdir d && cd d && for i in $(seq 300); do : > \"$(printf 'n%.0s' $(seq 250))$i\"; done");
        sh("ls -l d > /dev/null && ls -l d > /dev/null && cd d && stat * > /dev/null");
        assertTrue(fs.inodesHeld() > 300, "held after listing: " + fs.inodesHeld());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (fs.inodesHeld() > 1 && System.nanoTime() < deadline) {
            sh("echo 2 > /proc/sys/vm/drop_caches");
            Thread.sleep(200);
        }
        assertEquals(1, fs.inodesHeld(), "only the root stays looked up");
    }
}
