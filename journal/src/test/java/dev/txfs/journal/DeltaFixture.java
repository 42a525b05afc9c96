package dev.txfs.journal;

import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectGraph;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.Snapshot;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * Deterministic snapshots for delta tests: the same calls give the same ids in any store (fixed
 * clock, fixed contents), so the stream corpus under src/test/resources stays valid.
 */
final class DeltaFixture {
    private DeltaFixture() {}

    /** A base snapshot: a few directories, files of every content kind, a symlink and a hard link. */
    static ObjectId base(ObjectStore store) throws Exception {
        ObjectId root = new Editor(store, Editor.empty(store))
                .write("/etc/hosts", "127.0.0.1 localhost\n")
                .write("/etc/motd", "hello\n")
                .write("/bin/tool", bytes(120_000, 1))
                .write("/share/doc/a", bytes(5_000, 2))
                .write("/share/doc/b", "b")
                .symlink("/share/link", "doc/a")
                .link("/etc/motd", "/etc/motd.link")
                .flush();
        return snapshot(store, root, List.of(), "base");
    }

    /**
     * The base with a few changes: one file edited in place, two added (one of them text that
     * compresses, so streams hold packed records), one removed, a chmod.
     */
    static ObjectId next(ObjectStore store, ObjectId base) throws Exception {
        byte[] tool = bytes(120_000, 1);
        tool[60_000] ^= 1;
        ObjectId root = new Editor(store, Snapshot.decode(store.get(base)).root())
                .at(Editor.T0 + 5_000)
                .write("/bin/tool", tool)
                .write("/etc/new", "new file\n")
                .write("/share/doc/README", text(20_000))
                .rm("/share/doc/b")
                .chmod("/etc/hosts", 0600)
                .flush();
        return snapshot(store, root, List.of(base), "next");
    }

    static ObjectId snapshot(ObjectStore store, ObjectId root, List<ObjectId> parents, String message) {
        try (ObjectWriter w = store.newWriter()) {
            ObjectId id = w.put(new Snapshot(root, parents, Editor.T0, "test", message).encode());
            w.flush();
            return id;
        }
    }

    /** {@code n} bytes of numbered lines of text: compressible, unlike {@link #bytes}. */
    static String text(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; b.length() < n; i++) {
            b.append("line ").append(i).append(" of a text that compresses well\n");
        }
        return b.substring(0, n);
    }

    static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    static byte[] stream(ObjectStore store, ObjectId from, ObjectId to, Ed25519.Secret signer) throws IOException {
        return stream(store, from, to, signer, DeltaStream.DEFAULT_LEVEL);
    }

    /** The stream at a compression level (0: version 1, no packed records). */
    static byte[] stream(ObjectStore store, ObjectId from, ObjectId to, Ed25519.Secret signer, int level)
            throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DeltaStream.write(store, Delta.between(store, from, to), out, signer(signer), level);
        return out.toByteArray();
    }

    /** Signing with {@code key} (null: none) as version 1 of ref HEAD, at a fixed time, never expiring. */
    static DeltaStream.Signer signer(Ed25519.Secret key) {
        return key == null ? null : new DeltaStream.Signer(key, "HEAD", 1, SIGNED_AT, 0);
    }

    static final long SIGNED_AT = 1_700_000_000L;

    /** Everything a snapshot reaches, by a full walk (the reference the delta walk is checked against). */
    static Set<ObjectId> reachable(ObjectStore store, ObjectId snapshot) {
        Set<ObjectId> seen = new HashSet<>();
        ArrayDeque<ObjectId> todo = new ArrayDeque<>(List.of(snapshot));
        seen.add(snapshot);
        while (!todo.isEmpty()) {
            ObjectId id = todo.pop();
            List<ObjectId> refs = new ArrayList<>();
            ObjectGraph.references(store.get(id), (r, chunk) -> refs.add(r));
            for (ObjectId r : refs) {
                if (seen.add(r)) {
                    todo.push(r);
                }
            }
        }
        return seen;
    }

    /** The store's objects and refs, to assert a rejected import changed nothing. */
    record State(Set<ObjectId> objects, SortedMap<String, ObjectId> refs, Set<ObjectId> shallow) {}

    static State state(ObjectStore store) {
        Set<ObjectId> ids = new TreeSet<>();
        store.forEachId(ids::add);
        return new State(ids, store.refs().list(""), Set.copyOf(store.shallow()));
    }

    /** A store holding exactly what {@code snapshot} reaches in {@code source}. */
    static InMemoryObjectStore copyOf(ObjectStore source, ObjectId snapshot) {
        InMemoryObjectStore copy = new InMemoryObjectStore();
        try (ObjectWriter w = copy.newWriter()) {
            for (ObjectId id : reachable(source, snapshot)) {
                w.put(source.get(id));
            }
            w.flush();
        }
        return copy;
    }
}
