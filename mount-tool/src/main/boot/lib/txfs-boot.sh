# txfs-boot.sh: boot into a txfs snapshot from an initramfs. Sourced (not run) by the
# initramfs-tools boot script (scripts/txfs), by the dracut module (txfs-mount.sh) and by the
# it-tests, so that what the tests drive is what boots. POSIX sh (busybox ash, dash, bash).
#
# Kernel arguments:
#   txfs.store=<device>[:<dir>]   where the store is: /dev/vda1, UUID=..., LABEL=..., PARTUUID=...
#                                 (also a regular file, mounted through a loop device, or a directory,
#                                 bind-mounted); <dir> is the store's directory in that file system
#   txfs.root=<id|prefix|ref|tag> the snapshot to boot (default: the ref boot/default)
#   txfs.storefs=<type>           the store device's file system type (default: detect)
#
# Settings (environment, all optional):
#   TXFS          the txfs command (default: $TXFS_HOME/bin/txfs; TXFS_HOME defaults to /usr/lib/txfs)
#   TXFS_RUN      state directory, kept after switch_root under /run (default: /run/txfs)
#   TXFS_CMDLINE  the kernel command line file (default: /proc/cmdline)
#   TXFS_CONSOLE  where messages go besides stderr (default: /dev/console)
#   TXFS_WAIT     seconds to wait for the store device and for the mount (default: 30 and 60)
#   TXFS_LOG      the daemon's log (default: logs/boot.log in the store)
#   TXFS_SWITCH_ROOT=1  (set by the hooks) the initramfs will move /proc into the new root and
#                 switch root, deleting its own files: see txfs_keep_proc and txfs_keep_files
#
# txfs_boot_root NEWROOT does all of it: mounts the store read-write at $TXFS_RUN/store-fs, runs
# `txfs boot resolve` (which records the boot and uses a try), starts the daemon on the chosen
# snapshot with NEWROOT as its mount point (argv[0] "@txfs": systemd spares it at shutdown), waits
# for the mount, and writes $TXFS_RUN/booted (snapshot=, rule=, store=, pid=). Returns non-zero,
# with a console message, when it cannot.

: "${TXFS_HOME:=/usr/lib/txfs}"
: "${TXFS:=$TXFS_HOME/bin/txfs}"
: "${TXFS_RUN:=/run/txfs}"
: "${TXFS_CMDLINE:=/proc/cmdline}"
: "${TXFS_CONSOLE:=/dev/console}"

txfs_say() {
    echo "txfs: $*" >&2
    # (in an initramfs stderr often is the console already: say it once)
    if [ -n "$TXFS_CONSOLE" ] && [ -w "$TXFS_CONSOLE" ] && ! [ /proc/self/fd/2 -ef "$TXFS_CONSOLE" ]; then
        echo "txfs: $*" >>"$TXFS_CONSOLE" 2>/dev/null || true
    fi
}

# txfs_arg KEY: the value of KEY=VALUE on the kernel command line (the last one), or nothing.
# Returns 1 when KEY is absent.
txfs_arg() {
    _found=1 _val= _glob=
    case $- in *f*) ;; *) _glob=1; set -f ;; esac
    for _w in $(cat "$TXFS_CMDLINE" 2>/dev/null); do
        case "$_w" in
            "$1"=*) _val="${_w#*=}"; _found=0 ;;
            "$1") _val=; _found=0 ;;
        esac
    done
    [ -n "$_glob" ] && set +f
    _val="${_val#\"}"
    printf '%s' "${_val%\"}"
    return $_found
}

# txfs_device SPEC: the device node (or file, or directory) SPEC names; waits for it to appear.
txfs_device() {
    _spec="$1" _wait="${TXFS_WAIT:-30}"
    case "$_spec" in
        UUID=*) _dev="/dev/disk/by-uuid/${_spec#UUID=}" ;;
        LABEL=*) _dev="/dev/disk/by-label/${_spec#LABEL=}" ;;
        PARTUUID=*) _dev="/dev/disk/by-partuuid/${_spec#PARTUUID=}" ;;
        *) _dev="$_spec" ;;
    esac
    _i=0
    while [ ! -e "$_dev" ]; do
        # without udev's by-* links (a plain busybox initramfs): ask blkid
        case "$_spec" in
            UUID=* | LABEL=* | PARTUUID=*)
                _b=$(blkid -l -o device -t "$_spec" 2>/dev/null) && [ -n "$_b" ] && { _dev="$_b"; break; } ;;
        esac
        if [ "$_i" -ge "$((_wait * 10))" ]; then
            return 1
        fi
        sleep 0.1 2>/dev/null || sleep 1
        _i=$((_i + 1))
    done
    printf '%s' "$_dev"
}

# txfs_mount_store: mounts the file system of txfs.store at $TXFS_RUN/store-fs and prints the
# store's directory.
txfs_mount_store() {
    _store=$(txfs_arg txfs.store) || { txfs_say "no txfs.store=<device>[:<dir>] on the kernel command line"; return 1; }
    _spec="${_store%%:*}"
    case "$_store" in *:*) _sdir="${_store#*:}" ;; *) _sdir=/ ;; esac
    [ -n "$_spec" ] || { txfs_say "txfs.store=$_store names no device"; return 1; }
    _dev=$(txfs_device "$_spec") || { txfs_say "store device $_spec did not appear"; return 1; }
    _mnt="$TXFS_RUN/store-fs"
    mkdir -p "$_mnt" || return 1
    if [ -d "$_dev" ]; then
        mount --bind "$_dev" "$_mnt" || { txfs_say "cannot bind-mount $_dev"; return 1; }
    else
        _opts=rw
        [ -f "$_dev" ] && _opts=rw,loop
        _fs=$(txfs_arg txfs.storefs) || _fs=
        if [ -n "$_fs" ]; then
            mount -t "$_fs" -o "$_opts" "$_dev" "$_mnt"
        else
            mount -o "$_opts" "$_dev" "$_mnt"
        fi || { txfs_say "cannot mount the store device $_dev"; return 1; }
    fi
    printf '%s' "$_mnt/${_sdir#/}" | sed 's:/*$::'
}

# txfs_write_booted FILE SNAPSHOT RULE STOREDIR PID: the boot record txfs-mark-good.service hands
# to `txfs boot mark-good --booted FILE`: key=value lines, each value verbatim after the first "=".
# It is data, never sourced: STOREDIR comes from txfs.store= and may hold $(...), ; or quotes. A
# value with a newline (which would forge a line) is refused. Written aside, then renamed.
txfs_write_booted() {
    case "$2$3$4$5" in
        *'
'*) txfs_say "a boot record value holds a newline: not writing $1"; return 1 ;;
    esac
    (umask 077 && printf 'snapshot=%s\nrule=%s\nstore=%s\npid=%s\n' "$2" "$3" "$4" "$5" >"$1.tmp") \
        && mv -f "$1.tmp" "$1"
}

# txfs_mounted MOUNTPOINT: whether a txfs is mounted at MOUNTPOINT.
txfs_mounted() {
    while read -r _a _b _c _d _mp _rest; do
        if [ "$_mp" = "$1" ]; then
            case "$_rest" in *" - fuse.txfs "*) return 0 ;; esac
        fi
    done </proc/self/mountinfo
    return 1
}

# txfs_keep_proc: the daemon finds which process a request comes from in /proc/<pid>/. Before
# switch_root the initramfs moves its /proc mount into the new root (mount --move), but the daemon
# keeps the initramfs as its root directory, where /proc would then be empty and every request
# would fail (in a VM: SIGBUS in the new init, whose pages could not be read). A second proc
# mounted on top of the first is what the move takes; the one below stays for the daemon. (sysfs
# cannot be stacked so: EBUSY. So the daemon tells transactions apart by parent pids, not cgroups,
# whose /sys/fs/cgroup moves away too.)
txfs_keep_proc() {
    mount -t proc proc /proc
}

# txfs_keep_files: switch_root deletes the initramfs's files, but the JVM opens some of its own
# by path long after it started (measured: lib/tzdb.dat at the daemon's first log record, after the
# mount is up). Files below another mount point are not deleted, so $TXFS_HOME moves onto a tmpfs
# of its own.
txfs_keep_files() {
    if grep -q " $TXFS_HOME tmpfs " /proc/mounts 2>/dev/null; then
        return 0
    fi
    rm -rf /.txfs-home && cp -a "$TXFS_HOME" /.txfs-home \
        && mount -t tmpfs -o mode=0755 tmpfs "$TXFS_HOME" \
        && cp -a /.txfs-home/. "$TXFS_HOME/" \
        && rm -rf /.txfs-home
}

# txfs_boot_root NEWROOT: see the top of this file.
txfs_boot_root() {
    _root="$1"
    [ -d "$_root" ] || { txfs_say "the new root $_root is not a directory"; return 1; }
    mkdir -p "$TXFS_RUN" || return 1
    _storedir=$(txfs_mount_store) || return 1
    _out=$("$TXFS" --store "$_storedir" boot resolve --cmdline "$TXFS_CMDLINE" 2>"$TXFS_RUN/resolve.err")
    _rc=$?
    while IFS= read -r _line; do
        txfs_say "${_line#txfs: }"
    done <"$TXFS_RUN/resolve.err"
    if [ "$_rc" -ne 0 ]; then
        txfs_say "no snapshot to boot (txfs boot resolve exited $_rc)"
        return 1
    fi
    _id=$(printf '%s\n' "$_out" | sed -n 's/^snapshot=//p')
    _rule=$(printf '%s\n' "$_out" | sed -n 's/^rule=//p')
    _why=$(printf '%s\n' "$_out" | sed -n 's/^why=//p')
    [ -n "$_id" ] || { txfs_say "txfs boot resolve printed no snapshot"; return 1; }
    txfs_say "booting snapshot $_id ($_rule: $_why)"
    # the store's files are its owner's alone, whatever the initramfs's umask (issue 14, finding 4)
    (umask 077 && mkdir -p "$_storedir/logs") && chmod 700 "$_storedir/logs" || return 1
    if [ "${TXFS_SWITCH_ROOT:-}" = 1 ]; then
        txfs_keep_proc || { txfs_say "cannot mount a second /proc for the daemon"; return 1; }
        txfs_keep_files || { txfs_say "cannot copy $TXFS_HOME to a tmpfs for the daemon"; return 1; }
        _membership=parent-walk
    fi
    _log="${TXFS_LOG:-$_storedir/logs/boot.log}"
    if [ -z "${TXFS_LOG:-}" ]; then
        (umask 077 && : >>"$_log") && chmod 600 "$_log" || { txfs_say "cannot create the log $_log"; return 1; }
    fi
    # argv[0] "@txfs" (the launcher honours TXFS_ARGV0): systemd leaves root-storage daemons alone
    TXFS_ARGV0=@txfs "$TXFS" --store "$_storedir" mount --foreground "$_root" --snapshot "$_id" -o rootfs \
        --membership "${_membership:-auto}" \
        </dev/null >>"$_log" 2>&1 &
    _pid=$!
    _i=0
    until txfs_mounted "$_root"; do
        if ! kill -0 "$_pid" 2>/dev/null; then
            txfs_say "the txfs daemon exited; its log: $_log"
            tail -n 5 "$_log" >&2 2>/dev/null
            return 1
        fi
        if [ "$_i" -ge "$((${TXFS_WAIT:-60} * 10))" ]; then
            txfs_say "the txfs mount did not appear at $_root"
            kill "$_pid" 2>/dev/null
            return 1
        fi
        sleep 0.1 2>/dev/null || sleep 1
        _i=$((_i + 1))
    done
    txfs_write_booted "$TXFS_RUN/booted" "$_id" "$_rule" "$_storedir" "$_pid" || return 1
    txfs_say "snapshot $_id mounted at $_root (daemon pid $_pid)"
}
