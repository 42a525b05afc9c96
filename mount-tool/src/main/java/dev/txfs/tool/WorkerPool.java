package dev.txfs.tool;

import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A few worker threads, each owning one {@link ObjectWriter} (writers belong to one thread). Tasks
 * get the writer of the thread that runs them. {@link #finish()} flushes every writer on its own
 * thread and waits, so everything the tasks put is durable when it returns.
 *
 * <p>Threads: {@link #submit} and {@link #finish} from the owning thread; tasks run on the workers.
 */
final class WorkerPool implements AutoCloseable {
    /** A task that writes objects. */
    interface Task<T> {
        T run(ObjectWriter writer) throws Exception;
    }

    private static final Runnable STOP = () -> {};

    private final BlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<Throwable> flushFailures = java.util.Collections.synchronizedList(new ArrayList<>());
    private final ThreadLocal<ObjectWriter> writer = new ThreadLocal<>();
    private boolean stopped;

    /** {@code store} null: tasks get no writer (they only read). */
    WorkerPool(ObjectStore store, int count, String name) {
        for (int i = 0; i < count; i++) {
            Thread t = new Thread(() -> work(store), name + "-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void work(ObjectStore store) {
        try (ObjectWriter w = store == null ? null : store.newWriter()) {
            writer.set(w);
            while (true) {
                Runnable r = queue.take();
                if (r == STOP) {
                    break;
                }
                r.run();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            flushFailures.add(t);
        }
    }

    <T> Future<T> submit(Task<T> task) {
        FutureTask<T> f = new FutureTask<>((Callable<T>) () -> task.run(writer.get()));
        queue.add(f);
        return f;
    }

    /** Runs what is queued, flushes every writer and stops the threads; rethrows a flush failure. */
    /** Waits for every task; the first failure is rethrown as the task threw it. */
    static void awaitAll(Iterable<? extends Future<?>> tasks) throws IOException, InterruptedException {
        for (Future<?> f : tasks) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof IOException io) {
                    throw io;
                }
                if (cause instanceof RuntimeException re) {
                    throw re;
                }
                throw new IllegalStateException(cause);
            }
        }
    }

    void finish() throws InterruptedException {
        stop();
        for (Thread t : threads) {
            t.join();
        }
        if (!flushFailures.isEmpty()) {
            Throwable t = flushFailures.get(0);
            if (t instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(t);
        }
    }

    private void stop() {
        if (!stopped) {
            stopped = true;
            for (int i = 0; i < threads.size(); i++) {
                queue.add(STOP);
            }
        }
    }

    /** Drops the tasks not started yet and stops the threads (idempotent); for the failure path. */
    @Override
    public void close() {
        if (!stopped) {
            queue.clear();
            stop();
        }
    }
}
