package dev.txfs.tool;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Model.UsageMessageSpec;

/** Entry point of the {@code txfs} command; see {@link ExitCode} for what it returns. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            // The one answer that needs no command model: skip picocli's start-up (~80 ms, mostly
            // loading and verifying its Java 5 class files, which AppCDS cannot archive).
            System.out.println(new VersionProvider().getVersion()[0]);
            System.exit(0);
        }
        int code = newCommandLine(StoreLocator.forThisProcess(), System.console() != null, args)
                .execute(args);
        System.exit(code);
    }

    /** The command line with every verb (for help, and for tests). */
    static CommandLine newCommandLine(StoreLocator locator, boolean interactive) {
        return newCommandLine(locator, interactive, null);
    }

    /**
     * The configured command line. When {@code args} name a known verb, only that verb's command is
     * built: picocli's model costs a few milliseconds of reflection per verb, at every start.
     */
    static CommandLine newCommandLine(StoreLocator locator, boolean interactive, String[] args) {
        CommandLine cmd = new CommandLine(new TxfsCommand(locator, interactive));
        String only = args == null ? null : verbNeeded(args);
        for (Map.Entry<String, Supplier<Object>> verb : TxfsCommand.VERBS.entrySet()) {
            if (only == null || only.equals(verb.getKey())) {
                cmd.addSubcommand(verb.getKey(), verb.getValue().get());
            }
        }
        CommandLine run = cmd.getSubcommands().get("run");
        if (run != null) {
            run.setStopAtPositional(true); // txfs run [options] CMD ARGS...: CMD's options are its own
        }
        Errors errors = new Errors();
        cmd.setExecutionExceptionHandler(errors);
        cmd.setParameterExceptionHandler(errors);
        Map<String, String> codes = new LinkedHashMap<>();
        for (ExitCode c : ExitCode.values()) {
            codes.put(Integer.toString(c.code), c.meaning);
        }
        cmd.getCommandSpec()
                .usageMessage()
                .exitCodeListHeading("%nExit codes:%n")
                .exitCodeList(codes)
                .sectionMap()
                .put(UsageMessageSpec.SECTION_KEY_COMMAND_LIST, new VerbSummaries());
        return cmd;
    }

    /**
     * The one verb a command line needs, "" when it needs none ({@code --version}), or null when it
     * needs them all (help, no verb, an unknown verb: picocli lists or suggests the verbs).
     */
    static String verbNeeded(String[] args) {
        boolean version = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--store")) {
                i++; // its value
            } else if (a.startsWith("--store=") || a.equals("--stacktrace")) {
                continue;
            } else if (a.equals("--version") || a.equals("-V")) {
                version = true;
            } else if (a.startsWith("-")) {
                return null;
            } else {
                return TxfsCommand.VERBS.containsKey(a) && !a.equals("help") ? a : null;
            }
        }
        return version ? "" : null;
    }
}
