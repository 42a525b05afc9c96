package dev.txfs.tool;

import dev.txfs.fs.posix.Stat;
import dev.txfs.snapshot.Content;
import dev.txfs.snapshot.ObjectId;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * What the last snapshot of a source directory read from each regular file (like git's index), so
 * the next snapshot reuses the content of files whose (dev, ino, size, mtime, ctime) are unchanged
 * instead of reading them again.
 *
 * <p>Implementation notes: one file per source directory, {@code <store>/statcache/<sha256 of the
 * source's real path>}, written whole to a temporary file and renamed over the old one. An entry
 * whose mtime or ctime is within {@link #RACY_NS} of the moment the scan that wrote it started is
 * never trusted ("racy git"): the file may have changed again within the same timestamp tick after
 * it was read; such entries are not even written. The cache is an optimisation only: a missing,
 * truncated, corrupt (CRC-32C trailer) or foreign file is ignored, and the caller checks that the
 * content objects of an entry are still in the store before reusing it.
 *
 * <pre>
 * file   := magic "TXFSSC01" sourceLen:u32 source scanStartNs:i64 count:u32 entry* crc32c:u32
 * entry  := pathLen:u32 path dev:i64 ino:i64 size:i64 mtimeNs:i64 ctimeNs:i64 content xattrCount:u32
 *           (nameLen:u32 name valueLen:u32 value)*           all big-endian; crc32c covers all before it
 * content:= 0 len:u32 bytes (inline) | 1 id:32 (one chunk) | 2 id:32 (blob)
 * </pre>
 *
 * <p>Threads: one thread at a time.
 */
final class StatCache {
    static final long RACY_NS = 2_000_000_000L;
    private static final byte[] MAGIC = "TXFSSC01".getBytes(StandardCharsets.US_ASCII);

    /** One file as it was when its content was read. */
    record Entry(
            long dev,
            long ino,
            long size,
            long mtimeNs,
            long ctimeNs,
            Content content,
            SortedMap<String, byte[]> xattrs) {
        boolean matches(Stat st) {
            return dev == st.dev()
                    && ino == st.ino()
                    && size == st.size()
                    && mtimeNs == st.mtimeNs()
                    && ctimeNs == st.ctimeNs();
        }
    }

    private final Map<Key, Entry> entries;
    private final long scanStartNs;

    private StatCache(Map<Key, Entry> entries, long scanStartNs) {
        this.entries = entries;
        this.scanStartNs = scanStartNs;
    }

    static StatCache empty() {
        return new StatCache(new HashMap<>(), Long.MIN_VALUE);
    }

    /** A new cache for a scan that starts at {@code scanStartNs} (wall clock, ns since the epoch). */
    static StatCache startingAt(long scanStartNs) {
        return new StatCache(new HashMap<>(), scanStartNs);
    }

    /** The cache file for a source directory. */
    static Path fileFor(Path storeDir, byte[] sourceRealPath) {
        return storeDir.resolve("statcache").resolve(HexFormat.of().formatHex(sha256(sourceRealPath)));
    }

    int size() {
        return entries.size();
    }

    /** The entry for {@code path} if the file is unchanged since and the entry is not racy. */
    Entry find(byte[] path, Stat st) {
        Entry e = entries.get(new Key(path));
        if (e == null || !e.matches(st) || isRacy(e.mtimeNs, e.ctimeNs, scanStartNs)) {
            return null;
        }
        return e;
    }

    void put(byte[] path, Stat st, Content content, SortedMap<String, byte[]> xattrs) {
        entries.put(
                new Key(path), new Entry(st.dev(), st.ino(), st.size(), st.mtimeNs(), st.ctimeNs(), content, xattrs));
    }

    static boolean isRacy(long mtimeNs, long ctimeNs, long scanStartNs) {
        long limit = scanStartNs - RACY_NS;
        return mtimeNs >= limit || ctimeNs >= limit;
    }

    /** Reads a cache file; an empty cache when it is missing or not exactly one for {@code source}. */
    static StatCache load(Path file, byte[] source) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(file);
        } catch (IOException e) {
            return empty();
        }
        try {
            if (raw.length < MAGIC.length + 4
                    || !Arrays.equals(raw, 0, MAGIC.length, MAGIC, 0, MAGIC.length)
                    || crc32c(raw, raw.length - 4)
                            != ByteBuffer.wrap(raw, raw.length - 4, 4).getInt()) {
                return empty();
            }
            ByteBuffer in = ByteBuffer.wrap(raw, 0, raw.length - 4);
            in.position(MAGIC.length);
            if (!Arrays.equals(bytes(in), source)) {
                return empty();
            }
            long scanStart = in.getLong();
            int count = in.getInt();
            Map<Key, Entry> entries = new HashMap<>(Math.max(16, count * 4 / 3 + 1));
            for (int i = 0; i < count; i++) {
                byte[] path = bytes(in);
                long dev = in.getLong();
                long ino = in.getLong();
                long size = in.getLong();
                long mtime = in.getLong();
                long ctime = in.getLong();
                int tag = in.get();
                Content content;
                if (tag == 0) {
                    content = Content.inline(bytes(in));
                } else {
                    byte[] id = new byte[ObjectId.LENGTH];
                    in.get(id);
                    content = tag == 1
                            ? Content.chunk(ObjectId.fromBytes(id, 0), size)
                            : Content.blob(ObjectId.fromBytes(id, 0), size);
                }
                int nx = in.getInt();
                SortedMap<String, byte[]> xattrs = Collections.emptySortedMap();
                if (nx > 0) {
                    xattrs = new TreeMap<>();
                    for (int x = 0; x < nx; x++) {
                        xattrs.put(new String(bytes(in), StandardCharsets.UTF_8), bytes(in));
                    }
                }
                entries.put(new Key(path), new Entry(dev, ino, size, mtime, ctime, content, xattrs));
            }
            if (in.hasRemaining()) {
                return empty();
            }
            return new StatCache(entries, scanStart);
        } catch (RuntimeException e) {
            // truncated or malformed: start afresh
            return empty();
        }
    }

    /** Writes the non-racy entries atomically (temporary file, then rename). */
    void write(Path file, byte[] source) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(64 + entries.size() * 96);
        DataOutputStream out = new DataOutputStream(buf);
        out.write(MAGIC);
        writeBytes(out, source);
        out.writeLong(scanStartNs);
        int count = 0;
        for (Entry e : entries.values()) {
            if (!isRacy(e.mtimeNs, e.ctimeNs, scanStartNs)) {
                count++;
            }
        }
        out.writeInt(count);
        for (Map.Entry<Key, Entry> kv : entries.entrySet()) {
            Entry e = kv.getValue();
            if (isRacy(e.mtimeNs, e.ctimeNs, scanStartNs)) {
                continue;
            }
            writeBytes(out, kv.getKey().path);
            out.writeLong(e.dev);
            out.writeLong(e.ino);
            out.writeLong(e.size);
            out.writeLong(e.mtimeNs);
            out.writeLong(e.ctimeNs);
            Content c = e.content;
            if (c.isInline()) {
                out.writeByte(0);
                writeBytes(out, c.inlineData());
            } else {
                out.writeByte(c.isBlob() ? 2 : 1);
                out.write(c.id().toBytes());
            }
            out.writeInt(e.xattrs.size());
            for (Map.Entry<String, byte[]> x : e.xattrs.entrySet()) {
                writeBytes(out, x.getKey().getBytes(StandardCharsets.UTF_8));
                writeBytes(out, x.getValue());
            }
        }
        out.flush();
        byte[] body = buf.toByteArray();
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(
                file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            try (var ch = Files.newOutputStream(tmp)) {
                ch.write(body);
                ch.write(
                        ByteBuffer.allocate(4).putInt(crc32c(body, body.length)).array());
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] bytes(ByteBuffer in) {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IllegalStateException("bad length " + n);
        }
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int crc32c(byte[] b, int len) {
        CRC32C crc = new CRC32C();
        crc.update(b, 0, len);
        return (int) crc.getValue();
    }

    /** A byte-array path usable as a map key. */
    private record Key(byte[] path) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(path, k.path);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(path);
        }
    }
}
