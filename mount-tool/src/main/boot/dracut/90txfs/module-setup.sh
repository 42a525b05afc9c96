#!/bin/bash
# dracut module txfs: boot into a txfs snapshot (txfs.store=<device>[:<dir>], txfs.root=...).
# Installed by `txfs boot install`, enabled by /etc/dracut.conf.d/txfs.conf.

check() {
    [ -x /usr/lib/txfs/runtime/bin/java ] && [ -f /usr/lib/txfs/txfs.jar ] || return 1
    return 255 # only when asked for (add_dracutmodules)
}

depends() {
    echo base
}

installkernel() {
    hostonly='' instmods fuse loop
}

install() {
    local h=/usr/lib/txfs f
    # what txfs-boot.sh and the launcher run besides shell builtins
    inst_multiple mount blkid sed tail mkdir sleep cat grep cp rm
    # the libraries the runtime and the native libraries need (libc, libz, ...) first, then the tree
    # (as in the initramfs-tools hook: a file already in the image may get no dependencies)
    inst_binary "$h/runtime/bin/java"
    for f in $(find "$h/runtime/lib" "$h/native" -name '*.so' 2>/dev/null); do
        inst_library "$f"
    done
    inst_dir "$h"
    cp -a "$h/runtime" "$h/txfs.jar" "$h/bin" "$h/boot" "$initdir$h/"
    if [ -d "$h/native" ]; then
        cp -a "$h/native" "$initdir$h/"
    fi
    inst_hook cmdline 90 "$moddir/txfs-cmdline.sh"
    inst_hook mount 90 "$moddir/txfs-mount.sh"
}
