package dev.txfs.tool;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Verifier;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs verify [SNAPSHOT]}: re-hashes what the refs (or one snapshot) reach. */
@Command(
        name = "verify",
        description = {
            "Re-hash every object reachable from the refs (or from SNAPSHOT and its history).",
            "Prints \"ok: N objects, M bytes\", or one line per damaged or missing object naming the paths "
                    + "that use it, and exits 1."
        })
final class VerifyCommand extends BaseCommand {
    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "SNAPSHOT",
            description = "Verify only this snapshot and its history.")
    String snapshot;

    @Option(
            names = "--signed-by",
            paramLabel = "KEYFILE",
            description = "Instead: check that SNAPSHOT carries a valid signature by this key (see txfs sign);"
                    + " exit 1 if it has none or a bad one.")
    java.nio.file.Path signedBy;

    @Override
    public Integer call() throws java.io.IOException {
        if (signedBy != null) {
            return verifySignature();
        }
        try (LmdbObjectStore store = openStore()) {
            AtomicLong checked = new AtomicLong();
            Verifier.Report report;
            try (Progress p = progress(() -> "checked " + checked.get() + " objects")) {
                if (snapshot == null) {
                    report = Verifier.verify(store, checked::set);
                } else {
                    ObjectId id = resolve(store, snapshot);
                    report = Verifier.verifySnapshot(store, id, checked::set);
                }
            }
            if (report.clean()) {
                out().println("ok: " + report.objectsChecked() + " objects, " + report.bytesChecked() + " bytes");
                out().flush();
                return ExitCode.OK.code;
            }
            for (Verifier.Problem problem : report.problems()) {
                out().println(problem);
            }
            out().flush();
            err().println(Errors.PREFIX + report.problems().size() + " damaged or missing objects (of "
                    + report.objectsChecked() + " checked)");
            err().flush();
            return ExitCode.FAILED.code;
        }
    }

    private int verifySignature() throws java.io.IOException {
        if (snapshot == null) {
            throw new ToolException(ExitCode.USAGE, "txfs verify --signed-by KEYFILE needs a SNAPSHOT");
        }
        dev.txfs.snapshot.Ed25519.Public key = dev.txfs.snapshot.Ed25519.readPublic(signedBy);
        try (LmdbObjectStore store = openStore()) {
            ObjectId id = resolve(store, snapshot);
            var verdict = new dev.txfs.snapshot.SnapshotSignatures(store.directory()).verify(id, key);
            String who = "key " + key.id().shortHex();
            switch (verdict) {
                case VALID -> {
                    out().println("ok: snapshot " + id.toHex() + " is signed by " + who);
                    out().flush();
                    return ExitCode.OK.code;
                }
                case UNSIGNED ->
                    err().println(Errors.PREFIX + "snapshot " + id.shortHex() + " has no signature by " + who);
                case BAD -> err().println(Errors.PREFIX + "bad signature of snapshot " + id.shortHex() + " by " + who);
            }
            err().flush();
            return ExitCode.FAILED.code;
        }
    }
}
