package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The content of a file being changed: an immutable base {@link Content} plus dirty pages.
 *
 * <p>Implementation notes: writes land in 64 KiB pages; bytes of the base at or past
 * {@code baseValid} (the smallest size the file was truncated to) read as zeros. {@link #flush}
 * re-chunks only around changes: from the chunk holding a change until a new cut lands on an old
 * chunk boundary with unchanged bytes ahead (content-defined chunking resynchronises), then takes
 * the old chunks up to the next change. Cost O(changed regions × a chunk or two), not O(file
 * size), also for scattered random writes. Memory: the dirty
 * pages; the owner flushes a file whose pages exceed its budget, so a 10 GiB write streams into
 * chunks. Not thread-safe: the owning {@link MutableTree}'s caller serialises access.
 */
final class FileBuffer {
    static final int PAGE = 64 << 10;
    private static final Chunker CHUNKER = Chunker.standard();
    /** The chunk object of {@code maxSize} zero bytes. */
    private static final byte[] ZERO_CHUNK = Chunks.encode(new byte[CHUNKER.maxSize()], 0, CHUNKER.maxSize());
    /** Whether the chunker cuts a run of zeros exactly at its maximum size (true for the format's gear table). */
    private static final boolean ZERO_CUTS_AT_MAX =
            CHUNKER.cut(new byte[2 * CHUNKER.maxSize()], 0, 2 * CHUNKER.maxSize()) == CHUNKER.maxSize();

    private Content base;
    private long[] baseOffsets;
    private List<Blob.ChunkRef> baseChunks;
    private long baseValid;
    private long size;
    private final TreeMap<Long, byte[]> pages = new TreeMap<>();
    private ObjectId cachedChunk;
    private byte[] cachedData;

    FileBuffer(Content base) {
        reset(base);
    }

    private void reset(Content c) {
        this.base = c;
        this.baseChunks = null;
        this.baseOffsets = null;
        this.baseValid = c.size();
        this.size = c.size();
        pages.clear();
    }

    long size() {
        return size;
    }

    /** Bytes held in dirty pages. */
    long dirtyBytes() {
        return (long) pages.size() * PAGE;
    }

    boolean isDirty() {
        return !pages.isEmpty() || baseValid < base.size() || size != base.size();
    }

    private void loadChunks(ObjectWriter store) {
        if (baseChunks != null) {
            return;
        }
        if (base.isInline()) {
            baseChunks = List.of();
        } else if (!base.isBlob()) {
            baseChunks = List.of(new Blob.ChunkRef(base.id(), (int) base.size()));
        } else {
            Blob blob = Blob.decode(
                    store.find(base.id()).orElseThrow(() -> new ObjectStore.MissingObjectException(base.id())));
            baseChunks = blob.chunks();
        }
        baseOffsets = new long[baseChunks.size() + 1];
        for (int i = 0; i < baseChunks.size(); i++) {
            baseOffsets[i + 1] = baseOffsets[i] + baseChunks.get(i).length();
        }
    }

    private byte[] chunkData(ObjectWriter store, ObjectId id) {
        if (!id.equals(cachedChunk)) {
            byte[] raw = store.find(id).orElseThrow(() -> new ObjectStore.MissingObjectException(id));
            cachedData = Chunks.decode(raw);
            cachedChunk = id;
        }
        return cachedData;
    }

    /** Copies base bytes [off, off+len) (zeros past baseValid) into dst. */
    private void readBase(ObjectWriter store, long off, byte[] dst, int dstOff, int len) {
        long validEnd = Math.min(baseValid, base.size());
        int n = (int) Math.max(0, Math.min(len, validEnd - off));
        Arrays.fill(dst, dstOff + n, dstOff + len, (byte) 0);
        if (n == 0) {
            return;
        }
        if (base.isInline()) {
            System.arraycopy(base.inlineData(), (int) off, dst, dstOff, n);
            return;
        }
        loadChunks(store);
        int i = Arrays.binarySearch(baseOffsets, off);
        i = i >= 0 ? i : -i - 2;
        while (n > 0) {
            byte[] data = chunkData(store, baseChunks.get(i).id());
            int at = (int) (off - baseOffsets[i]);
            int k = Math.min(n, data.length - at);
            System.arraycopy(data, at, dst, dstOff, k);
            off += k;
            dstOff += k;
            n -= k;
            i++;
        }
    }

    /** The file's bytes [off, off+len), all within the current size. */
    private void readLogical(ObjectWriter store, long off, byte[] dst, int dstOff, int len) {
        while (len > 0) {
            long p = off / PAGE;
            int at = (int) (off % PAGE);
            int k = Math.min(len, PAGE - at);
            byte[] page = pages.get(p);
            if (page != null) {
                System.arraycopy(page, at, dst, dstOff, k);
            } else {
                readBase(store, off, dst, dstOff, k);
            }
            off += k;
            dstOff += k;
            len -= k;
        }
    }

    int read(ObjectWriter store, long off, byte[] dst, int dstOff, int len) {
        if (off >= size || len <= 0) {
            return 0;
        }
        int n = (int) Math.min(len, size - off);
        readLogical(store, off, dst, dstOff, n);
        return n;
    }

    /** Writes; returns how many dirty bytes this added (new pages). */
    long write(ObjectWriter store, long off, byte[] src, int srcOff, int len) {
        long added = 0;
        long end = off + len;
        while (len > 0) {
            long p = off / PAGE;
            int at = (int) (off % PAGE);
            int k = Math.min(len, PAGE - at);
            byte[] page = pages.get(p);
            if (page == null) {
                page = new byte[PAGE];
                if (at != 0 || k != PAGE) {
                    long pageStart = p * PAGE;
                    int valid = (int) Math.max(0, Math.min(PAGE, size - pageStart));
                    readLogical(store, pageStart, page, 0, valid);
                }
                pages.put(p, page);
                added += PAGE;
            }
            System.arraycopy(src, srcOff, page, at, k);
            off += k;
            srcOff += k;
            len -= k;
        }
        size = Math.max(size, end);
        return added;
    }

    /** Sets the size; returns the change in dirty bytes (negative when pages were dropped). */
    long truncate(long newSize) {
        long delta = 0;
        if (newSize < size) {
            Map<Long, byte[]> tail = pages.tailMap(newSize / PAGE, true);
            for (var it = tail.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                long pageStart = e.getKey() * PAGE;
                if (pageStart >= newSize) {
                    it.remove();
                    delta -= PAGE;
                } else {
                    Arrays.fill(e.getValue(), (int) (newSize - pageStart), PAGE, (byte) 0);
                }
            }
            baseValid = Math.min(baseValid, newSize);
        }
        size = newSize;
        return delta;
    }

    /**
     * Writes the dirty state as chunks and returns the new content (the base if nothing changed);
     * afterwards the buffer is clean over that content.
     */
    Content flush(ObjectWriter out) {
        if (!isDirty()) {
            return base;
        }
        loadChunks(out);
        boolean tailChanged = baseValid < base.size() || size != base.size();
        long tailStart = tailChanged ? Math.min(Math.min(baseValid, base.size()), size) : Long.MAX_VALUE;
        long first = Math.min(nextChange(0, tailStart), size);
        int startIdx = chunkAt(first);
        List<Blob.ChunkRef> chunks = new ArrayList<>(baseChunks.subList(0, startIdx));
        long pos = baseChunks.isEmpty() ? 0 : baseOffsets[startIdx];
        byte[] buf = new byte[2 * CHUNKER.maxSize()];
        int filled = 0;
        int start = 0;
        long bufPos = pos;
        long holeStart = Math.min(baseValid, base.size());
        ObjectId zeroId = null;
        while (pos < size) {
            if (ZERO_CUTS_AT_MAX && isHole(pos, holeStart)) {
                // A max-size run of zeros from a cut point is one max-size chunk (checked once at
                // class load): no need to read or hash it. Sparse files flush in O(chunks).
                if (zeroId == null) {
                    zeroId = out.put(ZERO_CHUNK); // hashed and stored once per flush
                }
                chunks.add(new Blob.ChunkRef(zeroId, CHUNKER.maxSize()));
                pos += CHUNKER.maxSize();
                bufPos = pos;
                filled = 0;
                start = 0;
                continue;
            }
            if (filled - start < CHUNKER.maxSize() && bufPos + filled < size) {
                System.arraycopy(buf, start, buf, 0, filled - start);
                filled -= start;
                bufPos += start;
                start = 0;
                int want = (int) Math.min(buf.length - filled, size - (bufPos + filled));
                readLogical(out, bufPos + filled, buf, filled, want);
                filled += want;
            }
            int n = CHUNKER.cut(buf, start, filled - start);
            chunks.add(new Blob.ChunkRef(out.put(Chunks.encode(buf, start, n)), n));
            start += n;
            pos += n;
            // Back on an old boundary with unchanged bytes ahead: the old chunks up to the next
            // change are exactly what chunking would cut again (cuts depend only on the bytes
            // since the last cut), so take them and resume chunking at that change.
            int j = Arrays.binarySearch(baseOffsets, pos);
            if (j >= 0 && j < baseChunks.size() && pos < tailStart) {
                long next = nextChange(pos, tailStart);
                if (next == Long.MAX_VALUE) {
                    chunks.addAll(baseChunks.subList(j, baseChunks.size()));
                    break;
                }
                int k = chunkAt(next);
                if (k > j) {
                    chunks.addAll(baseChunks.subList(j, k));
                    pos = baseOffsets[k];
                    bufPos = pos;
                    filled = 0;
                    start = 0;
                }
            }
        }
        Content c = FileContents.of(out, chunks, size);
        reset(c);
        return c;
    }

    /** Whether [pos, pos + max chunk) lies in the file, past the base's valid bytes, on no dirty page. */
    private boolean isHole(long pos, long holeStart) {
        long end = pos + CHUNKER.maxSize();
        return pos >= holeStart
                && end <= size
                && pages.subMap(pos / PAGE, true, (end - 1) / PAGE, true).isEmpty();
    }

    /** The first offset at or after {@code from} whose byte differs from the base, or MAX_VALUE. */
    private long nextChange(long from, long tailStart) {
        long key = from / PAGE;
        long next = pages.containsKey(key) ? from : Long.MAX_VALUE;
        if (next == Long.MAX_VALUE) {
            Long k = pages.higherKey(key);
            next = k == null ? Long.MAX_VALUE : k * PAGE;
        }
        return Math.min(next, Math.max(from, tailStart));
    }

    /** The index of the base chunk holding {@code offset} (the last chunk for offsets past the end). */
    private int chunkAt(long offset) {
        int i = Arrays.binarySearch(baseOffsets, offset);
        i = i >= 0 ? i : -i - 2;
        return Math.max(0, Math.min(i, baseChunks.size() - 1));
    }
}
