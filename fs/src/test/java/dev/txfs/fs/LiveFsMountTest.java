package dev.txfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Verifier;
import dev.txfs.txn.LiveTree;
import org.junit.jupiter.api.Test;

/** The FUSE layer through the real kernel: a LiveFs over an in-memory store, driven by bash. */
class LiveFsMountTest extends MountedLiveFsTestBase {
    private String sh(String script) throws Exception {
        return m.sh(script);
    }

    @Test
    void shell_whenCreatingWritingAndListing_seesItsChanges() throws Exception {
        sh("mkdir -p a/b && echo hello > a/b/f && ln a/b/f a/g && ln -s b/f a/s && mkfifo a/p");
        assertEquals("hello\n", sh("cat a/b/f"));
        assertEquals("hello\n", sh("cat a/s"));
        assertEquals("2\n", sh("stat -c %h a/g"));
        assertEquals("b\ng\np\ns\n", sh("ls a"));
        sh("mv a/b a/c && rm a/g && truncate -s 3 a/c/f && setfattr -n user.k -v v a/c/f");
        assertEquals("hel", sh("cat a/c/f"));
        assertTrue(sh("getfattr -n user.k --only-values a/c/f").equals("v"));
        sh("dd if=/dev/urandom of=big bs=1M count=40 status=none && cp big big2 && cmp big big2 && sync big2");
        ObjectId root = m.live.sync();
        assertTrue(Verifier.verifySnapshot(
                        m.store, m.store.refs().find(LiveTree.REF).orElseThrow(), x -> {})
                .clean());
        assertTrue(root != null);
    }
}
