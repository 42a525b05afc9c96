package dev.txfs.tool;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The transaction commands: begin, commit, abort, status, txn list. They talk to the mount's control file. */
final class TxnCommands {
    private TxnCommands() {}

    abstract static class TxnCommand implements Callable<Integer> {
        @Option(
                names = "--mount",
                paramLabel = "DIR",
                description = "The txfs mount (default: the one holding the working directory).")
        Path mount;

        Path mount() throws ToolException {
            return TxnClient.mountFor(mount);
        }
    }

    @Command(
            name = "begin",
            description = {
                "Start a transaction rooted at the calling shell: from now on it and every process it has",
                "started or starts see a private view of the mount until txfs commit or txfs abort.",
                "Prints the transaction id. Nested transactions are not supported: begin inside one fails.",
                "A shell that exits without commit or abort has its transaction aborted."
            })
    static final class Begin extends TxnCommand {
        @Option(
                names = {"-m", "--message"},
                description = "Message for the snapshot a commit records.")
        String message = "";

        @Option(
                names = "--pid",
                paramLabel = "PID",
                description = "Root the transaction at this ancestor process instead of the parent.")
        long pid;

        @Override
        public Integer call() throws Exception {
            if (pid < 0) {
                throw new ToolException(ExitCode.USAGE, "--pid must be a process id");
            }
            String[] reply = TxnClient.call(mount(), "begin", Long.toString(pid), TxnClient.encode(message))
                    .strip()
                    .split("\t");
            System.out.println(reply[0]);
            return 0;
        }
    }

    @Command(
            name = "commit",
            description = {
                "Publish the transaction's changes atomically as a new snapshot (durable when this returns);",
                "prints its id. If a path it changed was also changed outside since begin, nothing is",
                "committed, the paths are printed, and the transaction stays open (exit code 6)."
            })
    static final class Commit extends TxnCommand {
        @Option(
                names = {"-m", "--message"},
                description = "Snapshot message (default: the one given to begin).")
        String message = "";

        @Override
        public Integer call() throws Exception {
            String[] reply;
            try {
                reply = TxnClient.call(mount(), "commit", TxnClient.encode(message))
                        .strip()
                        .split("\t");
            } catch (ToolException e) {
                if (e.exitCode() == ExitCode.CONFLICT) {
                    // the first line is the summary; then one conflicting path per line
                    e.getMessage().lines().skip(1).forEach(p -> System.err.println("txfs: conflict: " + p));
                }
                throw e;
            }
            System.out.println(reply[0]);
            return 0;
        }
    }

    @Command(
            name = "abort",
            description = "Drop the transaction: the live tree and history stay as if it never existed.")
    static final class Abort extends TxnCommand {
        @Override
        public Integer call() throws Exception {
            TxnClient.call(mount(), "abort");
            return 0;
        }
    }

    @Command(
            name = "status",
            description = {
                "Which sync context this process is in (the live tree or a transaction) and how membership",
                "is decided; for a transaction: its base snapshot, age and changed paths."
            })
    static final class Status extends TxnCommand {
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            System.out.print(TxnClient.call(mount(), "status", json ? "json" : "text"));
            return 0;
        }
    }

    @Command(
            name = "txn",
            description = "Transactions of a mount.",
            subcommands = {TxnList.class})
    static final class Txn implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            throw new ToolException(ExitCode.USAGE, "txfs txn: say what, e.g. txfs txn list");
        }
    }

    @Command(
            name = "list",
            description =
                    "Open transactions (your own; root sees all): id, root pid and command, user, age, changed entries, bytes.")
    static final class TxnList extends TxnCommand {
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            System.out.print(TxnClient.call(mount(), "list", json ? "json" : "text"));
            return 0;
        }
    }
}
