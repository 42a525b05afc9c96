#!/usr/bin/env bash
# vm-boot-test.sh: boots a virtual machine into txfs snapshots and checks which one came up.
#
#   scripts/vm-boot-test.sh [--initramfs initramfs-tools|dracut|hand] [--systemd] [WORKDIR]
#       (as root; default: --initramfs initramfs-tools, WORKDIR target/vm-boot below the repo)
#
# qemu-system-x86_64 under software emulation (-accel tcg: KVM does not work on these machines),
# a Debian kernel, and an initramfs with txfs in it. The store is on a virtio disk (ext4, directory
# /txfs) holding two snapshots, A and B, of a tiny busybox system whose /sbin/init prints its
# marker file and /run/txfs/booted and powers off. Three boots: txfs.root=A, txfs.root=B (by
# prefix), and a bogus value, which must come up on boot/last-good (B) with the reason on the
# console. Prints each boot's duration; exits non-zero on the first wrong result.
#
# How the initramfs is made (--initramfs):
#   initramfs-tools  (default) the real mkinitramfs: a Debian bookworm chroot (debootstrap
#                    --variant=minbase from the mirror in apt's sources, kept in WORKDIR/base and
#                    WORKDIR/chroot-initramfs-tools, so re-runs skip it) with linux-image-amd64,
#                    initramfs-tools, busybox and udev installed; txfs put in with
#                    `txfs boot install --root CHROOT` and the jlink runtime
#                    (scripts/build-boot-runtime.sh) at CHROOT/usr/lib/txfs/runtime; then
#                    `update-initramfs -u` inside the chroot runs our hook. MODULES=list (virtio_pci,
#                    virtio_blk, ext4; the hook adds fuse and loop) instead of Debian's "most".
#   dracut           the same with dracut instead of initramfs-tools (WORKDIR/chroot-dracut; the
#                    two conflict as Debian packages): module 90txfs, enabled by the
#                    dracut.conf.d entry `txfs boot install` writes; `dracut -f` inside the chroot.
#   hand             the earlier hand-built image: busybox, initramfs-tools' own /init and scripts
#                    (from initramfs-tools-core, unpacked, not installed), our init-top/txfs and
#                    scripts/txfs laid out as mkinitramfs would, the kernel from linux-image-amd64
#                    unpacked with dpkg -x. TXFS_VM_INIT=minimal uses a small /init calling the
#                    library directly instead.
# --systemd adds a fourth boot: the root is a debootstrap'd Debian with systemd-sysv (WORKDIR/
# chroot-systemd) and txfs installed in it (`txfs boot install --root`, so txfs-mark-good.service is
# enabled), on a second store whose boot/last-good is the tiny A and whose boot/default is that
# Debian with 2 tries (`txfs boot set-default --tries 2`). No txfs.root: the boot uses a try;
# systemd runs as PID 1 on the txfs root, reaches default.target, and the unit marks the boot good;
# a check unit after it prints the marker and `txfs boot list` and powers off. After the VM: the
# store must say boot/last-good is the Debian and no tries are counted any more.
# The image is checked for txfs's files (lsinitramfs / lsinitrd) before it boots. The kernel is the
# chroot's (hand: the unpacked package's). Installs qemu-system-x86, cpio, e2fsprogs and
# debootstrap with apt-get where missing. Not part of scripts/test.sh (minutes, not seconds).
#
# Measured (2 cores shared with other sessions, load 9-13; details in docs/ARCHITECTURE.md, "Boot"):
# debootstrap once 4 min 21 s; update-initramfs 15-61 s, image 43 MB (zstd; the runtime is 51 MB of
# it before compression); dracut -f 98-233 s, image 71 MB (gzip, no host-only); a boot 50-118 s
# (initramfs-tools) or 60-83 s (dracut), most of it the two JVMs under TCG; the whole script with
# the chroots cached 6-7 min. --systemd: marked good at 93 s of guest uptime, but the clean poweroff
# then hangs (after "Failed unmounting /run/txfs/store-fs"): the VM ends at the timeout, 300 s;
# the whole run 9 min.
set -euo pipefail

mode=initramfs-tools
systemd=0
while [ $# -gt 0 ]; do
    case "$1" in
        --systemd) systemd=1; shift ;;
        --initramfs) mode="${2:?--initramfs needs initramfs-tools, dracut or hand}"; shift 2 ;;
        --initramfs=*) mode="${1#*=}"; shift ;;
        -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "vm-boot-test: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
case "$mode" in
    initramfs-tools | dracut | hand) ;;
    *) echo "vm-boot-test: --initramfs $mode: say initramfs-tools, dracut or hand" >&2; exit 2 ;;
esac

repo="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$repo/target/vm-boot}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
txfs="$repo/bin/txfs"
lib="$repo/mount-tool/src/main/boot/lib/txfs-boot.sh"
launcher="$repo/mount-tool/src/main/boot/bin/txfs"
timeout_s="${TXFS_VM_TIMEOUT:-300}"

say() { echo "vm-boot-test: $*" >&2; }
die() { say "$*"; exit 1; }
now() { date +%s.%N; }
since() { awk "BEGIN { printf \"%.1f\", $(now) - $1 }"; }

[ "$(id -u)" -eq 0 ] || die "needs root (loop mounts, chroot, apt-get)"

# ---- tools and packages ------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
[ "$mode" = hand ] || command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
busybox_deb() { # the static busybox for the tiny system in the snapshots (and the hand-built image)
    if [ ! -x "$work/busybox/bin/busybox" ]; then
        mkdir -p "$work/debs"
        (cd "$work/debs" && apt-get download busybox-static >/dev/null 2>&1) || die "apt-get download busybox-static failed"
        rm -rf "$work/busybox"
        dpkg -x "$work/debs/busybox-static_"*.deb "$work/busybox"
    fi
}
busybox_deb
busybox="$work/busybox/bin/busybox"

# ---- txfs: the jar and the runtime ---------------------------------------------------------------
"$txfs" --version >/dev/null # builds the jar if needed
jar="$repo/mount-tool/target/txfs.jar"
rt="$work/runtime"
if [ ! -x "$rt/bin/java" ] || [ "$jar" -nt "$rt/release" ]; then
    "$repo/scripts/build-boot-runtime.sh" "$rt" >&2
fi

# ---- the chroots: a minimal Debian with the kernel and the initramfs tool --------------------------
# chroot_run DIR CMD...: CMD inside DIR, with /proc, /sys and /dev, in a mount namespace of its own
# (nothing stays mounted when it ends, even on failure)
chroot_run() {
    unshare -m --propagation private -- sh -c '
        d=$1; shift
        mount -t proc proc "$d/proc" && mount -t sysfs sysfs "$d/sys" && mount --rbind /dev "$d/dev" || exit 1
        exec chroot "$d" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            DEBIAN_FRONTEND=noninteractive "$@"' sh "$@"
}
mirror() { # the Debian mirror apt uses here (deb822 or one-line sources)
    local m
    m="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/\{0,1\}$/\1/p' | head -n1)"
    [ -n "$m" ] || m="$(cat /etc/apt/sources.list 2>/dev/null | sed -n 's/^deb \(http[^ ]*\/debian\)\/\{0,1\} .*/\1/p' | head -n1)"
    echo "${m:-http://deb.debian.org/debian}"
}
base_chroot() {
    [ -f "$work/base/.txfs-done" ] && return 0
    local t0
    t0=$(now)
    say "debootstrap --variant=minbase bookworm $(mirror) (once; kept in $work/base)"
    rm -rf "$work/base.tmp"
    debootstrap --variant=minbase bookworm "$work/base.tmp" "$(mirror)" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log: $work/debootstrap.log)"; }
    touch "$work/base.tmp/.txfs-done"
    rm -rf "$work/base"
    mv "$work/base.tmp" "$work/base"
    say "debootstrap: $(since "$t0") s"
}
# tool_chroot NAME PACKAGES...: WORKDIR/chroot-NAME, a copy of the base with PACKAGES installed
tool_chroot() {
    local name="$1" c="$work/chroot-$1" t0
    shift
    [ "$(cat "$c/.txfs-done" 2>/dev/null)" = "$*" ] && return 0 # made before, with these packages
    base_chroot
    t0=$(now)
    say "chroot $name: installing $*"
    rm -rf "$c"
    mkdir -p "$c"
    cp -a "$work/base/." "$c/"
    rm -f "$c/.txfs-done"
    printf '#!/bin/sh\nexit 101\n' >"$c/usr/sbin/policy-rc.d" # start no services in the chroot
    chmod +x "$c/usr/sbin/policy-rc.d"
    # a small image, for the VM's hardware: only the modules listed (here and by our hook)
    mkdir -p "$c/etc/initramfs-tools/conf.d" "$c/etc/dracut.conf.d"
    echo "MODULES=list" >"$c/etc/initramfs-tools/conf.d/txfs-vm"
    # (no init system in the chroot, so no poweroff, reboot, halt: dracut's shutdown module, which
    # only serves systemd's return to the initramfs at shutdown, would fail on them)
    printf '%s\n' 'hostonly="no"' 'add_drivers+=" virtio_pci virtio_blk ext4 "' 'omit_dracutmodules+=" shutdown "' \
        >"$c/etc/dracut.conf.d/10-txfs-vm.conf"
    { chroot_run "$c" apt-get update -qq && chroot_run "$c" apt-get install -y -qq --no-install-recommends "$@"; } \
        >"$work/chroot-$name.log" 2>&1 || { tail -n 20 "$work/chroot-$name.log" >&2; die "chroot $name: apt-get failed (log: $work/chroot-$name.log)"; }
    printf '%s\n' virtio_pci virtio_blk ext4 >>"$c/etc/initramfs-tools/modules" 2>/dev/null || true
    chroot_run "$c" apt-get clean
    echo "$*" >"$c/.txfs-done"
    say "chroot $name: $(since "$t0") s"
}
# put_txfs CHROOT: txfs's boot integration into CHROOT, as on a real system: `txfs boot install
# --root` and the runtime where it expects it
put_txfs() {
    local c="$1"
    rm -rf "$c/usr/lib/txfs/runtime"
    mkdir -p "$c/usr/lib/txfs/runtime"
    cp -a "$rt/." "$c/usr/lib/txfs/runtime/"
    "$txfs" boot install --root "$c" >/dev/null
}
kernel_of() { # CHROOT: the version of the kernel installed there
    local k
    k="$(ls "$1/lib/modules" | sort -V | tail -n1)"
    [ -n "$k" ] && [ -f "$1/boot/vmlinuz-$k" ] || die "no kernel in $1"
    echo "$k"
}
# image_has LISTING PATHS...: each path is in the listing (a file of paths, one a line), whole or as
# its end (modules under lib/ or usr/lib/, dracut's hooks under /lib or /var/lib)
image_has() {
    local l="$1" p missing=()
    shift
    for p in "$@"; do
        awk -v p="$p" '$0 == p || substr($0, length($0) - length(p)) == "/" p { f = 1 } END { exit !f }' "$l" \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] || die "the initramfs lacks ${missing[*]} (listing: $l)"
}
# the files of txfs every image must hold, and libz.so.1 and libstdc++.so.6, which the runtime needs
# from the system (missing them, java cannot start: how the first mkinitramfs and dracut images failed)
txfs_files=(usr/lib/txfs/runtime/bin/java usr/lib/txfs/runtime/lib/modules usr/lib/txfs/txfs.jar
    usr/lib/txfs/bin/txfs usr/lib/txfs/boot/txfs-boot.sh usr/lib/txfs/native/libjffi-1.2.so usr/lib/txfs/native/liblmdb.so
    libz.so.1 libstdc++.so.6)

# hand_initramfs: the hand-built image (--initramfs hand): sets kver, vmlinuz, initrd
hand_initramfs() {
debs="$work/debs"
mkdir -p "$debs"
kpkg="$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)"
[ -n "$kpkg" ] || die "cannot tell which package linux-image-amd64 depends on (apt-get update?)"
kver="${kpkg#linux-image-}"
if [ ! -f "$work/kernel/boot/vmlinuz-$kver" ] || [ ! -f "$work/itools/usr/share/initramfs-tools/init" ]; then
    (cd "$debs" && apt-get download "$kpkg" initramfs-tools-core klibc-utils libklibc >/dev/null 2>&1) \
        || die "apt-get download $kpkg initramfs-tools-core klibc-utils libklibc failed"
    rm -rf "$work/kernel" "$work/itools"
    dpkg -x "$debs/${kpkg}_"*.deb "$work/kernel"
    for p in initramfs-tools-core klibc-utils libklibc; do dpkg -x "$debs/${p}_"*.deb "$work/itools"; done
fi
vmlinuz="$work/kernel/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "kernel missing under $work"
ird="$work/initramfs"
rm -rf "$ird"
mkdir -p "$ird"/{bin,sbin,dev,proc,sys,run,tmp,root,etc,usr/lib/txfs/bin,usr/lib/txfs/boot,usr/lib/txfs/native}
cp "$busybox" "$ird/bin/busybox"
for app in $("$busybox" --list); do
    [ -e "$ird/bin/$app" ] || ln -s busybox "$ird/bin/$app"
done
cp -a "$rt" "$ird/usr/lib/txfs/runtime"
cp "$jar" "$ird/usr/lib/txfs/txfs.jar"
java -cp "$jar" dev.txfs.tool.NativeLibs "$ird/usr/lib/txfs/native"
cp "$launcher" "$ird/usr/lib/txfs/bin/txfs"
cp "$lib" "$ird/usr/lib/txfs/boot/txfs-boot.sh"
chmod +x "$ird/usr/lib/txfs/bin/txfs"
for so in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/{libc.so.6,libm.so.6,libpthread.so.0,libdl.so.2,librt.so.1,libz.so.1,libstdc++.so.6,libgcc_s.so.1}; do
    mkdir -p "$ird$(dirname "$so")"
    cp -L "$so" "$ird$so"
done
# modules, in load order
kmods="$work/kernel/lib/modules/$kver"
mods="crc16 mbcache jbd2 crc32c_generic ext4 fuse virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk"
mkdir -p "$ird/lib/modules"
for m in $mods; do
    f="$(find "$kmods/kernel" -name "$m.ko*" | head -n1)"
    if [ -n "$f" ]; then
        rel="${f#"$kmods"/}"
        rel="${rel%.xz}"
        rel="${rel%.zst}"
        mkdir -p "$ird/lib/modules/$kver/$(dirname "$rel")"
        case "$f" in
            *.xz) xz -dc "$f" >"$ird/lib/modules/$kver/$rel" ;;
            *.zst) zstd -qdc "$f" >"$ird/lib/modules/$kver/$rel" ;;
            *) cp "$f" "$ird/lib/modules/$kver/$rel" ;;
        esac
        ln -s "$kver/$rel" "$ird/lib/modules/$m.ko"
    fi # else built in
done
"$busybox" depmod -b "$ird" "$kver"
if [ "${TXFS_VM_INIT:-initramfs-tools}" = initramfs-tools ]; then
    it="$work/itools/usr/share/initramfs-tools"
    cp "$it/init" "$ird/init"
    mkdir -p "$ird/scripts/init-top" "$ird/scripts/init-bottom" "$ird/conf/conf.d" "$ird/usr/bin"
    cp "$it/scripts/functions" "$it/scripts/local" "$it/scripts/nfs" "$ird/scripts/"
    cp "$work/itools/etc/initramfs-tools/initramfs.conf" "$ird/conf/initramfs.conf"
    echo "DPKG_ARCH=amd64" >"$ird/conf/arch.conf"
    printf '%s\n' fuse virtio_pci virtio_blk ext4 >"$ird/conf/modules"
    ln -s /bin/busybox "$ird/sbin/modprobe"
    # the files `txfs boot install` puts under /usr/share/initramfs-tools, where mkinitramfs puts them
    boot="$repo/mount-tool/src/main/boot/initramfs-tools"
    cp "$boot/scripts/txfs" "$ird/scripts/txfs"
    cp "$boot/scripts/init-top/txfs" "$ird/scripts/init-top/txfs"
    # udev's init-bottom moves /dev into the new root; this initramfs has no udev
    printf '#!/bin/sh\n[ "$1" = prereqs ] && exit 0\nmount -n -o move /dev "${rootmnt}/dev"\n' >"$ird/scripts/init-bottom/dev"
    chmod +x "$ird/scripts/init-top/txfs" "$ird/scripts/init-bottom/dev"
    for d in init-top/txfs init-bottom/dev; do # the ORDER files mkinitramfs writes
        printf '/scripts/%s "$@"\n[ -e /conf/param.conf ] && . /conf/param.conf\n' "$d" >>"$ird/scripts/${d%/*}/ORDER"
    done
    cp "$work/itools/usr/lib/klibc/bin/run-init" "$ird/usr/bin/run-init"
    cp "$work/itools"/lib/klibc-*.so "$ird/lib/"
else
cat >"$ird/init" <<INIT
#!/bin/sh
# A minimal initramfs /init doing what initramfs-tools' /init does around scripts/txfs's mountroot.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
echo "TXFS-VM: initramfs at \$(cut -d' ' -f1 /proc/uptime) s"
# no modprobe here: insmod in passes until a pass loads nothing more (each needs its dependencies first)
pass=0
while [ \$pass -lt 5 ]; do
    pass=\$((pass + 1))
    for m in $mods; do [ -f /lib/modules/\$m.ko ] && [ ! -d /sys/module/\$m ] && insmod /lib/modules/\$m.ko 2>/dev/null; done
done
for m in $mods; do [ -d /sys/module/\$m ] || echo "TXFS-VM: module \$m did not load"; done
. /usr/lib/txfs/boot/txfs-boot.sh
if ! TXFS_SWITCH_ROOT=1 TXFS_LOG=/dev/console TXFS_CMDLINE=/proc/cmdline txfs_boot_root /root; then
    echo "TXFS-VM: BOOT FAILED"
    poweroff -f
fi
echo "TXFS-VM: root mounted at \$(cut -d' ' -f1 /proc/uptime) s"
mount --move /run /root/run
mount --move /dev /root/dev
mount --move /sys /root/sys
mount --move /proc /root/proc
exec switch_root /root /sbin/init
INIT
fi
chmod +x "$ird/init"
initrd="$work/initrd.gz"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"

}

extra_args=""
case "$mode" in
    initramfs-tools)
        tool_chroot initramfs-tools linux-image-amd64 initramfs-tools busybox udev zstd
        c="$work/chroot-initramfs-tools"
        put_txfs "$c"
        kver="$(kernel_of "$c")"
        t0=$(now)
        chroot_run "$c" update-initramfs -u -k "$kver" >"$work/mkinitramfs.log" 2>&1 \
            || { cat "$work/mkinitramfs.log" >&2; die "update-initramfs failed"; }
        say "update-initramfs -u -k $kver: $(since "$t0") s"
        grep -i txfs "$work/mkinitramfs.log" >&2 || true
        vmlinuz="$c/boot/vmlinuz-$kver"
        initrd="$c/boot/initrd.img-$kver"
        chroot_run "$c" lsinitramfs "/boot/initrd.img-$kver" | sed 's:^\./::' >"$work/initrd.list"
        image_has "$work/initrd.list" "${txfs_files[@]}" scripts/txfs scripts/init-top/txfs \
            "modules/$kver/kernel/fs/fuse/fuse.ko" bin/busybox
        ;;
    dracut)
        tool_chroot dracut linux-image-amd64 dracut busybox udev zstd
        c="$work/chroot-dracut"
        put_txfs "$c"
        kver="$(kernel_of "$c")"
        t0=$(now)
        chroot_run "$c" dracut -f --kver "$kver" "/boot/initrd.img-$kver" >"$work/dracut.log" 2>&1 \
            || { cat "$work/dracut.log" >&2; die "dracut failed"; }
        say "dracut -f --kver $kver: $(since "$t0") s"
        grep -i txfs "$work/dracut.log" >&2 || true
        vmlinuz="$c/boot/vmlinuz-$kver"
        initrd="$c/boot/initrd.img-$kver"
        chroot_run "$c" lsinitrd "/boot/initrd.img-$kver" >"$work/lsinitrd.txt" 2>&1 || true
        # its `ls -l` lines: the name after 8 fields (9 for devices: "5,   1"), without " -> target"
        sed -nE '/^[-dlcbps][-rwxsStT]{9} /{s/^(\S+\s+){4}(\S+,\s+)?(\S+\s+){4}//;s/ -> .*$//;p}' \
            "$work/lsinitrd.txt" >"$work/initrd.list"
        sed -n '/^dracut modules:/,/^===/p' "$work/lsinitrd.txt" | grep -qx txfs \
            || die "lsinitrd does not list the dracut module txfs ($work/lsinitrd.txt)"
        image_has "$work/initrd.list" "${txfs_files[@]}" \
            hooks/cmdline/90-txfs-cmdline.sh hooks/mount/90-txfs-mount.sh
        extra_args="rd.shell=0"
        ;;
    hand)
        hand_initramfs
        ;;
esac
say "initramfs ($mode) $(du -h "$initrd" | cut -f1) ($(stat -c %s "$initrd") bytes; runtime $(du -shL "$rt" | cut -f1)), kernel $kver"

# ---- the store disk: snapshots A and B of a tiny system ------------------------------------------
disk="$work/disk.img"
rm -f "$disk"
truncate -s 256M "$disk"
mkfs.ext4 -q -F "$disk"
for s in A B; do
    d="$work/sys-$s"
    rm -rf "$d"
    mkdir -p "$d"/{bin,sbin,dev,proc,sys,run,tmp,etc}
    cp "$busybox" "$d/bin/busybox"
    for app in sh cat echo mount sleep cut poweroff; do ln -s busybox "$d/bin/$app"; done
    echo "snapshot $s" >"$d/marker"
    cat >"$d/sbin/init" <<'SYSINIT'
#!/bin/sh
export PATH=/bin
echo "TXFS-VM-MARKER: $(cat /marker) at $(cut -d' ' -f1 /proc/uptime) s"
while read -r line; do echo "TXFS-VM-BOOTED: $line"; done </run/txfs/booted
poweroff -f
SYSINIT
    chmod +x "$d/sbin/init"
done
ids="$(unshare -m --propagation private bash -c '
    set -e; t=$1 w=$2; mkdir -p "$w/img"; mount -o loop "$w/disk.img" "$w/img"; trap "umount $w/img" EXIT
    s=$w/img/txfs
    $t --store "$s" init >/dev/null
    a=$($t --store "$s" snapshot --from-dir "$w/sys-A" -m A)
    b=$($t --store "$s" snapshot --from-dir "$w/sys-B" -m B)
    $t --store "$s" boot set-default "$a" >/dev/null
    $t --store "$s" boot mark-good "$b" >/dev/null
    echo "$a $b"' bash "$txfs" "$work")"
a="${ids% *}"
b="${ids#* }"
say "snapshots: A $a, B $b"

# ---- the boots -----------------------------------------------------------------------------------
boot() { # NAME ROOTARG EXPECTED_MARKER [EXPECTED_CONSOLE_TEXT]
    local name="$1" root="$2" want="$3" text="${4:-}" log="$work/console-$mode-$1.log" t0 t1
    t0=$(date +%s.%N)
    timeout "$timeout_s" qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -no-reboot -display none \
        -kernel "$vmlinuz" -initrd "$initrd" \
        -drive "file=${bootdisk:-$disk},format=raw,if=virtio" \
        -append "console=ttyS0 panic=-1 quiet $extra_args txfs.store=/dev/vda:/txfs $root" \
        -serial "file:$log" -monitor none || true
    t1=$(date +%s.%N)
    local secs
    secs=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
    if ! grep -aqF "TXFS-VM-MARKER: $want" "$log"; then
        say "boot $name ($root): no 'TXFS-VM-MARKER: $want' on the console; its tail:"
        tr -d '\r' <"$log" | tail -n 30 >&2
        exit 1
    fi
    if [ -n "$text" ] && ! grep -aqF "$text" "$log"; then
        say "boot $name ($root): the console does not say '$text'"
        tr -d '\r' <"$log" | grep 'txfs' >&2
        exit 1
    fi
    say "boot $name ($root): $want, $secs s"
    tr -d '\r' <"$log" | grep -E 'TXFS-VM|^txfs:' | sed 's/^/    /' >&2
}
boot a "txfs.root=$a" "snapshot A"
boot b "txfs.root=${b:0:10}" "snapshot B"
boot bogus "txfs.root=nonesuch" "snapshot B" \
    "txfs: boot: txfs.root=nonesuch names no ref, tag or snapshot: falling back to boot/last-good ${b:0:12}"
say "all boots ($mode) came up on the right snapshot"

# ---- --systemd: a Debian with systemd as the snapshot; the mark-good unit --------------------------
if [ "$systemd" = 1 ]; then
    [ "$mode" != hand ] || die "--systemd needs an image made by initramfs-tools or dracut"
    tool_chroot systemd systemd-sysv udev # (without udev, no device units: a 90 s wait for ttyS0)
    r="$work/chroot-systemd"
    put_txfs "$r"
    echo "snapshot systemd" >"$r/marker"
    mkdir -p "$r/usr/local/sbin"
    cat >"$r/usr/local/sbin/txfs-vm-check" <<'CHECK'
#!/bin/sh
# the VM test's check, after txfs-mark-good.service: what the unit did, what the store says; power off
. /run/txfs/booted
echo "TXFS-VM-MARKER: $(cat /marker) at $(cut -d' ' -f1 /proc/uptime) s (pid 1: $(cat /proc/1/comm))"
echo "TXFS-VM-MARKGOOD: $(systemctl show -p Result -p ExecMainStatus txfs-mark-good.service | tr '\n' ' ')"
/usr/lib/txfs/bin/txfs --store "$store" boot list 2>&1 | sed 's/^/TXFS-VM-LIST: /'
systemctl --failed --no-legend 2>&1 | sed 's/^/TXFS-VM-FAILED-UNIT: /'
sync
CHECK
    chmod +x "$r/usr/local/sbin/txfs-vm-check"
    cat >"$r/etc/systemd/system/txfs-vm-check.service" <<'UNIT'
[Unit]
Description=txfs VM test: report and power off
After=txfs-mark-good.service default.target
[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStart=/usr/local/sbin/txfs-vm-check
# (start poweroff.target, not `systemctl poweroff`, which asks logind over D-Bus: none here)
ExecStartPost=/bin/systemctl --no-block start poweroff.target
[Install]
WantedBy=default.target
UNIT
    ln -sf ../txfs-vm-check.service "$r/etc/systemd/system/default.target.wants/txfs-vm-check.service"
    bootdisk="$work/disk-systemd.img"
    rm -f "$bootdisk"
    truncate -s 1G "$bootdisk"
    mkfs.ext4 -q -F "$bootdisk"
    t0=$(now)
    # the store: A (the tiny system) as last-good, the Debian as the default under assessment
    ids="$(unshare -m --propagation private bash -c '
        set -e; t=$1 w=$2 r=$3 img=$4; mkdir -p "$w/img"; mount -o loop "$img" "$w/img"; trap "umount $w/img" EXIT
        s=$w/img/txfs
        $t --store "$s" init >/dev/null
        a=$($t --store "$s" snapshot --from-dir "$w/sys-A" -m A)
        d=$($t --store "$s" snapshot --from-dir "$r" -m "Debian with systemd")
        $t --store "$s" boot mark-good "$a" >/dev/null
        $t --store "$s" boot set-default "$d" --tries 2 >/dev/null
        echo "$a $d"' bash "$txfs" "$work" "$r" "$bootdisk")"
    a="${ids% *}"
    d="${ids#* }"
    say "store with the Debian ($(du -sh "$r/" | cut -f1)) as snapshot $d: $(since "$t0") s"
    boot systemd "" "snapshot systemd"
    # what the unit left in the store
    list="$(unshare -m --propagation private bash -c '
        set -e; t=$1 w=$2 img=$3; mkdir -p "$w/img"; mount -o loop "$img" "$w/img"; trap "umount $w/img" EXIT
        $t --store "$w/img/txfs" boot list' bash "$txfs" "$work" "$bootdisk")"
    echo "$list" | sed 's/^/    after: /' >&2
    echo "$list" | grep -qE "^boot/last-good +$d" || die "boot/last-good is not the Debian $d after the boot"
    if echo "$list" | grep -q 'tries left'; then die "the store still counts tries after the boot was marked good"; fi
    mg="$(tr -d '\r' <"$work/console-$mode-systemd.log" | grep 'TXFS-VM-MARKGOOD:' || true)"
    case "$mg" in *Result=success*) ;; *) false ;; esac && case "$mg" in *ExecMainStatus=0*) ;; *) false ;; esac \
        || die "txfs-mark-good.service did not succeed (console: $work/console-$mode-systemd.log)"
    say "systemd boot: txfs-mark-good.service marked $d good"
fi
