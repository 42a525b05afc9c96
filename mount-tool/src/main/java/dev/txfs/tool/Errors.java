package dev.txfs.tool;

import dev.txfs.snapshot.MalformedObjectException;
import dev.txfs.snapshot.ObjectStore;
import dev.txfs.snapshot.TxfsException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import picocli.CommandLine;

/**
 * Turns any failure of a command into one line on stderr ({@code txfs: ...}) and an {@link
 * ExitCode}; {@code --stacktrace} adds the trace.
 */
final class Errors implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {
    static final String PREFIX = "txfs: ";

    @Override
    public int handleExecutionException(Exception ex, CommandLine commandLine, CommandLine.ParseResult parseResult) {
        return report(ex, commandLine);
    }

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        String name = cmd.getCommandSpec().qualifiedName(" ");
        String help = name.equals("txfs") ? "txfs help" : "txfs help " + cmd.getCommandName();
        cmd.getErr().println(PREFIX + oneLine(ex.getMessage()) + " (see '" + help + "')");
        cmd.getErr().flush();
        return ExitCode.USAGE.code;
    }

    static int report(Throwable ex, CommandLine cmd) {
        Throwable t = unwrap(ex);
        ExitCode code = exitCodeOf(t);
        PrintWriter err = cmd.getErr();
        err.println(PREFIX + message(t));
        if (stacktraceWanted(cmd)) {
            ex.printStackTrace(err);
        }
        err.flush();
        return code.code;
    }

    private static boolean stacktraceWanted(CommandLine cmd) {
        CommandLine top = cmd;
        while (top.getParent() != null) {
            top = top.getParent();
        }
        return top.getCommand() instanceof TxfsCommand t && t.stacktrace;
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof UncheckedIOException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static ExitCode exitCodeOf(Throwable t) {
        if (t instanceof ToolException e) {
            return e.exitCode();
        }
        if (t instanceof ObjectStore.StoreFormatException
                || t instanceof ObjectStore.StoreFullException
                || t instanceof ObjectStore.MissingObjectException
                || t instanceof ObjectStore.CorruptObjectException
                || t instanceof MalformedObjectException) {
            return ExitCode.STORE;
        }
        if (t instanceof dev.txfs.snapshot.Ed25519.KeyFileException) {
            return ExitCode.USAGE; // a file given as a key that is not one is bad input
        }
        if (t instanceof TxfsException) {
            return ExitCode.FAILED;
        }
        if (t instanceof NoSuchFileException) {
            return ExitCode.NOT_FOUND;
        }
        if (t instanceof IOException) {
            return ExitCode.IO;
        }
        if (t instanceof IllegalArgumentException) {
            return ExitCode.USAGE;
        }
        return ExitCode.FAILED;
    }

    static String message(Throwable t) {
        if (t instanceof dev.txfs.fs.posix.PosixException) {
            return oneLine(t.getMessage());
        }
        if (t instanceof NoSuchFileException e) {
            return "no such file or directory: " + e.getFile();
        }
        if (t instanceof AccessDeniedException e) {
            return "permission denied: " + e.getFile();
        }
        if (t instanceof NotDirectoryException e) {
            return "not a directory: " + e.getFile();
        }
        if (t instanceof FileSystemException e) {
            return oneLine(
                    e.getFile() + ": " + (e.getReason() == null ? e.getClass().getSimpleName() : e.getReason()));
        }
        if (t instanceof TxfsException || t instanceof ToolException || t instanceof IOException) {
            return oneLine(t.getMessage() == null ? t.toString() : t.getMessage());
        }
        if (t instanceof IllegalArgumentException && t.getMessage() != null) {
            return oneLine(t.getMessage());
        }
        return "internal error: " + oneLine(t.toString()) + " (run with --stacktrace for details)";
    }

    static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).strip();
    }
}
