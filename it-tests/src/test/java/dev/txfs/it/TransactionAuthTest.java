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
 * Who may act on a transaction, on root's mount (allow_other) with real shells of root and of the
 * user {@code nobody}: the kernel's uid and pid in each control request decide. A user acts only on
 * its own transaction from inside it; root may also name any transaction with {@code --txn ID}.
 */
class TransactionAuthTest extends TransactionItBase {
    /** Runs the rest of a shell line as nobody, keeping $T, $M and $W. */
    private static final String NOBODY = "runuser -u nobody --";

    @BeforeAll
    static void needsRunuser() {
        assumeTrue(has("runuser"), "needs runuser");
    }

    /** A marker directory that nobody may write to. */
    private static Path markers() throws Exception {
        Path w = tempDir("txfs-auth");
        sh("chmod 0777 \"$1\"", w.toString()).ok();
        return w;
    }

    private static Result txfsAsNobody(String... args) {
        return sh(NOBODY + " \"$@\"", prepend(TXFS.toString(), args));
    }

    private static String[] prepend(String first, String[] rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    @Test
    void nobodyDescendingFromRootsShell_cannotCommitOrAbortIt() throws Exception {
        Path d = dir("auth-inside");
        Path w = markers();
        try {
            Process p = shell(w, """
                    cd "$M/auth-inside"
                    "$T" begin > "$W/id"
                    echo root > f
                    set +e
                    runuser -u nobody -- "$T" commit 2> "$W/commit-err"; echo "commit $?"
                    runuser -u nobody -- "$T" abort 2> "$W/abort-err"; echo "abort $?"
                    set -e
                    "$T" status > "$W/status"
                    touch "$W/tried"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    cat f
                    "$T" abort
                    """);
            await(w.resolve("tried"), p);
            String id = Files.readString(w.resolve("id")).strip();
            assertEquals(
                    "exit 7 / exit 7",
                    Files.readString(w.resolve("out"))
                            .strip()
                            .replace("commit ", "exit ")
                            .replace("abort ", "exit ")
                            .replace("\n", " / "),
                    "nobody's commit and abort are denied");
            for (String f : new String[] {"commit-err", "abort-err"}) {
                String err = Files.readString(w.resolve(f));
                assertTrue(
                        err.contains("txfs: ") && err.contains(id) && err.contains("belongs to uid 0"), f + ": " + err);
            }
            String status = Files.readString(w.resolve("status"));
            assertTrue(status.startsWith("context: transaction " + id), status);
            assertTrue(status.contains("added:    /auth-inside/f"), "the transaction is unchanged: " + status);
            assertFalse(Files.exists(d.resolve("f")), "nothing was committed");

            // txn list: root sees the transaction, nobody does not
            String rootList = txfs("txn", "list", "--mount", mp.toString()).ok().out();
            assertTrue(rootList.contains(id) && rootList.contains("root"), rootList);
            String nobodyList =
                    txfsAsNobody("txn", "list", "--mount", mp.toString()).ok().out();
            assertFalse(nobodyList.contains(id), nobodyList);
            String nobodyJson = txfsAsNobody("txn", "list", "--json", "--mount", mp.toString())
                    .ok()
                    .out();
            assertEquals("[]", nobodyJson.strip());

            Files.createFile(w.resolve("go"));
            assertTrue(finish(p, w).endsWith("root\n"), "still open and intact after the denied requests");
            assertFalse(Files.exists(d.resolve("f")), "aborted by its own shell");
        } finally {
            removeTree(w);
        }
    }

    @Test
    void nobodyBeginsAndCommitsItsOwnTransactionOnRootsMount() throws Exception {
        Path d = dir("auth-own");
        sh("chown nobody \"$1\"", d.toString()).ok();
        Path w = markers();
        try {
            Process p = shell(w, """
                    runuser -u nobody -- bash -c '
                      set -eu
                      cd "$M/auth-own"
                      "$T" begin > "$W/id"
                      echo mine > f
                      mkdir sub
                      stat -c "%U %U" f sub > "$W/owners"
                      "$T" txn list > "$W/list"
                      touch "$W/written"
                      while [ ! -e "$W/go" ]; do sleep 0.02; done
                      "$T" commit
                    '
                    """);
            await(w.resolve("written"), p);
            String id = Files.readString(w.resolve("id")).strip();
            assertEquals("nobody nobody\nnobody nobody\n", Files.readString(w.resolve("owners")));
            assertTrue(Files.readString(w.resolve("list")).contains(id), "nobody lists its own transaction");
            assertEquals("", sh("ls -A \"$1\"", d.toString()).ok().out(), "root outside sees nothing yet");
            String rootList = txfs("txn", "list", "--mount", mp.toString()).ok().out();
            assertTrue(rootList.contains(id) && rootList.contains("nobody"), rootList);

            Files.createFile(w.resolve("go"));
            String snap = finish(p, w).strip();
            assertTrue(snap.matches("[0-9a-f]{64}"), snap);
            assertEquals("mine\n", Files.readString(d.resolve("f")));
            assertEquals(
                    "nobody f\nnobody sub\n",
                    sh("cd \"$1\" && stat -c '%U %n' f sub", d.toString()).ok().out());
            assertTrue(txfs("--store", store.toString(), "log").ok().out().contains(snap.substring(0, 12)));
        } finally {
            removeTree(w);
        }
    }

    @Test
    void rootActsOnNobodysTransactionById_nobodyCannotActOnRootsById() throws Exception {
        Path d = dir("auth-byid");
        sh("echo live > \"$1/seen\" && echo live > \"$1/seen2\" && chown -R nobody \"$1\"", d.toString())
                .ok();
        Path wn = markers();
        Path wr = markers();
        Path wc = markers();
        try {
            String nobodyScript = """
                    runuser -u nobody -- bash -c '
                      set -eu
                      cd "$M/auth-byid"
                      "$T" begin > "$W/id"
                      echo "$NAME" > seen
                      echo "$NAME" > "$NAME"
                      touch "$W/written"
                      while [ ! -e "$W/go" ]; do sleep 0.02; done
                      cat seen
                      ls
                      "$T" status | head -1
                    '
                    """;
            Process nobody = shell(wn, "export NAME=aborted\n" + nobodyScript);
            Process committed = shell(wc, "export NAME=committed\n" + nobodyScript.replace("seen", "seen2"));
            Process root = shell(wr, """
                    cd "$M/auth-byid"
                    "$T" begin > "$W/id"
                    echo root > rootfile
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" status | head -1
                    "$T" abort
                    """);
            await(wn.resolve("written"), nobody);
            await(wc.resolve("written"), committed);
            await(wr.resolve("written"), root);
            String nobodyId = Files.readString(wn.resolve("id")).strip();
            String committedId = Files.readString(wc.resolve("id")).strip();
            String rootId = Files.readString(wr.resolve("id")).strip();
            String m = mp.toString();

            // nobody names root's transaction (or any id): denied, and root's stays as it was
            Result denied = txfsAsNobody("abort", "--mount", m, "--txn", rootId);
            assertEquals(7, denied.exit(), denied::describe);
            assertTrue(denied.stderr().contains("only root may name a transaction"), denied.stderr());
            Result deniedCommit = txfsAsNobody("commit", "--mount", m, "--txn", rootId);
            assertEquals(7, deniedCommit.exit(), deniedCommit::describe);
            Result deniedOwn = txfsAsNobody("status", "--mount", m, "--txn", nobodyId);
            assertEquals(7, deniedOwn.exit(), "--txn is root's, even for one's own transaction");
            Result deniedUnknown = txfsAsNobody("abort", "--mount", m, "--txn", "000000000000");
            assertEquals(7, deniedUnknown.exit(), "a non-root caller learns nothing about ids");
            String rootStatus =
                    txfs("status", "--mount", m, "--txn", rootId).ok().out();
            assertTrue(rootStatus.startsWith("context: transaction " + rootId), rootStatus);
            assertTrue(rootStatus.contains("added:    /auth-byid/rootfile"), rootStatus);

            // root: unknown id is not found; status, abort and commit of nobody's by id
            Result unknown = txfs("abort", "--mount", m, "--txn", "000000000000");
            assertEquals(3, unknown.exit(), unknown::describe);
            assertTrue(unknown.stderr().contains("no open transaction 000000000000"), unknown.stderr());
            String nobodyStatus = txfs("status", "--json", "--mount", m, "--txn", nobodyId)
                    .ok()
                    .out();
            assertTrue(nobodyStatus.contains("\"id\":\"" + nobodyId + "\""), nobodyStatus);
            assertTrue(nobodyStatus.contains("\"user\":\"nobody\""), nobodyStatus);
            txfs("abort", "--mount", m, "--txn", nobodyId).ok();
            String snap = txfs("commit", "--mount", m, "--txn", committedId, "-m", "by root")
                    .ok()
                    .out()
                    .strip();
            assertTrue(snap.matches("[0-9a-f]{64}"), snap);
            String list = txfs("txn", "list", "--mount", m).ok().out();
            assertFalse(list.contains(nobodyId) || list.contains(committedId), list);
            assertTrue(list.contains(rootId), list);

            Files.createFile(wn.resolve("go"));
            assertEquals(
                    "live\ncommitted\nseen\nseen2\ncontext: live tree\n",
                    finish(nobody, wn),
                    "after root aborted it, nobody's shell sees the live tree");
            Files.createFile(wc.resolve("go"));
            assertEquals("committed\ncommitted\nseen\nseen2\ncontext: live tree\n", finish(committed, wc));
            assertEquals("committed\n", Files.readString(d.resolve("seen2")));
            assertEquals(
                    "nobody\n",
                    sh("stat -c %U \"$1\"", d.resolve("committed").toString())
                            .ok()
                            .out());
            assertFalse(Files.exists(d.resolve("aborted")));
            assertEquals("live\n", Files.readString(d.resolve("seen")));
            assertTrue(txfs("--store", store.toString(), "log").ok().out().contains("by root"));

            Files.createFile(wr.resolve("go"));
            assertEquals(
                    "context: transaction " + rootId,
                    finish(root, wr).lines().findFirst().orElse(""));
            assertFalse(Files.exists(d.resolve("rootfile")));
        } finally {
            removeTree(wn);
            removeTree(wr);
            removeTree(wc);
        }
    }

    /**
     * Finding 3 of issue 14: {@code begin --pid ANCESTOR} checked ancestry only, so a user's
     * process below a root process (cron, sshd, a CI agent) could root a transaction at it and
     * capture it and every other user's process below it. Now a user may root a transaction only
     * at a process of its own, and never takes in another user's.
     */
    @Test
    void nobodyBelowARootProcess_cannotRootATransactionAtIt() throws Exception {
        Path d = dir("auth-capture");
        Path w = markers();
        try {
            Process p = shell(w, """
                    cd "$M/auth-capture"
                    set +e
                    runuser -u nobody -- "$T" begin --pid $$ 2> "$W/begin-err"; echo "begin $?"
                    set -e
                    "$T" status | head -1
                    """);
            String out = finish(p, w);
            assertEquals("begin 7\ncontext: live tree\n", out, "denied, and root's shell is in no transaction");
            String err = Files.readString(w.resolve("begin-err"));
            assertTrue(err.contains("runs as uid 0") && err.contains("only at a process of its own"), err);
            assertEquals(
                    1,
                    txfs("txn", "list", "--mount", mp.toString())
                            .ok()
                            .out()
                            .lines()
                            .count(),
                    "no transaction was opened");
        } finally {
            removeTree(w);
        }
    }

    /**
     * Finding 3: nor may a user's begin take in a process of another uid below its own shell,
     * here a setuid-root program it runs (euid 0): the begin is refused and nothing moves.
     */
    @Test
    void nobodyWithASetuidChild_cannotBeginOverIt() throws Exception {
        dir("auth-setuid");
        Path w = markers();
        try {
            sh("cp \"$(type -P sleep)\" \"$1/rootsleep\" && chmod 4755 \"$1/rootsleep\"", w.toString())
                    .ok();
            Process p = shell(w, """
                    runuser -u nobody -- bash -c '
                      cd "$M/auth-setuid"
                      "$W/rootsleep" 30 &
                      while [ "$(stat -c %u /proc/$!)" != 0 ]; do sleep 0.02; done
                      set +e
                      "$T" begin 2> "$W/begin-err"; echo "begin $?"
                      "$T" status | head -1
                      kill $!
                    '
                    """);
            String out = finish(p, w);
            assertEquals("begin 7\ncontext: live tree\n", out);
            String err = Files.readString(w.resolve("begin-err"));
            assertTrue(err.contains("rootsleep") && err.contains("real/effective/saved/fs"), err);
        } finally {
            removeTree(w);
        }
    }

    /** Finding 3: root may take in other users' processes, and is told which. */
    @Test
    void rootBeginningOverNobodysProcess_isToldItTookItIn() throws Exception {
        dir("auth-told");
        Path w = markers();
        try {
            Process p = shell(w, """
                    cd "$M/auth-told"
                    setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30 &
                    spid=$!
                    while [ "$(stat -c %u /proc/$spid)" != 65534 ]; do sleep 0.02; done
                    echo $spid > "$W/pid"
                    "$T" begin > "$W/id" 2> "$W/begin-err"
                    "$T" abort
                    kill $spid
                    """);
            finish(p, w);
            String pid = Files.readString(w.resolve("pid")).strip();
            String err = Files.readString(w.resolve("begin-err"));
            assertTrue(err.contains("took in another user's process " + pid + " (sleep 30) of uid 65534"), err);
        } finally {
            removeTree(w);
        }
    }

    /**
     * Finding 7 of issue 14: a request assembled from several writes ran as whoever wrote its
     * last piece. Here nobody, inside root's transaction, writes {@code commit<TAB>} and lets a
     * setuid-root program finish the line on the same descriptor: the old daemon committed root's
     * transaction. Now each write is a whole request: both writes fail with EINVAL, nothing runs.
     */
    @Test
    void aRequestFinishedByASetuidWriter_isRefusedAndRunsNothing() throws Exception {
        Path d = dir("auth-deputy");
        Path w = markers();
        try {
            sh("cp \"$(type -P printf)\" \"$1/rootprintf\" && chmod 4755 \"$1/rootprintf\"", w.toString())
                    .ok();
            Process p = shell(w, """
                    cd "$M/auth-deputy"
                    "$T" begin > "$W/id"
                    echo root > f
                    runuser -u nobody -- bash -c '
                      exec 3<>"$M/.txfs/ctl"
                      printf "commit\t" >&3 2> "$W/first-err"; echo "first $?"
                      "$W/rootprintf" "pwned\n" >&3 2> "$W/second-err"; echo "second $?"
                    '
                    "$T" status | head -1
                    cat f
                    "$T" abort
                    """);
            String out = finish(p, w);
            String id = Files.readString(w.resolve("id")).strip();
            assertEquals("first 1\nsecond 1\ncontext: transaction " + id + "\nroot\n", out);
            assertTrue(Files.readString(w.resolve("first-err")).contains("Invalid argument"));
            assertFalse(Files.exists(d.resolve("f")), "root's transaction was not committed");
        } finally {
            removeTree(w);
        }
    }

    /**
     * Finding 7 of issue 14, the bypass a review found in the one-write rule: a setuid program
     * writes whole lines too (getopt's "ARGV0: invalid option" with an argv[0] of the caller's
     * choosing), so nobody opens the control file inside root's transaction and hands the
     * descriptor to a setuid-root program that writes a whole {@code commit} line. The write must
     * fail with EPERM (the writer is not who opened it), and root's transaction stays open.
     */
    @Test
    void aWholeRequestWrittenBySetuidProgramOnNobodysDescriptor_isRefusedAndRunsNothing() throws Exception {
        Path d = dir("auth-deputy-whole");
        Path w = markers();
        try {
            sh("cp \"$(type -P printf)\" \"$1/rootprintf\" && chmod 4755 \"$1/rootprintf\"", w.toString())
                    .ok();
            Process p = shell(w, """
                    cd "$M/auth-deputy-whole"
                    "$T" begin > "$W/id"
                    echo root > f
                    runuser -u nobody -- bash -c '
                      exec 3<>"$M/.txfs/ctl"
                      "$W/rootprintf" "commit\tpwned\n" >&3 2> "$W/whole-err"; echo "whole $?"
                    '
                    "$T" status | head -1
                    cat f
                    "$T" abort
                    """);
            String out = finish(p, w);
            String id = Files.readString(w.resolve("id")).strip();
            assertEquals("whole 1\ncontext: transaction " + id + "\nroot\n", out);
            String err = Files.readString(w.resolve("whole-err"));
            assertTrue(err.contains("Operation not permitted"), err);
            assertFalse(Files.exists(d.resolve("f")), "root's transaction was not committed");
        } finally {
            removeTree(w);
        }
    }

    /**
     * Finding 5 of issue 14 (the part on transactions): one user may have at most
     * --max-user-txns transactions open; the next begin fails with exit 7 and says why, and root
     * is not limited.
     */
    @Test
    void nobodyPastItsTransactionLimit_isRefusedWithExit7_rootIsNot() throws Exception {
        remount("--max-user-txns", "1");
        dir("auth-limit");
        Path w = markers();
        try {
            Process p = shell(w, """
                    cd "$M/auth-limit"
                    runuser -u nobody -- bash -c '
                      ( "$T" begin > "$W/first"; touch "$W/begun"; exec sleep 30 ) &
                      first=$!
                      while [ ! -e "$W/begun" ]; do sleep 0.02; done
                      set +e
                      ( "$T" begin 2> "$W/second-err" ); echo "second $?"
                      kill $first
                    '
                    ( "$T" begin > "$W/r1"; touch "$W/r1-begun"; while [ ! -e "$W/r-done" ]; do sleep 0.02; done; "$T" abort ) &
                    r1=$!
                    while [ ! -e "$W/r1-begun" ]; do sleep 0.02; done
                    "$T" begin > "$W/r2"
                    "$T" abort
                    touch "$W/r-done"
                    wait $r1
                    echo "root ok"
                    """);
            String out = finish(p, w);
            assertEquals("second 7\nroot ok\n", out);
            String err = Files.readString(w.resolve("second-err"));
            assertTrue(err.contains("the most one user may have on this mount (1)"), err);
        } finally {
            removeTree(w);
            remount();
        }
    }

    /**
     * Finding 8 of issue 14: joining a transaction moved a shell out of its own cgroup (to the top
     * of the hierarchy), and so out of every limit on it. Now the shell's new cgroup is below the
     * one it was in; it goes back there when the transaction ends.
     */
    @Test
    void beginInACgroup_keepsTheShellBelowIt() throws Exception {
        String cg2 = sh("findmnt -n -t cgroup2 -o TARGET | head -1").ok().out().strip();
        assumeTrue(!cg2.isEmpty(), "needs a cgroup2 hierarchy");
        dir("auth-cgroup");
        Path w = markers();
        // not named txfs-…: that would be taken for another daemon's transaction cgroup
        Path limited = Path.of(cg2).resolve("it-" + ProcessHandle.current().pid() + "-limited");
        Process p = null;
        try {
            Files.createDirectory(limited);
            p = shell(w, """
                    orig=$(sed -n 's/^0:://p' /proc/self/cgroup)
                    echo $$ > "$LIMITED/cgroup.procs"
                    cd "$M/auth-cgroup"
                    before=$(sed -n 's/^0:://p' /proc/self/cgroup)
                    "$T" begin > /dev/null
                    mode=$("$T" status --json | sed 's/.*"membership":"\\([a-z-]*\\)".*/\\1/')
                    inside=$(sed -n 's/^0:://p' /proc/self/cgroup)
                    "$T" abort
                    after=$(sed -n 's/^0:://p' /proc/self/cgroup)
                    echo "$mode|$before|$inside|$after"
                    echo $$ > "$CG2$orig/cgroup.procs"
                    """.replace("$LIMITED", limited.toString()).replace("$CG2", cg2));
            String[] f = finish(p, w).strip().split("\\|", -1);
            assumeTrue(f[0].equals("cgroup"), "the mount fell back to " + f[0]);
            assertTrue(f[1].endsWith("-limited"), f[1]);
            assertTrue(f[2].startsWith(f[1] + "/txfs-"), "in the transaction below its own cgroup: " + f[2]);
            assertEquals(f[1], f[3], "back where it was after the abort");
        } finally {
            if (p != null) {
                p.destroyForcibly().waitFor();
            }
            removeTree(w);
            sh("for i in $(seq 100); do rmdir \"$1\" 2>/dev/null && break; sleep 0.05; done; true", limited.toString());
        }
    }
}
