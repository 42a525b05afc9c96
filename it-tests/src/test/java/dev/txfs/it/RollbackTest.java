package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code txfs rollback} on a serving mount: processes outside transactions see the old tree at
 * once (through the kernel's caches: contents, sizes, listings), history records the rollback, an
 * open transaction keeps its view and commits on top, and a bad name changes nothing.
 */
class RollbackTest extends TransactionItBase {
    @Test
    void rollback_whileMounted_showsTheOldTreeToEveryoneOutsideAndRecordsIt() throws Exception {
        Path d = dir("rb");
        Files.writeString(d.resolve("a"), "one\n");
        Files.writeString(d.resolve("b"), "bee\n");
        String first = snapshotIn(d, "rb first");
        Files.writeString(d.resolve("a"), "two, longer\n");
        Files.delete(d.resolve("b"));
        Files.createDirectories(d.resolve("sub"));
        Files.writeString(d.resolve("sub/c"), "c\n");
        String second = snapshotIn(d, "rb second");
        // a reader caches everything first: names, sizes, pages
        assertEquals(
                "12\na\nsub\ntwo, longer\n",
                sh("cd \"$1\" && stat -c %s a && ls && cat a", d.toString())
                        .ok()
                        .out());

        Result r = sh(
                        "cd \"$2\" && \"$1\" rollback \"$3\" -m back",
                        TXFS.toString(),
                        d.toString(),
                        first.substring(0, 10))
                .ok();
        String rolled = r.out().strip();

        assertEquals(
                "4\na\nb\none\nbee\n",
                sh("cd \"$1\" && stat -c %s a && ls && cat a b", d.toString())
                        .ok()
                        .out());
        assertFalse(Files.exists(d.resolve("sub/c")));
        String log = txfs("--store", store.toString(), "log", "--oneline", "-n", "3")
                .ok()
                .out();
        assertTrue(log.lines().findFirst().orElseThrow().contains("back"), log);
        assertTrue(
                txfs("--store", store.toString(), "show", rolled).ok().out().contains(second.substring(0, 12)),
                "the rollback's parent is the snapshot before it");
        assertEquals(treeOf(store, first), treeOf(store, rolled), "the live tree is exactly the old one");
    }

    @Test
    void rollback_whileATransactionIsOpen_leavesItsViewAndItCommitsOnTop() throws Exception {
        Path d = dir("rb-txn");
        Files.writeString(d.resolve("base"), "base\n");
        String first = snapshotIn(d, "rb-txn first");
        Files.writeString(d.resolve("later"), "later\n");
        Path w = tempDir("txfs-rb");
        try {
            Process p = shell(w, """
                    cd "$M/rb-txn"
                    "$T" begin > /dev/null
                    echo mine > mine
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    ls
                    "$T" commit > /dev/null
                    """);
            await(w.resolve("written"), p);
            sh("cd \"$2\" && \"$1\" rollback \"$3\"", TXFS.toString(), d.toString(), first)
                    .ok();
            assertFalse(Files.exists(d.resolve("later")), "outside: rolled back");
            Files.createFile(w.resolve("go"));
            assertEquals("base\nlater\nmine\n", finish(p, w), "inside: its own view, from before the rollback");
            assertEquals(
                    "base\nmine\n",
                    sh("ls \"$1\"", d.toString()).ok().out(),
                    "the commit lands on the rolled-back tree");
        } finally {
            removeTree(w);
        }
    }

    @Test
    void rollback_toANameThatIsNothing_changesNothing() {
        String before = txfs("--store", store.toString(), "log", "--oneline", "-n", "1")
                .ok()
                .out();
        Result r = sh("cd \"$2\" && \"$1\" rollback 0123456789abcdef", TXFS.toString(), mp.toString());
        assertEquals(3, r.exit(), r::describe);
        assertTrue(r.stderr().contains("no ref or snapshot named"), r.stderr());
        assertEquals(
                before,
                txfs("--store", store.toString(), "log", "--oneline", "-n", "1")
                        .ok()
                        .out());
    }
}
