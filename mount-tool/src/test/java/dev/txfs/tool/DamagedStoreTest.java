package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;

/** Commands on a store whose files are damaged: one clear line and the store exit code. */
final class DamagedStoreTest extends CliTestBase {
    /**
     * Regression (issue 14, finding 14): LMDB mapped a truncated data.mdb as if whole; the first
     * read of a page past its end killed the JVM with SIGBUS (cut to 3 pages: exit 134), and a
     * command that read only early pages (cut in half, as here) went on as if nothing were wrong.
     */
    @Test
    void log_whenDataFileIsTruncated_exitsStoreWithTheSizes() throws Exception {
        assertEquals(0, inStore("init").exit());
        Path src = Files.createDirectories(tmp.resolve("src"));
        for (int i = 0; i < 50; i++) {
            Files.write(src.resolve("f" + i), new byte[20_000 + i]);
        }
        assertEquals(
                0,
                inStore("snapshot", "--from-dir", src.toString(), "-m", "one").exit());
        Path data = store.resolve("data.mdb");
        long full = Files.size(data);
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.WRITE)) {
            ch.truncate(full / 2);
        }
        Run r = inStore("log");
        assertEquals(ExitCode.STORE.code, r.exit(), r.err());
        assertTrue(
                r.err().startsWith("txfs: store damaged: data.mdb is " + full / 2 + " bytes, shorter than the "),
                r.err());
        assertEquals(full / 2, Files.size(data), "nothing written");
    }
}
