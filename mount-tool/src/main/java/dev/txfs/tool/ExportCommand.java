package dev.txfs.tool;

import dev.txfs.journal.Delta;
import dev.txfs.journal.DeltaStream;
import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs export FROM..TO | TO -o FILE}: writes a delta stream (docs/ARCHITECTURE.md, "Deltas"). */
@Command(
        name = "export",
        description = {
            "Write the objects snapshot TO has and FROM lacks as a delta stream to FILE (FROM..TO), or every"
                    + " object TO reaches (TO alone: a full stream).",
            "The stream is checked end to end by txfs import; --sign adds an Ed25519 signature."
        })
final class ExportCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "FROM..TO", description = "Two snapshots (FROM..TO), or one (TO).")
    String range;

    @Option(
            names = {"-o", "--output"},
            required = true,
            paramLabel = "FILE",
            description = "Where to write the stream (replaced at the end, never left half written).")
    Path output;

    @Option(names = "--sign", paramLabel = "KEYFILE", description = "Sign with this secret key (txfs key generate).")
    Path signKey;

    @Option(
            names = "--level",
            paramLabel = "N",
            description = "DEFLATE level for the objects, 1 (fastest) to 9 (smallest); 0 stores them as they are,"
                    + " in a version-1 stream that txfs builds before stream version 2 can read"
                    + " (default: ${DEFAULT-VALUE}).")
    int level = DeltaStream.DEFAULT_LEVEL;

    @Override
    public Integer call() throws IOException {
        if (level < 0 || level > 9) {
            throw new ToolException(ExitCode.USAGE, "--level must be 0 to 9, got " + level);
        }
        Ed25519.Secret key = signKey == null ? null : Ed25519.readSecret(signKey);
        int dots = range.indexOf("..");
        if (dots >= 0 && (dots == 0 || dots + 2 == range.length())) {
            throw new ToolException(ExitCode.USAGE, "expected FROM..TO or TO, got '" + range + "'");
        }
        try (LmdbObjectStore store = openStore()) {
            ObjectId from = dots < 0 ? null : resolve(store, range.substring(0, dots));
            ObjectId to = resolve(store, dots < 0 ? range : range.substring(dots + 2));
            Delta delta = Delta.between(store, from, to);
            Path tmp = output.toAbsolutePath().resolveSibling("." + output.getFileName() + ".tmp");
            DeltaStream.Written w;
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                w = DeltaStream.write(store, delta, out, key, level);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            out().printf(
                            "exported %s%s: %d objects, %d bytes, %d changed paths, %d chunks%s%n",
                            from == null ? "" : from.shortHex() + "..",
                            to.shortHex(),
                            w.objects(),
                            w.bytes(),
                            delta.changes().size(),
                            w.chunks(),
                            key == null
                                    ? ""
                                    : ", signed by key " + key.publicKey().id().shortHex());
            out().flush();
        }
        return ExitCode.OK.code;
    }
}
