package dev.txfs.snapshot;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableNode.File;
import dev.txfs.snapshot.MutableNode.Special;
import dev.txfs.snapshot.MutableTree.RenameMode;
import dev.txfs.snapshot.MutableTree.XattrMode;
import dev.txfs.snapshot.TreeExceptions.InvalidOperationException;
import dev.txfs.snapshot.TreeExceptions.IsDirectoryException;
import dev.txfs.snapshot.TreeExceptions.NoSuchAttributeException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Random operation sequences applied to a {@link MutableTree} and to a plain in-memory model; after
 * every step the observable state must match, and every flush must give exactly the root id that
 * writing the model's state from scratch gives (so incremental flushes, re-chunking and link
 * groups are deterministic). Seeds are printed on failure; replay one with -Dtxfs.seed=N.
 */
class MutableTreeModelTest {
    private static final long T = 1_700_000_000_123_456_789L;
    private static final String[] NAMES = {"a", "b", "c", "d", "e"};

    /** The model's inode: shared by all names of a hard-linked file. */
    static final class Inode {
        final EntryKind kind;
        int mode;
        byte[] data = new byte[0];
        byte[] target;
        long rdev;
        final TreeMap<String, byte[]> xattrs = new TreeMap<>();

        Inode(EntryKind kind, int mode) {
            this.kind = kind;
            this.mode = mode;
        }
    }

    private final TreeMap<String, Inode> model = new TreeMap<>();
    private InMemoryObjectStore store;
    private MutableTree tree;
    private Random rnd;
    private final List<String> log = new ArrayList<>();

    @Test
    void randomSequences_matchModelAndFlushDeterministically() throws Exception {
        String fixed = System.getProperty("txfs.seed");
        long base = fixed != null ? Long.parseLong(fixed) : System.nanoTime();
        int runs = fixed != null ? 1 : Integer.getInteger("txfs.modelRuns", 60);
        for (int i = 0; i < runs; i++) {
            long seed = base + i;
            try {
                run(seed, 400);
            } catch (Throwable t) {
                throw new AssertionError(
                        "seed " + seed + " failed after: "
                                + String.join(
                                        "; ",
                                        log.subList(
                                                Math.max(
                                                        0,
                                                        log.size()
                                                                - (System.getProperty("txfs.seed") != null
                                                                        ? 100000
                                                                        : 12)),
                                                log.size())),
                        t);
            }
        }
    }

    private void run(long seed, int steps) throws Exception {
        rnd = new Random(seed);
        model.clear();
        log.clear();
        model.put("", new Inode(EntryKind.DIRECTORY, 0755));
        store = new InMemoryObjectStore();
        tree = new MutableTree(store, MutableTree.writeEmpty(store, 0755, 0, 0, T), () -> T);
        for (int step = 0; step < steps; step++) {
            step();
            if (step % 10 == 0) {
                compare();
            }
        }
        compare();
        flushAndCheck(true);
    }

    private String randomPath(boolean dirsOnly) {
        List<String> candidates = new ArrayList<>();
        for (var e : model.entrySet()) {
            if (!dirsOnly || e.getValue().kind == EntryKind.DIRECTORY) {
                candidates.add(e.getKey());
            }
        }
        return candidates.get(rnd.nextInt(candidates.size()));
    }

    private String newPath() {
        String dir = randomPath(true);
        return dir + "/" + NAMES[rnd.nextInt(NAMES.length)];
    }

    private static String parent(String p) {
        return p.substring(0, p.lastIndexOf('/'));
    }

    private static byte[] name(String p) {
        return p.substring(p.lastIndexOf('/') + 1).getBytes(UTF_8);
    }

    private Dir dir(String p) throws FileSystemException {
        return tree.getDir(p.isEmpty() ? "/" : p);
    }

    private boolean hasChildren(String p) {
        String prefix = p + "/";
        String next = model.higherKey(p);
        return next != null && next.startsWith(prefix);
    }

    private Class<? extends Exception> expectCreate(String p) {
        return model.containsKey(p) ? FileAlreadyExistsException.class : null;
    }

    /** One random operation on both sides; the exception classes must agree. */
    private void step() throws Exception {
        int op = rnd.nextInt(100);
        Class<? extends Exception> expected;
        Class<? extends Exception> actual = null;
        if (op < 14) {
            String p = newPath();
            log.add("create " + p);
            expected = expectCreate(p);
            try {
                tree.createFile(dir(parent(p)), name(p), 0644, 0, 0);
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            if (expected == null) {
                model.put(p, new Inode(EntryKind.FILE, 0644));
            }
        } else if (op < 22) {
            String p = newPath();
            log.add("mkdir " + p);
            expected = expectCreate(p);
            try {
                tree.mkdir(dir(parent(p)), name(p), 0755, 0, 0);
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            if (expected == null) {
                model.put(p, new Inode(EntryKind.DIRECTORY, 0755));
            }
        } else if (op < 40) {
            String p = randomPath(false);
            Inode in = model.get(p);
            if (in.kind != EntryKind.FILE) {
                return;
            }
            int off = rnd.nextInt(4) == 0 ? rnd.nextInt(in.data.length + 1) : rnd.nextInt(300_000);
            byte[] buf = new byte[rnd.nextInt(4) == 0 ? rnd.nextInt(200_000) : rnd.nextInt(100)];
            rnd.nextBytes(buf);
            log.add("write " + p + " @" + off + " +" + buf.length);
            tree.write((File) tree.get(p), off, buf, 0, buf.length);
            if (off + buf.length > in.data.length) {
                in.data = Arrays.copyOf(in.data, off + buf.length);
            }
            System.arraycopy(buf, 0, in.data, off, buf.length);
            return;
        } else if (op < 46) {
            String p = randomPath(false);
            Inode in = model.get(p);
            if (in.kind != EntryKind.FILE) {
                return;
            }
            int size = rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(in.data.length + 100_000);
            log.add("truncate " + p + " " + size);
            tree.truncate((File) tree.get(p), size);
            in.data = Arrays.copyOf(in.data, size);
            return;
        } else if (op < 54) {
            String p = randomPath(false);
            if (p.isEmpty()) {
                return;
            }
            log.add("unlink " + p);
            expected = model.get(p).kind == EntryKind.DIRECTORY ? IsDirectoryException.class : null;
            try {
                tree.unlink(dir(parent(p)), name(p));
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            if (expected == null) {
                model.remove(p);
            }
        } else if (op < 58) {
            String p = randomPath(false);
            if (p.isEmpty()) {
                return;
            }
            log.add("rmdir " + p);
            expected = model.get(p).kind != EntryKind.DIRECTORY
                    ? NotDirectoryException.class
                    : hasChildren(p) ? DirectoryNotEmptyException.class : null;
            try {
                tree.rmdir(dir(parent(p)), name(p));
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            if (expected == null) {
                model.remove(p);
            }
        } else if (op < 72) {
            String src = randomPath(false);
            String dst = newPath();
            if (src.isEmpty()) {
                return;
            }
            RenameMode mode = RenameMode.values()[rnd.nextInt(3)];
            log.add("rename " + src + " " + dst + " " + mode);
            expected = expectRename(src, dst, mode);
            try {
                tree.rename(dir(parent(src)), name(src), dir(parent(dst)), name(dst), mode);
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            if (expected == null) {
                applyRename(src, dst, mode);
            }
        } else if (op < 80) {
            String src = randomPath(false);
            String dst = newPath();
            Inode in = model.get(src);
            log.add("link " + src + " " + dst);
            expected = in.kind == EntryKind.DIRECTORY
                    ? TreeExceptions.NotPermittedException.class
                    : model.containsKey(dst) ? FileAlreadyExistsException.class : null;
            try {
                tree.link(tree.get(src.isEmpty() ? "/" : src), dir(parent(dst)), name(dst));
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            if (expected == null) {
                model.put(dst, in);
            }
        } else if (op < 84) {
            String p = newPath();
            byte[] target = ("t" + rnd.nextInt(1000)).getBytes(UTF_8);
            log.add("symlink " + p);
            expected = expectCreate(p);
            try {
                tree.symlink(dir(parent(p)), name(p), target, 0, 0);
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            if (expected == null) {
                Inode in = new Inode(EntryKind.SYMLINK, 0777);
                in.target = target;
                model.put(p, in);
            }
        } else if (op < 88) {
            String p = randomPath(false);
            int mode = rnd.nextInt(07777 + 1);
            log.add("chmod " + p + " " + Integer.toOctalString(mode));
            tree.setAttributes(tree.get(p.isEmpty() ? "/" : p), mode, null, null, null);
            model.get(p).mode = mode;
            return;
        } else if (op < 94) {
            String p = randomPath(false);
            String x = "user." + NAMES[rnd.nextInt(3)];
            Inode in = model.get(p);
            XattrMode mode = XattrMode.values()[rnd.nextInt(3)];
            byte[] v = new byte[rnd.nextInt(40)];
            rnd.nextBytes(v);
            log.add("setxattr " + p + " " + x + " " + mode);
            boolean present = in.xattrs.containsKey(x);
            expected = mode == XattrMode.CREATE && present
                    ? FileAlreadyExistsException.class
                    : mode == XattrMode.REPLACE && !present ? NoSuchAttributeException.class : null;
            try {
                tree.setXattr(tree.get(p.isEmpty() ? "/" : p), x, v, mode);
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            if (expected == null) {
                in.xattrs.put(x, v);
            }
        } else if (op < 96) {
            String p = randomPath(false);
            String x = "user." + NAMES[rnd.nextInt(3)];
            Inode in = model.get(p);
            log.add("removexattr " + p + " " + x);
            expected = in.xattrs.containsKey(x) ? null : NoSuchAttributeException.class;
            try {
                tree.removeXattr(tree.get(p.isEmpty() ? "/" : p), x);
            } catch (FileSystemException e) {
                actual = e.getClass();
            }
            in.xattrs.remove(x);
        } else {
            log.add("flush");
            flushAndCheck(rnd.nextBoolean());
            return;
        }
        assertEquals(expected, actual, "outcome of " + log.get(log.size() - 1));
    }

    private boolean within(String p, String ancestor) {
        return p.equals(ancestor) || p.startsWith(ancestor + "/");
    }

    private Class<? extends Exception> expectRename(String src, String dst, RenameMode mode) {
        if (src.equals(dst)) {
            return null;
        }
        Inode a = model.get(src);
        Inode b = model.get(dst);
        if (a.kind == EntryKind.DIRECTORY && within(parent(dst), src)) {
            return InvalidOperationException.class;
        }
        if (mode == RenameMode.EXCHANGE) {
            if (b == null) {
                return NoSuchFileException.class;
            }
            if (b.kind == EntryKind.DIRECTORY && within(parent(src), dst)) {
                return InvalidOperationException.class;
            }
            return null;
        }
        if (b == null) {
            return null;
        }
        if (mode == RenameMode.NOREPLACE) {
            return FileAlreadyExistsException.class;
        }
        if (a == b) {
            return null;
        }
        if (a.kind == EntryKind.DIRECTORY) {
            if (b.kind != EntryKind.DIRECTORY) {
                return NotDirectoryException.class;
            }
            return hasChildren(dst) ? DirectoryNotEmptyException.class : null;
        }
        return b.kind == EntryKind.DIRECTORY ? IsDirectoryException.class : null;
    }

    private TreeMap<String, Inode> takeSubtree(String p) {
        TreeMap<String, Inode> out = new TreeMap<>();
        for (var it = model.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (within(e.getKey(), p)) {
                out.put(e.getKey().substring(p.length()), e.getValue());
                it.remove();
            }
        }
        return out;
    }

    private void putSubtree(String p, TreeMap<String, Inode> sub) {
        sub.forEach((rel, in) -> model.put(p + rel, in));
    }

    private void applyRename(String src, String dst, RenameMode mode) {
        if (src.equals(dst)) {
            return;
        }
        if (mode == RenameMode.EXCHANGE) {
            TreeMap<String, Inode> a = takeSubtree(src);
            TreeMap<String, Inode> b = takeSubtree(dst);
            putSubtree(dst, a);
            putSubtree(src, b);
            return;
        }
        if (model.get(src) == model.get(dst)) {
            return;
        }
        takeSubtree(dst);
        putSubtree(dst, takeSubtree(src));
    }

    private long nlink(String path, Inode in) {
        if (in.kind == EntryKind.DIRECTORY) {
            long subdirs = model.entrySet().stream()
                    .filter(e -> e.getKey().startsWith(path + "/")
                            && e.getKey().indexOf('/', path.length() + 1) < 0
                            && e.getValue().kind == EntryKind.DIRECTORY)
                    .count();
            return 2 + subdirs;
        }
        return model.values().stream().filter(v -> v == in).count();
    }

    private void compare() throws Exception {
        for (var e : model.entrySet()) {
            String p = e.getKey();
            Inode in = e.getValue();
            MutableNode n = tree.get(p.isEmpty() ? "/" : p);
            assertEquals(in.kind, n.kind(), "kind of " + p);
            assertEquals(in.mode, n.mode(), "mode of " + p);
            assertEquals(nlink(p, in), n.nlink(), "nlink of " + p);
            assertEquals(in.xattrs.keySet(), n.xattrs().keySet(), "xattrs of " + p);
            for (var x : in.xattrs.entrySet()) {
                assertArrayEquals(x.getValue(), n.xattrs().get(x.getKey()), "xattr " + x.getKey() + " of " + p);
            }
            if (in.kind == EntryKind.FILE) {
                File f = (File) n;
                assertEquals(in.data.length, f.size(), "size of " + p);
                byte[] got = new byte[in.data.length + 10];
                int r = tree.read(f, 0, got, 0, got.length);
                assertEquals(in.data.length, r, "bytes read of " + p);
                assertArrayEquals(in.data, Arrays.copyOf(got, r), "content of " + p);
            } else if (in.kind == EntryKind.SYMLINK) {
                assertArrayEquals(in.target, ((Special) n).target(), "target of " + p);
            } else if (in.kind == EntryKind.DIRECTORY) {
                List<String> expectedNames = new ArrayList<>();
                for (String q : model.keySet()) {
                    if (q.startsWith(p + "/") && q.indexOf('/', p.length() + 1) < 0) {
                        expectedNames.add(q.substring(p.length() + 1));
                    }
                }
                List<String> names = new ArrayList<>();
                tree.list((Dir) n).keySet().forEach(k -> names.add(new String(k, UTF_8)));
                assertEquals(expectedNames, names, "listing of " + (p.isEmpty() ? "/" : p));
                assertEquals(expectedNames.size(), ((Dir) n).entryCount(), "entry count of " + p);
            }
        }
    }

    private void flushAndCheck(boolean reopen) throws Exception {
        ObjectId id = tree.flush();
        ObjectId scratch = fromScratch();
        if (!scratch.equals(id)) {
            assertEquals(dump(scratch), dump(id), "flushed root differs from the model's state written from scratch");
        }
        if (reopen) {
            tree = new MutableTree(store, id, () -> T);
        }
        compare();
        assertTrue(Verifier.verifySnapshot(store, Snapshots.record(store, "HEAD", id, "t", "m", () -> T), x -> {})
                .clean());
    }

    private String dump(ObjectId rootId) {
        StringBuilder sb = new StringBuilder();
        Root r = Root.decode(store.get(rootId));
        sb.append("root ").append(describe(r.dir())).append('\n');
        dumpDir(r.dir().tree(), "", sb);
        if (r.links() != null) {
            Directories.list(store, r.links().id())
                    .forEach(e -> sb.append("link ").append(describe(e)).append('\n'));
        }
        return sb.toString();
    }

    private void dumpDir(ObjectId tree, String path, StringBuilder sb) {
        for (TreeEntry e : Directories.list(store, tree)) {
            sb.append(path).append('/').append(describe(e)).append('\n');
            if (e.kind() == EntryKind.DIRECTORY) {
                dumpDir(e.tree(), path + "/" + e.nameString(), sb);
            }
        }
    }

    private static String describe(TreeEntry e) {
        return e.nameString() + " " + e.kind() + " " + Integer.toOctalString(e.mode()) + " x="
                + e.xattrs().keySet()
                + (e.kind() == EntryKind.FILE ? " " + e.content() : "")
                + (e.kind() == EntryKind.DIRECTORY ? " n=" + e.dirEntries() + " s=" + e.dirSubdirs() : "")
                + (e.kind() == EntryKind.HARDLINK ? " key=" + new String(e.linkKey(), UTF_8) : "")
                + (e.linkPaths() != null
                        ? " paths="
                                + e.linkPaths().stream()
                                        .map(p -> new String(p, UTF_8))
                                        .toList()
                        : "");
    }

    /** The model written directly with the encodings: what a deterministic flush must produce. */
    private ObjectId fromScratch() {
        ObjectWriter w = store.newWriter();
        Map<Inode, List<String>> paths = new IdentityHashMap<>();
        model.forEach((p, in) -> {
            if (in.kind != EntryKind.DIRECTORY) {
                paths.computeIfAbsent(in, k -> new ArrayList<>()).add(p);
            }
        });
        List<TreeEntry> records = new ArrayList<>();
        for (var e : paths.entrySet()) {
            if (e.getValue().size() > 1) {
                List<byte[]> ps =
                        e.getValue().stream().map(s -> s.getBytes(UTF_8)).toList();
                records.add(HardLinks.record(inodeEntry(w, "x", e.getKey()), ps));
            }
        }
        TreeEntry root = dirEntry(w, "", model.get(""), paths);
        return HardLinks.writeRoot(w, root, records);
    }

    private TreeEntry inodeEntry(ObjectWriter w, String name, Inode in) {
        TreeEntry.Builder b = TreeEntry.builder(name.getBytes(UTF_8), in.kind)
                .mode(in.mode)
                .times(T, T)
                .xattrs(in.xattrs);
        if (in.kind == EntryKind.FILE) {
            b.content(FileContents.write(w, in.data));
        } else if (in.kind == EntryKind.SYMLINK) {
            b.symlinkTarget(in.target);
        }
        return b.build();
    }

    private TreeEntry dirEntry(ObjectWriter w, String path, Inode in, Map<Inode, List<String>> paths) {
        List<TreeEntry> entries = new ArrayList<>();
        for (var e : model.subMap(path + "/", path + "0").entrySet()) {
            String rel = e.getKey().substring(path.length() + 1);
            if (rel.contains("/")) {
                continue;
            }
            Inode child = e.getValue();
            if (child.kind == EntryKind.DIRECTORY) {
                entries.add(dirEntry(w, e.getKey(), child, paths));
            } else if (paths.get(child).size() > 1) {
                List<String> ps = new ArrayList<>(paths.get(child));
                ps.sort(null);
                entries.add(HardLinks.link(rel.getBytes(UTF_8), ps.get(0).getBytes(UTF_8)));
            } else {
                entries.add(inodeEntry(w, rel, child));
            }
        }
        String name = path.isEmpty() ? "" : path.substring(path.lastIndexOf('/') + 1);
        return TreeEntry.builder(name.getBytes(UTF_8), EntryKind.DIRECTORY)
                .mode(in.mode)
                .times(T, T)
                .xattrs(in.xattrs)
                .tree(Directories.write(w, entries))
                .build();
    }
}
