package dev.txfs.txn.proc;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads what txfs needs to know about a process from {@code /proc}: one small file per question,
 * no process snapshots.
 *
 * <p>A process may exit between any two reads, or in the middle of one. Every method treats that
 * (ENOENT, ESRCH) as "gone": empty, {@code -1}, {@code ""} or {@code false}, never an exception.
 * Any other I/O failure (say EACCES under {@code hidepid=}) is a broken environment, not a race,
 * and is thrown as {@link UncheckedIOException}.
 *
 * <p>Threads: every method may be called from any thread.
 */
public final class ProcInfo {
    /** How many characters of a command line {@link #cmdline} keeps. */
    public static final int CMDLINE_MAX = 200;

    /** Longest parent chain walked; deeper means the chain changed under us (or is absurd). */
    static final int MAX_DEPTH = 4096;

    private static final String PROC = "/proc/";

    /** Whether this kernel has {@code /proc/<pid>/task/<tid>/children} (CONFIG_PROC_CHILDREN). */
    private static final boolean HAS_CHILDREN_FILES = Files.exists(Path.of("/proc/thread-self/children"));

    private ProcInfo() {}

    /**
     * The fields of {@code /proc/<pid>/stat} that txfs uses.
     *
     * @param pid the process (or thread) id, field 1
     * @param comm the command name, field 2, without its parentheses (may itself contain spaces and
     *     parentheses)
     * @param state field 3: R, S, D, T, t, Z, X, I…
     * @param ppid field 4: the parent's process id (for a thread: its process's parent)
     * @param starttime field 22: start time in clock ticks after boot; with the pid, it names one
     *     process for the life of the system
     */
    public record Stat(long pid, String comm, char state, long ppid, long starttime) {
        /** Whether the process has exited and only waits to be reaped (Z) or is being reaped (X). */
        public boolean dead() {
            return state == 'Z' || state == 'X';
        }
    }

    /** Parses {@code /proc/<pid>/stat}; empty if the process is gone. */
    public static Optional<Stat> stat(long pid) {
        if (pid <= 0) {
            return Optional.empty();
        }
        byte[] b = read(PROC + pid + "/stat", 1024);
        return b == null ? Optional.empty() : Optional.of(parseStat(b, b.length));
    }

    /**
     * Parses the text of a stat file. The command name may contain anything but NUL, including
     * {@code ") ("}, so it ends at the <em>last</em> {@code ')'}; all fields after it are numbers.
     */
    static Stat parseStat(byte[] b, int len) {
        int open = indexOf(b, 0, len, (byte) '(');
        int close = lastIndexOf(b, len, (byte) ')');
        if (open < 1 || close < open) {
            throw new IllegalArgumentException("malformed stat: " + new String(b, 0, len, UTF_8));
        }
        long pid = parseLong(b, 0, open - 1);
        String comm = new String(b, open + 1, close - open - 1, UTF_8);
        // After ") ": field 3 (state) is token 0, field 22 (starttime) is token 19.
        long ppid = -1;
        long starttime = -1;
        char state = '?';
        int token = 0;
        int i = close + 1;
        while (i < len && token <= 19) {
            while (i < len && b[i] == ' ') {
                i++;
            }
            int start = i;
            while (i < len && b[i] != ' ' && b[i] != '\n') {
                i++;
            }
            if (start == i) {
                break;
            }
            switch (token) {
                case 0 -> state = (char) b[start];
                case 1 -> ppid = parseLong(b, start, i);
                case 19 -> starttime = parseLong(b, start, i);
                default -> {}
            }
            token++;
        }
        if (starttime < 0) {
            throw new IllegalArgumentException("malformed stat: " + new String(b, 0, len, UTF_8));
        }
        return new Stat(pid, comm, state, ppid, starttime);
    }

    /**
     * The process (thread group) id of a thread id, as FUSE request headers carry thread ids; the
     * pid itself for a main thread or a single-threaded process; {@code -1} if gone.
     */
    public static long tgid(long tid) {
        long[] ids = tgidAndPpid(tid);
        return ids == null ? -1 : ids[0];
    }

    /** {Tgid, PPid} from {@code /proc/<tid>/status} in one read; null if gone. */
    static long[] tgidAndPpid(long tid) {
        if (tid <= 0) {
            return null;
        }
        byte[] b = read(PROC + tid + "/status", 4096);
        if (b == null) {
            return null;
        }
        long tgid = statusField(b, "\nTgid:");
        long ppid = statusField(b, "\nPPid:");
        return tgid < 0 ? null : new long[] {tgid, ppid};
    }

    /** The real uid of a process, from {@code /proc/<pid>/status}; empty if gone. */
    public static Optional<Long> uid(long pid) {
        if (pid <= 0) {
            return Optional.empty();
        }
        byte[] b = read(PROC + pid + "/status", 4096);
        if (b == null) {
            return Optional.empty();
        }
        long uid = statusField(b, "\nUid:");
        return uid < 0 ? Optional.empty() : Optional.of(uid);
    }

    /**
     * The four user ids of a process, from the {@code Uid:} line of {@code /proc/<pid>/status}.
     *
     * @param real who started it
     * @param effective whose permissions it has now
     * @param saved what a setuid program may switch back to
     * @param fs whose permissions file access uses (the uid a FUSE request carries)
     */
    public record Uids(long real, long effective, long saved, long fs) {
        /** Whether all four are {@code uid}: the process is that user's and cannot become another. */
        public boolean allAre(long uid) {
            return real == uid && effective == uid && saved == uid && fs == uid;
        }

        @Override
        public String toString() {
            return real == effective && effective == saved && saved == fs
                    ? "uid " + real
                    : "uids " + real + "/" + effective + "/" + saved + "/" + fs + " (real/effective/saved/fs)";
        }
    }

    /**
     * The most a {@code /proc/<pid>/status} holding a {@code Groups:} line of NGROUPS_MAX (65536)
     * groups takes: each group up to 10 digits and a space, plus the other lines.
     */
    static final int STATUS_WITH_GROUPS_MAX = 65536 * 11 + 8192;

    /**
     * The supplementary groups of a thread or process, from the {@code Groups:} line of {@code
     * /proc/<tid>/status}; empty if it is gone.
     */
    public static Optional<Set<Long>> groups(long tid) {
        if (tid <= 0) {
            return Optional.empty();
        }
        byte[] b = read(PROC + tid + "/status", STATUS_WITH_GROUPS_MAX);
        return b == null ? Optional.empty() : Optional.of(parseGroups(b));
    }

    /** The ids of the {@code Groups:} line of a {@code /proc/<pid>/status}; none if it has none. */
    static Set<Long> parseGroups(byte[] status) {
        byte[] k = "\nGroups:".getBytes(UTF_8);
        int at = indexOf(status, k);
        Set<Long> out = new TreeSet<>();
        if (at >= 0) {
            int from = at + k.length;
            int end = indexOf(status, from, status.length, (byte) '\n');
            addNumbers(Arrays.copyOfRange(status, from, end < 0 ? status.length : end), out);
        }
        return Collections.unmodifiableSet(out);
    }

    /** The four uids of a process; empty if it is gone. */
    public static Optional<Uids> uids(long pid) {
        if (pid <= 0) {
            return Optional.empty();
        }
        byte[] b = read(PROC + pid + "/status", 4096);
        if (b == null) {
            return Optional.empty();
        }
        byte[] k = "\nUid:".getBytes(UTF_8);
        int at = indexOf(b, k);
        if (at < 0) {
            return Optional.empty();
        }
        long[] v = new long[4];
        int i = at + k.length;
        for (int n = 0; n < 4; n++) {
            while (i < b.length && (b[i] == '\t' || b[i] == ' ')) {
                i++;
            }
            int start = i;
            while (i < b.length && b[i] >= '0' && b[i] <= '9') {
                i++;
            }
            if (start == i) {
                return Optional.empty();
            }
            v[n] = parseLong(b, start, i);
        }
        return Optional.of(new Uids(v[0], v[1], v[2], v[3]));
    }

    /**
     * The command line on one line (arguments separated by spaces, control characters such as
     * newlines made spaces), cut to {@value #CMDLINE_MAX} characters;
     * {@code ""} if the process is gone (or is a kernel thread or a zombie, which have none).
     */
    public static String cmdline(long pid) {
        if (pid <= 0) {
            return "";
        }
        byte[] b = read(PROC + pid + "/cmdline", CMDLINE_MAX * 4);
        if (b == null) {
            return "";
        }
        int len = b.length;
        while (len > 0 && b[len - 1] == 0) {
            len--;
        }
        for (int i = 0; i < len; i++) {
            if ((b[i] >= 0 && b[i] < ' ') || b[i] == 0x7f) {
                b[i] = ' '; // NULs between arguments, and newlines or tabs inside one: one line
            }
        }
        String s = new String(b, 0, len, UTF_8);
        return s.length() <= CMDLINE_MAX ? s : s.substring(0, CMDLINE_MAX);
    }

    /**
     * The cgroup v2 path of a process (the {@code 0::} line of {@code /proc/<pid>/cgroup}),
     * relative to the reader's cgroup namespace; empty if gone or not in a v2 hierarchy.
     */
    public static Optional<String> cgroup2Path(long pid) {
        if (pid <= 0) {
            return Optional.empty();
        }
        byte[] b = read(PROC + pid + "/cgroup", 8192);
        if (b == null) {
            return Optional.empty();
        }
        int len = b.length;
        for (int line = 0; line < len; ) {
            int end = indexOf(b, line, len, (byte) '\n');
            if (end < 0) {
                end = len;
            }
            if (end - line >= 3 && b[line] == '0' && b[line + 1] == ':' && b[line + 2] == ':') {
                return Optional.of(new String(b, line + 3, end - line - 3, UTF_8));
            }
            line = end + 1;
        }
        return Optional.empty();
    }

    /**
     * The children of a process: the union over its threads of {@code task/<tid>/children} (a
     * child is listed under the thread that forked it). Falls back to scanning all of {@code /proc}
     * on kernels without those files. Empty if the process is gone.
     */
    public static List<Long> children(long pid) {
        if (pid <= 0) {
            return List.of();
        }
        if (!HAS_CHILDREN_FILES) {
            return childrenByScan(pid);
        }
        Set<Long> out = new LinkedHashSet<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of(PROC + pid + "/task"))) {
            for (Path task : tasks) {
                byte[] b = read(task.resolve("children").toString(), 1 << 16);
                if (b != null) {
                    addNumbers(b, out);
                }
            }
        } catch (IOException e) {
            if (!isGone(e)) {
                throw new UncheckedIOException(e);
            }
        } catch (DirectoryIteratorException e) {
            if (!isGone(e.getCause())) {
                throw new UncheckedIOException(e.getCause());
            }
        }
        return List.copyOf(out);
    }

    /** All descendants of a process, breadth first, without the process itself. */
    public static List<Long> descendants(long pid) {
        List<Long> out = new ArrayList<>();
        Set<Long> seen = new HashSet<>();
        seen.add(pid);
        Deque<Long> queue = new ArrayDeque<>();
        queue.add(pid);
        while (!queue.isEmpty()) {
            for (long child : children(queue.poll())) {
                if (seen.add(child)) {
                    out.add(child);
                    queue.add(child);
                }
            }
        }
        return out;
    }

    /**
     * Whether {@code ancestor} is on the parent chain of process {@code pid} (a process is its own
     * ancestor). {@code pid} is a process id: map a thread id through {@link #tgid} first. False if
     * either is not positive or a process on the chain is gone.
     */
    public static boolean isAncestor(long ancestor, long pid) {
        if (ancestor <= 0) {
            return false;
        }
        long p = pid;
        for (int depth = 0; p > 0 && depth < MAX_DEPTH; depth++) {
            if (p == ancestor) {
                return true;
            }
            Optional<Stat> s = stat(p);
            if (s.isEmpty()) {
                return false;
            }
            p = s.get().ppid();
        }
        return false;
    }

    private static List<Long> childrenByScan(long pid) {
        List<Long> out = new ArrayList<>();
        for (long p : allPids()) {
            stat(p).filter(s -> s.ppid() == pid).ifPresent(s -> out.add(p));
        }
        return out;
    }

    private static long[] allPids() {
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of(PROC))) {
            for (Path p : dir) {
                String name = p.getFileName().toString();
                if (!name.isEmpty() && name.chars().allMatch(Character::isDigit)) {
                    pids.add(Long.parseLong(name));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (DirectoryIteratorException e) {
            throw new UncheckedIOException(e.getCause());
        }
        return pids.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    /**
     * Reads a whole {@code /proc} file, at most {@code max} bytes; null if the process it
     * describes is gone.
     */
    static byte[] read(String path, int max) {
        try (FileChannel ch = FileChannel.open(Path.of(path))) {
            ByteBuffer buf = ByteBuffer.allocate(Math.min(max, 4096));
            while (ch.read(buf) > 0) {
                // procfs hands out a seq_file in page-sized reads; keep going until EOF or max.
                if (!buf.hasRemaining()) {
                    if (buf.capacity() == max) {
                        break;
                    }
                    ByteBuffer bigger = ByteBuffer.allocate((int) Math.min(max, 2L * buf.capacity()));
                    bigger.put(buf.flip());
                    buf = bigger;
                }
            }
            return Arrays.copyOf(buf.array(), buf.position());
        } catch (IOException e) {
            if (isGone(e)) {
                return null;
            }
            throw new UncheckedIOException(e);
        }
    }

    /** ENOENT (the pid directory went away) or ESRCH (the task died while the file was open). */
    static boolean isGone(IOException e) {
        if (e instanceof NoSuchFileException) {
            return true;
        }
        String reason = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
        return reason != null && (reason.contains("No such process") || reason.contains("No such file"));
    }

    private static long statusField(byte[] b, String key) {
        byte[] k = key.getBytes(UTF_8);
        int at = indexOf(b, k);
        if (at < 0) {
            return -1;
        }
        int i = at + k.length;
        while (i < b.length && (b[i] == '\t' || b[i] == ' ')) {
            i++;
        }
        int start = i;
        while (i < b.length && b[i] >= '0' && b[i] <= '9') {
            i++;
        }
        return start == i ? -1 : parseLong(b, start, i);
    }

    private static void addNumbers(byte[] b, Set<Long> out) {
        int i = 0;
        while (i < b.length) {
            while (i < b.length && (b[i] < '0' || b[i] > '9')) {
                i++;
            }
            int start = i;
            while (i < b.length && b[i] >= '0' && b[i] <= '9') {
                i++;
            }
            if (start < i) {
                out.add(parseLong(b, start, i));
            }
        }
    }

    private static long parseLong(byte[] b, int from, int to) {
        boolean negative = from < to && b[from] == '-';
        long v = 0;
        for (int i = negative ? from + 1 : from; i < to; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                throw new NumberFormatException("not a number: " + new String(b, from, to - from, UTF_8));
            }
            v = v * 10 + d;
        }
        return negative ? -v : v;
    }

    private static int indexOf(byte[] b, int from, int to, byte c) {
        for (int i = from; i < to; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    private static int lastIndexOf(byte[] b, int to, byte c) {
        for (int i = to - 1; i >= 0; i--) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(byte[] b, byte[] k) {
        outer:
        for (int i = 0; i + k.length <= b.length; i++) {
            for (int j = 0; j < k.length; j++) {
                if (b[i + j] != k[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
