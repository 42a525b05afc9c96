package dev.txfs.tool;

import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Verifier;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
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

    @Override
    public Integer call() {
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
}
