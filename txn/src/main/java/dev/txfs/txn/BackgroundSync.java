package dev.txfs.txn;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Syncs a {@link LiveTree} every interval on its own thread, and never stops on a failure: a
 * failed sync is logged with its cause and retried with back-off (first retry after {@code
 * firstRetry}, each next one twice as late, at most {@code maxRetry}), and the live tree reports it
 * ({@link LiveTree#syncFailure()}) to {@code fsync} and {@code txfs umount} until a sync succeeds.
 *
 * <p>Threads: one thread of its own ("txfs-sync"); {@link #close()} from any thread.
 */
public final class BackgroundSync implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(BackgroundSync.class.getName());

    private final LiveTree live;
    private final long intervalNs;
    private final long firstRetryNs;
    private final long maxRetryNs;
    private final ScheduledExecutorService thread;
    /** Failed syncs in a row; touched only on the sync thread. */
    private int failures;

    private BackgroundSync(LiveTree live, Duration interval, Duration firstRetry, Duration maxRetry) {
        this.live = live;
        this.intervalNs = interval.toNanos();
        this.firstRetryNs = firstRetry.toNanos();
        this.maxRetryNs = maxRetry.toNanos();
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "txfs-sync");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts syncing {@code live}: the first sync after {@code interval}. */
    public static BackgroundSync start(LiveTree live, Duration interval, Duration firstRetry, Duration maxRetry) {
        BackgroundSync s = new BackgroundSync(live, interval, firstRetry, maxRetry);
        s.schedule(s.intervalNs);
        return s;
    }

    /** Failed syncs in a row so far (0 after a success). */
    public int failures() {
        try {
            return thread.submit(() -> failures).get();
        } catch (Exception e) {
            return failures;
        }
    }

    private void schedule(long delayNs) {
        try {
            thread.schedule(this::runOnce, delayNs, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closed) {
            // closed meanwhile
        }
    }

    /** One sync; schedules the next one whatever happens, sooner after a failure. */
    private void runOnce() {
        long next = intervalNs;
        try {
            live.sync();
            if (failures > 0) {
                LOG.warning("sync of the live tree works again after " + failures + " failed attempt"
                        + (failures == 1 ? "" : "s"));
            }
            failures = 0;
        } catch (Throwable t) {
            failures++;
            next = retryDelayNs(failures);
            Throwable cause = t instanceof LiveTree.SyncFailedException && t.getCause() != null ? t.getCause() : t;
            // The first failure with its stack trace, then one line per attempt.
            LOG.log(
                    Level.SEVERE,
                    "background sync failed (attempt " + failures + ", next in " + next / 1_000_000 + " ms): "
                            + LiveTree.SyncFailedException.describe(cause),
                    failures == 1 ? cause : null);
        } finally {
            schedule(next);
        }
    }

    /** The wait before retry number {@code failures}: doubling from the first, capped. */
    long retryDelayNs(int failures) {
        long d = firstRetryNs;
        for (int i = 1; i < failures && d < maxRetryNs; i++) {
            d *= 2;
        }
        return Math.min(maxRetryNs, d);
    }

    /** Stops syncing (a sync under way ends first); idempotent. */
    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
