package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;

/**
 * Real shells for transaction tests: {@link #shell} starts a bash script in the background with
 * {@code $T} = bin/txfs, {@code $M} = the mount and {@code $W} = a marker directory outside the
 * mount; a test waits for a marker with {@link #await}, looks from outside, then lets the shell go
 * on (commit, abort) and collects its output with {@link #finish}. Every shell a test starts is
 * killed in {@link #killShells}, even when the test fails.
 */
abstract class TransactionItBase extends LiveMountBase {
    final List<Process> shells = new ArrayList<>();

    @AfterEach
    void killShells() {
        for (Process p : shells) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        shells.clear();
    }

    /** Runs {@code script} in the background with $T = txfs, $M = the mount, $W = a marker directory. */
    Process shell(Path markers, String script) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(
                        "bash", "-c", "set -eu\n" + script, "bash", TXFS.toString(), mp.toString(), markers.toString())
                .redirectOutput(markers.resolve("out").toFile())
                .redirectError(markers.resolve("err").toFile());
        pb.environment().put("T", TXFS.toString());
        pb.environment().put("M", mp.toString());
        pb.environment().put("W", markers.toString());
        Process p = pb.start();
        shells.add(p);
        return p;
    }

    static void await(Path marker, Process p) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Files.exists(marker)) {
            if (!p.isAlive()) {
                throw new AssertionError("shell exited " + p.exitValue() + " before " + marker.getFileName() + ": "
                        + Files.readString(marker.resolveSibling("err")));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + marker.getFileName());
            }
            Thread.sleep(20);
        }
    }

    static String finish(Process p, Path markers) throws Exception {
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "shell finished");
        String err = Files.readString(markers.resolve("err"));
        assertEquals(0, p.exitValue(), "shell exit; stderr: " + err);
        return Files.readString(markers.resolve("out"));
    }

    /** The tree id of the live state, as a snapshot taken now records it. */
    static String liveTree() {
        String snap = sh("cd \"$2\" && \"$1\" snapshot -m probe", TXFS.toString(), mp.toString())
                .ok()
                .out()
                .strip();
        return treeOf(store, snap);
    }
}
