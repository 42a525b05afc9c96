package dev.txfs.tool;

import static dev.txfs.fs.Privileges.CAPABILITY;
import static dev.txfs.fs.Privileges.SET_ID_BITS;

import dev.txfs.fs.Privileges;
import dev.txfs.fs.posix.Errno;
import dev.txfs.fs.posix.Posix;
import dev.txfs.fs.posix.PosixAt;
import dev.txfs.fs.posix.PosixException;
import dev.txfs.snapshot.EntryKind;
import dev.txfs.snapshot.TreeEntry;
import java.util.Map;

/**
 * Sets one checked-out inode's owner, xattrs, mode and times, in that order (chown clears setuid
 * bits and file capabilities; an ACL sets the group bits), through its descriptor or by name in
 * its directory's descriptor, never following a symlink. Unless {@code privileged}, setuid and
 * setgid bits are dropped and {@value Privileges#CAPABILITY} is not set. What the kernel refuses a non-root
 * caller (owners, privileged xattr namespaces) is counted in {@link Warnings}.
 *
 * <p>Threads: safe for any thread (the checkout's writers call it).
 */
final class InodeMetadata {
    static final String UNTRUSTED = "(source not signed by a trusted key; --preserve-privileges)";

    private final PosixAt at;
    private final boolean privileged;
    private final Warnings warnings;

    InodeMetadata(PosixAt at, boolean privileged, Warnings warnings) {
        this.at = at;
        this.privileged = privileged;
        this.warnings = warnings;
    }

    /** The mode to set: without privileges, setuid and setgid bits are dropped (and counted). */
    private int mode(TreeEntry e, byte[] abs) {
        int mode = e.mode() & 07777;
        if (!privileged && (mode & SET_ID_BITS) != 0) {
            warnings.add("setuid/setgid bit not set " + UNTRUSTED, Posix.display(abs));
            mode &= ~SET_ID_BITS;
        }
        return mode;
    }

    private boolean skipXattr(String name, byte[] abs) {
        if (!privileged && name.equals(CAPABILITY)) {
            warnings.add("file capability not set " + UNTRUSTED, Posix.display(abs));
            return true;
        }
        return false;
    }

    private void xattrRefused(PosixException ex, byte[] abs, String name) throws PosixException {
        if (ex.errno() != Errno.EPERM && ex.errno() != Errno.EOPNOTSUPP && ex.errno() != Errno.EACCES) {
            throw ex;
        }
        warnings.add("xattr not set (" + Errno.name(ex.errno()) + ")", Posix.display(abs) + " " + name);
    }

    private void ownerRefused(PosixException x, byte[] abs) throws PosixException {
        if (x.errno() != Errno.EPERM) {
            throw x;
        }
        warnings.add("owner not set (needs root)", Posix.display(abs));
    }

    /** Owner, xattrs, mode and times of an open inode, in that order (see the class notes). */
    void set(int fd, byte[] abs, TreeEntry e) throws PosixException {
        try {
            at.fchown(fd, e.uid(), e.gid(), abs);
        } catch (PosixException x) {
            ownerRefused(x, abs);
        }
        for (Map.Entry<String, byte[]> x : e.xattrs().entrySet()) {
            if (skipXattr(x.getKey(), abs)) {
                continue;
            }
            try {
                at.fsetXattr(fd, x.getKey(), x.getValue(), abs);
            } catch (PosixException ex) {
                xattrRefused(ex, abs, x.getKey());
            }
        }
        at.fchmod(fd, mode(e, abs), abs);
        at.futimens(fd, Posix.OMIT_TIME, e.mtimeNs(), abs);
    }

    /** As {@link #set(int, byte[], TreeEntry)} for a symlink or special file: by name in {@code dirfd}, not followed. */
    void setAt(int dirfd, byte[] name, byte[] abs, TreeEntry e) throws PosixException {
        try {
            at.lchown(dirfd, name, e.uid(), e.gid(), abs);
        } catch (PosixException x) {
            ownerRefused(x, abs);
        }
        for (Map.Entry<String, byte[]> x : e.xattrs().entrySet()) {
            if (skipXattr(x.getKey(), abs)) {
                continue;
            }
            try {
                at.lsetXattr(dirfd, name, x.getKey(), x.getValue(), abs);
            } catch (PosixException ex) {
                xattrRefused(ex, abs, x.getKey());
            }
        }
        if (e.kind() != EntryKind.SYMLINK) {
            at.chmod(dirfd, name, mode(e, abs), abs);
        }
        at.setTimes(dirfd, name, Posix.OMIT_TIME, e.mtimeNs(), abs);
    }
}
