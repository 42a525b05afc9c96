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
    local h=/usr/lib/txfs f lib
    # what txfs-boot.sh and the launcher run besides shell builtins
    inst_multiple mount blkid sed tail mkdir sleep cat grep cp rm
    # the libraries the runtime and the native libraries need (libc, libz, libstdc++, ...), by ldd,
    # whose list is the whole closure. dracut resolves dependencies lazily, at the end, and only of
    # executable files: the runtime's libraries are not executable, and the first VM boot of a dracut
    # image failed for want of libjvm.so's libstdc++.so.6.
    inst_binary "$h/runtime/bin/java"
    for f in "$h/runtime/bin/java" $(find "$h/runtime/lib" "$h/native" -name '*.so' 2>/dev/null); do
        for lib in $(ldd "$f" 2>/dev/null | sed -n 's/^.*=> \(\/[^ ]*\) (.*$/\1/p'); do
            case "$lib" in
                "$h"/*) ;;
                *) inst_library "$lib" ;;
            esac
        done
    done
    inst_dir "$h"
    cp -a "$h/runtime" "$h/txfs.jar" "$h/bin" "$h/boot" "$initdir$h/"
    if [ -d "$h/native" ]; then
        cp -a "$h/native" "$initdir$h/"
    fi
    inst_hook cmdline 90 "$moddir/txfs-cmdline.sh"
    inst_hook mount 90 "$moddir/txfs-mount.sh"
}
