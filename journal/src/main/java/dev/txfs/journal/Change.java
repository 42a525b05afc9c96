package dev.txfs.journal;

import dev.txfs.snapshot.EntryKind;
import java.util.Objects;

/**
 * One changed path between two trees, as {@link Diff} and {@link Merge} report it.
 *
 * <p>{@code path} is absolute ("/" for the root directory, "/a/b" below it), its names decoded as
 * UTF-8 for display (bytes that are not UTF-8 become U+FFFD). {@code before} and {@code after} are
 * the kinds of what the path named; a hard-linked name reports the kind of its inode (never
 * {@link EntryKind#HARDLINK}). {@code before} is null for {@link Kind#ADDED}, {@code after} for
 * {@link Kind#DELETED}.
 */
public record Change(String path, Kind kind, EntryKind before, EntryKind after) {
    /** What happened to the path. */
    public enum Kind {
        ADDED,
        MODIFIED,
        DELETED
    }

    public Change {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(kind, "kind");
        if ((before == null) != (kind == Kind.ADDED) || (after == null) != (kind == Kind.DELETED)) {
            throw new IllegalArgumentException(kind + " " + path + " with kinds " + before + " -> " + after);
        }
    }

    static Change added(String path, EntryKind after) {
        return new Change(path, Kind.ADDED, null, after);
    }

    static Change modified(String path, EntryKind before, EntryKind after) {
        return new Change(path, Kind.MODIFIED, before, after);
    }

    static Change deleted(String path, EntryKind before) {
        return new Change(path, Kind.DELETED, before, null);
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
