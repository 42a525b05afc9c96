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
     * The snapshot {@code spec} names (ref, full id or unique prefix). Unknown names exit with
     * {@link ExitCode#NOT_FOUND}; ambiguous or malformed ones with {@link ExitCode#USAGE}.
     */
    static ObjectId resolve(ObjectStore store, String spec) {
        try {
            return Snapshots.resolve(store, spec);
        } catch (TxfsException e) {
            // Snapshots.resolve throws one exception type for every case: tell them apart by message.
            String m = String.valueOf(e.getMessage());
            boolean notFound = m.startsWith("no ref or snapshot named");
            throw new ToolException(notFound ? ExitCode.NOT_FOUND : ExitCode.USAGE, m, e);
        }
    }
}
