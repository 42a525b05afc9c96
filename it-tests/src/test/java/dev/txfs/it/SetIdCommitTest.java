package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Finding A of the review of issue 14: a change of content by a user who does not own the file
 * commits only without the file's set-id bits, as the kernel's own write leaves it. The commit
 * check refuses a non-owner's new content that keeps them (the view does not clear them on every
 * path: {@code CommitPermissionsTest}), and lets the clearing the kernel does on such a change pass;
 * before, that clearing was a chmod by a non-owner and the commit was refused.
 */
class SetIdCommitTest extends TransactionItBase {
    @BeforeAll
    static void needsTools() {
        assumeTrue(has("runuser") && has("fallocate"), "needs runuser and fallocate");
    }

    @Test
    void nobodysFallocate_onRootsWorldWritableSetuidFile_commitsWithoutTheSetuidBit() {
        Path d = dir("setid");
        sh("printf old > \"$1/tool\" && chmod 04777 \"$1/tool\" && chmod 0777 \"$1\"", d.toString())
                .ok();

        Result r = sh(
                "cd \"$2\" && runuser -u nobody -- \"$1\" run --commit --name falloc -- fallocate -o 0 -l 8192 tool",
                TXFS.toString(),
                d.toString());

        assertEquals(0, r.exit(), r::describe);
        assertEquals(
                "root 777 8192\n",
                sh("stat -c '%U %a %s' \"$1\"", d.resolve("tool").toString())
                        .ok()
                        .out());
    }
}
