package dev.txfs.txn.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class TxnCgroupsTest {
    private final TxnCgroups<String> paths = new TxnCgroups<>("i1", "/txfs");

    TxnCgroupsTest() {
        paths.put("/user.slice/s1.scope/txfs-i1-a", "a");
        paths.put("/system.slice/x.service/txfs-i1-b", "b");
    }

    @Test
    void owner_ofARegisteredCgroupOrBelowIt_isItsTransaction() {
        assertEquals(Optional.of("a"), paths.owner("/user.slice/s1.scope/txfs-i1-a"));
        assertEquals(Optional.of("a"), paths.owner("/user.slice/s1.scope/txfs-i1-a/made-by-a-member"));
        assertEquals(Optional.empty(), paths.owner("/user.slice/s1.scope"));
    }

    /** A name proves nothing: the same name anywhere else is not the transaction. */
    @Test
    void owner_ofALookAlikeName_isEmpty() {
        assertEquals(Optional.empty(), paths.owner("/user.slice/user@1000.service/txfs-i1-a"));
        assertEquals(Optional.empty(), paths.owner("/txfs-i1-a"));
        assertEquals(Optional.empty(), paths.owner("/user.slice/s1.scope/x/txfs-i1-a"));
    }

    @Test
    void owner_ofANestedRegisteredCgroup_isTheNearest() {
        paths.put("/user.slice/s1.scope/txfs-i1-a/txfs-i1-c", "c");

        assertEquals(Optional.of("c"), paths.owner("/user.slice/s1.scope/txfs-i1-a/txfs-i1-c/sub"));
    }

    @Test
    void inOther_namesOtherDaemonsTransactionsAndOldLayout_notOursNorMembersCgroups() {
        assertTrue(paths.inOther("/user.slice/s1.scope/txfs-i2-z"));
        assertTrue(paths.inOther("/txfs/i2/z"));
        assertTrue(paths.inOther("/user.slice/txfs-i1-gone/x"), "an unregistered one of ours");
        assertFalse(paths.inOther("/user.slice/s1.scope/txfs-i1-a/txfs-anything"), "below ours: a member's");
        assertFalse(paths.inOther("/user.slice/s1.scope"));
        assertFalse(paths.inOther("/txfsx/y"));
        assertFalse(paths.inOther("/"));
    }

    @Test
    void base_isWhereAProcessWasBeforeAnyOfOurTransactions() {
        assertEquals("/user.slice/s1.scope", paths.base("/user.slice/s1.scope/txfs-i1-a"));
        assertEquals("/user.slice/s1.scope", paths.base("/user.slice/s1.scope/txfs-i1-a/sub"));
        assertEquals("/user.slice/s1.scope", paths.base("/user.slice/s1.scope"));
        paths.put("/txfs-i1-r", "r");
        assertEquals("/", paths.base("/txfs-i1-r"));
    }

    @Test
    void remove_forgetsThePathOnlyForItsOwner() {
        paths.remove("/user.slice/s1.scope/txfs-i1-a", "not-a");
        assertEquals(Optional.of("a"), paths.owner("/user.slice/s1.scope/txfs-i1-a"));

        paths.remove("/user.slice/s1.scope/txfs-i1-a", "a");

        assertEquals(Optional.empty(), paths.owner("/user.slice/s1.scope/txfs-i1-a"));
        assertTrue(paths.inOther("/user.slice/s1.scope/txfs-i1-a"));
    }
}
