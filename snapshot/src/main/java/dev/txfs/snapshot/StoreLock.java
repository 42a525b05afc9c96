package dev.txfs.snapshot;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Who may delete objects: a POSIX lock on {@code gc.lock} in the store directory. Every process
 * that has the store open holds it shared; garbage collection holds it exclusive, so it runs only
 * when no other process could be about to reference an object it deletes (an importer that found
 * an object present and skipped writing it, a second mount with chunks not yet in any root).
 *
 * <p>POSIX locks belong to a process, and closing any descriptor of the file drops them all; so
 * there is one channel per store directory per JVM, shared by every {@link LmdbObjectStore} of
 * that directory in it, with a count of holders.
 */
final class StoreLock {
    private static final Map<Path, StoreLock> OPEN = new HashMap<>();
    static final String FILE = "gc.lock";

    private final Path file;
    private final FileChannel channel;
    private FileLock lock;
    private int holders;

    private StoreLock(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Takes the shared lock of {@code dir} for one holder; waits while a collection runs. */
    static StoreLock acquireShared(Path dir) {
        Path key = dir.toAbsolutePath().normalize();
        synchronized (OPEN) {
            StoreLock l = OPEN.get(key);
            try {
                if (l == null) {
                    Path file = key.resolve(FILE);
                    l = new StoreLock(
                            file,
                            FileChannel.open(
                                    file,
                                    StandardOpenOption.CREATE,
                                    StandardOpenOption.READ,
                                    StandardOpenOption.WRITE));
                    OPEN.put(key, l);
                }
                if (l.holders == 0) {
                    l.lock = l.channel.lock(0, Long.MAX_VALUE, true);
                }
                l.holders++;
                return l;
            } catch (IOException | OverlappingFileLockException e) {
                throw new TxfsException("cannot lock " + key.resolve(FILE) + ": " + e.getMessage(), e);
            }
        }
    }

    /** Drops one holder; the last one releases the lock and closes the file. */
    void release() {
        synchronized (OPEN) {
            if (--holders > 0) {
                return;
            }
            try {
                channel.close(); // releases the lock
            } catch (IOException e) {
                // closing drops the lock either way
            }
            OPEN.remove(file.getParent());
        }
    }

    /** The store is in use by another process: garbage collection cannot run now. */
    public static final class BusyException extends TxfsException {
        BusyException(String message) {
            super(message);
        }
    }

    /**
     * Runs {@code body} holding the lock exclusive: converts this process's shared lock, waiting up
     * to {@code wait} for other processes to let go of theirs. The caller makes sure nothing else in
     * this process uses the store meanwhile.
     */
    <T> T exclusive(Duration wait, Callable<T> body) throws Exception {
        synchronized (OPEN) {
            long deadline = System.nanoTime() + wait.toNanos();
            lock.release();
            FileLock ex;
            try {
                while ((ex = channel.tryLock(0, Long.MAX_VALUE, false)) == null) {
                    if (System.nanoTime() > deadline) {
                        throw new BusyException("the store is open in another process (another mount of it, or a"
                                + " txfs command still running); garbage collection needs it alone; try again");
                    }
                    Thread.sleep(50);
                }
            } catch (Exception e) {
                lock = channel.lock(0, Long.MAX_VALUE, true);
                throw e;
            }
            try {
                return body.call();
            } finally {
                ex.release();
                lock = channel.lock(0, Long.MAX_VALUE, true);
            }
        }
    }
}
