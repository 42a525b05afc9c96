package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code txfs gc} on a store that is mounted and serving: what aborted transactions wrote is
 * reclaimed, nothing reachable goes (the base class verifies the store afterwards), a writer keeps
 * working during a collection, history pruning keeps what the policy says, and bad input or a store
 * open elsewhere changes nothing.
 */
class GcTest extends TransactionItBase {
    private static Result gc(String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "--store";
        all[1] = store.toString();
        all[2] = "gc";
        System.arraycopy(args, 0, all, 3, args.length);
        return txfs(all);
    }

    /** Objects and bytes the store holds, from txfs gc --json's objects_before after a no-op pass. */
    private static long objects() {
        String json = gc("--json").ok().out();
        return Long.parseLong(json.replaceAll(".*\"objects_before\":(\\d+).*\\s*", "$1"))
                - Long.parseLong(json.replaceAll(".*\"objects_freed\":(\\d+).*\\s*", "$1"));
    }

    @Test
    void gc_afterAnAbortedTransaction_reclaimsItsChunksWhileTheMountServes() throws Exception {
        Path d = dir("gc-abort");
        Files.writeString(d.resolve("kept"), "kept\n");
        long before = objects();
        Path w = tempDir("txfs-gc");
        try {
            Process p = shell(w, """
                    cd "$M/gc-abort"
                    "$T" begin > /dev/null
                    head -c 40M /dev/urandom > big
                    "$T" status > /dev/null # writes the transaction's tree out to the store
                    "$T" abort
                    """);
            finish(p, w);
        } finally {
            removeTree(w);
        }
        Result r = gc("--json").ok();
        long freed = Long.parseLong(r.out().replaceAll(".*\"bytes_freed\":(\\d+).*\\s*", "$1"));
        assertTrue(freed >= 30L << 20, "the aborted 40 MiB were reclaimed: " + r.out());
        assertEquals("kept\n", Files.readString(d.resolve("kept")));
        assertTrue(objects() <= before + 8, "back to about what it held before the transaction");
    }

    @Test
    void gc_whileAWriterRunsAndATransactionIsOpen_losesNothing() throws Exception {
        Path d = dir("gc-busy");
        Path w = tempDir("txfs-gc");
        try {
            // An open transaction holds a file it wrote; a writer outside writes files in a loop.
            Process txn = shell(w, """
                    cd "$M/gc-busy"
                    "$T" begin > /dev/null
                    head -c 5M /dev/urandom > in-txn
                    sha256sum in-txn > "$W/sum"
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    sha256sum -c "$W/sum" > /dev/null
                    "$T" commit > /dev/null
                    """);
            await(w.resolve("written"), txn);
            Process writer = new ProcessBuilder(
                            "bash", "-c", "for i in $(seq 200); do head -c 20000 /dev/urandom > f$i; done", "bash")
                    .directory(d.toFile())
                    .start();
            for (int i = 0; i < 3; i++) {
                gc().ok();
            }
            assertTrue(writer.waitFor(60, TimeUnit.SECONDS) && writer.exitValue() == 0, "the writer finished");
            Files.createFile(w.resolve("go"));
            finish(txn, w);
            gc().ok();
            assertEquals(
                    "200",
                    sh("ls \"$1\" | grep -c '^f'", d.toString()).ok().out().strip());
            assertEquals(5L << 20, Files.size(d.resolve("in-txn")), "the transaction's file survived the collections");
        } finally {
            removeTree(w);
        }
    }

    @Test
    void gc_withKeepLast_prunesOlderSnapshotsAndKeepsTheNewest() throws Exception {
        Path d = dir("gc-history");
        String last = null;
        for (int i = 0; i < 4; i++) {
            head(d.resolve("v" + i), 1 << 20);
            last = sh("cd \"$2\" && \"$1\" snapshot -m \"gc round " + i + "\"", TXFS.toString(), d.toString())
                    .ok()
                    .out()
                    .strip();
        }
        Result r = gc("--keep-last", "2").ok();
        assertTrue(r.out().matches("(?s)freed \\d+ of \\d+ objects .*pruned [1-9]\\d*;.*"), r.out());
        String log =
                txfs("--store", store.toString(), "log", "--oneline", last).ok().out();
        assertEquals(2, log.lines().count(), "log ends where the kept history ends: " + log);
        assertTrue(log.contains("gc round 3") && log.contains("gc round 2"), log);
        assertEquals(1L << 20, Files.size(d.resolve("v0")), "the live tree keeps every file");
    }

    @Test
    void du_namesTheBytesOnlyEachSnapshotHolds() throws Exception {
        Path d = dir("du");
        head(d.resolve("shared"), 1 << 20);
        head(d.resolve("unique"), 2 << 20);
        String first = sh("cd \"$2\" && \"$1\" snapshot -m du-first", TXFS.toString(), d.toString())
                .ok()
                .out()
                .strip();
        Files.delete(d.resolve("unique"));
        String second = sh("cd \"$2\" && \"$1\" snapshot -m du-second", TXFS.toString(), d.toString())
                .ok()
                .out()
                .strip();
        String json = txfs("--store", store.toString(), "du", "--json").ok().out();
        Result parsed = sh(
                        "python3 -c 'import json,sys; r=json.loads(sys.argv[1]); s={x[\"id\"]: x[\"exclusive_bytes\"] for x in r[\"snapshots\"]}; print(s[sys.argv[2]], s[sys.argv[3]])' \"$1\" "
                                + first + " " + second,
                        json)
                .ok();
        String[] bytes = parsed.out().strip().split(" ");
        assertTrue(Long.parseLong(bytes[0]) >= 2L << 20, "the first alone holds the 2 MiB file: " + parsed.out());
        assertTrue(Long.parseLong(bytes[1]) < 1L << 20, "the shared file counts for neither: " + parsed.out());
        String text = txfs("--store", store.toString(), "du").ok().out();
        assertTrue(
                text.contains(first.substring(0, 12)) && text.contains("du-first") && text.contains("2.0 MiB"), text);
    }

    @Test
    void gc_whenInputIsBadOrTheStoreIsOpenElsewhere_changesNothing() throws Exception {
        long before = objects();
        Result zero = gc("--keep-last", "0");
        assertEquals(2, zero.exit(), zero::describe);
        assertTrue(zero.stderr().contains("--keep-last must be at least 1"), zero.stderr());
        Result bad = gc("--keep-within", "5 fortnights");
        assertEquals(2, bad.exit(), bad::describe);
        assertTrue(bad.stderr().contains("invalid duration"), bad.stderr());
        // another process holding the store open, as a second mount or an import would
        Process holder = new ProcessBuilder(
                        "python3",
                        "-c",
                        "import fcntl, sys, time\nf = open(sys.argv[1])\nfcntl.lockf(f, fcntl.LOCK_SH)\n"
                                + "print('locked', flush=True)\ntime.sleep(60)\n",
                        store.resolve("gc.lock").toString())
                .start();
        try {
            assertEquals('l', holder.getInputStream().read());
            Result busy = gc("--wait", "1");
            assertEquals(4, busy.exit(), busy::describe);
            assertTrue(busy.stderr().contains("open in another process"), busy.stderr());
        } finally {
            holder.destroyForcibly();
            holder.waitFor(10, TimeUnit.SECONDS);
        }
        assertEquals(before, objects());
    }

    private static void head(Path f, int bytes) {
        sh("head -c " + bytes + " /dev/urandom > \"$1\"", f.toString()).ok();
    }
}
