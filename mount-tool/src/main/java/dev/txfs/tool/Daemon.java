package dev.txfs.tool;

import dev.txfs.fs.CommitPermissions;
import dev.txfs.fs.FsOps;
import dev.txfs.fs.LiveFs;
import dev.txfs.fs.MountOps;
import dev.txfs.fs.fuse.FuseMount;
import dev.txfs.fs.posix.Posix;
import dev.txfs.fs.posix.PosixException;
import dev.txfs.snapshot.LmdbObjectStore;
import dev.txfs.snapshot.ObjectId;
import dev.txfs.txn.BackgroundSync;
import dev.txfs.txn.LiveTree;
import dev.txfs.txn.Transaction;
import dev.txfs.txn.proc.Membership;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The mount daemon: serves one mount of one store until it is unmounted.
 *
 * <p>Lifecycle: open the store and the live tree, listen on the control socket, mount, then sync
 * the live tree every {@link #SYNC_SECONDS} s (and on every fsync) until the kernel lets go; a
 * last sync, and the store is closed. SIGTERM/SIGINT sync and unmount lazily. A daemon killed
 * with SIGKILL leaves a mount answering ENOTCONN that {@code txfs umount} clears; the next mount
 * starts from the last sync.
 */
final class Daemon {
    private static final Logger LOG = Logger.getLogger(Daemon.class.getName());
    static final int SYNC_SECONDS = 5;
    /** After a failed background sync, the first retry; each next one waits twice as long, up to the max. */
    static final Duration SYNC_FIRST_RETRY = Duration.ofSeconds(1);

    static final Duration SYNC_MAX_RETRY = Duration.ofSeconds(60);
    private static final Set<PosixFilePermission> PRIVATE_DIR = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> PRIVATE_FILE = PosixFilePermissions.fromString("rw-------");

    private Daemon() {}

    static long nowNs() {
        java.time.Instant i = java.time.Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    /**
     * The log of the daemon serving {@code mountpoint}: {@code logs/<hash>.log} in the store, made
     * here (directory 0700, file 0600 whatever the umask) so that the daemon appends to a file
     * only the store's owner reads. An existing log is tightened to 0600.
     */
    static Path createLog(Path storeDir, Path mountpoint) throws IOException {
        Path logs = storeDir.resolve("logs");
        try {
            Files.createDirectory(logs, PosixFilePermissions.asFileAttribute(PRIVATE_DIR));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(logs, LinkOption.NOFOLLOW_LINKS)) {
                throw e;
            }
        }
        Files.setPosixFilePermissions(logs, PRIVATE_DIR);
        Path log = logs.resolve(ControlSocket.pathFor(storeDir, mountpoint)
                .getFileName()
                .toString()
                .replace(".sock", ".log"));
        try {
            Files.createFile(log, PosixFilePermissions.asFileAttribute(PRIVATE_FILE));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isRegularFile(log, LinkOption.NOFOLLOW_LINKS)) {
                throw e;
            }
        }
        Files.setPosixFilePermissions(log, PRIVATE_FILE);
        return log;
    }

    /** What a mount says of its membership mode (txfs mount repeats these lines from the daemon's log). */
    static List<String> membershipLines(Membership.Mode mode) {
        return mode == Membership.Mode.CGROUP
                ? List.of(MEMBERSHIP + "cgroup (a transaction keeps every process its shell starts, daemons too)")
                : List.of(
                        MEMBERSHIP + "parent-walk (a process is in a transaction while the shell that began it"
                                + " is on its parent-pid chain)",
                        Errors.PREFIX + "warning: parent-pid membership: a process that double-forks (daemonizes)"
                                + " escapes its transaction: it reads and writes the live tree");
    }

    static final String MEMBERSHIP = Errors.PREFIX + "membership: ";

    /** Runs in the foreground; returns when the mount is gone. */
    static void run(
            Path storeDir,
            Path mountpoint,
            Optional<ObjectId> snapshot,
            boolean rootfs,
            List<String> extra,
            boolean requireTxn,
            String membershipMode,
            int maxUserTxns)
            throws IOException, InterruptedException {
        try (MountLock owner = MountLock.acquire(storeDir, mountpoint);
                LmdbObjectStore store = LmdbObjectStore.open(storeDir)) {
            // An empty store's root directory belongs to whoever mounts it first.
            LiveTree live = LiveTree.open(
                    store, snapshot, Daemon::nowNs, StoreLocator.effectiveUid(), StoreLocator.effectiveGid());
            live.sync();
            FileStore device = storeFileStore(storeDir);
            Path socket = ControlSocket.pathFor(storeDir, mountpoint);
            Membership.Mode preferred =
                    membershipMode.equals("parent-walk") ? Membership.Mode.PARENT_WALK : Membership.Mode.CGROUP;
            // The control socket listens before the file system exists; rollback needs it.
            java.util.concurrent.atomic.AtomicReference<LiveFs> served =
                    new java.util.concurrent.atomic.AtomicReference<>();
            try (Membership membership = Membership.create(
                            preferred, socket.getFileName().toString().replace(".sock", ""));
                    ControlSocket control =
                            ControlSocket.listen(socket, req -> handle(req, live, served, store, mountpoint))) {
                if (membershipMode.equals("cgroup") && membership.mode() != Membership.Mode.CGROUP) {
                    throw new IOException("cgroup membership asked for, but no writable cgroup v2 hierarchy");
                }
                // Before the mount appears: txfs mount reads these lines from the log once it does.
                membershipLines(membership.mode()).forEach(System.err::println);
                LiveFs fs =
                        new LiveFs(live, Daemon::nowNs, () -> statfs(store, device), () -> {}, membership, requireTxn);
                fs.control().setUserLimit(maxUserTxns);
                served.set(fs);
                FuseMount mount = FuseMount.mount(
                        new MountOps(fs), mountpoint, Mounts.SOURCE_PREFIX + storeDir, rootfs, 2, extra);
                fs.setNotifier(notifierOf(mount.session()));
                LOG.info("mounted " + storeDir + " at " + mountpoint + " (pid "
                        + ProcessHandle.current().pid() + ")");
                BackgroundSync syncer =
                        BackgroundSync.start(live, Duration.ofSeconds(SYNC_SECONDS), SYNC_FIRST_RETRY, SYNC_MAX_RETRY);
                ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "txfs-reaper");
                    t.setDaemon(true);
                    return t;
                });
                reaper.scheduleWithFixedDelay(() -> reapQuietly(fs), 1, 1, TimeUnit.SECONDS);
                Thread hook = new Thread(() -> {
                    syncQuietly(live);
                    try {
                        FuseMount.unmount(mountpoint, true);
                    } catch (IOException e) {
                        // already gone
                    }
                });
                Runtime.getRuntime().addShutdownHook(hook);
                mount.awaitEnd();
                reaper.shutdownNow();
                syncer.close();
                live.sync();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // shutting down already
                }
                LOG.info("unmounted " + mountpoint);
            }
        }
    }

    /** Kernel notifications of a FUSE session, for a LiveFs. */
    private static LiveFs.Notifier notifierOf(dev.txfs.fs.fuse.FuseSession session) {
        return new LiveFs.Notifier() {
            @Override
            public void invalidateEntry(long parent, byte[] name) {
                session.invalidateEntry(parent, name);
            }

            @Override
            public void invalidateInode(long ino, long off, long len) {
                session.invalidateInode(ino, off, len);
            }

            @Override
            public void await() {
                try {
                    session.awaitNotifications(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }

    /**
     * Runs an isolated mount in the foreground (see {@link IsolatedMount}); returns when it is
     * gone. It takes no mount lock: the store's live tree may be served meanwhile.
     */
    static void runIsolated(Path storeDir, Path mountpoint, ObjectId base, boolean rootfs, List<String> extra)
            throws IOException, InterruptedException {
        try (LmdbObjectStore store = LmdbObjectStore.open(storeDir)) {
            LiveTree tree = LiveTree.isolated(store, base, Daemon::nowNs);
            IsolatedMount iso = new IsolatedMount(store, storeDir, mountpoint, tree, base, StoreLocator.effectiveUid());
            FileStore device = storeFileStore(storeDir);
            try (ControlSocket control = ControlSocket.listen(
                    ControlSocket.pathFor(storeDir, mountpoint), req -> handleIsolated(req, mountpoint))) {
                LiveFs fs = new LiveFs(tree, Daemon::nowNs, () -> statfs(store, device), () -> {}, null, false);
                iso.serve(fs);
                FuseMount mount = FuseMount.mount(
                        new MountOps(fs), mountpoint, Mounts.ISOLATED_PREFIX + storeDir, rootfs, 2, extra);
                fs.setNotifier(notifierOf(mount.session()));
                LOG.info("mounted an isolated view of " + base.toHex() + " from " + storeDir + " at " + mountpoint
                        + " (pid " + ProcessHandle.current().pid() + ")");
                Thread hook = new Thread(() -> {
                    try {
                        FuseMount.unmount(mountpoint, true);
                    } catch (IOException e) {
                        // already gone
                    }
                });
                Runtime.getRuntime().addShutdownHook(hook);
                mount.awaitEnd();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // shutting down already
                }
                LOG.info("unmounted " + mountpoint + "; its uncommitted changes are dropped");
            }
        }
    }

    /** Control requests of an isolated mount: {@code unmount}, {@code status}. */
    private static String handleIsolated(String request, Path mountpoint) {
        try {
            if (request.equals("unmount")) {
                FuseMount.unmount(mountpoint, false);
                return "ok " + ProcessHandle.current().pid();
            }
            if (request.equals("status")) {
                return "ok pid=" + ProcessHandle.current().pid() + " isolated";
            }
            return "err an isolated mount does not take this request: " + request.split(" ", 2)[0];
        } catch (IOException | RuntimeException e) {
            return "err " + e.getMessage();
        }
    }

    /** Aborts transactions whose shell exited without commit or abort. */
    private static void reapQuietly(LiveFs fs) {
        try {
            fs.control().reap();
        } catch (Exception e) {
            LOG.log(Level.SEVERE, "checking for abandoned transactions failed", e);
        }
    }

    private static void syncQuietly(LiveTree live) {
        try {
            live.sync();
        } catch (Exception e) {
            LOG.log(Level.SEVERE, "sync of the live tree failed", e);
        }
    }

    /**
     * The store's file system, for statfs, reached through an open descriptor of the store's directory
     * ({@code /proc/self/fd/N}, which the JDK's FileStore statvfs()es by that name each time) where it
     * can be: a boot daemon's store path stops resolving once the initramfs moves /run, which holds
     * the store's mount, into the new root (every statfs on the root then failed with ENOENT). The
     * descriptor stays open for the daemon's life. Without /proc: the path.
     */
    static FileStore storeFileStore(Path storeDir) throws IOException {
        Posix posix = Posix.get();
        int fd;
        try {
            fd = posix.openDirectory(Posix.bytes(storeDir.toAbsolutePath().toString()));
        } catch (PosixException | RuntimeException e) {
            return Files.getFileStore(storeDir);
        }
        try {
            return Files.getFileStore(Path.of("/proc/self/fd/" + fd));
        } catch (IOException | RuntimeException e) {
            posix.closeQuietly(fd);
            return Files.getFileStore(storeDir);
        }
    }

    private static FsOps.StatFs statfs(LmdbObjectStore store, FileStore device) throws IOException {
        var s = store.stats();
        long bsize = 4096;
        long total = Math.min(device.getTotalSpace(), s.mapSize());
        long free = Math.max(0, Math.min(device.getUsableSpace(), s.mapSize() - s.bytesUsed()));
        return new FsOps.StatFs(
                total / bsize, free / bsize, free / bsize, s.objects() + free / bsize, free / bsize, (int) bsize, 255);
    }

    /**
     * Control requests: {@code sync}, {@code snapshot AUTHOR<TAB>MESSAGE}, {@code unmount}, {@code
     * status}, {@code gc KEEP_LAST KEEP_WITHIN_SECONDS WAIT_MS} ({@code -} for no limit; see {@link
     * GcCommand}), {@code rollback SNAPSHOT_ID<TAB>AUTHOR<TAB>MESSAGE}, {@code commit-kept
     * SNAPSHOT_ID<TAB>AUTHOR<TAB>MESSAGE} (an isolated mount's commit, see {@link IsolatedMount}).
     */
    private static String handle(
            String request,
            LiveTree live,
            java.util.concurrent.atomic.AtomicReference<LiveFs> served,
            LmdbObjectStore store,
            Path mountpoint) {
        try {
            if (request.startsWith("rollback ")) {
                String[] parts = request.substring(9).split("\t", 3);
                LiveFs fs = served.get();
                if (parts.length != 3 || !ObjectId.isHex(parts[0]) || parts[0].length() != 64) {
                    return "err malformed rollback request";
                }
                if (fs == null) {
                    return "err the mount is not serving yet";
                }
                LiveTree.CommitResult r =
                        fs.rollback(ObjectId.parse(parts[0]), parts[1], parts[2].replace("\\n", "\n"));
                return "ok " + r.snapshot().toHex() + " " + r.applied().size();
            }
            if (request.startsWith("commit-kept ")) {
                // ID, author, message, and the committer's credentials when not root (UID:GID:GROUPS)
                String[] parts = request.substring(12).split("\t", 4);
                LiveFs fs = served.get();
                if (parts.length < 3 || !ObjectId.isHex(parts[0]) || parts[0].length() != 64) {
                    return "err malformed commit-kept request";
                }
                if (fs == null) {
                    return "err the mount is not serving yet";
                }
                long start = System.nanoTime();
                ObjectId kept = ObjectId.parse(parts[0]);
                LiveTree.CommitCheck check = parts.length == 4
                        ? CommitPermissions.ofKept(store, kept, Transaction.Credentials.decode(parts[3]), Daemon::nowNs)
                        : LiveTree.CommitCheck.NONE;
                LiveTree.CommitResult r;
                try {
                    r = fs.commitKept(kept, parts[1], parts[2].replace("\\n", "\n"), check);
                } catch (LiveTree.DeniedException e) {
                    return "err:" + ExitCode.DENIED.code + " "
                            + IsolatedMount.denied(e.paths()).getMessage().replace("\n", "\t");
                }
                if (r.conflicted()) {
                    return "err:" + ExitCode.CONFLICT.code + " "
                            + IsolatedMount.conflict(r.conflicts()).getMessage().replace("\n", "\t");
                }
                ObjectId snap = live.snapshotOf(r);
                return "ok " + snap.toHex() + " " + r.applied().size() + " " + (System.nanoTime() - start) / 1000;
            }
            if (request.startsWith("gc ")) {
                try {
                    return "ok " + GcCommand.collectServing(request.substring(3), live, store);
                } catch (ToolException e) {
                    return "err:" + e.exitCode().code + " " + e.getMessage();
                }
            }
            if (request.equals("sync")) {
                return "ok " + live.sync();
            }
            if (request.startsWith("snapshot ")) {
                String[] parts = request.substring(9).split("\t", 2);
                if (parts.length != 2) {
                    return "err malformed snapshot request";
                }
                return "ok " + live.snapshot(parts[0], parts[1].replace("\\n", "\n"));
            }
            if (request.equals("unmount")) {
                // A sync that fails keeps the mount: unmounting would lose what it did not write.
                live.sync();
                FuseMount.unmount(mountpoint, false);
                return "ok " + ProcessHandle.current().pid();
            }
            if (request.equals("status")) {
                return "ok pid=" + ProcessHandle.current().pid() + " root=" + live.sync();
            }
            return "err unknown request";
        } catch (IOException | RuntimeException e) {
            return "err " + e.getMessage();
        }
    }
}
