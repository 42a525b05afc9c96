package dev.txfs.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.txfs.fs.fuse.FuseMount;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Verifier;
import dev.txfs.txn.LiveTree;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The FUSE layer through the real kernel: a LiveFs over an in-memory store, driven by bash. */
class LiveFsMountTest {
    @TempDir
    Path tmp;

    private InMemoryObjectStore store;
    private LiveTree live;
    private FuseMount mount;
    private Path mp;

    @BeforeEach
    void mount() throws IOException {
        assumeTrue(
                Files.isWritable(Path.of("/dev/fuse")) && "root".equals(System.getProperty("user.name")),
                "needs root and /dev/fuse");
        store = new InMemoryObjectStore();
        live = LiveTree.open(store, Optional.empty(), () -> System.currentTimeMillis() * 1_000_000L);
        mp = Files.createDirectory(tmp.resolve("mnt"));
        LiveFs fs = new LiveFs(
                live,
                () -> System.currentTimeMillis() * 1_000_000L,
                () -> new FsOps.StatFs(1 << 20, 1 << 19, 1 << 19, 1 << 20, 1 << 19, 4096, 255),
                () -> {});
        mount = FuseMount.mount(fs, mp, "txfs-test", false, 2, List.of());
    }

    @AfterEach
    void unmount() throws IOException {
        if (mount != null) {
            mount.close();
        }
    }

    private String sh(String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script)
                .directory(mp.toFile())
                .redirectErrorStream(true)
                .start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + script);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), script + "\n" + out);
        return out;
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
        ObjectId root = live.sync();
        assertTrue(
                Verifier.verifySnapshot(store, store.refs().find(LiveTree.REF).orElseThrow(), x -> {})
                        .clean());
        assertTrue(root != null);
    }
}
