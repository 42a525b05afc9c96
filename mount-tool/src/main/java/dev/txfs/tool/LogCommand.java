package dev.txfs.tool;

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
@Command(name = "log", description = "Show a snapshot (default HEAD) and its ancestors, newest first.")
final class LogCommand extends BaseCommand {
    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "SNAPSHOT",
            defaultValue = Snapshots.HEAD,
            description = "A ref, a snapshot id or a unique id prefix (default: ${DEFAULT-VALUE}).")
    String snapshot;

    @Option(
            names = {"-n", "--max-count"},
            paramLabel = "N",
            description = "Show at most N snapshots.")
    Integer maxCount;

    @Option(names = "--oneline", description = "One line per snapshot: short id, time, first line of the message.")
    boolean oneline;

    private record Item(ObjectId id, Snapshot snapshot) {}

    @Override
    public Integer call() {
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
            int shown = 0;
            while (!queue.isEmpty() && (maxCount == null || shown < maxCount)) {
                Item it = queue.poll();
                print(out, it, names.getOrDefault(it.id(), List.of()), shown > 0);
                shown++;
                for (ObjectId p : it.snapshot().parents()) {
                    if (seen.add(p)) {
                        queue.add(new Item(p, Snapshots.load(store, p)));
                    }
                }
            }
            out.flush();
        }
        return ExitCode.OK.code;
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
