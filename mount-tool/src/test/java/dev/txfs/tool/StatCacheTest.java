package dev.txfs.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.txfs.fs.posix.Stat;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.ObjectId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatCacheTest {
    private static final long NOW = 1_700_000_000_000_000_000L;
    private static final byte[] SOURCE = "/src".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path tmp;

    private static Stat stat(long ino, long size, long mtime, long ctime) {
        return new Stat(42, ino, Stat.S_IFREG | 0644, 1, 0, 0, 0, size, 8, 0, mtime, ctime);
    }

    private static byte[] p(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void load_whenWrittenBefore_findsUnchangedFilesWithContentAndXattrs() throws Exception {
        Path file = tmp.resolve("cache");
        StatCache c = StatCache.startingAt(NOW);
        Stat st = stat(7, 100, NOW - 10_000_000_000L, NOW - 9_000_000_000L);
        ObjectId chunk = ObjectId.hash(new byte[] {1});
        TreeMap<String, byte[]> xattrs = new TreeMap<>();
        xattrs.put("user.a", new byte[] {9});
        c.put(p("/a"), st, Content.chunk(chunk, 100), xattrs);
        c.put(
                p("/b"),
                stat(8, 3, NOW - 10_000_000_000L, NOW - 9_000_000_000L),
                Content.inline(new byte[] {1, 2, 3}),
                Collections.emptySortedMap());
        c.write(file, SOURCE);

        StatCache loaded = StatCache.load(file, SOURCE);

        StatCache.Entry a = loaded.find(p("/a"), st);
        assertNotNull(a);
        assertEquals(Content.chunk(chunk, 100), a.content());
        assertEquals(9, a.xattrs().get("user.a")[0]);
        assertEquals(
                Content.inline(new byte[] {1, 2, 3}),
                loaded.find(p("/b"), stat(8, 3, NOW - 10_000_000_000L, NOW - 9_000_000_000L))
                        .content());
    }

    @Test
    void find_whenAnyStatFieldChanged_missesTheEntry() throws Exception {
        Path file = tmp.resolve("cache");
        StatCache c = StatCache.startingAt(NOW);
        long m = NOW - 10_000_000_000L;
        c.put(p("/a"), stat(7, 100, m, m), Content.EMPTY, Collections.emptySortedMap());
        c.write(file, SOURCE);
        StatCache loaded = StatCache.load(file, SOURCE);

        assertNotNull(loaded.find(p("/a"), stat(7, 100, m, m)));
        assertNull(loaded.find(p("/a"), stat(8, 100, m, m)), "inode");
        assertNull(loaded.find(p("/a"), stat(7, 101, m, m)), "size");
        assertNull(loaded.find(p("/a"), stat(7, 100, m + 1, m)), "mtime");
        assertNull(loaded.find(p("/a"), stat(7, 100, m, m + 1)), "ctime");
        assertNull(loaded.find(p("/other"), stat(7, 100, m, m)), "path");
    }

    @Test
    void write_whenFileChangedWithinTwoSecondsOfTheScan_leavesItOut() throws Exception {
        Path file = tmp.resolve("cache");
        StatCache c = StatCache.startingAt(NOW);
        Stat racyMtime = stat(1, 1, NOW - 1_000_000_000L, NOW - 5_000_000_000L);
        Stat racyCtime = stat(2, 1, NOW - 5_000_000_000L, NOW - 1_999_999_999L);
        Stat old = stat(3, 1, NOW - 5_000_000_000L, NOW - 2_000_000_001L);
        c.put(p("/m"), racyMtime, Content.EMPTY, Collections.emptySortedMap());
        c.put(p("/c"), racyCtime, Content.EMPTY, Collections.emptySortedMap());
        c.put(p("/o"), old, Content.EMPTY, Collections.emptySortedMap());
        c.write(file, SOURCE);

        StatCache loaded = StatCache.load(file, SOURCE);

        assertEquals(1, loaded.size());
        assertNull(loaded.find(p("/m"), racyMtime));
        assertNull(loaded.find(p("/c"), racyCtime));
        assertNotNull(loaded.find(p("/o"), old));
    }

    @Test
    void load_whenFileCorruptTruncatedOrForAnotherSource_isEmpty() throws Exception {
        Path file = tmp.resolve("cache");
        StatCache c = StatCache.startingAt(NOW);
        c.put(p("/a"), stat(7, 0, 0, 0), Content.EMPTY, Collections.emptySortedMap());
        c.write(file, SOURCE);
        byte[] good = Files.readAllBytes(file);
        assertEquals(1, StatCache.load(file, SOURCE).size());

        assertEquals(0, StatCache.load(file, p("/elsewhere")).size(), "another source");

        byte[] flipped = good.clone();
        flipped[20] ^= 1;
        Files.write(file, flipped);
        assertEquals(0, StatCache.load(file, SOURCE).size(), "flipped bit");

        Files.write(file, java.util.Arrays.copyOf(good, good.length - 5));
        assertEquals(0, StatCache.load(file, SOURCE).size(), "truncated");

        Files.write(file, new byte[0]);
        assertEquals(0, StatCache.load(file, SOURCE).size(), "empty");

        assertEquals(0, StatCache.load(tmp.resolve("missing"), SOURCE).size(), "missing");
    }

    @Test
    void write_whenReplacingAnOldCache_leavesNoTemporaryFiles() throws Exception {
        Path file = tmp.resolve("statcache").resolve("x");
        StatCache.startingAt(NOW).write(file, SOURCE);
        StatCache.startingAt(NOW).write(file, SOURCE);
        try (var list = Files.list(file.getParent())) {
            assertEquals(1, list.count());
        }
    }
}
