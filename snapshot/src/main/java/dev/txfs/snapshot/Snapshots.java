package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/** Records snapshots under refs and resolves what users type (a ref, an id or a unique id prefix). */
public final class Snapshots {
    public static final String HEAD = "HEAD";
    /** Shortest id prefix accepted, so a typo does not silently match. */
    public static final int MIN_PREFIX = 4;

    private Snapshots() {}

    /**
     * Writes a snapshot of {@code root} whose parent is what {@code ref} names now, and moves the ref
     * to it by compare-and-set; if another writer moved the ref in between, re-parents and retries.
     * Durable when it returns.
     */
    public static ObjectId record(
            ObjectStore store, String ref, ObjectId root, String author, String message, LongSupplier clockNs) {
        RefStore.checkName(ref);
        try (ObjectWriter w = store.newWriter()) {
            while (true) {
                Optional<ObjectId> parent = store.refs().find(ref);
                Snapshot s = new Snapshot(
                        root, parent.map(List::of).orElse(List.of()), clockNs.getAsLong(), author, message);
                ObjectId id = w.put(s.encode());
                w.flush();
                if (store.refs().compareAndSet(ref, parent.orElse(null), id)) {
                    return id;
                }
            }
        }
    }

    public static Snapshot load(ObjectStore store, ObjectId id) {
        byte[] raw = store.get(id);
        if (ObjectType.of(raw) != ObjectType.SNAPSHOT) {
            throw new TxfsException(
                    id.shortHex() + " is a " + ObjectType.of(raw).name().toLowerCase() + ", not a snapshot");
        }
        return Snapshot.decode(raw);
    }

    public static Root loadRoot(ObjectStore store, ObjectId rootId) {
        return Root.decode(store.get(rootId));
    }

    /**
     * The snapshot {@code spec} names: a ref name, a full id, or a unique prefix of a snapshot id
     * (at least {@value #MIN_PREFIX} hex digits). Errors say which of these failed and why.
     */
    public static ObjectId resolve(ObjectStore store, String spec) {
        if (spec == null || spec.isEmpty()) {
            throw new TxfsException("empty snapshot name");
        }
        Optional<ObjectId> ref =
                RefStore.NAME.matcher(spec).matches() ? store.refs().find(spec) : Optional.empty();
        if (ref.isPresent()) {
            return ref.get();
        }
        String hex = spec.toLowerCase();
        if (!ObjectId.isHex(hex) || hex.length() > 2 * ObjectId.LENGTH) {
            throw new TxfsException("no ref or snapshot named '" + spec + "'");
        }
        if (hex.length() < MIN_PREFIX) {
            throw new TxfsException(
                    "snapshot id prefix '" + spec + "' is too short (at least " + MIN_PREFIX + " hex digits)");
        }
        List<ObjectId> matches = new ArrayList<>();
        for (ObjectId id : store.findByPrefix(hex, Integer.MAX_VALUE)) {
            Optional<byte[]> raw = store.find(id);
            if (raw.isPresent() && raw.get().length > 0 && (raw.get()[0] & 0xff) == ObjectType.SNAPSHOT.code) {
                matches.add(id);
            }
        }
        if (matches.isEmpty()) {
            throw new TxfsException("no ref or snapshot named '" + spec + "'");
        }
        if (matches.size() > 1) {
            StringBuilder sb = new StringBuilder("ambiguous snapshot id prefix '" + spec + "': matches");
            matches.stream().limit(5).forEach(m -> sb.append(' ').append(m.shortHex()));
            throw new TxfsException(sb.toString());
        }
        return matches.get(0);
    }
}
