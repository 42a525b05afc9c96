package dev.txfs.txn.proc;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Real processes for tests, every one of them killed by {@link #close()}, orphans included. */
final class Procs implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final List<Process> started = new ArrayList<>();
    private final List<ProcessRef> tracked = new ArrayList<>();

    Process start(String... command) {
        try {
            Process p = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            started.add(p);
            track(p.pid());
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Process bash(String script) {
        return start("bash", "-c", script);
    }

    Process sleep() {
        return start("sleep", "30");
    }

    /** A JVM running {@link ThreadedSleeper}, once its threads are up. */
    Process threadedJvm() throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        String classes;
        try {
            classes = Path.of(ThreadedSleeper.class
                            .getProtectionDomain()
                            .getCodeSource()
                            .getLocation()
                            .toURI())
                    .toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        Process p = start(
                java,
                "-Xshare:auto",
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-Xmx16m",
                "-cp",
                classes,
                ThreadedSleeper.class.getName());
        assertLine(p, "ready");
        return p;
    }

    /** Registers a process not started here (a grandchild, an orphan) to be killed at close. */
    void track(long pid) {
        ProcessRef.of(pid).ifPresent(tracked::add);
    }

    /** Kills every process started or tracked here (the same ones: pid and start time checked). */
    @Override
    public void close() {
        for (Process p : started) {
            p.descendants().forEach(h -> track(h.pid()));
        }
        for (ProcessRef ref : tracked) {
            if (ref.alive()) {
                ProcessHandle.of(ref.pid()).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        for (Process p : started) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        started.clear();
        tracked.clear();
    }

    /** Kills a process and waits until it is reaped. */
    static void kill(Process p) throws InterruptedException {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
    }

    static String readLine(Process p) throws IOException {
        // Byte by byte from the process's own (buffered) stream: no reader may read ahead.
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
        for (int c = p.getInputStream().read();
                c >= 0 && c != '\n';
                c = p.getInputStream().read()) {
            line.write(c);
        }
        return line.toString(UTF_8);
    }

    static void assertLine(Process p, String expected) throws IOException {
        String line = readLine(p);
        if (!line.equals(expected)) {
            throw new AssertionError("expected \"" + expected + "\" from " + p.pid() + ", got \"" + line + "\"");
        }
    }

    static void writeLine(Process p, String line) throws IOException {
        p.getOutputStream().write((line + "\n").getBytes(UTF_8));
        p.getOutputStream().flush();
    }

    /** The {@code n} children of {@code pid}, once it has that many. */
    static List<Long> awaitChildren(long pid, int n) {
        return await(() -> Optional.of(ProcInfo.children(pid)).filter(c -> c.size() == n), "children of " + pid);
    }

    static <T> T await(Supplier<Optional<T>> probe, String what) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            Optional<T> v = probe.get();
            if (v.isPresent()) {
                return v.get();
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            pause();
        }
    }

    static void awaitTrue(BooleanSupplier probe, String what) {
        await(() -> probe.getAsBoolean() ? Optional.of(true) : Optional.empty(), what);
    }

    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
    }
}
