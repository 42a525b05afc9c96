#!/bin/sh
# dracut mount hook: start the txfs daemon on the chosen snapshot at $NEWROOT (the shared library
# does the work: txfs-boot.sh); dracut then switches root into it.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

if [ "$root" = "txfs" ] && ! ismounted "$NEWROOT"; then
    modprobe -q fuse
    modprobe -q loop
    mkdir -p /tmp
    . /usr/lib/txfs/boot/txfs-boot.sh
    TXFS_SWITCH_ROOT=1 TXFS_CMDLINE=/proc/cmdline txfs_boot_root "$NEWROOT" || die "txfs: could not mount the root snapshot"
fi
