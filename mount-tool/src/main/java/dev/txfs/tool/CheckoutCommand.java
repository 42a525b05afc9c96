package dev.txfs.tool;

import dev.txfs.fs.posix.Posix;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.Snapshots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs checkout ID DIR}: writes a snapshot's tree out into a new or empty directory. */
@Command(
        name = "checkout",
        description = "Write a snapshot's tree into DIR (which must not exist or be empty): content, modes, "
                + "owners, mtimes, xattrs, symlinks, hard links, devices, fifos and sockets.")
final class CheckoutCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "SNAPSHOT", description = "A ref, a snapshot id or a unique id prefix.")
    String snapshot;

    @Parameters(index = "1", paramLabel = "DIR", description = "Where to write the tree.")
    Path target;

    @Option(
            names = "--threads",
            paramLabel = "N",
            defaultValue = "2",
            description = "Threads writing files (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(
            names = {"-v", "--verbose"},
            description = "Print a summary (counts, bytes, time) on stderr.")
    boolean verbose;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (threads < 1 || threads > 64) {
            throw new ToolException(ExitCode.USAGE, "--threads must be between 1 and 64, got " + threads);
        }
        Path dir = target.toAbsolutePath().normalize();
        try (LmdbObjectStore store = openStore()) {
            ObjectId id = resolve(store, snapshot);
            Snapshot s = Snapshots.load(store, id);
            prepareTarget(dir);
            long start = System.nanoTime();
            Warnings warnings = new Warnings();
            Checkout.Counters counters = new Checkout.Counters();
            Checkout.Result r;
            try (Progress p = progress(() ->
                    "wrote " + counters.entries.get() + " entries (" + Progress.mib(counters.bytes.get()) + ")")) {
                r = new Checkout(store, Posix.get(), threads, warnings, counters)
                        .run(s.root(), Posix.bytes(dir.toString()));
            }
            warn(warnings);
            if (verbose || txfs.interactive) {
                err().printf(
                                "checkout %s: %d files, %d directories, %d other, %d hard links, %s; %.2f s%n",
                                id.shortHex(),
                                r.files(),
                                r.directories(),
                                r.others(),
                                r.links(),
                                Progress.mib(r.bytes()),
                                (System.nanoTime() - start) / 1e9);
                err().flush();
            }
        }
        return ExitCode.OK.code;
    }

    private static void prepareTarget(Path dir) throws IOException {
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new ToolException(ExitCode.USAGE, "checkout target exists and is not a directory: " + dir);
            }
            try (var list = Files.list(dir)) {
                if (list.findAny().isPresent()) {
                    throw new ToolException(ExitCode.USAGE, "checkout target is not empty: " + dir);
                }
            }
            return;
        }
        Path parent = dir.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new ToolException(ExitCode.NOT_FOUND, "no such directory: " + parent);
        }
        Files.createDirectory(dir);
    }
}
