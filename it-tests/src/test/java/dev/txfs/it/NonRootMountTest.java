package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A user who is not root mounts a store of their own through fusermount3, works in it, records a
 * snapshot from inside, and unmounts. /dev/fuse is 0666 on a standard Debian; where a sandbox
 * has it 0600, the test opens it up for its duration and restores the mode afterwards.
 */
class NonRootMountTest extends TxfsItBase {
    private static final String USER = "nobody";
    private static Path dir;
    private static String fuseMode;

    @BeforeAll
    static void setUp() throws Exception {
        assumeTrue(isRoot() && has("fusermount3") && has("runuser"), "needs root (to become nobody) and fusermount3");
        fuseMode = sh("stat -c %a /dev/fuse").ok().out().strip();
        sh("chmod 0666 /dev/fuse").ok();
        dir = tempDir("txfs-nonroot");
        sh("mkdir -p \"$1/mp\" && chmod 0755 \"$1\" && chown -R " + USER + " \"$1\"", dir.toString())
                .ok();
    }

    @AfterAll
    static void tearDown() {
        if (dir != null) {
            sh("grep -q \" $1/mp \" /proc/mounts && umount -l \"$1/mp\" || true", dir.toString());
            removeTree(dir);
        }
        if (fuseMode != null) {
            sh("chmod " + fuseMode + " /dev/fuse");
        }
    }

    /** bin/txfs as the user, with a home of its own. */
    private static Result asUser(String script) {
        return sh(
                "cd \"$1\" && runuser -u " + USER + " -- env HOME=\"$1\" TXFS_STORE=\"$1/store\" TXFS=\"$2\" bash -c '"
                        + script + "'",
                dir.toString(),
                TXFS.toString());
    }

    @Test
    void mount_whenUserIsNotRoot_mountsThroughFusermountAndServesTheUser() {
        asUser("$TXFS init").ok();
        asUser("$TXFS mount \"$HOME/mp\"").ok();
        try {
            assertTrue(
                    sh("grep \" $1/mp \" /proc/mounts", dir.toString())
                            .ok()
                            .out()
                            .contains("user_id=65534"),
                    "mounted by fusermount3 for the user");
            asUser("echo hello > mp/greeting && mkdir mp/d && ln mp/greeting mp/d/again")
                    .ok();
            assertEquals("hello\n", asUser("cat mp/d/again").ok().out());
            assertEquals("2\n", asUser("stat -c %h mp/greeting").ok().out());
            assertEquals(USER, asUser("stat -c %U mp").ok().out().strip(), "the empty store's root is the user's");
            String id = asUser("cd mp && $TXFS snapshot -m \"from inside\"")
                    .ok()
                    .out()
                    .strip();
            assertTrue(id.matches("[0-9a-f]{64}"), id);
            assertTrue(asUser("$TXFS log").ok().out().contains("from inside"));
        } finally {
            asUser("$TXFS umount \"$HOME/mp\"").ok();
        }
        assertFalse(sh("cat /proc/mounts").ok().out().contains(dir + "/mp "), "unmounted");
        asUser("$TXFS verify").ok();
    }
}
