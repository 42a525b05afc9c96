package dev.txfs.journal;

import static dev.txfs.snapshot.EntryKind.DIRECTORY;
import static dev.txfs.snapshot.EntryKind.FIFO;
import static dev.txfs.snapshot.EntryKind.FILE;
import static dev.txfs.snapshot.EntryKind.SYMLINK;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link Diff}: what is reported, once per path, and that unchanged subtrees are never read. */
final class DiffTest {
    private InMemoryObjectStore store;
    private ObjectId base;

    @BeforeEach
    void setUp() throws Exception {
        store = new InMemoryObjectStore();
        base = edit(Editor.empty(store))
                .write("/etc/hosts", "127.0.0.1 localhost\n")
                .write("/etc/motd", "hello\n")
                .write("/home/u/notes", "n")
                .write("/home/u/deep/er/file", "x")
                .symlink("/home/u/link", "notes")
                .flush();
    }

    private Editor edit(ObjectId root) {
        return new Editor(store, root).at(Editor.T0 + 1_000);
    }

    private List<Change> diff(ObjectId a, ObjectId b) {
        return Diff.between(store, a, b);
    }

    private static Change added(String p, dev.txfs.snapshot.EntryKind k) {
        return new Change(p, Change.Kind.ADDED, null, k);
    }

    private static Change modified(String p, dev.txfs.snapshot.EntryKind a, dev.txfs.snapshot.EntryKind b) {
        return new Change(p, Change.Kind.MODIFIED, a, b);
    }

    private static Change deleted(String p, dev.txfs.snapshot.EntryKind k) {
        return new Change(p, Change.Kind.DELETED, k, null);
    }

    @Test
    void between_equalTrees_isEmpty() throws Exception {
        assertEquals(List.of(), diff(base, base));
        ObjectId same = edit(base).write("/etc/motd", "hello\n").flush(); // same bytes, new mtime
        ObjectId again = edit(base).write("/etc/motd", "hello\n").flush();
        assertEquals(same, again);
        assertEquals(List.of(), diff(same, again));
    }

    @Test
    void between_addedModifiedDeletedFiles_oneChangeEach() throws Exception {
        ObjectId b = edit(base)
                .write("/etc/new", "n")
                .write("/etc/hosts", "::1 localhost\n")
                .rm("/home/u/notes")
                .flush();
        assertEquals(
                List.of(added("/etc/new", FILE), modified("/etc/hosts", FILE, FILE), deleted("/home/u/notes", FILE))
                        .stream()
                        .sorted(java.util.Comparator.comparing(Change::path))
                        .toList(),
                diff(base, b));
        assertEquals(
                List.of(deleted("/etc/new", FILE), modified("/etc/hosts", FILE, FILE), added("/home/u/notes", FILE))
                        .stream()
                        .sorted(java.util.Comparator.comparing(Change::path))
                        .toList(),
                diff(b, base));
    }

    @Test
    void between_mtimeOnlyChangeOfFile_isModified() throws Exception {
        ObjectId b = edit(base).mtime("/etc/motd", 42).flush();
        assertEquals(List.of(modified("/etc/motd", FILE, FILE)), diff(base, b));
    }

    @Test
    void between_directoryAddedOrDeleted_isReportedOnceNotItsContents() throws Exception {
        ObjectId b = edit(base)
                .write("/opt/app/bin/run", "#!/bin/sh")
                .write("/opt/app/lib/x", "x")
                .flush();
        assertEquals(List.of(added("/opt", DIRECTORY)), diff(base, b));
        ObjectId c = edit(base).rm("/home/u").flush();
        assertEquals(List.of(deleted("/home/u", DIRECTORY)), diff(base, c));
        assertEquals(List.of(added("/home/u", DIRECTORY)), diff(c, base));
    }

    @Test
    void between_childChanged_parentDirectoriesNotReported() throws Exception {
        ObjectId b = edit(base).write("/home/u/deep/er/file", "changed").flush();
        assertEquals(List.of(modified("/home/u/deep/er/file", FILE, FILE)), diff(base, b));
        ObjectId c = edit(base).write("/home/u/deep/er/new", "new").flush(); // changes er's mtime
        assertEquals(List.of(added("/home/u/deep/er/new", FILE)), diff(base, c));
    }

    @Test
    void between_directoryMetadataChanged_isModified() throws Exception {
        ObjectId b = edit(base).chmod("/home/u", 0700).flush();
        assertEquals(List.of(modified("/home/u", DIRECTORY, DIRECTORY)), diff(base, b));
        ObjectId c = edit(base).chown("/etc", 5, 5).write("/etc/motd", "bye").flush();
        assertEquals(List.of(modified("/etc", DIRECTORY, DIRECTORY), modified("/etc/motd", FILE, FILE)), diff(base, c));
        ObjectId d = edit(base).xattr("/", "user.k", "v").flush();
        assertEquals(List.of(modified("/", DIRECTORY, DIRECTORY)), diff(base, d));
        ObjectId e = edit(base).mtime("/home", 7).flush(); // mtime alone, contents unchanged
        assertEquals(List.of(modified("/home", DIRECTORY, DIRECTORY)), diff(base, e));
    }

    @Test
    void between_typeChanged_isModifiedWithBothKinds() throws Exception {
        ObjectId b = edit(base)
                .rm("/etc/motd")
                .mkdirs("/etc/motd")
                .write("/etc/motd/inner", "i")
                .rm("/home/u/deep")
                .write("/home/u/deep", "now a file")
                .rm("/home/u/notes")
                .symlink("/home/u/notes", "elsewhere")
                .rm("/home/u/link")
                .mknod("/home/u/link", FIFO)
                .flush();
        assertEquals(
                List.of(
                        modified("/etc/motd", FILE, DIRECTORY),
                        modified("/home/u/deep", DIRECTORY, FILE),
                        modified("/home/u/link", SYMLINK, FIFO),
                        modified("/home/u/notes", FILE, SYMLINK)),
                diff(base, b));
    }

    @Test
    void between_nonUtf8Names_areDecodedForDisplayAndSortedByBytes() throws Exception {
        Editor ed = edit(base);
        MutableTree t = ed.tree();
        Dir etc = t.getDir("/etc");
        t.createFile(etc, new byte[] {(byte) 0xff, 'z'}, 0644, 0, 0);
        t.createFile(etc, new byte[] {'a', (byte) 0xc3}, 0644, 0, 0);
        Dir bad = t.mkdir(t.root(), new byte[] {(byte) 0xfe}, 0755, 0, 0);
        t.createFile(bad, "x".getBytes(UTF_8), 0644, 0, 0);
        ObjectId b = ed.flush();
        List<Change> changes = diff(base, b);
        assertEquals(
                List.of("A /etc/a\uFFFD (FILE)", "A /etc/\uFFFDz (FILE)", "A /\uFFFD (DIRECTORY)"),
                changes.stream().map(Change::toString).toList());
        List<List<byte[]>> raw = changes.stream().map(Change::segments).toList();
        assertArrayEquals(new byte[] {'a', (byte) 0xc3}, raw.get(0).get(1), "segments keep the exact bytes");
        assertArrayEquals(new byte[] {(byte) 0xff, 'z'}, raw.get(1).get(1));
        assertArrayEquals(new byte[] {(byte) 0xfe}, raw.get(2).get(0));
    }

    @Test
    void between_hardLinks_reportedByPathLikePlainFiles() throws Exception {
        ObjectId linked = edit(base).link("/etc/motd", "/home/u/motd").flush();
        // the new name is added; the old one's link count changed
        assertEquals(List.of(modified("/etc/motd", FILE, FILE), added("/home/u/motd", FILE)), diff(base, linked));

        ObjectId written = edit(linked).write("/home/u/motd", "new motd").flush();
        assertEquals(
                List.of(modified("/etc/motd", FILE, FILE), modified("/home/u/motd", FILE, FILE)),
                diff(linked, written));

        ObjectId third = edit(linked).link("/etc/motd", "/a-first").flush(); // a new smallest path: re-keyed
        assertEquals(
                List.of(
                        added("/a-first", FILE),
                        modified("/etc/motd", FILE, FILE),
                        modified("/home/u/motd", FILE, FILE)),
                diff(linked, third));

        ObjectId unlinked = edit(linked).rm("/etc/motd").flush(); // back to an ordinary file
        assertEquals(List.of(deleted("/etc/motd", FILE), modified("/home/u/motd", FILE, FILE)), diff(linked, unlinked));

        ObjectId renamed = edit(third).rename("/home/u/motd", "/home/u/motd2").flush(); // nlink unchanged
        assertEquals(List.of(deleted("/home/u/motd", FILE), added("/home/u/motd2", FILE)), diff(third, renamed));

        ObjectId dirGone = edit(written).rm("/home/u").flush();
        assertEquals(List.of(modified("/etc/motd", FILE, FILE), deleted("/home/u", DIRECTORY)), diff(written, dirGone));
    }

    @Test
    void between_oneChangeInFiftyThousandFiles_readsAFewDozenObjects() throws Exception {
        ObjectId big = BigTree.fiftyThousandFiles(store);
        ObjectId one = edit(big).write("/flat/f12345", "changed").flush();
        ObjectId two = edit(one)
                .write("/nested/d42/g7", "changed")
                .write("/flat/new", "new")
                .flush();

        CountingStore counting = new CountingStore(store);
        assertEquals(List.of(modified("/flat/f12345", FILE, FILE)), Diff.between(counting, big, one));
        assertTrue(counting.reads <= 12, "reads (2 roots, then 2 per trie level): " + counting.reads);

        counting.reads = 0;
        assertEquals(
                List.of(
                        modified("/flat/f12345", FILE, FILE),
                        added("/flat/new", FILE),
                        modified("/nested/d42/g7", FILE, FILE)),
                Diff.between(counting, big, two));
        assertTrue(counting.reads <= 40, "reads: " + counting.reads);
    }
}
