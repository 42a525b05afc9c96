package dev.txfs.tool;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Copies the native libraries that jffi (under jnr-ffi) and lmdbjava ship inside the jar into a
 * directory, once, so that bin/txfs can point {@code jffi.boot.library.path} and {@code
 * lmdbjava.native.lib} at them: otherwise both extract a fresh copy to /tmp at every start.
 *
 * <p>Usage: {@code java -cp txfs.jar dev.txfs.tool.NativeLibs DIR}; exits 1 on an unsupported
 * platform (bin/txfs then lets the libraries extract themselves as usual).
 */
public final class NativeLibs {
    static final String JFFI = "libjffi-1.2.so";
    static final String LMDB = "liblmdb.so";

    private NativeLibs() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: NativeLibs DIR");
            System.exit(2);
        }
        String arch =
                switch (System.getProperty("os.arch")) {
                    case "amd64", "x86_64" -> "x86_64";
                    case "aarch64" -> "aarch64";
                    default -> null;
                };
        if (arch == null || !System.getProperty("os.name").equals("Linux")) {
            System.exit(1);
        }
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        copy("jni/" + arch + "-Linux/" + JFFI, dir.resolve(JFFI));
        copy("org/lmdbjava/" + arch + "-linux-gnu.so", dir.resolve(LMDB));
    }

    private static void copy(String resource, Path to) throws IOException {
        try (InputStream in = NativeLibs.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("resource not in the jar: " + resource);
            }
            Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }
}
