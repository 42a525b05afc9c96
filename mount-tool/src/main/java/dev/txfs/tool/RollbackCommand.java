package dev.txfs.tool;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.txn.LiveTree;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code txfs rollback ID}: the live tree becomes that snapshot's tree, for every process outside
 * a transaction at once, recorded as a new snapshot. With the store mounted the daemon does it
 * (see {@code LiveFs.rollback}); without, the ref {@code live} moves and the next mount starts there.
 */
@Command(
        name = "rollback",
        description = {
            "Make the live tree the tree of SNAPSHOT, at one instant for every process outside a transaction,"
                    + " and record that as a new snapshot (history keeps everything).",
            "Runs against the mount of the store (the one holding the working directory, else the only one);"
                    + " with the store not mounted, the next mount starts from it."
        })
final class RollbackCommand extends BaseCommand {
    @Parameters(
            index = "0",
            paramLabel = "SNAPSHOT",
            description = "A ref, a tag, a snapshot id or a unique prefix, with ~N and ^N suffixes.")
    String snapshot;

    @Option(
            names = {"-m", "--message"},
            paramLabel = "MSG",
            description = "The new snapshot's message (default: \"rollback to ID\").")
    String message;

    @Override
    public Integer call() throws IOException {
        ObjectId target;
        Path dir;
        try (LmdbObjectStore store = openStore()) {
            target = resolve(store, snapshot);
            dir = store.directory();
        }
        String who = System.getProperty("user.name", "unknown");
        String msg = message != null ? message : "rollback to " + target.shortHex();
        if (msg.contains("\t")) {
            throw new ToolException(ExitCode.USAGE, "the message must not contain a tab");
        }
        Optional<Mounts.TxfsMount> mount = serving(dir);
        String id;
        long changed;
        if (mount.isPresent()) {
            String reply;
            try {
                reply = ControlSocket.call(
                        ControlSocket.pathFor(mount.get().store(), mount.get().mountpoint()),
                        "rollback " + target.toHex() + "\t" + who + "\t" + msg.replace("\n", "\\n"));
            } catch (IOException e) {
                throw new ToolException(
                        ExitCode.FAILED,
                        "the daemon of " + mount.get().mountpoint() + " does not answer: " + e.getMessage());
            }
            String[] f = reply.trim().split(" ");
            id = f[0];
            changed = Long.parseLong(f[1]);
        } else {
            try (LmdbObjectStore store = openStore()) {
                LiveTree live = LiveTree.open(store, Optional.empty(), Daemon::nowNs);
                LiveTree.CommitResult r = live.rollback(target, who, msg);
                id = r.snapshot().toHex();
                changed = r.applied().size();
            }
        }
        out().println(id);
        out().flush();
        err().println(Errors.PREFIX + changed + " path" + (changed == 1 ? "" : "s") + " changed");
        err().flush();
        return ExitCode.OK.code;
    }

    /** The mount of the store {@code dir}: the one holding the working directory, else the only one. */
    private static Optional<Mounts.TxfsMount> serving(Path dir) {
        Optional<Mounts.TxfsMount> here = Mounts.containing(Path.of("").toAbsolutePath());
        List<Mounts.TxfsMount> all = Mounts.ofStore(dir);
        if (here.isPresent() && all.contains(here.get())) {
            return here;
        }
        if (all.size() > 1) {
            throw new ToolException(
                    ExitCode.USAGE,
                    "the store is mounted at " + all.size() + " places: run this inside the one to roll back");
        }
        return all.stream().findFirst();
    }
}
