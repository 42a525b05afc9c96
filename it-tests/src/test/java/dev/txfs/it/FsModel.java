package dev.txfs.it;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The in-memory model of one view of a directory tree for {@link ModelBasedTest}: what a process
 * should observe after each operation, and which errno an operation should fail with.
 *
 * <p>A view maps relative paths ("" is the root of the test's directory) to nodes; the paths of a
 * file with hard links share one {@link Node}. Times are a logical clock ({@link Node#stamp}): an
 * operation that sets a node's mtime gives it the clock's value, so that "the same entry" (the
 * merge's test) can be decided without real times. Symlink targets never resolve (the generator
 * makes them name nothing), so following one at a path component gives ENOENT.
 *
 * <p>{@link #merge} is the three-way merge of {@code txfs commit} as {@code journal/Merge}
 * documents it, for trees whose hard links stay inside one side's own subtree.
 */
final class FsModel {
    enum Kind {
        FILE,
        DIR,
        SYMLINK
    }

    /** A file, directory or symlink: what a stat, a read and listxattr show (mtime as a clock value). */
    static final class Node {
        final Kind kind;
        byte[] data = new byte[0];
        String target = "";
        int mode;
        TreeMap<String, String> xattrs = new TreeMap<>();
        long stamp;

        Node(Kind kind, int mode, long stamp) {
            this.kind = kind;
            this.mode = mode;
            this.stamp = stamp;
        }

        Node copy() {
            Node n = new Node(kind, mode, stamp);
            n.data = data.clone();
            n.target = target;
            n.xattrs = new TreeMap<>(xattrs);
            return n;
        }

        /** The same entry: every field the merge compares (for directories, not their children). */
        boolean sameAs(Node o) {
            return o != null
                    && kind == o.kind
                    && mode == o.mode
                    && stamp == o.stamp
                    && target.equals(o.target)
                    && Arrays.equals(data, o.data)
                    && xattrs.equals(o.xattrs);
        }
    }

    /** One step of a sequence, run by context {@code ctx}. Fields an operation does not use are 0 or null. */
    record Op(
            int ctx,
            String kind,
            String a,
            String b,
            long off,
            int len,
            int fill,
            int mode,
            String name,
            String value) {
        static Op txn(int ctx, String kind) {
            return new Op(ctx, kind, null, null, 0, 0, 0, 0, null, null);
        }

        boolean isTxn() {
            return kind.equals("begin") || kind.equals("commit") || kind.equals("abort");
        }

        /** One line of a readable script. */
        String script() {
            String s = "c" + ctx + " " + kind;
            return switch (kind) {
                case "write" -> s + " " + a + " off=" + off + " len=" + len + " fill=" + fill;
                case "truncate" -> s + " " + a + " size=" + off;
                case "rename", "link" -> s + " " + a + " " + b;
                case "symlink" -> s + " " + a + " -> " + b;
                case "chmod" -> s + " " + a + " " + Integer.toOctalString(mode);
                case "setxattr" -> s + " " + a + " " + name + "=" + value;
                case "begin", "commit", "abort" -> s;
                default -> s + " " + a;
            };
        }
    }

    final TreeMap<String, Node> paths = new TreeMap<>();

    /** A view with the root directory only. */
    FsModel() {
        paths.put("", new Node(Kind.DIR, 0755, 0));
    }

    /** A deep copy; hard links stay shared within the copy. */
    FsModel copy() {
        FsModel m = new FsModel();
        IdentityHashMap<Node, Node> copies = new IdentityHashMap<>();
        for (Map.Entry<String, Node> e : paths.entrySet()) {
            m.paths.put(e.getKey(), copies.computeIfAbsent(e.getValue(), Node::copy));
        }
        return m;
    }

    static String parent(String p) {
        int i = p.lastIndexOf('/');
        return i < 0 ? "" : p.substring(0, i);
    }

    private static boolean under(String p, String dir) {
        return dir.isEmpty() ? !p.isEmpty() : p.startsWith(dir + "/");
    }

    /** The names directly in directory {@code d}, as paths. */
    List<String> children(String d) {
        List<String> out = new ArrayList<>();
        String prefix = d.isEmpty() ? "" : d + "/";
        for (String p : paths.tailMap(prefix, true).keySet()) {
            if (!p.startsWith(prefix)) {
                break;
            }
            if (!p.isEmpty() && !p.equals(d) && p.indexOf('/', prefix.length()) < 0) {
                out.add(p);
            }
        }
        return out;
    }

    /** The errno of resolving the directories above {@code p}, or null if they all are directories. */
    private String parentError(String p) {
        String q = parent(p);
        if (q.isEmpty()) {
            return null;
        }
        String[] names = q.split("/");
        StringBuilder b = new StringBuilder();
        for (String name : names) {
            b.append(b.length() == 0 ? "" : "/").append(name);
            Node n = paths.get(b.toString());
            if (n == null || n.kind == Kind.SYMLINK) {
                return "ENOENT"; // symlinks dangle
            }
            if (n.kind == Kind.FILE) {
                return "ENOTDIR";
            }
        }
        return null;
    }

    private void touch(String dir, long now) {
        paths.get(dir).stamp = now;
    }

    private static byte[] pattern(long off, int len, int fill) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = (byte) (fill + off + i);
        }
        return b;
    }

    /** Applies a file system operation; "ok" or the errno it fails with. {@code now} is the clock. */
    String apply(Op op, long now) {
        String a = op.a();
        String err = parentError(a);
        if (err != null) {
            return err;
        }
        Node n = paths.get(a);
        switch (op.kind()) {
            case "create", "mkdir", "symlink" -> {
                if (n != null) {
                    return "EEXIST";
                }
                Node c =
                        switch (op.kind()) {
                            case "create" -> new Node(Kind.FILE, 0644, now);
                            case "mkdir" -> new Node(Kind.DIR, 0755, now);
                            default -> new Node(Kind.SYMLINK, 0777, now);
                        };
                if (c.kind == Kind.SYMLINK) {
                    c.target = op.b();
                }
                paths.put(a, c);
                touch(parent(a), now);
            }
            case "write", "truncate", "fsync" -> {
                if (n == null) {
                    return "ENOENT";
                }
                if (n.kind == Kind.SYMLINK) {
                    return "ELOOP"; // O_NOFOLLOW
                }
                if (n.kind == Kind.DIR) {
                    return op.kind().equals("fsync") ? "ok" : "EISDIR";
                }
                if (op.kind().equals("write")) {
                    byte[] d = pattern(op.off(), op.len(), op.fill());
                    long end = op.off() + d.length;
                    if (end > n.data.length) {
                        n.data = Arrays.copyOf(n.data, (int) end);
                    }
                    System.arraycopy(d, 0, n.data, (int) op.off(), d.length);
                    n.stamp = now;
                } else if (op.kind().equals("truncate")) {
                    n.data = Arrays.copyOf(n.data, (int) op.off());
                    n.stamp = now;
                }
            }
            case "unlink" -> {
                if (n == null) {
                    return "ENOENT";
                }
                if (n.kind == Kind.DIR) {
                    return "EISDIR";
                }
                paths.remove(a);
                touch(parent(a), now);
            }
            case "rmdir" -> {
                if (n == null) {
                    return "ENOENT";
                }
                if (n.kind != Kind.DIR) {
                    return "ENOTDIR";
                }
                if (!children(a).isEmpty()) {
                    return "ENOTEMPTY";
                }
                paths.remove(a);
                touch(parent(a), now);
            }
            case "chmod", "setxattr" -> {
                if (n == null || n.kind == Kind.SYMLINK) {
                    return "ENOENT"; // follows the symlink, which dangles
                }
                if (op.kind().equals("chmod")) {
                    n.mode = op.mode();
                } else {
                    n.xattrs.put(op.name(), op.value());
                }
            }
            case "link" -> {
                String b = op.b();
                if (n == null) {
                    return "ENOENT";
                }
                String e = parentError(b);
                if (e != null) {
                    return e;
                }
                if (paths.containsKey(b)) {
                    return "EEXIST";
                }
                if (n.kind == Kind.DIR) {
                    return "EPERM";
                }
                paths.put(b, n);
                touch(parent(b), now);
            }
            case "rename" -> {
                return rename(a, op.b(), now);
            }
            default -> throw new IllegalArgumentException(op.kind());
        }
        return "ok";
    }

    private String rename(String a, String b, long now) {
        String e = parentError(b);
        if (e != null) {
            return e;
        }
        Node src = paths.get(a);
        if (src == null) {
            return "ENOENT";
        }
        if (under(b, a)) {
            return "EINVAL";
        }
        if (under(a, b)) {
            return "ENOTEMPTY";
        }
        Node dst = paths.get(b);
        if (a.equals(b) || dst == src) {
            return "ok"; // the same inode: nothing happens
        }
        if (dst != null) {
            if (src.kind == Kind.DIR && dst.kind != Kind.DIR) {
                return "ENOTDIR";
            }
            if (src.kind != Kind.DIR && dst.kind == Kind.DIR) {
                return "EISDIR";
            }
            if (dst.kind == Kind.DIR && !children(b).isEmpty()) {
                return "ENOTEMPTY";
            }
        }
        paths.remove(b);
        TreeMap<String, Node> moved = new TreeMap<>();
        for (String p : new ArrayList<>(paths.keySet())) {
            if (p.equals(a) || under(p, a)) {
                moved.put(b + p.substring(a.length()), paths.remove(p));
            }
        }
        paths.putAll(moved);
        touch(parent(a), now);
        touch(parent(b), now);
        return "ok";
    }

    // ---- observation ---------------------------------------------------------------------------

    /** What a walk of the view shows, one line per path (see model_agent.py's walk). */
    TreeMap<String, String> render() {
        IdentityHashMap<Node, Integer> links = new IdentityHashMap<>();
        for (Node n : paths.values()) {
            links.merge(n, 1, Integer::sum);
        }
        TreeMap<String, String> out = new TreeMap<>();
        for (Map.Entry<String, Node> e : paths.entrySet()) {
            String p = e.getKey();
            if (p.isEmpty()) {
                continue;
            }
            Node n = e.getValue();
            int nlink;
            long size;
            String what;
            switch (n.kind) {
                case DIR -> {
                    nlink = 2
                            + (int) children(p).stream()
                                    .filter(c -> paths.get(c).kind == Kind.DIR)
                                    .count();
                    size = 0;
                    what = "";
                }
                case SYMLINK -> {
                    nlink = links.get(n);
                    size = n.target.getBytes(StandardCharsets.UTF_8).length;
                    what = n.target;
                }
                default -> {
                    nlink = links.get(n);
                    size = n.data.length;
                    what = sha1(n.data) + ":" + n.data.length;
                }
            }
            out.put(p, line(n.kind.name().toLowerCase(), size, what, nlink, n.mode, n.xattrs));
        }
        return out;
    }

    static String line(String kind, long size, String what, int nlink, int mode, Map<String, String> xattrs) {
        return kind + " size=" + size + " " + what + " nlink=" + nlink + " mode=" + Integer.toOctalString(mode)
                + " xattrs=" + new TreeMap<>(xattrs);
    }

    static String sha1(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    // ---- merge ---------------------------------------------------------------------------------

    /** What a commit does: the merged view, or the conflicting paths (sorted) and no view. */
    record Merged(FsModel tree, TreeSet<String> conflicts) {}

    /**
     * {@code txfs commit}: ours' changes since base applied to theirs, by journal/Merge's rules.
     * Directories' mtimes are clock values, so "changed" includes a directory whose entries were
     * changed and changed back; a directory merged name by name takes the later mtime.
     */
    static Merged merge(FsModel base, FsModel ours, FsModel theirs) {
        MergeRun m = new MergeRun(base, ours, theirs);
        m.entry("");
        return m.conflicts.isEmpty() ? new Merged(m.result, m.conflicts) : new Merged(null, m.conflicts);
    }

    private static final class MergeRun {
        final FsModel base;
        final FsModel ours;
        final FsModel theirs;
        final FsModel result;
        final TreeSet<String> conflicts = new TreeSet<>();
        /** ours' nodes as copied into the result, so hard links stay shared. */
        final IdentityHashMap<Node, Node> fromOurs = new IdentityHashMap<>();

        MergeRun(FsModel base, FsModel ours, FsModel theirs) {
            this.base = base;
            this.ours = ours;
            this.theirs = theirs;
            this.result = theirs.copy();
        }

        /** The merged entry at a path; {@code result} holds theirs there when called. */
        void entry(String p) {
            if (same(ours, base, p) || same(ours, theirs, p)) {
                return;
            }
            if (same(theirs, base, p)) {
                takeOurs(p);
                return;
            }
            Node o = ours.paths.get(p);
            Node t = theirs.paths.get(p);
            if (o != null && t != null && o.kind == Kind.DIR && t.kind == Kind.DIR) {
                Node b = base.paths.get(p);
                if (b != null && b.kind != Kind.DIR) {
                    b = null;
                }
                Node r = result.paths.get(p);
                r.mode = pick(p, b == null ? null : b.mode, o.mode, t.mode);
                r.xattrs = new TreeMap<>(pick(p, b == null ? null : b.xattrs, o.xattrs, t.xattrs));
                r.stamp = Math.max(o.stamp, t.stamp);
                TreeSet<String> names = new TreeSet<>(ours.children(p));
                if (b != null) {
                    names.addAll(base.children(p));
                }
                for (String c : names) {
                    if (b == null) {
                        entryFromEmpty(c);
                    } else if (!same(ours, base, c)) {
                        entry(c);
                    }
                }
                return;
            }
            conflicts.add(p);
        }

        /** {@link #entry} for a path whose base is "absent" (inside a directory both sides added). */
        void entryFromEmpty(String p) {
            Node o = ours.paths.get(p);
            Node t = theirs.paths.get(p);
            if (o == null || same(ours, theirs, p)) {
                return;
            }
            if (t == null) {
                takeOurs(p);
                return;
            }
            if (o.kind == Kind.DIR && t.kind == Kind.DIR) {
                Node r = result.paths.get(p);
                r.mode = pick(p, null, o.mode, t.mode);
                r.xattrs = new TreeMap<>(pick(p, null, o.xattrs, t.xattrs));
                r.stamp = Math.max(o.stamp, t.stamp);
                for (String c : ours.children(p)) {
                    entryFromEmpty(c);
                }
                return;
            }
            conflicts.add(p);
        }

        <T> T pick(String p, T b, T o, T t) {
            if (b != null && o.equals(b)) {
                return t;
            }
            if (t.equals(o) || (b != null && t.equals(b))) {
                return o;
            }
            conflicts.add(p);
            return t;
        }

        /** Replaces the result's subtree at {@code p} with ours'. */
        void takeOurs(String p) {
            result.paths.keySet().removeIf(q -> q.equals(p) || under(q, p));
            for (Map.Entry<String, Node> e : ours.paths.entrySet()) {
                if (e.getKey().equals(p) || under(e.getKey(), p)) {
                    result.paths.put(e.getKey(), fromOurs.computeIfAbsent(e.getValue(), Node::copy));
                }
            }
        }
    }

    /** Whether the subtrees at {@code p} of two views are the same entries (absent in both counts). */
    static boolean same(FsModel x, FsModel y, String p) {
        Node a = x.paths.get(p);
        Node b = y.paths.get(p);
        if (a == null || b == null) {
            return a == b;
        }
        if (!a.sameAs(b) || linkCount(x, a) != linkCount(y, b)) {
            return false;
        }
        if (a.kind != Kind.DIR) {
            return true;
        }
        List<String> ca = x.children(p);
        if (!ca.equals(y.children(p))) {
            return false;
        }
        for (String c : ca) {
            if (!same(x, y, c)) {
                return false;
            }
        }
        return true;
    }

    private static long linkCount(FsModel m, Node n) {
        if (n.kind == Kind.DIR) {
            return 1;
        }
        return m.paths.values().stream().filter(v -> v == n).count();
    }

    @Override
    public String toString() {
        return Objects.toString(render());
    }
}
