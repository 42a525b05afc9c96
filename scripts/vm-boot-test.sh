#!/usr/bin/env bash
# vm-boot-test.sh: boots a virtual machine into txfs snapshots and checks which one came up.
#
#   scripts/vm-boot-test.sh [WORKDIR]      (as root; default WORKDIR: target/vm-boot below the repo)
#
# A Debian kernel (the package behind linux-image-amd64, fetched with apt-get download and
# unpacked with dpkg -x, not installed), qemu-system-x86_64 under software emulation (-accel tcg:
# KVM does not work on these machines), and an initramfs made here of busybox, the kernel modules
# a FUSE root on a virtio disk needs, the jlink'd runtime (scripts/build-boot-runtime.sh), the txfs
# jar and launcher, and the boot library mount-tool/src/main/boot/lib/txfs-boot.sh. Its /init is
# initramfs-tools' own (/init, scripts/functions, scripts/local from Debian's initramfs-tools-core,
# run-init from klibc-utils), running this repository's init-top/txfs and scripts/txfs, as
# mkinitramfs would lay them out; TXFS_VM_INIT=minimal uses a small /init calling the library
# directly instead. The store is on a virtio disk
# (ext4, directory /txfs) holding two snapshots, A and B, of a tiny busybox system whose /sbin/init
# prints its marker file and powers off. Three boots: txfs.root=A, txfs.root=B (by prefix), and a
# bogus value, which must come up on boot/last-good (B) with the reason on the console.
# Prints each boot's duration; exits non-zero on the first wrong result. Installs qemu-system-x86,
# cpio and e2fsprogs with apt-get where missing; fetches the kernel, busybox-static,
# initramfs-tools-core, klibc-utils and libklibc with apt-get download (unpacked, not installed).
set -euo pipefail

repo="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$repo/target/vm-boot}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
txfs="$repo/bin/txfs"
lib="$repo/mount-tool/src/main/boot/lib/txfs-boot.sh"
launcher="$repo/mount-tool/src/main/boot/bin/txfs"
timeout_s="${TXFS_VM_TIMEOUT:-240}"

say() { echo "vm-boot-test: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (loop mounts, apt-get)"

# ---- tools and packages ------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
debs="$work/debs"
mkdir -p "$debs"
kpkg="$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)"
[ -n "$kpkg" ] || die "cannot tell which package linux-image-amd64 depends on (apt-get update?)"
kver="${kpkg#linux-image-}"
if [ ! -f "$work/kernel/boot/vmlinuz-$kver" ] || [ ! -f "$work/itools/usr/share/initramfs-tools/init" ]; then
    (cd "$debs" && apt-get download "$kpkg" busybox-static initramfs-tools-core klibc-utils libklibc >/dev/null 2>&1) \
        || die "apt-get download $kpkg busybox-static initramfs-tools-core klibc-utils libklibc failed"
    rm -rf "$work/kernel" "$work/busybox" "$work/itools"
    dpkg -x "$debs/${kpkg}_"*.deb "$work/kernel"
    dpkg -x "$debs/busybox-static_"*.deb "$work/busybox"
    for p in initramfs-tools-core klibc-utils libklibc; do dpkg -x "$debs/${p}_"*.deb "$work/itools"; done
fi
vmlinuz="$work/kernel/boot/vmlinuz-$kver"
busybox="$work/busybox/bin/busybox"
[ -f "$vmlinuz" ] && [ -x "$busybox" ] || die "kernel or busybox missing under $work"

# ---- txfs: the jar and the runtime ---------------------------------------------------------------
"$txfs" --version >/dev/null # builds the jar if needed
jar="$repo/mount-tool/target/txfs.jar"
rt="$work/runtime"
if [ ! -x "$rt/bin/java" ] || [ "$jar" -nt "$rt/release" ]; then
    "$repo/scripts/build-boot-runtime.sh" "$rt" >&2
fi

# ---- the initramfs -------------------------------------------------------------------------------
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
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
say "initramfs $(du -h "$work/initrd.gz" | cut -f1) (runtime $(du -sh "$rt" | cut -f1))"

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
    local name="$1" root="$2" want="$3" text="${4:-}" log="$work/console-$1.log" t0 t1
    t0=$(date +%s.%N)
    timeout "$timeout_s" qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -no-reboot -display none \
        -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
        -drive "file=$disk,format=raw,if=virtio" \
        -append "console=ttyS0 panic=-1 quiet txfs.store=/dev/vda:/txfs $root" \
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
say "all boots came up on the right snapshot"
