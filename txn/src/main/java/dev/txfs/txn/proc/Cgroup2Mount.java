package dev.txfs.txn.proc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the cgroup v2 hierarchy is mounted, and the mapping between cgroup paths (as {@code
 * /proc/<pid>/cgroup} shows them) and directories.
 *
 * @param mountPoint the directory the hierarchy is mounted on (e.g. {@code /sys/fs/cgroup} or, on
 *     a hybrid v1 layout, {@code /sys/fs/cgroup/unified})
 * @param root the cgroup mounted there, {@code "/"} unless a subtree is bind-mounted
 * @param readOnly whether the mount is read-only
 */
record Cgroup2Mount(Path mountPoint, String root, boolean readOnly) {
    /** The first cgroup2 mount in {@code /proc/self/mountinfo}; empty if there is none. */
    static Optional<Cgroup2Mount> find() {
        try {
            return parse(Files.readString(Path.of("/proc/self/mountinfo")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Finds the first cgroup2 mount in mountinfo text. A line reads {@code id parent maj:min root
     * mountpoint options [optional fields…] - fstype source superoptions}; paths escape space, tab,
     * newline and backslash as octal ({@code \040}).
     */
    static Optional<Cgroup2Mount> parse(String mountinfo) {
        for (String line : mountinfo.split("\n")) {
            String[] f = line.split(" ");
            int dash = -1;
            for (int i = 6; i < f.length; i++) {
                if (f[i].equals("-")) {
                    dash = i;
                    break;
                }
            }
            if (dash < 0 || dash + 1 >= f.length || !f[dash + 1].equals("cgroup2")) {
                continue;
            }
            boolean ro = false;
            for (String opt : f[5].split(",")) {
                ro |= opt.equals("ro");
            }
            return Optional.of(new Cgroup2Mount(Path.of(unescape(f[4])), unescape(f[3]), ro));
        }
        return Optional.empty();
    }

    /** The directory of a cgroup path; empty if that cgroup is outside this mount. */
    Optional<Path> dirOf(String cgroupPath) {
        String rel;
        if (root.equals("/")) {
            rel = cgroupPath;
        } else if (cgroupPath.equals(root)) {
            rel = "/";
        } else if (cgroupPath.startsWith(root + "/")) {
            rel = cgroupPath.substring(root.length());
        } else {
            return Optional.empty();
        }
        if (!rel.startsWith("/") || rel.contains("/../") || rel.endsWith("/..")) {
            return Optional.empty();
        }
        return Optional.of(rel.equals("/") ? mountPoint : mountPoint.resolve(rel.substring(1)));
    }

    /** The cgroup path of a directory under the mount point. */
    String pathOf(Path dir) {
        Path rel = mountPoint.relativize(dir);
        String tail = rel.toString();
        if (tail.isEmpty()) {
            return root;
        }
        return root.equals("/") ? "/" + tail : root + "/" + tail;
    }

    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
