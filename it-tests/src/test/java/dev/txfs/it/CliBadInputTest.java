package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every command given bad input (issue 7, "Bad input"): unknown verbs and options, missing and
 * malformed arguments, unknown ids and refs, too-short prefixes, invalid names and durations,
 * files that are not streams or keys, a store of a newer format, a store whose live tree another
 * daemon serves, mount points that are busy, missing or not directories, transaction commands
 * with no mount. Each must print exactly one line on stderr starting with {@code txfs: }, nothing
 * on stdout, exit with its documented code (mount-tool/README-exit-codes.md), and change nothing:
 * the store's history, tags, refs and object count are compared before and after the sweep.
 * (Ambiguous prefixes are covered by the unit tests of {@code Snapshots.resolve} and by {@code
 * HistoryCommandsTest}: making two snapshots share 4 hex digits takes hundreds of them.)
 */
class CliBadInputTest extends LiveMountBase {
    private record Case(int exit, List<String> args) {}

    private static Case c(int exit, String... args) {
        return new Case(exit, List.of(args));
    }

    private static String fingerprint() {
        String s = store.toString();
        return txfs("--store", s, "log", "--oneline").ok().out()
                + txfs("--store", s, "tag", "--list").ok().out()
                + txfs("--store", s, "verify").ok().out().replaceAll(", [0-9]+ bytes", "");
    }

    @Test
    void everyCommand_badInput_oneLineOnStderr_documentedExitCode_nothingChanged() throws Exception {
        Path d = dir("bad-input");
        Files.writeString(d.resolve("f"), "f\n");
        String snap = snapshotIn(d, "bad-input base");
        txfs("--store", store.toString(), "tag", "bad-input-tag", snap).ok();
        Path w = tempDir("txfs-bad");
        try {
            Path junk = Files.writeString(w.resolve("junk"), "not a stream, not a key\n");
            Path regular = Files.writeString(w.resolve("regular"), "x");
            Path nonEmpty = Files.createDirectories(w.resolve("nonempty"));
            Files.writeString(nonEmpty.resolve("x"), "x");
            Path emptyDir = Files.createDirectories(w.resolve("empty"));
            Path newer = Files.createDirectories(w.resolve("newer"));
            txfs("--store", newer.toString(), "init").ok();
            Path conf = newer.resolve("txfs-store.conf");
            Files.writeString(conf, Files.readString(conf).replace("format=1", "format=99"));
            String s = store.toString();
            String missing = w.resolve("missing").toString();

            List<Case> cases = new ArrayList<>(List.of(
                    c(2, "frobnicate"),
                    c(2, "--store", s, "log", "--no-such-option"),
                    c(2, "--store", s, "show"),
                    c(3, "--store", s, "show", "zzzz"),
                    c(3, "--store", s, "show", "0000000000"),
                    c(2, "--store", s, "show", "ab"),
                    c(2, "--store", s, "log", "-n", "-3"),
                    c(2, "--store", s, "log", "-n", "x"),
                    c(3, "--store", s, "diff", "nope"),
                    c(3, "--store", s, "diff", snap, "nope"),
                    c(2, "--store", s, "tag", "bad..name", snap),
                    c(3, "--store", s, "tag", "t2", "nope"),
                    c(2, "--store", s, "tag", "bad-input-tag", "live"), // exists elsewhere: needs --force
                    c(2, "--store", s, "checkout", snap, nonEmpty.toString()),
                    c(3, "--store", s, "checkout", "nope", emptyDir.toString()),
                    c(3, "--store", s, "snapshot", "--from-dir", missing),
                    c(2, "--store", s, "snapshot", "--from-dir", regular.toString()),
                    c(3, "--store", s, "verify", "nope"),
                    c(3, "--store", s, "rollback", "nope"),
                    c(2, "--store", s, "gc", "--keep-last", "-1"),
                    c(2, "--store", s, "gc", "--keep-within", "3x"),
                    c(2, "--store", s, "du", "extra"),
                    c(3, "--store", s, "export", "nope", "-o", w.resolve("o").toString()),
                    c(2, "--store", s, "export", snap),
                    c(
                            3,
                            "--store",
                            s,
                            "export",
                            snap + "..nope",
                            "-o",
                            w.resolve("o").toString()),
                    c(3, "--store", s, "import", missing),
                    c(2, "--store", s, "import", junk.toString()),
                    c(3, "--store", s, "key", "trust", missing),
                    c(2, "--store", s, "key", "trust", junk.toString()),
                    c(2, "--store", s, "sign", "--key", junk.toString(), snap),
                    c(2, "--store", s, "verify", "--signed-by", junk.toString(), snap),
                    c(3, "--store", s, "mount", missing),
                    c(2, "--store", s, "mount", regular.toString()),
                    c(2, "--store", s, "mount", mp.toString()), // busy: a txfs is mounted there
                    c(4, "--store", s, "mount", emptyDir.toString()), // the live tree is served already
                    c(3, "begin", "--mount", emptyDir.toString()),
                    c(3, "commit", "--mount", emptyDir.toString()),
                    c(3, "abort", "--mount", emptyDir.toString()),
                    c(3, "status", "--mount", emptyDir.toString()),
                    c(3, "txn", "list", "--mount", emptyDir.toString()),
                    c(3, "run", "--mount", emptyDir.toString(), "--", "true"),
                    c(2, "commit", "--txn", "", "--mount", mp.toString()),
                    c(3, "--store", s, "boot", "resolve", "--cmdline", missing),
                    c(3, "--store", s, "boot", "set-default", "nope"),
                    c(2, "--store", s, "boot", "set-default", snap, "--tries", "0"),
                    c(4, "--store", missing, "log"),
                    c(4, "--store", w.toString(), "log"),
                    c(4, "--store", newer.toString(), "log"),
                    c(4, "--store", newer.toString(), "show", "HEAD")));

            String before = fingerprint();
            List<String> wrong = new ArrayList<>();
            for (Case k : cases) {
                List<String> cmd = new ArrayList<>(List.of(TXFS.toString()));
                cmd.addAll(k.args());
                Result r = run(QUICK, w, cmd);
                List<String> err = r.stderr().lines().toList();
                if (r.exit() != k.exit()
                        || err.size() != 1
                        || !err.get(0).startsWith("txfs: ")
                        || !r.out().isEmpty()) {
                    wrong.add("expected exit " + k.exit() + ", one line on stderr, none on stdout: " + r.describe());
                }
            }
            assertEquals(List.of(), wrong, wrong.size() + " of " + cases.size() + " cases");
            assertEquals(before, fingerprint(), "bad input changed nothing in the store");
            assertTrue(Files.readString(conf).contains("format=99"), "the newer store is untouched");
            assertEquals(List.of("x"), List.of(nonEmpty.toFile().list()), "the checkout target is untouched");
            assertEquals(0, emptyDir.toFile().list().length);
        } finally {
            removeTree(w);
        }
    }
}
