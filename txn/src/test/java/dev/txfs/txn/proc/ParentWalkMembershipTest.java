package dev.txfs.txn.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ParentWalkMembershipTest extends MembershipContractTest {
    @Override
    Membership open(String instance) {
        return Membership.create(Membership.Mode.PARENT_WALK, instance);
    }

    @Override
    Optional<String> resolveUncached(long tid) {
        return ((ParentWalkMembership) membership).resolveUncached(tid);
    }

    @Test
    void mode_whenAskedForParentWalk_isParentWalk() {
        assertEquals(Membership.Mode.PARENT_WALK, membership.mode());
    }

    /** The documented limit of this mode: a double-forked process is adopted by init and leaves. */
    @Test
    void resolve_whenAGrandchildDoubleForks_itLeavesTheTransaction() throws Exception {
        Process bash = procs.bash("read x; (sleep 30 & echo $!); sleep 30");
        add("t1", ref(bash));

        Procs.writeLine(bash, "go");
        long orphan = Long.parseLong(Procs.readLine(bash));
        procs.track(orphan);
        Procs.awaitTrue(() -> !ProcInfo.isAncestor(bash.pid(), orphan), "the subshell to exit");

        assertEquals(NONE, membership.resolve(orphan));
        assertEquals(Optional.of("t1"), membership.resolve(bash.pid()));
    }

    @Test
    void resolve_everyThreadOfThisJvmAsRoot_resolvesToTheTransaction() throws Exception {
        add("t1", ref(SELF));

        for (long tid : ProcInfoTest.threadsOf(SELF)) {
            assertEquals(Optional.of("t1"), membership.resolve(tid), "thread " + tid);
        }
    }

    @Test
    void hasMembers_whileTheRootLives_isTrueEvenWithoutChildren() throws Exception {
        Process root = procs.sleep();
        add("t1", ref(root));

        assertTrue(membership.hasMembers("t1"));
    }
}
