package dev.txfs.tool;

import dev.txfs.journal.DeltaReader;
import dev.txfs.journal.DeltaReader.DeltaException;
import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.RefStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code txfs import FILE}: checks a whole delta stream, then adds its objects and moves one ref.
 * A rejected stream changes nothing; the exit code says why (see the class's {@link #exitCodeOf}).
 */
@Command(
        name = "import",
        description = {
            "Check the delta stream FILE completely (format, every object's hash, the end digest, that every"
                    + " object it references is in the stream or the store, the base snapshot, safe names, and"
                    + " the signature), then store its objects and point a ref at its snapshot.",
            "Signatures: when a key is trusted (--trust, or a .pub file in the store's trusted-keys directory,"
                    + " see txfs key trust), the stream must be signed by one of them.",
            "On any problem prints one line naming it and changes nothing. Exit codes: 2 malformed, truncated,"
                    + " tampered or unsafe stream, or a ref that is elsewhere without --force; 3 base snapshot"
                    + " missing; 7 unsigned, unknown key or bad signature; 1 the ref moved meanwhile."
        })
final class ImportCommand extends BaseCommand {
    static final String TRUSTED_KEYS = "trusted-keys";

    @Parameters(index = "0", paramLabel = "FILE", description = "A stream written by txfs export.")
    Path file;

    @Option(names = "--trust", paramLabel = "KEYFILE", description = "Trust this public key (repeatable).")
    List<Path> trust = new ArrayList<>();

    @Option(
            names = "--ref",
            paramLabel = "NAME",
            description = "The ref to point at the imported snapshot (default: imports/<first 12 digits of its id>).")
    String ref;

    @Option(
            names = {"-f", "--force"},
            description = "Move --ref even if it names neither the stream's base nor its target now.")
    boolean force;

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString());
        }
        if (ref != null) {
            RefStore.checkName(ref);
        }
        try (LmdbObjectStore store = openStore()) {
            List<Ed25519.Public> keys = trustedKeys(store.directory(), trust);
            try {
                DeltaReader.Checked c = DeltaReader.check(DeltaReader.Source.of(file), store, keys);
                String name = ref != null ? ref : "imports/" + c.to().shortHex();
                ObjectId current = store.refs().find(name).orElse(null);
                if (current != null && !current.equals(c.from()) && !current.equals(c.to()) && !force) {
                    throw new ToolException(
                            ExitCode.USAGE,
                            "ref " + name + " is at " + current.shortHex() + ", not at the stream's base "
                                    + (c.from() == null
                                            ? "(none: a full stream)"
                                            : c.from().shortHex())
                                    + "; nothing was changed (--force moves it anyway)");
                }
                long written = c.apply(store, name, current);
                out().printf(
                                "imported %s%s as %s: %d objects in the stream, %d new%s%n",
                                c.from() == null ? "" : c.from().shortHex() + "..",
                                c.to().shortHex(),
                                name,
                                c.objects(),
                                written,
                                c.signer() == null
                                        ? ", unsigned"
                                        : c.signatureVerified()
                                                ? ", signed by trusted key "
                                                        + c.signer().shortHex()
                                                : ", signed by key "
                                                        + c.signer().shortHex() + " (not checked: no key trusted)");
                out().flush();
            } catch (DeltaException e) {
                throw new ToolException(exitCodeOf(e.problem()), "import rejected: " + e.getMessage(), e);
            }
        }
        return ExitCode.OK.code;
    }

    static ExitCode exitCodeOf(DeltaReader.Problem p) {
        return switch (p) {
            case BASE_MISSING -> ExitCode.NOT_FOUND;
            case UNSIGNED, UNKNOWN_KEY, BAD_SIGNATURE -> ExitCode.DENIED;
            case REF_CONFLICT -> ExitCode.FAILED;
            default -> ExitCode.USAGE;
        };
    }

    /** The keys given on the command line and the {@code .pub} files of the store's trusted-keys directory. */
    static List<Ed25519.Public> trustedKeys(Path storeDir, List<Path> given) throws IOException {
        List<Ed25519.Public> keys = new ArrayList<>();
        for (Path p : given) {
            keys.add(Ed25519.readPublic(p));
        }
        Path dir = storeDir.resolve(TRUSTED_KEYS);
        if (Files.isDirectory(dir)) {
            try (var files = Files.list(dir)) {
                for (Path p : files.filter(f -> f.toString().endsWith(".pub"))
                        .sorted()
                        .toList()) {
                    keys.add(Ed25519.readPublic(p));
                }
            }
        }
        return keys;
    }
}
