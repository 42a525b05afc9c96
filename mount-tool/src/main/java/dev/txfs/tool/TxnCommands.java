package dev.txfs.tool;

import dev.txfs.snapshot.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

    /** A command that acts on the caller's transaction, or (root only) on one named with --txn. */
    abstract static class TargetedCommand extends TxnCommand {
        @Option(
                names = "--txn",
                paramLabel = "ID",
                description = "Root only: act on this open transaction (any user's, see txfs txn list)"
                        + " instead of the one this process is in.")
        String txn;

        /** {@code fields} with the encoded transaction id appended when --txn was given. */
        String[] request(String... fields) throws ToolException {
            if (txn == null) {
                return fields;
            }
            if (txn.isBlank()) {
                throw new ToolException(ExitCode.USAGE, "--txn needs a transaction id");
            }
            String[] all = java.util.Arrays.copyOf(fields, fields.length + 1);
            all[fields.length] = TxnClient.encode(txn);
            return all;
        }
    }

    /** Commit and abort: they act on a transaction, or with --run on a run txfs run kept. */
    abstract static class EndingCommand extends TargetedCommand {
        static final String RUNS = "runs/";

        @Option(
                names = "--run",
                paramLabel = "NAME",
                description = "Act on the run kept as ref runs/NAME by txfs run --keep (its user or root).")
        String run;

        /** The kept run named by --run, checked against --txn; null without --run. */
        String keptRun() throws ToolException {
            if (run == null) {
                return null;
            }
            if (txn != null) {
                throw new ToolException(ExitCode.USAGE, "--run and --txn name different things: give one");
            }
            if (run.isBlank()) {
                throw new ToolException(ExitCode.USAGE, "--run needs the name of a kept run");
            }
            return run.startsWith(RUNS) ? run.substring(RUNS.length()) : run;
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
                description = "Root the transaction at this ancestor process instead of the parent: one of your own"
                        + " (root may name any, and is told which other users' processes it took in).")
        long pid;

        @Override
        public Integer call() throws Exception {
            if (pid < 0) {
                throw new ToolException(ExitCode.USAGE, "--pid must be a process id");
            }
            List<String> reply = TxnClient.call(mount(), "begin", Long.toString(pid), TxnClient.encode(message))
                    .strip()
                    .lines()
                    .toList();
            System.out.println(reply.get(0).split("\t")[0]);
            // Root's begin may take in other users' processes: the daemon says which.
            reply.stream().skip(1).forEach(line -> System.err.println("txfs: " + line));
            return 0;
        }
    }

    @Command(
            name = "commit",
            description = {
                "Publish the transaction's changes atomically as a new snapshot (durable when this returns);",
                "prints its id. If a path it changed was also changed outside since begin, nothing is",
                "committed, the transaction stays open and the paths are printed after the summary (exit code 6).",
                "Root may commit another user's transaction with --txn ID.",
                "With --run NAME: merge the output of txfs run --keep (ref runs/NAME) the same way, then drop the ref."
            })
    static final class Commit extends EndingCommand {
        @Option(
                names = {"-m", "--message"},
                description = "Snapshot message (default: the one given to begin).")
        String message = "";

        @Option(
                names = "--json",
                description = "Print JSON: the snapshot, the paths changed, and the commit's time inside the daemon;"
                        + " on a conflict (exit code 6): conflicted true, the transaction (or run) and the conflicts.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            String[] reply;
            String kept = keptRun();
            try {
                reply = TxnClient.call(
                                mount(),
                                kept != null
                                        ? new String[] {
                                            "kept", "commit", TxnClient.encode(kept), TxnClient.encode(message)
                                        }
                                        : request("commit", TxnClient.encode(message)))
                        .strip()
                        .split("\t");
            } catch (ToolException e) {
                if (e.exitCode() == ExitCode.CONFLICT) {
                    return conflict(e.getMessage(), kept);
                } else if (e.exitCode() == ExitCode.DENIED) {
                    // refused by the live tree's permissions: one refused path (and why) per line
                    e.getMessage().lines().skip(1).forEach(p -> System.err.println("txfs: permission denied: " + p));
                }
                throw e;
            }
            if (json) {
                System.out.println(new Json()
                        .beginObject()
                        .field("snapshot", reply[0])
                        .field("changes", reply.length > 1 ? Long.parseLong(reply[1]) : 0)
                        .field("elapsed_us", reply.length > 2 ? Long.parseLong(reply[2]) : 0)
                        .endObject());
            } else {
                System.out.println(reply[0]);
            }
            return 0;
        }

        /**
         * Reports a conflict reply (the summary line, the id of what stays, one path per line): the
         * summary, the paths, then what to do; or with --json one object. Exit code 6.
         */
        private int conflict(String reply, String kept) {
            List<String> lines = reply.lines().toList();
            String summary = lines.get(0);
            String id = lines.size() > 1 ? lines.get(1) : "";
            List<String> paths = lines.size() > 2 ? lines.subList(2, lines.size()) : List.of();
            boolean isolated = kept == null && id.equals(IsolatedMount.CONFLICT_ID);
            if (json) {
                Json w = new Json().beginObject().field("conflicted", true);
                if (kept != null) {
                    w.field("run", kept);
                } else if (isolated) {
                    w.field("mount", mount().toString());
                } else {
                    w.field("transaction", id);
                }
                w.name("conflicts").beginArray();
                paths.forEach(w::value);
                System.out.println(w.endArray().endObject());
            } else {
                System.err.println(Errors.PREFIX + summary);
                paths.forEach(p -> System.err.println(Errors.PREFIX + "conflict: " + p));
                System.err.println(
                        kept != null
                                ? Errors.PREFIX + "resolve these paths in the live tree, then txfs commit --run " + kept
                                        + " again; or txfs abort --run " + kept + " to drop the run"
                                : isolated
                                        ? Errors.PREFIX + "resolve these paths in the mount or the live tree, then txfs"
                                                + " commit --mount " + mount() + " again; or txfs abort --mount "
                                                + mount() + " to drop the mount's changes"
                                        : Errors.PREFIX + "resolve these paths in the transaction, then txfs commit"
                                                + " again; or txfs abort to drop it");
            }
            return ExitCode.CONFLICT.code;
        }
    }

    @Command(
            name = "abort",
            description = {
                "Drop the transaction: the live tree and history stay as if it never existed.",
                "Root may abort another user's transaction with --txn ID.",
                "With --run NAME: drop the output kept by txfs run --keep as ref runs/NAME."
            })
    static final class Abort extends EndingCommand {
        @Override
        public Integer call() throws Exception {
            String kept = keptRun();
            TxnClient.call(
                    mount(),
                    kept != null ? new String[] {"kept", "drop", TxnClient.encode(kept), ""} : request("abort"));
            return 0;
        }
    }

    @Command(
            name = "status",
            description = {
                "Which sync context this process is in (the live tree or a transaction) and how membership",
                "is decided; for a transaction: its base snapshot, age and changed paths."
            })
    static final class Status extends TargetedCommand {
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            System.out.print(TxnClient.call(mount(), request("status", json ? "json" : "text")));
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
        /** A text row: the columns before COMMAND (USER may be "uid N"), then the command. */
        private static final Pattern ROW =
                Pattern.compile("^(\\S+ +(\\d+) +(?:uid \\d+|\\S+) +\\S+ +\\d+ +\\d+  )(.*)$");

        /** The daemon writes root_pid just before command. */
        private static final Pattern JSON_COMMAND =
                Pattern.compile("(\"root_pid\":(\\d+),\"command\":\")((?:[^\"\\\\]|\\\\.)*)(\")");

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            String reply = TxnClient.call(listedMount(), "list", json ? "json" : "text");
            System.out.print(json ? userCommandsInJson(reply) : userCommandsInText(reply));
            return 0;
        }

        /**
         * --mount, else the mount holding the working directory, else the store's one mount: listing
         * shows only the caller's own transactions (root's: all), so naming the only mount there is
         * acts on nobody else's.
         */
        private Path listedMount() throws ToolException {
            if (mount != null || Mounts.containing(Path.of("").toAbsolutePath()).isPresent()) {
                return mount();
            }
            TxfsCommand txfs = (TxfsCommand) spec.root().userObject();
            Path store = txfs.locator.locate(txfs.store).dir();
            List<Mounts.TxfsMount> mounts = Mounts.ofStore(store);
            if (mounts.size() == 1) {
                return mounts.get(0).mountpoint();
            }
            if (mounts.size() > 1) {
                throw new ToolException(
                        ExitCode.USAGE,
                        "the store " + store + " is mounted at " + mounts.size()
                                + " places: cd into one, or say which with --mount DIR");
            }
            return mount(); // no mount of this store: the usual message
        }

        static String userCommandsInText(String reply) {
            StringBuilder b = new StringBuilder();
            for (String line : reply.lines().toList()) {
                Matcher m = ROW.matcher(line);
                b.append(m.matches() ? m.group(1) + userCommand(m.group(3), Long.parseLong(m.group(2))) : line)
                        .append('\n');
            }
            return b.toString();
        }

        static String userCommandsInJson(String reply) {
            // The launcher words hold no quote or backslash: cutting them leaves the escaping intact.
            return JSON_COMMAND
                    .matcher(reply)
                    .replaceAll(m -> Matcher.quoteReplacement(
                            m.group(1) + userCommand(m.group(3), Long.parseLong(m.group(2))) + m.group(4)));
        }

        /**
         * {@link #userCommand(String)} of the process's whole command line when it is still the one
         * shown: the daemon cuts long command lines, often before a txfs client's own words.
         */
        static String userCommand(String shown, long pid) {
            String full = cmdline(pid);
            return userCommand(full != null && full.startsWith(shown) ? full : shown);
        }

        /** /proc/PID/cmdline with its NULs as spaces, or null when it cannot be read. */
        static String cmdline(long pid) {
            try {
                byte[] b = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
                int len = b.length;
                while (len > 0 && b[len - 1] == 0) {
                    len--;
                }
                for (int i = 0; i < len; i++) {
                    if ((b[i] >= 0 && b[i] < ' ') || b[i] == 0x7f) {
                        b[i] = ' '; // as the daemon shows it
                    }
                }
                return len == 0 ? null : new String(b, 0, len, StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        /**
         * The command as its user typed it: a txfs client's {@code java --add-opens … -jar …/txfs.jar
         * ARGS} (or {@code … dev.txfs.tool.Main ARGS}) becomes {@code txfs ARGS}; any other command is
         * left as it is.
         */
        static String userCommand(String command) {
            String[] words = command.split(" ");
            if (words.length < 2 || !Path.of(words[0]).getFileName().toString().startsWith("java")) {
                return command;
            }
            for (int i = 1; i < words.length; i++) {
                int rest = -1;
                if (words[i].equals("-jar")
                        && i + 1 < words.length
                        && Path.of(words[i + 1]).getFileName().toString().matches("txfs.*\\.jar")) {
                    rest = i + 2;
                } else if (words[i].equals(Main.class.getName())) {
                    rest = i + 1;
                }
                if (rest >= 0) {
                    List<String> typed = new ArrayList<>(List.of("txfs"));
                    typed.addAll(List.of(words).subList(rest, words.length));
                    return String.join(" ", typed);
                }
            }
            return command;
        }
    }
}
