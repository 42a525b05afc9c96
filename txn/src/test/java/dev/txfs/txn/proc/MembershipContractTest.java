package dev.txfs.txn.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What both {@link Membership} modes promise, run against real processes. */
abstract class MembershipContractTest {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    static final long SELF = ProcessHandle.current().pid();
    static final Optional<String> NONE = Optional.empty();

    final Procs procs = new Procs();
    final String instance = "test-" + SELF + "-" + COUNTER.incrementAndGet();
    Membership membership;

    /** Opens the membership under test; aborts the test (skips it) if the mode is unavailable. */
    abstract Membership open(String instance);

    /** The same answer as {@code resolve}, bypassing the cache. */
    abstract Optional<String> resolveUncached(long tid);

    /** Checks left after close (cgroup mode: every directory is gone). */
    void assertCleanedUp() {}

    @BeforeEach
    void openMembership() {
        membership = open(instance);
    }

    @AfterEach
    void closeAndKill() {
        try {
            if (membership != null) { // null when the mode is unavailable and the test was skipped
                membership.close();
                membership.close(); // idempotent
                assertCleanedUp();
            }
        } finally {
            procs.close();
        }
    }

    static ProcessRef ref(long pid) {
        return ProcessRef.of(pid).orElseThrow(() -> new AssertionError("process " + pid + " is gone"));
    }

    static ProcessRef ref(Process p) {
        return ref(p.pid());
    }

    @Test
    void resolve_rootAndItsExistingChildren_resolveToTheTransaction() throws Exception {
        Process bash = procs.bash("sleep 30 & sleep 30 & wait");
        List<Long> children = Procs.awaitChildren(bash.pid(), 2);

        membership.add("t1", ref(bash));

        assertEquals(Optional.of("t1"), membership.resolve(bash.pid()));
        for (long c : children) {
            assertEquals(Optional.of("t1"), membership.resolve(c), "child " + c);
        }
    }

    @Test
    void resolve_childStartedAfterAdd_resolvesToTheTransaction() throws Exception {
        Process bash = procs.bash("read x; sleep 30 & echo $!; wait");
        membership.add("t1", ref(bash));

        Procs.writeLine(bash, "go");
        long child = Long.parseLong(Procs.readLine(bash));

        assertEquals(Optional.of("t1"), membership.resolve(child));
    }

    @Test
    void resolve_everyThreadOfAMember_resolvesToTheTransaction() throws Exception {
        Process jvm = procs.threadedJvm();
        membership.add("t1", ref(jvm));

        List<Long> tids = ProcInfoTest.threadsOf(jvm.pid());
        assertTrue(tids.size() > 4, "threads: " + tids);
        for (long tid : tids) {
            assertEquals(Optional.of("t1"), membership.resolve(tid), "thread " + tid);
        }
    }

    @Test
    void resolve_unrelatedProcess_isEmpty() throws Exception {
        Process root = procs.sleep();
        Process other = procs.sleep();
        membership.add("t1", ref(root));

        assertEquals(NONE, membership.resolve(other.pid()));
        assertEquals(NONE, membership.resolve(SELF));
    }

    @Test
    void resolve_tidZeroOrNegative_isEmpty() throws Exception {
        membership.add("t1", ref(procs.sleep()));

        assertEquals(NONE, membership.resolve(0));
        assertEquals(NONE, membership.resolve(-1));
    }

    @Test
    void resolve_afterRemove_isEmpty() throws Exception {
        Process bash = procs.bash("sleep 30 & wait");
        long child = Procs.awaitChildren(bash.pid(), 1).get(0);
        membership.add("t1", ref(bash));
        assertEquals(Optional.of("t1"), membership.resolve(child));

        membership.remove("t1");

        assertEquals(NONE, membership.resolve(bash.pid()));
        assertEquals(NONE, membership.resolve(child));
        assertFalse(membership.hasMembers("t1"));
    }

    @Test
    void resolve_afterAdd_isNotServedFromTheCache() throws Exception {
        Process sleep = procs.sleep();
        membership.add("other", ref(procs.sleep()));
        assertEquals(NONE, membership.resolve(sleep.pid())); // cached: not a member

        membership.add("t1", ref(sleep));

        assertEquals(Optional.of("t1"), membership.resolve(sleep.pid()));
    }

    @Test
    void resolve_twoTransactions_keepTheirOwnMembers() throws Exception {
        Process a = procs.sleep();
        Process b = procs.sleep();

        membership.add("a", ref(a));
        membership.add("b", ref(b));

        assertEquals(Optional.of("a"), membership.resolve(a.pid()));
        assertEquals(Optional.of("b"), membership.resolve(b.pid()));
        membership.remove("a");
        assertEquals(NONE, membership.resolve(a.pid()));
        assertEquals(Optional.of("b"), membership.resolve(b.pid()));
    }

    @Test
    void resolve_nestedTransaction_theNearestRootWinsUntilItIsRemoved() throws Exception {
        Process outer = procs.bash("bash -c 'sleep 30 & wait' & wait");
        long inner = Procs.awaitChildren(outer.pid(), 1).get(0);
        long leaf = Procs.awaitChildren(inner, 1).get(0);
        membership.add("outer", ref(outer));

        membership.add("inner", ref(inner));

        assertEquals(Optional.of("outer"), membership.resolve(outer.pid()));
        assertEquals(Optional.of("inner"), membership.resolve(inner));
        assertEquals(Optional.of("inner"), membership.resolve(leaf));
        membership.remove("inner");
        assertEquals(Optional.of("outer"), membership.resolve(inner));
        assertEquals(Optional.of("outer"), membership.resolve(leaf));
    }

    @Test
    void hasMembers_afterTheProcessesExit_isFalse() throws Exception {
        Process bash = procs.bash("sleep 30 & sleep 30 & wait");
        Procs.awaitChildren(bash.pid(), 2);
        membership.add("t1", ref(bash));
        assertTrue(membership.hasMembers("t1"));

        Procs.kill(bash);

        Procs.awaitTrue(() -> !membership.hasMembers("t1"), "no members");
    }

    @Test
    void add_whenTheRootIsGone_throwsProcessIsGone() throws Exception {
        Process p = procs.sleep();
        ProcessRef ref = ref(p);
        Procs.kill(p);

        IOException e = assertThrows(IOException.class, () -> membership.add("t1", ref));

        assertEquals("process " + p.pid() + " is gone", e.getMessage());
        assertFalse(membership.hasMembers("t1"));
    }

    @Test
    void add_whenTheStartTimeDiffers_throwsProcessIsGone() {
        Process p = procs.sleep();
        ProcessRef reused = new ProcessRef(p.pid(), ref(p).starttime() - 1);

        IOException e = assertThrows(IOException.class, () -> membership.add("t1", reused));

        assertEquals("process " + p.pid() + " is gone", e.getMessage());
    }

    @Test
    void add_withAnInvalidTransactionId_throwsIllegalArgument() {
        ProcessRef p = ref(procs.sleep());

        for (String bad : new String[] {"", "a/b", "..", "a b", "é", "x".repeat(65)}) {
            assertThrows(IllegalArgumentException.class, () -> membership.add(bad, p), bad);
        }
    }

    @Test
    void remove_unknownTransaction_isANoOp() {
        membership.remove("nope");
        assertFalse(membership.hasMembers("nope"));
    }

    @Test
    void resolveCost_cachedVersusUncached_isPrinted() throws Exception {
        Process bash = procs.bash("sleep 30 & wait");
        long member = Procs.awaitChildren(bash.pid(), 1).get(0);
        long outsider = ProcInfoTest.threadsOf(SELF).get(1); // a thread of this JVM, deep in the tree
        membership.add("t1", ref(bash));
        assertEquals(Optional.of("t1"), resolveUncached(member));
        assertEquals(NONE, resolveUncached(outsider));

        double memberUs = nanosPer(2_000, () -> resolveUncached(member)) / 1000;
        double outsiderUs = nanosPer(2_000, () -> resolveUncached(outsider)) / 1000;
        double cachedNs = nanosPer(1_000_000, () -> membership.resolve(member));
        membership.remove("t1");
        double noTxnNs = nanosPer(1_000_000, () -> membership.resolve(member));

        System.out.printf(
                "%s resolve: uncached member %.1f µs, uncached non-member (depth %d) %.1f µs,"
                        + " cached %.0f ns, no transaction open %.0f ns%n",
                membership.mode(), memberUs, depth(SELF), outsiderUs, cachedNs, noTxnNs);
        assertTrue(cachedNs * 10 < memberUs * 1000, "the cache pays for itself");
    }

    private static int depth(long pid) {
        int d = 0;
        for (long p = pid; p > 1; p = ProcInfo.stat(p).orElseThrow().ppid()) {
            d++;
        }
        return d;
    }

    private static double nanosPer(int n, Runnable r) {
        for (int i = 0; i < Math.min(n, 20_000); i++) {
            r.run(); // warm up
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            r.run();
        }
        return (System.nanoTime() - t0) / (double) n;
    }
}
