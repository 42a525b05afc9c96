package dev.txfs.fs;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableTree;
import org.junit.jupiter.api.Test;

/**
 * Cache invalidation through the real kernel: the tree changes behind the kernel's back (as a
 * rollback or a commit will change it), the kernel keeps serving its cached pages and names, and
 * the notifications make it see the change.
 */
class InvalidationTest extends MountedLiveFsTestBase {
    /** Runs {@code script} until it prints {@code expected} or 5 s pass; returns the last output. */
    private String awaitOutput(String script, String expected) throws Exception {
        String out = "";
        for (int i = 0; i < 50 && !out.equals(expected); i++) {
            out = m.sh(script);
            if (!out.equals(expected)) {
                Thread.sleep(100);
            }
        }
        return out;
    }

    @Test
    void invalidateInode_whenContentChangedBehindTheKernel_readsTheNewContent() throws Exception {
        // Write, then read twice: the second read leaves fresh attributes (valid 60 s) and cached pages.
        assertEquals("old\nold\n", m.sh("echo old > f && cat f > /dev/null && cat f && stat f > /dev/null && cat f"));
        MutableTree tree = m.live.tree();
        long ino;
        synchronized (m.live.lock()) {
            MutableNode.File f = (MutableNode.File) tree.get("/f");
            byte[] now = "new content\n".getBytes(UTF_8);
            tree.truncate(f, 0);
            tree.write(f, 0, now, 0, now.length);
            ino = m.fs.inoOf(f);
        }
        assertEquals("old\n", m.sh("cat f"), "precondition: the kernel serves its cached page and size");
        m.session().invalidateInode(ino, 0, 0);
        assertEquals("new content\n", awaitOutput("cat f", "new content\n"));
    }

    @Test
    void invalidateEntry_whenANameMovedBehindTheKernel_theOldNameIsGone() throws Exception {
        m.sh("echo x > f && cat f > /dev/null");
        synchronized (m.live.lock()) {
            tree().rename(
                            tree().root(),
                            "f".getBytes(UTF_8),
                            tree().root(),
                            "g".getBytes(UTF_8),
                            MutableTree.RenameMode.REPLACE);
        }
        assertEquals("x\n", m.sh("cat f"), "precondition: the kernel still has the name cached");
        m.session().invalidateEntry(FsOps.ROOT, "f".getBytes(UTF_8));
        String out = awaitOutput("cat f 2>/dev/null || echo gone", "gone\n");
        assertEquals("gone\n", out);
        assertTrue(m.sh("cat g").equals("x\n"));
    }

    private MutableTree tree() {
        return m.live.tree();
    }
}
