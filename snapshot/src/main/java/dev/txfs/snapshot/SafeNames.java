package dev.txfs.snapshot;

import java.nio.charset.StandardCharsets;

/**
 * Checks that the names an object brings cannot lead outside the tree when checked out or served:
 * an entry name is never "", "." or "..", and never holds '/' or NUL; a link record's key and paths
 * and a hard link's key are absolute paths made of such names. Used on objects that come from
 * outside (an import stream) before any of them is stored.
 */
public final class SafeNames {
    private SafeNames() {}

    /** What a tree node holds, so a reader can check it sits where it may. */
    public enum NodeKind {
        /** An internal node: its children hold the entries (same kind of place as itself). */
        INTERNAL,
        /** A leaf without entries. */
        EMPTY,
        /** Directory entries (may appear below a Root's directory only). */
        ENTRIES,
        /** Link records (may appear below a Root's link table only). */
        RECORDS
    }

    /**
     * Throws {@link MalformedObjectException} ("unsafe ...") naming the first unsafe name in a tree
     * node or root, or a leaf that mixes directory entries and link records. Returns the node's
     * kind for a tree node, null for other objects: a directory entry named like a record ("/a/b")
     * is only safe if the caller checks that ENTRIES nodes sit below directories and RECORDS nodes
     * below link tables.
     */
    public static NodeKind check(byte[] raw) {
        switch (ObjectType.of(raw)) {
            case TREE -> {
                TreeNode node = TreeCodec.decodeNode(raw);
                if (!node.isLeaf()) {
                    return NodeKind.INTERNAL;
                }
                int records = 0;
                for (TreeEntry e : node.entries) {
                    entry(e);
                    records += e.linkPaths() != null ? 1 : 0;
                }
                if (records != 0 && records != node.entries.size()) {
                    throw new MalformedObjectException("unsafe tree node: link records mixed with directory entries");
                }
                return node.entries.isEmpty() ? NodeKind.EMPTY : records == 0 ? NodeKind.ENTRIES : NodeKind.RECORDS;
            }
            case ROOT -> {
                if (Root.decode(raw).dir().name().length != 0) {
                    throw new MalformedObjectException("root directory entry has a name");
                }
                return null;
            }
            default -> {
                return null;
            }
        }
    }

    private static void entry(TreeEntry e) {
        if (e.linkPaths() != null) {
            path(e.name(), "link record key");
            for (byte[] p : e.linkPaths()) {
                path(p, "link path");
            }
        } else {
            name(e.name(), "entry name");
        }
        if (e.kind() == EntryKind.HARDLINK) {
            path(e.linkKey(), "hard link key");
        }
    }

    /** Whether {@code name} may name an entry of a directory. */
    public static boolean isSafeName(byte[] name) {
        if (name.length == 0
                || name.length == 1 && name[0] == '.'
                || name.length == 2 && name[0] == '.' && name[1] == '.') {
            return false;
        }
        for (byte b : name) {
            if (b == '/' || b == 0) {
                return false;
            }
        }
        return true;
    }

    private static void name(byte[] name, String what) {
        if (!isSafeName(name)) {
            throw new MalformedObjectException("unsafe " + what + ": '" + printable(name) + "'");
        }
    }

    private static void path(byte[] path, String what) {
        if (path == null || path.length < 2 || path[0] != '/') {
            throw new MalformedObjectException(
                    "unsafe " + what + ": '" + printable(path) + "' is not an absolute path");
        }
        int start = 1;
        for (int i = 1; i <= path.length; i++) {
            if (i == path.length || path[i] == '/') {
                byte[] seg = java.util.Arrays.copyOfRange(path, start, i);
                if (!isSafeName(seg)) {
                    throw new MalformedObjectException("unsafe " + what + ": '" + printable(path) + "'");
                }
                start = i + 1;
            }
        }
    }

    private static String printable(byte[] b) {
        if (b == null) {
            return "";
        }
        String s = new String(b, StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            out.append(c < 0x20 ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return out.toString();
    }
}
