package dev.txfs.txn.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

class ResolveCacheTest {
    private final AtomicLong now = new AtomicLong(1_000);
    /** Thread id → start time; a thread not in the map has start time 7. */
    private final Map<Long, Long> started = new ConcurrentHashMap<>();

    private final ResolveCache cache = new ResolveCache(now::get, tid -> started.getOrDefault(tid, 7L));
    private final AtomicInteger calls = new AtomicInteger();
    private final LongFunction<Optional<String>> resolver = tid -> {
        calls.incrementAndGet();
        return tid % 2 == 0 ? Optional.of("t" + tid) : Optional.empty();
    };

    @Test
    void get_withinTheTtl_resolvesOnce() {
        assertEquals(Optional.of("t2"), cache.get(2, resolver));
        now.addAndGet(ResolveCache.TTL_NANOS - 1);
        assertEquals(Optional.of("t2"), cache.get(2, resolver));
        assertEquals(Optional.empty(), cache.get(3, resolver));
        assertEquals(Optional.empty(), cache.get(3, resolver));

        assertEquals(2, calls.get());
    }

    /**
     * Finding 15 of issue 14: an entry was kept for 1 s by thread id alone, so a thread that got
     * a recycled tid inherited the exited thread's transaction until the entry expired.
     */
    @Test
    void get_whenTheTidNamesANewThread_resolvesAgain() {
        assertEquals(Optional.of("t2"), cache.get(2, resolver));
        started.put(2L, 8L); // thread 2 exited and a new thread got its id
        final AtomicInteger newCalls = new AtomicInteger();

        Optional<String> answer = cache.get(2, tid -> {
            newCalls.incrementAndGet();
            return Optional.empty();
        });

        assertEquals(Optional.empty(), answer, "the new thread does not inherit the old one's transaction");
        assertEquals(1, newCalls.get());
        assertEquals(Optional.empty(), cache.get(2, resolver), "and its own answer is cached");
        assertEquals(1, calls.get());
    }

    @Test
    void get_whenTheThreadIsGone_isTheLiveTreeAndResolvesNothing() {
        cache.get(2, resolver);
        started.put(2L, -1L);

        assertEquals(Optional.empty(), cache.get(2, resolver));
        assertEquals(1, calls.get());
    }

    @Test
    void get_afterTheTtl_resolvesAgain() {
        cache.get(2, resolver);
        now.addAndGet(ResolveCache.TTL_NANOS);
        cache.get(2, resolver);

        assertEquals(2, calls.get());
    }

    @Test
    void clear_forgetsEveryAnswer() {
        cache.get(2, resolver);
        cache.clear();
        cache.get(2, resolver);

        assertEquals(2, calls.get());
    }

    @Test
    void get_whenClearedWhileResolving_doesNotKeepTheStaleAnswer() {
        cache.get(2, tid -> {
            cache.clear(); // membership changed while this answer was computed
            return Optional.of("stale");
        });

        assertEquals(Optional.of("t2"), cache.get(2, resolver));
        assertEquals(1, calls.get());
    }

    @Test
    void get_pastMaxEntries_dropsEverything() {
        for (int tid = 1; tid <= ResolveCache.MAX_ENTRIES; tid++) {
            cache.get(tid, resolver);
        }
        assertEquals(ResolveCache.MAX_ENTRIES, cache.size());

        cache.get(ResolveCache.MAX_ENTRIES + 1, resolver);

        assertEquals(1, cache.size());
    }
}
