package dev.txfs.tool;

import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.txn.LiveTree;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code txfs refs}: every ref of the store with its snapshot, kind, time and message. */
@Command(
        name = "refs",
        description = {
            "List every ref (HEAD, live, tags/*, runs/*, imports/*, boot/*, any other) by name: "
                    + "kind, short snapshot id, time (UTC), first line of the message.",
            "Any ref name can be given wherever a snapshot is named, also with ~N and ^N (HEAD~1)."
        })
final class RefsCommand extends BaseCommand {
    @Option(names = "--json", description = "One JSON array of objects: name, kind, id, time_ns, time, message.")
    boolean json;

    /** What a ref is for, from its name: head, live, tag, run, import, boot or other. */
    static String kind(String ref) {
        if (ref.equals(Snapshots.HEAD)) {
            return "head";
        }
        if (ref.equals(LiveTree.REF)) {
            return "live";
        }
        int slash = ref.indexOf('/');
        String top = slash < 0 ? "" : ref.substring(0, slash + 1);
        return switch (top) {
            case Snapshots.TAGS -> "tag";
            case "runs/" -> "run";
            case "imports/" -> "import";
            case "boot/" -> "boot";
            default -> "other";
        };
    }

    private record Row(String name, String kind, ObjectId id, Snapshot snapshot) {}

    @Override
    public Integer call() {
        List<Row> rows = new ArrayList<>();
        try (LmdbObjectStore store = openStore()) {
            for (Map.Entry<String, ObjectId> r : store.refs().list("").entrySet()) {
                rows.add(new Row(r.getKey(), kind(r.getKey()), r.getValue(), load(store, r.getValue())));
            }
        }
        PrintWriter out = out();
        if (json) {
            Json w = new Json().beginArray();
            for (Row r : rows) {
                w.beginObject().field("name", r.name()).field("kind", r.kind()).field("id", r.id().toHex());
                if (r.snapshot() != null) {
                    w.field("time_ns", r.snapshot().timeNs())
                            .field("time", Times.iso(r.snapshot().timeNs()));
                    w.field("message", r.snapshot().message());
                }
                w.endObject();
            }
            out.println(w.endArray());
        } else {
            int nameWidth = rows.stream().mapToInt(r -> r.name().length()).max().orElse(0);
            int kindWidth = rows.stream().mapToInt(r -> r.kind().length()).max().orElse(0);
            for (Row r : rows) {
                Snapshot s = r.snapshot();
                String first = s == null
                        ? "(not a readable snapshot)"
                        : s.message().lines().findFirst().orElse("");
                out.println(pad(r.name(), nameWidth) + "  " + pad(r.kind(), kindWidth) + "  " + r.id().shortHex() + " "
                        + (s == null ? "-" : Times.format(s.timeNs())) + " " + first);
            }
        }
        out.flush();
        return ExitCode.OK.code;
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length());
    }

    /** The snapshot, or null when it cannot be read (verify names the damage; a listing still lists). */
    private static Snapshot load(LmdbObjectStore store, ObjectId id) {
        try {
            return Snapshots.load(store, id);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
