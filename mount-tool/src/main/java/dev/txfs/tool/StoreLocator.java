package dev.txfs.tool;

import dev.txfs.snapshot.LmdbObjectStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The one place that decides which store a command uses: {@code --store DIR}, else {@code
 * $TXFS_STORE}, else the default ({@code /var/lib/txfs} for root; {@code $XDG_DATA_HOME/txfs} or
 * {@code ~/.local/share/txfs} for others). Only the default store is created on first use; a
 * store named explicitly must exist (see {@code txfs init}).
 *
 * <p>A command run inside a txfs mount (its working directory below the mount point) uses that
 * mount's store, after {@code --store} and {@code $TXFS_STORE} and before the default.
 */
final class StoreLocator {
    static final String ENV = "TXFS_STORE";
    static final Path ROOT_DEFAULT = Path.of("/var/lib/txfs");

    /** Where a store is and whether it was named or is the default. */
    record Location(Path dir, String source) {
        boolean isDefault() {
            return source.equals("default");
        }
    }

    private final Map<String, String> env;
    private final long euid;
    private final Path home;

    StoreLocator(Map<String, String> env, long euid, Path home) {
        this.env = env;
        this.euid = euid;
        this.home = home;
    }

    /** The locator for this process: its environment, effective uid and home ($HOME, else the passwd entry's). */
    static StoreLocator forThisProcess() {
        String home = System.getenv("HOME");
        Path homeDir = home != null && home.startsWith("/") ? Path.of(home) : Path.of(System.getProperty("user.home"));
        return new StoreLocator(System.getenv(), effectiveUid(), homeDir);
    }

    Location locate(Path explicit) {
        if (explicit != null) {
            return new Location(explicit.toAbsolutePath().normalize(), "--store");
        }
        String fromEnv = env.get(ENV);
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return new Location(Path.of(fromEnv).toAbsolutePath().normalize(), ENV);
        }
        var mount = Mounts.containing(Path.of("").toAbsolutePath());
        if (mount.isPresent()) {
            return new Location(mount.get().store(), "mount " + mount.get().mountpoint());
        }
        if (euid == 0) {
            return new Location(ROOT_DEFAULT, "default");
        }
        String xdg = env.get("XDG_DATA_HOME");
        Path base = xdg != null && Path.of(xdg).isAbsolute() ? Path.of(xdg) : home.resolve(".local/share");
        return new Location(base.resolve("txfs"), "default");
    }

    /** Opens the store; the default one is created if it does not exist yet. */
    LmdbObjectStore open(Path explicit) {
        Location where = locate(explicit);
        if (where.isDefault() && !Files.exists(where.dir().resolve(LmdbObjectStore.CONF))) {
            try {
                Files.createDirectories(where.dir());
            } catch (IOException e) {
                throw new ToolException(
                        ExitCode.STORE, "cannot create the default store " + where.dir() + ": " + Errors.message(e), e);
            }
            if (isEmptyDirectory(where.dir())) {
                return LmdbObjectStore.create(where.dir(), LmdbObjectStore.DEFAULT_MAP_SIZE);
            }
        }
        return LmdbObjectStore.open(where.dir(), notice -> System.err.println(Errors.PREFIX + notice));
    }

    private static boolean isEmptyDirectory(Path dir) {
        try (var list = Files.list(dir)) {
            return list.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** The effective uid, from /proc (no native call needed); -1 if unknown. */
    static long effectiveUid() {
        return effectiveId("Uid:");
    }

    /** The effective gid, from /proc; -1 if unknown. */
    static long effectiveGid() {
        return effectiveId("Gid:");
    }

    private static long effectiveId(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or /proc is not mounted: fall through
        }
        return -1;
    }
}
