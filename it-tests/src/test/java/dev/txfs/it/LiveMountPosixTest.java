package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The POSIX surface of a live mount through the real kernel, item by item: files, directories,
 * names, links, special files, attributes, times, sizes, xattrs and ACLs, fallocate and lseek,
 * statfs, the errno of bad operations, and permissions as the user nobody. Each test works in
 * its own directory of one mount. Run: {@code mvn -o -pl it-tests verify -Dtxfs.it.skip=false
 * -Dtest=LiveMountPosixTest}.
 */
class LiveMountPosixTest extends LiveMountBase {

    @Test
    void write_whenCreatedWrittenAndAppended_readsBackEveryByte() {
        Path d = dir("rw");
        String out = py(d, PY_ERR + """
                        with open('f', 'wb') as f:
                            f.write(b'hello ')
                        a = os.open('f', os.O_WRONLY | os.O_APPEND)
                        b = os.open('f', os.O_WRONLY | os.O_APPEND)
                        os.write(a, b'one ')
                        os.write(b, b'two ')
                        os.pwrite(a, b'three', 0)  # Linux: pwrite on O_APPEND appends
                        os.close(a); os.close(b)
                        data = open('f', 'rb').read()
                        print(data.decode(), os.stat('f').st_size)
                        """).ok().out();
        assertEquals("hello one two three 19\n", out);
    }

    @Test
    void open_whenExclusiveAndNameExists_failsWithEEXIST() {
        Path d = dir("excl");
        String out = py(d, PY_ERR + """
                        os.close(os.open('f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                        print(err(lambda: os.open('f', os.O_CREAT | os.O_EXCL | os.O_WRONLY)))
                        print(err(lambda: os.open('f', os.O_CREAT | os.O_WRONLY)))
                        os.mkdir('d')
                        print(err(lambda: os.open('d', os.O_CREAT | os.O_EXCL | os.O_WRONLY)))
                        print(oct(os.stat('f').st_mode))
                        """).ok().out();
        assertEquals("EEXIST\nok\nEEXIST\n0o100600\n", out);
    }

    @Test
    void open_whenTruncFlagGiven_emptiesTheFile() {
        Path d = dir("trunc");
        String out = py(d, """
                        import os
                        open('f', 'w').write('x' * 100000)
                        fd = os.open('f', os.O_WRONLY | os.O_TRUNC)
                        print(os.fstat(fd).st_size)
                        os.write(fd, b'new')
                        os.close(fd)
                        print(open('f').read(), os.stat('f').st_size)
                        """).ok().out();
        assertEquals("0\nnew 3\n", out);
    }

    @Test
    void rmdir_whenDirectoryNotEmpty_failsWithENOTEMPTYAndThenSucceedsWhenEmptied() {
        Path d = dir("rmdir");
        String out = py(d, PY_ERR + """
                        os.makedirs('a/b')
                        open('a/b/f', 'w').close()
                        print(err(lambda: os.rmdir('a')), err(lambda: os.rmdir('a/b')))
                        os.unlink('a/b/f')
                        print(os.stat('a').st_nlink)
                        print(err(lambda: os.rmdir('a/b')), err(lambda: os.rmdir('a')), os.listdir('.'))
                        print(err(lambda: os.rmdir('a')))
                        """).ok().out();
        assertEquals("ENOTEMPTY ENOTEMPTY\n3\nok ok []\nENOENT\n", out);
    }

    /** Regression: an unlinked but open file reported one link; POSIX says zero. */
    @Test
    void unlink_whenFileStillOpen_keepsItsDataAndReportsNoLinks() {
        Path d = dir("unlink");
        String out = py(d, PY_ERR + """
                        fd = os.open('f', os.O_CREAT | os.O_RDWR)
                        os.write(fd, b'still here')
                        os.unlink('f')
                        print(os.path.exists('f'), os.fstat(fd).st_nlink, os.pread(fd, 100, 0).decode())
                        os.write(fd, b'!')
                        print(os.fstat(fd).st_size)
                        os.close(fd)
                        print(err(lambda: os.unlink('f')), os.listdir('.'))
                        """).ok().out();
        assertEquals("False 0 still here\n11\nENOENT []\n", out);
    }

    private static final String RENAMEAT2 = """
            libc = ctypes.CDLL(None, use_errno=True)
            def rename2(a, b, flags):
                if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, os.strerror(e))
            NOREPLACE, EXCHANGE = 1, 2
            """;

    @Test
    void rename_whenNoReplaceFlagGiven_failsWithEEXISTAndLeavesBoth() {
        Path d = dir("noreplace");
        String out = py(d, PY_ERR + RENAMEAT2 + """
                        open('a', 'w').write('A'); open('b', 'w').write('B')
                        print(err(lambda: rename2('a', 'b', NOREPLACE)), open('a').read(), open('b').read())
                        print(err(lambda: rename2('a', 'c', NOREPLACE)), sorted(os.listdir('.')), open('c').read())
                        """).ok().out();
        assertEquals("EEXIST A B\nok ['b', 'c'] A\n", out);
    }

    @Test
    void rename_whenExchangeFlagGiven_swapsBothNames() {
        Path d = dir("exchange");
        String out = py(d, PY_ERR + RENAMEAT2 + """
                        open('a', 'w').write('A'); os.makedirs('dir/sub'); open('dir/sub/f', 'w').write('F')
                        ia, idir = os.stat('a').st_ino, os.stat('dir').st_ino
                        print(err(lambda: rename2('a', 'dir', EXCHANGE)))
                        print(os.path.isdir('a'), open('a/sub/f').read(), open('dir').read())
                        print(os.stat('dir').st_ino == ia, os.stat('a').st_ino == idir)
                        print(err(lambda: rename2('a', 'missing', EXCHANGE)))
                        print(err(lambda: rename2('a', 'a/sub', EXCHANGE)))
                        """).ok().out();
        assertEquals("ok\nTrue F A\nTrue True\nENOENT\nEINVAL\n", out);
    }

    @Test
    void rename_whenTargetExists_replacesFilesAndEmptyDirectoriesOnly() {
        Path d = dir("replace");
        String out = py(d, PY_ERR + """
                        open('a', 'w').write('A'); open('b', 'w').write('B')
                        fd = os.open('b', os.O_RDONLY)
                        os.rename('a', 'b')
                        print(sorted(os.listdir('.')), open('b').read(), os.read(fd, 10).decode(), os.fstat(fd).st_nlink)
                        os.close(fd)
                        os.mkdir('d1'); os.mkdir('d2'); os.mkdir('d3'); open('d3/x', 'w').close()
                        print(err(lambda: os.rename('d1', 'd2')), err(lambda: os.rename('d2', 'd3')))
                        print(err(lambda: os.rename('b', 'd3')), err(lambda: os.rename('d3', 'b')))
                        print(sorted(os.listdir('.')), os.stat('.').st_nlink)
                        """).ok().out();
        assertEquals("['b'] A B 0\nok ENOTEMPTY\nEISDIR ENOTDIR\n['b', 'd2', 'd3'] 4\n", out);
    }

    @Test
    void link_whenChmodViaOneName_otherNameSharesModeAndCount() {
        Path d = dir("links");
        String out = bashIn(d, """
                        echo data > a
                        mkdir sub
                        ln a b; ln a sub/c
                        stat -c '%h' a
                        chmod 0600 b; chown 123:456 sub/c; setfattr -n user.k -v v a
                        stat -c '%a %u %g %h' a b sub/c
                        getfattr --only-values -n user.k sub/c; echo
                        [ "$(stat -c %i a)" = "$(stat -c %i sub/c)" ] && echo same-inode
                        echo more >> sub/c; cat b
                        rm a; stat -c '%h' b; rm sub/c; stat -c '%h' b
                        """).ok().out();
        assertEquals("3\n600 123 456 3\n600 123 456 3\n600 123 456 3\nv\nsame-inode\ndata\nmore\n2\n1\n", out);
    }

    /** Regression: an inode number changed when the kernel forgot the inode and looked it up again. */
    @Test
    void inodeNumber_whenKernelForgetsTheInode_staysTheSame() {
        Path d = dir("inos");
        String out = bashIn(d, """
                        mkdir sub; echo x > sub/f; ln sub/f g
                        before=$(stat -c %i sub sub/f g)
                        sync; echo 2 > /proc/sys/vm/drop_caches
                        after=$(stat -c %i sub sub/f g)
                        [ "$before" = "$after" ] && echo stable || echo "changed: $before / $after"
                        """).ok().out();
        assertEquals("stable\n", out);
    }

    @Test
    void symlink_whenCreated_readlinkReturnsTargetAndLstatItsLength() {
        Path d = dir("symlinks");
        String out = bashIn(d, """
                        echo t > target
                        ln -s target rel; ln -s /no/such/place dangling; ln -s "$(printf 'x%.0s' $(seq 4000))" long
                        readlink rel dangling; cat rel
                        stat -c '%F %s %a' rel dangling long
                        [ -e dangling ] || echo dangling-missing
                        readlink long | wc -c
                        """).ok().out();
        assertEquals(
                "target\n/no/such/place\nt\nsymbolic link 6 777\nsymbolic link 14 777\nsymbolic link 4000 777\n"
                        + "dangling-missing\n4001\n",
                out);
    }

    @Test
    void mknod_whenFifoDevicesAndSocketMade_statShowsKindModeAndDevice() {
        Path d = dir("special");
        String out = bashIn(d, """
                        mkfifo -m 0640 fifo
                        mknod -m 0600 chr c 1 3
                        mknod -m 0660 blk b 7 129
                        mknod -m 0644 big c 300 70000
                        python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")'
                        stat -c '%n %F %a %t:%T' fifo chr blk big sock
                        ( echo through-the-fifo > fifo & ); timeout 10 cat fifo
                        timeout 10 python3 -c '
                        import socket, threading
                        s = socket.socket(socket.AF_UNIX); s.bind("srv"); s.listen(1)
                        def client():
                            c = socket.socket(socket.AF_UNIX); c.connect("srv"); c.sendall(b"through-the-socket"); c.close()
                        threading.Thread(target=client).start()
                        print(s.accept()[0].recv(100).decode())'
                        """).ok().out();
        assertEquals("""
                        fifo fifo 640 0:0
                        chr character special file 600 1:3
                        blk block special file 660 7:81
                        big character special file 644 12c:11170
                        sock socket 755 0:0
                        through-the-fifo
                        through-the-socket
                        """, out);
    }

    @Test
    void chown_whenRootChangesOwner_andNobodyTries_failsWithEPERM() {
        Path d = dir("owners");
        bashIn(d, "echo x > f; chmod 0666 f; mkdir sub; chmod 0777 sub; chown 4242:4343 sub")
                .ok();
        assertEquals("4242:4343\n", bashIn(d, "stat -c %u:%g sub").ok().out());
        String out = pyAsNobody(d, PY_ERR + """
                        print(err(lambda: os.chown('f', 65534, -1)), err(lambda: os.chmod('f', 0o777)))
                        open('sub/mine', 'w').close()
                        st = os.stat('sub/mine')
                        print(st.st_uid, st.st_gid, err(lambda: os.chown('sub/mine', 0, -1)))
                        """).ok().out();
        assertEquals("EPERM EPERM\n65534 65534 EPERM\n", out);
    }

    @Test
    void setgidDirectory_whenEntriesCreated_givesThemItsGroup() {
        Path d = dir("setgid");
        String out = bashIn(d, """
                        mkdir g; chown 0:777 g; chmod 2775 g
                        touch g/f; mkdir g/sub
                        stat -c '%n %g %a' g/f g/sub
                        """).ok().out();
        assertEquals("g/f 777 644\ng/sub 777 2755\n", out);
    }

    /** Regression: the atime set by utimensat was ignored (stat reported the mtime). */
    @Test
    void utimensat_whenNanosecondTimesNowAndOmitGiven_setsEachTimeAsAsked() {
        Path d = dir("times");
        String out = py(d, """
                        import os, time
                        open('f', 'w').close()
                        os.utime('f', ns=(1_000_000_001, 2_000_000_002))
                        st = os.stat('f'); print(st.st_atime_ns, st.st_mtime_ns)
                        # UTIME_OMIT for mtime: only atime changes
                        import ctypes
                        libc = ctypes.CDLL(None, use_errno=True)
                        class ts(ctypes.Structure):
                            _fields_ = [('sec', ctypes.c_long), ('nsec', ctypes.c_long)]
                        UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
                        def utimens(a, m):
                            arr = (ts * 2)(ts(*a), ts(*m))
                            assert libc.utimensat(-100, b'f', arr, 0) == 0, ctypes.get_errno()
                        utimens((5, 5), (0, UTIME_OMIT))
                        st = os.stat('f'); print(st.st_atime_ns, st.st_mtime_ns)
                        utimens((0, UTIME_OMIT), (7, 123456789))
                        st = os.stat('f'); print(st.st_atime_ns, st.st_mtime_ns)
                        before = time.time_ns()
                        utimens((0, UTIME_NOW), (0, UTIME_NOW))
                        st = os.stat('f')
                        print(abs(st.st_mtime_ns - before) < 5_000_000_000, abs(st.st_atime_ns - before) < 5_000_000_000)
                        """).ok().out();
        assertEquals("1000000001 2000000002\n5000000005 2000000002\n5000000005 7123456789\nTrue True\n", out);
        String touch = bashIn(d, """
                        touch -m -d '2001-02-03 04:05:06.123456789 UTC' f
                        touch -a -d '1999-12-31 23:59:59.5 UTC' f
                        stat -c '%X %Y %y' f
                        mkdir dd; touch -d '2002-02-02 UTC' dd; ln -s f sl; touch -h -d '2003-03-03 UTC' sl
                        stat -c '%Y' dd sl
                        """).ok().out();
        assertEquals("946684799 981173106 2001-02-03 04:05:06.123456789 +0000\n1012608000\n1046649600\n", touch);
    }

    @Test
    void truncate_whenGrownAndShrunk_readsZerosThenKeepsThePrefix() {
        Path d = dir("truncate");
        String out = py(d, """
                        import os
                        open('f', 'wb').write(b'abcdef' * 1000)
                        os.truncate('f', 3)
                        print(open('f', 'rb').read())
                        os.truncate('f', 70000)
                        data = open('f', 'rb').read()
                        print(len(data), data[:3], data[3:] == bytes(69997))
                        fd = os.open('f', os.O_RDWR)
                        os.ftruncate(fd, 1)
                        os.pwrite(fd, b'Z', 5)
                        os.close(fd)
                        print(open('f', 'rb').read())
                        """).ok().out();
        assertEquals("b'abc'\n70000 b'abc' True\nb'a\\x00\\x00\\x00\\x00Z'\n", out);
    }

    @Test
    void xattrs_whenSetInEveryNamespace_listGetReplaceAndRemoveWork() {
        Path d = dir("xattrs");
        String out = py(d, PY_ERR + """
                        open('f', 'w').close()
                        os.setxattr('f', 'user.color', b'blue')
                        os.setxattr('f', 'trusted.t', b'\\x00\\xff\\x10')
                        os.setxattr('f', 'security.s', b'sec')
                        os.setxattr('f', 'user.empty', b'')
                        os.setxattr('f', 'user.big', b'v' * 60000)
                        print(sorted(os.listxattr('f')))
                        print(os.getxattr('f', 'user.color'), os.getxattr('f', 'trusted.t'), len(os.getxattr('f', 'user.big')))
                        print(err(lambda: os.getxattr('f', 'user.missing')))
                        print(err(lambda: os.setxattr('f', 'user.color', b'x', os.XATTR_CREATE)))
                        print(err(lambda: os.setxattr('f', 'user.new', b'x', os.XATTR_REPLACE)))
                        os.setxattr('f', 'user.color', b'red', os.XATTR_REPLACE)
                        os.setxattr('f', 'user.new', b'n', os.XATTR_CREATE)
                        print(os.getxattr('f', 'user.color'), os.getxattr('f', 'user.new'))
                        os.removexattr('f', 'user.color')
                        print(err(lambda: os.removexattr('f', 'user.color')), err(lambda: os.getxattr('f', 'user.color')))
                        print(err(lambda: os.setxattr('f', 'bogus.x', b'1')))
                        os.mkdir('d'); os.setxattr('d', 'user.ondir', b'1'); print(os.listxattr('d'))
                        os.symlink('f', 'l'); os.setxattr('l', 'trusted.onlink', b'2', follow_symlinks=False)
                        print(os.listxattr('l', follow_symlinks=False), 'trusted.onlink' in os.listxattr('f'))
                        libc = ctypes.CDLL(None, use_errno=True)
                        buf = ctypes.create_string_buffer(3)
                        def raw(r):
                            return errno.errorcode[ctypes.get_errno()] if r < 0 else r
                        print(raw(libc.getxattr(b'f', b'user.new', None, 0)), raw(libc.getxattr(b'f', b'user.big', buf, 3)),
                              raw(libc.listxattr(b'f', buf, 3)))
                        """).ok().out();
        assertEquals("""
                        ['security.s', 'trusted.t', 'user.big', 'user.color', 'user.empty']
                        b'blue' b'\\x00\\xff\\x10' 60000
                        ENODATA
                        EEXIST
                        ENODATA
                        b'red' b'n'
                        ENODATA ENODATA
                        ENOTSUP
                        ['user.ondir']
                        ['trusted.onlink'] False
                        1 ERANGE ERANGE
                        """, out);
    }

    /** Regression: trusted.* names were listed to unprivileged callers (ext4 and tmpfs hide them). */
    @Test
    void listxattr_whenCallerIsNotRoot_hidesTrustedNames() {
        Path d = dir("xattr-nobody");
        bashIn(d, "echo x > f; chmod 644 f; setfattr -n user.u -v 1 f; setfattr -n trusted.t -v 2 f")
                .ok();
        String out = pyAsNobody(d, PY_ERR + """
                        print(sorted(os.listxattr('f')), os.getxattr('f', 'user.u'))
                        print(err(lambda: os.getxattr('f', 'trusted.t')), err(lambda: os.setxattr('f', 'user.u', b'2')))
                        """).ok().out();
        assertEquals("['user.u'] b'1'\nENODATA EACCES\n", out);
    }

    /**
     * Regression: POSIX ACLs were stored as opaque xattrs: a named entry granted nothing, the mask
     * did not show in the group bits, and a minimal ACL (which cp -a sets on every directory) did
     * not become the mode, so copies got the wrong mode.
     */
    @Test
    void acl_whenNamedUserEntrySet_grantsAccessAndShowsMaskInMode() {
        Path d = dir("acl");
        String out = bashIn(d, """
                        chmod 0755 .
                        echo data > f; chmod 0640 f
                        runuser -u nobody -- sh -c 'cat f' 2>/dev/null || echo nobody-denied
                        setfacl -m u:nobody:rw f
                        stat -c %A f
                        runuser -u nobody -- sh -c 'echo by-nobody >> f && cat f'
                        getfacl -cp f
                        chmod 0600 f
                        getfacl -cp f | grep -E '^(mask|user:nobody)'
                        runuser -u nobody -- sh -c 'cat f' 2>/dev/null || echo nobody-denied-after-chmod
                        setfacl -b f; stat -c %A f; getfattr -m - -d f | grep -c posix_acl || true
                        """).ok().out();
        assertEquals("""
                        nobody-denied
                        -rw-rw----
                        data
                        by-nobody
                        user::rw-
                        user:nobody:rw-
                        group::r--
                        mask::rw-
                        other::---

                        user:nobody:rw-\t#effective:---
                        mask::---
                        nobody-denied-after-chmod
                        -rw-------
                        0
                        """, out);
    }

    @Test
    void acl_whenMinimalAclSet_becomesTheModeAndIsNotStored() {
        Path d = dir("acl-minimal");
        String out = bashIn(d, """
                        mkdir d; chmod 0700 d
                        # what cp -a does: user::rwx group::r-x other::r-x as the raw xattr
                        setfattr -n system.posix_acl_access -v 0sAgAAAAEABwD/////BAAFAP////8gAAUA/////w== d
                        stat -c %a d
                        getfattr -m - -d d | grep -c posix_acl || true
                        echo x > f; chmod 0600 f; setfacl --set u::rw,g::r,o::r f; stat -c %a f
                        getfattr -m - -d f | grep -c posix_acl || true
                        setfacl -k d  # no default ACL there: removing it still succeeds
                        setfacl -x u:nobody f
                        echo removed-nothing
                        """).ok().out();
        assertEquals("755\n0\n644\n0\nremoved-nothing\n", out);
    }

    @Test
    void acl_whenDirectoryHasDefaultAcl_newEntriesInheritIt() {
        Path d = dir("acl-default");
        String out = bashIn(d, """
                        mkdir p; setfacl -d -m u:nobody:rwx,g::r-x,o::- p
                        (umask 077; touch p/f; mkdir p/sub)
                        getfacl -cp p/f
                        getfacl -cp p/sub | grep -E '^default:user:nobody'
                        stat -c '%a' p/f p/sub
                        mkdir q; (umask 027; touch q/f; mkdir q/d); stat -c '%a' q/f q/d
                        """).ok().out();
        assertEquals("""
                        user::rw-
                        user:nobody:rwx\t#effective:rw-
                        group::r-x\t#effective:r--
                        mask::rw-
                        other::---

                        default:user:nobody:rwx
                        660
                        770
                        640
                        750
                        """, out);
    }

    @Test
    void fallocate_whenAllocatingKeepingSizeAndPunching_sizesAndContentsAreRight() {
        Path d = dir("fallocate");
        String out = bashIn(d, """
                        printf 'abcdefgh%.0s' $(seq 1000) > f
                        fallocate -l 100000 f; stat -c %s f
                        fallocate --keep-size -o 0 -l 500000 f; stat -c %s f
                        fallocate --punch-hole -o 8 -l 16 f; stat -c %s f
                        head -c 32 f | od -An -c | tr -s ' '
                        tail -c +8001 f | tr -d '\\0' | wc -c
                        """).ok().out();
        assertEquals(
                "100000\n100000\n100000\n a b c d e f g h \\0 \\0 \\0 \\0 \\0 \\0 \\0 \\0\n"
                        + " \\0 \\0 \\0 \\0 \\0 \\0 \\0 \\0 a b c d e f g h\n0\n",
                out);
    }

    @Test
    void lseek_whenSeekingDataAndHoles_followsTheFileAndFailsWithENXIOPastTheEnd() {
        Path d = dir("lseek");
        String out = py(d, PY_ERR + """
                        fd = os.open('f', os.O_CREAT | os.O_RDWR)
                        os.pwrite(fd, b'x', 1 << 20)
                        size = os.fstat(fd).st_size
                        data = os.lseek(fd, 0, os.SEEK_DATA)
                        hole = os.lseek(fd, 0, os.SEEK_HOLE)
                        print(size, 0 <= data <= 1 << 20, data <= hole <= size, os.lseek(fd, size - 1, os.SEEK_HOLE) == size)
                        print(err(lambda: os.lseek(fd, size, os.SEEK_DATA)), err(lambda: os.lseek(fd, size + 10, os.SEEK_HOLE)))
                        os.close(fd)
                        """).ok().out();
        assertEquals("1048577 True True True\nENXIO ENXIO\n", out);
    }

    @Test
    void statfs_whenAskedByDfAndStat_reportsSaneNumbers() {
        String out = bashIn(mp, """
                        stat -f -c '%T %l %S' .
                        df -P . | tail -1 | awk '{print ($2 > 0), ($4 >= 0)}'
                        python3 -c 'import os; s = os.statvfs("."); print(s.f_blocks >= s.f_bfree >= 0, s.f_namemax)'
                        """).ok().out();
        assertEquals("fuseblk 255 4096\n1 1\nTrue 255\n", out);
    }

    @Test
    void errno_whenOperationsAreBad_matchesLinux() {
        Path d = dir("errno");
        String out = py(d, PY_ERR + """
                        open('f', 'w').close(); os.makedirs('d/sub')
                        print('ENOENT', err(lambda: open('missing')), err(lambda: os.stat('missing/x')), err(lambda: os.unlink('missing')))
                        print('EEXIST', err(lambda: os.mkdir('d')), err(lambda: os.symlink('x', 'f')), err(lambda: os.link('f', 'd')))
                        print('ENOTDIR', err(lambda: open('f/x')), err(lambda: os.mkdir('f/x')), err(lambda: os.rmdir('f')))
                        print('EISDIR', err(lambda: open('d', 'w')), err(lambda: os.unlink('d')))
                        print('EINVAL', err(lambda: os.rename('d', 'd/sub/inside')), err(lambda: os.readlink('f')))
                        print('EPERM', err(lambda: os.link('d', 'dlink')))
                        long = 'n' * 256
                        print('ENAMETOOLONG', err(lambda: open(long, 'w')), err(lambda: os.stat(long)), err(lambda: os.mkdir(long)))
                        print('ok', err(lambda: open('n' * 255, 'w').close()))
                        print('ENOTEMPTY', err(lambda: os.rmdir('d')))
                        """).ok().out();
        assertEquals("""
                        ENOENT ENOENT ENOENT ENOENT
                        EEXIST EEXIST EEXIST EEXIST
                        ENOTDIR ENOTDIR ENOTDIR ENOTDIR
                        EISDIR EISDIR EISDIR
                        EINVAL EINVAL EINVAL
                        EPERM EPERM
                        ENAMETOOLONG ENAMETOOLONG ENAMETOOLONG ENAMETOOLONG
                        ok ok
                        ENOTEMPTY ENOTEMPTY
                        """, out);
    }

    @Test
    void permissions_whenNobodyWritesRootsFilesAndDirectories_failsWithEACCES() {
        Path d = dir("perms");
        bashIn(d, """
                        chmod 0755 .
                        echo root > f; chmod 0644 f
                        mkdir closed; chmod 0755 closed
                        mkdir secret; chmod 0700 secret; echo s > secret/x
                        mkdir shared; chmod 1777 shared; echo r > shared/roots
                        """).ok();
        String out = pyAsNobody(d, PY_ERR + """
                        print(open('f').read().strip(), err(lambda: open('f', 'a')), err(lambda: os.truncate('f', 0)))
                        print(err(lambda: open('closed/new', 'w')), err(lambda: os.mkdir('closed/d')), err(lambda: os.unlink('f')))
                        print(err(lambda: os.listdir('secret')), err(lambda: open('secret/x')))
                        open('shared/mine', 'w').write('m')
                        print(err(lambda: os.unlink('shared/roots')), err(lambda: os.rename('shared/roots', 'shared/x')))
                        print(err(lambda: os.unlink('shared/mine')))
                        """).ok().out();
        assertEquals("root EACCES EACCES\nEACCES EACCES EACCES\nEACCES EACCES\nEPERM EPERM\nok\n", out);
        assertEquals("root\n", bashIn(d, "cat f").ok().out());
    }

    /**
     * Regression: a write-out of a shared writable mapping of a file opened O_APPEND went to the
     * end of the file instead of the mapped page (the daemon re-applied O_APPEND to the kernel's
     * page write-out), so the page's data was lost and the file grew.
     */
    @Test
    void mmap_whenFileOpenedWithAppend_writeOutGoesToTheMappedPage() {
        Path d = dir("mmap-append");
        String out = py(d, """
                        import os, mmap
                        fd = os.open('f', os.O_CREAT | os.O_RDWR | os.O_APPEND, 0o644)
                        os.write(fd, b'.' * 8192)
                        m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                        m[0:5] = b'HELLO'
                        m.flush(); m.close(); os.close(fd)
                        open('/proc/sys/vm/drop_caches', 'w').write('1')
                        fd = os.open('f', os.O_RDONLY | os.O_DIRECT)
                        m = mmap.mmap(-1, 16384)
                        n = os.readv(fd, [m])
                        print(n, m[0:6])
                        """).ok().out();
        assertEquals("8192 b'HELLO.'\n", out);
    }
    /** Namespace operations at random, on the mount and on a twin directory of the host's filesystem. */
    private static final String NAMESPACE_MODEL = """
            import os, random, sys, errno, ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            A, B, seed, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
            random.seed(seed)
            def rpath():
                return '/'.join(random.choice('abcd') for _ in range(random.randint(1, 3)))
            def do(root, op, x, y, arg):
                p = lambda q: os.path.join(root, q)
                try:
                    if op == 'mkdir': os.mkdir(p(x))
                    elif op == 'create': os.close(os.open(p(x), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                    elif op == 'write':
                        fd = os.open(p(x), os.O_WRONLY | os.O_APPEND); os.write(fd, y.encode()); os.close(fd)
                    elif op == 'rename':
                        if libc.renameat2(-100, p(x).encode(), -100, p(y).encode(), arg) != 0:
                            e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
                    elif op == 'link': os.link(p(x), p(y))
                    elif op == 'unlink': os.unlink(p(x))
                    elif op == 'rmdir': os.rmdir(p(x))
                    elif op == 'symlink': os.symlink(y, p(x))
                    elif op == 'chmod': os.chmod(p(x), arg)
                    return 'ok'
                except OSError as e:
                    return errno.errorcode[e.errno]
            def snapshot(root):
                raw = []
                for dp, dns, fns in os.walk(root):
                    for n in dns + fns:
                        full = os.path.join(dp, n)
                        raw.append((os.path.relpath(full, root), full, os.lstat(full)))
                raw.sort(key=lambda t: t[0])
                out, inos = [], {}
                for rel, full, st in raw:
                    kind = 'l' if os.path.islink(full) else 'd' if os.path.isdir(full) else 'f'
                    data = open(full, 'rb').read() if kind == 'f' else os.readlink(full) if kind == 'l' else ''
                    out.append((rel, oct(st.st_mode), st.st_nlink, inos.setdefault(st.st_ino, len(inos)), data))
                return out
            ops = ['mkdir', 'create', 'create', 'write', 'rename', 'rename', 'link', 'unlink', 'rmdir', 'symlink', 'chmod']
            for i in range(steps):
                op, x, y = random.choice(ops), rpath(), rpath()
                arg = random.choice([0, 0, 1, 2]) if op == 'rename' else random.choice([0o600, 0o755, 0o640])
                if op == 'write':
                    y = 'w%d' % i
                ra, rb = do(A, op, x, y, arg), do(B, op, x, y, arg)
                if ra != rb:
                    sys.exit('step %d %s %s %s %o: txfs %s, host %s' % (i, op, x, y, arg, ra, rb))
                if i % 300 == 0:
                    open('/proc/sys/vm/drop_caches', 'w').write('2')  # the kernel forgets, looks up again
                if i % 50 == 0 or i == steps - 1:
                    sa, sb = snapshot(A), snapshot(B)
                    if sa != sb:
                        sys.exit('after step %d: txfs has %s, host has %s' % (
                            i, [e for e in sa if e not in sb][:4], [e for e in sb if e not in sa][:4]))
            print('same')
            """;

    /** File content operations at random (fsx style), on the mount and on a twin file on the host. */
    private static final String CONTENT_MODEL = """
            import os, random, sys, mmap, ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            A, B, seed, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
            random.seed(seed)
            MAX = 20 << 20  # past the tree's 16 MiB per-file spill
            fds = [os.open(f, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644) for f in (A, B)]
            def both(f):
                for fd in fds:
                    f(fd)
            def check(step):
                sizes = [os.fstat(fd).st_size for fd in fds]
                if sizes[0] != sizes[1]:
                    sys.exit('step %d: size %d, host %d' % (step, sizes[0], sizes[1]))
                a, b = (os.pread(fd, sizes[0] + 1, 0) for fd in fds)
                if a != b:
                    sys.exit('step %d: content differs at %d' % (step, next(i for i in range(len(a)) if a[i] != b[i])))
            def falloc(fd, mode, off, n):
                assert libc.fallocate(fd, mode, ctypes.c_long(off), ctypes.c_long(n)) == 0, ctypes.get_errno()
            for step in range(steps):
                op = random.choice(['w', 'w', 'w', 't', 'r', 'm', 'fa', 'ph', 'fs', 're'])
                off, n = random.randrange(0, MAX), random.randrange(1, 300000)
                size = os.fstat(fds[1]).st_size
                if op == 'w':
                    data = os.urandom(n); both(lambda fd: os.pwrite(fd, data, off))
                elif op == 't':
                    both(lambda fd: os.ftruncate(fd, off))
                elif op == 'r':
                    if os.pread(fds[0], n, off) != os.pread(fds[1], n, off):
                        sys.exit('step %d: read of %d at %d differs' % (step, n, off))
                elif op == 'm' and size > 0:
                    at = off % size; k = min(n, size - at); data = os.urandom(k)
                    def mapped(fd):
                        m = mmap.mmap(fd, size); m[at:at + k] = data; m.flush(); m.close()
                    both(mapped)
                elif op == 'fa':
                    mode = random.choice([0, 1])  # allocate, or FALLOC_FL_KEEP_SIZE
                    both(lambda fd: falloc(fd, mode, off, n))
                elif op == 'ph':
                    both(lambda fd: falloc(fd, 3, off, n))  # PUNCH_HOLE | KEEP_SIZE
                elif op == 'fs':
                    os.fsync(fds[0])
                elif op == 're':
                    os.close(fds[0])
                    open('/proc/sys/vm/drop_caches', 'w').write('1')  # next reads come from the daemon
                    fds[0] = os.open(A, os.O_RDWR)
                if step % 50 == 0:
                    check(step)
            check(steps)
            print('same')
            """;

    @Test
    void namespace_whenRandomOperationsRunOnMountAndHost_errnosAndTreesAgree() {
        Path d = dir("namespace-model");
        for (int seed = 1; seed <= 3; seed++) {
            Path host = work.resolve("namespace-twin-" + seed);
            Path mine = d.resolve("run-" + seed);
            bash(QUICK, "rm -rf \"$1\"; mkdir \"$1\" \"$2\"", host.toString(), mine.toString())
                    .ok();
            Result r =
                    py(Duration.ofMinutes(2), d, NAMESPACE_MODEL, mine.toString(), host.toString(), "" + seed, "2000");
            assertEquals("same\n", r.out(), r::describe);
        }
    }

    @Test
    void content_whenRandomWritesTruncatesMmapsAndFallocatesRun_matchesTheHost() {
        Path d = dir("content-model");
        Path host = work.resolve("content-twin");
        Result r = py(Duration.ofMinutes(2), d, CONTENT_MODEL, d.resolve("f").toString(), host.toString(), "7", "1200");
        assertEquals("same\n", r.out(), r::describe);
    }
}
