package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, finding 1: a transaction begun on an old snapshot is served that snapshot's
 * permissions, so its commit is checked against the live tree's, as its user, on root's mount with
 * real shells of {@code nobody}. Before the fix, {@code nobody} could begin on a snapshot where a
 * directory was 0777, write there, and commit into today's root-owned 0755 directory.
 */
class OldBasePermissionsTest extends TransactionItBase {
    /** Begins a transaction on snapshot argv[2] for the writer's parent (the shell) via the control file argv[1]. */
    private static final String BEGIN_ON_BASE = """
            import os, sys
            fd = os.open(sys.argv[1], os.O_RDWR)
            os.write(fd, ("begin\\t0\\told-base\\t" + sys.argv[2] + "\\n").encode())
            print(os.pread(fd, 4096, 0).decode(), end="")
            """;

    @BeforeAll
    static void needsRunuser() {
        assumeTrue(has("runuser") && has("python3"), "needs runuser and python3");
    }

    /**
     * {@code /NAME/pub} 0777 with root's {@code rootfile} and {@code /NAME/own} nobody's, recorded
     * as a snapshot; then {@code pub} becomes 0755. Returns the snapshot.
     */
    private static String oldSnapshotWherePubWas0777(Path d) {
        sh("""
                        mkdir "$1/pub" "$1/own" && chmod 0777 "$1/pub" && chown nobody "$1/own"
                        echo root > "$1/pub/rootfile"
                        """, d.toString()).ok();
        String snap = snapshotIn(d, "pub still 0777");
        sh("chmod 0755 \"$1/pub\"", d.toString()).ok();
        return snap;
    }

    private static Path markers() throws Exception {
        Path w = tempDir("txfs-perms");
        Files.writeString(w.resolve("begin.py"), BEGIN_ON_BASE);
        sh("chmod 0777 \"$1\" && chmod 0644 \"$1/begin.py\"", w.toString()).ok();
        return w;
    }

    @Test
    void commitOnOldBase_intoNowRootOwned0755Directory_isRefusedNamedAndChangesNothing() throws Exception {
        Path d = dir("oldbase");
        String snap = oldSnapshotWherePubWas0777(d);
        Path w = markers();
        try {
            Process p = shell(w, "export SNAP=" + snap + "\n" + """
                    runuser -u nobody -- bash -c '
                      set -eu
                      cd "$M/oldbase"
                      python3 "$W/begin.py" "$M/.txfs/ctl" "$SNAP" > "$W/begin"
                      echo evil > pub/evil
                      echo evil > pub/new && mv -f pub/new pub/rootfile
                      echo mine > own/out
                      set +e
                      "$T" commit 2> "$W/commit-err"; echo "$?" > "$W/commit-rc"
                      set -e
                      "$T" status > "$W/status"
                      touch "$W/tried"
                      while [ ! -e "$W/go" ]; do sleep 0.02; done
                      "$T" abort
                    '
                    """);
            await(w.resolve("tried"), p);
            assertTrue(Files.readString(w.resolve("begin")).startsWith("ok\n"), Files.readString(w.resolve("begin")));
            String err = Files.readString(w.resolve("commit-err"));
            assertEquals("7", Files.readString(w.resolve("commit-rc")).strip(), "exit code 7; stderr: " + err);
            assertTrue(err.contains("permission denied"), err);
            assertTrue(err.contains("/oldbase/pub/evil: ") && err.contains("/oldbase/pub/rootfile: "), err);
            assertFalse(err.contains("/oldbase/own/out"), "a change the user may make is not named: " + err);

            assertFalse(Files.exists(d.resolve("pub/evil")), "nothing landed");
            assertFalse(Files.exists(d.resolve("own/out")), "the whole commit was refused");
            assertEquals("root\n", Files.readString(d.resolve("pub/rootfile")));
            assertEquals(
                    "root 755\n",
                    sh("stat -c '%U %a' \"$1\"", d.resolve("pub").toString())
                            .ok()
                            .out());
            String status = Files.readString(w.resolve("status"));
            assertTrue(status.startsWith("context: transaction "), "the transaction stays open: " + status);
            assertTrue(status.contains("/oldbase/pub/evil"), status);

            Files.createFile(w.resolve("go"));
            finish(p, w);
            assertFalse(Files.exists(d.resolve("pub/evil")));
        } finally {
            removeTree(w);
        }
    }

    @Test
    void runOnOldBase_byAnOrdinaryUser_commitsWhereItMayWrite_andKeepsWhatItMayNot() throws Exception {
        Path d = dir("oldrun");
        String snap = oldSnapshotWherePubWas0777(d);
        Path own = d.resolve("own");

        // a build on an old snapshot, writing where the user may: committed
        Result ok = sh(
                "cd \"$2\" && runuser -u nobody -- \"$1\" run --base \"$3\" --commit -- sh -c 'echo built > out'",
                TXFS.toString(),
                own.toString(),
                snap);
        assertEquals(0, ok.exit(), ok::describe);
        assertEquals("built\n", Files.readString(own.resolve("out")));
        assertEquals(
                "nobody\n",
                sh("stat -c %U \"$1\"", own.resolve("out").toString()).ok().out());

        // the same, writing into the directory that is root's 0755 now: refused, kept, exit 7
        Result refused = sh(
                "cd \"$2\" && runuser -u nobody -- \"$1\" run --base \"$3\" --commit --name evil --"
                        + " sh -c 'echo evil > ../pub/evil'",
                TXFS.toString(),
                own.toString(),
                snap);
        assertEquals(7, refused.exit(), refused::describe);
        assertTrue(refused.stderr().contains("permission denied: /oldrun/pub/evil: "), refused.stderr());
        assertTrue(refused.stderr().contains("kept as runs/evil"), refused.stderr());
        assertFalse(Files.exists(d.resolve("pub/evil")));

        // committing the kept run is checked the same way; dropping it is the user's
        Result kept = sh("cd \"$2\" && runuser -u nobody -- \"$1\" commit --run evil", TXFS.toString(), own.toString());
        assertEquals(7, kept.exit(), kept::describe);
        assertTrue(kept.stderr().contains("txfs: permission denied: /oldrun/pub/evil: "), kept.stderr());
        assertFalse(Files.exists(d.resolve("pub/evil")));
        sh("cd \"$2\" && runuser -u nobody -- \"$1\" abort --run evil", TXFS.toString(), own.toString())
                .ok();
    }
}
