package dev.txfs.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.FileVisitor;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The store directory as files on the host: who may read them, and whether {@code data.mdb} is
 * whole before LMDB maps it.
 *
 * <p>Permissions: the store directory is 0700 and nothing in it grants group or others any access,
 * whatever the umask (the store holds every user's files, 0600 ones included). An existing store
 * is tightened when its owner (or root) opens it: the directory, and every regular file and
 * directory below it (four levels; symlinks, sockets and entries of another owner are left alone,
 * and nothing is followed).
 */
final class StoreFiles {
    /** How deep tightening looks: {@code run/}, {@code logs/}, {@code statcache/} and their files. */
    private static final int MAX_DEPTH = 4;

    static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private static final Set<PosixFilePermission> GROUP_OTHER = EnumSet.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_EXECUTE);

    /** LMDB's meta page: magic, and where the last page number and txn id are (64-bit build). */
    private static final int MDB_MAGIC = 0xBEEFC0DE;

    private static final int META_HEADER = 16;
    private static final int META_PSIZE = META_HEADER + 24;
    private static final int META_LAST_PG = META_HEADER + 120;
    private static final int META_TXNID = META_HEADER + 128;

    private StoreFiles() {}

    /**
     * Takes group and other access away from {@code dir} and what is below it; one line to
     * {@code notices} if the directory itself was open to others. A caller who may not change modes (not the owner, not
     * root) changes nothing and is not told.
     */
    static void tighten(Path dir, Consumer<String> notices) {
        int[] changed = {0};
        String[] was = {null};
        Object owner;
        try {
            // the store directory as named (it may be a symlink, e.g. /var/lib/txfs); nothing in it is followed
            owner = Files.getAttribute(dir, "unix:uid");
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(dir);
            if (!Files.isDirectory(dir)) {
                return;
            }
            if (!DIRECTORY.equals(mode)) {
                if (!chmod(dir, DIRECTORY)) {
                    return; // not ours to change
                }
                was[0] = PosixFilePermissions.toString(mode);
                changed[0]++;
            }
            Path real = dir.toRealPath();
            Files.walkFileTree(real, Set.of(), MAX_DEPTH, new FileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                    if (d.equals(real)) {
                        return FileVisitResult.CONTINUE;
                    }
                    if (!owner.equals(Files.getAttribute(d, "unix:uid", LinkOption.NOFOLLOW_LINKS))) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    tightenOne(d, attrs);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                    if ((attrs.isRegularFile() || attrs.isDirectory())
                            && owner.equals(Files.getAttribute(f, "unix:uid", LinkOption.NOFOLLOW_LINKS))) {
                        tightenOne(f, attrs);
                    }
                    return FileVisitResult.CONTINUE;
                }

                private void tightenOne(Path p, BasicFileAttributes attrs) throws IOException {
                    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
                    if (mode.stream().anyMatch(GROUP_OTHER::contains)) {
                        Set<PosixFilePermission> tight = EnumSet.copyOf(mode);
                        tight.removeAll(GROUP_OTHER);
                        if (attrs.isDirectory()) {
                            tight.addAll(DIRECTORY);
                        }
                        if (chmod(p, tight)) {
                            changed[0]++;
                        }
                    }
                }

                @Override
                public FileVisitResult visitFileFailed(Path f, IOException e) {
                    return FileVisitResult.CONTINUE; // gone meanwhile, or unreadable: nothing to tighten
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException | UnsupportedOperationException e) {
            return; // not a POSIX file system, or not ours: nothing to tighten
        }
        if (was[0] != null) { // entries of a 0700 directory were out of other users' reach: not worth a word
            notices.accept("store " + dir + " was readable by other users"
                    + (was[0] == null ? "" : " (directory " + was[0] + ")")
                    + ": took group and other access away from it and " + (changed[0] - (was[0] == null ? 0 : 1))
                    + " entries in it");
        }
    }

    /**
     * chmod(2) by path; false when the caller may not change the mode. Never by opening the file:
     * closing any descriptor of a file drops this process's POSIX locks on it ({@code live.lock},
     * {@code gc.lock}). The caller has checked with lstat that {@code p} is no symlink, and no other
     * user can swap it for one: its directory was made 0700 before (or is the store itself).
     */
    private static boolean chmod(Path p, Set<PosixFilePermission> mode) throws IOException {
        try {
            Files.setPosixFilePermissions(p, mode);
            return true;
        } catch (FileSystemException e) {
            return false; // EPERM (not the owner), gone
        }
    }

    /** Creates {@code file} (must not exist) with mode 0600 whatever the umask, holding {@code text}. */
    static void writeNew(Path file, String text) throws IOException {
        try (FileChannel ch = FileChannel.open(
                file,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                PosixFilePermissions.asFileAttribute(FILE))) {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
        Files.setPosixFilePermissions(file, FILE);
    }

    /**
     * Refuses a {@code data.mdb} shorter than its last committed transaction says it is: LMDB maps
     * the file, and reading a page past its end kills the JVM with SIGBUS. Reads the two meta pages
     * (LMDB uses the one with the larger txn id) and compares {@code (last page + 1) * page size}
     * with the file's length.
     */
    static void checkDataFile(Path data) {
        long length;
        ByteBuffer head = ByteBuffer.allocate(META_TXNID + 8).order(ByteOrder.nativeOrder());
        ByteBuffer second = ByteBuffer.allocate(META_TXNID + 8).order(ByteOrder.nativeOrder());
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            length = ch.size();
            if (length == 0) {
                return; // a new store: LMDB writes the meta pages
            }
            readFully(ch, head, 0);
            if (head.getInt(META_HEADER) != MDB_MAGIC) {
                throw damaged(data, "is not an LMDB data file (no meta page at its start)");
            }
            long psize = head.getInt(META_PSIZE) & 0xffffffffL;
            if (psize < 512 || psize > (1 << 16) || Long.bitCount(psize) != 1) {
                throw damaged(data, "has a meta page with page size " + psize);
            }
            if (length < 2 * psize) {
                throw damaged(data, "is " + length + " bytes, shorter than its two meta pages (" + 2 * psize + ")");
            }
            readFully(ch, second, psize);
            ByteBuffer meta = head;
            if (second.getInt(META_HEADER) == MDB_MAGIC
                    && Long.compareUnsigned(second.getLong(META_TXNID), head.getLong(META_TXNID)) > 0) {
                meta = second;
            }
            long lastPage = meta.getLong(META_LAST_PG);
            long needed = (lastPage + 1) * psize;
            if (lastPage < 1 || needed / psize != lastPage + 1) {
                throw damaged(data, "has a meta page naming page " + lastPage + " as its last");
            }
            if (length < needed) {
                throw damaged(
                        data,
                        "is " + length + " bytes, shorter than the " + needed
                                + " bytes its last committed transaction uses (truncated?)");
            }
        } catch (IOException e) {
            throw new ObjectStore.StoreFormatException("cannot read " + data + ": " + e.getMessage());
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) {
                break;
            }
        }
        if (b.hasRemaining()) {
            throw new ObjectStore.StoreFormatException("store damaged: data.mdb ends inside a meta page");
        }
    }

    private static ObjectStore.StoreFormatException damaged(Path data, String what) {
        return new ObjectStore.StoreFormatException(
                "store damaged: " + data.getFileName() + " " + what + " (" + data + ")");
    }
}
