#!/usr/bin/env bash
# Benchmark: the txfs mount against tmpfs, bindfs over tmpfs and fuse-overlayfs over tmpfs, in
# one run (the machines are shared and noisy: compare within a run, never across runs).
#
#   sudo it-tests/bench/fuse-vs-peers.sh
#
# Needs root; installs bindfs, fuse-overlayfs and fio with apt-get if missing. Everything lives on
# one tmpfs (txfs's store too), so the figures compare the filesystems, not disks. Prints a
# markdown table; copy it to docs/BENCHMARKS.md with the date and this command.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
txfs="$repo/bin/txfs"
for p in bindfs fuse-overlayfs fio; do
  command -v "$p" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done
w=$(mktemp -d /tmp/txfs-fusebench.XXXXXX)
mkdir -p "$w/t"
mount -t tmpfs -o size=12g tmpfs "$w/t"
cleanup() {
  set +e
  "$txfs" umount "$w/txfs" 2>/dev/null
  for m in "$w/bind" "$w/ovl"; do fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  umount -l "$w/t" 2>/dev/null
  rm -rf "$w"
}
trap cleanup EXIT

t=$w/t
mkdir -p "$t/plain" "$t/bindsrc" "$t/lower" "$t/upper" "$t/work" "$w/bind" "$w/ovl" "$w/txfs"
bindfs "$t/bindsrc" "$w/bind"
fuse-overlayfs -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$w/ovl"
"$txfs" --store "$t/store" init >/dev/null
"$txfs" --store "$t/store" mount "$w/txfs" >/dev/null

head -c 1G /dev/urandom > "$t/rand"                      # random: no filesystem may dedupe it
tree_tar=$t/tree.tar                                     # the ~30k-entry tree of the snapshot bench
tar -C / -cf "$tree_tar" usr/lib/jvm usr/lib/x86_64-linux-gnu usr/share/doc usr/include usr/lib/python3 usr/share/locale usr/share/perl 2>/dev/null || true
entries=$(tar -tf "$tree_tar" | wc -l)

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# Warm the txfs daemon's JIT (FUSE-NOTES: the first GiB is several times slower than the third).
dd if="$t/rand" of="$w/txfs/warm" bs=1M count=512 conv=fsync status=none
cat "$w/txfs/warm" > /dev/null; rm "$w/txfs/warm"

declare -A R
run() { # name dir
  local n=$1 d=$2 s e
  s=$(now); dd if="$t/rand" of="$d/big" bs=1M conv=fsync status=none; e=$(now)
  R[$n,write]=$(echo "scale=0; 1024 / ($(secs "$s" "$e"))" | bc)
  drop
  s=$(now); dd if="$d/big" of=/dev/null bs=1M status=none; e=$(now)
  R[$n,read]=$(echo "scale=0; 1024 / ($(secs "$s" "$e"))" | bc)
  rm -f "$d/big"
  R[$n,rand]=$(fio --name=r --directory="$d" --size=256M --rw=randrw --bs=4k --ioengine=psync --runtime=8 --time_based \
    --output-format=terse --terse-version=3 2>/dev/null | awk -F';' '{printf "%d", $8 + $49}')
  rm -f "$d"/r.*
  python3 - "$d" > "$t/files.out" <<'PY'
import os, sys, time
d = os.path.join(sys.argv[1], "small"); os.mkdir(d)
n = 10000
t0 = time.perf_counter()
for i in range(n):
    with open(os.path.join(d, "f%05d" % i), "wb") as f: f.write(b"x" * 100)
t1 = time.perf_counter()
for _ in range(2):
    for i in range(n): os.stat(os.path.join(d, "f%05d" % i))
t2 = time.perf_counter()
for i in range(n): os.unlink(os.path.join(d, "f%05d" % i))
t3 = time.perf_counter()
os.rmdir(d)
print(int(n / (t1 - t0)), int(2 * n / (t2 - t1)), int(n / (t3 - t2)))
PY
  read -r R[$n,create] R[$n,stat] R[$n,delete] < "$t/files.out"
  s=$(now); tar -C "$d" -xf "$tree_tar"; e=$(now); R[$n,tarx]=$(secs "$s" "$e")
  if [ "$n" = txfs ]; then
    s=$(now); (cd "$d" && "$txfs" snapshot -m "after tar -x" >/dev/null); e=$(now); R[$n,snap]=$(secs "$s" "$e")
  fi
  s=$(now); rm -rf "${d:?}/usr"; e=$(now); R[$n,rm]=$(secs "$s" "$e")
}

run tmpfs "$t/plain"
run bindfs "$w/bind"
run overlay "$w/ovl"
run txfs "$w/txfs"

# Daemon memory while writing a 5 GiB file (random data, 1 MiB writes).
pid=$(pgrep -f -- "mount --foreground $w/txfs" | head -1)
peak=0
( for _ in 1 2 3 4 5; do cat "$t/rand"; done > "$w/txfs/five" ) &
writer=$!
while kill -0 "$writer" 2>/dev/null; do
  # Anonymous memory only (heap, stacks, malloc): the store's LMDB map is file-backed and, on this
  # tmpfs, would count its whole written size in plain RSS.
  rss=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status"); [ "${rss:-0}" -gt "$peak" ] && peak=$rss; sleep 0.2
done
wait "$writer"
five_size=$(stat -c %s "$w/txfs/five")
rm -f "$w/txfs/five"

ratio() { echo "scale=2; $1 / $2" | bc; }
echo "date: $(date -u +%Y-%m-%d), tree: $entries entries, 2 cores"
echo
echo "| measure | tmpfs | bindfs | fuse-overlayfs | txfs | txfs / bindfs | txfs / fuse-overlayfs |"
echo "|---|---|---|---|---|---|---|"
for k in write read rand create stat delete; do
  label=$(case $k in write) echo "seq write 1 GiB + fsync (MiB/s)";; read) echo "seq read 1 GiB, cold (MiB/s)";;
    rand) echo "fio 4k randrw (IOPS)";; create) echo "create 10k files (/s)";; stat) echo "stat (/s)";; delete) echo "delete (/s)";; esac)
  echo "| $label | ${R[tmpfs,$k]} | ${R[bindfs,$k]} | ${R[overlay,$k]} | ${R[txfs,$k]} | $(ratio "${R[txfs,$k]}" "${R[bindfs,$k]}") | $(ratio "${R[txfs,$k]}" "${R[overlay,$k]}") |"
done
for k in tarx rm; do
  label=$(case $k in tarx) echo "tar -x $entries entries (s)";; rm) echo "rm -rf of it (s)";; esac)
  echo "| $label | ${R[tmpfs,$k]} | ${R[bindfs,$k]} | ${R[overlay,$k]} | ${R[txfs,$k]} | $(ratio "${R[txfs,$k]}" "${R[bindfs,$k]}") | $(ratio "${R[txfs,$k]}" "${R[overlay,$k]}") |"
done
echo
echo "txfs snapshot right after tar -x: ${R[txfs,snap]} s"
echo "txfs daemon peak anonymous RSS (heap and native, not the store's map) while writing a $((five_size >> 30)) GiB file: $((peak / 1024)) MiB"
