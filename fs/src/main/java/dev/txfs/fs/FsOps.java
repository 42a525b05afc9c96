package dev.txfs.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The filesystem as the FUSE session calls it: inode numbers in, plain Java values out, failures as
 * exceptions ({@code java.nio.file} types, {@code TreeExceptions}, {@link FsException}). The
 * session ({@code fs.fuse}) turns them into replies and errno; nothing here knows the protocol.
 *
 * <p>Threads: called from several reader threads at once; implementations synchronise.
 */
public interface FsOps {
    long ROOT = 1;

    /** Who is asking (from the request header). */
    record Caller(long uid, long gid, long pid) {}

    /** What stat reports. Times in ns since the epoch. */
    record Attr(
            long ino,
            long size,
            long blocks,
            long atimeNs,
            long mtimeNs,
            long ctimeNs,
            int mode,
            long nlink,
            long uid,
            long gid,
            long rdev) {}

    /** A name resolved: its inode and how long the kernel may cache the name and the attributes. */
    record Entry(long ino, long generation, Attr attr, long entryValidNs, long attrValidNs) {}

    /** A created and opened file. */
    record Created(Entry entry, long fh, boolean keepCache) {}

    /** An opened file or directory. */
    record Opened(long fh, boolean keepCache, boolean directIo) {}

    /** A setattr request: null fields are left alone; NOW means the current time. */
    record SetAttr(
            Integer mode,
            Long uid,
            Long gid,
            Long size,
            Long atimeNs,
            Long mtimeNs,
            boolean atimeNow,
            boolean mtimeNow) {}

    /** One directory entry for readdir(plus). */
    record DirEntry(byte[] name, long ino, int mode, long nextOffset, Entry entry) {}

    /** What statfs reports. */
    record StatFs(long blocks, long bfree, long bavail, long files, long ffree, int bsize, int namelen) {}

    /** How long the kernel may cache the attributes of {@code ino} as a getattr/setattr reply gives them. */
    long attrValidNs(long ino);

    Entry lookup(Caller c, long parent, byte[] name) throws IOException;

    void forget(long ino, long nlookup);

    Attr getattr(Caller c, long ino, long fh) throws IOException;

    Attr setattr(Caller c, long ino, long fh, SetAttr s) throws IOException;

    byte[] readlink(Caller c, long ino) throws IOException;

    /** {@code umask} is the caller's: the filesystem applies it (FUSE_DONT_MASK), unless a default ACL rules. */
    Entry mknod(Caller c, long parent, byte[] name, int mode, long rdev, int umask) throws IOException;

    Entry mkdir(Caller c, long parent, byte[] name, int mode, int umask) throws IOException;

    Entry symlink(Caller c, long parent, byte[] name, byte[] target) throws IOException;

    Entry link(Caller c, long ino, long newParent, byte[] newName) throws IOException;

    void unlink(Caller c, long parent, byte[] name) throws IOException;

    void rmdir(Caller c, long parent, byte[] name) throws IOException;

    /** flags: 0, 1 = RENAME_NOREPLACE, 2 = RENAME_EXCHANGE. */
    void rename(Caller c, long parent, byte[] name, long newParent, byte[] newName, int flags) throws IOException;

    Opened open(Caller c, long ino, int flags) throws IOException;

    Created create(Caller c, long parent, byte[] name, int mode, int flags, int umask) throws IOException;

    /** Reads into {@code dst} (position to limit); returns bytes read. */
    int read(Caller c, long ino, long fh, long offset, ByteBuffer dst) throws IOException;

    /** Writes all of {@code src}; returns bytes written. */
    int write(Caller c, long ino, long fh, long offset, ByteBuffer src) throws IOException;

    void release(long ino, long fh) throws IOException;

    void fsync(long ino, long fh, boolean datasync) throws IOException;

    Opened opendir(Caller c, long ino) throws IOException;

    /**
     * Entries from {@code offset} on; {@code plus} asks for full entries (readdirplus), each counting
     * one lookup: the caller {@link #forget}s those it does not pass to the kernel.
     */
    List<DirEntry> readdir(Caller c, long ino, long fh, long offset, int max, boolean plus) throws IOException;

    void releasedir(long ino, long fh);

    StatFs statfs() throws IOException;

    void setxattr(Caller c, long ino, String name, byte[] value, int flags) throws IOException;

    byte[] getxattr(Caller c, long ino, String name) throws IOException;

    List<String> listxattr(Caller c, long ino) throws IOException;

    void removexattr(Caller c, long ino, String name) throws IOException;

    void access(Caller c, long ino, int mask) throws IOException;

    /** mode: 0 or FALLOC_FL_KEEP_SIZE (1) or PUNCH_HOLE|KEEP_SIZE (3). */
    void fallocate(Caller c, long ino, long fh, int mode, long offset, long length) throws IOException;

    /** SEEK_DATA (3) / SEEK_HOLE (4). */
    long lseek(Caller c, long ino, long fh, long offset, int whence) throws IOException;

    /** Called once when the session ends (unmount, daemon stop). */
    void destroy();
}
