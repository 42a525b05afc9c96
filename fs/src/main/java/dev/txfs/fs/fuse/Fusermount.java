package dev.txfs.fs.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.Out;

/**
 * Mounting without root, the way libfuse does: {@code fusermount3} (setuid root) opens
 * {@code /dev/fuse}, mounts, and passes the fd back over a socket (SCM_RIGHTS) whose number it
 * finds in {@code _FUSE_COMMFD}. The socket is handed to it as fd 3 by posix_spawn, since
 * {@code ProcessBuilder} passes no descriptors but 0-2.
 */
final class Fusermount {
    static final String BINARY = "fusermount3";
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;

    /** The libc calls this needs; public only because jnr-ffi implements it. */
    public interface Calls {
        int socketpair(int domain, int type, int protocol, @Out int[] sv);

        int posix_spawn_file_actions_init(Pointer actions);

        int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newfd);

        int posix_spawn_file_actions_destroy(Pointer actions);

        int posix_spawnp(@Out int[] pid, String file, Pointer actions, Pointer attr, String[] argv, String[] envp);

        int waitpid(int pid, @Out int[] status, int options);

        long recvmsg(int fd, Pointer msg, int flags);

        int close(int fd);

        int geteuid();

        int getegid();
    }

    private static final Calls LIBC = LibraryLoader.create(Calls.class).load("c");

    private Fusermount() {}

    static int euid() {
        return LIBC.geteuid();
    }

    static int egid() {
        return LIBC.getegid();
    }

    /** Whether /etc/fuse.conf lets users pass allow_other. */
    static boolean userAllowOther() {
        try {
            return Files.readAllLines(Path.of("/etc/fuse.conf")).stream()
                    .anyMatch(l -> l.strip().equals("user_allow_other"));
        } catch (IOException e) {
            return false;
        }
    }

    static boolean available() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, BINARY))) {
                return true;
            }
        }
        return false;
    }

    /** Mounts through fusermount3 and returns the session's /dev/fuse fd. */
    static int mount(Path mountpoint, String options) throws IOException {
        int[] sv = new int[2];
        if (LIBC.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            throw new IOException("socketpair failed: " + FuseDevice.errnoName(FuseDevice.errno()));
        }
        try {
            int status = run(List.of(BINARY, "-o", options, "--", mountpoint.toString()), sv[1]);
            LIBC.close(sv[1]);
            sv[1] = -1;
            if (status != 0) {
                throw new IOException(BINARY + " failed to mount " + mountpoint + " (exit " + status + ")");
            }
            return receiveFd(sv[0]);
        } finally {
            LIBC.close(sv[0]);
            if (sv[1] >= 0) {
                LIBC.close(sv[1]);
            }
        }
    }

    /** Unmounts through fusermount3 (lazily when {@code lazy}). */
    static void unmount(Path mountpoint, boolean lazy) throws IOException {
        List<String> argv = new ArrayList<>(List.of(BINARY, "-u", "-q"));
        if (lazy) {
            argv.add("-z");
        }
        argv.add("--");
        argv.add(mountpoint.toString());
        int status = run(argv, -1);
        if (status != 0) {
            throw new IOException(BINARY + " -u " + mountpoint + " failed (exit " + status + "; busy?)");
        }
    }

    /** Runs {@code argv} with {@code commFd} (if >= 0) as its fd 3 and _FUSE_COMMFD=3; returns the exit status. */
    private static int run(List<String> argv, int commFd) throws IOException {
        Pointer actions = Memory.allocateDirect(FuseDevice.RUNTIME, 128);
        LIBC.posix_spawn_file_actions_init(actions);
        try {
            if (commFd >= 0) {
                LIBC.posix_spawn_file_actions_adddup2(actions, commFd, 3);
            }
            List<String> env = new ArrayList<>();
            for (Map.Entry<String, String> e : System.getenv().entrySet()) {
                if (!e.getKey().equals("_FUSE_COMMFD")) {
                    env.add(e.getKey() + "=" + e.getValue());
                }
            }
            if (commFd >= 0) {
                env.add("_FUSE_COMMFD=3");
            }
            int[] pid = new int[1];
            int r = LIBC.posix_spawnp(
                    pid, argv.get(0), actions, null, argv.toArray(new String[0]), env.toArray(new String[0]));
            if (r != 0) {
                throw new IOException("cannot run " + argv.get(0) + ": errno " + r + " (is fuse3 installed?)");
            }
            int[] status = new int[1];
            while (LIBC.waitpid(pid[0], status, 0) < 0) {
                if (FuseDevice.errno() != FuseDevice.EINTR) {
                    throw new IOException("waitpid failed: " + FuseDevice.errnoName(FuseDevice.errno()));
                }
            }
            int s = status[0];
            return (s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f);
        } finally {
            LIBC.posix_spawn_file_actions_destroy(actions);
        }
    }

    /** Reads one SCM_RIGHTS message and returns the descriptor in it. */
    private static int receiveFd(int sock) throws IOException {
        Pointer data = Memory.allocateDirect(FuseDevice.RUNTIME, 8);
        Pointer iov = Memory.allocateDirect(FuseDevice.RUNTIME, 16);
        iov.putAddress(0, data.address());
        iov.putLong(8, 1);
        Pointer control = Memory.allocateDirect(FuseDevice.RUNTIME, 64);
        Pointer msg = Memory.allocateDirect(FuseDevice.RUNTIME, 56);
        for (int i = 0; i < 56; i += 8) {
            msg.putLong(i, 0);
        }
        msg.putAddress(16, iov.address()); // msg_iov
        msg.putLong(24, 1); // msg_iovlen
        msg.putAddress(32, control.address()); // msg_control
        msg.putLong(40, 24); // msg_controllen = CMSG_SPACE(sizeof(int))
        long n;
        do {
            n = LIBC.recvmsg(sock, msg, 0);
        } while (n < 0 && FuseDevice.errno() == FuseDevice.EINTR);
        if (n <= 0) {
            throw new IOException(BINARY + " sent no descriptor");
        }
        long len = control.getLong(0);
        if (len < 20 || control.getInt(8) != SOL_SOCKET || control.getInt(12) != SCM_RIGHTS) {
            throw new IOException(BINARY + " sent a message without a descriptor");
        }
        return control.getInt(16);
    }
}
