package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Every snapshot read-only at {@code /.txfs/snapshots/<id>/} inside the mount: the same bytes,
 * names, links and modes as a checkout of it, by full id, prefix or ref; writes refused with EROFS;
 * the live tree untouched while the old version is read next to it.
 */
class SnapshotBrowseTest extends TransactionItBase {
    @Test
    void snapshots_areBrowsableReadOnlyAndEqualToACheckout() throws Exception {
        Path d = dir("browse");
        bashIn(d, """
                head -c 3000000 /dev/urandom > big
                echo one > a
                mkdir -p sub/deeper && echo deep > sub/deeper/f
                ln -s a link && ln a hard
                chmod 640 a
                """).ok();
        String sum = bashIn(d, "sha256sum big | cut -c1-64").ok().out().strip();
        String first = bashIn(d, "\"$1\" snapshot -m browse-first", TXFS.toString())
                .ok()
                .out()
                .strip();
        bashIn(d, "echo two > a && rm -r sub && echo new > new").ok();
        String liveBefore = liveTree();

        Path snap = mp.resolve(".txfs/snapshots").resolve(first).resolve("browse");
        assertEquals("one\n", Files.readString(snap.resolve("a")));
        assertEquals("deep\n", Files.readString(snap.resolve("sub/deeper/f")));
        assertEquals(sum, bashIn(snap, "sha256sum big | cut -c1-64").ok().out().strip());
        assertEquals("a\n", bashIn(snap, "readlink link").ok().out());
        assertEquals("2 640\n", bashIn(snap, "stat -c '%h %a' hard").ok().out());
        Path byPrefix =
                mp.resolve(".txfs/snapshots").resolve(first.substring(0, 10)).resolve("browse");
        assertEquals("one\n", Files.readString(byPrefix.resolve("a")));
        assertEquals(
                "two\n", Files.readString(mp.resolve(".txfs/snapshots/live/browse/a")), "a ref names its snapshot");
        assertTrue(bashIn(mp, "ls .txfs/snapshots").ok().out().contains(first), "listed by id");

        // the same as a checkout of the snapshot, byte for byte, with modes and links
        Path out = tempDir("txfs-browse");
        try {
            txfs(
                            "--store",
                            store.toString(),
                            "checkout",
                            first,
                            out.resolve("co").toString())
                    .ok();
            Result diff = sh(
                    "diff -r --no-dereference \"$1\" \"$2\"",
                    out.resolve("co/browse").toString(),
                    snap.toString());
            assertEquals(0, diff.exit(), diff::describe);
        } finally {
            removeTree(out);
        }

        Result writes = py(snap, PY_ERR + """
                print(err(lambda: open('a', 'w')), err(lambda: open('n', 'x')), err(lambda: os.mkdir('m')),
                      err(lambda: os.unlink('a')), err(lambda: os.rename('a', 'b')), err(lambda: os.chmod('a', 0o600)),
                      err(lambda: os.symlink('a', 's')), err(lambda: os.setxattr('a', 'user.k', b'v')))
                """).ok();
        assertEquals("EROFS EROFS EROFS EROFS EROFS EROFS EROFS EROFS\n", writes.out());
        assertEquals("two\n", Files.readString(d.resolve("a")), "the live file is its own");
        assertEquals(liveBefore, liveTree(), "browsing changed nothing");
        Result missing =
                sh("ls \"$1\"", mp.resolve(".txfs/snapshots/0000nonexistent").toString());
        assertTrue(missing.stderr().contains("No such file"), missing::describe);
    }
}
