package dev.txfs.journal;

import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.MalformedObjectException;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.ObjectType;
import dev.txfs.snapshot.TreeEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads single nodes of a directory trie, which {@code snapshot} keeps package-private
 * ({@code TreeNode}, {@code TreeCodec}). An internal node is decoded here from its documented
 * layout ({@code TreeCodec}: {@code 03 01 01 depth:u8 bitmap:u32le (id:32 entries:varint
 * subdirs:varint)*}); a leaf is decoded by {@link Directories#forEach} over a view holding just the
 * bytes already read, so every node costs exactly one store read.
 */
final class TrieNodes {
    static final int FANOUT = 32;
    static final int BITS = 5;
    /** Internal nodes deeper than this would need more than the 256 bits of a name's hash. */
    static final int MAX_DEPTH = 49;

    private TrieNodes() {}

    /**
     * An internal node: a child id (or null) per bucket, and the entry and subdirectory counts it
     * records for each child.
     */
    record Internal(int depth, ObjectId[] children, long[] entries, long[] subdirs) {}

    /** The node {@code id}: a {@link Internal}, or a leaf as its entries (sorted by name). */
    static Object read(ObjectStore store, ObjectId id) {
        return decode(id, store.get(id));
    }

    /** {@link #read}, of bytes already read. */
    static Object decode(ObjectId id, byte[] raw) {
        if (ObjectType.of(raw) != ObjectType.TREE || raw.length < 3) {
            throw new MalformedObjectException("object " + id + " is not a tree node");
        }
        int kind = raw[2] & 0xff;
        if (kind == 0) {
            List<TreeEntry> entries = new ArrayList<>();
            Directories.forEach(ReadView.single(id, raw), id, entries::add);
            return entries;
        }
        if (kind != 1 || raw.length < 8) {
            throw new MalformedObjectException("tree node " + id + ": bad kind or truncated header");
        }
        int depth = raw[3] & 0xff;
        if (depth > MAX_DEPTH) {
            throw new MalformedObjectException("tree node " + id + ": depth " + depth + " exceeds the hash");
        }
        int bitmap = (raw[4] & 0xff) | (raw[5] & 0xff) << 8 | (raw[6] & 0xff) << 16 | (raw[7] & 0xff) << 24;
        ObjectId[] children = new ObjectId[FANOUT];
        long[] entries = new long[FANOUT];
        long[] subdirs = new long[FANOUT];
        int[] pos = {8};
        for (int i = 0; i < FANOUT; i++) {
            if ((bitmap & (1 << i)) != 0) {
                if (raw.length - pos[0] < ObjectId.LENGTH) {
                    throw new MalformedObjectException("tree node " + id + ": truncated child " + i);
                }
                children[i] = ObjectId.fromBytes(raw, pos[0]);
                pos[0] += ObjectId.LENGTH;
                entries[i] = varint(raw, pos, id);
                subdirs[i] = varint(raw, pos, id);
            }
        }
        if (pos[0] != raw.length) {
            throw new MalformedObjectException("tree node " + id + ": " + (raw.length - pos[0]) + " trailing bytes");
        }
        return new Internal(depth, children, entries, subdirs);
    }

    /** The unsigned LEB128 varint at {@code pos[0]}, which moves past it. */
    private static long varint(byte[] raw, int[] pos, ObjectId id) {
        long v = 0;
        for (int i = 0; i < 10; i++, pos[0]++) {
            if (pos[0] >= raw.length) {
                throw new MalformedObjectException("tree node " + id + ": truncated child counts");
            }
            v |= (long) (raw[pos[0]] & 0x7f) << (7 * i);
            if ((raw[pos[0]] & 0x80) == 0) {
                pos[0]++;
                return v;
            }
        }
        throw new MalformedObjectException("tree node " + id + ": varint too long");
    }

    /** The bucket of a name at a depth: bits [5d, 5d+5) of SHA-256(name), big-endian bit order. */
    static int bucket(byte[] name, int depth) {
        return bucketOfHash(ObjectId.hash(name).toBytes(), depth);
    }

    /** {@link #bucket} of a name whose SHA-256 is {@code hash}; {@code depth} at most {@link #MAX_DEPTH}. */
    static int bucketOfHash(byte[] hash, int depth) {
        int bit = depth * BITS;
        int v = ((hash[bit / 8] & 0xff) << 8) | (hash[bit / 8 + 1] & 0xff);
        return (v >>> (16 - BITS - bit % 8)) & (FANOUT - 1);
    }
}
