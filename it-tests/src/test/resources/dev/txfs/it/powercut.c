/*
 * powercut.c: an LD_PRELOAD shim that records what a power failure could take back from one file.
 *
 * Loaded into the txfs daemon by CrashInjectionTest's power-cut trials. For every write to the
 * file named by TXFS_POWERCUT_FILE (the store's data.mdb) it appends to TXFS_POWERCUT_LOG, before
 * the write happens, a record of the bytes the write is about to overwrite (its pre-image). When
 * an fsync or fdatasync of that file returns, every write that had completed before the call
 * began is on the disk: the shim appends a SYNC record naming the last of them, or empties the log
 * when nothing was written meanwhile. After the daemon is killed, PowerCut.java undoes a chosen
 * part of the writes logged after the last SYNC (all of them, an in-order suffix, or per 512-byte
 * sector any suffix of that sector's writes), which is what a disk that lost its volatile cache
 * could hold, and the store is checked as after a reboot.
 *
 * Record layout (native byte order, little-endian here): u32 type (1 WRITE, 2 SYNC; for a WRITE,
 * bits 8-15 say which call made it), u32 pid, u64 seq, i64 offset, u64 length, u64 pre-image
 * length, then that many bytes. A WRITE's pre-image is shorter than its length where the write
 * goes past the end of the file (those bytes were not there: zeros on undo). A SYNC's seq is the
 * last WRITE seq it covers. A write through an O_SYNC or O_DSYNC descriptor, a truncate or a
 * fallocate of the watched file is outside this model and aborts the process.
 *
 * Writes are serialized by the shim (log append and the write itself under one mutex), so log
 * order is write order. Writes by mmap are not seen: LMDB without MDB_WRITEMAP makes none. One
 * process is assumed to write the file (the daemon); PowerCut.java checks that.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { REC_WRITE = 1, REC_SYNC = 2 };
/* Which call made a write, in bits 8-15 of its record's type (PowerCut.java counts them). */
enum { CALL_WRITE = 1, CALL_PWRITE, CALL_WRITEV, CALL_PWRITEV };

struct rec {
    uint32_t type;
    uint32_t pid;
    uint64_t seq;
    int64_t offset;
    uint64_t length;
    uint64_t pre_length;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static int read_fd = -1;
static dev_t target_dev;
static ino_t target_ino;
static int target_known;
static uint64_t seq;
static const char *target_path; /* TXFS_POWERCUT_FILE and TXFS_POWERCUT_LOG, read at load */
static const char *log_path;
static int lying_disk; /* TXFS_POWERCUT_LYING_DISK set */

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_pwritev64v2)(int, const struct iovec *, int, off_t, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static int (*real_ftruncate)(int, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);

#define REAL(name) real_##name

/* Resolves the C library's functions before any wrapper can run. */
__attribute__((constructor)) static void resolve(void) {
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_writev = dlsym(RTLD_NEXT, "writev");
    real_pwritev = dlsym(RTLD_NEXT, "pwritev");
    real_pwritev64 = dlsym(RTLD_NEXT, "pwritev64");
    real_pwritev2 = dlsym(RTLD_NEXT, "pwritev2");
    real_pwritev64v2 = dlsym(RTLD_NEXT, "pwritev64v2");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_fallocate = dlsym(RTLD_NEXT, "fallocate");
    target_path = getenv("TXFS_POWERCUT_FILE");
    log_path = getenv("TXFS_POWERCUT_LOG");
    lying_disk = getenv("TXFS_POWERCUT_LYING_DISK") != NULL;
}

static void die(const char *what) {
    /* the test must not pass on a log it could not write: stop the process loudly */
    const char *prefix = "powercut shim: ";
    REAL(write)(2, prefix, strlen(prefix));
    REAL(write)(2, what, strlen(what));
    REAL(write)(2, "\n", 1);
    abort();
}

static pthread_mutex_t setup = PTHREAD_MUTEX_INITIALIZER;

/* Whether fd is the watched file; on first sight of the file, opens the log and a read descriptor. */
static int watched(int fd) {
    if (target_path == NULL) {
        return 0;
    }
    struct stat st;
    if (!__atomic_load_n(&target_known, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&setup);
        if (!target_known) {
            if (stat(target_path, &st) != 0) {
                pthread_mutex_unlock(&setup);
                return 0; /* not created yet */
            }
            if (log_path == NULL) {
                die("TXFS_POWERCUT_LOG is not set");
            }
            log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
            read_fd = open(target_path, O_RDONLY | O_CLOEXEC);
            if (log_fd < 0 || read_fd < 0) {
                die("cannot open the log or the watched file");
            }
            target_dev = st.st_dev;
            target_ino = st.st_ino;
            __atomic_store_n(&target_known, 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&setup);
    }
    return fstat(fd, &st) == 0 && st.st_dev == target_dev && st.st_ino == target_ino;
}

/* One whole record in one write(2): not writev, which strace's kills aim at. */
static void write_record(const void *record, size_t n) {
    if (REAL(write)(log_fd, record, n) != (ssize_t) n) {
        die("short write to the log");
    }
}

static void log_sync(uint64_t last) {
    struct rec r = {REC_SYNC, (uint32_t) getpid(), last, 0, 0, 0};
    if (last == seq) {
        if (REAL(ftruncate)(log_fd, 0) != 0) { /* nothing after it: the whole log is durable */
            die("cannot empty the log");
        }
    } else {
        write_record(&r, sizeof r);
    }
}

/* Logs the pre-image of [offset, offset + length) of the watched file. Called with lock held. */
static void log_write(off_t offset, size_t length, uint32_t call) {
    struct rec r = {REC_WRITE | call << 8, (uint32_t) getpid(), ++seq, offset, length, 0};
    char *record = malloc(sizeof r + length); /* the header, then the pre-image read in place */
    if (record == NULL) {
        die("out of memory");
    }
    char *old = record + sizeof r;
    size_t have = 0;
    while (have < length) {
        ssize_t n = pread(read_fd, old + have, length - have, offset + (off_t) have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            die("cannot read the pre-image");
        }
        if (n == 0) {
            break; /* past the end of the file */
        }
        have += (size_t) n;
    }
    r.pre_length = have;
    memcpy(record, &r, sizeof r);
    write_record(record, sizeof r + have);
    free(record);
}

static size_t iov_length(const struct iovec *iov, int count) {
    size_t n = 0;
    for (int i = 0; i < count; i++) {
        n += iov[i].iov_len;
    }
    return n;
}

/* Where a write without an offset lands: the end for O_APPEND, else the file position. */
static off_t current_offset(int fd) {
    if (fcntl(fd, F_GETFL) & O_APPEND) {
        struct stat st;
        return fstat(fd, &st) == 0 ? st.st_size : 0;
    }
    return lseek(fd, 0, SEEK_CUR);
}

/*
 * The common body: log, then write. A descriptor opened with O_SYNC or O_DSYNC (durable on return,
 * without covering earlier writes) is outside the model: LMDB opened with MDB_NOMETASYNC writes
 * through none, and if it ever does, the process stops here rather than the test passing on a
 * wrong model.
 */
#define WATCHED_WRITE(fd, offset, length, kind, call)                                             \
    do {                                                                                          \
        if (!watched(fd)) {                                                                       \
            return call;                                                                          \
        }                                                                                         \
        if (fcntl(fd, F_GETFL) & (O_SYNC | O_DSYNC)) {                                            \
            die("a write through an O_SYNC/O_DSYNC descriptor: not modelled");                   \
        }                                                                                         \
        pthread_mutex_lock(&lock);                                                                \
        log_write((offset), (length), (kind));                                                    \
        ssize_t result_ = call;                                                                   \
        pthread_mutex_unlock(&lock);                                                              \
        return result_;                                                                           \
    } while (0)

ssize_t write(int fd, const void *buf, size_t n) {
    WATCHED_WRITE(fd, current_offset(fd), n, CALL_WRITE, REAL(write)(fd, buf, n));
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t offset) {
    WATCHED_WRITE(fd, offset, n, CALL_PWRITE, REAL(pwrite)(fd, buf, n, offset));
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t offset) {
    WATCHED_WRITE(fd, offset, n, CALL_PWRITE, REAL(pwrite64)(fd, buf, n, offset));
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    WATCHED_WRITE(fd, current_offset(fd), iov_length(iov, count), CALL_WRITEV, REAL(writev)(fd, iov, count));
}

ssize_t pwritev(int fd, const struct iovec *iov, int count, off_t offset) {
    WATCHED_WRITE(fd, offset, iov_length(iov, count), CALL_PWRITEV, REAL(pwritev)(fd, iov, count, offset));
}

ssize_t pwritev64(int fd, const struct iovec *iov, int count, off_t offset) {
    WATCHED_WRITE(fd, offset, iov_length(iov, count), CALL_PWRITEV, REAL(pwritev64)(fd, iov, count, offset));
}

ssize_t pwritev2(int fd, const struct iovec *iov, int count, off_t offset, int flags) {
    WATCHED_WRITE(
            fd,
            offset == -1 ? current_offset(fd) : offset,
            iov_length(iov, count),
            CALL_PWRITEV,
            REAL(pwritev2)(fd, iov, count, offset, flags));
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int count, off_t offset, int flags) {
    WATCHED_WRITE(
            fd,
            offset == -1 ? current_offset(fd) : offset,
            iov_length(iov, count),
            CALL_PWRITEV,
            REAL(pwritev64v2)(fd, iov, count, offset, flags));
}

/*
 * fsync and fdatasync: what had been written when the call began is durable once it returns.
 * With TXFS_POWERCUT_LYING_DISK set, the disk acknowledges flushes it does not do (the test
 * that shows the harness can fail): nothing is ever logged as durable.
 */
#define WATCHED_SYNC(fd, call)                                                                    \
    do {                                                                                          \
        if (!watched(fd)) {                                                                       \
            return call;                                                                          \
        }                                                                                         \
        pthread_mutex_lock(&lock);                                                                \
        uint64_t before_ = seq;                                                                   \
        pthread_mutex_unlock(&lock);                                                              \
        int result_ = call;                                                                       \
        if (result_ == 0 && !lying_disk) {                                                        \
            pthread_mutex_lock(&lock);                                                            \
            log_sync(before_);                                                                    \
            pthread_mutex_unlock(&lock);                                                          \
        }                                                                                         \
        return result_;                                                                           \
    } while (0)

int fsync(int fd) {
    WATCHED_SYNC(fd, REAL(fsync)(fd));
}

int fdatasync(int fd) {
    WATCHED_SYNC(fd, REAL(fdatasync)(fd));
}

int ftruncate(int fd, off_t length) {
    if (watched(fd)) {
        die("ftruncate of the watched file: not modelled");
    }
    return REAL(ftruncate)(fd, length);
}

int fallocate(int fd, int mode, off_t offset, off_t length) {
    if (watched(fd)) {
        die("fallocate of the watched file: not modelled");
    }
    return REAL(fallocate)(fd, mode, offset, length);
}
