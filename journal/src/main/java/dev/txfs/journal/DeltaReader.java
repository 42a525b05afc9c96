package dev.txfs.journal;

import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.MalformedObjectException;
import dev.txfs.snapshot.ObjectGraph;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectType;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.RefStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.SafeNames;
import dev.txfs.snapshot.SignedStatement;
import dev.txfs.snapshot.Snapshot;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads a {@link DeltaStream} into a store, all or nothing: {@link #check} reads the whole stream
 * and checks everything without writing; {@link Checked#apply} then writes the objects and moves
 * one ref by compare-and-set.
 *
 * <p>What {@link #check} rejects, each as a {@link DeltaException} with its {@link Problem}: a bad
 * magic, version, flag, record tag or trailing bytes, an object that does not decode, a duplicate
 * or unreachable object (MALFORMED); a stream that ends early (TRUNCATED); a length over the limits
 * (TOO_LARGE); an object whose bytes do not hash to its id or a wrong end digest or count
 * (HASH_MISMATCH); a name that could leave the tree (UNSAFE_PATH, {@link SafeNames}); an entry
 * outside the trie bucket its name hashes to (so possibly a name twice in one directory), child
 * counts that disagree with the children, an internal node at the wrong depth (MALFORMED), or a
 * directory deeper than {@link dev.txfs.snapshot.TreeLimits#MAX_DEPTH} (TOO_LARGE), all checked by
 * {@link TreeShape} over the stream's trees and the store subtrees they include; a reference
 * to an object in neither the stream nor the store (MISSING_OBJECT); a base the store lacks
 * (BASE_MISSING); a target that is not a snapshot (MALFORMED); a signed statement about another
 * stream (BAD_SIGNATURE); with trusted keys, an unsigned stream or one with a version 1 or 2
 * signature, which binds no ref or version (UNSIGNED), a signer not among them (UNKNOWN_KEY) or a
 * bad signature (BAD_SIGNATURE). Whether the statement's ref and version fit the ref being moved
 * is the importer's decision ({@link Checked#statement}, {@link Checked#apply(ObjectStore, String,
 * ObjectId, List)}).
 *
 * <p>Bounded: memory is O(objects) ids and references, at most {@link TreeShape#MAX_NODE_BYTES}
 * per tree node (never its names or xattrs), plus one object of at most {@link
 * DeltaStream#MAX_OBJECT} bytes at a time; every length is checked against the limit and against
 * what is left of the source before it is read; reading stops at the end of the source, so
 * nothing waits for input.
 *
 * <p>The source is read twice (check, then apply). Apply writes only objects whose bytes hash to
 * an id that check verified, in the same order, and moves no ref unless it read them all: if the
 * file changes between the two reads, apply fails and at most leaves verified objects that nothing
 * references (gc removes them).
 *
 * <p>Threads: a call uses only its arguments.
 */
public final class DeltaReader {
    private DeltaReader() {}

    /** Where the stream's bytes come from; opened once per pass. */
    public interface Source {
        InputStream open() throws IOException;

        long size() throws IOException;

        static Source of(Path file) {
            return new Source() {
                @Override
                public InputStream open() throws IOException {
                    return Files.newInputStream(file);
                }

                @Override
                public long size() throws IOException {
                    return Files.size(file);
                }
            };
        }

        static Source of(byte[] bytes) {
            return new Source() {
                @Override
                public InputStream open() {
                    return new ByteArrayInputStream(bytes);
                }

                @Override
                public long size() {
                    return bytes.length;
                }
            };
        }
    }

    /** What is wrong with a stream. */
    public enum Problem {
        MALFORMED,
        TRUNCATED,
        TOO_LARGE,
        HASH_MISMATCH,
        UNSAFE_PATH,
        MISSING_OBJECT,
        BASE_MISSING,
        UNSIGNED,
        UNKNOWN_KEY,
        BAD_SIGNATURE,
        REF_CONFLICT
    }

    /** A rejected stream: what is wrong, in one line. */
    public static final class DeltaException extends dev.txfs.snapshot.TxfsException {
        private final Problem problem;

        DeltaException(Problem problem, String message) {
            super(message);
            this.problem = problem;
        }

        public Problem problem() {
            return problem;
        }
    }

    /**
     * Reads and checks the whole stream against {@code store} without writing. {@code trusted}
     * empty: a signature is read but not checked ({@link Checked#signer} tells whose it claims
     * to be); not empty: the stream must be signed by one of them.
     */
    public static Checked check(Source source, ObjectStore store, Collection<Ed25519.Public> trusted)
            throws IOException {
        Pass pass = new Pass(source);
        try {
            return pass.check(store, trusted);
        } catch (MalformedObjectException e) {
            String m = e.getMessage();
            throw new DeltaException(
                    m != null && m.startsWith("unsafe ") ? Problem.UNSAFE_PATH : Problem.MALFORMED,
                    "object " + pass.current + ": " + m);
        }
    }

    /** A stream that passed every check. */
    public static final class Checked {
        private final Source source;
        private final ObjectId from;
        private final ObjectId to;
        private final List<ObjectId> ids;
        private final ObjectId digest;
        private final ObjectId signer;
        private final boolean signatureVerified;
        private final SignedStatement statement;
        private final long bytes;
        private final long newObjects;

        private Checked(Pass p, boolean verified, long newObjects) {
            this.source = p.source;
            this.from = p.from;
            this.to = p.to;
            this.ids = p.ids;
            this.digest = p.digest;
            this.signer = p.signer;
            this.signatureVerified = verified;
            this.statement = p.statement;
            this.bytes = p.size;
            this.newObjects = newObjects;
        }

        public ObjectId from() {
            return from;
        }

        public ObjectId to() {
            return to;
        }

        public int objects() {
            return ids.size();
        }

        /** Objects of the stream the store does not have yet. */
        public long newObjects() {
            return newObjects;
        }

        public long bytes() {
            return bytes;
        }

        public ObjectId digest() {
            return digest;
        }

        /** The key id the signature names, or null for an unsigned stream. */
        public ObjectId signer() {
            return signer;
        }

        /**
         * What the signature vouches for (ref, version, expiry), or null for an unsigned stream or
         * a version 1 or 2 signature; checked only when {@link #signatureVerified}.
         */
        public SignedStatement statement() {
            return statement;
        }

        /** Whether the signature was checked against a trusted key (and is good). */
        public boolean signatureVerified() {
            return signatureVerified;
        }

        /**
         * Writes the objects the store lacks, then moves {@code ref} from {@code expected} (null:
         * absent) to the target by compare-and-set. A target whose parents the store lacks is
         * marked shallow (history ends there). Returns the objects written.
         */
        public long apply(ObjectStore store, String ref, ObjectId expected) throws IOException {
            return apply(store, ref, expected, List.of());
        }

        /**
         * Like {@link #apply(ObjectStore, String, ObjectId)}, and compares and sets {@code values}
         * (the ref's version mark, a boot try counter) in the same atomic step as the ref.
         */
        public long apply(ObjectStore store, String ref, ObjectId expected, List<RefStore.ValueUpdate> values)
                throws IOException {
            long written = 0;
            Set<ObjectId> verified = new HashSet<>(ids);
            try (InputStream raw = source.open();
                    In in = new In(new DataInputStream(new BufferedInputStream(raw, 1 << 16)), source.size());
                    ObjectWriter writer = store.newWriter()) {
                if ((in.header() & DeltaStream.FLAG_BASE) != 0) {
                    in.id("base id");
                }
                in.id("target id");
                for (ObjectId want : ids) {
                    int tag = in.u8("record tag");
                    if (!in.isObjectTag(tag)) {
                        throw changed();
                    }
                    in.u8("object type");
                    ObjectId id = in.id("object id");
                    byte[] bytes = in.object(tag, "object " + id, store);
                    if (!id.equals(want) || !ObjectId.hash(bytes).equals(id) || !verified.contains(id)) {
                        throw changed();
                    }
                    if (!store.contains(id)) {
                        writer.put(bytes);
                        written++;
                    }
                }
                writer.flush();
            }
            Snapshot target = Snapshot.decode(store.get(to));
            if (!target.parents().stream().allMatch(store::contains)) {
                store.addShallow(List.of(to));
            }
            boolean set = values.isEmpty()
                    ? store.refs().compareAndSet(ref, expected, to)
                    : store.refs().compareAndSetAll(List.of(new RefStore.Update(ref, expected, to)), values);
            if (!set) {
                throw new DeltaException(
                        Problem.REF_CONFLICT, "ref " + ref + " moved while importing; nothing was changed");
            }
            return written;
        }

        private static DeltaException changed() {
            return new DeltaException(Problem.MALFORMED, "the stream changed while it was being imported");
        }
    }

    /** One checking pass over the source. */
    private static final class Pass {
        final Source source;
        long size;
        ObjectId from;
        ObjectId to;
        final List<ObjectId> ids = new ArrayList<>();
        /** Stream object → the objects it references (absent for chunks). */
        final Map<ObjectId, Edge[]> refs = new HashMap<>();
        /** Stream objects' types, and what the tree nodes among them hold. */
        final Map<ObjectId, ObjectType> types = new HashMap<>();

        final Map<ObjectId, SafeNames.NodeKind> treeKinds = new HashMap<>();
        /** What the placement, count and depth checks after the closure need of the stream's tree nodes. */
        TreeShape shape;
        /** The stream's Roots. */
        final Map<ObjectId, Root> roots = new HashMap<>();

        ObjectId digest;
        ObjectId signer;
        byte[] signature;
        SignedStatement statement;
        int version;
        String current = "header";

        Pass(Source source) {
            this.source = source;
        }

        Checked check(ObjectStore store, Collection<Ed25519.Public> trusted) throws IOException {
            shape = new TreeShape(store);
            size = source.size();
            byte[] snapshotBytes = null;
            try (InputStream raw = source.open();
                    In in = new In(new DataInputStream(new BufferedInputStream(raw, 1 << 16)), size)) {
                int flags = in.header();
                if ((flags & DeltaStream.FLAG_BASE) != 0) {
                    from = in.id("base id");
                }
                to = in.id("target id");
                Set<ObjectId> seen = new HashSet<>();
                while (true) {
                    int tag = in.u8("record tag");
                    if (tag == DeltaStream.TAG_END) {
                        break;
                    }
                    if (!in.isObjectTag(tag)) {
                        throw new DeltaException(
                                Problem.MALFORMED, "unknown record tag " + tag + " at byte " + (in.pos - 1));
                    }
                    if (ids.size() >= DeltaStream.MAX_OBJECTS) {
                        throw new DeltaException(
                                Problem.TOO_LARGE, "more than " + DeltaStream.MAX_OBJECTS + " objects");
                    }
                    int type = in.u8("object type");
                    ObjectId id = in.id("object id");
                    current = id.toHex();
                    byte[] bytes = in.object(tag, "object " + id, store);
                    ObjectId actual = ObjectId.hash(bytes);
                    if (!actual.equals(id)) {
                        throw new DeltaException(
                                Problem.HASH_MISMATCH, "corrupt object: expected=" + id + " actual=" + actual);
                    }
                    if (!seen.add(id)) {
                        throw new DeltaException(Problem.MALFORMED, "object " + id + " appears twice");
                    }
                    ObjectType t = ObjectType.of(bytes);
                    if ((bytes[0] & 0xff) != type) {
                        throw new DeltaException(
                                Problem.MALFORMED, "object " + id + " is a " + t + " but its record says type " + type);
                    }
                    if (tag == DeltaStream.TAG_DELTA && t != ObjectType.CHUNK && t != ObjectType.BLOB) {
                        throw new DeltaException(
                                Problem.MALFORMED,
                                "object " + id + " is a " + t + " in a delta record (chunks and blobs only)");
                    }
                    SafeNames.NodeKind kind = SafeNames.check(bytes);
                    if (kind != null) {
                        treeKinds.put(id, kind);
                    }
                    types.put(id, t);
                    List<Edge> r = new ArrayList<>();
                    ObjectGraph.slots(bytes, (slot, ref, chunk) -> r.add(Edge.of(slot, ref, chunk)));
                    if (t == ObjectType.CHUNK) {
                        dev.txfs.snapshot.Chunks.decode(bytes);
                    } else {
                        refs.put(id, r.toArray(Edge[]::new));
                    }
                    if (id.equals(to)) {
                        snapshotBytes = bytes;
                    }
                    if (t == ObjectType.TREE) {
                        shape.add(id, bytes);
                    } else if (t == ObjectType.ROOT) {
                        roots.put(id, Root.decode(bytes));
                    }
                    ids.add(id);
                }
                current = "end record";
                long count = in.u64("object count");
                byte[] computed = in.md.digest();
                in.hashing = false;
                byte[] claimed = in.bytes(32, "stream digest");
                if (count != ids.size()) {
                    throw new DeltaException(
                            Problem.HASH_MISMATCH,
                            "end record counts " + count + " objects, the stream has " + ids.size());
                }
                if (!MessageDigest.isEqual(computed, claimed)) {
                    throw new DeltaException(
                            Problem.HASH_MISMATCH,
                            "stream digest mismatch: expected=" + ObjectId.fromBytes(claimed, 0) + " actual="
                                    + ObjectId.fromBytes(computed, 0));
                }
                digest = ObjectId.fromBytes(computed, 0);
                int tag = in.optionalU8();
                version = in.version;
                if (tag == DeltaStream.TAG_SIGNATURE && version < DeltaStream.VERSION_SIGNED) {
                    current = "signature";
                    signer = in.id("signing key id");
                    signature = in.bytes(Ed25519.SIGNATURE_LENGTH, "signature");
                    tag = in.optionalU8();
                } else if (tag == DeltaStream.TAG_STATEMENT && version >= DeltaStream.VERSION_SIGNED) {
                    current = "signed statement";
                    long at = in.pos;
                    int length = (int) (in.u8("statement length") << 8 | in.u8("statement length"));
                    if (length > SignedStatement.MAX_LENGTH) {
                        throw new DeltaException(
                                Problem.MALFORMED, "signed statement of " + length + " bytes at byte " + at);
                    }
                    try {
                        statement = SignedStatement.decode(in.bytes(length, "signed statement"));
                    } catch (MalformedObjectException e) {
                        throw new DeltaException(Problem.MALFORMED, e.getMessage());
                    }
                    signer = in.id("signing key id");
                    signature = in.bytes(Ed25519.SIGNATURE_LENGTH, "signature");
                    tag = in.optionalU8();
                }
                if (tag >= 0) {
                    throw new DeltaException(
                            Problem.MALFORMED, "unexpected bytes after the end of the stream at byte " + (in.pos - 1));
                }
            }
            boolean verified = checkSignature(trusted);
            current = "target";
            if (from != null && !store.contains(from)) {
                throw new DeltaException(Problem.BASE_MISSING, "base snapshot " + from + " is not in this store");
            }
            if (snapshotBytes == null) {
                if (!store.contains(to)) {
                    throw new DeltaException(
                            Problem.MISSING_OBJECT,
                            "target snapshot " + to + " is in neither the stream nor the store");
                }
                snapshotBytes = store.get(to);
            }
            if (ObjectType.of(snapshotBytes) != ObjectType.SNAPSHOT) {
                throw new DeltaException(Problem.MALFORMED, "target " + to + " is not a snapshot");
            }
            long fresh = closure(store);
            for (Map.Entry<ObjectId, Root> r : roots.entrySet()) {
                current = r.getKey().toHex();
                shape.checkRoot(r.getKey(), r.getValue());
            }
            return new Checked(this, verified, fresh);
        }

        /**
         * Every object reaches only objects of the stream or the store, each of the type its slot
         * calls for; tree nodes of directories hold entries and those of link tables hold records
         * (so no record's path can pose as a name); the stream holds nothing else.
         */
        private long closure(ObjectStore store) {
            Map<ObjectId, Integer> reachedAs = new HashMap<>();
            Set<ObjectId> reached = new HashSet<>();
            ArrayDeque<Edge> todo = new ArrayDeque<>();
            Set<ObjectId> inStream = new HashSet<>(ids);
            if (inStream.contains(to)) {
                todo.push(new Edge(to, Edge.OTHER, ObjectType.SNAPSHOT));
            }
            Map<ObjectId, Boolean> inStore = new HashMap<>();
            while (!todo.isEmpty()) {
                Edge e = todo.pop();
                int seen = reachedAs.getOrDefault(e.id, 0);
                if ((seen & (1 << e.place)) != 0) {
                    continue;
                }
                reachedAs.put(e.id, seen | 1 << e.place);
                reached.add(e.id);
                checkPlace(e);
                for (Edge r : refs.getOrDefault(e.id, new Edge[0])) {
                    Edge next = r.place == Edge.SAME ? new Edge(r.id, e.place, r.type) : r;
                    if (inStream.contains(r.id)) {
                        todo.push(next);
                    } else if (!inStore.computeIfAbsent(r.id, store::contains)) {
                        throw new DeltaException(
                                Problem.MISSING_OBJECT,
                                "object " + r.id + " (referenced by " + e.id
                                        + ") is in neither the stream nor the store");
                    }
                }
            }
            if (reached.size() != inStream.size()) {
                ObjectId stray = ids.stream()
                        .filter(i -> !reached.contains(i))
                        .findFirst()
                        .orElseThrow();
                throw new DeltaException(
                        Problem.MALFORMED, "object " + stray + " is not reachable from the target " + to);
            }
            return ids.stream().filter(i -> !store.contains(i)).count();
        }

        private void checkPlace(Edge e) {
            ObjectType actual = types.get(e.id);
            if (actual != e.type) {
                throw new DeltaException(
                        Problem.MALFORMED, "object " + e.id + " is a " + actual + " where a " + e.type + " belongs");
            }
            SafeNames.NodeKind kind = treeKinds.get(e.id);
            if (e.place == Edge.DIR && kind == SafeNames.NodeKind.RECORDS
                    || e.place == Edge.LINKS && kind == SafeNames.NodeKind.ENTRIES) {
                throw new DeltaException(
                        Problem.UNSAFE_PATH,
                        "tree node " + e.id + " holds "
                                + (kind == SafeNames.NodeKind.RECORDS ? "link records" : "entries") + " where a "
                                + (e.place == Edge.DIR ? "directory" : "link table") + " belongs");
            }
        }

        private boolean checkSignature(Collection<Ed25519.Public> trusted) {
            if (statement != null
                    && (statement.purpose() != SignedStatement.Purpose.DELTA
                            || !statement.content().equals(digest)
                            || !statement.snapshot().equals(to))) {
                throw new DeltaException(
                        Problem.BAD_SIGNATURE,
                        "the signed statement is about another stream (digest or target differs)");
            }
            if (trusted.isEmpty()) {
                return false;
            }
            if (signer == null) {
                throw new DeltaException(Problem.UNSIGNED, "the stream is not signed, and trusted keys are required");
            }
            if (statement == null) {
                throw new DeltaException(
                        Problem.UNSIGNED,
                        "the stream has a version-" + version + " signature, which binds no ref and no version;"
                                + " trusted keys require a stream signed by txfs export --sign --ref (version "
                                + DeltaStream.VERSION_SIGNED + ")");
            }
            for (Ed25519.Public key : trusted) {
                if (key.id().equals(signer)) {
                    if (!statement.verifiedBy(key, signature)) {
                        throw new DeltaException(Problem.BAD_SIGNATURE, "bad signature by key " + signer.shortHex());
                    }
                    return true;
                }
            }
            throw new DeltaException(
                    Problem.UNKNOWN_KEY, "signed by key " + signer.shortHex() + ", which is not trusted");
        }
    }

    /**
     * One reference of a stream object: the id, where it leads (a directory's tree, a link
     * table's, the same as its referrer's, or elsewhere) and the type its slot calls for.
     */
    private record Edge(ObjectId id, int place, ObjectType type) {
        static final int OTHER = 0;
        static final int DIR = 1;
        static final int LINKS = 2;
        static final int SAME = 3;

        /** The edge of a slot of {@link ObjectGraph#slots}. */
        static Edge of(String slot, ObjectId id, boolean chunk) {
            return switch (slot.charAt(0)) {
                case 'r' -> new Edge(id, OTHER, ObjectType.ROOT);
                case 'l' -> new Edge(id, LINKS, ObjectType.TREE);
                case '#' -> new Edge(id, SAME, ObjectType.TREE);
                case 'd' -> new Edge(id, DIR, ObjectType.TREE); // "dir" of a Root, "d<name>" of a leaf
                case 'f' -> new Edge(id, OTHER, chunk ? ObjectType.CHUNK : ObjectType.BLOB);
                default -> new Edge(id, OTHER, ObjectType.CHUNK); // "c<i>" of a Blob
            };
        }
    }

    /**
     * The source with its position, the running digest and bounds checks. Closing it frees the
     * inflater, not the source.
     */
    private static final class In implements AutoCloseable {
        final DataInputStream in;
        final long size;
        final MessageDigest md = DeltaStream.sha256();
        boolean hashing = true;
        long pos;
        int version;
        private Inflater inflater;

        In(DataInputStream in, long size) {
            this.in = in;
            this.size = size;
        }

        /** Reads magic, version and flags; returns the flags. */
        int header() throws IOException {
            byte[] magic = bytes(DeltaStream.MAGIC.length, "magic");
            if (!Arrays.equals(magic, DeltaStream.MAGIC)) {
                throw new DeltaException(Problem.MALFORMED, "not a txfs delta stream (bad magic)");
            }
            version = u8("version");
            if (version < DeltaStream.VERSION_1 || version > DeltaStream.VERSION_SIGNED) {
                throw new DeltaException(
                        Problem.MALFORMED,
                        "unsupported delta stream version " + version + " (this txfs reads versions "
                                + DeltaStream.VERSION_1 + " to " + DeltaStream.VERSION_SIGNED
                                + "; a newer txfs may have written it)");
            }
            int flags = u8("flags");
            if ((flags & ~DeltaStream.FLAG_BASE) != 0) {
                throw new DeltaException(Problem.MALFORMED, "unknown flags " + flags);
            }
            return flags;
        }

        /** Whether {@code tag} starts an object record in this stream's version. */
        boolean isObjectTag(int tag) {
            return tag == DeltaStream.TAG_OBJECT
                    || (tag == DeltaStream.TAG_PACKED || tag == DeltaStream.TAG_DELTA)
                            && version >= DeltaStream.VERSION;
        }

        /**
         * The rest of a record with {@code tag} after its type and id: the object's bytes, inflated
         * for a packed record. Lengths are checked before anything is allocated: a packed object's
         * length against the inflation limit, its compressed bytes against the bytes left.
         */
        byte[] object(int tag, String what, ObjectStore store) throws IOException {
            int length = objectLength();
            if (tag == DeltaStream.TAG_OBJECT) {
                return bytes(length, what);
            }
            if (tag == DeltaStream.TAG_DELTA) {
                return delta(length, what, store);
            }
            long at = pos;
            long zlength = u32("compressed length");
            if (zlength < 1 || zlength > length || length > zlength * DeltaStream.MAX_RATIO) {
                throw new DeltaException(
                        Problem.MALFORMED,
                        "compressed length " + zlength + " at byte " + at + " does not fit a packed object of " + length
                                + " bytes");
            }
            byte[] z = bytes((int) zlength, what);
            return inflate(z, length, what, at);
        }

        /** The rest of a delta record: its bases (from the store), then its operations. */
        private byte[] delta(int length, String what, ObjectStore store) throws IOException {
            if (length > DeltaStream.MAX_DELTA_TARGET) {
                throw new DeltaException(
                        Problem.MALFORMED,
                        what + ": a delta record of " + length + " bytes, over " + DeltaStream.MAX_DELTA_TARGET);
            }
            int nbase = u8("base count");
            if (nbase < 1 || nbase > DeltaStream.MAX_BASES) {
                throw new DeltaException(
                        Problem.MALFORMED, what + ": " + nbase + " bases, not 1 to " + DeltaStream.MAX_BASES);
            }
            java.io.ByteArrayOutputStream base = new java.io.ByteArrayOutputStream();
            for (int k = 0; k < nbase; k++) {
                ObjectId b = id("base id");
                if (!store.contains(b)) {
                    throw new DeltaException(
                            Problem.BASE_MISSING,
                            what + " is sent as a change to object " + b + ", which is not in this store");
                }
                byte[] bytes = store.get(b);
                ObjectType t = ObjectType.of(bytes);
                if (t != ObjectType.CHUNK && t != ObjectType.BLOB || bytes.length > DeltaStream.MAX_DELTA_TARGET) {
                    throw new DeltaException(
                            Problem.MALFORMED, what + ": its base " + b + " is not a chunk or a small blob");
                }
                base.write(bytes);
            }
            long at = pos;
            long oplength = u32("operations length");
            long zlength = u32("compressed length");
            if (zlength < 1
                    || zlength > DeltaStream.MAX_OBJECT
                    || oplength < 1
                    || oplength > DeltaStream.MAX_OBJECT
                    || oplength > zlength * DeltaStream.MAX_RATIO) {
                throw new DeltaException(
                        Problem.MALFORMED,
                        what + ": lengths " + oplength + " and " + zlength + " at byte " + at
                                + " do not fit a delta record");
            }
            byte[] z = bytes((int) zlength, what);
            byte[] ops = inflate(z, (int) oplength, what, at);
            return ChunkDelta.apply(base.toByteArray(), ops, length, what);
        }

        private byte[] inflate(byte[] z, int length, String what, long at) {
            if (inflater == null) {
                inflater = new Inflater(true);
            }
            inflater.reset();
            inflater.setInput(z);
            byte[] out = new byte[length];
            int n = 0;
            try {
                // Calls that produce nothing end the loops after a few tries, whatever zlib's state.
                for (int idle = 0; n < length && idle < 4; ) {
                    int k = inflater.inflate(out, n, length - n);
                    idle = k == 0 ? idle + 1 : 0;
                    n += k;
                }
                byte[] probe = new byte[1];
                for (int idle = 0; n == length && !inflater.finished() && idle < 4; idle++) {
                    n += inflater.inflate(probe); // anything more than length is an error below
                }
            } catch (DataFormatException e) {
                throw new DeltaException(
                        Problem.MALFORMED, what + ": bad compressed data at byte " + at + " (" + e.getMessage() + ")");
            }
            if (n != length || !inflater.finished() || inflater.getRemaining() != 0) {
                throw new DeltaException(
                        Problem.MALFORMED,
                        what + ": its compressed bytes at byte " + at + " do not inflate to exactly its " + length
                                + " bytes");
            }
            return out;
        }

        @Override
        public void close() {
            if (inflater != null) {
                inflater.end();
            }
        }

        int objectLength() throws IOException {
            long len = u32("object length");
            if (len < 2 || len > DeltaStream.MAX_OBJECT) {
                throw new DeltaException(
                        len < 2 ? Problem.MALFORMED : Problem.TOO_LARGE,
                        "object length " + len + " at byte " + (pos - 4) + " is out of range [2, "
                                + DeltaStream.MAX_OBJECT + "]");
            }
            return (int) len;
        }

        int u8(String what) throws IOException {
            return bytes(1, what)[0] & 0xff;
        }

        /** The next byte, or -1 at the end of the source. */
        int optionalU8() throws IOException {
            int b = in.read();
            if (b >= 0) {
                pos++;
            }
            return b;
        }

        long u32(String what) throws IOException {
            byte[] b = bytes(4, what);
            return (b[0] & 0xffL) << 24 | (b[1] & 0xffL) << 16 | (b[2] & 0xffL) << 8 | (b[3] & 0xffL);
        }

        long u64(String what) throws IOException {
            byte[] b = bytes(8, what);
            long v = 0;
            for (byte x : b) {
                v = v << 8 | (x & 0xff);
            }
            return v;
        }

        ObjectId id(String what) throws IOException {
            return ObjectId.fromBytes(bytes(ObjectId.LENGTH, what), 0);
        }

        byte[] bytes(int n, String what) throws IOException {
            if (n > size - pos) {
                throw new DeltaException(
                        Problem.TRUNCATED,
                        "stream truncated at byte " + size + " (reading " + what + ", " + n + " bytes at byte " + pos
                                + ")");
            }
            byte[] b = new byte[n];
            try {
                in.readFully(b);
            } catch (EOFException e) {
                throw new DeltaException(
                        Problem.TRUNCATED, "stream truncated (reading " + what + " at byte " + pos + ")");
            }
            pos += n;
            if (hashing) {
                md.update(b);
            }
            return b;
        }
    }
}
