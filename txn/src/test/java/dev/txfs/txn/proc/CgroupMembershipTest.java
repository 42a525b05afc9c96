package dev.txfs.txn.proc;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Runs where the cgroup v2 hierarchy is writable (root, or a delegated subtree); skipped elsewhere. */
class CgroupMembershipTest extends MembershipContractTest {
    /** Every directory a test opened or made: all must be gone after close. */
    private final List<Path> dirs = new ArrayList<>();

    private Cgroup2Mount mount;

    @Override
    Membership open(String instance) {
        mount = Cgroup2Mount.find().orElse(null);
        Assumptions.assumeTrue(mount != null, "no cgroup2 hierarchy");
        return openTracked(instance);
    }

    private CgroupMembership openTracked(String instance) {
        try {
            return CgroupMembership.open(instance);
        } catch (IOException e) {
            Assumptions.abort("cgroup2 not writable here: " + e.getMessage());
            throw new AssertionError(e);
        }
    }

    @Override
    Optional<String> resolveUncached(long tid) {
        return ((CgroupMembership) membership).resolveUncached(tid);
    }

    @Override
    void assertCleanedUp() {
        for (Path d : dirs) {
            assertFalse(Files.exists(d), d + " is left behind");
        }
    }

    /** The transaction's one cgroup, which must be gone after close. */
    private Path txnDir(String txnId) {
        List<Path> all = ((CgroupMembership) membership).cgroupDirs(txnId);
        assertEquals(1, all.size(), all::toString);
        dirs.add(all.get(0));
        return all.get(0);
    }

    /** Where a transaction cgroup for processes in {@code cgroupPath} is made. */
    private Path txnDirUnder(String cgroupPath, String txnId) {
        Path d = mount.dirOf(cgroupPath).orElseThrow().resolve(((CgroupMembership) membership).cgroupName(txnId));
        dirs.add(d);
        return d;
    }

    private static String cgroupOf(long pid) {
        return ProcInfo.cgroup2Path(pid).orElseThrow();
    }

    @Test
    void create_whenCgroup2IsWritable_choosesCgroupMode() {
        try (Membership m = Membership.create(Membership.Mode.CGROUP, instance + "-auto")) {
            assertEquals(Membership.Mode.CGROUP, m.mode());
        }
        try (Membership m = Membership.create(Membership.Mode.PARENT_WALK, instance + "-pw")) {
            assertEquals(Membership.Mode.PARENT_WALK, m.mode());
        }
    }

    /**
     * Finding D of the review of issue 14: {@code add} checked a process's uids, then wrote its pid
     * to {@code cgroup.procs}; what ran as that pid at the write (a reused pid, or the same process
     * after a setuid exec) was not checked. Here the root execs into another user's process between
     * the write and the second check: it goes back where it was and the add fails as the first
     * check would have.
     */
    @Test
    void add_whenTheRootBecomesAnotherUsersDuringTheMove_movesItBackAndFails() throws Exception {
        assumeRootAndSetpriv();
        Process bash = procs.bash("read x; exec setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30");
        String before = cgroupOf(bash.pid());
        ((CgroupMembership) membership).afterMoveForTests = p -> turnToNobody(bash, p.pid());
        txnDirUnder(before, "t1");

        assertThrows(Membership.ForeignProcessException.class, () -> add("t1", ref(bash)));

        assertEquals(before, cgroupOf(bash.pid()));
        assertEquals(NONE, membership.resolve(bash.pid()));
        assertFalse(membership.hasMembers("t1"));
    }

    /** The same race for a descendant: it goes back, the add fails, and the root leaves too. */
    @Test
    void add_whenADescendantBecomesAnotherUsersDuringTheMove_movesItBackAndFails() throws Exception {
        assumeRootAndSetpriv();
        Process bash = procs.bash(
                "exec 3<&0; (read x <&3; exec setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30) & wait");
        long child = Procs.awaitChildren(bash.pid(), 1).get(0);
        String before = cgroupOf(bash.pid());
        ((CgroupMembership) membership).afterMoveForTests = p -> {
            if (p.pid() == child) {
                turnToNobody(bash, child);
            }
        };
        txnDirUnder(before, "t1");

        Membership.ForeignProcessException e =
                assertThrows(Membership.ForeignProcessException.class, () -> add("t1", ref(bash)));

        assertEquals(child, e.process().pid(), e.getMessage());
        assertEquals(before, cgroupOf(child));
        assertEquals(before, cgroupOf(bash.pid()));
        assertEquals(NONE, membership.resolve(child));
        assertFalse(membership.hasMembers("t1"));
    }

    /** Lets {@code bash} (or the child reading its input) exec into nobody's {@code sleep} as {@code pid}. */
    private static void turnToNobody(Process bash, long pid) {
        try {
            Procs.writeLine(bash, "go");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Procs.awaitTrue(() -> ProcInfo.uids(pid).map(u -> u.real() == 65534).orElse(false), "nobody's sleep");
    }

    @Test
    void add_movesTheRootAndItsChildrenIntoTheTransactionCgroup() throws Exception {
        Process bash = procs.bash("sleep 30 & wait");
        long child = Procs.awaitChildren(bash.pid(), 1).get(0);
        String before = cgroupOf(bash.pid());

        add("t1", ref(bash));

        Path dir = txnDir("t1");
        assertTrue(Files.isDirectory(dir));
        assertEquals(txnDirUnder(before, "t1"), dir, "made inside the root's own cgroup");
        String path = mount.pathOf(dir);
        assertEquals(path, cgroupOf(bash.pid()));
        assertEquals(path, cgroupOf(child));
    }

    /**
     * Finding 8 of issue 14: transaction cgroups sat at the top of the hierarchy, so joining one
     * took a process out of its own cgroup and every limit on it. Now the root and its children
     * stay below the cgroup they were in, and the pids limit set there still counts them.
     */
    @Test
    void add_keepsEveryProcessBelowItsOwnCgroupAndItsLimits() throws Exception {
        Path limited =
                Files.createDirectory(mount.dirOf(cgroupOf(SELF)).orElseThrow().resolve(instance + "-limited"));
        Path other =
                Files.createDirectory(mount.dirOf(cgroupOf(SELF)).orElseThrow().resolve(instance + "-other"));
        String limitedPath = mount.pathOf(limited);
        String otherPath = mount.pathOf(other);
        boolean pids = Files.readString(limited.resolve("cgroup.controllers")).contains("pids");
        Process bash = procs.bash("read x; sleep 30 & echo $!; wait");
        try {
            if (pids) {
                Files.writeString(limited.resolve("pids.max"), "20");
            }
            Files.writeString(limited.resolve("cgroup.procs"), Long.toString(bash.pid()));
            Procs.writeLine(bash, "go");
            long sleep = Long.parseLong(Procs.readLine(bash));
            procs.track(sleep);
            // a second descendant in a cgroup of its own keeps that one
            Files.writeString(other.resolve("cgroup.procs"), Long.toString(sleep));

            add("t1", ref(bash));

            String rootNow = cgroupOf(bash.pid());
            String sleepNow = cgroupOf(sleep);
            assertTrue(rootNow.startsWith(limitedPath + "/"), rootNow + " is below " + limitedPath);
            assertTrue(sleepNow.startsWith(otherPath + "/"), sleepNow + " is below " + otherPath);
            assertEquals(Optional.of("t1"), membership.resolve(bash.pid()));
            assertEquals(Optional.of("t1"), membership.resolve(sleep));
            assertEquals(2, ((CgroupMembership) membership).cgroupDirs("t1").size());
            if (pids) {
                assertEquals(
                        "1", Files.readString(limited.resolve("pids.current")).strip(), "still counted there");
            }

            membership.remove("t1");

            assertEquals(limitedPath, cgroupOf(bash.pid()));
            assertEquals(otherPath, cgroupOf(sleep));
        } finally {
            Procs.kill(bash);
            procs.close();
            Path home = mount.dirOf(cgroupOf(SELF)).orElseThrow();
            for (Path d : List.of(limited, other)) {
                for (long pid : CgroupFiles.readPids(d)) {
                    CgroupFiles.writePid(home, pid);
                }
                Procs.awaitTrue(() -> deleted(d), "removing " + d);
            }
        }
    }

    /**
     * A cgroup named like a transaction's proves nothing: only the cgroups the membership made
     * count, so a user who may make cgroups cannot join (and read) another user's transaction.
     */
    @Test
    void resolve_inALookAlikeCgroupOfTheSameName_isNotAMember() throws Exception {
        Process root = procs.sleep();
        add("t1", ref(root));
        Path parent =
                Files.createDirectory(mount.dirOf(cgroupOf(SELF)).orElseThrow().resolve(instance + "-fake"));
        Path fake = Files.createDirectory(parent.resolve(((CgroupMembership) membership).cgroupName("t1")));
        Process intruder = procs.sleep();
        try {
            Files.writeString(fake.resolve("cgroup.procs"), Long.toString(intruder.pid()));

            assertEquals(Optional.of("t1"), membership.resolve(root.pid()));
            assertEquals(NONE, membership.resolve(intruder.pid()));
        } finally {
            Procs.kill(intruder);
            Procs.awaitTrue(() -> deleted(fake) && deleted(parent), "removing the look-alike");
        }
    }

    private static boolean deleted(Path dir) {
        try {
            Files.deleteIfExists(dir);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void resolve_whenAGrandchildDoubleForks_itStaysInTheTransaction() throws Exception {
        Process bash = procs.bash("read x; (sleep 30 & echo $!); sleep 30");
        String before = cgroupOf(bash.pid());
        add("t1", ref(bash));
        Path dir = txnDir("t1");

        Procs.writeLine(bash, "go");
        long orphan = Long.parseLong(Procs.readLine(bash));
        procs.track(orphan);
        Procs.awaitTrue(() -> !ProcInfo.isAncestor(bash.pid(), orphan), "the subshell to exit");

        assertEquals(Optional.of("t1"), membership.resolve(orphan));
        Procs.kill(bash);
        assertTrue(membership.hasMembers("t1"), "the orphan keeps the transaction alive");
        membership.remove("t1");
        assertEquals(before, cgroupOf(orphan), "moved back where its root came from");
        assertFalse(Files.exists(dir));
    }

    @Test
    void remove_movesSurvivorsBackToTheirOriginalCgroup() throws Exception {
        Process bash = procs.bash("sleep 30 & wait");
        long child = Procs.awaitChildren(bash.pid(), 1).get(0);
        String before = cgroupOf(bash.pid());
        add("t1", ref(bash));
        Path dir = txnDir("t1");

        membership.remove("t1");

        assertEquals(before, cgroupOf(bash.pid()));
        assertEquals(before, cgroupOf(child));
        assertFalse(Files.exists(dir));
    }

    @Test
    void remove_whenAMemberMadeASubCgroup_drainsAndRemovesItToo() throws Exception {
        Process bash = procs.bash("sleep 30 & wait");
        long child = Procs.awaitChildren(bash.pid(), 1).get(0);
        String before = cgroupOf(child);
        add("t1", ref(bash));
        Path dir = txnDir("t1");
        Path sub = dir.resolve("sub");
        Files.createDirectory(sub);
        Files.write(sub.resolve("cgroup.procs"), Long.toString(child).getBytes(US_ASCII), StandardOpenOption.WRITE);
        assertEquals(Optional.of("t1"), membership.resolve(child), "a sub-cgroup is still the transaction");

        membership.remove("t1");

        assertFalse(Files.exists(dir));
        assertEquals(before, cgroupOf(child));
    }

    @Test
    void close_withLiveMembers_movesThemBackAndRemovesEveryDirectory() throws Exception {
        Process a = procs.sleep();
        Process b = procs.sleep();
        String before = cgroupOf(a.pid());
        add("a", ref(a));
        add("b", ref(b));
        txnDir("a");
        txnDir("b");

        membership.close();

        assertEquals(before, cgroupOf(a.pid()));
        assertEquals(before, cgroupOf(b.pid()));
        assertCleanedUp();
        assertEquals(NONE, membership.resolve(a.pid()));
        assertThrows(IOException.class, () -> add("c", ref(a)));
    }

    @Test
    void add_whenTheRootIsInAnotherInstancesTransaction_isRefused() throws Exception {
        Process root = procs.sleep();
        try (Membership other = openTracked(instance + "-other")) {
            other.add("t1", ref(root), ME, false);

            IOException e = assertThrows(IOException.class, () -> add("t2", ref(root)));

            assertTrue(e.getMessage().contains("another txfs daemon"), e.getMessage());
            assertEquals(Optional.of("t1"), other.resolve(root.pid()));
            assertEquals(NONE, membership.resolve(root.pid()));
        }
    }

    @Test
    void add_whenTheRootIsTheDaemonItself_isRefused() {
        IOException e = assertThrows(IOException.class, () -> add("t1", ref(SELF)));

        assertTrue(e.getMessage().contains("daemon itself"), e.getMessage());
        assertFalse(Files.exists(txnDirUnder(cgroupOf(SELF), "t1")));
    }

    @Test
    void open_removesEmptyCgroupsLeftByACrashedDaemon() throws Exception {
        String name = instance + "-crashed";
        Path stale = mount.dirOf(cgroupOf(SELF)).orElseThrow().resolve(TxnCgroups.PREFIX + name + "-old");
        Files.createDirectories(stale.resolve("nested"));
        dirs.add(stale);

        try (Membership m = openTracked(name)) {
            assertFalse(Files.exists(stale));
        }
    }

    @Test
    void add_whenItsCgroupIsLeftOverAndPopulated_failsClearly() throws Exception {
        Process p = procs.sleep();
        Path home = mount.dirOf(cgroupOf(p.pid())).orElseThrow();
        Path left = txnDirUnder(cgroupOf(p.pid()), "t1");
        Files.createDirectory(left);
        Files.write(left.resolve("cgroup.procs"), Long.toString(p.pid()).getBytes(US_ASCII), StandardOpenOption.WRITE);
        try {
            IOException e = assertThrows(IOException.class, () -> add("t1", ref(procs.sleep())));
            assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        } finally {
            Files.write(
                    home.resolve("cgroup.procs"), Long.toString(p.pid()).getBytes(US_ASCII), StandardOpenOption.WRITE);
            deleteQuietly(left);
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
