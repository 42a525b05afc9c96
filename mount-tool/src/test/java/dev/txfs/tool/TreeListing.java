package dev.txfs.tool;

import dev.txfs.fs.posix.DirEntry;
import dev.txfs.fs.posix.Posix;
import dev.txfs.fs.posix.Stat;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/** Every name under a directory with what checkout must reproduce (no ctime, no atime), for comparisons. */
final class TreeListing {
    private TreeListing() {}

    static Map<String, String> of(byte[] root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        add(Posix.get(), root, "", true, out);
        return out;
    }

    private static void add(Posix posix, byte[] abs, String rel, boolean isRoot, Map<String, String> out)
            throws Exception {
        Stat st = posix.lstat(abs);
        StringBuilder sb = new StringBuilder();
        sb.append(Integer.toOctalString(st.mode()))
                .append(" uid=")
                .append(st.uid())
                .append(" gid=")
                .append(st.gid())
                .append(" nlink=")
                .append(st.isDirectory() ? "-" : Long.toString(st.nlink()))
                .append(" rdev=")
                .append(st.rdev())
                .append(" mtime=")
                .append(st.mtimeNs());
        if (!st.isDirectory()) {
            sb.append(" size=").append(st.size());
        }
        for (Map.Entry<String, byte[]> x : posix.getXattrs(abs).entrySet()) {
            sb.append(" xattr:")
                    .append(x.getKey())
                    .append('=')
                    .append(HexFormat.of().formatHex(x.getValue()));
        }
        if (st.isSymlink()) {
            sb.append(" -> ").append(HexFormat.of().formatHex(posix.readlink(abs)));
        }
        if (st.isRegularFile()) {
            sb.append(" sha256=").append(sha256(posix, abs));
        }
        out.put(isRoot ? "/" : rel, sb.toString());
        if (st.isDirectory()) {
            for (DirEntry e : posix.listDirectory(abs)) {
                add(
                        posix,
                        Posix.child(abs, e.name()),
                        rel + "/" + HexFormat.of().formatHex(e.name()),
                        false,
                        out);
            }
        }
    }

    private static String sha256(Posix posix, byte[] abs) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        int fd = posix.open(abs, Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
        try (InputStream in = posix.inputStream(fd, abs)) {
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw e;
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
