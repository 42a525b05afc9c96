package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.TreeLimits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, findings 6 and 11: a directory deeper than {@link TreeLimits#MAX_DEPTH} is refused by
 * {@code snapshot --from-dir} with one line, recording nothing; one exactly at the limit is
 * recorded, and show, diff --stat, verify, gc and du work on it on a default thread stack (the
 * CLI's main thread has one).
 */
class DeepTreeCommandsTest extends CliTestBase {
    private Path src;

    @BeforeEach
    void initStore() throws Exception {
        src = Files.createDirectories(tmp.resolve("src"));
        assertEquals(0, inStore("init").exit());
    }

    /** Removes the source deepest first (JUnit's own clean-up of a 1,000-deep directory takes half a minute). */
    @AfterEach
    void removeSource() throws Exception {
        try (Stream<Path> all = Files.walk(src)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** {@code levels} nested directories "d" under the source; returns the deepest. */
    private Path chain(int levels) throws Exception {
        return Files.createDirectories(src.resolve("d/".repeat(levels)));
    }

    /** A txfs command run on a new thread with the JVM's default stack size. */
    private Run onDefaultStack(String... args) throws Exception {
        AtomicReference<Run> run = new AtomicReference<>();
        Thread t = new Thread(() -> run.set(inStore(args)));
        t.start();
        t.join();
        return run.get();
    }

    @Test
    void snapshotFromDir_deeperThanTheLimit_failsWithOneLineAndRecordsNothing() throws Exception {
        chain(TreeLimits.MAX_DEPTH + 1);
        Run r = onDefaultStack("snapshot", "--from-dir", src.toString(), "-m", "too deep");
        assertEquals(ExitCode.USAGE.code, r.exit(), r.err());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().contains("too deep") && r.err().contains("nothing recorded"), r.err());
        Run log = inStore("log", "--oneline");
        assertEquals("", log.out().strip(), "no snapshot recorded: " + log.out() + log.err());
    }

    @Test
    void showDiffVerifyGcAndDu_ofASnapshotAtTheLimit_workOnADefaultStack() throws Exception {
        Path bottom = chain(TreeLimits.MAX_DEPTH);
        Files.writeString(bottom.getParent().resolve("f"), "at the limit");
        Run first = onDefaultStack("snapshot", "--from-dir", src.toString(), "-m", "first");
        assertEquals(0, first.exit(), first.err());
        Files.writeString(bottom.getParent().resolve("g"), "also at the limit");
        Run second = onDefaultStack("snapshot", "--from-dir", src.toString(), "-m", "second");
        assertEquals(0, second.exit(), second.err());

        Run show = onDefaultStack("show", "HEAD");
        assertEquals(0, show.exit(), show.err());
        assertTrue(show.out().contains(TreeLimits.MAX_DEPTH + " directories"), show.out());
        Run diff = onDefaultStack(
                "diff", "--stat", first.out().strip(), second.out().strip());
        assertEquals(0, diff.exit(), diff.err());
        assertTrue(diff.out().contains("1 added"), diff.out());
        Run verify = onDefaultStack("verify");
        assertEquals(0, verify.exit(), verify.err());
        assertTrue(verify.out().startsWith("ok: "), verify.out());
        Run gc = onDefaultStack("gc");
        assertEquals(0, gc.exit(), gc.err());
        Run du = onDefaultStack("du");
        assertEquals(0, du.exit(), du.err());
    }
}
