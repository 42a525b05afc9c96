package dev.txfs.journal;

import static dev.txfs.snapshot.EntryKind.DIRECTORY;
import static dev.txfs.snapshot.EntryKind.FILE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.Verifier;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Merge#threeWay} as {@code txfs commit} uses it: ours is the transaction, theirs the live
 * tree, base what the transaction started from. Times are set per edit ({@link Editor#at}) so that
 * a merged tree can be compared by id with the same edits made by hand on one tree.
 */
final class MergeTest {
    private static final long T1 = Editor.T0 + 1_000;
    private static final long T2 = Editor.T0 + 2_000;
    private static final long T3 = Editor.T0 + 3_000;

    private InMemoryObjectStore store;
    private ObjectId base;

    @BeforeEach
    void setUp() throws Exception {
        store = new InMemoryObjectStore();
        base = edit(Editor.empty(store), Editor.T0)
                .write("/etc/hosts", "127.0.0.1 localhost\n")
                .write("/etc/motd", "hello\n")
                .write("/home/u/notes", "n")
                .write("/home/u/deep/er/file", "x")
                .write("/var/log/syslog", "boot\n")
                .flush();
    }

    private Editor edit(ObjectId root, long at) {
        return new Editor(store, root).at(at);
    }

    private Merge.Result merge(ObjectId b, ObjectId ours, ObjectId theirs) {
        try (ObjectWriter out = store.newWriter()) {
            return Merge.threeWay(store, out, b, ours, theirs);
        }
    }

    private Merge.Result assertMerges(ObjectId b, ObjectId ours, ObjectId theirs) {
        Merge.Result r = merge(b, ours, theirs);
        assertEquals(List.of(), r.conflicts());
        assertNotNull(r.root());
        assertTrue(r.merged());
        assertEquals(Diff.between(store, theirs, r.root()), r.applied());
        assertConsistent(r.root());
        return r;
    }

    private void assertConflicts(List<String> expected, ObjectId b, ObjectId ours, ObjectId theirs) {
        Merge.Result r = merge(b, ours, theirs);
        assertNull(r.root());
        assertFalse(r.merged());
        assertEquals(expected, r.conflicts());
        assertEquals(List.of(), r.applied());
    }

    /** The merged tree's link table matches its links, it reads back whole, and it verifies. */
    private void assertConsistent(ObjectId root) throws AssertionError {
        LinkTables.assertConsistent(store, root);
        MutableTree t = new MutableTree(store, root, () -> Editor.T0);
        walk(t, t.root());
        ObjectId snap = Snapshots.record(store, "merged", root, "test", "merge", () -> Editor.T0);
        assertTrue(Verifier.verifySnapshot(store, snap, n -> {}).clean());
    }

    private static void walk(MutableTree t, MutableNode.Dir d) {
        for (MutableNode n : t.list(d).values()) {
            if (n instanceof MutableNode.Dir sub) {
                walk(t, sub);
            }
        }
    }

    // ---- shortcuts ---------------------------------------------------------------------------

    @Test
    void threeWay_oursIsBase_givesTheirs() throws Exception {
        ObjectId theirs = edit(base, T1).write("/etc/motd", "live").flush();
        Merge.Result r = assertMerges(base, base, theirs);
        assertEquals(theirs, r.root());
        assertEquals(List.of(), r.applied());
    }

    @Test
    void threeWay_theirsIsBase_givesOursWithItsChanges() throws Exception {
        ObjectId ours =
                edit(base, T1).write("/etc/motd", "tx").write("/opt/new", "n").flush();
        Merge.Result r = assertMerges(base, ours, base);
        assertEquals(ours, r.root());
        assertEquals(
                List.of(
                        new Change("/etc/motd", Change.Kind.MODIFIED, FILE, FILE),
                        new Change("/opt", Change.Kind.ADDED, null, DIRECTORY)),
                r.applied());
    }

    @Test
    void threeWay_bothSidesIdentical_givesThatTree() throws Exception {
        ObjectId ours = edit(base, T1).write("/etc/motd", "same").flush();
        ObjectId theirs = edit(base, T1).write("/etc/motd", "same").flush();
        assertEquals(ours, theirs);
        assertEquals(theirs, assertMerges(base, ours, theirs).root());
    }

    // ---- disjoint and identical changes ------------------------------------------------------

    @Test
    void threeWay_disjointChangesInOneDirectory_mergeToWhatBothEditsGiveByHand() throws Exception {
        ObjectId ours = edit(base, T1)
                .write("/etc/motd", "tx motd")
                .write("/etc/tx-new", "from tx")
                .flush();
        ObjectId theirs = edit(base, T2)
                .write("/etc/hosts", "::1 localhost\n")
                .write("/etc/live-new", "from live")
                .rm("/home/u/notes")
                .flush();
        ObjectId byHand = edit(base, T1)
                .write("/etc/motd", "tx motd")
                .write("/etc/tx-new", "from tx")
                .at(T2)
                .write("/etc/hosts", "::1 localhost\n")
                .write("/etc/live-new", "from live")
                .rm("/home/u/notes")
                .flush();
        Merge.Result r = assertMerges(base, ours, theirs);
        assertEquals(byHand, r.root());
        assertEquals(
                List.of(
                        new Change("/etc/motd", Change.Kind.MODIFIED, FILE, FILE),
                        new Change("/etc/tx-new", Change.Kind.ADDED, null, FILE)),
                r.applied());
    }

    @Test
    void threeWay_sameChangeOnBothSides_isNoConflict() throws Exception {
        ObjectId ours =
                edit(base, T1).write("/etc/motd", "v2").rm("/var/log/syslog").flush();
        ObjectId theirs = edit(base, T1)
                .write("/etc/motd", "v2")
                .rm("/var/log/syslog")
                .at(T2)
                .write("/home/u/notes", "live")
                .flush();
        Merge.Result r = assertMerges(base, ours, theirs);
        assertEquals(theirs, r.root());
        assertEquals(List.of(), r.applied());
        ObjectId bothDeletedDir = edit(base, T1).rm("/home/u").flush();
        ObjectId alsoDeleted =
                edit(base, T2).rm("/home/u").write("/etc/motd", "x").flush();
        assertMerges(base, bothDeletedDir, alsoDeleted);
    }

    // ---- conflicts ---------------------------------------------------------------------------

    @Test
    void threeWay_sameFileChangedDifferently_conflicts() throws Exception {
        ObjectId ours =
                edit(base, T1).write("/etc/motd", "tx").write("/etc/hosts", "h").flush();
        ObjectId theirs = edit(base, T2)
                .write("/etc/motd", "live")
                .write("/home/u/notes", "x")
                .flush();
        assertConflicts(List.of("/etc/motd"), base, ours, theirs);
        ObjectId sameBytesOtherTime = edit(base, T2).write("/etc/motd", "tx").flush();
        assertConflicts(List.of("/etc/motd"), base, ours, sameBytesOtherTime); // mtime differs
        ObjectId chmodded = edit(base, T2).chmod("/etc/motd", 0600).flush();
        assertConflicts(List.of("/etc/motd"), base, ours, chmodded);
        ObjectId deleted = edit(base, T2).rm("/etc/motd").flush();
        assertConflicts(List.of("/etc/motd"), base, ours, deleted);
    }

    @Test
    void threeWay_directoryDeletedWhileOtherSideWritesInside_conflictsBothWays() throws Exception {
        ObjectId deleted = edit(base, T1).rm("/home/u").flush();
        ObjectId writesDeep =
                edit(base, T2).write("/home/u/deep/er/file", "changed").flush();
        assertConflicts(List.of("/home/u"), base, deleted, writesDeep);
        assertConflicts(List.of("/home/u"), base, writesDeep, deleted);
        ObjectId addsInside = edit(base, T2).write("/home/u/new", "n").flush();
        assertConflicts(List.of("/home/u"), base, addsInside, deleted);
        ObjectId replacedByFile =
                edit(base, T1).rm("/home/u").write("/home/u", "file now").flush();
        assertConflicts(List.of("/home/u"), base, replacedByFile, writesDeep);
        assertConflicts(List.of("/home/u"), base, writesDeep, replacedByFile);
    }

    @Test
    void threeWay_directoryMetadataChangedDifferently_conflictsAtTheDirectory() throws Exception {
        ObjectId ours = edit(base, T1)
                .chmod("/home/u", 0700)
                .write("/home/u/notes", "tx")
                .flush();
        ObjectId theirs = edit(base, T2)
                .chmod("/home/u", 0750)
                .write("/home/u/other", "live")
                .flush();
        assertConflicts(List.of("/home/u"), base, ours, theirs);
        ObjectId rootOurs = edit(base, T1).chmod("/", 0700).flush();
        ObjectId rootTheirs = edit(base, T2).chmod("/", 0711).flush();
        assertConflicts(List.of("/"), base, rootOurs, rootTheirs);
    }

    @Test
    void threeWay_directoryMetadataChangedOnOneSideEach_takesEachSidesField() throws Exception {
        ObjectId ours = edit(base, T1)
                .chmod("/home/u", 0700)
                .write("/home/u/notes", "tx")
                .flush();
        ObjectId theirs = edit(base, T2)
                .chown("/home/u", 1000, 1000)
                .write("/home/u/other", "live")
                .flush();
        ObjectId r = assertMerges(base, ours, theirs).root();
        MutableNode u = new MutableTree(store, r, () -> 0).get("/home/u");
        assertEquals(0700, u.mode());
        assertEquals(1000, u.uid());
        assertEquals(1000, u.gid());
        ObjectId byHand = edit(base, T1)
                .chmod("/home/u", 0700)
                .write("/home/u/notes", "tx")
                .at(T2)
                .chown("/home/u", 1000, 1000)
                .write("/home/u/other", "live")
                .flush();
        assertEquals(byHand, r);
    }

    @Test
    void threeWay_directoryMtime_isTheLaterSide() throws Exception {
        ObjectId ours = edit(base, T3).write("/etc/tx", "t").flush(); // the later change
        ObjectId theirs = edit(base, T2).write("/etc/live", "l").flush();
        ObjectId r = assertMerges(base, ours, theirs).root();
        assertEquals(T3, new MutableTree(store, r, () -> 0).get("/etc").mtimeNs());
        ObjectId r2 = assertMerges(base, theirs, ours).root();
        assertEquals(r, r2);
    }

    @Test
    void threeWay_addedOnBothSidesDifferently_conflicts() throws Exception {
        ObjectId ours = edit(base, T1).write("/etc/new.conf", "tx").flush();
        ObjectId theirs = edit(base, T2).write("/etc/new.conf", "live").flush();
        assertConflicts(List.of("/etc/new.conf"), base, ours, theirs);
        ObjectId dirVsFile = edit(base, T2).mkdirs("/etc/new.conf").flush();
        assertConflicts(List.of("/etc/new.conf"), base, ours, dirVsFile);
        ObjectId symlink = edit(base, T2).symlink("/etc/new.conf", "/dev/null").flush();
        assertConflicts(List.of("/etc/new.conf"), base, ours, symlink);
    }

    @Test
    void threeWay_directoryAddedOnBothSides_mergesItsContents() throws Exception {
        ObjectId ours = edit(base, T1)
                .write("/srv/www/index.html", "tx")
                .write("/srv/both", "same")
                .flush();
        ObjectId theirs = edit(base, T1)
                .write("/srv/data/db", "live")
                .write("/srv/both", "same")
                .flush();
        ObjectId r = assertMerges(base, ours, theirs).root();
        ObjectId byHand = edit(base, T1)
                .write("/srv/www/index.html", "tx")
                .write("/srv/both", "same")
                .write("/srv/data/db", "live")
                .flush();
        assertEquals(byHand, r);
        ObjectId clash = edit(base, T2).write("/srv/www/index.html", "live").flush();
        assertConflicts(List.of("/srv/www/index.html"), base, ours, clash);
    }

    @Test
    void threeWay_severalConflicts_listedOnceEachSorted() throws Exception {
        ObjectId ours = edit(base, T1)
                .write("/var/log/syslog", "tx")
                .write("/etc/motd", "tx")
                .chmod("/home/u", 0700)
                .flush();
        ObjectId theirs = edit(base, T2)
                .write("/etc/motd", "live")
                .rm("/var/log")
                .chmod("/home/u", 0711)
                .flush();
        assertConflicts(List.of("/etc/motd", "/home/u", "/var/log"), base, ours, theirs);
    }

    @Test
    void threeWay_isDeterministic_acrossStores() throws Exception {
        ObjectId ours = edit(base, T1)
                .write("/etc/a", "a")
                .link("/etc/motd", "/home/u/motd")
                .flush();
        ObjectId theirs = edit(base, T2).write("/etc/b", "b").rm("/var").flush();
        ObjectId first = assertMerges(base, ours, theirs).root();
        ObjectId second = assertMerges(base, ours, theirs).root();
        assertEquals(first, second);
        // the same trees in a fresh store give the same id
        InMemoryObjectStore other = new InMemoryObjectStore();
        store.forEachId(id -> other.newWriter().put(store.get(id)));
        try (ObjectWriter out = other.newWriter()) {
            assertEquals(first, Merge.threeWay(other, out, base, ours, theirs).root());
        }
    }

    // ---- hard links --------------------------------------------------------------------------

    @Test
    void threeWay_hardLinkAddedInOurs_whileTheirsEditsAnotherFile() throws Exception {
        ObjectId ours = edit(base, T1).link("/etc/motd", "/home/u/motd").flush();
        ObjectId theirs = edit(base, T2).write("/etc/hosts", "live").flush();
        ObjectId byHand = edit(base, T1)
                .link("/etc/motd", "/home/u/motd")
                .at(T2)
                .write("/etc/hosts", "live")
                .flush();
        Merge.Result r = assertMerges(base, ours, theirs);
        assertEquals(byHand, r.root());
        assertEquals(
                List.of(
                        new Change("/etc/motd", Change.Kind.MODIFIED, FILE, FILE),
                        new Change("/home/u/motd", Change.Kind.ADDED, null, FILE)),
                r.applied());
    }

    @Test
    void threeWay_hardLinkedFileWrittenInOurs_whileTheirsAddsANameToIt() throws Exception {
        ObjectId linked = edit(base, T1).link("/etc/motd", "/home/u/motd").flush();
        ObjectId ours = edit(linked, T2).write("/home/u/motd", "tx").flush();
        ObjectId theirs = edit(linked, T3).link("/etc/motd", "/var/motd").flush();
        ObjectId byHand = edit(linked, T2)
                .write("/home/u/motd", "tx")
                .at(T3)
                .link("/etc/motd", "/var/motd")
                .flush();
        assertEquals(byHand, assertMerges(linked, ours, theirs).root());
        assertEquals(byHand, assertMerges(linked, theirs, ours).root());
    }

    @Test
    void threeWay_hardLinkedFileWrittenOnBothSides_conflictsAtAllItsPaths() throws Exception {
        ObjectId linked = edit(base, T1).link("/etc/motd", "/home/u/motd").flush();
        ObjectId ours = edit(linked, T2).write("/etc/motd", "tx").flush();
        ObjectId theirs = edit(linked, T3).write("/home/u/motd", "live").flush();
        assertConflicts(List.of("/etc/motd", "/home/u/motd"), linked, ours, theirs);
    }

    @Test
    void threeWay_hardLinkWrittenInOursWhileTheirsUnlinksAName_conflicts() throws Exception {
        ObjectId linked = edit(base, T1).link("/etc/motd", "/home/u/motd").flush();
        ObjectId ours = edit(linked, T2).write("/etc/motd", "tx").flush();
        ObjectId theirs = edit(linked, T3).rm("/home/u/motd").flush(); // the group dissolves
        assertConflicts(List.of("/etc/motd", "/home/u/motd"), linked, ours, theirs);
    }

    @Test
    void threeWay_bothSidesUnlinkDifferentNamesOfAGroup_conflictsRatherThanBreakingTheLinkTable() throws Exception {
        ObjectId linked = edit(base, T1)
                .link("/etc/motd", "/home/u/motd")
                .link("/etc/motd", "/var/motd")
                .flush();
        ObjectId ours = edit(linked, T2).rm("/home/u/motd").flush();
        ObjectId theirs = edit(linked, T2).rm("/var/motd").flush();
        // merging both would leave one name in a group: correct only if re-written as a plain file
        assertConflicts(List.of("/etc/motd", "/home/u/motd", "/var/motd"), linked, ours, theirs);
    }

    @Test
    void threeWay_bothSidesLinkTheSameFileUnderDifferentNames_mergesIntoOneGroup() throws Exception {
        ObjectId ours = edit(base, T1).link("/etc/motd", "/home/u/motd").flush();
        ObjectId theirs = edit(base, T1).link("/etc/motd", "/var/motd").flush();
        ObjectId byHand = edit(base, T1)
                .link("/etc/motd", "/home/u/motd")
                .link("/etc/motd", "/var/motd")
                .flush();
        assertEquals(byHand, assertMerges(base, ours, theirs).root());
    }

    @Test
    void threeWay_directoryHoldingHardLinkDeletedInOurs_whileTheirsEditsElsewhere() throws Exception {
        ObjectId linked = edit(base, T1).link("/etc/motd", "/home/u/motd").flush();
        ObjectId ours = edit(linked, T2).rm("/home/u").flush();
        ObjectId theirs = edit(linked, T3).write("/var/log/syslog", "more").flush();
        ObjectId byHand = edit(linked, T2)
                .rm("/home/u")
                .at(T3)
                .write("/var/log/syslog", "more")
                .flush();
        assertEquals(byHand, assertMerges(linked, ours, theirs).root());
    }

    /** The link check at work: without it the merged link table would list a path that is gone. */
    @Test
    void threeWay_hardLinkAddedInOursIntoADirectoryTheirsDeleted_conflictsAtTheLinksToo() throws Exception {
        ObjectId ours = edit(base, T1).link("/etc/motd", "/home/u/motd").flush();
        ObjectId theirs = edit(base, T2).rm("/home/u").flush();
        assertConflicts(List.of("/etc/motd", "/home/u", "/home/u/motd"), base, ours, theirs);
    }

    @Test
    void threeWay_fewChangesInFiftyThousandFiles_readsAFewDozenObjects() throws Exception {
        ObjectId big = BigTree.fiftyThousandFiles(store);
        ObjectId ours = edit(big, T1)
                .write("/flat/f1", "tx")
                .write("/nested/d3/new", "tx")
                .flush();
        ObjectId theirs = edit(big, T2)
                .write("/flat/f2", "live")
                .write("/nested/d3/g4", "live")
                .flush();
        CountingStore counting = new CountingStore(store);
        Merge.Result r;
        try (ObjectWriter out = counting.newWriter()) {
            r = Merge.threeWay(counting, out, big, ours, theirs);
        }
        assertEquals(List.of(), r.conflicts());
        assertEquals(
                List.of(
                        new Change("/flat/f1", Change.Kind.MODIFIED, FILE, FILE),
                        new Change("/nested/d3/new", Change.Kind.ADDED, null, FILE)),
                r.applied());
        // the merge itself, then the diff of theirs against the result for applied
        assertTrue(counting.reads <= 60, "reads: " + counting.reads);
        ObjectId byHand = edit(big, T1)
                .write("/flat/f1", "tx")
                .write("/nested/d3/new", "tx")
                .at(T2)
                .write("/flat/f2", "live")
                .write("/nested/d3/g4", "live")
                .flush();
        assertEquals(byHand, r.root());
    }
}
