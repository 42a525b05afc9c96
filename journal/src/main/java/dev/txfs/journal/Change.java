package dev.txfs.journal;

import dev.txfs.snapshot.EntryKind;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One changed path between two trees, as {@link Diff} and {@link Merge} report it.
 *
 * <p>{@code path} is absolute ("/" for the root directory, "/a/b" below it), its names decoded as
 * UTF-8 for display (bytes that are not UTF-8 become U+FFFD). {@code before} and {@code after} are
 * the kinds of what the path named; a hard-linked name reports the kind of its inode (never
 * {@link EntryKind#HARDLINK}). {@code before} is null for {@link Kind#ADDED}, {@code after} for
 * {@link Kind#DELETED}. {@code raw} is the same path byte for byte, one char per byte (ISO-8859-1),
 * "" for the root: {@link #segments} gives the exact names back, also where they are not UTF-8.
 */
public record Change(String path, Kind kind, EntryKind before, EntryKind after, String raw) {
    /** What happened to the path. */
    public enum Kind {
        ADDED,
        MODIFIED,
        DELETED
    }

    /** A change of a path whose names are all UTF-8. */
    public Change(String path, Kind kind, EntryKind before, EntryKind after) {
        this(path, kind, before, after, path.equals("/") ? "" : RawPaths.of(path.getBytes(StandardCharsets.UTF_8)));
    }

    public Change {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(raw, "raw");
        Objects.requireNonNull(kind, "kind");
        if ((before == null) != (kind == Kind.ADDED) || (after == null) != (kind == Kind.DELETED)) {
            throw new IllegalArgumentException(kind + " " + path + " with kinds " + before + " -> " + after);
        }
    }

    static Change added(String raw, EntryKind after) {
        return new Change(RawPaths.display(raw), Kind.ADDED, null, after, raw);
    }

    static Change modified(String raw, EntryKind before, EntryKind after) {
        return new Change(RawPaths.display(raw), Kind.MODIFIED, before, after, raw);
    }

    static Change deleted(String raw, EntryKind before) {
        return new Change(RawPaths.display(raw), Kind.DELETED, before, null, raw);
    }

    /** The path's names, exactly as stored (empty for the root). */
    public List<byte[]> segments() {
        List<byte[]> out = new ArrayList<>();
        for (String name : raw.split("/")) {
            if (!name.isEmpty()) {
                out.add(RawPaths.bytes(name));
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case ADDED -> "A " + path + " (" + after + ")";
            case DELETED -> "D " + path + " (" + before + ")";
            case MODIFIED ->
                "M " + path + (before == after ? " (" + after + ")" : " (" + before + " -> " + after + ")");
        };
    }
}
