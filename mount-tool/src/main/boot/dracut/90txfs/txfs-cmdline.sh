#!/bin/sh
# dracut cmdline hook: with txfs.store= (and no other root=), the root is txfs; wait for the store's device.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

store=$(getarg txfs.store=)
if [ -n "$store" ]; then
    [ -z "$root" ] && root=txfs
    if [ "$root" = "txfs" ]; then
        rootok=1
        dev="${store%%:*}"
        case "$dev" in
            UUID=* | LABEL=* | PARTUUID=*) wait_for_dev "$(label_uuid_to_dev "$dev")" ;;
            /dev/*) wait_for_dev "$dev" ;;
        esac
    fi
fi
