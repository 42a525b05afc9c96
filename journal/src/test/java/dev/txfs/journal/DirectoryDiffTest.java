package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.InMemoryObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectWriter;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.snapshot.TreeRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** {@link DirectoryDiff}: the parallel trie walk agrees with comparing full listings, for every shape. */
final class DirectoryDiffTest {
    private final InMemoryObjectStore store = new InMemoryObjectStore();
    private final ObjectWriter out = store.newWriter();

    private static TreeEntry file(String name, int version) {
        return TreeEntry.builder(name, EntryKind.FILE)
                .mode(0644)
                .content(Content.inline(("v" + version).getBytes(UTF_8)))
                .build();
    }

    /** The answer by brute force: both directories listed and compared name by name. */
    private List<String> naive(ObjectId a, ObjectId b) {
        SortedMap<byte[], TreeEntry[]> all = new TreeMap<>(Directories.NAME_ORDER);
        for (TreeEntry e : Directories.list(store, a)) {
            all.computeIfAbsent(e.name(), k -> new TreeEntry[2])[0] = e;
        }
        for (TreeEntry e : Directories.list(store, b)) {
            all.computeIfAbsent(e.name(), k -> new TreeEntry[2])[1] = e;
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<byte[], TreeEntry[]> x : all.entrySet()) {
            TreeEntry[] e = x.getValue();
            if (!java.util.Objects.equals(e[0], e[1])) {
                out.add(describe(x.getKey(), e[0], e[1]));
            }
        }
        return out;
    }

    private static String describe(byte[] name, TreeEntry a, TreeEntry b) {
        return new String(name, UTF_8) + ":" + (a == null ? "-" : a.content()) + ">" + (b == null ? "-" : b.content());
    }

    private List<String> walked(ObjectId a, ObjectId b) {
        return DirectoryDiff.between(store, a, b).stream()
                .map(c -> describe(c.name(), c.before(), c.after()))
                .toList();
    }

    private TreeRef write(int n, int version) {
        List<TreeEntry> entries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            entries.add(file("n" + i, version));
        }
        return Directories.write(out, entries);
    }

    @Test
    void between_leafGrowingPastMaxLeaf_reportsOnlyTheNewName() {
        TreeRef leaf = write(256, 0);
        SortedMap<byte[], TreeEntry> add = Directories.changes();
        add.put("extra".getBytes(UTF_8), file("extra", 0));
        TreeRef split = Directories.update(out, leaf, add);
        List<DirectoryDiff.EntryChange> d = DirectoryDiff.between(store, leaf.id(), split.id());
        assertEquals(1, d.size());
        assertArrayEquals("extra".getBytes(UTF_8), d.get(0).name());
        assertNull(d.get(0).before());
        assertEquals(List.of("extra:->inline:2"), walked(leaf.id(), split.id()));
        assertEquals(List.of("extra:inline:2>-"), walked(split.id(), leaf.id()));
    }

    @Test
    void between_emptyAndNull_areTheSame() {
        TreeRef empty = write(0, 0);
        TreeRef some = write(300, 0);
        assertEquals(List.of(), DirectoryDiff.between(store, empty.id(), null));
        assertEquals(300, DirectoryDiff.between(store, null, some.id()).size());
        assertTrue(DirectoryDiff.between(store, some.id(), some.id()).isEmpty());
    }

    @Test
    void between_randomDirectoriesOfEveryShape_matchesFullComparison() {
        Random rnd = new Random(20261122);
        for (int round = 0; round < 60; round++) {
            int n =
                    switch (round % 4) {
                        case 0 -> rnd.nextInt(40);
                        case 1 -> 200 + rnd.nextInt(120);
                        case 2 -> 1000 + rnd.nextInt(3000);
                        default -> rnd.nextInt(9000);
                    };
            TreeRef a = write(n, 0);
            SortedMap<byte[], TreeEntry> changes = Directories.changes();
            int k = rnd.nextInt(round % 5 == 0 ? Math.max(1, n) : 20) + 1;
            for (int i = 0; i < k; i++) {
                int j = rnd.nextInt(n + 50);
                String name = "n" + j;
                changes.put(name.getBytes(UTF_8), rnd.nextInt(3) == 0 ? null : file(name, 1 + rnd.nextInt(3)));
            }
            TreeRef b = Directories.update(out, a, changes);
            assertEquals(naive(a.id(), b.id()), walked(a.id(), b.id()), "round " + round + " n=" + n);
            assertEquals(naive(b.id(), a.id()), walked(b.id(), a.id()), "round " + round + " n=" + n);
        }
    }
}
