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
     * The snapshot {@code spec} names, tried in this order: a ref name ({@code HEAD}, {@code live},
     * {@code tags/v1}, {@code boot/default}), a tag's short name ({@code v1} for {@code tags/v1}), a
     * full id, or a unique prefix of a snapshot id (at least {@value #MIN_PREFIX} hex digits; only
     * snapshot objects count). A ref whose name looks like hex wins over an id prefix.
     *
     * <p>Any of these may be followed by revision suffixes, as in git: {@code ~N} walks N first
     * parents ({@code ~} alone is {@code ~1}), {@code ^N} takes the N-th parent ({@code ^} alone is
     * {@code ^1}, {@code ^0} the snapshot itself), and they combine: {@code HEAD~2^}, {@code v1^^}.
     * Ref names cannot contain {@code ~} or {@code ^} ({@link RefStore#NAME}), so the name ends at
     * the first of them. A walk costs at most one snapshot load per step and stops where history
     * ends (a root, a {@linkplain ObjectStore#shallow shallow} snapshot or a missing parent).
     *
     * @throws NotFoundException when nothing has that name, or a suffix walks past where history ends
     * @throws AmbiguousPrefixException when the prefix matches several snapshots (it lists them)
     * @throws TxfsException for an empty spec, a prefix that is too short or a malformed suffix
     */
    public static ObjectId resolve(ObjectStore store, String spec) {
        if (spec == null || spec.isEmpty()) {
            throw new TxfsException("empty snapshot name");
        }
        int cut = firstSuffix(spec);
        if (cut >= 0) {
            if (cut == 0) {
                throw new TxfsException("'" + spec + "' has a revision suffix but no name before it");
            }
            List<Revisions.Step> steps = Revisions.parse(spec, spec.substring(cut));
            return Revisions.walk(store, spec, resolve(store, spec.substring(0, cut)), steps);
        }
        Optional<ObjectId> ref = findRef(store, spec);
        if (ref.isPresent()) {
            return ref.get();
        }
        String hex = spec.toLowerCase(java.util.Locale.ROOT);
        if (!ObjectId.isHex(hex) || hex.length() > 2 * ObjectId.LENGTH) {
            throw new NotFoundException(spec);
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
            throw new NotFoundException(spec);
        }
        if (matches.size() > 1) {
            throw new AmbiguousPrefixException(spec, matches);
        }
        return matches.get(0);
    }

    private static int firstSuffix(String spec) {
        for (int i = 0; i < spec.length(); i++) {
            char c = spec.charAt(i);
            if (c == '~' || c == '^') {
                return i;
            }
        }
        return -1;
    }

    /** The ref {@code spec} names as a full ref name, else as a tag's short name. */
    private static Optional<ObjectId> findRef(ObjectStore store, String spec) {
        if (!RefStore.NAME.matcher(spec).matches()) {
            return Optional.empty();
        }
        Optional<ObjectId> exact = store.refs().find(spec);
        if (exact.isPresent() || spec.startsWith(TAGS)) {
            return exact;
        }
        return store.refs().find(TAGS + spec);
    }

    /** The prefix of tag refs: {@code txfs tag v1 ID} sets {@code tags/v1}. */
    public static final String TAGS = "tags/";

    /** Nothing (no ref, tag or snapshot id) has the name a user gave. */
    public static final class NotFoundException extends TxfsException {
        private final String spec;

        public NotFoundException(String spec) {
            this(spec, "no ref or snapshot named '" + spec + "'");
        }

        /** {@code spec} names nothing, for the reason {@code message} gives in full. */
        public NotFoundException(String spec, String message) {
            super(message);
            this.spec = spec;
        }

        /** The name as the user gave it. */
        public String spec() {
            return spec;
        }
    }

    /** An id prefix that several snapshots share; the message lists them. */
    public static final class AmbiguousPrefixException extends TxfsException {
        /** Candidates named in the message; the rest are counted. */
        static final int LISTED = 10;

        private final List<ObjectId> candidates;

        public AmbiguousPrefixException(String spec, List<ObjectId> candidates) {
            super(message(spec, candidates));
            this.candidates = List.copyOf(candidates);
        }

        public List<ObjectId> candidates() {
            return candidates;
        }

        private static String message(String spec, List<ObjectId> candidates) {
            StringBuilder sb = new StringBuilder("ambiguous snapshot id prefix '")
                    .append(spec)
                    .append("': ")
                    .append(candidates.size())
                    .append(" snapshots match:");
            candidates.stream().limit(LISTED).forEach(m -> sb.append(' ').append(m.shortHex()));
            if (candidates.size() > LISTED) {
                sb.append(" and ").append(candidates.size() - LISTED).append(" more");
            }
            return sb.append(" (give more digits)").toString();
        }
    }

    /**
     * Every snapshot in the histories of {@code from}, each once, down to shallow snapshots (whose
     * parents gc removed) and parents the store does not have.
     */
    public static java.util.Set<ObjectId> history(ObjectStore store, java.util.Collection<ObjectId> from) {
        java.util.Set<ObjectId> shallow = store.shallow();
        java.util.Set<ObjectId> all = new java.util.LinkedHashSet<>();
        java.util.Deque<ObjectId> todo = new java.util.ArrayDeque<>(from);
        while (!todo.isEmpty()) {
            ObjectId id = todo.pop();
            if (!all.add(id) || shallow.contains(id)) {
                continue;
            }
            for (ObjectId p : load(store, id).parents()) {
                if (store.contains(p)) {
                    todo.push(p);
                }
            }
        }
        return all;
    }

    /** {@link #history} of every ref. */
    public static java.util.Set<ObjectId> history(ObjectStore store) {
        return history(store, store.refs().list("").values());
    }
}
