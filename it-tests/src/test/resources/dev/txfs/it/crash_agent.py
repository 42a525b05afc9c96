"""One workload process of CrashInjectionTest; runs until the mount fails under it (the daemon killed).

    crash_agent.py live TXFS MOUNT DIR LEDGER SEED        live writes in MOUNT/DIR, fsync'ed or not
    crash_agent.py txn  TXFS MOUNT NAME LEDGER SEED       transactions writing MOUNT/tx/NAME-n<k>

The ledger (outside the mount) is a directory: "ledger" holds one tab-separated line per event,
written after the event happened (before, for "write" and "pending"); "c<N>" files hold the bytes
a write is about to put, so that the test can tell a whole or partly persisted file from garbage.
Every size and choice comes from SEED; the timing does not.

live events:  write PATH COPY       (before writing PATH, whose intended bytes are in COPY)
              synced PATH COPY      (after fsync of PATH returned; for a replace, of its directory)
              pending PATH COPY     (a replace: before renaming the fsync'ed temporary file to PATH)
txn events:   begin N RC | file N RELPATH SHA256 | logline N LINE | commit N | committed N RC OUT
              | abort N | aborted N RC
"""
import hashlib
import os
import random
import subprocess
import sys
import time

mode, TXFS, MOUNT, NAME, LEDGER, SEED = sys.argv[1:7]
rng = random.Random(SEED)
log = open(os.path.join(LEDGER, "ledger"), "a", buffering=1)
copies = 0


def event(*fields):
    log.write("\t".join(str(f) for f in fields) + "\n")


def content():
    """Random bytes: mostly small, sometimes up to 256 KiB, sometimes empty."""
    r = rng.random()
    n = 0 if r < 0.05 else rng.randint(1, 8192) if r < 0.75 else rng.randint(8193, 256 << 10)
    return rng.randbytes(n)


def copy(data):
    global copies
    copies += 1
    name = "c%d" % copies
    with open(os.path.join(LEDGER, name), "wb") as f:
        f.write(data)
    return name


def write(path, data, sync):
    """Writes data to path in pieces of up to 64 KiB (a crash can cut between them)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for off in range(0, len(data), 65536):
            os.write(fd, data[off : off + 65536])
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def live():
    d = os.path.join(MOUNT, NAME)
    for i in range(1_000_000):
        r = rng.random()
        if r < 0.45:  # a new file, fsync'ed
            p, data = "%s/f%d" % (NAME, i), content()
            c = copy(data)
            event("write", p, c)
            write(os.path.join(MOUNT, p), data, True)
            event("synced", p, c)
        elif r < 0.7:  # a new file, not fsync'ed
            p, data = "%s/u%d" % (NAME, i), content()
            c = copy(data)
            event("write", p, c)
            write(os.path.join(MOUNT, p), data, False)
        else:  # replace one of four files atomically: temporary file, fsync, rename, fsync the directory
            p, data = "%s/r%d" % (NAME, rng.randrange(4)), content()
            c = copy(data)
            write(os.path.join(MOUNT, p + ".tmp"), data, True)
            event("pending", p, c)
            os.rename(os.path.join(MOUNT, p + ".tmp"), os.path.join(MOUNT, p))
            fsync_dir(d)
            event("synced", p, c)
        time.sleep(rng.uniform(0, 0.03))


def txfs(*args):
    p = subprocess.run([TXFS, *args], cwd=MOUNT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    # one line in the ledger: a client cut short by the kill may print more (or a message on stdout)
    return p.returncode, p.stdout.strip().replace("\n", " | ")


def txn():
    for n in range(1_000_000):
        rc, _ = txfs("begin", "-m", "crash %s n%d" % (NAME, n), "--pid", str(os.getpid()))
        event("begin", n, rc)
        if rc != 0:
            return
        d = "%s-n%d" % (NAME, n)
        os.mkdir(os.path.join(MOUNT, "tx", d))
        for k in range(rng.randint(1, 4)):
            data = content()
            write(os.path.join(MOUNT, "tx", d, "f%d" % k), data, rng.random() < 0.3)
            event("file", n, "%s/f%d" % (d, k), hashlib.sha256(data).hexdigest())
        line = "n%d %s" % (n, rng.randbytes(8).hex())
        with open(os.path.join(MOUNT, "tx", NAME + ".log"), "a") as f:
            f.write(line + "\n")
        event("logline", n, line)
        if rng.random() < 0.75:
            event("commit", n)
            rc, out = txfs("commit")
            event("committed", n, rc, out)
        else:
            event("abort", n)
            rc, _ = txfs("abort")
            event("aborted", n, rc)
        if rc != 0:
            return


try:
    live() if mode == "live" else txn()
except OSError as e:  # the mount went away under us: expected once the daemon is killed
    event("error", repr(e))
