package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.ObjectStore.StoreFormatException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's own files: modes whatever the umask (finding 4) and a truncated data.mdb (finding 14). */
final class StoreFilesTest {
    @TempDir
    Path tmp;

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private Path storeWithSnapshot() {
        Path dir = tmp.resolve("store");
        try (LmdbObjectStore s = LmdbObjectStore.create(dir, 1L << 30)) {
            try (ObjectWriter w = s.newWriter()) {
                for (int i = 0; i < 200; i++) {
                    w.put(Chunks.encode(SampleObjects.random(i, 4000), 0, 4000));
                }
                w.flush();
            }
        }
        return dir;
    }

    @Test
    void create_leavesNothingReadableByOthers() throws Exception {
        Path dir = storeWithSnapshot();
        assertEquals("rwx------", mode(dir));
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                assertEquals("rw-------", mode(f), f.toString());
            }
        }
    }

    /** Regression (issue 14, finding 4): a store made 0755/0644 by an older txfs stays readable to all. */
    @Test
    void open_whenStoreIsWorldReadable_tightensItAndSaysSoOnce() throws Exception {
        Path dir = storeWithSnapshot();
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Files.writeString(logs.resolve("boot.log"), "secret\n");
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.toList()) {
                Files.setPosixFilePermissions(
                        f, PosixFilePermissions.fromString(Files.isDirectory(f) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        Files.createSymbolicLink(dir.resolve("elsewhere"), tmp.resolve("outside"));
        Path outside = Files.writeString(tmp.resolve("outside"), "not the store's");
        Files.setPosixFilePermissions(outside, PosixFilePermissions.fromString("rw-r--r--"));

        List<String> notices = new ArrayList<>();
        LmdbObjectStore.open(dir, notices::add).close();
        assertEquals(1, notices.size(), notices.toString());
        assertTrue(notices.get(0).contains("readable by other users"), notices.get(0));
        assertEquals("rwx------", mode(dir));
        assertEquals("rw-------", mode(dir.resolve("data.mdb")));
        assertEquals("rw-------", mode(dir.resolve("lock.mdb")));
        assertEquals("rw-------", mode(dir.resolve(LmdbObjectStore.CONF)));
        assertEquals("rwx------", mode(logs));
        assertEquals("rw-------", mode(logs.resolve("boot.log")));
        assertEquals("rw-r--r--", mode(outside), "a symlink in the store is not followed");

        LmdbObjectStore.open(dir, notices::add).close();
        assertEquals(1, notices.size(), "said once: " + notices);
    }

    /** Regression (issue 14, finding 14): LMDB mapped the short file and the JVM died of SIGBUS. */
    @Test
    void open_whenDataFileIsTruncated_throwsStoreDamagedNamingTheSizes() throws Exception {
        Path dir = storeWithSnapshot();
        Path data = dir.resolve("data.mdb");
        long full = Files.size(data);
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.WRITE)) {
            ch.truncate(full / 2);
        }
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(dir));
        assertTrue(
                e.getMessage().startsWith("store damaged: data.mdb is " + full / 2 + " bytes, shorter than the "),
                e.getMessage());
    }

    @Test
    void open_whenDataFileIsShorterThanItsMetaPages_throwsStoreDamaged() throws Exception {
        Path dir = storeWithSnapshot();
        try (FileChannel ch = FileChannel.open(dir.resolve("data.mdb"), StandardOpenOption.WRITE)) {
            ch.truncate(5000);
        }
        var e = assertThrows(StoreFormatException.class, () -> LmdbObjectStore.open(dir));
        assertTrue(e.getMessage().startsWith("store damaged: data.mdb is 5000 bytes"), e.getMessage());
    }

    /**
     * Tightening must not open the files it changes: closing any descriptor of a file drops the
     * process's POSIX locks on it, and the daemon holds {@code live.lock} (one mount per store)
     * and every process {@code gc.lock} while it has the store open. A second process probes the
     * lock after a tightening open.
     */
    @Test
    void open_whileThisProcessHoldsALockInTheStore_keepsTheLock() throws Exception {
        Path dir = storeWithSnapshot();
        Path lockFile = dir.resolve("live.lock");
        Files.writeString(lockFile, "");
        Files.setPosixFilePermissions(lockFile, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path probe = Files.writeString(
                tmp.resolve("LockProbe.java"),
                "import java.nio.channels.FileChannel; import java.nio.file.*;\n"
                        + "class LockProbe { public static void main(String[] a) throws Exception {\n"
                        + " try (FileChannel c = FileChannel.open(Path.of(a[0]), StandardOpenOption.WRITE)) {\n"
                        + "  System.exit(c.tryLock() == null ? 3 : 0); } } }\n");
        String java = ProcessHandle.current().info().command().orElse("java");
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE);
                var held = ch.lock()) {
            List<String> notices = new ArrayList<>();
            LmdbObjectStore.open(dir, notices::add).close();
            assertEquals(1, notices.size(), "the store was tightened");
            assertEquals("rw-------", mode(lockFile));
            Process p = new ProcessBuilder(java, probe.toString(), lockFile.toString())
                    .inheritIO()
                    .start();
            assertEquals(3, p.waitFor(), "the lock is still held after the store was opened");
        }
    }
}
