package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The ends of a transaction other than commit and abort: its shell exiting (the daemon aborts it
 * within about a second, as if it never existed) and garbage on the control file (EINVAL, and
 * every transaction stays as it was).
 */
class TransactionLifecycleTest extends TransactionItBase {
    /** Open transactions as {@code txfs txn list --json} gives them, without their ages. */
    private static String txnList() {
        return sh("cd \"$2\" && \"$1\" txn list --json", TXFS.toString(), mp.toString())
                .ok()
                .out()
                .strip()
                .replaceAll(AGE, "");
    }

    private static final String AGE = "\"age_seconds\":\\d+";

    @Test
    void shellExitWithoutCommit_abortsTheTransactionAndLeavesTheTreeAsItWas() throws Exception {
        Path d = dir("exit");
        Files.writeString(d.resolve("kept"), "kept\n");
        String before = liveTree();
        Path w = tempDir("txfs-exit");
        try {
            Process p = shell(w, """
                    cd "$M/exit"
                    "$T" begin -m "left open" > /dev/null
                    echo changed > kept
                    echo new > added
                    "$T" status | head -1
                    """);
            assertEquals(
                    "context: transaction",
                    finish(p, w).lines().findFirst().orElse("").replaceAll(" [0-9a-f]+$", ""));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (txnList().contains("left open") || txnList().length() > 2) {
                assertTrue(System.nanoTime() < deadline, "aborted within 10 s: " + txnList());
                Thread.sleep(100);
            }
            assertEquals("[]", txnList());
            assertEquals("kept\n", Files.readString(d.resolve("kept")));
            assertFalse(Files.exists(d.resolve("added")));
            assertEquals(before, liveTree(), "as if the transaction never existed");
        } finally {
            removeTree(w);
        }
    }

    @Test
    void controlFileGarbage_getsEinvalAndLeavesTransactionsUntouched() throws Exception {
        dir("garbage");
        Path w = tempDir("txfs-garbage");
        try {
            Process p = shell(w, """
                    cd "$M/garbage"
                    "$T" begin -m "garbage target" > /dev/null
                    echo mine > mine
                    "$T" status --json > "$W/before"
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" status --json > "$W/after"
                    "$T" commit > /dev/null
                    """);
            await(w.resolve("written"), p);
            String listed = txnList();
            // 500 random lines, from outside; each must fail with EINVAL and change nothing
            Result r = py(mp, PY_ERR + """
                    import random
                    rnd = random.Random(7)
                    counts = {}
                    for i in range(500):
                        n = rnd.randrange(1, 300)
                        line = bytes(rnd.randrange(256) for _ in range(n)).replace(b'\\n', b' ') + b'\\n'
                        def go():
                            fd = os.open('.txfs/ctl', os.O_RDWR)
                            try:
                                os.write(fd, line)
                            finally:
                                os.close(fd)
                        e = err(go)
                        counts[e] = counts.get(e, 0) + 1
                    print(sorted(counts.items()))
                    """).ok();
            assertEquals("[('EINVAL', 500)]\n", r.out());
            assertEquals(listed, txnList(), "the open transaction is as it was");
            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertEquals(
                    Files.readString(w.resolve("before")).replaceAll(AGE, ""),
                    Files.readString(w.resolve("after")).replaceAll(AGE, ""),
                    "its status is unchanged");
            assertEquals("mine\n", Files.readString(mp.resolve("garbage/mine")), "and it still commits");
        } finally {
            removeTree(w);
        }
    }
}
