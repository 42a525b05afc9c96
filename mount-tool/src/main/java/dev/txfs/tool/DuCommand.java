package dev.txfs.tool;

import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.SpaceUsage;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code txfs du}: per snapshot, the bytes only it holds (what deleting it would free). */
@Command(
        name = "du",
        description = {
            "Per snapshot of every ref's history (newest first): the stored bytes only it holds, which is"
                    + " what removing it from history and running txfs gc would free.",
            "Also the store's total and what no snapshot reaches (txfs gc frees that, less what a mount holds)."
        })
final class DuCommand extends BaseCommand {
    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() {
        try (LmdbObjectStore store = openStore()) {
            SpaceUsage.Report r = SpaceUsage.measure(store);
            Map<ObjectId, List<String>> refs = LogCommand.refNames(store);
            PrintWriter out = out();
            if (json) {
                Json w = new Json().beginObject().field("stored_bytes", r.storedBytes());
                w.field("unreachable_bytes", r.unreachableBytes())
                        .name("snapshots")
                        .beginArray();
                for (SpaceUsage.Usage u : r.snapshots()) {
                    w.beginObject()
                            .field("id", u.id().toHex())
                            .field("time", Times.iso(u.snapshot().timeNs()));
                    w.field("exclusive_bytes", u.exclusiveBytes())
                            .field("message", u.snapshot().message());
                    w.name("refs").beginArray();
                    refs.getOrDefault(u.id(), List.of()).forEach(w::value);
                    w.endArray().endObject();
                }
                out.println(w.endArray().endObject());
            } else {
                out.printf("%-12s  %-19s  %10s  %s%n", "SNAPSHOT", "DATE", "ONLY IT", "MESSAGE");
                for (SpaceUsage.Usage u : r.snapshots()) {
                    List<String> names = refs.getOrDefault(u.id(), List.of());
                    String first = u.snapshot().message().lines().findFirst().orElse("");
                    out.printf(
                            "%-12s  %-19s  %10s  %s%s%n",
                            u.id().shortHex(),
                            Times.format(u.snapshot().timeNs()).substring(0, 19),
                            Progress.human(u.exclusiveBytes()),
                            first,
                            names.isEmpty() ? "" : " (" + String.join(", ", names) + ")");
                }
                out.printf(
                        "stored: %s; reached by no snapshot: %s (txfs gc frees it, less what a mount holds)%n",
                        Progress.human(r.storedBytes()), Progress.human(r.unreachableBytes()));
            }
            out.flush();
        }
        return ExitCode.OK.code;
    }
}
