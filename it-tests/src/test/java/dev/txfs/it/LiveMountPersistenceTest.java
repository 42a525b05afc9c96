package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * What survives the daemon: a clean {@code txfs umount} and mount again keeps content, modes,
 * owners, times, links, special files, xattrs and ACLs; a {@code kill -9} of the daemon keeps every
 * fsync'ed file, {@code txfs umount} clears the dead mount and the store verifies clean. Run:
 * {@code mvn -o -pl it-tests verify -Dtxfs.it.skip=false -Dtest=LiveMountPersistenceTest}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LiveMountPersistenceTest extends LiveMountBase {
    /** Metadata and content of every name ($1), symlinks not followed; directory sizes left out. */
    private static final String STATE = """
            cd "$1"
            find . -printf '%p %y %m %U %G %n %T@ %l\\n' | LC_ALL=C sort
            find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
            find . \\( -type b -o -type c \\) -print0 | xargs -0r stat -c '%n %t %T' | LC_ALL=C sort
            find . -print0 | LC_ALL=C sort -z | xargs -0 getfattr -h -d -m - --absolute-names
            """;

    @Test
    @Order(1)
    void remount_afterCleanUmount_keepsContentModesLinksAndXattrs() {
        Path d = dir("state");
        bashIn(d, """
                        cp -a /usr/include/linux/can .
                        echo hello > f; chmod 0640 f; chown 12:34 f
                        ln f hard1; mkdir sub; ln f sub/hard2
                        ln -s f sym; ln -s /nowhere dangling
                        mkfifo fifo; mknod dev c 1 7
                        head -c 3000000 /dev/urandom > big
                        truncate -s 256M sparse
                        setfattr -n user.k -v value f; setfattr -n trusted.t -v 0x0001 big
                        setfacl -m u:nobody:r f; mkdir acl; setfacl -d -m u:nobody:rx acl
                        mkdir -m 2750 sgid; mkdir -m 1777 sticky
                        touch -d '2000-01-01 00:00:00.5' big
                        """).ok();
        String before = bash(QUICK, STATE, d.toString()).ok().out();
        assertTrue(before.contains("./sub/hard2 f 640 12 34 3 "), before);
        txfs("umount", mp.toString()).ok();
        assertFalse(isMounted());
        assertEquals(List.of(), daemonPids(), "the daemon exits after umount");
        mount();
        String after = bash(QUICK, STATE, d.toString()).ok().out();
        assertEquals(before, after);
        assertEquals("hello\n", bashIn(d, "cat sub/hard2").ok().out());
    }

    @Test
    @Order(2)
    void kill9_afterFsync_keepsTheFsyncedFileAndUmountClearsTheDeadMount() {
        Path d = dir("crash");
        py(d, """
                        import os
                        fd = os.open('synced', os.O_CREAT | os.O_WRONLY, 0o600)
                        os.write(fd, b'durable ' * 100000)
                        os.fsync(fd)
                        os.close(fd)
                        """).ok();
        List<Long> pids = daemonPids();
        assertEquals(1, pids.size(), "one daemon serves " + mp + ": " + pids);
        bash(QUICK, "kill -9 \"$1\"", String.valueOf(pids.get(0))).ok();
        bash(
                        QUICK,
                        "for i in $(seq 100); do kill -0 \"$1\" 2>/dev/null || exit 0; sleep 0.1; done; exit 1",
                        String.valueOf(pids.get(0)))
                .ok();
        Result dead = bash(QUICK, "stat \"$1\" 2>&1 || true", mp.toString());
        assertTrue(dead.out().contains("Transport endpoint is not connected"), dead.out());
        txfs("umount", mp.toString()).ok();
        assertFalse(isMounted(), "txfs umount clears the dead mount");
        mount();
        String out = bashIn(d, "stat -c '%s %a' synced; head -c 16 synced; echo")
                .ok()
                .out();
        assertEquals("800000 600\ndurable durable \n", out);
        Result verify = txfs("--store", store.toString(), "verify").ok();
        assertTrue(verify.out().startsWith("ok: "), verify.out());
    }
}
