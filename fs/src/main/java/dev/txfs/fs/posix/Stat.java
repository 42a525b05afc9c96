package dev.txfs.fs.posix;

/**
 * What {@code statx} says about one inode. Times are nanoseconds since the epoch; {@code dev} and
 * {@code rdev} use glibc's {@code makedev} encoding; {@code uid}/{@code gid} are unsigned.
 */
public record Stat(
        long dev,
        long ino,
        int mode,
        long nlink,
        long uid,
        long gid,
        long rdev,
        long size,
        long blocks,
        long atimeNs,
        long mtimeNs,
        long ctimeNs) {
    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFIFO = 0010000;

    /** The file type bits ({@link #S_IFMT} of mode). */
    public int type() {
        return mode & S_IFMT;
    }

    /** Permission bits including setuid, setgid and sticky (07777). */
    public int permissions() {
        return mode & 07777;
    }

    public boolean isDirectory() {
        return type() == S_IFDIR;
    }

    public boolean isRegularFile() {
        return type() == S_IFREG;
    }

    public boolean isSymlink() {
        return type() == S_IFLNK;
    }

    /** glibc's {@code makedev(major, minor)}. */
    public static long makedev(long major, long minor) {
        return ((major & 0xfffL) << 8)
                | ((major & 0xfffff000L) << 32)
                | (minor & 0xffL)
                | ((minor & 0xffffff00L) << 12);
    }

    /** glibc's {@code major(dev)}. */
    public static long major(long dev) {
        return ((dev >>> 8) & 0xfffL) | ((dev >>> 32) & 0xfffff000L);
    }

    /** glibc's {@code minor(dev)}. */
    public static long minor(long dev) {
        return (dev & 0xffL) | ((dev >>> 12) & 0xffffff00L);
    }
}
