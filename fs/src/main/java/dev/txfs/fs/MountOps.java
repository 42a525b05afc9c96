package dev.txfs.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * What a txfs mount serves: the live tree and transactions ({@link LiveFs}, which also serves the
 * control directory {@code /.txfs}), and the read-only snapshots under {@code /.txfs/snapshots}
 * ({@link SnapshotsFs}). Requests go by inode number; nothing else is shared between the two.
 */
public final class MountOps implements FsOps {
    private final LiveFs live;
    private final SnapshotsFs snapshots;

    public MountOps(LiveFs live) {
        this.live = live;
        this.snapshots = new SnapshotsFs(live.liveTree().store(), live.clock());
    }

    private static boolean snap(long ino) {
        return SnapshotsFs.owns(ino);
    }

    @Override
    public long attrValidNs(long ino) {
        return snap(ino) ? snapshots.attrValidNs(ino) : live.attrValidNs(ino);
    }

    @Override
    public Entry lookup(Caller c, long parent, byte[] name) throws IOException {
        if (parent == LiveFs.CTL_DIR && Arrays.equals(name, SnapshotsFs.NAME)) {
            return snapshots.dirEntry();
        }
        return snap(parent) ? snapshots.lookup(parent, name) : live.lookup(c, parent, name);
    }

    @Override
    public void forget(long ino, long nlookup) {
        if (snap(ino)) {
            snapshots.forget(ino, nlookup);
        } else {
            live.forget(ino, nlookup);
        }
    }

    @Override
    public Attr getattr(Caller c, long ino, long fh) throws IOException {
        return snap(ino) ? snapshots.getattr(ino) : live.getattr(c, ino, fh);
    }

    @Override
    public Attr setattr(Caller c, long ino, long fh, SetAttr s) throws IOException {
        if (snap(ino)) {
            throw SnapshotsFs.readOnly();
        }
        return live.setattr(c, ino, fh, s);
    }

    @Override
    public byte[] readlink(Caller c, long ino) throws IOException {
        return snap(ino) ? snapshots.readlink(ino) : live.readlink(c, ino);
    }

    @Override
    public Entry mknod(Caller c, long parent, byte[] name, int mode, long rdev, int umask) throws IOException {
        if (snap(parent)) {
            throw SnapshotsFs.readOnly();
        }
        return live.mknod(c, parent, name, mode, rdev, umask);
    }

    @Override
    public Entry mkdir(Caller c, long parent, byte[] name, int mode, int umask) throws IOException {
        if (snap(parent)) {
            throw SnapshotsFs.readOnly();
        }
        return live.mkdir(c, parent, name, mode, umask);
    }

    @Override
    public Entry symlink(Caller c, long parent, byte[] name, byte[] target) throws IOException {
        if (snap(parent)) {
            throw SnapshotsFs.readOnly();
        }
        return live.symlink(c, parent, name, target);
    }

    @Override
    public Entry link(Caller c, long ino, long newParent, byte[] newName) throws IOException {
        if (snap(ino) || snap(newParent)) {
            throw SnapshotsFs.readOnly();
        }
        return live.link(c, ino, newParent, newName);
    }

    @Override
    public void unlink(Caller c, long parent, byte[] name) throws IOException {
        if (snap(parent)) {
            throw SnapshotsFs.readOnly();
        }
        live.unlink(c, parent, name);
    }

    @Override
    public void rmdir(Caller c, long parent, byte[] name) throws IOException {
        if (snap(parent)) {
            throw SnapshotsFs.readOnly();
        }
        live.rmdir(c, parent, name);
    }

    @Override
    public void rename(Caller c, long parent, byte[] name, long newParent, byte[] newName, int flags)
            throws IOException {
        if (snap(parent) || snap(newParent)) {
            throw SnapshotsFs.readOnly();
        }
        live.rename(c, parent, name, newParent, newName, flags);
    }

    @Override
    public Opened open(Caller c, long ino, int flags) throws IOException {
        return snap(ino) ? snapshots.open(ino, flags) : live.open(c, ino, flags);
    }

    @Override
    public Created create(Caller c, long parent, byte[] name, int mode, int flags, int umask) throws IOException {
        if (snap(parent)) {
            throw SnapshotsFs.readOnly();
        }
        return live.create(c, parent, name, mode, flags, umask);
    }

    @Override
    public int read(Caller c, long ino, long fh, long offset, ByteBuffer dst) throws IOException {
        return snap(ino) ? snapshots.read(fh, offset, dst) : live.read(c, ino, fh, offset, dst);
    }

    @Override
    public int write(Caller c, long ino, long fh, long offset, ByteBuffer src) throws IOException {
        if (snap(ino)) {
            throw SnapshotsFs.readOnly();
        }
        return live.write(c, ino, fh, offset, src);
    }

    @Override
    public void release(long ino, long fh) throws IOException {
        if (snap(ino)) {
            snapshots.release(fh);
        } else {
            live.release(ino, fh);
        }
    }

    @Override
    public void fsync(long ino, long fh, boolean datasync) throws IOException {
        if (!snap(ino)) {
            live.fsync(ino, fh, datasync);
        }
    }

    @Override
    public Opened opendir(Caller c, long ino) throws IOException {
        return snap(ino) ? snapshots.opendir(ino) : live.opendir(c, ino);
    }

    @Override
    public List<DirEntry> readdir(Caller c, long ino, long fh, long offset, int max, boolean plus) throws IOException {
        return snap(ino) ? snapshots.readdir(fh, offset, max, plus) : live.readdir(c, ino, fh, offset, max, plus);
    }

    @Override
    public void releasedir(long ino, long fh) {
        if (snap(ino)) {
            snapshots.release(fh);
        } else {
            live.releasedir(ino, fh);
        }
    }

    @Override
    public StatFs statfs() throws IOException {
        return live.statfs();
    }

    @Override
    public void setxattr(Caller c, long ino, String name, byte[] value, int flags) throws IOException {
        if (snap(ino)) {
            throw SnapshotsFs.readOnly();
        }
        live.setxattr(c, ino, name, value, flags);
    }

    @Override
    public byte[] getxattr(Caller c, long ino, String name) throws IOException {
        return snap(ino) ? snapshots.getxattr(ino, name) : live.getxattr(c, ino, name);
    }

    @Override
    public List<String> listxattr(Caller c, long ino) throws IOException {
        return snap(ino) ? snapshots.listxattr(ino, c.uid() == 0) : live.listxattr(c, ino);
    }

    @Override
    public void removexattr(Caller c, long ino, String name) throws IOException {
        if (snap(ino)) {
            throw SnapshotsFs.readOnly();
        }
        live.removexattr(c, ino, name);
    }

    @Override
    public void access(Caller c, long ino, int mask) throws IOException {
        if (snap(ino)) {
            if ((mask & 2) != 0) { // W_OK
                throw SnapshotsFs.readOnly();
            }
            return;
        }
        live.access(c, ino, mask);
    }

    @Override
    public void fallocate(Caller c, long ino, long fh, int mode, long offset, long length) throws IOException {
        if (snap(ino)) {
            throw SnapshotsFs.readOnly();
        }
        live.fallocate(c, ino, fh, mode, offset, length);
    }

    @Override
    public long lseek(Caller c, long ino, long fh, long offset, int whence) throws IOException {
        return snap(ino) ? snapshots.lseek(fh, offset, whence) : live.lseek(c, ino, fh, offset, whence);
    }

    @Override
    public void destroy() {
        live.destroy();
    }
}
