package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Transactions through the kernel with real shells: a shell runs {@code txfs begin}, works, and
 * waits on a marker file outside the mount while the test looks from outside; then it commits or
 * aborts. Every shell a test starts is killed in {@link #killShells} even when the test fails.
 */
class TransactionTest extends TransactionItBase {
    @Test
    void changesStayPrivateUntilCommit() throws Exception {
        Path d = dir("basic");
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/basic"
                    "$T" begin -m first > "$W/id"
                    echo a > f
                    cat f
                    "$T" status
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" commit
                    """);
            await(w.resolve("written"), p);
            assertFalse(Files.exists(d.resolve("f")), "outside, f does not exist while the transaction is open");
            assertEquals("", sh("ls -A \"$1\"", d.toString()).ok().out(), "outside listing is empty");
            Files.createFile(w.resolve("go"));
            String out = finish(p, w);
            assertTrue(out.startsWith("a\n"), out);
            assertTrue(out.contains("added:    /basic/f"), out);
            assertEquals("a\n", Files.readString(d.resolve("f")), "after commit everyone sees f");
        } finally {
            removeTree(w);
        }
    }

    @Test
    void abortLeavesTheTreeAsItWas() throws Exception {
        Path d = dir("abort");
        Files.writeString(d.resolve("kept"), "old\n");
        String before = liveTree();
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/abort"
                    "$T" begin > /dev/null
                    echo new > kept
                    mkdir -p sub/deeper && echo x > sub/deeper/y && ln -s kept link && chmod 600 kept
                    rm -f kept2
                    cat kept
                    "$T" abort
                    cat kept
                    """);
            assertEquals("new\nold\n", finish(p, w));
            assertEquals(before, liveTree(), "the tree id is the one from before the transaction");
        } finally {
            removeTree(w);
        }
    }

    @Test
    void statSizeListingAndContentDifferInsideAndOutside() throws Exception {
        Path d = dir("views");
        Files.writeString(d.resolve("f"), "outside\n");
        sh("cat \"$1\" >/dev/null; stat \"$1\" >/dev/null", d.resolve("f").toString())
                .ok(); // cache it outside
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M/views"
                    "$T" begin > /dev/null
                    echo "inside, longer" > f
                    echo n > new
                    stat -c %s f > "$W/inside-size"
                    ls > "$W/inside-ls"
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    stat -c %s f; ls; cat f
                    "$T" abort
                    """);
            await(w.resolve("written"), p);
            assertEquals("15\n", Files.readString(w.resolve("inside-size")));
            assertEquals("f\nnew\n", Files.readString(w.resolve("inside-ls")));
            Result out = sh("stat -c %s \"$1/f\"; ls \"$1\"; cat \"$1/f\"", d.toString())
                    .ok();
            assertEquals("8\nf\noutside\n", out.out(), "outside sees the live tree only");
            Files.createFile(w.resolve("go"));
            assertEquals("15\nf\nnew\ninside, longer\n", finish(p, w), "inside still sees its own version");
        } finally {
            removeTree(w);
        }
    }

    @Test
    void disjointTransactionsBothCommitAndTheSamePathConflicts() throws Exception {
        Path d = dir("merge");
        Files.writeString(d.resolve("shared"), "base\n");
        Path w1 = tempDir("txfs-txn");
        Path w2 = tempDir("txfs-txn");
        try {
            String script = """
                    cd "$M/merge"
                    "$T" begin > /dev/null
                    echo "$NAME" > "$NAME"
                    echo "$NAME" > shared
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    set +e
                    "$T" commit
                    echo "exit $?"
                    "$T" status | head -1
                    """;
            Process a = shell(w1, "NAME=a\n" + script);
            Process b = shell(w2, "NAME=b\n" + script.replace("echo \"$NAME\" > shared\n", ""));
            await(w1.resolve("written"), a);
            await(w2.resolve("written"), b);
            Files.createFile(w1.resolve("go"));
            String outA = finish(a, w1);
            assertTrue(outA.contains("exit 0"), outA);
            Files.createFile(w2.resolve("go"));
            assertTrue(finish(b, w2).contains("exit 0"));
            assertEquals("a\n", Files.readString(d.resolve("a")));
            assertEquals("b\n", Files.readString(d.resolve("b")));
            assertEquals("a\n", Files.readString(d.resolve("shared")));

            // now both write the same file: the second commit fails naming it and stays open
            removeTree(w1);
            removeTree(w2);
            Files.createDirectories(w1);
            Files.createDirectories(w2);
            Process c = shell(w1, "NAME=c\n" + script);
            Process e = shell(w2, "NAME=e\n" + script + "\"$T\" abort\n");
            await(w1.resolve("written"), c);
            await(w2.resolve("written"), e);
            Files.createFile(w1.resolve("go"));
            assertTrue(finish(c, w1).contains("exit 0"));
            Files.createFile(w2.resolve("go"));
            String outE = finish(e, w2);
            assertTrue(outE.contains("exit 6"), outE);
            assertTrue(outE.contains("context: transaction"), "still open after the conflict: " + outE);
            assertTrue(Files.readString(w2.resolve("err")).contains("/merge/shared"), "names the path");
            assertEquals("c\n", Files.readString(d.resolve("shared")));
            assertFalse(Files.exists(d.resolve("e")), "the aborted transaction left nothing");
        } finally {
            removeTree(w1);
            removeTree(w2);
        }
    }

    /**
     * Issue 17: the conflict message listed the paths before its summary line, which ended in a
     * colon and nothing after it ("…since it began:", "…it stays kept:"); and {@code commit --json}
     * printed nothing on a conflict.
     */
    @Test
    void commit_whenSamePathChangedInLiveTree_printsSummaryThenPathsThenWhatToDo_andJson() throws Exception {
        Path d = dir("conflictmsg");
        Files.writeString(d.resolve("shared"), "base\n");
        Path w1 = tempDir("txfs-txn");
        Path w2 = tempDir("txfs-txn");
        try {
            Process first = shell(w1, """
                    cd "$M/conflictmsg"
                    "$T" begin > /dev/null
                    echo first > shared
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    "$T" commit > /dev/null
                    """);
            Process second = shell(w2, """
                    cd "$M/conflictmsg"
                    "$T" begin > "$W/id"
                    echo second > shared
                    echo new > other
                    touch "$W/written"
                    while [ ! -e "$W/go" ]; do sleep 0.02; done
                    set +e
                    "$T" commit 2> "$W/conflict-err"
                    echo "exit $?"
                    "$T" commit --json > "$W/conflict-json" 2> "$W/json-err"
                    echo "exit $?"
                    "$T" status | head -1
                    "$T" abort
                    """);
            await(w1.resolve("written"), first);
            await(w2.resolve("written"), second);
            Files.createFile(w1.resolve("go"));
            finish(first, w1);
            Files.createFile(w2.resolve("go"));
            String out = finish(second, w2);
            assertEquals("exit 6\nexit 6\ncontext: transaction\n", out.replaceAll("(context: transaction).*", "$1"));
            String id = Files.readString(w2.resolve("id")).strip();
            assertEquals(
                    "txfs: conflict: changed both in transaction " + id + " and outside since it began;"
                            + " nothing was committed and it stays open\n"
                            + "txfs: conflict: /conflictmsg/shared\n"
                            + "txfs: resolve these paths in the transaction, then txfs commit again;"
                            + " or txfs abort to drop it\n",
                    Files.readString(w2.resolve("conflict-err")),
                    "the summary first, then the paths, then what to do");
            String json = Files.readString(w2.resolve("conflict-json"));
            assertEquals("", Files.readString(w2.resolve("json-err")), "--json says it all on stdout");
            assertEquals(
                    "True|" + id + "|['/conflictmsg/shared']",
                    sh(
                                    "python3 -c 'import json,sys; j=json.loads(sys.argv[1]);"
                                            + " print(j[\"conflicted\"], j[\"transaction\"], j[\"conflicts\"], sep=\"|\")' \"$1\"",
                                    json)
                            .ok()
                            .out()
                            .strip(),
                    json);
            assertEquals("first\n", Files.readString(d.resolve("shared")), "the conflict committed nothing");
            assertFalse(Files.exists(d.resolve("other")), "nor the path that did not conflict");
        } finally {
            removeTree(w1);
            removeTree(w2);
        }
    }

    @Test
    void nestedBeginFailsClearly() throws Exception {
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M"
                    "$T" begin >/dev/null
                    set +e
                    "$T" begin 2> "$W/nested-err"
                    echo "exit $?"
                    "$T" abort
                    "$T" status | head -1
                    """);
            String out = finish(p, w);
            assertEquals("exit 1\ncontext: live tree\n", out);
            assertTrue(Files.readString(w.resolve("nested-err")).contains("nested transactions are not supported"));
        } finally {
            removeTree(w);
        }
    }

    @Test
    void commitOutsideATransactionIsNotFound() {
        Result r = sh("cd \"$2\" && \"$1\" commit", TXFS.toString(), mp.toString());
        assertEquals(3, r.exit(), r::describe);
        assertTrue(r.stderr().contains("not in a transaction"), r.stderr());
    }

    /**
     * Regression, "ESTALE writing a file an earlier transaction created": in a transaction, {@code
     * echo x > dir/f} failed with "Stale file handle" when an earlier transaction had created and
     * committed {@code dir/f}, if {@code dir} had been looked up only inside transactions since the
     * mount. The daemon bound {@code dir}'s shared inode to the transaction that looked it up, not to
     * the live directory it is the number of, so after the commit the next transaction's walk
     * through it (a GETATTR, the commit had dropped its attributes) answered ESTALE. That spent the
     * kernel's one LOOKUP_REVAL retry, and the retry's open then got the ESTALE with which the
     * shared file diverges, with no retry left. A {@code stat dir/f} first hid it.
     */
    @Test
    void writingAFileAnEarlierTransactionCreated_inADirectoryFirstLookedUpInside_isNotStale() throws Exception {
        dir("estale");
        remount(); // the live view has not looked estale up since the mount
        Path w = tempDir("txfs-txn");
        try {
            Process p = shell(w, """
                    cd "$M"
                    for i in 1 2 3; do
                      "$T" begin > /dev/null
                      echo "$i" > estale/f || echo "round $i failed"
                      "$T" commit > /dev/null
                    done
                    cat estale/f
                    """);
            assertEquals(
                    "3\n", finish(p, w), "every round wrote the file; stderr: " + Files.readString(w.resolve("err")));
        } finally {
            removeTree(w);
        }
    }
}
