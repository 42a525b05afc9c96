package dev.txfs.tool;

import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.SnapshotSignatures;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs sign --key KEYFILE SNAPSHOT}: stores a detached signature of a snapshot id. */
@Command(
        name = "sign",
        description = {
            "Sign snapshot SNAPSHOT's id with an Ed25519 secret key; the signature is kept beside the store"
                    + " (signatures/<snapshot id>/<key id>.sig) and checked by txfs verify --signed-by."
        })
final class SignCommand extends BaseCommand {
    @Parameters(
            index = "0",
            paramLabel = "SNAPSHOT",
            description = "A ref, tag, full id or unique prefix, with ~N and ^N suffixes.")
    String snapshot;

    @Option(names = "--key", required = true, paramLabel = "KEYFILE", description = "The secret key file.")
    Path key;

    @Override
    public Integer call() throws IOException {
        Ed25519.Secret secret = Ed25519.readSecret(key);
        try (LmdbObjectStore store = openStore()) {
            ObjectId id = resolve(store, snapshot);
            new SnapshotSignatures(store.directory()).sign(id, secret);
            out().println("signed " + id.toHex() + " with key "
                    + secret.publicKey().id().toHex());
            out().flush();
        }
        return ExitCode.OK.code;
    }
}
