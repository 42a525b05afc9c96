package dev.txfs.txn.proc;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.txn.Transaction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcInfoTest {
    private static final long SELF = ProcessHandle.current().pid();

    private final Procs procs = new Procs();

    @AfterEach
    void killProcesses() {
        procs.close();
    }

    @Test
    void parseGroups_readsTheGroupsLineOfProcStatus() {
        assertEquals(Set.of(4L, 24L, 1000L), ProcInfo.parseGroups(b("Name:\tsh\nGroups:\t4 24 1000 \nUid:\t0\n")));
        assertEquals(Set.of(), ProcInfo.parseGroups(b("Name:\tsh\nGroups:\t\nUid:\t0\n")));
        assertEquals(Set.of(), ProcInfo.parseGroups(b("Name:\tsh\n")));
    }

    /** NGROUPS_MAX is 65536: a Groups line of that many takes some 700 KB, far past one page. */
    @Test
    void parseGroups_ofNgroupsMaxGroups_readsThemAll() {
        StringBuilder status = new StringBuilder("Name:\tsh\nGroups:\t");
        for (long g = 4_000_000_000L; g < 4_000_000_000L + 65536; g++) {
            status.append(g).append(' ');
        }
        status.append("\nNStgid:\t1\n");
        assertTrue(status.length() <= ProcInfo.STATUS_WITH_GROUPS_MAX, "the read limit holds it");
        assertEquals(65536, ProcInfo.parseGroups(b(status.toString())).size());
    }

    /** A process with 20,000 groups: its status is some 110 KB, and every group is read. */
    @Test
    void groups_andCredentialsOfThread_ofAProcessWithManyGroups_readThemAll() throws Exception {
        Assumptions.assumeTrue(ProcInfo.uids(SELF).orElseThrow().real() == 0, "needs root to set groups");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv");
        StringBuilder list = new StringBuilder();
        for (int g = 1; g <= 20000; g++) {
            list.append(g == 1 ? "" : ",").append(g);
        }
        Process p = procs.start("setpriv", "--groups", list.toString(), "sleep", "30");
        Procs.awaitTrue(() -> ProcInfo.cmdline(p.pid()).equals("sleep 30"), "exec of sleep");

        assertEquals(20000, ProcInfo.groups(p.pid()).orElseThrow().size());
        Transaction.Credentials c = Transaction.Credentials.ofThread(p.pid(), 65534, 65534);
        assertEquals(20001, c.groups().size());
        assertTrue(c.inGroup(20000) && c.inGroup(65534));
        assertEquals(Optional.empty(), ProcInfo.groups(Integer.MAX_VALUE));
    }

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    @Test
    void stat_whenCommHasParenthesesAndSpaces_parsesFromTheLastParenthesis(@TempDir Path tmp) throws Exception {
        Path weird = tmp.resolve("a) (b");
        Files.copy(Path.of("/bin/sleep"), weird, StandardCopyOption.COPY_ATTRIBUTES);
        Process p = procs.start(weird.toString(), "30");

        ProcInfo.Stat s =
                Procs.await(() -> ProcInfo.stat(p.pid()).filter(x -> x.comm().equals("a) (b")), "exec of " + weird);

        assertEquals(p.pid(), s.pid());
        assertEquals(SELF, s.ppid());
        assertTrue("RS".indexOf(s.state()) >= 0, "state " + s.state());
        assertEquals(starttimeByAwk(SELF), ProcInfo.stat(SELF).orElseThrow().starttime());
        assertTrue(s.starttime() >= ProcInfo.stat(SELF).orElseThrow().starttime());
    }

    @Test
    void parseStat_whenCommEndsWithParenthesis_takesEverythingUpToTheLastOne() {
        String line =
                "42 (x) (y) ) Z 7 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 1000 0 18446744073709551615\n";
        byte[] b = line.getBytes(UTF_8);

        assertEquals(new ProcInfo.Stat(42, "x) (y) ", 'Z', 7, 12345), ProcInfo.parseStat(b, b.length));
    }

    @Test
    void stat_ofASleep_agreesWithAwkOnTheStartTime() throws Exception {
        Process p = procs.sleep();
        Procs.awaitTrue(
                () -> ProcInfo.stat(p.pid()).map(s -> s.comm().equals("sleep")).orElse(false), "exec");

        assertEquals(
                starttimeByAwk(p.pid()), ProcInfo.stat(p.pid()).orElseThrow().starttime());
    }

    @Test
    void tgid_ofEveryThreadOfThisJvm_isTheJvmPid() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                done.await();
            } catch (InterruptedException e) {
                // exit
            }
        });
        t.start();
        try {
            List<Long> tids = threadsOf(SELF);
            assertTrue(tids.stream().anyMatch(tid -> tid != SELF), "no thread besides the main one: " + tids);
            for (long tid : tids) {
                assertEquals(SELF, ProcInfo.tgid(tid), "tgid of thread " + tid);
            }
        } finally {
            done.countDown();
            t.join();
        }
    }

    @Test
    void uid_ofThisJvm_isTheOwnerOfItsProcDirectory() throws Exception {
        int owner = (Integer) Files.getAttribute(Path.of("/proc/" + SELF), "unix:uid");

        assertEquals(Optional.of((long) owner), ProcInfo.uid(SELF));
    }

    @Test
    void uids_ofThisJvm_areAllItsOwner() throws Exception {
        int owner = (Integer) Files.getAttribute(Path.of("/proc/" + SELF), "unix:uid");

        ProcInfo.Uids ids = ProcInfo.uids(SELF).orElseThrow();

        assertTrue(ids.allAre(owner), ids.toString());
        assertEquals("uid " + owner, ids.toString());
    }

    @Test
    void uids_ofAProcessThatChangedItsEffectiveUid_tellTheFourApart() {
        ProcInfo.Uids ids = new ProcInfo.Uids(65534, 0, 0, 0);

        assertFalse(ids.allAre(65534));
        assertFalse(ids.allAre(0));
        assertEquals("uids 65534/0/0/0 (real/effective/saved/fs)", ids.toString());
    }

    @Test
    void cmdline_ofASleep_joinsTheArgumentsWithSpaces() {
        Process p = procs.sleep();
        Procs.awaitTrue(() -> ProcInfo.cmdline(p.pid()).equals("sleep 30"), "cmdline of sleep");
    }

    /**
     * Regression (found by the stress test): a root whose arguments hold newlines (a {@code bash -c}
     * script) made {@code txfs txn list} print its COMMAND over many lines, breaking the table.
     */
    @Test
    void cmdline_whenAnArgumentHoldsNewlinesAndTabs_isOneLine() {
        Process p = procs.start("bash", "-c", "sleep 30\n\ttrue");

        String c =
                Procs.await(() -> Optional.of(ProcInfo.cmdline(p.pid())).filter(s -> s.startsWith("bash")), "cmdline");
        assertEquals("bash -c sleep 30  true", c);
    }

    @Test
    void cmdline_whenLong_isCutTo200Characters() {
        String longArg = "x".repeat(500);
        Process p = procs.start("bash", "-c", "sleep 30; true", longArg);

        String c =
                Procs.await(() -> Optional.of(ProcInfo.cmdline(p.pid())).filter(s -> s.startsWith("bash")), "cmdline");
        assertEquals(ProcInfo.CMDLINE_MAX, c.length());
        assertTrue(c.startsWith("bash -c sleep 30; true xxx"), c);
    }

    @Test
    void children_ofABashWithTwoBackgroundSleeps_listsBoth() {
        Process bash = procs.bash("sleep 30 & sleep 30 & wait");

        List<Long> children = Procs.awaitChildren(bash.pid(), 2);

        for (long c : children) {
            assertEquals(bash.pid(), ProcInfo.stat(c).orElseThrow().ppid());
        }
    }

    @Test
    void descendants_ofThisJvm_includeGrandchildren() {
        Process bash = procs.bash("sleep 30 & sleep 30 & wait");
        List<Long> grandchildren = Procs.awaitChildren(bash.pid(), 2);

        List<Long> all = ProcInfo.descendants(SELF);

        assertTrue(all.contains(bash.pid()), all.toString());
        assertTrue(all.containsAll(grandchildren), all.toString());
        assertTrue(all.indexOf(bash.pid()) < all.indexOf(grandchildren.get(0)), "breadth first: " + all);
    }

    @Test
    void isAncestor_followsTheParentChain() {
        Process bash = procs.bash("sleep 30 & wait");
        long sleep = Procs.awaitChildren(bash.pid(), 1).get(0);

        assertTrue(ProcInfo.isAncestor(SELF, sleep));
        assertTrue(ProcInfo.isAncestor(bash.pid(), sleep));
        assertTrue(ProcInfo.isAncestor(sleep, sleep), "a process is its own ancestor");
        assertTrue(ProcInfo.isAncestor(1, SELF));
        assertFalse(ProcInfo.isAncestor(sleep, bash.pid()));
        assertFalse(ProcInfo.isAncestor(sleep, SELF));
        assertFalse(ProcInfo.isAncestor(0, SELF));
    }

    @Test
    void everything_aboutAGoneProcess_isEmptyAndNeverThrows() throws Exception {
        Process p = procs.sleep();
        long pid = p.pid();
        Procs.kill(p);

        assertEquals(Optional.empty(), ProcInfo.stat(pid));
        assertEquals(-1, ProcInfo.tgid(pid));
        assertEquals(Optional.empty(), ProcInfo.uid(pid));
        assertEquals("", ProcInfo.cmdline(pid));
        assertEquals(Optional.empty(), ProcInfo.cgroup2Path(pid));
        assertEquals(List.of(), ProcInfo.children(pid));
        assertEquals(List.of(), ProcInfo.descendants(pid));
        assertFalse(ProcInfo.isAncestor(1, pid));
        assertEquals(Optional.empty(), ProcInfo.stat(0));
        assertEquals(-1, ProcInfo.tgid(0));
    }

    @Test
    void cgroup2Path_ofThisJvm_isTheZeroLineOfItsCgroupFile() throws IOException {
        String zeroLine = Files.readAllLines(Path.of("/proc/self/cgroup")).stream()
                .filter(l -> l.startsWith("0::"))
                .findFirst()
                .orElseThrow();

        assertEquals(Optional.of(zeroLine.substring(3)), ProcInfo.cgroup2Path(SELF));
    }

    static List<Long> threadsOf(long pid) throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/task"))) {
            return s.map(t -> Long.parseLong(t.getFileName().toString())).toList();
        }
    }

    private static long starttimeByAwk(long pid) throws Exception {
        Process awk = new ProcessBuilder("awk", "{print $22}", "/proc/" + pid + "/stat").start();
        String out = new String(awk.getInputStream().readAllBytes(), UTF_8).trim();
        awk.waitFor();
        return Long.parseLong(out);
    }
}
