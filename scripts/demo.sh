#!/usr/bin/env bash
# txfs's main job on a fresh machine: build, initialise the default store, record a snapshot of a
# directory, mount the store's live tree, work in it, snapshot it, unmount, verify.
# Run as root (mounting needs it): scripts/demo.sh
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$repo"
bash scripts/ensure-deps.sh
[ -f mount-tool/target/txfs.jar ] || mvn -B -q -ntp install -DskipTests
txfs=bin/txfs
mp=$(mktemp -d /tmp/txfs-demo.XXXXXX)
cleanup() { "$txfs" umount "$mp" 2>/dev/null || true; rmdir "$mp" 2>/dev/null || true; }
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step "$txfs" --version
step "$txfs" init 2>/dev/null || true          # the default store; already there is fine
step "$txfs" snapshot --from-dir "$repo/docs" -m "demo: the docs directory"
step "$txfs" log
step "$txfs" mount "$mp"
step ls -la "$mp"
step sh -c "echo 'hello from txfs' > '$mp/hello.txt' && mkdir -p '$mp/dir' && ln -sfn ../hello.txt '$mp/dir/link'"
step cat "$mp/dir/link"
step sh -c "cd '$mp' && '$repo/bin/txfs' snapshot -m 'demo: said hello'"
step "$txfs" umount "$mp"
step "$txfs" log
step "$txfs" verify
echo
echo "demo done: the store is in /var/lib/txfs (or \$TXFS_STORE)."
