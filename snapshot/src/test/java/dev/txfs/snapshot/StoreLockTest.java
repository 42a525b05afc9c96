package dev.txfs.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreLockTest {
    @TempDir
    Path dir;

    /** Another process holding the store's lock shared, as an open store in it would (POSIX lockf). */
    private Process holder(Path store) throws Exception {
        Process p = new ProcessBuilder(
                        "python3",
                        "-c",
                        "import fcntl, sys, time\n"
                                + "f = open(sys.argv[1], 'r')\n"
                                + "fcntl.lockf(f, fcntl.LOCK_SH)\n"
                                + "print('locked', flush=True)\n"
                                + "time.sleep(60)\n",
                        store.resolve(StoreLock.FILE).toString())
                .redirectErrorStream(true)
                .start();
        assertEquals('l', p.getInputStream().read(), "the holder took the lock");
        return p;
    }

    @Test
    void exclusive_whenAnotherProcessHasTheStoreOpen_failsBusyAndThenSucceedsOnceItIsGone() throws Exception {
        Path store = dir.resolve("s");
        try (LmdbObjectStore s = LmdbObjectStore.create(store, 1 << 24)) {
            Process p = holder(store);
            try {
                StoreLock.BusyException e =
                        assertThrows(StoreLock.BusyException.class, () -> s.exclusive(Duration.ofMillis(300), () -> 1));
                assertTrue(e.getMessage().contains("open in another process"), e.getMessage());
            } finally {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            assertEquals(42, s.exclusive(Duration.ofSeconds(5), () -> 42));
            assertTrue(Files.exists(store.resolve(StoreLock.FILE)));
        }
    }

    @Test
    void open_whenTheSameStoreIsOpenTwiceInOneProcess_bothWorkAndExclusiveStillRuns() throws Exception {
        Path store = dir.resolve("s");
        try (LmdbObjectStore a = LmdbObjectStore.create(store, 1 << 24);
                LmdbObjectStore b = LmdbObjectStore.open(store)) {
            assertEquals("ok", a.exclusive(Duration.ofSeconds(1), () -> "ok"));
            b.refs().list("");
        }
        try (LmdbObjectStore again = LmdbObjectStore.open(store)) {
            assertEquals(0, again.refs().list("").size());
        }
    }
}
