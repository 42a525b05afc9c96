package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.MutableNode;
import dev.txfs.snapshot.MutableNode.Dir;
import dev.txfs.snapshot.MutableTree;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import java.nio.file.FileSystemException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random edits on two trees branched from one base, each side confined to its own top-level
 * directory (plus top-level files of its own prefix), always merge without conflict, and to
 * exactly the tree that replaying both edit sequences on one tree gives (ours first, at earlier
 * times, then theirs). Fixed seeds; a failure names its seed.
 */
final class MergePropertyTest {
    private static final int CASES = 200;
    private static final int STEPS = 40;
    private static final String[] NAMES = {"a", "b", "c", "d", "e"};

    @Test
    void threeWay_randomEditsOfDisjointTopLevelDirectories_mergeLikeReplayingBoth() throws Exception {
        for (int c = 0; c < CASES; c++) {
            long seed = 7919L * c + 1;
            try {
                runCase(seed);
            } catch (Throwable t) {
                throw new AssertionError("seed " + seed + ": " + t, t);
            }
        }
    }

    private static void runCase(long seed) throws Exception {
        InMemoryObjectStore store = new InMemoryObjectStore();
        Random setup = new Random(seed);
        Editor b = new Editor(store, Editor.empty(store));
        for (String top : List.of("/A", "/B")) {
            b.mkdirs(top + "/sub");
            for (int i = 0; i < 1 + setup.nextInt(4); i++) {
                b.write(top + "/" + NAMES[i], "base " + i);
            }
            if (setup.nextBoolean()) {
                b.link(top + "/a", top + "/sub/link-a");
            }
        }
        b.write("/shared", "untouched");
        ObjectId base = b.flush();

        long oursSeed = seed * 31 + 1;
        long theirsSeed = seed * 31 + 2;
        long oursT0 = Editor.T0 + 1_000_000;
        long theirsT0 = Editor.T0 + 2_000_000;

        Editor ours = new Editor(store, base);
        edits(ours, "/A", "o", new Random(oursSeed), oursT0);
        ObjectId oursRoot = ours.flush();

        Editor theirs = new Editor(store, base);
        edits(theirs, "/B", "t", new Random(theirsSeed), theirsT0);
        ObjectId theirsRoot = theirs.flush();

        Editor replay = new Editor(store, base);
        edits(replay, "/A", "o", new Random(oursSeed), oursT0);
        edits(replay, "/B", "t", new Random(theirsSeed), theirsT0);
        ObjectId expected = replay.flush();

        Merge.Result r;
        try (ObjectWriter out = store.newWriter()) {
            r = Merge.threeWay(store, out, base, oursRoot, theirsRoot);
        }
        assertEquals(List.of(), r.conflicts());
        assertEquals(expected, r.root());
        assertEquals(Diff.between(store, base, oursRoot), r.applied());
        LinkTables.assertConsistent(store, r.root());
        // and the other way round: theirs as the transaction gives the same tree
        try (ObjectWriter out = store.newWriter()) {
            assertEquals(
                    expected,
                    Merge.threeWay(store, out, base, theirsRoot, oursRoot).root());
        }
    }

    /**
     * Both sides edit the same directory at random: a merge may conflict, but when it does not,
     * its link table is consistent, and merging the other way round gives the same outcome. Both
     * outcomes must occur, or the test proves nothing.
     */
    @Test
    void threeWay_randomEditsOfOneDirectory_mergeConsistentlyOrConflict() throws Exception {
        int merged = 0;
        int conflicted = 0;
        for (int c = 0; c < CASES; c++) {
            long seed = 104729L * c + 3;
            try {
                InMemoryObjectStore store = new InMemoryObjectStore();
                Editor b = new Editor(store, Editor.empty(store));
                b.mkdirs("/A/sub").write("/A/a", "a").write("/A/b", "b").link("/A/a", "/A/sub/a2");
                ObjectId base = b.flush();
                Editor ours = new Editor(store, base);
                edits(ours, "/A", "o", new Random(seed), Editor.T0 + 1_000_000, 4);
                Editor theirs = new Editor(store, base);
                edits(theirs, "/A", "t", new Random(seed + 1), Editor.T0 + 2_000_000, 4);
                ObjectId o = ours.flush();
                ObjectId t = theirs.flush();
                Merge.Result r;
                Merge.Result swapped;
                try (ObjectWriter out = store.newWriter()) {
                    r = Merge.threeWay(store, out, base, o, t);
                    swapped = Merge.threeWay(store, out, base, t, o);
                }
                // (the conflict lists may differ by other names of a hard-linked inode in conflict:
                // the link check looks at the records the transaction side changed)
                assertEquals(r.root(), swapped.root());
                assertEquals(r.merged(), swapped.merged());
                if (r.merged()) {
                    merged++;
                    LinkTables.assertConsistent(store, r.root());
                    assertEquals(Diff.between(store, t, r.root()), r.applied());
                } else {
                    conflicted++;
                }
            } catch (Throwable t) {
                throw new AssertionError("seed " + seed + ": " + t, t);
            }
        }
        assertTrue(merged > CASES / 10 && conflicted > CASES / 10, merged + " merged, " + conflicted + " conflicted");
    }

    private static void edits(Editor ed, String top, String prefix, Random rnd, long t0) throws Exception {
        edits(ed, top, prefix, rnd, t0, STEPS);
    }

    /**
     * Random edits inside {@code top}, and of top-level files named {@code prefix}*;
     * the choices depend only on {@code rnd} and the state of what the edits may touch, so a replay
     * on another tree makes the same edits.
     */
    private static void edits(Editor ed, String top, String prefix, Random rnd, long t0, int steps) throws Exception {
        MutableTree t = ed.tree();
        for (int step = 0; step < steps; step++) {
            ed.at(t0 + step * 1_000L);
            List<String> dirs = new ArrayList<>();
            List<String> others = new ArrayList<>();
            collect(t, top, t.getDir(top), dirs, others);
            String dir = dirs.get(rnd.nextInt(dirs.size()));
            String name = NAMES[rnd.nextInt(NAMES.length)];
            String target = dir + "/" + name;
            String any = rnd.nextInt(4) == 0 || others.isEmpty()
                    ? dirs.get(rnd.nextInt(dirs.size()))
                    : others.get(rnd.nextInt(others.size()));
            try {
                switch (rnd.nextInt(13)) {
                    case 0, 1 -> ed.write(target, "c" + rnd.nextInt(1000));
                    case 2 -> {
                        if (t.get(any) instanceof MutableNode.File f) {
                            byte[] data =
                                    new byte[rnd.nextInt(3) == 0 ? 70_000 + rnd.nextInt(9000) : 1 + rnd.nextInt(90)];
                            rnd.nextBytes(data);
                            t.write(f, rnd.nextInt(100), data, 0, data.length);
                        }
                    }
                    case 3 -> ed.mkdirs(target);
                    case 4 -> {
                        if (!any.equals(top)) {
                            ed.rm(any);
                        }
                    }
                    case 5 -> {
                        if (!any.equals(top) && !target.startsWith(any + "/")) {
                            ed.rename(any, target);
                        }
                    }
                    case 6 -> {
                        if (t.get(any) instanceof MutableNode.File) {
                            ed.link(any, target);
                        }
                    }
                    case 7 -> ed.chmod(any, 0700 | rnd.nextInt(0100));
                    case 8 -> ed.xattr(any, "user.k" + rnd.nextInt(3), "v" + rnd.nextInt(10));
                    case 9 -> ed.symlink(target, "to/" + rnd.nextInt(10));
                    case 10 -> ed.mknod(target, EntryKind.FIFO);
                    case 11 -> {
                        String file = "/" + prefix + rnd.nextInt(3);
                        if (rnd.nextBoolean() && t.find(file).isPresent()) {
                            ed.rm(file);
                        } else {
                            ed.write(file, "top " + rnd.nextInt(10));
                        }
                    }
                    default -> {
                        if (rnd.nextInt(3) == 0) {
                            ed.flush(); // flushing midway changes nothing about the final tree
                        } else {
                            ed.mtime(any, t0 - rnd.nextInt(1000));
                        }
                    }
                }
            } catch (FileSystemException | ClassCastException expectedForSomeChoices) {
                // e.g. a name taken, a file where a directory was needed: the same on replay
            }
        }
    }

    private static void collect(MutableTree t, String path, Dir d, List<String> dirs, List<String> others) {
        dirs.add(path);
        for (Map.Entry<byte[], MutableNode> e : t.list(d).entrySet()) {
            String p = path + "/" + new String(e.getKey(), UTF_8);
            if (e.getValue() instanceof Dir sub) {
                collect(t, p, sub, dirs, others);
            } else {
                others.add(p);
            }
        }
    }
}
