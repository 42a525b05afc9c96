package dev.txfs.journal;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.TreeSet;

/**
 * Absolute paths as the journal handles them inside: ISO-8859-1 strings, one char per byte, so
 * that a path keeps its exact bytes and {@link String#compareTo} is unsigned bytewise order (the
 * order of link keys and of {@link dev.txfs.snapshot.Directories#NAME_ORDER}). The root is "".
 */
final class RawPaths {
    private RawPaths() {}

    static String of(byte[] bytes) {
        return new String(bytes, ISO_8859_1);
    }

    static byte[] bytes(String raw) {
        return raw.getBytes(ISO_8859_1);
    }

    static String child(String parent, byte[] name) {
        return parent + "/" + of(name);
    }

    /** The path for people: "/" for the root, names decoded as UTF-8. */
    static String display(String raw) {
        return raw.isEmpty() ? "/" : new String(bytes(raw), UTF_8);
    }

    /** Display forms of raw paths, in bytewise order of the raw paths, each once. */
    static List<String> display(Collection<String> raw) {
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (String p : new TreeSet<>(raw)) {
            out.add(display(p));
        }
        return List.copyOf(out);
    }

    /** Whether {@code path} is strictly below {@code dir}. */
    static boolean isBelow(String path, String dir) {
        return path.length() > dir.length() + 1 && path.startsWith(dir) && path.charAt(dir.length()) == '/';
    }

    /** The link paths of a record as raw strings (empty for null). */
    static TreeSet<String> ofAll(List<byte[]> paths) {
        TreeSet<String> out = new TreeSet<>();
        if (paths != null) {
            for (byte[] p : paths) {
                out.add(of(p));
            }
        }
        return out;
    }
}
