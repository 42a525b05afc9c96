package dev.txfs.snapshot;

import java.util.ArrayList;
import java.util.List;

/**
 * A recorded state: the id of its {@link Root}, its parent snapshots, when, who and why.
 *
 * <pre>
 * snapshot := 04 01 root:id32 parentCount:varint parent:id32* time:zigzag-ns-since-epoch
 *             author:(varint len, utf8) message:(varint len, utf8)
 * </pre>
 *
 * Signatures, when added, sign the snapshot id and are stored beside it, not inside it.
 */
public record Snapshot(ObjectId root, List<ObjectId> parents, long timeNs, String author, String message) {
    public Snapshot {
        parents = List.copyOf(parents);
    }

    public byte[] encode() {
        ByteWriter w =
                ObjectType.SNAPSHOT.header(96 + 32 * parents.size()).id(root).varint(parents.size());
        parents.forEach(w::id);
        return w.zigzag(timeNs).string(author).string(message).toByteArray();
    }

    public static Snapshot decode(byte[] canonical) {
        ByteReader r = ObjectType.SNAPSHOT.body(canonical);
        ObjectId root = r.id("root id");
        int n = r.boundedInt("parent count", r.remaining() / ObjectId.LENGTH);
        List<ObjectId> parents = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            parents.add(r.id("parent id"));
        }
        long time = r.zigzag("time");
        String author = r.string("author", 4096);
        String message = r.string("message", 1 << 20);
        r.expectEnd("snapshot");
        return new Snapshot(root, parents, time, author, message);
    }
}
