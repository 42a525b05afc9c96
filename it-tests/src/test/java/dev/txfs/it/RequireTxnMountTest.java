package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A mount with {@code --require-txn}, as for a root filesystem: outside a transaction every
 * change fails with EROFS and reads work; inside one the same changes work and show outside after
 * commit. The store starts empty, so each test populates its directory in a transaction of its own.
 */
class RequireTxnMountTest extends TransactionItBase {
    @BeforeAll
    static void requireTxn() {
        remount("--require-txn");
    }

    /** Every kind of change, on names in the current directory; prints "name=errno" per change. */
    private static final String CHANGES = PY_ERR + """
            import sys
            def write_existing():
                fd = os.open('f', os.O_WRONLY)
                try:
                    os.write(fd, b'x')
                finally:
                    os.close(fd)
            changes = [
                ('create', lambda: os.close(os.open('new', os.O_CREAT | os.O_WRONLY, 0o644))),
                ('write', write_existing),
                ('truncate', lambda: os.truncate('f', 1)),
                ('mkdir', lambda: os.mkdir('newdir')),
                ('rmdir', lambda: os.rmdir('empty')),
                ('unlink', lambda: os.unlink('victim')),
                ('rename', lambda: os.rename('moved', 'renamed')),
                ('symlink', lambda: os.symlink('f', 'sl')),
                ('link', lambda: os.link('f', 'hard')),
                ('chmod', lambda: os.chmod('f', 0o600)),
                ('chown', lambda: os.chown('f', 1, 2)),
                ('utimes', lambda: os.utime('f', (1000000000, 1000000000))),
                ('setxattr', lambda: os.setxattr('f', 'user.k', b'new')),
                ('removexattr', lambda: os.removexattr('f', 'user.gone')),
                ('mkfifo', lambda: os.mkfifo('fifo')),
            ]
            print(' '.join(n + '=' + err(f) for n, f in changes))
            """;

    /** Reads of what the populating transaction made, printed on one line. */
    private static final String READS = """
            import os
            print(open('f').read().strip(), sorted(os.listdir('.')), oct(os.stat('f').st_mode & 0o777),
                  os.getxattr('f', 'user.k').decode(), os.readlink('old-sl'))
            """;

    private static String allAre(String errno) {
        return Arrays.stream(new String[] {
                    "create",
                    "write",
                    "truncate",
                    "mkdir",
                    "rmdir",
                    "unlink",
                    "rename",
                    "symlink",
                    "link",
                    "chmod",
                    "chown",
                    "utimes",
                    "setxattr",
                    "removexattr",
                    "mkfifo"
                })
                .map(n -> n + "=" + errno)
                .collect(Collectors.joining(" ", "", "\n"));
    }

    /** Makes $M/NAME with the files the changes work on, in a transaction, and commits. */
    private Path populate(String name) throws Exception {
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, "NAME=" + name + "\n" + """
                    cd "$M"
                    "$T" begin > /dev/null
                    rm -rf "$NAME"; mkdir "$NAME"; cd "$NAME"
                    echo data > f; echo v > victim; echo m > moved; mkdir empty; ln -s f old-sl
                    python3 -c "import os; os.setxattr('f', 'user.k', b'old'); os.setxattr('f', 'user.gone', b'1')"
                    "$T" commit > /dev/null
                    """);
            finish(p, w);
        } finally {
            removeTree(w);
        }
        return mp.resolve(name);
    }

    @Test
    void outsideATransaction_everyChangeFailsWithEROFS_andReadsWork() throws Exception {
        Path d = populate("ro");
        String before = liveTree();
        assertEquals(allAre("EROFS"), py(d, CHANGES).ok().out());
        assertEquals(
                "data ['empty', 'f', 'moved', 'old-sl', 'victim'] 0o644 old f\n",
                py(d, READS).ok().out());
        assertEquals(before, liveTree(), "nothing changed");
        Result status = sh("cd \"$2\" && \"$1\" status", TXFS.toString(), mp.toString());
        assertTrue(status.ok().out().startsWith("context: live tree\n"), status::describe);
    }

    @Test
    void insideATransaction_theSameChangesWork_andShowOutsideAfterCommit() throws Exception {
        Path d = populate("rw");
        Path w = tempDir("txfs-txn");
        try {
            Files.writeString(w.resolve("changes.py"), CHANGES);
            Process p = shell(w, """
                    cd "$M/rw"
                    "$T" begin > /dev/null
                    python3 "$W/changes.py" > "$W/inside"
                    "$T" status > "$W/status"
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" commit > /dev/null
                    """);
            await(w.resolve("written"), p);
            assertEquals(allAre("ok"), Files.readString(w.resolve("inside")));
            String status = Files.readString(w.resolve("status"));
            assertTrue(status.startsWith("context: "), status);
            assertTrue(status.contains("added:    /rw/new"), status);
            assertTrue(status.contains("deleted:  /rw/victim"), status);
            assertEquals(
                    "data ['empty', 'f', 'moved', 'old-sl', 'victim'] 0o644 old f\n",
                    py(d, READS).ok().out(),
                    "outside, while open: as populated");
            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertEquals(
                    "x ['f', 'fifo', 'hard', 'new', 'newdir', 'old-sl', 'renamed', 'sl'] 1 0o600 1:2"
                            + " 1000000000 new [] p f\n",
                    py(d, """
                            import os, stat
                            s = os.stat('f')
                            print(open('f').read(), sorted(os.listdir('.')), s.st_size, oct(s.st_mode & 0o777),
                                  f'{s.st_uid}:{s.st_gid}', int(s.st_mtime), os.getxattr('f', 'user.k').decode(),
                                  [x for x in os.listxattr('f') if x == 'user.gone'],
                                  'p' if stat.S_ISFIFO(os.lstat('fifo').st_mode) else '-', os.readlink('sl'))
                            """).ok().out(),
                    "after commit, outside sees every change");
        } finally {
            removeTree(w);
        }
    }

    /**
     * A descriptor opened for writing inside a transaction outlives it: after commit it continues
     * on the live tree, where writing is a change outside any transaction and fails with EROFS.
     * What it wrote before the commit is committed.
     */
    @Test
    void aDescriptorOpenedInATransaction_cannotWriteAfterCommit() throws Exception {
        Path d = populate("fd");
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/fd"
                    "$T" begin > /dev/null
                    exec 3<>f
                    printf in >&3
                    "$T" commit > /dev/null
                    set +e
                    printf out >&3 2> "$W/write-err"
                    echo "exit $?"
                    exec 3>&-
                    cat f
                    """);
            assertEquals("exit 1\ninta\n", finish(p, w));
            assertTrue(Files.readString(w.resolve("write-err")).contains("Read-only file system"));
            assertEquals("inta\n", Files.readString(d.resolve("f")), "outside: what was committed");
        } finally {
            removeTree(w);
        }
    }

    /**
     * A MAP_SHARED mapping made inside a transaction: what it wrote before the commit is in the
     * commit (the daemon has the kernel write the dirty pages out first), and what it writes after
     * never reaches the live tree: the kernel's write-out (pid 0, no process to judge) is refused
     * like any change outside a transaction, and msync reports it. Issue 14, finding 12: before, the
     * write-out after the commit landed in the live tree, and the pages dirtied before it were not
     * in the commit.
     */
    @Test
    void aMappingMadeInATransaction_isInItsCommit_andCannotWriteTheLiveTreeAfterIt() throws Exception {
        Path d = populate("map");
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/map"
                    "$T" begin > /dev/null
                    python3 - <<'EOF'
                    import errno, mmap, os, subprocess
                    with open('f', 'r+b') as f:
                        m = mmap.mmap(f.fileno(), 0)
                        m[0:4] = b'page'
                        commit = subprocess.run([os.environ['T'], 'commit'], stdout=subprocess.PIPE, check=True)
                        print(commit.stdout.decode().strip())
                        m[0:4] = b'late'
                        try:
                            m.flush()
                            print('msync ok')
                        except OSError as e:
                            print('msync', errno.errorcode[e.errno])
                        m.close()
                    EOF
                    """);
            String[] out = finish(p, w).split("\n");
            assertEquals("msync EROFS", out[1], "the write-out after the commit is refused");
            Path committed = mp.resolve(".txfs/snapshots").resolve(out[0]).resolve("map/f");
            assertEquals("page\n", Files.readString(committed), "the commit holds the mapped write made before it");
            String now = snapshotIn(mp, "after the mapping");
            assertEquals(
                    "page\n",
                    Files.readString(mp.resolve(".txfs/snapshots").resolve(now).resolve("map/f")),
                    "the live tree never got the write made after the commit");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!Files.readString(d.resolve("f")).equals("page\n") && System.nanoTime() < deadline) {
                Thread.sleep(20); // the daemon drops the refused page from the kernel's cache after answering
            }
            assertEquals("page\n", Files.readString(d.resolve("f")), "outside, through the page cache");
        } finally {
            removeTree(w);
        }
    }
}
