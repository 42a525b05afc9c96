package dev.txfs.tool;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Runs {@code txfs} commands in-process, as {@code Main} builds them, against a store in a
 * temporary directory ({@link #store}, not created here), capturing exit code, stdout and stderr.
 */
abstract class CliTestBase {
    @TempDir
    Path tmp;

    Path store;

    @org.junit.jupiter.api.BeforeEach
    void locateStore() {
        store = tmp.resolve("store");
    }

    /** What one run printed. */
    record Run(int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    /** Lets a test reach the command object before it runs (e.g. to set a clock). */
    interface Setup {
        void apply(CommandLine cmd);
    }

    Run run(String... args) {
        return run(cmd -> {}, new StoreLocator(Map.of(), 1000, tmp.resolve("home")), args);
    }

    Run run(Setup setup, StoreLocator locator, String... args) {
        CommandLine cmd = Main.newCommandLine(locator, false);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        setup.apply(cmd);
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    Run inStore(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--store";
        all[1] = store.toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return run(all);
    }
}
