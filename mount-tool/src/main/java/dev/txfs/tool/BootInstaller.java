package dev.txfs.tool;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Puts the boot integration (the files under mount-tool/src/main/boot, packaged in the jar under
 * {@code boot/}) in place below a root directory, and takes it away again.
 */
final class BootInstaller {
    static final String HOME = "usr/lib/txfs";
    static final String RUNTIME_JAVA = HOME + "/runtime/bin/java";
    static final String UNIT = "txfs-mark-good.service";
    static final String UNIT_LINK = "etc/systemd/system/default.target.wants/" + UNIT;

    /** One file: where it is in the jar, where it goes, whether it is executable. */
    record Item(String resource, String target, boolean executable) {}

    static final List<Item> ITEMS = List.of(
            new Item("lib/txfs-boot.sh", HOME + "/boot/txfs-boot.sh", false),
            new Item("bin/txfs", HOME + "/bin/txfs", true),
            new Item("initramfs-tools/hooks/txfs", "usr/share/initramfs-tools/hooks/txfs", true),
            new Item("initramfs-tools/scripts/init-top/txfs", "usr/share/initramfs-tools/scripts/init-top/txfs", true),
            new Item("initramfs-tools/scripts/txfs", "usr/share/initramfs-tools/scripts/txfs", false),
            new Item("dracut/90txfs/module-setup.sh", "usr/lib/dracut/modules.d/90txfs/module-setup.sh", true),
            new Item("dracut/90txfs/txfs-cmdline.sh", "usr/lib/dracut/modules.d/90txfs/txfs-cmdline.sh", true),
            new Item("dracut/90txfs/txfs-mount.sh", "usr/lib/dracut/modules.d/90txfs/txfs-mount.sh", true),
            new Item("dracut/txfs.conf", "etc/dracut.conf.d/txfs.conf", false),
            new Item("systemd/" + UNIT, "etc/systemd/system/" + UNIT, false));

    /** Files install makes beside the ITEMS: the jar and the native libraries. */
    static final List<String> OTHERS = List.of(
            HOME + "/txfs.jar", HOME + "/native/" + NativeLibs.JFFI, HOME + "/native/" + NativeLibs.LMDB, UNIT_LINK);

    private final Path root;

    BootInstaller(Path root) {
        this.root = root;
    }

    List<Path> install() throws IOException {
        List<Path> done = new ArrayList<>();
        for (Item item : ITEMS) {
            Path to = root.resolve(item.target());
            try (InputStream in = resource("boot/" + item.resource())) {
                copy(in, to);
            }
            Files.setPosixFilePermissions(
                    to, PosixFilePermissions.fromString(item.executable() ? "rwxr-xr-x" : "rw-r--r--"));
            done.add(to);
        }
        Path jar = runningJar();
        if (jar != null) {
            Path to = root.resolve(HOME + "/txfs.jar");
            try (InputStream in = Files.newInputStream(jar)) {
                copy(in, to);
            }
            done.add(to);
            String arch =
                    switch (System.getProperty("os.arch")) {
                        case "amd64", "x86_64" -> "x86_64";
                        case "aarch64" -> "aarch64";
                        default -> null;
                    };
            if (arch != null) {
                done.add(
                        copyResource("jni/" + arch + "-Linux/" + NativeLibs.JFFI, HOME + "/native/" + NativeLibs.JFFI));
                done.add(copyResource("org/lmdbjava/" + arch + "-linux-gnu.so", HOME + "/native/" + NativeLibs.LMDB));
            }
        }
        Path link = root.resolve(UNIT_LINK);
        Files.createDirectories(link.getParent());
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, Path.of("../" + UNIT));
        done.add(link);
        return done;
    }

    /** Removes what {@link #install} puts in place (and the directories it leaves empty). */
    List<Path> uninstall() throws IOException {
        List<Path> done = new ArrayList<>();
        List<String> all = new ArrayList<>(OTHERS);
        ITEMS.forEach(i -> all.add(i.target()));
        for (String t : all) {
            Path p = root.resolve(t);
            if (Files.deleteIfExists(p)) {
                done.add(p);
            }
        }
        for (String dir : List.of(
                HOME + "/boot",
                HOME + "/bin",
                HOME + "/native",
                "usr/lib/dracut/modules.d/90txfs",
                "etc/systemd/system/default.target.wants")) {
            deleteIfEmpty(root.resolve(dir));
        }
        return done;
    }

    private static void deleteIfEmpty(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            try (var s = Files.list(dir)) {
                if (s.findAny().isEmpty()) {
                    Files.delete(dir);
                }
            }
        }
    }

    private Path copyResource(String resource, String target) throws IOException {
        Path to = root.resolve(target);
        try (InputStream in = resource(resource)) {
            copy(in, to);
        }
        return to;
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = BootInstaller.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new ToolException(ExitCode.FAILED, "the txfs jar lacks " + name + ": a broken build?");
        }
        return in;
    }

    /** Writes to a temporary name beside {@code to} and renames: a reader never sees half a file. */
    private static void copy(InputStream in, Path to) throws IOException {
        Files.createDirectories(to.getParent());
        Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The jar this command runs from, or null when it runs from classes (tests). */
    private static Path runningJar() {
        String cp = System.getProperty("java.class.path", "");
        if (cp.endsWith(".jar") && !cp.contains(java.io.File.pathSeparator)) {
            Path p = Path.of(cp);
            return Files.isRegularFile(p) ? p : null;
        }
        return null;
    }
}
