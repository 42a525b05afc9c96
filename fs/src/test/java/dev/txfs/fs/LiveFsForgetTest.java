package dev.txfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Lookup counts through the real kernel: after the kernel drops its caches it has forgotten
 * every inode, and the inode table must be back to the root alone. Needs root and /dev/fuse.
 */
class LiveFsForgetTest extends MountedLiveFsTestBase {
    /**
     * Regression: readdirplus entries that did not fit the kernel's buffer were counted as looked
     * up, so the kernel never forgot them and they stayed in the inode table for good.
     */
    @Test
    void readdirplus_whenLongNamesOverflowTheBuffer_everyInodeIsForgottenAfterDropCaches() throws Exception {
        m.sh("mkdir d && cd d && for i in $(seq 300); do : > \"$(printf 'n%.0s' $(seq 250))$i\"; done");
        m.sh("ls -l d > /dev/null && ls -l d > /dev/null && cd d && stat * > /dev/null");
        assertTrue(m.fs.inodesHeld() > 300, "held after listing: " + m.fs.inodesHeld());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (m.fs.inodesHeld() > 1 && System.nanoTime() < deadline) {
            m.sh("echo 2 > /proc/sys/vm/drop_caches");
            Thread.sleep(200);
        }
        assertEquals(1, m.fs.inodesHeld(), "only the root stays looked up");
    }
}
