package dev.txfs.tool;

import dev.txfs.journal.DeltaReader;
import dev.txfs.journal.DeltaReader.DeltaException;
import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.RefStore;
import dev.txfs.snapshot.SignedStatement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
                    + " see txfs key trust), the stream must be signed by one of them (txfs export --sign --ref),"
                    + " --ref must be the ref it was signed for (the default), and its version must be above the"
                    + " last one accepted for that ref (kept in the store beside the ref), unless --allow-downgrade."
                    + " Streams signed before stream version 3 bind no ref or version and are refused.",
            "Importing onto boot/default puts the new default under boot assessment: --tries N boots (default 3)"
                    + " before txfs boot falls back to boot/last-good.",
            "On any problem prints one line naming it and changes nothing. Exit codes: 2 malformed, truncated,"
                    + " tampered or unsafe stream, or a ref that is elsewhere without --force; 3 base snapshot"
                    + " missing; 7 unsigned, unknown key, bad signature, another ref than the signed one, an"
                    + " expired signature or an older version; 1 the ref moved meanwhile."
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
            description = "The ref to point at the imported snapshot (default: the ref a trusted signature names, else"
                    + " imports/<first 12 digits of its id>).")
    String ref;

    @Option(
            names = "--allow-downgrade",
            description = "Accept a signed version that is not above the last one accepted for the ref (the"
                    + " recorded version stays the highest).")
    boolean allowDowngrade;

    @Option(
            names = "--tries",
            paramLabel = "N",
            description = "With --ref boot/default: unmarked boots the new default gets before txfs boot falls back to"
                    + " boot/last-good (default: 3).")
    Integer tries;

    /** For signature expiry; tests set it. */
    Clock clock = Clock.systemUTC();

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
        if (tries != null && (tries < 1 || tries > BootSelector.MAX_TRIES)) {
            throw new ToolException(
                    ExitCode.USAGE, "--tries must be 1 to " + BootSelector.MAX_TRIES + ", got " + tries);
        }
        try (LmdbObjectStore store = openStore()) {
            List<Ed25519.Public> keys = trustedKeys(store.directory(), trust);
            try {
                DeltaReader.Checked c = DeltaReader.check(DeltaReader.Source.of(file), store, keys);
                SignedStatement signed = c.signatureVerified() ? c.statement() : null;
                String name = ref != null ? ref : signed != null ? signed.ref() : "imports/" + c.to().shortHex();
                if (tries != null && !name.equals(BootSelector.DEFAULT)) {
                    throw new ToolException(ExitCode.USAGE, "--tries is for --ref " + BootSelector.DEFAULT + " only");
                }
                List<RefStore.ValueUpdate> values = new ArrayList<>();
                if (signed != null) {
                    values.add(versionMark(store, signed, name));
                }
                if (name.equals(BootSelector.DEFAULT)) {
                    int n = tries != null ? tries : BootSelector.DEFAULT_TRIES;
                    values.add(new RefStore.ValueUpdate(
                            BootSelector.TRIES,
                            store.refs().findValue(BootSelector.TRIES).orElse(null),
                            new BootSelector.Tries(c.to(), n, n).encode()));
                }
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
                long written = c.apply(store, name, current, values);
                out().printf(
                                "imported %s%s as %s%s: %d objects in the stream, %d new%s%n",
                                c.from() == null ? "" : c.from().shortHex() + "..",
                                c.to().shortHex(),
                                name,
                                signed == null ? "" : " version " + signed.version(),
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

    /**
     * The update of {@code ref}'s version mark for a stream whose verified statement is {@code
     * signed}; refuses a statement for another ref, an expired one, and (without
     * --allow-downgrade) a version the mark does not admit. The update compares the mark as read, so
     * a concurrent import of another version makes this one fail rather than both succeed.
     */
    private RefStore.ValueUpdate versionMark(LmdbObjectStore store, SignedStatement signed, String ref) {
        if (!signed.ref().equals(ref)) {
            throw new ToolException(
                    ExitCode.DENIED,
                    "import rejected: the stream is signed for ref " + signed.ref() + ", not " + ref
                            + "; nothing was changed");
        }
        Instant now = clock.instant();
        if (signed.expiredAt(now.getEpochSecond())) {
            throw new ToolException(
                    ExitCode.DENIED,
                    "import rejected: the stream's signature expired at " + Instant.ofEpochSecond(signed.expiresAt())
                            + "; nothing was changed");
        }
        String key = RefVersionMark.key(ref);
        byte[] raw = store.refs().findValue(key).orElse(null);
        Optional<RefVersionMark> mark = raw == null ? Optional.empty() : RefVersionMark.decode(raw);
        boolean admitted = raw == null || mark.isPresent() && mark.get().admits(signed);
        if (!admitted && !allowDowngrade) {
            throw new ToolException(
                    ExitCode.DENIED,
                    "import rejected: version " + signed.version() + " of ref " + ref + " is not above version "
                            + mark.map(m -> m.version() + " (snapshot "
                                            + m.snapshot().shortHex() + ")")
                                    .orElse("(unreadable)")
                            + ", accepted before; nothing was changed (--allow-downgrade accepts it)");
        }
        byte[] next = admitted ? new RefVersionMark(signed.version(), signed.snapshot()).encode() : raw;
        if (!admitted && mark.isEmpty()) {
            next = new RefVersionMark(signed.version(), signed.snapshot()).encode(); // replaces an unreadable mark
        }
        return new RefStore.ValueUpdate(key, raw, next);
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
