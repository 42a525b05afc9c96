package dev.txfs.tool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * txfs mounts as the kernel lists them in {@code /proc/self/mountinfo}. A txfs mount's source is
 * {@code txfs:<store directory>} ({@code txfs-isolated:} for an isolated mount), which is how
 * commands run inside a mount find its store.
 */
final class Mounts {
    static final String FSTYPE = "fuse.txfs";
    static final String SOURCE_PREFIX = "txfs:";
    /** The source of an isolated mount: {@code txfs-isolated:<store directory>}. */
    static final String ISOLATED_PREFIX = "txfs-isolated:";

    /** One mounted txfs: the store's live tree, or an isolated view of one of its snapshots. */
    record TxfsMount(Path mountpoint, Path store, boolean isolated) {}

    private Mounts() {}

    static List<TxfsMount> list() {
        List<TxfsMount> out = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        } catch (IOException e) {
            return out;
        }
        for (String line : lines) {
            // id parent major:minor root mountpoint options [optional...] - fstype source superopts
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            String[] left = line.substring(0, dash).split(" ");
            String[] right = line.substring(dash + 3).split(" ");
            if (left.length < 5 || right.length < 2 || !right[0].equals(FSTYPE)) {
                continue;
            }
            String source = unescape(right[1]);
            boolean isolated = source.startsWith(ISOLATED_PREFIX);
            if (!isolated && !source.startsWith(SOURCE_PREFIX)) {
                continue;
            }
            out.add(new TxfsMount(
                    Path.of(unescape(left[4])),
                    Path.of(source.substring((isolated ? ISOLATED_PREFIX : SOURCE_PREFIX).length())),
                    isolated));
        }
        return out;
    }

    /** The txfs mount at exactly {@code mountpoint}. */
    static Optional<TxfsMount> at(Path mountpoint) {
        Path mp = mountpoint.toAbsolutePath().normalize();
        TxfsMount found = null;
        for (TxfsMount m : list()) {
            if (m.mountpoint().equals(mp)) {
                found = m; // the last one listed is the top of a stack of mounts
            }
        }
        return Optional.ofNullable(found);
    }

    /** The innermost txfs mount holding {@code path}. */
    static Optional<TxfsMount> containing(Path path) {
        Path p = path.toAbsolutePath().normalize();
        TxfsMount best = null;
        for (TxfsMount m : list()) {
            if (p.startsWith(m.mountpoint())
                    && (best == null
                            || m.mountpoint().getNameCount()
                                    >= best.mountpoint().getNameCount())) {
                best = m;
            }
        }
        return Optional.ofNullable(best);
    }

    /** The txfs mounts serving the live tree of store {@code dir} (the same directory, however it is spelled). */
    static List<TxfsMount> ofStore(Path dir) {
        List<TxfsMount> out = new ArrayList<>();
        for (TxfsMount m : list()) {
            if (m.isolated()) {
                continue;
            }
            try {
                if (Files.isSameFile(m.store(), dir)) {
                    out.add(m);
                }
            } catch (IOException e) {
                // a store directory gone from under its mount serves nothing we can reach
            }
        }
        return out;
    }

    /** mountinfo escapes space, tab, newline and backslash as octal {@code \ooo}. */
    static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\'
                    && i + 3 < s.length()
                    && s.substring(i + 1, i + 4).chars().allMatch(ch -> ch >= '0' && ch <= '7')) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
