package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code txfs mount --isolated --base ID DIR} beside the store's live mount: a private writable
 * view of an older snapshot whose writes nothing else sees; {@code txfs commit --mount DIR} merges
 * them into the live tree (through the live mount's daemon, or straight into the store when the
 * live tree is not mounted), {@code txfs abort --mount DIR} drops them, a conflict changes nothing
 * (exit 6), and unmounting without commit drops them too.
 */
class IsolatedMountTest extends LiveMountBase {
    private final List<Path> isolatedMounts = new ArrayList<>();

    @AfterEach
    void unmountIsolated() {
        for (Path p : isolatedMounts) {
            if (txfs("--store", store.toString(), "umount", p.toString()).exit() != 0 || isMountpoint(p)) {
                bash(QUICK, "umount -l \"$1\" || true", p.toString());
            }
            removeTree(p);
        }
        isolatedMounts.clear();
    }

    private static boolean isMountpoint(Path p) {
        return bash(QUICK, "mountpoint -q \"$1\"", p.toString()).exit() == 0;
    }

    private Path mountIsolated(String... extra) throws Exception {
        Path p = tempDir("txfs-iso");
        isolatedMounts.add(p);
        List<String> args = new ArrayList<>(List.of("--store", store.toString(), "mount", "--isolated"));
        args.addAll(List.of(extra));
        args.add(p.toString());
        Result r = txfs(args.toArray(String[]::new)).ok();
        assertTrue(r.out().contains("an isolated view of"), r.out());
        return p;
    }

    @Test
    void isolated_seesItsBase_writesPrivately_commitMerges_abortDrops_conflictChangesNothing() throws Exception {
        Path d = dir("iso");
        Files.writeString(d.resolve("a"), "one\n");
        Files.writeString(d.resolve("k"), "keep\n");
        String base = snapshotIn(d, "iso base");
        Files.writeString(d.resolve("later"), "live, after the base\n");

        Path iso = mountIsolated("--base", base.substring(0, 10));
        Path id = iso.resolve("iso");
        assertFalse(Files.exists(id.resolve("later")), "the view is the base, not the live tree");
        Files.writeString(id.resolve("a"), "isolated\n");
        Files.writeString(id.resolve("n"), "new\n");
        assertEquals("one\n", Files.readString(d.resolve("a")), "the live tree does not see the isolated writes");
        assertFalse(Files.exists(d.resolve("n")));
        String status = txfs("status", "--mount", iso.toString()).ok().out();
        assertTrue(status.contains("modified: /iso/a") && status.contains("added:    /iso/n"), status);

        String head = txfs("--store", store.toString(), "log", "-n", "1", "--oneline")
                .ok()
                .out();
        String snap = txfs("commit", "--mount", iso.toString(), "-m", "from isolation")
                .ok()
                .out()
                .strip();
        assertEquals("isolated\n", Files.readString(d.resolve("a")), "committed: the live tree has it");
        assertEquals("new\n", Files.readString(d.resolve("n")));
        assertEquals("live, after the base\n", Files.readString(d.resolve("later")), "and keeps its own change");
        String log = txfs("--store", store.toString(), "log", "-n", "2", "--oneline")
                .ok()
                .out();
        assertTrue(log.startsWith(snap.substring(0, 12)) && log.contains("from isolation"), log);
        assertTrue(
                log.contains(head.substring(0, 12)),
                "the commit's parent is the HEAD before it: " + log + " / " + head);

        // the mount goes on from what it committed: a second commit merges only what followed
        Files.writeString(id.resolve("second"), "2\n");
        Files.writeString(id.resolve("scratch"), "to drop\n");
        txfs("abort", "--mount", iso.toString()).ok();
        assertFalse(Files.exists(id.resolve("scratch")), "abort returns the view to what it last committed");
        assertEquals("isolated\n", Files.readString(id.resolve("a")));

        Files.writeString(d.resolve("a"), "live again\n");
        Files.writeString(id.resolve("a"), "isolated again\n");
        Result conflict = txfs("commit", "--mount", iso.toString());
        assertEquals(6, conflict.exit(), conflict.describe());
        assertTrue(conflict.stderr().contains("txfs: conflict: /iso/a\n"), conflict.stderr());
        assertTrue(conflict.stderr().contains("then txfs commit --mount " + iso + " again"), conflict.stderr());
        assertEquals("live again\n", Files.readString(d.resolve("a")), "a conflict changes nothing");
        assertEquals("isolated again\n", Files.readString(id.resolve("a")), "not even the isolated view");

        Result begin = bashIn(id, "\"$1\" begin", TXFS.toString());
        assertEquals(1, begin.exit(), begin.describe());
        assertTrue(begin.stderr().contains("isolated mount"), begin.stderr());
    }

    @Test
    void unmountWithoutCommit_dropsTheChanges_andCommitWorksWithTheLiveTreeUnmounted() throws Exception {
        Path d = dir("iso-drop");
        Files.writeString(d.resolve("f"), "f\n");
        snapshotIn(d, "iso-drop base");
        Path iso = mountIsolated();
        Files.writeString(iso.resolve("iso-drop/dropped"), "x\n");
        txfs("--store", store.toString(), "umount", iso.toString()).ok();
        isolatedMounts.remove(iso);
        removeTree(iso);
        assertFalse(Files.exists(d.resolve("dropped")));

        Path again = mountIsolated();
        assertFalse(Files.exists(again.resolve("iso-drop/dropped")), "nothing of the dropped view is left");
        Files.writeString(again.resolve("iso-drop/offline"), "committed with the live tree unmounted\n");
        unmountOrClear();
        try {
            txfs("commit", "--mount", again.toString(), "-m", "offline").ok();
        } finally {
            mount();
        }
        assertEquals(
                "committed with the live tree unmounted\n",
                Files.readString(d.resolve("offline")),
                "the next mount of the live tree has it");
    }

    @Test
    void badInput_isRefusedWithAClearLine() throws Exception {
        Path p = tempDir("txfs-iso-bad");
        try {
            Result base = txfs("--store", store.toString(), "mount", "--base", "HEAD", p.toString());
            assertEquals(2, base.exit(), base.describe());
            assertTrue(base.stderr().contains("--base goes with --isolated"), base.stderr());
            Result req = txfs("--store", store.toString(), "mount", "--isolated", "--require-txn", p.toString());
            assertEquals(2, req.exit(), req.describe());
            Result unknown = txfs("--store", store.toString(), "mount", "--isolated", "--base", "nope", p.toString());
            assertEquals(3, unknown.exit(), unknown.describe());
            assertFalse(isMountpoint(p));
            Result busy = txfs("--store", store.toString(), "mount", "--isolated", mp.toString());
            assertEquals(2, busy.exit(), "a txfs is already mounted there: " + busy.describe());
        } finally {
            removeTree(p);
        }
    }
}
