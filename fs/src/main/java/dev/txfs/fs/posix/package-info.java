/**
 * Exact POSIX file operations that {@code java.nio} cannot do: byte-exact names, all xattr
 * namespaces, device nodes, sockets and fifos, ownership and nanosecond times on symlinks.
 *
 * <p>{@link dev.txfs.fs.posix.Posix} is the facade; it binds libc through jnr-ffi on first use
 * ({@link dev.txfs.fs.posix.Posix#get()}), so code that never touches it never pays the load.
 * Paths are {@code byte[]} without a terminating NUL, exactly as the kernel sees them.
 *
 * <p>Threads: every method may be called from any thread; scratch buffers are per thread.
 *
 * <p>Errors: a failed call throws {@link dev.txfs.fs.posix.PosixException}, an {@link
 * java.io.IOException} carrying the errno, the call and the path; {@link dev.txfs.fs.posix.Errno}
 * names the codes (Linux's generic numbering, used by x86_64, aarch64 and riscv64).
 *
 * <p>Limits: Linux only, glibc 2.33 or newer (statx, mknodat), 64-bit.
 */
package dev.txfs.fs.posix;
