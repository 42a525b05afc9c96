package dev.txfs.snapshot;

import java.util.List;

/**
 * The edges between stored objects, for walks over everything a snapshot reaches (garbage
 * collection, space usage): a snapshot references its Root (not its parents: history is walked
 * separately), a Root its directory tree and link table, a tree node its child nodes or its
 * entries' trees and file contents, a Blob its chunks. A chunk references nothing, and is reported
 * with its stored size so that walks need not read it.
 */
public final class ObjectGraph {
    private ObjectGraph() {}

    /** Receives one reference: the object's id and, for a chunk, its stored size (else -1). */
    public interface Edge {
        void to(ObjectId id, long chunkBytes);
    }

    /**
     * Receives one reference with the slot it fills in its object: "root" (a snapshot's Root),
     * "dir" and "links" (a Root's), "#i" (child i of an internal tree node), "d" or "f" followed by
     * the entry's name as ISO-8859-1 (a leaf's directory or file content), "c" followed by the
     * index (a Blob's chunks). Two versions of an object fill the same slots with the ids that
     * correspond, so a walk can pair them (see the delta walk in journal/).
     */
    public interface SlotEdge {
        void to(String slot, ObjectId id, boolean chunk);
    }

    /** The references of {@code raw} with their slots; throws {@link MalformedObjectException}. */
    public static void slots(byte[] raw, SlotEdge out) {
        switch (ObjectType.of(raw)) {
            case SNAPSHOT -> out.to("root", Snapshot.decode(raw).root(), false);
            case ROOT -> {
                Root root = Root.decode(raw);
                out.to("dir", root.dir().tree(), false);
                if (root.links() != null) {
                    out.to("links", root.links().id(), false);
                }
            }
            case TREE -> {
                TreeNode node = TreeCodec.decodeNode(raw);
                if (!node.isLeaf()) {
                    for (int i = 0; i < node.children.length; i++) {
                        if (node.children[i] != null) {
                            out.to("#" + i, node.children[i].id(), false);
                        }
                    }
                    return;
                }
                for (TreeEntry e : node.entries) {
                    String name = new String(e.name(), java.nio.charset.StandardCharsets.ISO_8859_1);
                    if (e.kind() == EntryKind.DIRECTORY && e.tree() != null) {
                        out.to("d" + name, e.tree(), false);
                    } else if (e.kind() == EntryKind.FILE
                            && e.content() != null
                            && !e.content().isInline()) {
                        out.to("f" + name, e.content().id(), !e.content().isBlob());
                    }
                }
            }
            case BLOB -> {
                List<Blob.ChunkRef> chunks = Blob.decode(raw).chunks();
                for (int i = 0; i < chunks.size(); i++) {
                    out.to("c" + i, chunks.get(i).id(), true);
                }
            }
            case CHUNK -> {}
        }
    }

    /** The references of {@code raw}; throws {@link MalformedObjectException} if it does not decode. */
    public static void references(byte[] raw, Edge out) {
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
