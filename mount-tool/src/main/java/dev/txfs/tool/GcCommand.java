package dev.txfs.tool;

import dev.txfs.snapshot.GarbageCollector;
import dev.txfs.snapshot.Json;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.TxfsException;
import dev.txfs.txn.LiveTree;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code txfs gc}: deletes what no ref, kept snapshot, mount or open transaction reaches. With the
 * store mounted, the daemon collects (it alone knows the trees it holds in memory) while the mount
 * serves; requests wait meanwhile. Without a mount, this process collects. Either way the store must
 * be open in no other process (a second mount, a running import): see {@code StoreLock}.
 */
@Command(
        name = "gc",
        description = {
            "Reclaim space: delete objects no ref, tag, boot entry, kept snapshot, mount or open transaction"
                    + " uses, including the chunks of aborted transactions.",
            "Without --keep-last/--keep-within all history is kept. Runs while the store is mounted."
        })
final class GcCommand extends BaseCommand {
    @Option(
            names = "--keep-last",
            paramLabel = "N",
            description = "Keep the N newest snapshots of each ref's history (and every ref's target).")
    Integer keepLast;

    @Option(
            names = "--keep-within",
            paramLabel = "DURATION",
            description = "Keep snapshots younger than DURATION: a number with s, m, h, d or w (e.g. 30d).")
    String keepWithin;

    @Option(
            names = "--wait",
            paramLabel = "SECONDS",
            defaultValue = "10",
            description = "How long to wait for other processes to close the store (default: ${DEFAULT-VALUE}).")
    int waitSeconds;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})([smhdw])");

    static Duration parseDuration(String s) {
        Matcher m = DURATION.matcher(s.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new ToolException(
                    ExitCode.USAGE, "invalid duration '" + s + "': use a number with s, m, h, d or w (e.g. 30d)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofDays(7 * n);
        };
    }

    /** The request's fields: KEEP_LAST KEEP_WITHIN_SECONDS WAIT_MS, "-" for no limit. */
    private String request() {
        if (keepLast != null && keepLast < 1) {
            throw new ToolException(ExitCode.USAGE, "--keep-last must be at least 1, got " + keepLast);
        }
        if (waitSeconds < 0) {
            throw new ToolException(ExitCode.USAGE, "--wait must not be negative");
        }
        String within = keepWithin == null
                ? "-"
                : Long.toString(parseDuration(keepWithin).toSeconds());
        return (keepLast == null ? "-" : keepLast.toString()) + " " + within + " " + waitSeconds * 1000L;
    }

    @Override
    public Integer call() throws IOException {
        String request = request();
        Path dir = txfs.locator.locate(txfs.store).dir();
        List<Mounts.TxfsMount> serving = Mounts.ofStore(dir);
        String reply;
        if (!serving.isEmpty()) {
            Mounts.TxfsMount m = serving.get(0);
            try {
                reply = ControlSocket.call(ControlSocket.pathFor(m.store(), m.mountpoint()), "gc " + request);
            } catch (IOException e) {
                throw new ToolException(
                        ExitCode.FAILED, "the daemon of " + m.mountpoint() + " does not answer: " + e.getMessage());
            }
        } else {
            try (LmdbObjectStore store = openStore()) {
                reply = collect(request, store, List.of());
            }
        }
        print(reply.trim().split(" "));
        return ExitCode.OK.code;
    }

    /** Collects in the daemon: the live tree and open transactions stay still under its lock. */
    static String collectServing(String request, LiveTree live, LmdbObjectStore store) throws IOException {
        synchronized (live.lock()) {
            return collect(request, store, live.heldObjects());
        }
    }

    private static String collect(String request, LmdbObjectStore store, List<ObjectId> held) {
        String[] f = request.trim().split(" ");
        if (f.length != 3) {
            throw new ToolException(ExitCode.USAGE, "malformed gc request");
        }
        GarbageCollector.Policy policy = new GarbageCollector.Policy(
                f[0].equals("-") ? null : Integer.valueOf(f[0]),
                f[1].equals("-") ? null : Duration.ofSeconds(Long.parseLong(f[1])));
        GarbageCollector.Report r;
        try {
            r = store.exclusive(
                    Duration.ofMillis(Long.parseLong(f[2])),
                    () -> GarbageCollector.collect(store, policy, held, Daemon.nowNs()));
        } catch (TxfsException e) {
            throw new ToolException(ExitCode.STORE, e.getMessage(), e);
        } catch (Exception e) {
            throw new ToolException(ExitCode.FAILED, "garbage collection failed: " + e.getMessage(), e);
        }
        return r.objectsBefore() + " " + r.objectsFreed() + " " + r.bytesFreed() + " " + r.snapshotsKept() + " "
                + r.snapshotsPruned().size() + " " + r.newlyShallow().size() + " " + r.elapsedNs();
    }

    private void print(String[] f) {
        if (f.length != 7) {
            throw new ToolException(ExitCode.FAILED, "unexpected reply from the daemon: " + String.join(" ", f));
        }
        long ms = Long.parseLong(f[6]) / 1_000_000;
        if (json) {
            out().println(new Json()
                    .beginObject()
                    .field("objects_before", Long.parseLong(f[0]))
                    .field("objects_freed", Long.parseLong(f[1]))
                    .field("bytes_freed", Long.parseLong(f[2]))
                    .field("snapshots_kept", Long.parseLong(f[3]))
                    .field("snapshots_pruned", Long.parseLong(f[4]))
                    .field("elapsed_ms", ms)
                    .endObject());
        } else {
            out().printf(
                            "freed %s of %s objects (%s); kept %s snapshots, pruned %s; %d ms%n",
                            f[1], f[0], Progress.human(Long.parseLong(f[2])), f[3], f[4], ms);
        }
        out().flush();
    }
}
