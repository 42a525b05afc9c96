package dev.txfs.snapshot;

import java.util.Optional;
import java.util.function.Consumer;

/**
 * Content-addressed, immutable objects and the refs that name snapshots.
 *
 * <p>Threads: every method may be called from any thread; an {@link ObjectWriter} belongs to one.
 */
public interface ObjectStore extends AutoCloseable {
    /** The canonical bytes of an object, as stored (not re-hashed: {@code verify} does that). */
    Optional<byte[]> find(ObjectId id);

    /** Like {@link #find} but a missing object is an error. */
    default byte[] get(ObjectId id) {
        return find(id).orElseThrow(() -> new MissingObjectException(id));
    }

    boolean contains(ObjectId id);

    /** A writer for one thread; objects it puts become visible and durable at its flush. */
    ObjectWriter newWriter();

    RefStore refs();

    /** Every stored object id, in id order (for gc and full checks). */
    void forEachId(Consumer<ObjectId> action);

    /** Ids starting with the hex digits {@code hexPrefix}, at most {@code limit} of them, in order. */
    default java.util.List<ObjectId> findByPrefix(String hexPrefix, int limit) {
        java.util.List<ObjectId> out = new java.util.ArrayList<>();
        forEachId(id -> {
            if (out.size() < limit && id.toHex().startsWith(hexPrefix)) {
                out.add(id);
            }
        });
        return out;
    }

    /** Deletes the objects (garbage collection only); returns the bytes they took. Absent ids are skipped. */
    long delete(java.util.Collection<ObjectId> ids);

    /**
     * Snapshots whose parents garbage collection removed: history ends at them (log, verify and
     * gc stop there instead of reporting the parents missing).
     */
    java.util.Set<ObjectId> shallow();

    /** Marks snapshots as {@link #shallow}, durably. */
    void addShallow(java.util.Collection<ObjectId> ids);

    /** Objects stored and bytes they take, for reports. */
    StoreStats stats();

    @Override
    void close();

    /** Counts for status output. */
    record StoreStats(long objects, long bytesUsed, long mapSize) {}

    /** An object that should be here and is not. */
    final class MissingObjectException extends TxfsException {
        private final ObjectId id;

        public MissingObjectException(ObjectId id) {
            super("missing object " + id);
            this.id = id;
        }

        public ObjectId id() {
            return id;
        }
    }

    /** An object whose bytes no longer hash to its id. */
    final class CorruptObjectException extends TxfsException {
        public CorruptObjectException(ObjectId expected, ObjectId actual) {
            super("corrupt object: expected=" + expected + " actual=" + actual);
        }
    }

    /** No room left: LMDB's map is full or the disk is. Nothing committed before is lost. */
    final class StoreFullException extends TxfsException {
        public StoreFullException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The directory is not a store, or one of a format this build cannot read. */
    final class StoreFormatException extends TxfsException {
        public StoreFormatException(String message) {
            super(message);
        }
    }
}
