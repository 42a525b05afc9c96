package dev.txfs.tool;

import dev.txfs.fs.posix.Posix;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.RefStore;
import dev.txfs.snapshot.Snapshots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.LongSupplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code txfs snapshot}: records the live tree of the txfs mount it runs in, or with {@code
 * --from-dir DIR} a host directory tree, as a new snapshot.
 */
@Command(
        name = "snapshot",
        description = {
            "Run inside a txfs mount: record the mount's live tree as a new snapshot (HEAD).",
            "With --from-dir: record a host directory tree exactly as a new snapshot and move a ref (HEAD) to it.",
            "Prints the snapshot id. Files unchanged since the last snapshot of the same directory "
                    + "(same dev, inode, size, mtime, ctime) are not read again."
        })
final class SnapshotCommand extends BaseCommand {
    @Option(names = "--from-dir", paramLabel = "DIR", description = "The host directory to record.")
    Path fromDir;

    @Option(
            names = {"-m", "--message"},
            paramLabel = "MSG",
            description = "The snapshot's message (default: \"snapshot of DIR\").")
    String message;

    @Option(
            names = "--ref",
            paramLabel = "REF",
            defaultValue = "HEAD",
            description = "The ref to move (default: ${DEFAULT-VALUE}).")
    String ref;

    @Option(
            names = "--tag",
            paramLabel = "NAME",
            description = "Also tag the new snapshot (the ref tags/NAME); refused before recording if the "
                    + "tag exists, unless --force.")
    String tag;

    @Option(
            names = {"-f", "--force"},
            description = "With --tag: move the tag if it names another snapshot now.")
    boolean force;

    @Option(names = "--author", paramLabel = "NAME", description = "The snapshot's author (default: the user name).")
    String author;

    @Option(
            names = "--threads",
            paramLabel = "N",
            defaultValue = "2",
            description = "Threads reading files (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(
            names = {"-x", "--one-file-system"},
            description = "Do not descend into directories on other filesystems (mount points are recorded empty).")
    boolean oneFileSystem;

    @Option(names = "--no-stat-cache", description = "Read every file, ignoring what the last snapshot of DIR saw.")
    boolean noStatCache;

    @Option(
            names = {"-v", "--verbose"},
            description = "Print a summary (counts, bytes, time) on stderr.")
    boolean verbose;

    /** Wall clock in ns since the epoch (tests may replace it). */
    LongSupplier clock = () -> {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    };

    @Override
    public Integer call() throws IOException, InterruptedException {
        RefStore.checkName(ref);
        if (force && tag == null) {
            throw new ToolException(ExitCode.USAGE, "--force goes with --tag");
        }
        String tagRef = tag == null ? null : TagCommand.refName(tag);
        if (fromDir == null) {
            return snapshotMount(tagRef);
        }
        if (threads < 1 || threads > 64) {
            throw new ToolException(ExitCode.USAGE, "--threads must be between 1 and 64, got " + threads);
        }
        Path dir = fromDir.toAbsolutePath().normalize();
        if (!Files.exists(dir)) {
            throw new ToolException(ExitCode.NOT_FOUND, "no such directory: " + dir);
        }
        if (!Files.isDirectory(dir)) {
            throw new ToolException(ExitCode.USAGE, "not a directory: " + dir);
        }
        byte[] source = Posix.bytes(dir.toRealPath().toString());
        long start = System.nanoTime();
        long scanStart = clock.getAsLong();
        // The stat cache loads while the store opens (both take a while; there are two cores).
        Path cacheFile = StatCache.fileFor(txfs.locator.locate(txfs.store).dir(), source);
        FutureTask<StatCache> loading =
                new FutureTask<>(() -> noStatCache ? StatCache.empty() : StatCache.load(cacheFile, source));
        Thread loader = new Thread(loading, "txfs-statcache");
        loader.setDaemon(true);
        loader.start();
        try (LmdbObjectStore store = openStore()) {
            if (tagRef != null) {
                TagCommand.checkFree(store, tagRef, force);
            }
            StatCache previous;
            try {
                previous = loading.get();
            } catch (ExecutionException e) {
                previous = StatCache.empty(); // only an optimisation
            }
            StatCache next = StatCache.startingAt(scanStart);
            Warnings warnings = new Warnings();
            DirectoryImporter.Counters counters = new DirectoryImporter.Counters();
            DirectoryImporter.Result r;
            try (Progress p = progress(() -> "scanned " + counters.scanned.get() + " entries, read "
                    + counters.filesRead.get() + " files (" + Progress.mib(counters.bytesRead.get()) + ")")) {
                r = new DirectoryImporter(store, Posix.get(), threads, previous, next, warnings, counters)
                        .oneFileSystem(oneFileSystem)
                        .afterContent(() -> {
                            try {
                                next.write(cacheFile, source);
                            } catch (IOException | RuntimeException e) {
                                warnings.add("stat cache not saved", e.toString());
                            }
                        })
                        .run(source);
            }
            String who = author != null ? author : System.getProperty("user.name", "unknown");
            String msg = message != null ? message : "snapshot of " + dir;
            ObjectId id = Snapshots.record(store, ref, r.root(), who, msg, clock);
            warn(warnings);
            if (tagRef != null) {
                tag(store, tagRef, id);
            }
            out().println(id.toHex());
            out().flush();
            if (verbose || txfs.interactive) {
                double secs = (System.nanoTime() - start) / 1e9;
                err().printf(
                                "snapshot %s: %d files, %d directories, %d other, %s; read %d files (%s), %d unchanged; %.2f s%n",
                                id.shortHex(),
                                r.files(),
                                r.directories(),
                                r.others(),
                                Progress.mib(r.bytes()),
                                r.filesRead(),
                                Progress.mib(r.bytesRead()),
                                r.cacheHits(),
                                secs);
                err().flush();
            }
        }
        return ExitCode.OK.code;
    }

    /** Asks the daemon of the mount holding the working directory to record its live tree. */
    private int snapshotMount(String tagRef) throws IOException {
        Path cwd = Path.of("").toAbsolutePath();
        Mounts.TxfsMount m = Mounts.containing(cwd)
                .orElseThrow(() -> new ToolException(
                        ExitCode.USAGE, "not inside a txfs mount: give --from-dir DIR, or run this inside a mount"));
        if (!ref.equals("HEAD")) {
            throw new ToolException(ExitCode.USAGE, "a snapshot of a mount moves HEAD; --ref is for --from-dir");
        }
        String who = author != null ? author : System.getProperty("user.name", "unknown");
        String msg = message != null ? message : "snapshot of " + m.mountpoint();
        if (who.contains("\t") || who.contains("\n")) {
            throw new ToolException(ExitCode.USAGE, "invalid author name");
        }
        if (tagRef != null) { // in the mount's store, where the daemon records
            try (LmdbObjectStore store = txfs.locator.open(m.store())) {
                TagCommand.checkFree(store, tagRef, force);
            }
        }
        Path socket = ControlSocket.pathFor(m.store(), m.mountpoint());
        String id;
        try {
            id = ControlSocket.call(socket, "snapshot " + who + "\t" + msg.replace("\n", "\\n"));
        } catch (IOException e) {
            throw new ToolException(
                    ExitCode.FAILED, "the daemon of " + m.mountpoint() + " does not answer: " + e.getMessage());
        }
        if (tagRef != null) {
            try (LmdbObjectStore store = txfs.locator.open(m.store())) {
                tag(store, tagRef, ObjectId.parse(id.trim()));
            }
        }
        out().println(id.trim());
        out().flush();
        return ExitCode.OK.code;
    }

    /**
     * Tags the snapshot just recorded. The tag was free (or --force) before recording; if another
     * command took it since, the snapshot stays recorded and the error names it.
     */
    private void tag(LmdbObjectStore store, String tagRef, ObjectId id) {
        try {
            TagCommand.set(store, tagRef, id, force);
        } catch (ToolException e) {
            throw new ToolException(
                    ExitCode.USAGE, "snapshot " + id.toHex() + " was recorded but not tagged: " + e.getMessage());
        }
    }
}
