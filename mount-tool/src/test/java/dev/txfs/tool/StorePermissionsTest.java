package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.txfs.fs.posix.Posix;
import dev.txfs.snapshot.LmdbObjectStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression (issue 14, finding 4): the store was made with the umask's modes, so with umask 000
 * (or 022) any user read a root-only file straight out of {@code data.mdb}.
 */
final class StorePermissionsTest {
    @TempDir
    Path tmp;

    /** Runs {@code cat FILE} as nobody; its exit code. */
    private static int catAsNobody(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(
                        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", file.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        assertEquals(true, p.waitFor(30, TimeUnit.SECONDS), "cat as nobody did not finish");
        return p.exitValue();
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void init_underUmask000_leavesDataFileUnreadableToNobody() throws Exception {
        assumeTrue(StoreLocator.effectiveUid() == 0, "needs root (runs cat as nobody)");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path dir = tmp.resolve("store");
        Posix posix = Posix.get();
        int old = posix.umask(0);
        try {
            LmdbObjectStore.create(dir, 1L << 30).close();
            Path log = Daemon.createLog(dir, tmp.resolve("mnt"));
            assertEquals("rw-------", mode(log));
            assertEquals("rwx------", mode(log.getParent()));
        } finally {
            posix.umask(old);
        }
        assertEquals("rwx------", mode(dir));
        assertEquals("rw-------", mode(dir.resolve("data.mdb")));
        Path probe = Files.writeString(tmp.resolve("probe"), "readable");
        assertEquals(0, catAsNobody(probe), "the probe shows nobody can run cat here");
        assertNotEquals(0, catAsNobody(dir.resolve("data.mdb")));
    }
}
