package dev.txfs.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * Re-hashes every object reachable from the refs (snapshots, their parents, trees, link tables,
 * blobs, chunks) and reports each damaged or missing one with the paths that use it.
 *
 * <p>Each object is hashed once; an object found damaged collects up to {@link #MAX_PATHS} paths,
 * from every place it is met. A sound subtree met again is not walked again.
 */
public final class Verifier {
    static final int MAX_PATHS = 10;

    /** One damaged or missing object. */
    public record Problem(ObjectId id, String kind, String detail, List<String> paths) {
        @Override
        public String toString() {
            return kind + " " + id + (detail.isEmpty() ? "" : " (" + detail + ")") + " used by "
                    + String.join(", ", paths);
        }
    }

    /** What a run found. */
    public record Report(long objectsChecked, long bytesChecked, List<Problem> problems) {
        public boolean clean() {
            return problems.isEmpty();
        }
    }

    private final ObjectStore store;
    private final LongConsumer progress;
    private final java.util.Set<ObjectId> shallow;
    private final Map<ObjectId, Boolean> seen = new HashMap<>();
    private final Map<ObjectId, Problem> problems = new LinkedHashMap<>();
    private long bytes;

    private Verifier(ObjectStore store, LongConsumer progress) {
        this.store = store;
        this.shallow = store.shallow();
        this.progress = progress;
    }

    /** Verifies everything reachable from every ref; {@code progress} gets the count of objects checked. */
    public static Report verify(ObjectStore store, LongConsumer progress) {
        Verifier v = new Verifier(store, progress);
        for (Map.Entry<String, ObjectId> ref : store.refs().list("").entrySet()) {
            v.snapshotChain(ref.getValue(), "ref " + ref.getKey());
        }
        return v.report();
    }

    /** Verifies one snapshot and its history. */
    public static Report verifySnapshot(ObjectStore store, ObjectId snapshot, LongConsumer progress) {
        Verifier v = new Verifier(store, progress);
        v.snapshotChain(snapshot, "snapshot " + snapshot.shortHex());
        return v.report();
    }

    private Report report() {
        return new Report(seen.size(), bytes, List.copyOf(problems.values()));
    }

    /** The object's bytes if present and sound; records a problem (with {@code path}) otherwise. */
    private Optional<byte[]> check(ObjectId id, String path) {
        Boolean ok = seen.get(id);
        if (ok != null) {
            if (!ok) {
                List<String> paths = problems.get(id).paths();
                if (paths.size() < MAX_PATHS && !paths.contains(path)) {
                    paths.add(path);
                }
            }
            return Optional.empty();
        }
        Optional<byte[]> raw = store.find(id);
        boolean sound = raw.isPresent() && ObjectId.hash(raw.get()).equals(id);
        seen.put(id, sound);
        if (seen.size() % 1024 == 0) {
            progress.accept(seen.size());
        }
        if (raw.isEmpty()) {
            fail(id, "missing", "", path);
        } else if (!sound) {
            fail(id, "corrupt", "expected=" + id + " actual=" + ObjectId.hash(raw.get()), path);
        } else {
            bytes += raw.get().length;
            return raw;
        }
        return Optional.empty();
    }

    private void fail(ObjectId id, String kind, String detail, String path) {
        seen.put(id, false);
        List<String> paths = new ArrayList<>();
        paths.add(path);
        problems.put(id, new Problem(id, kind, detail, paths));
    }

    private void snapshotChain(ObjectId start, String where) {
        Deque<ObjectId> todo = new ArrayDeque<>();
        todo.push(start);
        while (!todo.isEmpty()) {
            ObjectId id = todo.pop();
            Optional<byte[]> raw = check(id, where);
            if (raw.isEmpty()) {
                continue;
            }
            try {
                Snapshot s = Snapshot.decode(raw.get());
                if (!shallow.contains(id)) {
                    s.parents().forEach(todo::push); // a shallow snapshot's parents went in a gc
                }
                root(s.root(), id.shortHex());
            } catch (MalformedObjectException e) {
                fail(id, "malformed", e.getMessage(), where);
            }
        }
    }

    private void root(ObjectId id, String snapshot) {
        String where = snapshot + ":/";
        Optional<byte[]> raw = check(id, where);
        if (raw.isEmpty()) {
            return;
        }
        try {
            Root root = Root.decode(raw.get());
            directory(root.dir().tree(), snapshot + ":", 0);
            if (root.links() != null) {
                directory(root.links().id(), snapshot + ":(link table)", 0);
            }
        } catch (MalformedObjectException e) {
            fail(id, "malformed", e.getMessage(), where);
        }
    }

    private void directory(ObjectId id, String path, int depth) {
        Optional<byte[]> raw = check(id, path.isEmpty() ? "/" : path + "/");
        if (raw.isEmpty()) {
            return;
        }
        TreeNode node;
        try {
            node = TreeCodec.decodeNode(raw.get());
        } catch (MalformedObjectException e) {
            fail(id, "malformed", e.getMessage(), path + "/");
            return;
        }
        if (!node.isLeaf() && node.depth != depth) {
            fail(id, "malformed", "node at depth " + depth + " says depth " + node.depth, path + "/");
            return;
        }
        if (!node.isLeaf()) {
            for (TreeNode.Child c : node.children) {
                if (c != null) {
                    directory(c.id(), path, depth + 1);
                }
            }
            return;
        }
        for (TreeEntry e : node.entries) {
            String child = path + "/" + new String(e.nameRef(), StandardCharsets.UTF_8);
            if (e.linkPaths() != null && !e.linkPaths().isEmpty()) {
                String snap = path.substring(0, path.indexOf(':') + 1);
                if (e.kind() == EntryKind.FILE) {
                    for (byte[] p : e.linkPaths()) {
                        content(e.content(), snap + new String(p, StandardCharsets.UTF_8));
                    }
                    continue;
                }
                child = snap + new String(e.linkPaths().get(0), StandardCharsets.UTF_8);
            }
            switch (e.kind()) {
                case DIRECTORY -> directory(e.tree(), child, 0);
                case FILE -> content(e.content(), child);
                default -> {}
            }
        }
    }

    private void content(Content c, String path) {
        if (c.isInline()) {
            return;
        }
        if (!c.isBlob()) {
            chunk(c.id(), c.size(), path);
            return;
        }
        Optional<byte[]> raw = check(c.id(), path);
        if (raw.isEmpty() && Boolean.TRUE.equals(seen.get(c.id()))) {
            raw = store.find(c.id()); // sound and met before: its damaged chunks get this path too
        }
        if (raw.isEmpty()) {
            return;
        }
        try {
            Blob blob = Blob.decode(raw.get());
            for (Blob.ChunkRef ref : blob.chunks()) {
                chunk(ref.id(), ref.length(), path);
            }
        } catch (MalformedObjectException e) {
            fail(c.id(), "malformed", e.getMessage(), path);
        }
    }

    private void chunk(ObjectId id, long length, String path) {
        Optional<byte[]> raw = check(id, path);
        if (raw.isPresent() && raw.get().length - Chunks.DATA_OFFSET != length) {
            fail(
                    id,
                    "malformed",
                    "chunk is " + (raw.get().length - Chunks.DATA_OFFSET) + " bytes, expected " + length,
                    path);
        }
    }
}
