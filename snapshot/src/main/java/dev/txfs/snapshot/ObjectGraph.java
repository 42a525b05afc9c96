package dev.txfs.snapshot;

/**
 * The edges between stored objects, for walks over everything a snapshot reaches (garbage
 * collection, space usage): a snapshot references its Root (not its parents: history is walked
 * separately), a Root its directory tree and link table, a tree node its child nodes or its
 * entries' trees and file contents, a Blob its chunks. A chunk references nothing, and is reported
 * with its stored size so that walks need not read it.
 */
final class ObjectGraph {
    private ObjectGraph() {}

    /** Receives one reference: the object's id and, for a chunk, its stored size (else -1). */
    interface Edge {
        void to(ObjectId id, long chunkBytes);
    }

    static void references(byte[] raw, Edge out) {
        switch (ObjectType.of(raw)) {
            case SNAPSHOT -> out.to(Snapshot.decode(raw).root(), -1);
            case ROOT -> {
                Root root = Root.decode(raw);
                out.to(root.dir().tree(), -1);
                if (root.links() != null) {
                    out.to(root.links().id(), -1);
                }
            }
            case TREE -> {
                TreeNode node = TreeCodec.decodeNode(raw);
                if (!node.isLeaf()) {
                    for (TreeNode.Child c : node.children) {
                        if (c != null) {
                            out.to(c.id(), -1);
                        }
                    }
                    return;
                }
                for (TreeEntry e : node.entries) {
                    if (e.kind() == EntryKind.DIRECTORY && e.tree() != null) {
                        out.to(e.tree(), -1);
                    } else if (e.kind() == EntryKind.FILE && e.content() != null) {
                        content(e.content(), out);
                    }
                }
            }
            case BLOB -> {
                for (Blob.ChunkRef c : Blob.decode(raw).chunks()) {
                    out.to(c.id(), c.length() + Chunks.DATA_OFFSET);
                }
            }
            case CHUNK -> {}
        }
    }

    private static void content(Content c, Edge out) {
        if (!c.isInline()) {
            out.to(c.id(), c.isBlob() ? -1 : c.size() + Chunks.DATA_OFFSET);
        }
    }
}
