package dev.txfs.txn.proc;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * File operations on cgroupfs: moving a process is writing its pid to {@code cgroup.procs}; a
 * cgroup is a directory that rmdir removes once it has no processes and no children.
 */
final class CgroupFiles {
    private static final Logger LOG = Logger.getLogger(CgroupFiles.class.getName());

    private CgroupFiles() {}

    /** Whether cgroup {@code path} is {@code dir} or below it. */
    static boolean isIn(String path, String dir) {
        return path.equals(dir) || path.startsWith(dir + "/");
    }

    /** A cgroup directory and the ones below it, children before parents (the rmdir order). */
    static List<Path> subtreeDeepestFirst(Path dir) {
        return subtreeDeepestFirst(dir, 0);
    }

    private static List<Path> subtreeDeepestFirst(Path dir, int attempt) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isDirectory)
                    .sorted(Comparator.comparingInt(Path::getNameCount).reversed())
                    .toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof NoSuchFileException && attempt < 3) {
                return subtreeDeepestFirst(dir, attempt + 1); // a sub-cgroup went away while we walked
            }
            throw e;
        }
    }

    /** The processes directly in a cgroup; empty if it is gone. */
    static List<Long> readPids(Path dir) {
        try {
            String text = Files.readString(dir.resolve("cgroup.procs"), US_ASCII);
            List<Long> pids = new ArrayList<>();
            for (String line : text.split("\n")) {
                if (!line.isBlank()) {
                    pids.add(Long.parseLong(line.trim()));
                }
            }
            return pids;
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Moves a process into a cgroup: one pid per write(2). */
    static void writePid(Path dir, long pid) throws IOException {
        Files.write(dir.resolve("cgroup.procs"), Long.toString(pid).getBytes(US_ASCII), StandardOpenOption.WRITE);
    }

    /** True if this call created the directory. */
    static boolean mkdir(Path dir) throws IOException {
        try {
            Files.createDirectory(dir);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        }
    }

    /** Removes a cgroup if it is empty and has no children; quiet if it cannot. */
    static void rmdirQuietly(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (DirectoryNotEmptyException e) {
            // another instance's cgroups are in it
        } catch (IOException e) {
            LOG.fine(() -> "cannot remove " + dir + ": " + reason(e));
        }
    }

    /** The parent of a cgroup path; null for {@code "/"}. */
    static String parent(String cgroupPath) {
        if (cgroupPath.equals("/")) {
            return null;
        }
        int slash = cgroupPath.lastIndexOf('/');
        return slash <= 0 ? "/" : cgroupPath.substring(0, slash);
    }

    /** ESRCH from writing a pid: the process exited. */
    static boolean isNoSuchProcess(IOException e) {
        String r = reason(e);
        return r.contains("No such process");
    }

    /** The errno text of a failed file operation, without the path. */
    static String reason(IOException e) {
        return e instanceof FileSystemException f && f.getReason() != null
                ? f.getReason()
                : String.valueOf(e.getMessage());
    }

    /**
     * Removes the empty cgroups a crashed daemon left: root-owned directories whose name starts
     * with {@code namePrefix}, anywhere below {@code mountPoint} (one walk). Populated ones stay to
     * their processes; a user's look-alike (not root's) is not touched.
     */
    static void removeStale(Path mountPoint, String namePrefix) {
        List<Path> stale = new ArrayList<>();
        try {
            Files.walkFileTree(mountPoint, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    Path name = dir.getFileName();
                    if (name != null && name.toString().startsWith(namePrefix) && ownedByRoot(dir)) {
                        stale.add(dir);
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // a cgroup removed while we walk
                }
            });
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot walk the cgroup2 hierarchy at " + mountPoint, e);
        }
        for (Path d : stale) {
            try {
                for (Path s : subtreeDeepestFirst(d)) {
                    Files.delete(s);
                }
                LOG.info("removed stale cgroup " + d);
            } catch (IOException e) {
                LOG.warning("cgroup " + d + " left by an earlier txfs daemon still has processes; leaving it");
            }
        }
    }

    private static boolean ownedByRoot(Path dir) {
        try {
            return ((Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS)) == 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
