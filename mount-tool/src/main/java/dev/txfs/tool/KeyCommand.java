package dev.txfs.tool;

import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.LmdbObjectStore;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs key generate | trust | list}: Ed25519 keys for signed streams and snapshots. */
@Command(
        name = "key",
        description = {
            "txfs key generate -o FILE: a new Ed25519 key pair: FILE (secret, mode 0600) and FILE.pub.",
            "txfs key trust KEYFILE: trust a public key for txfs import (copied to the store's trusted-keys"
                    + " directory as <key id>.pub). txfs key list: the trusted keys. txfs key id KEYFILE: a key's id."
        })
final class KeyCommand extends BaseCommand {
    @Parameters(index = "0", paramLabel = "ACTION", description = "generate, trust, list or id.")
    String action;

    @Parameters(index = "1", arity = "0..1", paramLabel = "KEYFILE", description = "The key file (trust, id).")
    Path keyFile;

    @Option(
            names = {"-o", "--output"},
            paramLabel = "FILE",
            description = "generate: the secret key file to write.")
    Path output;

    @Option(names = "--comment", description = "generate: a comment for the public key file.")
    String comment;

    @Override
    public Integer call() throws IOException {
        switch (action) {
            case "generate" -> {
                if (output == null) {
                    throw new ToolException(ExitCode.USAGE, "txfs key generate needs -o FILE");
                }
                if (Files.exists(output) || Files.exists(Path.of(output + ".pub"))) {
                    throw new ToolException(ExitCode.USAGE, output + " or its .pub exists; not overwriting a key");
                }
                Ed25519.Secret key = Ed25519.generate();
                Ed25519.writeKeyFiles(key, output, comment);
                out().println("key " + key.publicKey().id().toHex() + ": secret " + output + ", public " + output
                        + ".pub");
            }
            case "trust" -> {
                Ed25519.Public key = Ed25519.readPublic(need(keyFile));
                try (LmdbObjectStore store = openStore()) {
                    Path dir = Files.createDirectories(store.directory().resolve(ImportCommand.TRUSTED_KEYS));
                    try {
                        Ed25519.writePublic(key, dir.resolve(key.id().toHex() + ".pub"), null);
                    } catch (FileAlreadyExistsException e) {
                        // trusted already
                    }
                    out().println("trusted key " + key.id().toHex());
                }
            }
            case "list" -> {
                try (LmdbObjectStore store = openStore()) {
                    List<Ed25519.Public> keys = ImportCommand.trustedKeys(store.directory(), List.of());
                    for (Ed25519.Public k : keys) {
                        out().println(k.id().toHex());
                    }
                }
            }
            case "id" -> out().println(Ed25519.readPublic(need(keyFile)).id().toHex());
            default ->
                throw new ToolException(
                        ExitCode.USAGE, "unknown key action '" + action + "' (generate, trust, list or id)");
        }
        out().flush();
        return ExitCode.OK.code;
    }

    private static Path need(Path p) {
        if (p == null) {
            throw new ToolException(ExitCode.USAGE, "missing KEYFILE");
        }
        return p;
    }
}
