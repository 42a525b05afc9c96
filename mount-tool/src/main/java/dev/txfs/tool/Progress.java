package dev.txfs.tool;

import java.io.PrintWriter;
import java.util.function.Supplier;

/**
 * A status line redrawn on stderr a few times a second while a long command runs, only when stderr
 * is a terminal; erased on close. Threads: its own daemon thread draws.
 */
final class Progress implements AutoCloseable {
    private static final long PERIOD_MS = 250;

    private final PrintWriter err;
    private final Supplier<String> status;
    private final Thread thread;
    private volatile boolean done;
    private int width;

    Progress(PrintWriter err, boolean enabled, Supplier<String> status) {
        this.err = err;
        this.status = status;
        if (enabled) {
            thread = new Thread(this::loop, "txfs-progress");
            thread.setDaemon(true);
            thread.start();
        } else {
            thread = null;
        }
    }

    private void loop() {
        try {
            Thread.sleep(PERIOD_MS * 2); // quick commands print nothing
            while (!done) {
                draw(status.get());
                Thread.sleep(PERIOD_MS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void draw(String line) {
        if (done) {
            return;
        }
        String padded = line.length() < width ? line + " ".repeat(width - line.length()) : line;
        width = line.length();
        err.print("\r" + padded);
        err.flush();
    }

    @Override
    public void close() {
        if (thread == null) {
            return;
        }
        synchronized (this) {
            done = true;
            if (width > 0) {
                err.print("\r" + " ".repeat(width) + "\r");
                err.flush();
            }
        }
        thread.interrupt();
    }

    /** Bytes for people: "512 bytes", "3.1 KiB", "40.0 MiB", "1.2 GiB". */
    static String human(long b) {
        if (b < 1024) {
            return b + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = b / 1024.0;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.1f %s", v, units[u]);
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / (1024.0 * 1024.0));
    }
}
