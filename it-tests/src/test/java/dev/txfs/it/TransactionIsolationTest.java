package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Isolation through the kernel's caches, seen by real processes while a transaction is open:
 * shared mmap (reading and writing through a mapping), exec of a binary the transaction replaced
 * (many execs from inside and outside at once), and a package-install-like workload that is
 * aborted.
 *
 * <p>What a mapping made <i>outside before</i> {@code txfs begin} shows: the live file's bytes,
 * both while the transaction is open and after it commits. The transaction's write diverged the
 * file into an inode of its own, and the commit makes that inode the live one; the old inode,
 * which the mapping holds, is no longer anybody's file, like a file replaced by {@code rename(2)}.
 */
class TransactionIsolationTest extends TransactionItBase {
    /** Prints the bytes of each file in argv as seen through a read-only MAP_SHARED mapping, one per line. */
    private static final String MAP_READ = """
            import mmap, sys
            for name in sys.argv[1:]:
                with open(name, 'rb') as f:
                    m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
                    print(m[:].decode())
                    m.close()
            """;

    @Test
    void mmap_insideSeesTheTransactionsBytes_outsideTheLiveOnes() throws Exception {
        Path d = dir("mmap");
        Files.writeString(d.resolve("same"), "A".repeat(5000));
        Files.writeString(d.resolve("longer"), "B".repeat(3000));
        Files.writeString(d.resolve("mapped"), "C".repeat(4096));
        String outsideRead = "A".repeat(5000) + "\n" + "B".repeat(3000) + "\n" + "C".repeat(4096) + "\n";
        assertEquals(outsideRead, mapRead(d, "same", "longer", "mapped"), "mapped outside before, to cache pages");
        Path pre = tempDir("txfs-pre");
        Path w = tempDir("txfs-txn");
        try {
            Files.writeString(pre.resolve("map.py"), MAP_READ);
            Files.writeString(w.resolve("map.py"), MAP_READ);
            // a process outside maps `same` before the transaction begins and looks again later
            Process mapper = shell(pre, """
                    cd "$M/mmap"
                    python3 - <<'EOF'
                    import mmap, os, sys, time
                    w = os.environ['W']
                    with open('same', 'rb') as f:
                        m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
                        for step in ('open', 'committed'):
                            open(os.path.join(w, 'mapped-' + step), 'w').close()
                            while not os.path.exists(os.path.join(w, 'look-' + step)):
                                time.sleep(0.02)
                            print(step, m[:].decode(), flush=True)
                    EOF
                    """);
            await(pre.resolve("mapped-open"), mapper);
            Process p = shell(w, """
                    cd "$M/mmap"
                    "$T" begin > /dev/null
                    python3 - <<'EOF'
                    open('same', 'w').write('a' * 5000)
                    open('longer', 'w').write('b' * 7000)
                    EOF
                    python3 "$W/map.py" same longer > "$W/inside-mmap"
                    python3 - <<'EOF'
                    import mmap
                    with open('mapped', 'r+b') as f:
                        m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                        m[0:5] = b'HELLO'
                        m.flush()
                        m.close()
                    EOF
                    python3 "$W/map.py" mapped > "$W/inside-mapped"
                    stat -c %s longer > "$W/inside-size"
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" commit > /dev/null
                    """);
            await(w.resolve("written"), p);
            String mappedWrite = "HELLO" + "C".repeat(4091) + "\n";
            assertEquals("a".repeat(5000) + "\n" + "b".repeat(7000) + "\n", Files.readString(w.resolve("inside-mmap")));
            assertEquals(mappedWrite, Files.readString(w.resolve("inside-mapped")), "inside sees its mapped write");
            assertEquals("7000\n", Files.readString(w.resolve("inside-size")));

            assertEquals(outsideRead, mapRead(d, "same", "longer", "mapped"), "outside, a new mapping: live bytes");
            assertEquals(
                    outsideRead,
                    sh("for f in same longer mapped; do cat \"$1/$f\"; echo; done", d.toString())
                            .ok()
                            .out(),
                    "outside, read(2): live bytes");
            assertEquals(
                    "5000 3000 4096\n",
                    sh("cd \"$1\" && stat -c %s same longer mapped | paste -sd ' '", d.toString())
                            .ok()
                            .out(),
                    "outside sizes");
            Files.createFile(pre.resolve("look-open"));
            await(pre.resolve("mapped-committed"), mapper);

            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertEquals(
                    "a".repeat(5000) + "\n" + "b".repeat(7000) + "\n" + mappedWrite,
                    mapRead(d, "same", "longer", "mapped"),
                    "after commit everyone sees the transaction's bytes, the mapped write included");
            assertEquals(mappedWrite, Files.readString(d.resolve("mapped")) + "\n");
            Files.createFile(pre.resolve("look-committed"));
            String old = "A".repeat(5000);
            assertEquals(
                    "open " + old + "\ncommitted " + old + "\n",
                    finish(mapper, pre),
                    "a mapping made outside before begin keeps the live file's bytes (see the class javadoc)");
        } finally {
            removeTree(w);
            removeTree(pre);
        }
    }

    private static String mapRead(Path cwd, String... names) {
        return py(cwd, MAP_READ, names).ok().out();
    }

    /** The first word of {@code bin/tool --version} and its exit code, counted over 200 runs; $W/start and $W/end say when the loop ran. */
    private static final String EXEC_LOOP = """
            count() {
                date +%s%N > "$W/start"
                set +e
                for i in $(seq 200); do
                    out=$(./bin/tool --version)
                    echo "${out%% *} $?"
                done | sort | uniq -c | sed 's/^ *//'
                set -e
                date +%s%N > "$W/end"
            }
            """;

    @Test
    void exec_ofAReplacedBinary_runsTheTransactionsInsideAndTheLiveOneOutside_concurrently() throws Exception {
        Path d = dir("exec");
        sh("mkdir \"$1/bin\" && cp /bin/true \"$1/bin/tool\" && \"$1/bin/tool\"", d.toString())
                .ok();
        Path w = tempDir("txfs-txn");
        Path o = tempDir("txfs-out");
        try {
            Process inside = shell(w, EXEC_LOOP + """
                    cd "$M/exec"
                    "$T" begin > /dev/null
                    cp /bin/false bin/tool
                    touch "$W/replaced"
                    while [ ! -e "$W/go" ]; do sleep 0.01; done
                    count > "$W/counts"
                    touch "$W/ran"
                    while [ ! -e "$W/commit" ]; do sleep 0.02; done
                    "$T" commit > /dev/null
                    """);
            Process outside = shell(o, EXEC_LOOP + """
                    cd "$M/exec"
                    while [ ! -e "$W/go" ]; do sleep 0.01; done
                    count > "$W/counts"
                    """);
            await(w.resolve("replaced"), inside);
            Files.createFile(o.resolve("go"));
            Files.createFile(w.resolve("go"));
            finish(outside, o);
            await(w.resolve("ran"), inside);
            assertEquals("200 false 1\n", Files.readString(w.resolve("counts")), "inside: the transaction's binary");
            assertEquals("200 true 0\n", Files.readString(o.resolve("counts")), "outside: the live binary");
            assertTrue(
                    time(w, "start") < time(o, "end") && time(o, "start") < time(w, "end"),
                    "the two loops overlapped in time");
            Files.createFile(w.resolve("commit"));
            finish(inside, w);
            Result after = sh("set +e; cd \"$1\" && ./bin/tool --version; echo \"exit $?\"", d.toString());
            assertEquals("false", after.out().split(" ", 2)[0], after::describe);
            assertEquals(
                    "exit 1", after.out().strip().lines().reduce((a, b) -> b).orElseThrow(), "after commit, outside");
        } finally {
            removeTree(w);
            removeTree(o);
        }
    }

    /**
     * A corner weaker than full isolation: while a process outside runs {@code bin/tool} (the
     * inode the transaction still shares), {@code cp} over it <i>inside</i> fails with ETXTBSY,
     * as on any filesystem: the kernel refuses to open a running executable for writing before the
     * request reaches txfs, so the transaction cannot diverge it first. (The same holds the other
     * way round.) Replacing it by rename, as package managers do, works: the inside then runs the
     * new binary while the outside one runs on.
     */
    @Test
    void exec_replacingInPlaceABinaryRunningOutside_isTextFileBusy_butRenameWorks() throws Exception {
        Path d = dir("busy");
        sh("mkdir \"$1/bin\" && cp /bin/sleep \"$1/bin/tool\"", d.toString()).ok();
        Path o = tempDir("txfs-out");
        Path w = tempDir("txfs-txn");
        try {
            Process running = shell(o, """
                    cd "$M/busy"
                    ./bin/tool 60 &
                    echo $! > "$W/pid"
                    while [ "$(readlink /proc/$(cat "$W/pid")/exe)" != "$M/busy/bin/tool" ]; do sleep 0.02; done
                    touch "$W/running"
                    wait
                    """);
            await(o.resolve("running"), running);
            Process p = shell(w, """
                    cd "$M/busy"
                    "$T" begin > /dev/null
                    set +e
                    cp /bin/false bin/tool 2> "$W/cp-err"
                    echo "cp $?"
                    set -e
                    cp /bin/false bin/tool.new && mv bin/tool.new bin/tool
                    set +e
                    ./bin/tool; echo "inside $?"
                    "$T" abort > /dev/null
                    """);
            assertEquals("cp 1\ninside 1\n", finish(p, w));
            assertTrue(Files.readString(w.resolve("cp-err")).contains("Text file busy"), "ETXTBSY");
            assertTrue(running.isAlive(), "the outside process runs on");
            assertEquals(
                    "0\n",
                    sh("cd \"$1\" && ./bin/tool 0; echo $?", d.toString()).ok().out(),
                    "outside: still sleep, which exits 0");
        } finally {
            removeTree(w);
            removeTree(o);
        }
    }

    /**
     * The corner weaker than snapshot isolation: a descriptor and a mapping a process inside opened
     * on a file the transaction still shares (unchanged since begin) are on the live file's inode.
     * When a process outside then writes the file, they show the outside write, also after the
     * page cache was dropped ({@code POSIX_FADV_DONTNEED}); {@code fstat} on that descriptor fails
     * with ESTALE (the inode is no longer in the transaction's view). A new open or stat inside
     * shows the transaction's version: the file as it was at begin.
     */
    @Test
    void heldDescriptorAndMapping_insideBeforeAnOutsideWrite_showIt_newOpensDoNot() throws Exception {
        Path d = dir("held");
        Files.writeString(d.resolve("f"), "old-old-");
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/held"
                    "$T" begin > /dev/null
                    python3 - <<'EOF'
                    import mmap, os, time, errno
                    w = os.environ['W']
                    f = open('f', 'rb')
                    m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
                    print('before', f.read().decode(), m[:].decode(), flush=True)
                    open(os.path.join(w, 'held'), 'w').close()
                    while not os.path.exists(os.path.join(w, 'go')):
                        time.sleep(0.02)
                    f.seek(0)
                    print('held', f.read().decode(), m[:].decode())
                    m.close()
                    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                    f.seek(0)
                    print('uncached', f.read().decode())
                    try:
                        os.fstat(f.fileno())
                        print('fstat ok')
                    except OSError as e:
                        print('fstat', errno.errorcode[e.errno])
                    print('new', open('f').read(), os.stat('f').st_size)
                    EOF
                    "$T" abort > /dev/null
                    """);
            await(w.resolve("held"), p);
            Files.writeString(d.resolve("f"), "NEW-NEW-NEW-");
            Files.createFile(w.resolve("go"));
            assertEquals(
                    "before old-old- old-old-\nheld NEW-NEW-NEW- NEW-NEW-\nuncached NEW-NEW-NEW-\nfstat ESTALE\n"
                            + "new old-old- 8\n",
                    finish(p, w));
            assertEquals("NEW-NEW-NEW-", Files.readString(d.resolve("f")));
        } finally {
            removeTree(w);
        }
    }

    private static long time(Path markers, String name) throws IOException {
        return Long.parseLong(Files.readString(markers.resolve(name)).strip());
    }

    /**
     * A manifest of the tree in $1: type, mode, size (not of directories: their st_size is the
     * filesystem's), link target, name, and an md5 of every file; with $2 = mtime, mtimes too.
     */
    private static final String MANIFEST = """
            manifest() (
                cd "$1"
                fmt='%y %m %s %l %p'
                [ "${2:-}" = mtime ] && fmt="$fmt %T@"
                find . -type d -printf '%y %m %p\\n' | LC_ALL=C sort
                find . ! -type d -printf "$fmt\\n" | LC_ALL=C sort
                find . -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum
            )
            """;

    /** What the transaction does to pkg/ (a tree from base.tar): unpack, chmod, delete, symlink. */
    private static final String INSTALL = """
            install_over() (
                cd "$1"
                tar xf "$2"
                chmod 0700 usr/lib/d3/*
                chmod 0600 usr/share/d5/f1*
                rm -rf usr/share/d7
                rm -f usr/lib/d2/f2*
                ln -s ../lib/d1/f10 usr/share/link-to-f10
                ln -sfn lib usr/lib64
                mkdir -p var/cache/new && echo fresh > var/cache/new/file
            )
            """;

    @Test
    void packageInstallLikeWorkload_thenAbort_leavesTheTreeAsItWas() throws Exception {
        Path d = dir("pkg");
        Path gen = tempDir("txfs-pkg");
        Path w = tempDir("txfs-txn");
        try {
            // base: 2400 files in {usr/lib,usr/share,etc/x}/d0..d9; update: 1920 of them rewritten, 200 new, 10
            // symlinks
            long start = System.nanoTime();
            py(gen, """
                    import os, sys
                    def tree(root, files, salt, symlinks):
                        for top in ('usr/lib', 'usr/share', 'etc/x'):
                            for i in range(10):
                                os.makedirs(f'{root}/{top}/d{i}', exist_ok=True)
                                for j in range(files):
                                    with open(f'{root}/{top}/d{i}/f{j}', 'w') as f:
                                        f.write(f'{salt} {top} {i} {j}\\n' * (1 + j % 7))
                        for i in range(symlinks):
                            os.symlink(f'd{i}/f0', f'{root}/usr/lib/sl{i}')
                    tree('base', 80, 'v1', 0)
                    tree('update', 64, 'v2', 0)
                    for i in range(10):
                        for j in range(80, 100):
                            with open(f'update/usr/lib/d{i}/f{j}', 'w') as f:
                                f.write(f'new {i} {j}\\n')
                    for i in range(10):
                        os.symlink(f'd{i}/f1', f'update/usr/lib/sl{i}')
                    """).ok();
            sh(MANIFEST + INSTALL + """
                    cd "$1"
                    tar cf base.tar -C base . && tar cf update.tar -C update .
                    mkdir ref && tar xf base.tar -C ref && install_over ref "$1/update.tar"
                    manifest ref > ref.manifest
                    tar xf base.tar -C "$2"
                    """, gen.toString(), d.toString()).ok();
            long unpacked = System.nanoTime();
            String before = liveTree();
            String manifestBefore =
                    sh(MANIFEST + "manifest \"$1\" mtime", d.toString()).ok().out();
            assertEquals(
                    2400, manifestBefore.lines().filter(l -> l.startsWith("f ")).count(), "files before");

            Files.copy(gen.resolve("update.tar"), w.resolve("update.tar"));
            long t0 = System.nanoTime();
            Process p = shell(w, MANIFEST + INSTALL + """
                    cd "$M/pkg"
                    "$T" begin > /dev/null
                    install_over . "$W/update.tar"
                    manifest . > "$W/inside.manifest"
                    "$T" status > "$W/status"
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" abort
                    """);
            await(w.resolve("written"), p);
            long installMs = (System.nanoTime() - t0) / 1_000_000;
            String inside = Files.readString(w.resolve("inside.manifest"));
            assertEquals(Files.readString(gen.resolve("ref.manifest")), inside, "inside: as on a plain filesystem");
            assertEquals(
                    manifestBefore,
                    sh(MANIFEST + "manifest \"$1\" mtime", d.toString()).ok().out(),
                    "outside while open: as before");
            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertEquals(before, liveTree(), "after abort the tree id is the one from before");
            assertEquals(
                    manifestBefore,
                    sh(MANIFEST + "manifest \"$1\" mtime", d.toString()).ok().out(),
                    "after abort: as before");
            System.out.printf(
                    "[pkg] generate + unpack outside: %d ms; install + manifest inside a transaction: %d ms;"
                            + " %d status lines; whole test %d ms%n",
                    (unpacked - start) / 1_000_000,
                    installMs,
                    Files.readAllLines(w.resolve("status")).size(),
                    (System.nanoTime() - start) / 1_000_000);
        } finally {
            removeTree(w);
            removeTree(gen);
        }
    }

    /** {@code dirstat}: name, link count, size and mtime (ns) of the mount's root, attrs/sub and attrs/other. */
    private static final String DIRSTAT = """
            dirstat() { stat -c '%n %h %s %y' "$M" "$M/attrs/sub" "$M/attrs/other" | sed "s|^$M|M|"; }
            """;

    private static String dirstatOutside() {
        return sh("M=\"$1\"\n" + DIRSTAT + "dirstat", mp.toString()).ok().out();
    }

    /** How many lines of {@code now} are not lines of {@code before}. */
    private static long changedLines(String before, String now) {
        return now.lines().filter(l -> !before.lines().toList().contains(l)).count();
    }

    /**
     * Attributes of a directory both views reach are per view through the kernel's cache: after a
     * transaction creates entries in the mount's root and in {@code attrs/sub} (and stat'ed them,
     * filling the kernel's cache from its view), stat from outside shows the live link count, size
     * and mtime at once; after the outside creates entries in the root and in {@code attrs/other}, a
     * directory the transaction had not asked about, stat inside shows the transaction's. Issue 14,
     * finding 16: the root kept a 60 s validity, and so did a directory the transaction had not
     * reached yet.
     */
    @Test
    void rootAndSharedDirectories_statShowsEachViewsAttributes_throughTheKernelCache() throws Exception {
        Path d = dir("attrs");
        Files.createDirectory(d.resolve("sub"));
        Files.createDirectory(d.resolve("other"));
        String before = dirstatOutside();
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, DIRSTAT + """
                    cd "$M"
                    "$T" begin > /dev/null
                    mkdir "$M/txn-made" "$M/attrs/sub/txn-made"
                    dirstat > "$W/inside-made"
                    touch "$W/made"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    dirstat > "$W/inside-later"
                    touch "$W/looked"
                    while [ ! -e "$W/done" ]; do sleep 0.02; done
                    "$T" abort > /dev/null
                    """);
            await(w.resolve("made"), p);
            String inside = Files.readString(w.resolve("inside-made"));
            assertEquals(2, changedLines(before, inside), "inside: the root and attrs/sub changed\n" + inside);
            assertEquals(before, dirstatOutside(), "outside: the live attributes");

            sh("mkdir \"$1/live-made\" \"$1/attrs/other/live-made\"", mp.toString())
                    .ok();
            String outside = dirstatOutside();
            assertEquals(2, changedLines(before, outside), "outside: the root and attrs/other changed\n" + outside);
            Files.createFile(w.resolve("go"));
            await(w.resolve("looked"), p);
            assertEquals(inside, Files.readString(w.resolve("inside-later")), "inside: still the transaction's");
            Files.createFile(w.resolve("done"));
            finish(p, w);
        } finally {
            sh("rmdir \"$1/live-made\" 2>/dev/null || true", mp.toString());
            removeTree(w);
        }
    }
}
