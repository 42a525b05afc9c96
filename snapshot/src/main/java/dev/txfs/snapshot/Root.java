package dev.txfs.snapshot;

/**
 * A whole filesystem tree: the root directory's own entry (its metadata has no parent to live in)
 * and the link table holding the inodes of hard-linked files. Its id is the "tree id" of a snapshot.
 */
public record Root(TreeEntry dir, TreeRef links) {
    public byte[] encode() {
        return TreeCodec.encodeRoot(this);
    }

    public static Root decode(byte[] canonical) {
        return TreeCodec.decodeRoot(canonical);
    }
}
