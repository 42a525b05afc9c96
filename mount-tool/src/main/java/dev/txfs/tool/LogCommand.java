package dev.txfs.tool;

import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs log [SNAPSHOT]}: a snapshot and its ancestors, newest first. */
@Command(
        name = "log",
        description = {
            "Show a snapshot (default HEAD) and its ancestors, newest first: id, refs, parents, author, "
                    + "time (UTC) and message.",
            "SNAPSHOT may be a ref (HEAD, live, a tag), a full id or a unique id prefix, with ~N and ^N suffixes (HEAD~1)."
        })
final class LogCommand extends BaseCommand {
    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "SNAPSHOT",
            defaultValue = Snapshots.HEAD,
            description =
                    "A ref, a snapshot id or a unique id prefix, with ~N and ^N suffixes (default: ${DEFAULT-VALUE}).")
    String snapshot;

    @Option(
            names = {"-n", "--max-count"},
            paramLabel = "N",
            description = "Show at most N snapshots.")
    Integer maxCount;

    @Option(names = "--oneline", description = "One line per snapshot: short id, time, first line of the message.")
    boolean oneline;

    @Option(
            names = "--json",
            description = "One JSON array of objects: id, tree, parents, time_ns, time, author, message, refs.")
    boolean json;

    private record Item(ObjectId id, Snapshot snapshot) {}

    @Override
    public Integer call() {
        if (maxCount != null && maxCount < 0) {
            throw new ToolException(ExitCode.USAGE, "-n must be 0 or more, got " + maxCount);
        }
        if (json && oneline) {
            throw new ToolException(ExitCode.USAGE, "--json and --oneline do not go together");
        }
        try (LmdbObjectStore store = openStore()) {
            if (snapshot.equals(Snapshots.HEAD)
                    && store.refs().find(Snapshots.HEAD).isEmpty()) {
                throw new ToolException(ExitCode.NOT_FOUND, "no snapshots yet (HEAD is not set)");
            }
            ObjectId start = resolve(store, snapshot);
            Map<ObjectId, List<String>> names = refNames(store);
            PriorityQueue<Item> queue = new PriorityQueue<>(
                    Comparator.comparingLong((Item i) -> i.snapshot().timeNs()).reversed());
            Set<ObjectId> seen = new HashSet<>();
            queue.add(new Item(start, Snapshots.load(store, start)));
            seen.add(start);
            PrintWriter out = out();
            Json array = new Json().beginArray();
            Set<ObjectId> shallow = store.shallow();
            int shown = 0;
            while (!queue.isEmpty() && (maxCount == null || shown < maxCount)) {
                Item it = queue.poll();
                List<String> refs = names.getOrDefault(it.id(), List.of());
                if (json) {
                    json(array, it.id(), it.snapshot(), refs);
                } else {
                    print(out, it, refs, shown > 0);
                }
                shown++;
                if (shallow.contains(it.id())) {
                    continue; // history ends here: gc pruned what came before
                }
                for (ObjectId p : it.snapshot().parents()) {
                    if (seen.add(p)) {
                        queue.add(new Item(p, Snapshots.load(store, p)));
                    }
                }
            }
            if (json) {
                out.println(array.endArray());
            }
            out.flush();
        }
        return ExitCode.OK.code;
    }

    /**
     * A snapshot as {@code log --json} and {@code show --json} print it; leaves the object open for
     * more members.
     */
    static Json jsonFields(Json w, ObjectId id, Snapshot s, List<String> refs) {
        w.beginObject().field("id", id.toHex()).field("tree", s.root().toHex());
        w.name("parents").beginArray();
        s.parents().forEach(p -> w.value(p.toHex()));
        w.endArray();
        w.field("time_ns", s.timeNs()).field("time", Times.iso(s.timeNs()));
        w.field("author", s.author()).field("message", s.message());
        w.name("refs").beginArray();
        refs.forEach(w::value);
        return w.endArray();
    }

    private static void json(Json w, ObjectId id, Snapshot s, List<String> refs) {
        jsonFields(w, id, s, refs).endObject();
    }

    static Map<ObjectId, List<String>> refNames(ObjectStore store) {
        Map<ObjectId, List<String>> names = new HashMap<>();
        store.refs().list("").forEach((name, id) -> names.computeIfAbsent(id, k -> new ArrayList<>())
                .add(name));
        return names;
    }

    private void print(PrintWriter out, Item it, List<String> refs, boolean separate) {
        Snapshot s = it.snapshot();
        String decoration = refs.isEmpty() ? "" : " (" + String.join(", ", refs) + ")";
        if (oneline) {
            String first = s.message().lines().findFirst().orElse("");
            out.println(it.id().shortHex() + " " + Times.format(s.timeNs()) + " " + first + decoration);
            return;
        }
        if (separate) {
            out.println();
        }
        out.println("snapshot " + it.id().toHex() + decoration);
        List<String> parents = new ArrayList<>();
        s.parents().forEach(p -> parents.add(p.shortHex()));
        out.println("Parents: " + (parents.isEmpty() ? "(none)" : String.join(" ", parents)));
        out.println("Author:  " + s.author());
        out.println("Date:    " + Times.format(s.timeNs()));
        out.println();
        s.message().lines().forEach(l -> out.println("    " + l));
    }
}
