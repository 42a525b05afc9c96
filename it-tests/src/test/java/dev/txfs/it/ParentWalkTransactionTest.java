package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Transactions on a mount with {@code --membership parent-walk}: a process is in the transaction
 * when the transaction's root (the shell that ran {@code txfs begin}) is on its parent-pid chain.
 *
 * <p>A double-forked child (the way daemons detach: {@code ( cmd & )}, or {@code setsid} and
 * fork) is re-parented to init once its parent exits, and from then on its new processes are
 * <b>outside</b> the transaction: they read the live tree, without the transaction's changes, and
 * what they write goes to the live tree at once, visible to everyone; the transaction does not see
 * it (snapshot isolation) and its commit merges with it like with any outside change. This is
 * deterministic: the kernel re-parents the children before their parent's exit can be waited for,
 * and a process that never made a request inside is resolved fresh. (A thread that made a request
 * while still inside may be served as inside for up to 1 s more: the resolution cache.) In cgroup
 * mode the same child would stay in.
 */
class ParentWalkTransactionTest extends TransactionItBase {
    static Result mounted;

    @BeforeAll
    static void parentWalk() {
        mounted = remount("--membership", "parent-walk");
    }

    /** Issue 17: nothing said that a mount had parent-pid membership, where double-forked processes escape. */
    @Test
    void mount_withParentWalk_namesTheMode_andWarnsThatDoubleForkedProcessesEscape() {
        List<String> out = mounted.out().lines().toList();
        assertTrue(out.get(0).startsWith("mounted "), mounted::describe);
        assertTrue(out.get(1).startsWith("membership: parent-walk ("), mounted::describe);
        assertEquals(
                List.of("txfs: warning: parent-pid membership: a process that double-forks (daemonizes) escapes its"
                        + " transaction: it reads and writes the live tree"),
                mounted.stderr().lines().toList(),
                mounted::describe);
    }

    @Test
    void beginWriteCommit_andAbort_work_andStatusNamesTheMode() throws Exception {
        Path d = dir("basic");
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/basic"
                    "$T" begin > /dev/null
                    echo a > f
                    "$T" status > "$W/status"
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" commit > /dev/null
                    """);
            await(w.resolve("written"), p);
            String status = Files.readString(w.resolve("status"));
            assertTrue(status.startsWith("context: "), status);
            assertTrue(status.contains("membership: parent-walk\n"), status);
            assertTrue(status.contains("added:    /basic/f"), status);
            assertFalse(Files.exists(d.resolve("f")), "outside, no f while open");
            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertEquals("a\n", Files.readString(d.resolve("f")), "after commit");

            String before = liveTree();
            removeTree(w);
            Files.createDirectories(w);
            Process q = shell(w, """
                    cd "$M/basic"
                    "$T" begin > /dev/null
                    echo b > f; echo c > g
                    cat f
                    "$T" abort > /dev/null
                    cat f
                    """);
            assertEquals("b\na\n", finish(q, w));
            assertEquals(before, liveTree(), "after abort the tree id is the one from before");
            assertFalse(Files.exists(d.resolve("g")));
            Result outside = sh("cd \"$2\" && \"$1\" status", TXFS.toString(), mp.toString())
                    .ok();
            assertTrue(outside.out().startsWith("context: live tree\nmembership: parent-walk\n"), outside::describe);
        } finally {
            removeTree(w);
        }
    }

    @Test
    void childrenAndGrandchildren_areInside_aProcessStartedOutsideIsNot() throws Exception {
        Path d = dir("family");
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/family"
                    # started before begin: a descendant of the root all the same
                    ( while [ ! -e "$W/look" ]; do sleep 0.02; done; cat f > "$W/older-child" ) &
                    "$T" begin > /dev/null
                    echo in > f
                    bash -c 'cat f' > "$W/child"
                    bash -c 'bash -c "cat f"' > "$W/grandchild"
                    touch "$W/look"
                    wait
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" abort > /dev/null
                    """);
            await(w.resolve("written"), p);
            assertEquals("in\n", Files.readString(w.resolve("child")));
            assertEquals("in\n", Files.readString(w.resolve("grandchild")));
            assertEquals("in\n", Files.readString(w.resolve("older-child")));
            Result outside = sh("cat \"$1/f\" 2>&1 || echo absent", d.toString());
            assertTrue(outside.out().endsWith("absent\n"), outside::describe);
            Files.createFile(w.resolve("go"));
            finish(p, w);
        } finally {
            removeTree(w);
        }
    }

    /** See the class javadoc: once re-parented to init, a daemon's new processes are outside. */
    @Test
    void aDoubleForkedChild_reparentedToInit_isOutside() throws Exception {
        Path d = dir("daemon");
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/daemon"
                    "$T" begin > /dev/null
                    echo in > f
                    ( setsid bash -c '
                        while [ ! -e "$W/orphaned" ]; do sleep 0.02; done
                        ps -o ppid= -p $$ | tr -d " " > "$W/daemon-ppid"
                        (cat f 2>/dev/null || echo absent) > "$W/daemon-read"
                        bash -c "echo by-daemon > daemon-wrote"
                        touch "$W/daemon-done"' & )
                    touch "$W/orphaned"
                    while [ ! -e "$W/daemon-done" ]; do sleep 0.02; done
                    cat f > "$W/inside-read"
                    (cat daemon-wrote 2>/dev/null || echo absent) > "$W/inside-sees-daemon"
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" commit > /dev/null
                    """);
            await(w.resolve("written"), p);
            long ppid =
                    Long.parseLong(Files.readString(w.resolve("daemon-ppid")).strip());
            assertFalse(
                    ProcessHandle.current().pid() == ppid || p.pid() == ppid,
                    "re-parented away from the shell: ppid " + ppid);
            assertEquals("absent\n", Files.readString(w.resolve("daemon-read")), "the daemon reads the live tree");
            assertEquals("in\n", Files.readString(w.resolve("inside-read")));
            assertEquals("by-daemon\n", Files.readString(d.resolve("daemon-wrote")), "its write is live at once");
            assertEquals(
                    "absent\n", Files.readString(w.resolve("inside-sees-daemon")), "the transaction does not see it");
            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertEquals("in\n", Files.readString(d.resolve("f")), "after commit: the transaction's file");
            assertEquals("by-daemon\n", Files.readString(d.resolve("daemon-wrote")), "and the daemon's, merged");
        } finally {
            removeTree(w);
        }
    }
}
