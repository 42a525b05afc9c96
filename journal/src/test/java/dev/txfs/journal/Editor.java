package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import java.nio.file.FileSystemException;

/**
 * Builds test trees by path over a {@link MutableTree}, with a clock the test sets: every change
 * is stamped with {@link #at}'s time, so two trees edited the same way at the same times get the
 * same tree id.
 */
final class Editor {
    static final long T0 = 1_700_000_000_000_000_000L;

    private final MutableTree tree;
    private long now = T0;

    Editor(ObjectStore store, ObjectId root) {
        this.tree = new MutableTree(store, root, () -> now);
    }

    /** An empty tree (root 0755, owned by 0:0, mtime {@link #T0}). */
    static ObjectId empty(ObjectStore store) {
        return MutableTree.writeEmpty(store, 0755, 0, 0, T0);
    }

    MutableTree tree() {
        return tree;
    }

    /** Changes from now on happen at {@code timeNs}. */
    Editor at(long timeNs) {
        now = timeNs;
        return this;
    }

    long now() {
        return now;
    }

    private static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash == 0 ? "/" : path.substring(0, slash);
    }

    private static byte[] name(String path) {
        return path.substring(path.lastIndexOf('/') + 1).getBytes(UTF_8);
    }

    /** Creates the directory and its missing parents. */
    Editor mkdirs(String path) throws FileSystemException {
        Dir d = tree.root();
        for (String part : path.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            byte[] n = part.getBytes(UTF_8);
            MutableNode next = tree.lookup(d, n).orElse(null);
            d = next == null ? tree.mkdir(d, n, 0755, 0, 0) : (Dir) next;
        }
        return this;
    }

    /** Creates the file (and missing parents) if absent, then makes its content {@code content}. */
    Editor write(String path, String content) throws FileSystemException {
        return write(path, content.getBytes(UTF_8));
    }

    Editor write(String path, byte[] content) throws FileSystemException {
        mkdirs(parent(path));
        Dir d = tree.getDir(parent(path));
        MutableNode n = tree.lookup(d, name(path)).orElse(null);
        MutableNode.File f = n == null ? tree.createFile(d, name(path), 0644, 0, 0) : (MutableNode.File) n;
        tree.truncate(f, 0);
        tree.write(f, 0, content, 0, content.length);
        return this;
    }

    /** Removes a file, or a directory with everything in it. */
    Editor rm(String path) throws FileSystemException {
        MutableNode n = tree.get(path);
        Dir d = tree.getDir(parent(path));
        if (n instanceof Dir dir) {
            for (byte[] child : tree.list(dir).keySet()) {
                rm(path + "/" + new String(child, UTF_8));
            }
            tree.rmdir(d, name(path));
        } else {
            tree.unlink(d, name(path));
        }
        return this;
    }

    Editor link(String target, String path) throws FileSystemException {
        mkdirs(parent(path));
        tree.link(tree.get(target), tree.getDir(parent(path)), name(path));
        return this;
    }

    Editor symlink(String path, String target) throws FileSystemException {
        mkdirs(parent(path));
        tree.symlink(tree.getDir(parent(path)), name(path), target.getBytes(UTF_8), 0, 0);
        return this;
    }

    Editor mknod(String path, EntryKind kind) throws FileSystemException {
        tree.mknod(tree.getDir(parent(path)), name(path), kind, 0644, 0, 0, 0);
        return this;
    }

    Editor rename(String from, String to) throws FileSystemException {
        tree.rename(
                tree.getDir(parent(from)),
                name(from),
                tree.getDir(parent(to)),
                name(to),
                MutableTree.RenameMode.REPLACE);
        return this;
    }

    Editor chmod(String path, int mode) throws FileSystemException {
        tree.setAttributes(tree.get(path), mode, null, null, null);
        return this;
    }

    Editor chown(String path, long uid, long gid) throws FileSystemException {
        tree.setAttributes(tree.get(path), null, uid, gid, null);
        return this;
    }

    Editor mtime(String path, long ns) throws FileSystemException {
        tree.setAttributes(tree.get(path), null, null, null, ns);
        return this;
    }

    Editor xattr(String path, String name, String value) throws FileSystemException {
        tree.setXattr(tree.get(path), name, value.getBytes(UTF_8), MutableTree.XattrMode.ANY);
        return this;
    }

    ObjectId flush() throws FileSystemException {
        return tree.flush();
    }
}
