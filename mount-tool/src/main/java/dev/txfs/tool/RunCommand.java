package dev.txfs.tool;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code txfs run [--base ID] [--commit | --keep | --discard] -- CMD ARGS...}: CMD and every
 * process it starts run in a transaction of their own, begun before CMD starts.
 *
 * <p>How: this process begins a transaction rooted at itself (so membership covers it and every
 * descendant from the start), starts CMD as its child, waits, and then asks the daemon to finish
 * the transaction as told ({@code finish} on the control file, see {@code TxnControl}). While CMD
 * runs, SIGINT and SIGQUIT from the terminal are left to CMD (this process ignores them) and a
 * SIGTERM or SIGHUP sent to this process is passed on to CMD: either way the run still ends with
 * its summary. If this process is killed outright, the daemon aborts the transaction once no
 * process of it is left.
 */
@Command(
        name = "run",
        description = {
            "Run CMD (and everything it starts) in a fresh transaction of its own, begun before CMD's first"
                    + " system call: its changes are invisible to everything else on the mount until they"
                    + " are committed, and it does not see changes made outside meanwhile.",
            "When CMD exits: --keep (the default) records its output as a snapshot whose parent is the base,"
                    + " under the ref runs/NAME, for txfs diff and a later txfs commit --run NAME or"
                    + " txfs abort --run NAME; --commit merges it into the live tree as txfs commit does"
                    + " if CMD succeeded (and drops it if not; a conflict keeps it and exits 6, a commit the live"
                    + " tree's permissions refuse keeps it and exits 7);"
                    + " --discard drops it.",
            "Exits with CMD's exit status (128+N if a signal N ended it; 127 if it cannot be started)."
                    + " A summary (base, output tree id, changes, what became of it) goes to stderr,"
                    + " or with --json as one JSON object to stdout after CMD's own output."
        })
final class RunCommand extends TxnCommands.TxnCommand {
    @Option(
            names = "--base",
            paramLabel = "SNAPSHOT",
            description = "Run on this snapshot's tree instead of the live state (a ref, tag, id or prefix).")
    String base;

    @ArgGroup(exclusive = true)
    Mode mode = new Mode();

    static final class Mode {
        @Option(names = "--commit", description = "Commit the output if CMD exits 0 (else drop it).")
        boolean commit;

        @Option(names = "--keep", description = "Keep the output as ref runs/NAME (the default).")
        boolean keep;

        @Option(names = "--discard", description = "Drop the output.")
        boolean discard;
    }

    @Option(
            names = "--name",
            paramLabel = "NAME",
            description = "The kept run's name, for ref runs/NAME (default: the transaction id).")
    String name = "";

    @Option(
            names = {"-m", "--message"},
            paramLabel = "MSG",
            description = "Message of the snapshot recorded (default: the command line).")
    String message;

    @Option(
            names = "--clamp-mtime",
            paramLabel = "EPOCH",
            description = "Set the modification time of every entry the run wrote (and of directories whose"
                    + " entries it changed) to EPOCH (seconds since 1970) when it is later, so that runs writing"
                    + " the same bytes give the same tree id (default: $SOURCE_DATE_EPOCH when set).")
    Long clampMtime;

    @Option(names = "--json", description = "Print the summary as JSON on stdout.")
    boolean json;

    @Parameters(arity = "1..*", paramLabel = "CMD", description = "The command and its arguments (after --).")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (mode.discard && !name.isEmpty()) {
            throw new ToolException(ExitCode.USAGE, "--name names a kept run: it does not go with --discard");
        }
        if (!name.isEmpty()) {
            try {
                dev.txfs.snapshot.RefStore.checkName("runs/" + name);
            } catch (IllegalArgumentException e) {
                throw new ToolException(
                        ExitCode.USAGE,
                        "invalid run name '" + name
                                + "': letters, digits, '.', '_' and '-', in parts separated by '/', no '..'");
            }
        }
        String msg = message != null ? message : "txfs run " + String.join(" ", command);
        String clamp = clampNs();
        var mp = mount();
        List<String> begin = new ArrayList<>(
                List.of("begin", Long.toString(ProcessHandle.current().pid()), TxnClient.encode(msg)));
        if (base != null) {
            if (base.isBlank()) {
                throw new ToolException(ExitCode.USAGE, "--base needs a snapshot");
            }
            begin.add(TxnClient.encode(base));
        }
        String txn = TxnClient.call(mp, begin.toArray(String[]::new)).strip().split("\t")[0];

        int status = runChild();

        String how = mode.discard ? "discard" : mode.commit ? (status == 0 ? "commit" : "discard") : "keep";
        String reply;
        try {
            reply = TxnClient.call(mp, finish(how, msg, name, clamp));
        } catch (ToolException e) {
            if (how.equals("discard")) {
                throw e;
            }
            // e.g. a name already taken: keep the output under the transaction's id rather than lose it
            System.err.println("txfs run: " + e.getMessage() + "; keeping the output as runs/" + txn);
            reply = TxnClient.call(mp, finish("keep", msg, "", clamp));
        }
        int nl = reply.indexOf('\n');
        String summary = reply.substring(0, nl);
        boolean conflicted = !summary.contains("\"conflicts\":[]");
        boolean denied = summary.contains("\"denied\":[\"");
        if (json) {
            System.out.println("{\"exit\":" + status + "," + summary.substring(1));
        } else {
            System.err.print(("exit status " + status + "; " + reply.substring(nl + 1))
                    .lines()
                    .map(l -> "txfs run: " + l + "\n")
                    .reduce("", String::concat));
        }
        if (status == 0 && denied) {
            return ExitCode.DENIED.code; // refused by the live tree's permissions: kept
        }
        return status == 0 && conflicted ? ExitCode.CONFLICT.code : status;
    }

    /** The finish request's fields. */
    private static String[] finish(String how, String msg, String name, String clampNs) {
        List<String> f = new ArrayList<>(List.of("finish", how, TxnClient.encode(msg), TxnClient.encode(name)));
        if (clampNs != null) {
            f.add(clampNs);
        }
        return f.toArray(String[]::new);
    }

    /** --clamp-mtime, else $SOURCE_DATE_EPOCH, in nanoseconds; null for neither. */
    private String clampNs() throws ToolException {
        Long s = clampMtime;
        if (s == null) {
            String env = System.getenv("SOURCE_DATE_EPOCH");
            if (env == null || env.isEmpty()) {
                return null;
            }
            try {
                s = Long.parseLong(env.strip());
            } catch (NumberFormatException e) {
                throw new ToolException(ExitCode.USAGE, "SOURCE_DATE_EPOCH is not a number of seconds: '" + env + "'");
            }
        }
        if (s < 0 || s > Long.MAX_VALUE / 1_000_000_000L) {
            throw new ToolException(ExitCode.USAGE, "the clamp time must be seconds since 1970, not " + s);
        }
        return Long.toString(s * 1_000_000_000L);
    }

    /**
     * Starts CMD with this process's stdin, stdout and stderr and waits for it; its exit status
     * (128+N when signal N ended it), or 127 when it cannot be started.
     */
    private int runChild() throws InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).inheritIO().start();
        } catch (IOException e) {
            System.err.println("txfs run: cannot start " + command.get(0) + ": " + e.getMessage());
            return 127;
        }
        for (String sig : List.of("INT", "QUIT", "TERM", "HUP")) {
            try {
                boolean pass = sig.equals("TERM") || sig.equals("HUP");
                sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> {
                    if (pass) {
                        p.destroy(); // SIGTERM to CMD; the run still finishes
                    }
                });
            } catch (IllegalArgumentException e) {
                // the JVM reserves this signal here (e.g. QUIT with -Xrs unset): leave it
            }
        }
        return p.waitFor();
    }
}
