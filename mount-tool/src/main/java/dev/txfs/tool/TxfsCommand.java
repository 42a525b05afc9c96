package dev.txfs.tool;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The top-level {@code txfs} command: global options and the list of verbs (one class each). */
@Command(
        name = "txfs",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        scope = ScopeType.INHERIT,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = "A transactional, versioned filesystem: record directory trees as snapshots, "
                + "inspect them, verify the store and write snapshots back out.",
        footerHeading = "%nStore:%n",
        footer = {
            "  --store DIR, else $TXFS_STORE, else /var/lib/txfs for root,",
            "  else $XDG_DATA_HOME/txfs or ~/.local/share/txfs (created on first use).",
            "%nSnapshots are named by a ref (HEAD, live, tags/v1, ...), a tag's name (v1), a full id",
            "or a unique id prefix (4+ hex digits; an ambiguous one lists its matches and exits 2),",
            "each optionally followed by ~N (N first parents) and ^N (the N-th parent): HEAD~2, v1^, v1~2^.",
            "A walk past where history ends exits 3; a malformed suffix exits 2. txfs refs lists every ref."
        },
        // The verbs are added by Main (see VERBS), only the one a run needs when it can tell.
        subcommands = {})
final class TxfsCommand {
    /** The verbs, in the order help lists them; one class each. */
    static final Map<String, Supplier<Object>> VERBS = verbs();

    private static Map<String, Supplier<Object>> verbs() {
        Map<String, Supplier<Object>> v = new LinkedHashMap<>();
        v.put("help", HelpCommand::new);
        v.put("init", InitCommand::new);
        v.put("snapshot", SnapshotCommand::new);
        v.put("checkout", CheckoutCommand::new);
        v.put("log", LogCommand::new);
        v.put("show", ShowCommand::new);
        v.put("diff", DiffCommand::new);
        v.put("tag", TagCommand::new);
        v.put("refs", RefsCommand::new);
        v.put("verify", VerifyCommand::new);
        v.put("rollback", RollbackCommand::new);
        v.put("gc", GcCommand::new);
        v.put("du", DuCommand::new);
        v.put("export", ExportCommand::new);
        v.put("import", ImportCommand::new);
        v.put("key", KeyCommand::new);
        v.put("sign", SignCommand::new);
        v.put("mount", MountCommand::new);
        v.put("umount", UmountCommand::new);
        v.put("boot", BootCommand::new);
        v.put("begin", TxnCommands.Begin::new);
        v.put("commit", TxnCommands.Commit::new);
        v.put("abort", TxnCommands.Abort::new);
        v.put("status", TxnCommands.Status::new);
        v.put("run", RunCommand::new);
        v.put("txn", TxnCommands.Txn::new);
        v.put("__train", TrainCommand::new);
        return Collections.unmodifiableMap(v);
    }

    @Option(
            names = "--store",
            paramLabel = "DIR",
            scope = ScopeType.INHERIT,
            description = "The store to use (default: $TXFS_STORE, else the user's default store).")
    Path store;

    @Option(names = "--stacktrace", scope = ScopeType.INHERIT, description = "Print the Java stack trace of an error.")
    boolean stacktrace;

    final StoreLocator locator;
    final boolean interactive;

    /**
     * @param interactive whether stderr is a terminal (progress output is shown only then)
     */
    TxfsCommand(StoreLocator locator, boolean interactive) {
        this.locator = locator;
        this.interactive = interactive;
    }
}
