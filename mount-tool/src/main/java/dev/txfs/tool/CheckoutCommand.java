package dev.txfs.tool;

import dev.txfs.fs.posix.Errno;
import dev.txfs.fs.posix.Posix;
import dev.txfs.fs.posix.PosixAt;
import dev.txfs.fs.posix.PosixException;
import dev.txfs.fs.posix.Stat;
import dev.txfs.snapshot.Ed25519;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.snapshot.Snapshot;
import dev.txfs.snapshot.SnapshotSignatures;
import dev.txfs.snapshot.Snapshots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code txfs checkout ID DIR}: writes a snapshot's tree out into a new or empty directory. */
@Command(
        name = "checkout",
        description = "Write a snapshot's tree into DIR (which must not exist or be empty, and be yours): content,"
                + " modes, owners, mtimes, xattrs, symlinks, hard links, devices, fifos and sockets. Devices,"
                + " setuid/setgid bits and file capabilities only from a snapshot signed by a trusted key, or"
                + " with --preserve-privileges.")
final class CheckoutCommand extends BaseCommand {
    @Parameters(
            index = "0",
            paramLabel = "SNAPSHOT",
            description = "A ref, a snapshot id or a unique id prefix, with ~N and ^N suffixes.")
    String snapshot;

    @Parameters(index = "1", paramLabel = "DIR", description = "Where to write the tree.")
    Path target;

    @Option(
            names = "--threads",
            paramLabel = "N",
            defaultValue = "2",
            description = "Threads writing files (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(
            names = {"-v", "--verbose"},
            description = "Print a summary (counts, bytes, time) on stderr.")
    boolean verbose;

    @Option(
            names = "--preserve-privileges",
            description = "Create device nodes, setuid/setgid bits and file capabilities even when the snapshot"
                    + " is not signed by a key in the store's trusted-keys (they are skipped, with a warning,"
                    + " otherwise).")
    boolean preservePrivileges;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (threads < 1 || threads > 64) {
            throw new ToolException(ExitCode.USAGE, "--threads must be between 1 and 64, got " + threads);
        }
        Path dir = target.toAbsolutePath().normalize();
        try (LmdbObjectStore store = openStore()) {
            ObjectId id = resolve(store, snapshot);
            Snapshot s = Snapshots.load(store, id);
            boolean privileged = preservePrivileges || signedByTrustedKey(store.directory(), id);
            Posix posix = Posix.get();
            int fd = prepareTarget(posix, dir);
            long start = System.nanoTime();
            Warnings warnings = new Warnings();
            Checkout.Counters counters = new Checkout.Counters();
            Checkout.Result r;
            try (Progress p = progress(() ->
                    "wrote " + counters.entries.get() + " entries (" + Progress.mib(counters.bytes.get()) + ")")) {
                r = new Checkout(store, posix, threads, privileged, warnings, counters)
                        .run(s.root(), fd, Posix.bytes(dir.toString()));
            } finally {
                posix.closeQuietly(fd);
            }
            warn(warnings);
            if (verbose || txfs.interactive) {
                err().printf(
                                "checkout %s: %d files, %d directories, %d other, %d hard links, %s; %.2f s%n",
                                id.shortHex(),
                                r.files(),
                                r.directories(),
                                r.others(),
                                r.links(),
                                Progress.mib(r.bytes()),
                                (System.nanoTime() - start) / 1e9);
                err().flush();
            }
        }
        return ExitCode.OK.code;
    }

    /** Whether a key of the store's trusted-keys directory has a valid signature of {@code id}. */
    static boolean signedByTrustedKey(Path storeDir, ObjectId id) throws IOException {
        SnapshotSignatures signatures = new SnapshotSignatures(storeDir);
        for (Ed25519.Public key : ImportCommand.trustedKeys(storeDir, List.of())) {
            if (signatures.verify(id, key) == SnapshotSignatures.Verdict.VALID) {
                return true;
            }
        }
        return false;
    }

    /**
     * Opens the target (made 0700 if missing) without following a symlink, and refuses one this
     * user does not own, that group or others may write without the sticky bit, or that is not
     * empty: the checkout then works only through this descriptor.
     */
    private static int prepareTarget(Posix posix, Path dir) throws IOException {
        byte[] path = Posix.bytes(dir.toString());
        PosixAt at = PosixAt.get();
        int fd;
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new ToolException(ExitCode.USAGE, "checkout target exists and is not a directory: " + dir);
            }
            fd = openTarget(posix, path, dir);
        } else {
            Path parent = dir.getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                throw new ToolException(ExitCode.NOT_FOUND, "no such directory: " + parent);
            }
            int parentFd = posix.openDirectory(Posix.bytes(parent.toString()));
            try {
                byte[] name = Posix.bytes(dir.getFileName().toString());
                at.mkdir(parentFd, name, 0700, path);
                fd = at.openDirectory(parentFd, name, path);
            } finally {
                posix.closeQuietly(parentFd);
            }
        }
        try {
            Stat st = posix.fstat(fd);
            long me = posix.geteuid();
            if (!st.isDirectory()) {
                throw new ToolException(ExitCode.USAGE, "checkout target exists and is not a directory: " + dir);
            }
            if (st.uid() != me) {
                throw new ToolException(
                        ExitCode.DENIED,
                        "checkout target " + dir + " belongs to uid " + st.uid() + ", not to this user (uid " + me
                                + "): not writing into a directory another user controls");
            }
            if ((st.mode() & 022) != 0 && (st.mode() & 01000) == 0) {
                throw new ToolException(
                        ExitCode.DENIED,
                        "checkout target " + dir + " is writable by other users (mode "
                                + String.format("%04o", st.mode() & 07777) + ", no sticky bit): chmod go-w it first");
            }
            if (!posix.listDirectory(fd, path).isEmpty()) {
                throw new ToolException(ExitCode.USAGE, "checkout target is not empty: " + dir);
            }
            return fd;
        } catch (RuntimeException | IOException e) {
            posix.closeQuietly(fd);
            throw e;
        }
    }

    private static int openTarget(Posix posix, byte[] path, Path dir) throws PosixException {
        try {
            return posix.openDirectory(path);
        } catch (PosixException e) {
            if (e.errno() == Errno.ELOOP || e.errno() == Errno.ENOTDIR) {
                throw new ToolException(ExitCode.USAGE, "checkout target exists and is not a directory: " + dir);
            }
            throw e;
        }
    }
}
