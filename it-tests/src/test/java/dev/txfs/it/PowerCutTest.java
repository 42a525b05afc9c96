package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The power-cut harness itself ({@link PowerCut} and its shim), on a plain file written by
 * python3 under the shim: a write, an fsync, then four writes no sync covers (one overlapping,
 * one past the end of the file, one over the start, one by writev). Every cut must leave a state a
 * disk could hold: the synced state for "all lost", one of the five in-order states for "in
 * order", and per 512-byte sector one of that sector's versions for "per sector" — and over many
 * seeds the cuts must differ, or the crash trials would test one state only.
 */
class PowerCutTest extends TxfsItBase {
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(has("gcc") && has("python3"), "needs gcc and python3 (scripts/ensure-deps.sh)");
        dir = tempDir("txfs-powercut-test");
    }

    @AfterEach
    void tearDown() {
        if (dir != null) {
            removeTree(dir);
        }
    }

    /** The writes after the fsync, as python makes them: offset and bytes. */
    private static final List<Map.Entry<Integer, byte[]>> UNSYNCED = List.of(
            Map.entry(200, fill('b', 600)),
            Map.entry(1500, fill('c', 100)),
            Map.entry(0, fill('d', 10)),
            Map.entry(700, fill('e', 100)));

    @Test
    void everyCutIsAStateADiskCouldHold() throws Exception {
        Path file = dir.resolve("data");
        PowerCut cut = PowerCut.build(dir, file, false);
        List<String> cmd = new ArrayList<>(List.of("env"));
        cut.env().forEach((k, v) -> cmd.add(k + "=" + v));
        cmd.addAll(List.of("python3", "-c", """
                import os, sys
                fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
                os.pwrite(fd, b'a' * 1000, 0)
                os.fsync(fd)
                os.pwrite(fd, b'b' * 600, 200)
                os.pwrite(fd, b'c' * 100, 1500)
                os.pwrite(fd, b'd' * 10, 0)
                os.lseek(fd, 700, os.SEEK_SET)
                os.writev(fd, [b'e' * 50, b'e' * 50])
                os.close(fd)
                """, file.toString()));
        run(TIMEOUT, dir, cmd).ok();

        // the states a disk could hold: the synced one, then each unsynced write applied in order
        byte[] written = Files.readAllBytes(file);
        List<byte[]> states = new ArrayList<>();
        byte[] state = Arrays.copyOf(fill('a', 1000), written.length); // past the synced end: zeros
        states.add(state.clone());
        for (var w : UNSYNCED) {
            System.arraycopy(w.getValue(), 0, state, w.getKey(), w.getValue().length);
            states.add(state.clone());
        }
        assertArrayEquals(states.get(UNSYNCED.size()), written, "the file as python left it");

        Path log = dir.resolve("powercut.log");
        Path keptFile = dir.resolve("data.kept");
        Path keptLog = dir.resolve("log.kept");
        Files.copy(file, keptFile);
        Files.copy(log, keptLog);
        Set<String> seen = new HashSet<>();
        boolean mixed = false;
        for (int seed = 0; seed < 60; seed++) {
            int mode = seed % 3;
            Files.copy(keptFile, file, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(keptLog, log, StandardCopyOption.REPLACE_EXISTING);
            Map<String, Integer> counts = cut.cut(new Random(seed), mode);
            assertEquals(UNSYNCED.size(), counts.get("power cut: unsynced writes"), "seed " + seed + ": " + counts);
            byte[] after = Files.readAllBytes(file);
            String what = "seed " + seed + ", mode " + mode;
            switch (mode) {
                case PowerCut.ALL_LOST -> assertArrayEquals(states.get(0), after, what + ": the synced state");
                case PowerCut.IN_ORDER ->
                    assertTrue(
                            states.stream().anyMatch(s -> Arrays.equals(s, after)),
                            what + ": one of the in-order states");
                default -> {
                    for (int at = 0; at < after.length; at += PowerCut.SECTOR) {
                        int from = at;
                        int to = Math.min(after.length, at + PowerCut.SECTOR);
                        byte[] sector = Arrays.copyOfRange(after, from, to);
                        assertTrue(
                                states.stream().anyMatch(s -> Arrays.equals(Arrays.copyOfRange(s, from, to), sector)),
                                what + ": sector at " + at + " is one of its versions");
                    }
                    mixed |= states.stream().noneMatch(s -> Arrays.equals(s, after));
                }
            }
            seen.add(mode + ":" + Arrays.hashCode(after));
        }
        assertTrue(mixed, "some per-sector cut left a state no in-order disk could");
        assertTrue(seen.size() >= 8, "the cuts differ across seeds: " + seen.size() + " distinct");
    }

    private static byte[] fill(char c, int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }
}
