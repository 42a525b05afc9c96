package dev.txfs.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * Re-hashes every object reachable from the refs (snapshots, their parents, trees, link tables,
 * blobs, chunks) and reports each damaged or missing one with the paths that use it.
 *
 * <p>Each object is hashed once; an object found damaged collects up to {@link #MAX_PATHS} paths,
 * from every place it is met, in every snapshot. A sound subtree met again is walked again only
 * when something below it is damaged (it is "tainted"), so a healthy store costs one visit per
 * object and a damaged one O(damaged objects × paths that reach them) more.
 */
public final class Verifier {
    static final int MAX_PATHS = 10;

    /**
     * One damaged or missing object: {@code paths} that use it, each as {@code SNAPSHOT:PATH}
     * (the snapshot's short id; a directory's path ends in '/'), or {@code ref NAME} for a snapshot
     * object itself; at most {@link #MAX_PATHS}, {@code morePaths} counts the rest.
     */
    public record Problem(ObjectId id, String kind, String detail, List<String> paths, long morePaths) {
        @Override
        public String toString() {
            return kind + " " + id + (detail.isEmpty() ? "" : " (" + detail + ")") + " used by "
                    + String.join(", ", paths) + (morePaths == 0 ? "" : " and " + morePaths + " more");
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
    /** Paths beyond {@link #MAX_PATHS} per damaged object, counted. */
    private final Map<ObjectId, Long> morePaths = new HashMap<>();
    /**
     * Sound trees, roots and blobs with a damaged object below them. Met again from another
     * snapshot or path, they are walked again so the problem names that path too; clean ones are not.
     */
    private final Set<ObjectId> tainted = new HashSet<>();

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
        List<Problem> out = new ArrayList<>();
        for (Problem p : problems.values()) {
            out.add(new Problem(
                    p.id(), p.kind(), p.detail(), List.copyOf(p.paths()), morePaths.getOrDefault(p.id(), 0L)));
        }
        return new Report(seen.size(), bytes, List.copyOf(out));
    }

    /** The object's bytes if present and sound; records a problem (with {@code path}) otherwise. */
    private Optional<byte[]> check(ObjectId id, String path) {
        Boolean ok = seen.get(id);
        if (ok != null) {
            if (!ok) {
                List<String> paths = problems.get(id).paths();
                if (!paths.contains(path)) {
                    if (paths.size() < MAX_PATHS) {
                        paths.add(path);
                    } else {
                        morePaths.merge(id, 1L, Long::sum);
                    }
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
        problems.put(id, new Problem(id, kind, detail, paths, 0));
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

    /**
     * The object if it must be walked now: met for the first time and sound, or met before, sound
     * and {@link #tainted} (a damaged object lies below it, and this new path must be named too).
     * Empty when it is damaged (the problem gets {@code path}) or sound, met before and clean.
     */
    private Optional<byte[]> visit(ObjectId id, String path) {
        if (Boolean.TRUE.equals(seen.get(id))) {
            return tainted.contains(id) ? store.find(id) : Optional.empty();
        }
        return check(id, path);
    }

    /** Whether {@code id} is damaged itself (after a {@link #visit} that returned empty). */
    private boolean damaged(ObjectId id) {
        return !Boolean.TRUE.equals(seen.get(id));
    }

    /** Walks a snapshot's Root; returns whether anything below it is damaged. */
    private boolean root(ObjectId id, String snapshot) {
        String where = snapshot + ":/";
        Optional<byte[]> raw = visit(id, where);
        if (raw.isEmpty()) {
            return damaged(id);
        }
        try {
            Root root = Root.decode(raw.get());
            boolean bad = directory(root.dir().tree(), snapshot + ":", 0);
            if (root.links() != null) {
                bad |= directory(root.links().id(), snapshot + ":(link table)", 0);
            }
            return taint(id, bad);
        } catch (MalformedObjectException e) {
            fail(id, "malformed", e.getMessage(), where);
            return true;
        }
    }

    private boolean taint(ObjectId id, boolean bad) {
        if (bad) {
            tainted.add(id);
        }
        return bad;
    }

    /** A tree node being walked: its entries or children, the next one to look at, and what was found. */
    private static final class NodeWalk {
        final ObjectId id;
        final String path;
        final TreeNode node;
        int next;
        boolean bad;

        NodeWalk(ObjectId id, String path, TreeNode node) {
            this.id = id;
            this.path = path;
            this.node = node;
        }

        int size() {
            return node.isLeaf() ? node.entries.size() : node.children.length;
        }
    }

    /**
     * Walks a directory's tree node and everything below it; returns whether anything there is
     * damaged. Iterative (a stack of {@link NodeWalk}s, in the order a recursion would take): a
     * store may hold trees deeper than any thread's stack (written before the depth limit).
     */
    private boolean directory(ObjectId top, String topPath, int topDepth) {
        Deque<NodeWalk> stack = new ArrayDeque<>();
        Object first = open(top, topPath, topDepth);
        if (first instanceof Boolean done) {
            return done;
        }
        stack.push((NodeWalk) first);
        while (true) {
            NodeWalk w = stack.peek();
            if (w.next < w.size()) {
                Object below = step(w, w.next++);
                if (below instanceof NodeWalk n) {
                    stack.push(n);
                } else {
                    w.bad |= (Boolean) below;
                }
                continue;
            }
            stack.pop();
            boolean bad = taint(w.id, w.bad);
            if (stack.isEmpty()) {
                return bad;
            }
            stack.peek().bad |= bad;
        }
    }

    /** Entry or child {@code i} of {@code w}: whether it is damaged, or a node to walk first. */
    private Object step(NodeWalk w, int i) {
        String path = w.path;
        if (!w.node.isLeaf()) {
            TreeNode.Child c = w.node.children[i];
            return c == null ? Boolean.FALSE : open(c.id(), path, w.node.depth + 1);
        }
        TreeEntry e = w.node.entries.get(i);
        String child = path + "/" + new String(e.nameRef(), StandardCharsets.UTF_8);
        if (e.linkPaths() != null && !e.linkPaths().isEmpty()) {
            String snap = path.substring(0, path.indexOf(':') + 1);
            if (e.kind() == EntryKind.FILE) {
                boolean bad = false;
                for (byte[] p : e.linkPaths()) {
                    bad |= content(e.content(), snap + new String(p, StandardCharsets.UTF_8));
                }
                return bad;
            }
            child = snap + new String(e.linkPaths().get(0), StandardCharsets.UTF_8);
        }
        return switch (e.kind()) {
            case DIRECTORY -> open(e.tree(), child, 0);
            case FILE -> content(e.content(), child);
            default -> Boolean.FALSE;
        };
    }

    /** Checks one tree node: whether it is damaged (nothing below it to walk), or a walk of it. */
    private Object open(ObjectId id, String path, int depth) {
        Optional<byte[]> raw = visit(id, path.isEmpty() ? "/" : path + "/");
        if (raw.isEmpty()) {
            return damaged(id);
        }
        TreeNode node;
        try {
            node = TreeCodec.decodeNode(raw.get());
        } catch (MalformedObjectException e) {
            fail(id, "malformed", e.getMessage(), path + "/");
            return true;
        }
        if (!node.isLeaf() && node.depth != depth) {
            fail(id, "malformed", "node at depth " + depth + " says depth " + node.depth, path + "/");
            return true;
        }
        return new NodeWalk(id, path, node);
    }

    private boolean content(Content c, String path) {
        if (c.isInline()) {
            return false;
        }
        if (!c.isBlob()) {
            return chunk(c.id(), c.size(), path);
        }
        Optional<byte[]> raw = visit(c.id(), path);
        if (raw.isEmpty()) {
            return damaged(c.id());
        }
        try {
            Blob blob = Blob.decode(raw.get());
            boolean bad = false;
            for (Blob.ChunkRef ref : blob.chunks()) {
                bad |= chunk(ref.id(), ref.length(), path);
            }
            return taint(c.id(), bad);
        } catch (MalformedObjectException e) {
            fail(c.id(), "malformed", e.getMessage(), path);
            return true;
        }
    }

    private boolean chunk(ObjectId id, long length, String path) {
        Optional<byte[]> raw = check(id, path);
        if (raw.isPresent() && raw.get().length - Chunks.DATA_OFFSET != length) {
            fail(
                    id,
                    "malformed",
                    "chunk is " + (raw.get().length - Chunks.DATA_OFFSET) + " bytes, expected " + length,
                    path);
            return true;
        }
        return damaged(id);
    }
}
