package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code txfs snapshot -x}: a filesystem mounted inside the source is recorded as an empty directory. */
class OneFileSystemTest extends TxfsItBase {
    private Path work;
    private Path mountpoint;
    private boolean mounted;

    @BeforeEach
    void mountTmpfsInsideTheSource() throws Exception {
        assumeTrue(isRoot(), "mounting a tmpfs needs root");
        work = tempDir("txfs-it-xdev");
        mountpoint = work.resolve("src/mnt");
        sh("mkdir -p \"$1\" && echo outer > \"$1/../outer\"", mountpoint.toString())
                .ok();
        mounted = sh("mount -t tmpfs txfs-it \"$1\"", mountpoint.toString()).exit() == 0;
        assumeTrue(mounted, "cannot mount a tmpfs here");
        sh("echo inner > \"$1/inner\" && chmod 0750 \"$1\"", mountpoint.toString())
                .ok();
        txfs("--store", work.resolve("store").toString(), "init").ok();
    }

    @AfterEach
    void unmountAndRemove() {
        if (mounted) {
            sh("umount \"$1\"", mountpoint.toString());
        }
        removeTree(work);
    }

    @Test
    void snapshot_whenOneFileSystem_recordsTheMountPointEmpty() {
        String store = work.resolve("store").toString();
        String id = txfs(
                        "--store",
                        store,
                        "snapshot",
                        "-x",
                        "--from-dir",
                        work.resolve("src").toString())
                .ok()
                .out()
                .strip();
        Path out = work.resolve("out");
        txfs("--store", store, "checkout", id, out.toString()).ok();

        assertEquals("outer\n", sh("cat \"$1/outer\"", out.toString()).ok().out());
        assertEquals("750\n", sh("stat -c %a \"$1/mnt\"", out.toString()).ok().out());
        assertEquals("", sh("ls -A \"$1/mnt\"", out.toString()).ok().out());
    }

    @Test
    void snapshot_whenNotOneFileSystem_descendsIntoTheMount() {
        String store = work.resolve("store").toString();
        String id = txfs(
                        "--store",
                        store,
                        "snapshot",
                        "--from-dir",
                        work.resolve("src").toString())
                .ok()
                .out()
                .strip();
        String show = txfs("--store", store, "show", id).ok().out();
        assertTrue(show.contains("entries   3: 2 files, 1 directories"), show);
    }
}
