package dev.txfs.tool;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.Snapshots;
import dev.txfs.snapshot.TxfsException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** What every verb shares: the global options, the store, output writers, snapshot names. */
abstract class BaseCommand implements Callable<Integer> {
    @ParentCommand
    TxfsCommand txfs;

    @Spec
    CommandSpec spec;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    LmdbObjectStore openStore() {
        return txfs.locator.open(txfs.store);
    }

    /** A progress line on stderr, shown only when stderr is a terminal. */
    Progress progress(java.util.function.Supplier<String> status) {
        return new Progress(err(), txfs.interactive, status);
    }

    void warn(Warnings warnings) {
        for (String line : warnings.lines()) {
            err().println(Errors.PREFIX + "warning: " + line);
        }
        err().flush();
    }

    /**
     * The snapshot {@code spec} names (ref, tag, full id or unique prefix; see {@link
     * Snapshots#resolve}). Unknown names exit with {@link ExitCode#NOT_FOUND}; ambiguous or
     * malformed ones with {@link ExitCode#USAGE}.
     */
    static ObjectId resolve(ObjectStore store, String spec) {
        try {
            return Snapshots.resolve(store, spec);
        } catch (Snapshots.NotFoundException e) {
            throw new ToolException(ExitCode.NOT_FOUND, e.getMessage(), e);
        } catch (TxfsException e) {
            // ambiguous prefix, too short, empty; a damaged store raises its own types (STORE)
            if (Errors.exitCodeOf(e) == ExitCode.STORE) {
                throw e;
            }
            throw new ToolException(ExitCode.USAGE, e.getMessage(), e);
        }
    }
}
