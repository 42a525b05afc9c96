package dev.txfs.tool;

/** An expected failure of a command: one line for the user and the exit code it means. */
final class ToolException extends RuntimeException {
    private final ExitCode exitCode;

    ToolException(ExitCode exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    ToolException(ExitCode exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    ExitCode exitCode() {
        return exitCode;
    }
}
