package dev.txfs.fs.fuse;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;

/** The libc calls the FUSE session needs; public only because jnr-ffi implements it. */
public interface FuseSyscalls {
    int open(@In byte[] path, int flags);

    int close(int fd);

    long read(int fd, Pointer buf, long count);

    long write(int fd, Pointer buf, long count);

    int ioctl(int fd, long request, Pointer arg);

    int mount(@In byte[] source, @In byte[] target, @In byte[] fstype, long flags, @In byte[] data);

    int umount2(@In byte[] target, int flags);
}
