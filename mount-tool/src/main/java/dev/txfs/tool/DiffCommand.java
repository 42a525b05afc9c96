package dev.txfs.tool;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.txfs.journal.Change;
import dev.txfs.journal.Diff;
import dev.txfs.snapshot.Directories;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.HardLinks;
import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Root;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TreeEntry;
import dev.txfs.txn.LiveTree;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code txfs diff A [B]}: the paths that differ between two snapshots (B defaults to the live
 * state), from {@link Diff#between}: O(changes × depth) store reads.
 */
@Command(
        name = "diff",
        description = {
            "Show the paths that differ between snapshot A and snapshot B, one per line as 'A|M|D<TAB>PATH' "
                    + "(added, modified, deleted); a directory added or deleted whole is one line.",
            "Without B: the live state (run inside a mount of the store, the daemon syncs it first; "
                    + "else the ref 'live', else HEAD).",
            "A and B may be refs (HEAD, live, a tag), full ids or unique id prefixes, with ~N and ^N suffixes (HEAD~1)."
        })
final class DiffCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "A", description = "The snapshot to compare from.")
    String from;

    @Parameters(
            index = "1",
            arity = "0..1",
            paramLabel = "B",
            description = "The snapshot to compare to (default: the live state).")
    String to;

    @Option(
            names = "--stat",
            description = "Add each path's file bytes before and after (a directory counts the files below it), "
                    + "and a summary line.")
    boolean stat;

    @Option(
            names = "--json",
            description = "One JSON object: from, to, their trees, changes (status, path, before, after kinds; "
                    + "with --stat bytes_before, bytes_after) and a summary.")
    boolean json;

    /** One side of the comparison: what the user named, the snapshot (if any) and its tree. */
    private record Side(String name, ObjectId snapshot, ObjectId root) {}

    @Override
    public Integer call() {
        try (LmdbObjectStore store = openStore()) {
            Side a = side(store, from);
            Side b = to == null ? live(store) : side(store, to);
            List<Change> changes = Diff.between(store, a.root(), b.root());
            Root rootA = stat ? Snapshots.loadRoot(store, a.root()) : null;
            Root rootB = stat ? Snapshots.loadRoot(store, b.root()) : null;
            Json w = new Json();
            if (json) {
                w.beginObject();
                side(w, "from", a);
                side(w, "to", b);
                w.name("changes").beginArray();
            }
            PrintWriter out = out();
            long added = 0;
            long modified = 0;
            long deleted = 0;
            long bytesBefore = 0;
            long bytesAfter = 0;
            for (Change c : changes) {
                switch (c.kind()) {
                    case ADDED -> added++;
                    case MODIFIED -> modified++;
                    case DELETED -> deleted++;
                }
                long before = c.before() == null || !stat ? -1 : bytes(store, rootA, c.path());
                long after = c.after() == null || !stat ? -1 : bytes(store, rootB, c.path());
                bytesBefore += Math.max(before, 0);
                bytesAfter += Math.max(after, 0);
                if (json) {
                    w.beginObject().field("status", letter(c)).field("path", c.path());
                    w.field("before", kind(c.before())).field("after", kind(c.after()));
                    if (stat) {
                        w.name("bytes_before");
                        nullable(w, before);
                        w.name("bytes_after");
                        nullable(w, after);
                    }
                    w.endObject();
                } else if (stat) {
                    out.println(letter(c) + "\t" + c.path() + "\t" + number(before) + " -> " + number(after));
                } else {
                    out.println(letter(c) + "\t" + c.path());
                }
            }
            if (json) {
                w.endArray().name("summary").beginObject();
                w.field("added", added).field("modified", modified).field("deleted", deleted);
                if (stat) {
                    w.field("bytes_before", bytesBefore).field("bytes_after", bytesAfter);
                }
                out.println(w.endObject().endObject());
            } else if (stat) {
                out.println(changes.size() + " paths changed: " + added + " added, " + modified + " modified, "
                        + deleted + " deleted; file bytes " + bytesBefore + " -> " + bytesAfter + " ("
                        + signed(bytesAfter - bytesBefore) + ")");
            }
            out.flush();
        }
        return ExitCode.OK.code;
    }

    private static Side side(ObjectStore store, String spec) {
        ObjectId id = resolve(store, spec);
        return new Side(spec, id, Snapshots.load(store, id).root());
    }

    /**
     * The live state: synced by the daemon when this runs inside a mount of this store, else the
     * last synced state (the ref {@code live}), else {@code HEAD}.
     */
    private Side live(ObjectStore store) {
        Path dir = txfs.locator.locate(txfs.store).dir().toAbsolutePath().normalize();
        Optional<Mounts.TxfsMount> mount = Mounts.containing(Path.of("").toAbsolutePath())
                .filter(m -> m.store().toAbsolutePath().normalize().equals(dir));
        if (mount.isPresent()) {
            Path socket = ControlSocket.pathFor(mount.get().store(), mount.get().mountpoint());
            try {
                String root = ControlSocket.call(socket, "sync").strip();
                return new Side(LiveTree.REF, null, ObjectId.parse(root));
            } catch (IOException | IllegalArgumentException e) {
                err().println(Errors.PREFIX + "warning: the daemon of "
                        + mount.get().mountpoint() + " did not sync (" + e.getMessage()
                        + "); comparing with the last synced live state");
                err().flush();
            }
        }
        if (store.refs().find(LiveTree.REF).isPresent()) {
            return side(store, LiveTree.REF);
        }
        if (store.refs().find(Snapshots.HEAD).isPresent()) {
            return side(store, Snapshots.HEAD);
        }
        throw new ToolException(ExitCode.NOT_FOUND, "no live state or HEAD to compare with: give B");
    }

    private static void side(Json w, String name, Side s) {
        w.name(name).beginObject().field("name", s.name());
        w.field("snapshot", s.snapshot() == null ? null : s.snapshot().toHex());
        w.field("tree", s.root().toHex()).endObject();
    }

    private static String letter(Change c) {
        return switch (c.kind()) {
            case ADDED -> "A";
            case MODIFIED -> "M";
            case DELETED -> "D";
        };
    }

    private static String kind(EntryKind k) {
        return k == null ? null : k.name().toLowerCase(java.util.Locale.ROOT);
    }

    private static void nullable(Json w, long n) {
        if (n < 0) {
            w.nullValue();
        } else {
            w.value(n);
        }
    }

    private static String number(long n) {
        return n < 0 ? "-" : Long.toString(n);
    }

    private static String signed(long n) {
        return n >= 0 ? "+" + n : Long.toString(n);
    }

    /**
     * File bytes at {@code path} in {@code root}: a file's size, the files below a directory, 0 for
     * other kinds; -1 when the path cannot be looked up again (a name that is not UTF-8 was
     * displayed with replacement characters).
     */
    static long bytes(ObjectStore store, Root root, String path) {
        TreeEntry e = root.dir();
        if (!path.equals("/")) {
            for (String name : path.substring(1).split("/", -1)) {
                if (e.kind() != EntryKind.DIRECTORY) {
                    return -1;
                }
                Optional<TreeEntry> next = Directories.find(store, e.tree(), name.getBytes(UTF_8));
                if (next.isEmpty()) {
                    return -1;
                }
                e = next.get();
            }
        }
        if (e.kind() == EntryKind.HARDLINK) {
            Optional<TreeEntry> rec = HardLinks.find(store, root, e.linkKey());
            if (rec.isEmpty()) {
                return -1;
            }
            e = rec.get();
        }
        return switch (e.kind()) {
            case FILE -> e.size();
            case DIRECTORY -> ShowCommand.countTree(store, e.tree()).bytes;
            default -> 0;
        };
    }
}
