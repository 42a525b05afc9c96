package dev.txfs.tool;

import dev.txfs.journal.Delta;
import dev.txfs.journal.DeltaStream;
import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs export FROM..TO | TO -o FILE}: writes a delta stream (docs/ARCHITECTURE.md, "Deltas"). */
@Command(
        name = "export",
        description = {
            "Write the objects snapshot TO has and FROM lacks as a delta stream to FILE (FROM..TO), or every"
                    + " object TO reaches (TO alone: a full stream).",
            "The stream is checked end to end by txfs import; --sign adds an Ed25519 signature of a statement"
                    + " that binds the stream to --ref NAME and --version N: an importer that trusts the key moves"
                    + " only that ref, and only to a version above the last it accepted for it."
        })
final class ExportCommand extends BaseCommand {
    private static final SecureRandom RANDOM = new SecureRandom();

    @Parameters(index = "0", paramLabel = "FROM..TO", description = "Two snapshots (FROM..TO), or one (TO).")
    String range;

    @Option(
            names = {"-o", "--output"},
            required = true,
            paramLabel = "FILE",
            description = "Where to write the stream (replaced at the end, never left half written).")
    Path output;

    @Option(
            names = "--sign",
            paramLabel = "KEYFILE",
            description = "Sign with this secret key (txfs key generate); needs --ref.")
    Path signKey;

    @Option(
            names = "--ref",
            paramLabel = "NAME",
            description = "With --sign: the ref (channel) the stream is for, e.g. boot/default; import moves no other.")
    String ref;

    @Option(
            names = "--version",
            paramLabel = "N",
            description = "With --sign: the stream's version on --ref, 0 or more; importers refuse a version not"
                    + " above the last they accepted for the ref (default: now, in seconds since 1970-01-01 UTC,"
                    + " so later exports get higher versions).")
    Long version;

    @Option(
            names = "--expires",
            paramLabel = "WHEN",
            description = "With --sign: refuse the stream after WHEN, an ISO-8601 time (2027-01-31T00:00:00Z) or a"
                    + " duration from now (P30D, PT12H) (default: never).")
    String expires;

    /** Signing time and the default version; tests set it. */
    Clock clock = Clock.systemUTC();

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
        DeltaStream.Signer signer = signer();
        Ed25519.Secret key = signer == null ? null : signer.key();
        int dots = range.indexOf("..");
        if (dots >= 0 && (dots == 0 || dots + 2 == range.length())) {
            throw new ToolException(ExitCode.USAGE, "expected FROM..TO or TO, got '" + range + "'");
        }
        try (LmdbObjectStore store = openStore()) {
            ObjectId from = dots < 0 ? null : resolve(store, range.substring(0, dots));
            ObjectId to = resolve(store, dots < 0 ? range : range.substring(dots + 2));
            Delta delta = Delta.between(store, from, to);
            Path target = output.toAbsolutePath();
            Path tmp = null;
            DeltaStream.Written w;
            try {
                tmp = createTemp(target);
                try (OutputStream out = new BufferedOutputStream(
                        Files.newOutputStream(tmp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), 1 << 16)) {
                    w = DeltaStream.write(store, delta, out, signer, level);
                }
                // rename(2) replaces the name FILE itself, never what a symlink there points to
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                if (tmp != null) {
                    Files.deleteIfExists(tmp);
                }
                throw e;
            }
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
                                    : ", signed by key " + key.publicKey().id().shortHex() + " for ref " + signer.ref()
                                            + " version " + signer.version());
            out().flush();
        }
        return ExitCode.OK.code;
    }

    /** What --sign, --ref, --version and --expires ask for, or null without --sign. */
    private DeltaStream.Signer signer() throws IOException {
        if (signKey == null) {
            if (ref != null || version != null || expires != null) {
                throw new ToolException(ExitCode.USAGE, "--ref, --version and --expires need --sign KEYFILE");
            }
            return null;
        }
        if (ref == null) {
            throw new ToolException(
                    ExitCode.USAGE, "--sign needs --ref NAME: a signed stream names the one ref it may move");
        }
        long now = clock.instant().getEpochSecond();
        long v = version != null ? version : now;
        long until = expires == null ? 0 : expiry(expires, clock.instant());
        try {
            return new DeltaStream.Signer(Ed25519.readSecret(signKey), ref, v, now, until);
        } catch (IllegalArgumentException e) {
            throw new ToolException(ExitCode.USAGE, e.getMessage(), e);
        }
    }

    /** {@code when} (an ISO-8601 instant, or a duration from {@code now}) in seconds since the epoch. */
    static long expiry(String when, Instant now) {
        try {
            Instant at =
                    when.startsWith("P") || when.startsWith("p") ? now.plus(Duration.parse(when)) : Instant.parse(when);
            if (!at.isAfter(now)) {
                throw new ToolException(ExitCode.USAGE, "--expires " + when + " is not in the future");
            }
            return at.getEpochSecond();
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new ToolException(
                    ExitCode.USAGE,
                    "--expires takes an ISO-8601 time (2027-01-31T00:00:00Z) or a duration (P30D), not '" + when + "'");
        }
    }

    /**
     * A new, empty file beside {@code target} with a random name, created exclusively (O_CREAT |
     * O_EXCL, which never follows a symlink): nothing another user planted in the directory, at a
     * name they could predict, is written through.
     */
    static Path createTemp(Path target) throws IOException {
        for (int attempt = 0; ; attempt++) {
            byte[] r = new byte[8];
            RANDOM.nextBytes(r);
            Path tmp = target.resolveSibling(
                    "." + target.getFileName() + "." + HexFormat.of().formatHex(r) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 10) {
                    throw e;
                }
            }
        }
    }
}
