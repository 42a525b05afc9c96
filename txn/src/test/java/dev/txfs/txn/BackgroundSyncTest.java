package dev.txfs.txn;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.RefStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, finding 6: a sync that threw (StackOverflowError on a deep tree) killed the daemon's
 * 5 s syncer without a word, and nothing told fsync or umount. A failed background sync is now
 * logged with its cause, retried with back-off, and reported by the live tree until a sync
 * succeeds; what was written meanwhile is durable after that success.
 */
class BackgroundSyncTest {
    private final AtomicLong clock = new AtomicLong(1_000_000_000_000L);
    private final FailingStore store = new FailingStore(new InMemoryObjectStore());

    @Test
    void sync_whenTheStoreFailsForAWhile_isLoggedRetriedReportedAndThenDurable() throws Exception {
        LiveTree live = LiveTree.open(store, Optional.empty(), () -> clock.addAndGet(1000));
        live.sync();
        List<LogRecord> logged = new ArrayList<>();
        Logger log = Logger.getLogger(BackgroundSync.class.getName());
        Handler h = new Handler() {
            @Override
            public synchronized void publish(LogRecord r) {
                logged.add(r);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        log.addHandler(h);
        store.failure.set(new StackOverflowError());
        try (BackgroundSync sync =
                BackgroundSync.start(live, Duration.ofMillis(50), Duration.ofMillis(10), Duration.ofMillis(40))) {
            synchronized (live.lock()) {
                live.tree().createFile(live.tree().root(), "written".getBytes(UTF_8), 0644, 0, 0);
            }
            waitFor(() -> sync.failures() >= 3, "three failed attempts");
            assertTrue(live.syncFailure().isPresent(), "the failure is reported");
            LiveTree.SyncFailedException e = assertThrows(LiveTree.SyncFailedException.class, live::sync);
            assertTrue(e.getMessage().contains("StackOverflowError"), e.getMessage());
            synchronized (h) {
                List<LogRecord> severe = logged.stream()
                        .filter(r -> r.getLevel() == Level.SEVERE)
                        .toList();
                assertTrue(severe.size() >= 3, "each failed attempt is logged: " + severe.size());
                assertTrue(
                        severe.get(0).getMessage().contains("attempt 1"),
                        severe.get(0).getMessage());
                assertTrue(
                        severe.get(0).getMessage().contains("StackOverflowError"),
                        severe.get(0).getMessage());
                assertTrue(severe.get(0).getThrown() instanceof StackOverflowError, "the first one with its trace");
            }

            store.failure.set(null);
            waitFor(() -> sync.failures() == 0 && live.syncFailure().isEmpty(), "a successful sync");
        } finally {
            log.removeHandler(h);
        }
        LiveTree reopened = LiveTree.open(store, Optional.empty(), () -> clock.addAndGet(1000));
        assertTrue(reopened.tree().find("/written").isPresent(), "written while syncs failed, durable after");
    }

    @Test
    void retryDelay_doublesFromTheFirstUpToTheCap() {
        LiveTree live = LiveTree.open(store, Optional.empty(), () -> clock.addAndGet(1000));
        try (BackgroundSync sync =
                BackgroundSync.start(live, Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(60))) {
            assertEquals(
                    List.of(1L, 2L, 4L, 8L, 16L, 32L, 60L, 60L),
                    List.of(1, 2, 3, 4, 5, 6, 7, 100).stream()
                            .map(n -> sync.retryDelayNs(n) / 1_000_000_000L)
                            .toList());
        }
    }

    @Test
    void sync_afterAFailure_reportsItUntilASyncSucceeds() throws Exception {
        LiveTree live = LiveTree.open(store, Optional.empty(), () -> clock.addAndGet(1000));
        synchronized (live.lock()) {
            live.tree().createFile(live.tree().root(), "f".getBytes(UTF_8), 0644, 0, 0);
        }
        store.failure.set(new ObjectStore.StoreFullException("store full (test)", null));
        LiveTree.SyncFailedException e = assertThrows(LiveTree.SyncFailedException.class, live::sync);
        assertTrue(e.getMessage().contains("store full (test)"), e.getMessage());
        assertEquals(e, live.syncFailure().orElseThrow());
        store.failure.set(null);
        live.sync();
        assertTrue(live.syncFailure().isEmpty());
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    /** A store whose writers' flushes throw {@link #failure} while it is set. */
    static final class FailingStore implements ObjectStore {
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final InMemoryObjectStore inner;

        FailingStore(InMemoryObjectStore inner) {
            this.inner = inner;
        }

        private void maybeFail() {
            Throwable t = failure.get();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
        }

        @Override
        public Optional<byte[]> find(ObjectId id) {
            return inner.find(id);
        }

        @Override
        public boolean contains(ObjectId id) {
            return inner.contains(id);
        }

        @Override
        public ObjectWriter newWriter() {
            ObjectWriter w = inner.newWriter();
            return new ObjectWriter() {
                @Override
                public ObjectId put(byte[] canonical) {
                    return w.put(canonical);
                }

                @Override
                public Optional<byte[]> find(ObjectId id) {
                    return w.find(id);
                }

                @Override
                public void flush() {
                    maybeFail();
                    w.flush();
                }

                @Override
                public boolean flushAndSet(List<RefStore.Update> updates) {
                    maybeFail();
                    return w.flushAndSet(updates);
                }

                @Override
                public void close() {
                    w.close();
                }
            };
        }

        @Override
        public RefStore refs() {
            return inner.refs();
        }

        @Override
        public void forEachId(Consumer<ObjectId> action) {
            inner.forEachId(action);
        }

        @Override
        public long delete(Collection<ObjectId> ids) {
            return inner.delete(ids);
        }

        @Override
        public Set<ObjectId> shallow() {
            return inner.shallow();
        }

        @Override
        public void addShallow(Collection<ObjectId> ids) {
            inner.addShallow(ids);
        }

        @Override
        public StoreStats stats() {
            return inner.stats();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
