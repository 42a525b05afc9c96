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

    private Path top;
    private boolean topExisted;

    @Override
    Membership open(String instance) {
        Cgroup2Mount mount = Cgroup2Mount.find().orElse(null);
        Assumptions.assumeTrue(mount != null, "no cgroup2 hierarchy");
        top = mount.mountPoint().resolve(CgroupMembership.TOP);
        topExisted = Files.exists(top);
        return openTracked(instance);
    }

    private CgroupMembership openTracked(String instance) {
        try {
            CgroupMembership m = CgroupMembership.open(instance, System::nanoTime);
            dirs.add(m.instanceDir());
            return m;
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
        if (top != null && !topExisted) {
            assertFalse(Files.exists(top), top + " is left behind");
        }
    }

    private Path txnDir(String txnId) {
        Path d = ((CgroupMembership) membership).instanceDir().resolve(txnId);
        dirs.add(d);
        return d;
    }

    private static String cgroupOf(long pid) {
        return ProcInfo.cgroup2Path(pid).orElseThrow();
    }

    @Test
    void create_whenCgroup2IsWritable_choosesCgroupMode() {
        try (Membership m = Membership.create(Membership.Mode.CGROUP, instance + "-auto")) {
            dirs.add(((CgroupMembership) m).instanceDir());
            assertEquals(Membership.Mode.CGROUP, m.mode());
        }
        try (Membership m = Membership.create(Membership.Mode.PARENT_WALK, instance + "-pw")) {
            assertEquals(Membership.Mode.PARENT_WALK, m.mode());
        }
    }

    @Test
    void add_movesTheRootAndItsChildrenIntoTheTransactionCgroup() throws Exception {
        Process bash = procs.bash("sleep 30 & wait");
        long child = Procs.awaitChildren(bash.pid(), 1).get(0);

        membership.add("t1", ref(bash));

        Path dir = txnDir("t1");
        assertTrue(Files.isDirectory(dir));
        String path = "/" + Cgroup2Mount.find().orElseThrow().mountPoint().relativize(dir);
        assertEquals(path, cgroupOf(bash.pid()));
        assertEquals(path, cgroupOf(child));
    }

    @Test
    void resolve_whenAGrandchildDoubleForks_itStaysInTheTransaction() throws Exception {
        Process bash = procs.bash("read x; (sleep 30 & echo $!); sleep 30");
        String before = cgroupOf(bash.pid());
        membership.add("t1", ref(bash));

        Procs.writeLine(bash, "go");
        long orphan = Long.parseLong(Procs.readLine(bash));
        procs.track(orphan);
        Procs.awaitTrue(() -> !ProcInfo.isAncestor(bash.pid(), orphan), "the subshell to exit");

        assertEquals(Optional.of("t1"), membership.resolve(orphan));
        Procs.kill(bash);
        assertTrue(membership.hasMembers("t1"), "the orphan keeps the transaction alive");
        membership.remove("t1");
        assertEquals(before, cgroupOf(orphan), "moved back where its root came from");
        assertFalse(Files.exists(txnDir("t1")));
    }

    @Test
    void remove_movesSurvivorsBackToTheirOriginalCgroup() throws Exception {
        Process bash = procs.bash("sleep 30 & wait");
        long child = Procs.awaitChildren(bash.pid(), 1).get(0);
        String before = cgroupOf(bash.pid());
        membership.add("t1", ref(bash));

        membership.remove("t1");

        assertEquals(before, cgroupOf(bash.pid()));
        assertEquals(before, cgroupOf(child));
        assertFalse(Files.exists(txnDir("t1")));
    }

    @Test
    void remove_whenAMemberMadeASubCgroup_drainsAndRemovesItToo() throws Exception {
        Process bash = procs.bash("sleep 30 & wait");
        long child = Procs.awaitChildren(bash.pid(), 1).get(0);
        String before = cgroupOf(child);
        membership.add("t1", ref(bash));
        Path sub = txnDir("t1").resolve("sub");
        Files.createDirectory(sub);
        Files.write(sub.resolve("cgroup.procs"), Long.toString(child).getBytes(US_ASCII), StandardOpenOption.WRITE);
        assertEquals(Optional.of("t1"), membership.resolve(child), "a sub-cgroup is still the transaction");

        membership.remove("t1");

        assertFalse(Files.exists(txnDir("t1")));
        assertEquals(before, cgroupOf(child));
    }

    @Test
    void close_withLiveMembers_movesThemBackAndRemovesEveryDirectory() throws Exception {
        Process a = procs.sleep();
        Process b = procs.sleep();
        String before = cgroupOf(a.pid());
        membership.add("a", ref(a));
        membership.add("b", ref(b));
        txnDir("a");
        txnDir("b");

        membership.close();

        assertEquals(before, cgroupOf(a.pid()));
        assertEquals(before, cgroupOf(b.pid()));
        assertCleanedUp();
        assertEquals(NONE, membership.resolve(a.pid()));
        assertThrows(IOException.class, () -> membership.add("c", ref(a)));
    }

    @Test
    void add_whenTheRootIsInAnotherInstancesTransaction_isRefused() throws Exception {
        Process root = procs.sleep();
        try (Membership other = openTracked(instance + "-other")) {
            other.add("t1", ref(root));

            IOException e = assertThrows(IOException.class, () -> membership.add("t2", ref(root)));

            assertTrue(e.getMessage().contains("another txfs daemon"), e.getMessage());
            assertEquals(Optional.of("t1"), other.resolve(root.pid()));
            assertEquals(NONE, membership.resolve(root.pid()));
        }
    }

    @Test
    void add_whenTheRootIsTheDaemonItself_isRefused() {
        IOException e = assertThrows(IOException.class, () -> membership.add("t1", ref(SELF)));

        assertTrue(e.getMessage().contains("daemon itself"), e.getMessage());
        assertFalse(Files.exists(txnDir("t1")));
    }

    @Test
    void open_removesEmptyCgroupsLeftByACrashedDaemon() throws Exception {
        String name = instance + "-crashed";
        Path stale = top.resolve(name).resolve("t-old");
        Files.createDirectories(stale.resolve("nested"));
        dirs.add(stale);

        try (Membership m = openTracked(name)) {
            assertFalse(Files.exists(stale));
        }
    }

    @Test
    void add_whenItsCgroupIsLeftOverAndPopulated_failsClearly() throws Exception {
        Process p = procs.sleep();
        Path home = Cgroup2Mount.find().orElseThrow().dirOf(cgroupOf(p.pid())).orElseThrow();
        Path left = txnDir("t1");
        Files.createDirectory(left);
        Files.write(left.resolve("cgroup.procs"), Long.toString(p.pid()).getBytes(US_ASCII), StandardOpenOption.WRITE);
        try {
            IOException e = assertThrows(IOException.class, () -> membership.add("t1", ref(procs.sleep())));
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
