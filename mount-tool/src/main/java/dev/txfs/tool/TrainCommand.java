package dev.txfs.tool;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code txfs __train} (hidden): runs every verb once on a throw-away store and tree in a temporary
 * directory, so that bin/txfs can dump the classes they load into its AppCDS archive. Touches no
 * other store.
 */
@Command(name = "__train", hidden = true, description = "Exercise every verb on a temporary store (for AppCDS).")
final class TrainCommand extends BaseCommand {
    @Override
    public Integer call() throws IOException {
        Path tmp = Files.createTempDirectory("txfs-train");
        try {
            Path src = Files.createDirectories(tmp.resolve("src/d"));
            Files.writeString(src.resolve("small"), "small");
            Files.write(src.resolve("medium"), new byte[20_000]);
            byte[] big = new byte[600_000];
            new java.util.Random(1).nextBytes(big);
            Files.write(src.resolve("big"), big);
            Files.createSymbolicLink(src.resolve("link"), Path.of("small"));
            Files.createLink(src.resolve("hard"), src.resolve("small"));
            String store = tmp.resolve("store").toString();
            String source = tmp.resolve("src").toString();
            String cmdline = Files.writeString(tmp.resolve("cmdline"), "ro txfs.root=nosuch txfs.store=/dev/vda\n")
                    .toString();
            String store2 = tmp.resolve("store2").toString();
            String key = tmp.resolve("key").toString();
            String[][] runs = {
                {"--store", store, "init"},
                {"--store", store, "snapshot", "--from-dir", source, "-v", "--ref", "tags/first"},
                {"--store", store, "snapshot", "--from-dir", source},
                {"--store", store, "log"},
                {"--store", store, "log", "--json"},
                {"--store", store, "show", "HEAD"},
                {"--store", store, "show", "--json", "HEAD"},
                {"--store", store, "tag", "train", "HEAD"},
                {"--store", store, "tag", "--list"},
                {"--store", store, "diff", "--stat", "first", "train"},
                {"--store", store, "diff", "--json", "--stat", "HEAD", "tags/train"},
                {"--store", store, "tag", "-d", "train"},
                {"--store", store, "verify"},
                {"--store", store, "gc", "--json"},
                {"--store", store, "du"},
                {"--store", store, "key", "generate", "-o", key},
                {"--store", store, "key", "id", key + ".pub"},
                {"--store", store, "export", "first", "-o", tmp.resolve("full").toString()},
                {
                    "--store",
                    store,
                    "export",
                    "first..HEAD",
                    "--sign",
                    key,
                    "-o",
                    tmp.resolve("delta").toString()
                },
                {"--store", store2, "init"},
                {"--store", store2, "import", tmp.resolve("full").toString(), "--ref", "HEAD"},
                {"--store", store2, "import", tmp.resolve("delta").toString(), "--trust", key + ".pub"},
                {"--store", store2, "import", tmp.resolve("src/d/small").toString()},
                {"--store", store, "sign", "--key", key, "HEAD"},
                {"--store", store, "verify", "--signed-by", key + ".pub", "HEAD"},
                {"--store", store2, "key", "trust", key + ".pub"},
                {"--store", store2, "key", "list"},
                {"--store", store, "checkout", "HEAD", tmp.resolve("out").toString(), "-v"},
                {"--store", store, "show", "nosuchsnapshot"},
                {"--store", store, "boot", "set-default", "HEAD", "--tries", "2"},
                {"--store", store, "boot", "resolve", "--cmdline", cmdline},
                {"--store", store, "boot", "resolve", "--cmdline", cmdline, "--json", "--dry-run"},
                {"--store", store, "boot", "mark-good"},
                {"--store", store, "boot", "list"},
                {"help", "snapshot"},
            };
            for (String[] args : runs) {
                if (args.length > 3 && args[2].equals("snapshot") && !args[args.length - 1].equals("tags/first")) {
                    Files.writeString(src.resolve("changed"), "so that diff has something to show");
                }
                CommandLine cmd = Main.newCommandLine(new StoreLocator(Map.of(), -1, tmp), false);
                cmd.setOut(new PrintWriter(new StringWriter()));
                cmd.setErr(new PrintWriter(new StringWriter()));
                cmd.execute(args);
            }
        } finally {
            deleteTree(tmp);
        }
        return ExitCode.OK.code;
    }

    private static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
