package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs real commands for the integration tests: {@code bin/txfs} of this repository (the system
 * property {@code txfs.repo} names it) and shell tools, each with a timeout, capturing both
 * outputs. Temporary directories made here are removed by {@link #removeTree}, which tests call
 * from {@code @AfterAll}/{@code @AfterEach} so they go even when a test fails.
 */
abstract class TxfsItBase {
    static final Path REPO = repo();
    static final Path TXFS = REPO.resolve("bin/txfs");
    static final Duration TIMEOUT = Duration.ofMinutes(5);

    /** {@code txfs.repo}, or the directory above it when Maven ran inside it-tests/. */
    private static Path repo() {
        Path p = Path.of(System.getProperty("txfs.repo", "..")).toAbsolutePath().normalize();
        if (!Files.exists(p.resolve("bin/txfs"))
                && p.getParent() != null
                && Files.exists(p.getParent().resolve("bin/txfs"))) {
            p = p.getParent();
        }
        return p;
    }

    /** What a command did. */
    record Result(List<String> command, int exit, byte[] stdout, String stderr) {
        String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        String describe() {
            return command + " exited " + exit + "\n--- stderr:\n" + stderr + "\n--- stdout:\n" + out();
        }

        Result ok() {
            assertEquals(0, exit, this::describe);
            return this;
        }
    }

    static Result run(Duration timeout, Path cwd, List<String> command) {
        Path outFile = null;
        Path errFile = null;
        try {
            outFile = Files.createTempFile("txfs-it-out", ".txt");
            errFile = Files.createTempFile("txfs-it-err", ".txt");
            ProcessBuilder pb = new ProcessBuilder(command)
                    .directory(cwd == null ? null : cwd.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(outFile.toFile())
                    .redirectError(errFile.toFile());
            pb.environment().put("LC_ALL", "C.UTF-8");
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                fail("timed out after " + timeout + ": " + command + "\n" + Files.readString(errFile));
            }
            return new Result(command, p.exitValue(), Files.readAllBytes(outFile), Files.readString(errFile));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted: " + command, e);
        } finally {
            deleteQuietly(outFile);
            deleteQuietly(errFile);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                // a leftover temporary file is harmless
            }
        }
    }

    /** A bash script ({@code set -euo pipefail}); {@code args} become $1, $2, ... */
    static Result sh(String script, String... args) {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "set -euo pipefail\n" + script, "bash"));
        cmd.addAll(List.of(args));
        return run(TIMEOUT, null, cmd);
    }

    /** bin/txfs with {@code args}. */
    static Result txfs(String... args) {
        List<String> cmd = new ArrayList<>(List.of(TXFS.toString()));
        cmd.addAll(List.of(args));
        return run(TIMEOUT, null, cmd);
    }

    static boolean isRoot() {
        return "0".equals(sh("id -u").ok().out().strip());
    }

    static boolean has(String tool) {
        return sh("command -v " + tool + " >/dev/null || exit 1").exit() == 0;
    }

    /** A new temporary directory; remove it with {@link #removeTree}. */
    static Path tempDir(String prefix) throws IOException {
        return Files.createTempDirectory(prefix);
    }

    /** rm -rf, which copes with any name, mode or special file a test left behind. */
    static void removeTree(Path dir) {
        if (dir != null) {
            run(TIMEOUT, null, List.of("rm", "-rf", "--one-file-system", dir.toString()));
        }
    }

    /** The tree id of {@code snapshot} in {@code store}, from {@code txfs show}. */
    static String treeOf(Path store, String snapshot) {
        for (String line : txfs("--store", store.toString(), "show", snapshot)
                .ok()
                .out()
                .lines()
                .toList()) {
            if (line.startsWith("tree ")) {
                return line.substring(5).strip();
            }
        }
        throw new AssertionError("no tree line in txfs show " + snapshot);
    }

    /** {@code txfs snapshot -m MSG} run inside the mount directory {@code d}: the new snapshot's id. */
    static String snapshotIn(Path d, String msg) {
        return sh("cd \"$2\" && \"$1\" snapshot -m \"$3\"", TXFS.toString(), d.toString(), msg)
                .ok()
                .out()
                .strip();
    }
}
