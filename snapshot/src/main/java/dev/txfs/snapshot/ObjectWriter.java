package dev.txfs.snapshot;

import java.util.Optional;

/**
 * Puts objects in a store. Belongs to one thread. Puts are staged and written in batches (one
 * LMDB write transaction per batch, so other writers are not held up); {@link #flush()} and
 * {@link #close()} write what is staged and make it durable.
 */
public interface ObjectWriter extends AutoCloseable {
    /** Stores canonical bytes (once: an object already present is not written again); returns the id. */
    ObjectId put(byte[] canonical);

    /** An object staged here or already in the store. */
    Optional<byte[]> find(ObjectId id);

    void flush();

    /**
     * {@link #flush()}, and in the same durable step {@link RefStore#compareAndSetAll} of the
     * store's refs: the staged objects are written whatever the answer, and the refs move only if
     * all hold their expected values. One LMDB write transaction and one sync for both, where two
     * would take twice the disk flushes (an fsync of the live tree pays them).
     */
    boolean flushAndSet(java.util.List<RefStore.Update> updates);

    /**
     * After a failed write (a full store), this writer still holds what it staged (see {@link
     * LmdbObjectStore}); a caller that knows which of it is still needed, everything reachable from
     * {@code roots}, lets the rest go here, so that objects nobody refers to any more (a file
     * deleted meanwhile) do not keep the next write from fitting. No-op when no write failed, and for
     * a writer that stages nothing.
     */
    default void retainReachable(java.util.Collection<ObjectId> roots) {}

    @Override
    void close();
}
