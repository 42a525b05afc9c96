package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A directory at different places in the live tree and in a transaction, through the kernel: the
 * kernel keeps one dentry per directory inode, so each view must reach such a directory through an
 * inode of its own, or the dentry moves to whichever view looked last and the kernel's checks that
 * walk dentries (rename into a subdirectory of itself, getcwd) answer for the wrong view
 * (RELIABILITY.md, bug 2).
 */
class DirectoryViewsTest extends TransactionItBase {
    /** Python: renames argv[1] to argv[2] and prints the errno name, or ok. */
    private static final String RENAME = PY_ERR + "print(err(lambda: os.rename(sys.argv[1], sys.argv[2])))\n";

    /** Inode numbers of the paths given, one per line. */
    private static List<String> inos(Path cwd, String... paths) {
        StringBuilder script = new StringBuilder();
        for (int i = 1; i <= paths.length; i++) {
            script.append("stat -c %i \"$").append(i).append("\"\n");
        }
        return bashIn(cwd, script.toString(), paths).ok().out().lines().toList();
    }

    private static String pwdIn(Path d) {
        return bashIn(d, "/bin/pwd -P").ok().out().strip();
    }

    /**
     * Bug 2, the shrunk sequence of seed 2314198899077360591: the live tree moves sh/f into sh/d
     * while a transaction still has it at sh/f, the transaction looks it up there, then a live
     * rename of sh/d into sh/d/d must answer EINVAL (it answered ESTALE).
     */
    @Test
    void liveRenameIntoItsOwnSubdirectory_afterATransactionLookedUpTheOldPlace_isEinval() throws Exception {
        Path d = dir("dirviews-live");
        Files.createDirectories(d.resolve("sh/d"));
        Files.createDirectories(d.resolve("sh/f/g"));
        Files.writeString(d.resolve("sh/f/g/x"), "base\n");
        List<String> liveBefore = inos(d, "sh/f", "sh/f/g");
        Path w = tempDir("txfs-dirviews");
        try {
            Process p = shell(w, """
                    cd "$M/dirviews-live"
                    "$T" begin > /dev/null
                    stat -c %i sh/f sh/f/g > "$W/ino-before"
                    touch "$W/begun"
                    while [ ! -e "$W/moved" ]; do sleep 0.02; done
                    ls -A sh > "$W/ls-sh"
                    ls -A sh/d > "$W/ls-d"
                    stat -c %i sh/f sh/f/g > "$W/ino-after"
                    cat sh/f/g/x > "$W/x"
                    (cd sh/f/g && /bin/pwd -P) > "$W/pwd"
                    touch "$W/looked"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    ls -A sh/d > "$W/ls-d-2"
                    (cd sh/f/g && /bin/pwd -P) > "$W/pwd-2"
                    "$T" abort
                    """);
            await(w.resolve("begun"), p);
            assertEquals(
                    liveBefore,
                    Files.readAllLines(w.resolve("ino-before")),
                    "precondition: before the move the transaction shares the live directories' inodes");

            bashIn(d, "mv sh/f sh/d/d").ok();
            Files.createFile(w.resolve("moved"));
            await(w.resolve("looked"), p);

            assertEquals(
                    "EINVAL",
                    py(d, RENAME, "sh/d", "sh/d/d").ok().out().strip(),
                    "outside: a directory into its own subdirectory");
            List<String> liveAfter = inos(d, "sh/d/d", "sh/d/d/g");
            assertEquals(liveBefore, liveAfter, "outside, the moved directories keep their inodes");
            List<String> inside = Files.readAllLines(w.resolve("ino-after"));
            for (int i = 0; i < 2; i++) {
                assertNotEquals(
                        liveAfter.get(i),
                        inside.get(i),
                        "inside, an inode of its own for "
                                + List.of("sh/f", "sh/f/g").get(i));
            }
            assertEquals("d\n", bashIn(d, "ls -A sh").ok().out(), "outside: sh holds d only");
            assertEquals("d\n", bashIn(d, "ls -A sh/d").ok().out(), "outside: sh/d holds d");
            assertEquals("base\n", Files.readString(d.resolve("sh/d/d/g/x")));
            assertEquals(d.resolve("sh/d/d/g").toString(), pwdIn(d.resolve("sh/d/d/g")), "outside: getcwd");
            assertEquals("d\nf\n", Files.readString(w.resolve("ls-sh")), "inside: sh as at begin");
            assertEquals("", Files.readString(w.resolve("ls-d")), "inside: sh/d empty as at begin");
            assertEquals("base\n", Files.readString(w.resolve("x")), "inside: a file through the moved directory");
            assertEquals(d.resolve("sh/f/g") + "\n", Files.readString(w.resolve("pwd")), "inside: getcwd");

            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertEquals(
                    "", Files.readString(w.resolve("ls-d-2")), "inside, after the outside checks: sh/d still empty");
            assertEquals(d.resolve("sh/f/g") + "\n", Files.readString(w.resolve("pwd-2")), "inside, after: getcwd");
            assertEquals(d.resolve("sh/d/d/g").toString(), pwdIn(d.resolve("sh/d/d/g")), "outside, after: getcwd");
        } finally {
            removeTree(w);
        }
    }

    /**
     * The other way round: the transaction moves a directory the live tree keeps in place. Each
     * view finds it at its own place (getcwd included), a rename into itself is EINVAL in both, and
     * after the commit the live tree has it where the transaction put it.
     */
    @Test
    void transactionMovesADirectory_eachViewFindsItAtItsOwnPlace_thenCommit() throws Exception {
        Path d = dir("dirviews-txn");
        Files.createDirectories(d.resolve("m/a/sub"));
        Files.createDirectories(d.resolve("m/b"));
        Files.writeString(d.resolve("m/a/sub/x"), "x\n");
        List<String> liveBefore = inos(d, "m/a", "m/a/sub");
        Path w = tempDir("txfs-dirviews");
        Path lw = tempDir("txfs-dirviews-live");
        try {
            Files.writeString(w.resolve("rename.py"), RENAME);
            // A live process whose cwd is m/a/sub throughout: getcwd walks the kernel's dentries.
            Process liveShell = shell(lw, """
                    cd "$M/dirviews-txn/m/a/sub"
                    touch "$W/in"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    /bin/pwd -P > "$W/pwd"
                    """);
            await(lw.resolve("in"), liveShell);
            Process p = shell(w, """
                    cd "$M/dirviews-txn"
                    "$T" begin > /dev/null
                    stat -c %i m/a m/a/sub > "$W/ino-before"
                    mv m/a m/b/a
                    stat -c %i m/b/a m/b/a/sub > "$W/ino-after"
                    ls -A m > "$W/ls-m"
                    (cd m/b/a/sub && /bin/pwd -P) > "$W/pwd"
                    touch "$W/moved"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    ls -A m/b/a/sub > "$W/ls-sub"
                    (cd m/b/a/sub && /bin/pwd -P) > "$W/pwd-2"
                    python3 "$W/rename.py" m/b m/b/a/sub/b > "$W/einval"
                    "$T" commit > /dev/null
                    """);
            await(w.resolve("moved"), p);
            // First, while the kernel's dentries are as the transaction's last lookups left them.
            Files.createFile(lw.resolve("go"));
            finish(liveShell, lw);
            assertEquals(
                    d.resolve("m/a/sub") + "\n",
                    Files.readString(lw.resolve("pwd")),
                    "outside: getcwd of a cwd held throughout");
            assertEquals(
                    "EINVAL",
                    py(d, RENAME, "m/a", "m/a/sub/a").ok().out().strip(),
                    "outside: a directory into its own subdirectory");
            assertEquals(d.resolve("m/a/sub").toString(), pwdIn(d.resolve("m/a/sub")), "outside: getcwd");
            assertEquals(
                    liveBefore,
                    Files.readAllLines(w.resolve("ino-before")),
                    "precondition: before the move the transaction shares the live directories' inodes");
            List<String> inside = Files.readAllLines(w.resolve("ino-after"));
            assertNotEquals(liveBefore.get(0), inside.get(0), "inside, the moved directory has an inode of its own");
            assertNotEquals(liveBefore.get(1), inside.get(1), "inside, so has the directory below it");
            assertEquals("b\n", Files.readString(w.resolve("ls-m")), "inside: m holds b only");
            assertEquals(d.resolve("m/b/a/sub") + "\n", Files.readString(w.resolve("pwd")), "inside: getcwd");

            assertEquals(liveBefore, inos(d, "m/a", "m/a/sub"), "outside: the live directories as they were");
            assertEquals("a\nb\n", bashIn(d, "ls -A m").ok().out(), "outside: m holds a and b");
            assertEquals("", bashIn(d, "ls -A m/b").ok().out(), "outside: m/b empty");
            assertEquals("x\n", Files.readString(d.resolve("m/a/sub/x")));

            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertEquals("x\n", Files.readString(w.resolve("ls-sub")), "inside, after the outside checks");
            assertEquals(d.resolve("m/b/a/sub") + "\n", Files.readString(w.resolve("pwd-2")), "inside, after: getcwd");
            assertEquals(
                    "EINVAL\n", Files.readString(w.resolve("einval")), "inside: a directory into its own subdirectory");

            assertFalse(Files.exists(d.resolve("m/a")), "after the commit, m/a is gone outside");
            assertEquals("x\n", Files.readString(d.resolve("m/b/a/sub/x")), "after the commit, outside");
            assertEquals(d.resolve("m/b/a/sub").toString(), pwdIn(d.resolve("m/b/a/sub")), "after the commit: getcwd");
            assertTrue(Files.isDirectory(d.resolve("m/b/a/sub")));
        } finally {
            removeTree(w);
            removeTree(lw);
        }
    }
}
