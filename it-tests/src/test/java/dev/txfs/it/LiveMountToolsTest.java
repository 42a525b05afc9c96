package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Real tools on a live mount: cp -a of a few thousand files of /usr and diff, a tar round trip
 * with xattrs and ACLs, git init/commit/clone/fsck, running a copied binary, shared writable mmap,
 * SQLite in WAL mode, a 100,000-entry directory and a sparse file past 4 GiB. Prints how long the
 * big steps took. Run: {@code mvn -o -pl it-tests verify -Dtxfs.it.skip=false
 * -Dtest=LiveMountToolsTest}.
 */
class LiveMountToolsTest extends LiveMountBase {
    private static final Duration LONG = Duration.ofMinutes(3);

    /**
     * Every name with type, mode, owner, link count, device and mtime (ns), then the size of every
     * non-directory (a directory's st_size is the filesystem's own business).
     */
    private static final String LISTING = """
            cd "$1"
            find . -printf '%p %y %m %U %G %n %T@\\n' | LC_ALL=C sort
            find . ! -type d -printf '%p %s\\n' | LC_ALL=C sort
            find . \\( -type b -o -type c \\) -print0 | xargs -0r stat -c '%n %t %T' | LC_ALL=C sort
            """;

    private static void timed(String what, long startNs) {
        System.out.printf("[live tools] %s: %.2f s%n", what, (System.nanoTime() - startNs) / 1e9);
    }

    /**
     * Regression: cp -a sets a minimal ACL on every directory it copies, which was stored as an
     * opaque xattr instead of becoming the mode, so copied directories kept cp's interim 0700.
     */
    @Test
    void cpArchive_whenThousandsOfFilesCopiedFromUsr_diffAndListingFindNoDifference() {
        Path d = dir("cp");
        String src = "/usr/share/doc";
        long t0 = System.nanoTime();
        Result cp = run(LONG, d, List.of("cp", "-a", src, d.resolve("doc").toString()));
        timed(
                "cp -a " + src + " ("
                        + bash(QUICK, "find " + src + " | wc -l").ok().out().strip() + " entries)",
                t0);
        cp.ok();
        long t1 = System.nanoTime();
        Result diff = run(
                LONG,
                null,
                List.of("diff", "-r", "--no-dereference", src, d.resolve("doc").toString()));
        timed("diff -r", t1);
        assertEquals(0, diff.exit(), diff::describe);
        String expected = bash(LONG, LISTING, src).ok().out();
        String actual = bash(LONG, LISTING, d.resolve("doc").toString()).ok().out();
        assertTrue(
                expected.lines().count() > 2000,
                "too few entries: " + expected.lines().count());
        assertEquals(expected, actual);
    }

    @Test
    void tar_whenRoundTrippedWithXattrsAndAcls_listingAndXattrsMatch() {
        Path d = dir("tar");
        bashIn(d, """
                        mkdir src && cd src
                        cp -a /usr/include/linux .
                        echo a > f1; ln f1 f2; ln -s f1 sym; mkfifo fifo
                        setfattr -n user.color -v blue f1; setfattr -n trusted.t -v 0x00ff f1
                        setfattr -h -n trusted.onlink -v l sym
                        mkdir acl; setfacl -m u:nobody:rwx acl; setfacl -d -m g:nogroup:rx acl
                        echo s > acl/inherits
                        touch -d '2001-01-01 00:00:00.123456789' f1
                        chmod 4755 f1; chown 1234:5678 f2
                        """).ok();
        long t0 = System.nanoTime();
        bash(LONG, """
                        cd "$1"
                        mkdir dst
                        tar -C src -c --xattrs --xattrs-include='*' --acls . | tar -C dst -x --xattrs --xattrs-include='*' --acls
                        """, d.toString()).ok();
        timed("tar round trip of /usr/include/linux", t0);
        String xattrs = "cd \"$1\"; find . -print0 | LC_ALL=C sort -z | xargs -0 getfattr -h -d -m - --absolute-names";
        String srcX = bash(LONG, xattrs, d.resolve("src").toString()).ok().out();
        assertTrue(srcX.contains("user.color=\"blue\"") && srcX.contains("system.posix_acl_default"), srcX);
        assertEquals(srcX, bash(LONG, xattrs, d.resolve("dst").toString()).ok().out());
        assertEquals(
                bash(LONG, LISTING, d.resolve("src").toString()).ok().out(),
                bash(LONG, LISTING, d.resolve("dst").toString()).ok().out());
    }

    @Test
    void git_whenCommittingAndCloningInsideTheMount_fsckIsClean() {
        Path d = dir("git");
        long t0 = System.nanoTime();
        String out = bash(LONG, """
                        cd "$1"
                        export GIT_CONFIG_NOSYSTEM=1 HOME="$1"
                        git config --global user.name t; git config --global user.email t@example.org
                        git config --global init.defaultBranch main
                        git init -q repo && cd repo
                        cp -r /usr/include/linux src
                        git add -A && git commit -qm first
                        echo change >> src/fs.h && git mv src/types.h src/types-moved.h
                        git commit -qam second
                        git gc -q
                        cd .. && git clone -q repo clone && cd clone
                        git fsck --strict 2>&1
                        git log --format=%s | tr '\\n' ' '; echo
                        git status --porcelain | wc -l
                        cmp src/fs.h ../repo/src/fs.h && echo same
                        """, d.toString()).ok().out();
        timed("git init/commit/gc/clone/fsck", t0);
        assertEquals("second first \n0\nsame\n", out);
    }

    @Test
    void exec_whenBinaryCopiedIntoTheMount_runs() {
        Path d = dir("exec");
        String out = bashIn(d, """
                        cp /bin/ls ./ls; cp /bin/sh ./sh
                        ./ls -d .
                        ./sh -c 'echo from-copied-shell'
                        for i in $(seq 20); do ./ls -d . & done; wait
                        """).ok().out();
        assertEquals(".\nfrom-copied-shell\n" + ".\n".repeat(20), out);
    }

    @Test
    void mmap_whenSharedWritableMappingWritten_freshOpenReadsTheBytes() {
        Path d = dir("mmap");
        String out = py(d, """
                        import mmap, os
                        fd = os.open('f', os.O_CREAT | os.O_RDWR, 0o644)
                        os.ftruncate(fd, 3 * 4096 + 100)
                        m = mmap.mmap(fd, 3 * 4096 + 100, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                        m[10:15] = b'hello'; m[5000:5003] = b'abc'; m[-4:] = b'tail'
                        m.flush()
                        with open('f', 'rb') as g:
                            data = g.read()
                        print(data[10:15], data[5000:5003], data[-4:], len(data))
                        m[0:2] = b'zz'
                        m.close(); os.close(fd)
                        open('/proc/sys/vm/drop_caches', 'w').write('1')
                        print(open('f', 'rb').read()[0:2])
                        """).ok().out();
        assertEquals("b'hello' b'abc' b'tail' 12388\nb'zz'\n", out);
    }

    @Test
    void sqlite_whenWalModeUsed_rowsSurviveReopen() {
        Path d = dir("sqlite");
        String out = py(d, """
                        import sqlite3
                        c = sqlite3.connect('db')
                        print(c.execute('pragma journal_mode=wal').fetchone()[0])
                        c.execute('create table t(i integer primary key, s text)')
                        with c:
                            c.executemany('insert into t(s) values (?)', [('row %d' % i,) for i in range(1000)])
                        r = sqlite3.connect('db')  # a second connection sees the WAL (shared memory)
                        print(r.execute('select count(*) from t').fetchone()[0])
                        r.close(); c.close()
                        c = sqlite3.connect('db')
                        print(c.execute('select count(*), sum(i) from t').fetchone())
                        print(c.execute('pragma integrity_check').fetchone()[0])
                        """).ok().out();
        assertEquals("wal\n1000\n(1000, 500500)\nok\n", out);
    }

    @Test
    void directory_whenHoldingHundredThousandEntries_listsStatsAndEmpties() {
        Path d = dir("big-dir");
        long t0 = System.nanoTime();
        py(LONG, d, """
                        import os
                        for i in range(100000):
                            os.close(os.open('f%06d' % i, os.O_CREAT | os.O_WRONLY, 0o644))
                        """).ok();
        timed("create 100,000 files in one directory", t0);
        long t1 = System.nanoTime();
        String out = bash(LONG, """
                        cd "$1"
                        ls | wc -l
                        ls -f | wc -l
                        stat -c '%n %s' f000000 f054321 f099999
                        [ -e f100000 ] || echo no-f100000
                        """, d.toString()).ok().out();
        timed("list and stat 100,000 entries", t1);
        assertEquals("100000\n100002\nf000000 0\nf054321 0\nf099999 0\nno-f100000\n", out);
        long t2 = System.nanoTime();
        py(LONG, d, """
                        import os
                        for name in os.listdir('.'):
                            os.unlink(name)
                        """).ok();
        timed("remove 100,000 files", t2);
        assertEquals(
                "0 2\n", bashIn(d, "echo $(ls -A | wc -l) $(stat -c %h .)").ok().out());
    }

    /**
     * Removes the file at the end: syncing a file grown by truncate chunks every zero byte (see
     * the report on FileBuffer.flush), which would hold the live tree's lock for seconds.
     */
    @Test
    void sparseFile_whenLargerThanFourGiB_keepsSizeAndAMarkerPastFourGiB() {
        Path d = dir("sparse");
        String out = bashIn(d, """
                        truncate -s 5G f
                        printf 'MARKER' | dd of=f bs=1 seek=$((4608 * 1024 * 1024)) conv=notrunc status=none
                        stat -c %s f
                        dd if=f bs=1 skip=$((4608 * 1024 * 1024)) count=6 status=none; echo
                        dd if=f bs=1 skip=$((4608 * 1024 * 1024 - 2)) count=2 status=none | od -An -tx1
                        sync; echo 1 > /proc/sys/vm/drop_caches
                        dd if=f bs=1M skip=4608 count=1 status=none of=mib
                        head -c 6 mib; echo
                        truncate -s 4G f; stat -c %s f
                        rm f mib
                        """).ok().out();
        assertEquals("5368709120\nMARKER\n 00 00\nMARKER\n4294967296\n", out);
    }
}
