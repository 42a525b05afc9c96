package dev.txfs.txn.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

class ResolveCacheTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final ResolveCache cache = new ResolveCache(now::get);
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
