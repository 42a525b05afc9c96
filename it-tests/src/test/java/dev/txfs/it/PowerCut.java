package dev.txfs.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * A simulated power failure for one file (the store's {@code data.mdb}), without device-mapper:
 * the {@code powercut.c} shim, preloaded into the daemon, logs the pre-image of every write to the
 * file and marks what each fsync/fdatasync made durable; {@link #cut} then undoes part of the
 * writes that no completed sync covers, as a disk that lost its volatile cache would, before
 * anything reads the file again. docs/RELIABILITY.md, "Beyond kill -9: power failure", says what
 * it covers and what it does not.
 *
 * <p>Which writes are lost is seeded: all of them (the cache never reached the medium), those
 * after an in-order prefix (a disk that writes in order), or per 512-byte sector a suffix of that
 * sector's writes (a disk that reorders freely and writes sectors atomically, so an LMDB page can
 * tear).
 */
final class PowerCut {
    static final int SECTOR = 512;
    private static final int WRITE = 1;
    private static final int SYNC = 2;
    private static final int HEADER = 40;

    private final Path library;
    private final Path log;
    private final Path file;
    private final boolean lyingDisk;

    private PowerCut(Path library, Path log, Path file, boolean lyingDisk) {
        this.library = library;
        this.log = log;
        this.file = file;
        this.lyingDisk = lyingDisk;
    }

    /**
     * Builds the shim with gcc into {@code dir}, to watch {@code file}. With {@code lyingDisk} the
     * disk acknowledges flushes without doing them (nothing ever becomes durable): the checks must
     * then fail, which is how the harness shows it can.
     */
    static PowerCut build(Path dir, Path file, boolean lyingDisk) throws Exception {
        Path source = Path.of(PowerCut.class.getResource("powercut.c").toURI());
        Path library = dir.resolve("powercut.so");
        TxfsItBase.run(
                        Duration.ofSeconds(120),
                        null,
                        List.of(
                                "gcc",
                                "-shared",
                                "-fPIC",
                                "-O2",
                                "-Wall",
                                "-Werror",
                                "-o",
                                library.toString(),
                                source.toString(),
                                "-ldl",
                                "-lpthread"))
                .ok();
        return new PowerCut(library, dir.resolve("powercut.log"), file, lyingDisk);
    }

    /** The environment of the daemon (and of the txfs mount that starts it). */
    Map<String, String> env() throws IOException {
        Files.deleteIfExists(log); // a fresh start: the store is whole on the disk now
        Map<String, String> env = new HashMap<>(Map.of(
                "LD_PRELOAD", library.toString(),
                "TXFS_POWERCUT_FILE", file.toString(),
                "TXFS_POWERCUT_LOG", log.toString()));
        if (lyingDisk) {
            env.put("TXFS_POWERCUT_LYING_DISK", "1");
        }
        return env;
    }

    /** The calls the shim tells apart, by their code in a record's type. */
    private static final List<String> CALLS = List.of("?", "write", "pwrite", "writev", "pwritev");

    private record Write(String call, long seq, long offset, long length, byte[] before) {
        long firstSector() {
            return offset / SECTOR;
        }

        long lastSector() {
            return (offset + length - 1) / SECTOR;
        }
    }

    /**
     * Takes back a seeded part of the writes no sync covers; call only once every process that
     * wrote the file is dead. Returns what it did, counted (for the trial's report).
     */
    Map<String, Integer> cut(Random random) throws IOException {
        return cut(random, lyingDisk ? ALL_LOST : random.nextInt(3));
    }

    static final int ALL_LOST = 0;
    static final int IN_ORDER = 1;
    static final int PER_SECTOR = 2;

    /** {@link #cut(Random)} in one {@code mode}: {@link #ALL_LOST}, {@link #IN_ORDER} or {@link #PER_SECTOR}. */
    Map<String, Integer> cut(Random random, int mode) throws IOException {
        List<Write> pending = pendingWrites();
        Map<String, Integer> counts = new TreeMap<>();
        counts.put("power cut: unsynced writes", pending.size());
        pending.forEach(w -> counts.merge("power cut: unsynced by " + w.call(), 1, Integer::sum));
        counts.put(
                List.of("power cut: all lost", "power cut: in order", "power cut: per sector")
                        .get(mode),
                1);
        // per sector, the position of each write among that sector's writes, and how many survive
        Map<Long, Integer> perSector = new TreeMap<>();
        List<Map<Long, Integer>> position = new ArrayList<>();
        for (Write w : pending) {
            Map<Long, Integer> p = new HashMap<>();
            for (long s = w.firstSector(); s <= w.lastSector(); s++) {
                p.put(s, perSector.merge(s, 1, Integer::sum) - 1);
            }
            position.add(p);
        }
        Map<Long, Integer> kept = new HashMap<>();
        perSector.forEach((s, n) -> kept.put(s, random.nextInt(n + 1)));
        int prefix = random.nextInt(pending.size() + 1);
        int undone = 0;
        long sectorsUndone = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (int i = pending.size() - 1; i >= 0; i--) { // newest first: each undo restores what it overwrote
                Write w = pending.get(i);
                boolean any = false;
                for (long s = w.firstSector(); s <= w.lastSector(); s++) {
                    boolean lost =
                            switch (mode) {
                                case ALL_LOST -> true;
                                case IN_ORDER -> i >= prefix;
                                default -> position.get(i).get(s) >= kept.get(s);
                            };
                    if (lost) {
                        long from = Math.max(w.offset(), s * SECTOR);
                        long to = Math.min(w.offset() + w.length(), (s + 1) * SECTOR);
                        byte[] bytes = new byte[(int) (to - from)]; // past the old end of file: zeros
                        int at = (int) (from - w.offset());
                        if (at < w.before().length) {
                            System.arraycopy(w.before(), at, bytes, 0, Math.min(bytes.length, w.before().length - at));
                        }
                        ByteBuffer b = ByteBuffer.wrap(bytes);
                        while (b.hasRemaining()) {
                            ch.write(b, from + b.position());
                        }
                        any = true;
                        sectorsUndone++;
                    }
                }
                undone += any ? 1 : 0;
            }
            ch.force(true);
        }
        counts.put("power cut: writes lost whole or in part", undone);
        counts.put("power cut: sectors lost", (int) sectorsUndone);
        Files.deleteIfExists(log);
        return counts;
    }

    /** The logged writes that no sync covers, oldest first; a record cut short by the kill is dropped. */
    private List<Write> pendingWrites() throws IOException {
        if (!Files.exists(log)) {
            return List.of();
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(log)).order(ByteOrder.nativeOrder());
        List<Write> writes = new ArrayList<>();
        int writer = 0;
        while (b.remaining() >= HEADER) {
            int type = b.getInt();
            int pid = b.getInt();
            long seq = b.getLong();
            long offset = b.getLong();
            long length = b.getLong();
            long have = b.getLong();
            if (have > b.remaining()) {
                break; // the kill came while the shim appended it: the write itself never ran
            }
            byte[] before = new byte[(int) have];
            b.get(before);
            // one writer, the daemon: with several, a sync of one would not order the others' writes
            assertTrue(writer == 0 || writer == pid, "one process writes " + file + ": " + writer + " and " + pid);
            writer = pid;
            if ((type & 0xff) == WRITE) {
                assertTrue(length > 0 || have == 0, "a write record: " + length + " bytes, " + have + " before");
                if (length > 0) {
                    int call = type >>> 8;
                    writes.add(new Write(CALLS.get(call < CALLS.size() ? call : 0), seq, offset, length, before));
                }
            } else {
                assertEquals(SYNC, type, "record type in " + log);
                writes.removeIf(w -> w.seq() <= seq); // what was written up to seq is durable
            }
        }
        return writes;
    }
}
