"""One sync context of ModelBasedTest: a long-running process that runs file system operations
and txfs transaction commands read from stdin, one JSON object per line, and answers each with one
JSON line on stdout.

argv: TXFS (bin/txfs), MOUNT (the txfs mount, where txfs commands run). Paths are relative to the
directory set by {"op": "cd", "a": DIR}. Operations never follow a symlink at the last component
(O_NOFOLLOW, lstat), except chmod and setxattr, which follow like chmod(1) and setfattr(1).
Answers: {"r": "ok"} or {"r": "<errno name>"}; txfs commands {"exit": n, "out": ..., "err": ...};
walk {"r": "ok", "tree": {relative path: [kind, size, sha1 or target, nlink, mode, {xattr: hex}]}}.
"""
import errno
import hashlib
import json
import os
import stat
import subprocess
import sys

TXFS, MOUNT = sys.argv[1], sys.argv[2]
os.umask(0)


def pattern(off, length, fill):
    return bytes((fill + off + i) & 0xFF for i in range(length))


def opened(path, flags, f):
    fd = os.open(path, flags | os.O_NOFOLLOW)
    try:
        f(fd)
    finally:
        os.close(fd)


def entry(path):
    st = os.lstat(path)
    names = [n for n in os.listxattr(path, follow_symlinks=False) if n.startswith("user.")]
    xattrs = {n: os.getxattr(path, n, follow_symlinks=False).hex() for n in sorted(names)}
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        return ["dir", 0, "", st.st_nlink, mode, xattrs]
    if stat.S_ISLNK(st.st_mode):
        return ["symlink", st.st_size, os.readlink(path), st.st_nlink, mode, xattrs]
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            data = f.read()
        return ["file", st.st_size, hashlib.sha1(data).hexdigest() + ":" + str(len(data)), st.st_nlink, mode, xattrs]
    return ["other", st.st_size, "", st.st_nlink, mode, xattrs]


def walk():
    tree = {}
    pending = ["."]
    while pending:
        d = pending.pop()
        for name in sorted(os.listdir(d)):
            p = name if d == "." else d + "/" + name
            e = entry(p)
            tree[p] = e
            if e[0] == "dir":
                pending.append(p)
    return tree


def txfs(args):
    if args[0] == "begin":
        args = args + ["--pid", str(os.getpid())]
    p = subprocess.run([TXFS] + args, cwd=MOUNT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return {"exit": p.returncode, "out": p.stdout, "err": p.stderr}


def run(c):
    op = c["op"]
    a = c.get("a")
    b = c.get("b")
    if op == "cd":
        os.chdir(a)
    elif op == "create":
        os.close(os.open(a, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    elif op == "write":
        opened(a, os.O_WRONLY, lambda fd: os.pwrite(fd, pattern(c["off"], c["len"], c["fill"]), c["off"]))
    elif op == "truncate":
        opened(a, os.O_WRONLY, lambda fd: os.ftruncate(fd, c["off"]))
    elif op == "fsync":
        opened(a, os.O_RDONLY, os.fsync)
    elif op == "rename":
        os.rename(a, b)
    elif op == "link":
        os.link(a, b, follow_symlinks=False)
    elif op == "unlink":
        os.unlink(a)
    elif op == "mkdir":
        os.mkdir(a, 0o755)
    elif op == "rmdir":
        os.rmdir(a)
    elif op == "symlink":
        os.symlink(b, a)
    elif op == "chmod":
        os.chmod(a, c["mode"])
    elif op == "setxattr":
        os.setxattr(a, c["name"], bytes.fromhex(c["value"]))
    elif op == "walk":
        return {"r": "ok", "tree": walk()}
    elif op == "cgroup":
        with open("/proc/self/cgroup") as f:
            return {"r": "ok", "cgroup": f.read().strip().splitlines()[-1]}
    elif op == "txfs":
        return txfs(c["args"])
    else:
        return {"r": "unknown op " + op}
    return {"r": "ok"}


for line in sys.stdin:
    try:
        answer = run(json.loads(line))
    except OSError as e:
        answer = {"r": errno.errorcode.get(e.errno, str(e.errno))}
    except Exception as e:  # a bug in the agent or the test: say so instead of hanging
        answer = {"r": "agent error: " + repr(e)}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
