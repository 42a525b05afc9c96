package dev.txfs.snapshot;

import java.util.Optional;
import java.util.SortedMap;
import java.util.regex.Pattern;

/**
 * Mutable names of snapshots ({@code HEAD}, tags, {@code boot/default}). Refs move only by
 * compare-and-set, durably, so a command and a running mount never overwrite each other's work.
 */
public interface RefStore {
    Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*");

    Optional<ObjectId> find(String name);

    /**
     * Sets {@code name} to {@code next} (null deletes it) if it currently is {@code expected} (null:
     * absent). Returns false, changing nothing, if it is not. Durable when it returns true.
     */
    boolean compareAndSet(String name, ObjectId expected, ObjectId next);

    /** One move of {@link #compareAndSetAll}: {@code name} from {@code expected} to {@code next}. */
    record Update(String name, ObjectId expected, ObjectId next) {}

    /**
     * Applies every update or none, atomically and durably: all refs must currently hold their
     * {@code expected} value, else nothing changes and the result is false. A commit moves {@code
     * HEAD} and the live tree's ref together this way, so a crash never leaves one without the other.
     */
    boolean compareAndSetAll(java.util.List<Update> updates);

    /** Refs whose name starts with {@code prefix}, by name. */
    SortedMap<String, ObjectId> list(String prefix);

    /**
     * A change to a small durable value kept beside the refs (the boot try counter): {@code key}
     * from {@code expected} to {@code next} (null: absent / delete).
     */
    record ValueUpdate(String key, byte[] expected, byte[] next) {}

    /** The value stored under {@code key} (see {@link ValueUpdate}), if any. */
    default Optional<byte[]> findValue(String key) {
        throw new UnsupportedOperationException("this ref store keeps no values");
    }

    /**
     * Like {@link #compareAndSetAll(java.util.List)}, and in the same atomic, durable step also
     * compares and sets values: every ref and every value must hold its expected content, else
     * nothing changes and the result is false.
     */
    default boolean compareAndSetAll(java.util.List<Update> updates, java.util.List<ValueUpdate> values) {
        throw new UnsupportedOperationException("this ref store keeps no values");
    }

    static String checkName(String name) {
        if (name.length() > 255 || !NAME.matcher(name).matches() || name.contains("..")) {
            throw new IllegalArgumentException("invalid ref name: '" + name + "'");
        }
        return name;
    }
}
