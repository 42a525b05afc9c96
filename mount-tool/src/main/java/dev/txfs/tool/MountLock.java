package dev.txfs.tool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * One mount per store: the daemon serving a store's live tree holds a POSIX lock on {@code
 * live.lock} in the store for its lifetime, with its pid and mount point written in the file. Two
 * daemons would each keep a live tree in memory and overwrite each other's {@code live} ref. The
 * lock goes with the process, so a daemon killed with SIGKILL leaves nothing to clean up.
 */
final class MountLock implements AutoCloseable {
    static final String FILE = "live.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private MountLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the store's lock for the daemon serving {@code mountpoint}, or fails naming the holder. */
    static MountLock acquire(Path storeDir, Path mountpoint) throws IOException {
        FileChannel ch = FileChannel.open(
                storeDir.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock l = ch.tryLock();
        if (l == null) {
            String who = describe(ch);
            ch.close();
            throw busy(storeDir, who);
        }
        ch.truncate(0);
        ch.write(
                ByteBuffer.wrap(
                        (ProcessHandle.current().pid() + " " + mountpoint + "\n").getBytes(StandardCharsets.UTF_8)),
                0);
        return new MountLock(ch, l);
    }

    /** Who holds the lock now (pid and mount point), if anyone: for a clear error before starting a daemon. */
    static Optional<String> holder(Path storeDir) throws IOException {
        Path file = storeDir.resolve(FILE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l != null) {
                l.release();
                return Optional.empty();
            }
            return Optional.of(describe(ch));
        }
    }

    static ToolException busy(Path storeDir, String who) {
        return new ToolException(
                ExitCode.STORE,
                "the store " + storeDir + " is already mounted (" + who + "): one mount per store; unmount it first");
    }

    private static String describe(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096);
        ch.read(b, 0);
        String[] f = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8)
                .strip()
                .split(" ", 2);
        return f.length == 2 ? "daemon pid " + f[0] + " at " + f[1] : "by another process";
    }

    @Override
    public void close() throws IOException {
        lock.release();
        channel.close();
    }
}
