#!/usr/bin/env bash
# Benchmark: begin / commit latency of two builds of txfs, side by side in one run (the machines
# are shared and noisy: compare within a run, never across runs). For each build: a store of N
# files (default 1,000 and 100,000) on one tmpfs, mounted; then REPS rounds of
# `txfs begin; change one file; txfs commit --json`, as root and as the user nobody (a non-root
# transaction's commit is re-checked against the live tree's permissions), the builds taking turns
# round by round (root rewrites a file of the tree, nobody creates a new file in its directory).
# Prints the median wall time of begin and commit (JVM start included) and the median time inside
# the daemon (commit --json's elapsed_us).
#
#   sudo it-tests/bench/txn-latency-ab.sh OLD_CHECKOUT [NEW_CHECKOUT]   (NEW defaults to this repo)
#   REPS=N (default 11), SIZES="1000 100000"
#
# Each checkout must have mount-tool/target/txfs.jar built (mvn -q package -DskipTests).
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
old=$(cd "${1:?usage: txn-latency-ab.sh OLD_CHECKOUT [NEW_CHECKOUT]}" && pwd)
new=$(cd "${2:-$here}" && pwd)
reps=${REPS:-11}
sizes=${SIZES:-"1000 100000"}
w=$(mktemp -d /tmp/txfs-latab.XXXXXX)
chmod 0755 "$w"
mount -t tmpfs -o size=4g tmpfs "$w"
cleanup() {
  set +e
  for b in old new; do
    "$w/txfs-$b" umount "$w/mnt-$b" 2>/dev/null || umount -l "$w/mnt-$b" 2>/dev/null
  done
  umount -l "$w" 2>/dev/null
  rmdir "$w" 2>/dev/null
}
trap cleanup EXIT
ln -s "$old/bin/txfs" "$w/txfs-old"
ln -s "$new/bin/txfs" "$w/txfs-new"

median() { python3 -c 'import sys, statistics; v=[float(x) for x in sys.stdin.read().split()]; print("%.1f" % statistics.median(v) if v else "-")'; }

# one ROUND: BUILD USER FILE -> prints "begin MS", "commit MS", "inside MS"
cat > "$w/round.sh" <<'SH'
set -eu
txfs=$1 mnt=$2 f=$3 tag=$4
cd "$mnt"
s=$(date +%s%N); "$txfs" begin >/dev/null; e=$(date +%s%N)
echo "begin $(( (e - s) / 1000 ))"
echo "$tag" > "$f"
s=$(date +%s%N); j=$("$txfs" commit --json); e=$(date +%s%N)
echo "commit $(( (e - s) / 1000 ))"
echo "inside $(echo "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["elapsed_us"])')"
SH

printf '| files | user | build | begin ms | commit ms | commit in daemon ms |\n| --- | --- | --- | --- | --- | --- |\n'
for n in $sizes; do
  rm -rf "$w/src"
  python3 - "$w/src" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // 100))
    if i % 100 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%02d" % (i % 100)), "w") as f: f.write("file %d\n" % i + "x" * 90)
os.makedirs(os.path.join(root, "nobody"))
PY
  chown 65534:65534 "$w/src/nobody"
  for b in old new; do
    rm -rf "$w/store-$b"; mkdir -p "$w/mnt-$b"
    "$w/txfs-$b" --store "$w/store-$b" init >/dev/null
    "$w/txfs-$b" --store "$w/store-$b" snapshot --from-dir "$w/src" -m "tree of $n" >/dev/null
    "$w/txfs-$b" --store "$w/store-$b" mount --snapshot HEAD "$w/mnt-$b" >/dev/null
    : > "$w/times-$b"
  done
  for i in $(seq 0 "$reps"); do
    for b in old new; do
      for u in root nobody; do
        if [ "$u" = root ]; then
          out=$(bash "$w/round.sh" "$w/txfs-$b" "$w/mnt-$b" d0000/f00 "r$i") || { echo "round $i failed: $n files, $u, $b build" >&2; exit 1; }
        else
          out=$(runuser -u nobody -- bash "$w/round.sh" "$w/txfs-$b" "$w/mnt-$b" "nobody/f$i" "n$i") || { echo "round $i failed: $n files, $u, $b build" >&2; exit 1; }
        fi
        [ "$i" -gt 0 ] && echo "$out" | sed "s/^/$u /" >> "$w/times-$b"
      done
    done
  done
  for u in root nobody; do
    for b in old new; do
      bg=$(awk -v u=$u '$1 == u && $2 == "begin" {print $3 / 1000}' "$w/times-$b" | median)
      cm=$(awk -v u=$u '$1 == u && $2 == "commit" {print $3 / 1000}' "$w/times-$b" | median)
      in=$(awk -v u=$u '$1 == u && $2 == "inside" {print $3 / 1000}' "$w/times-$b" | median)
      echo "| $n | $u | $b | $bg | $cm | $in |"
    done
  done
  for b in old new; do "$w/txfs-$b" umount "$w/mnt-$b" >/dev/null; done
done
