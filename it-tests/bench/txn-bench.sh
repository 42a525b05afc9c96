#!/usr/bin/env bash
# Benchmark: transactions. Three parts, one run (the machines are shared and noisy: compare
# within a run, never across runs):
#   1. commit latency against changed entries (1, 100, 10,000) and tree size (1,000 and 100,000
#      files): the time inside the daemon (`txfs commit --json`, elapsed_us), the wall time of
#      `txfs begin` and `txfs commit` as a shell sees them (JVM start included), and `git add -A &&
#      git commit` of the same change to the same tree in a git repository on the same tmpfs;
#   2. throughput of a data and a metadata workload with no transaction, inside a transaction, and
#      outside while another shell's transaction is open, as ratios to the first.
#
#   sudo it-tests/bench/txn-bench.sh            (REPS=N for more repetitions; default 11)
#
# Needs root. Store, git repository and sources live on one tmpfs. Prints markdown tables; copy
# them to docs/BENCHMARKS.md with the date and this command.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
txfs="$repo/bin/txfs"
reps=${REPS:-11}
command -v git >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null
w=$(mktemp -d /tmp/txfs-txnbench.XXXXXX)
mkdir -p "$w/t" "$w/mnt"
mount -t tmpfs -o size=8g tmpfs "$w/t"
t=$w/t
cleanup() {
  set +e
  "$txfs" umount "$w/mnt" 2>/dev/null || umount -l "$w/mnt" 2>/dev/null
  pkill -f "mount --foreground $w/mnt" 2>/dev/null
  umount -l "$t" 2>/dev/null
  rm -rf "$w"
}
trap cleanup EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost

# make-tree DIR N: N files of ~100 bytes, 100 per directory.
make_tree() {
  python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // 100))
    if i % 100 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%02d" % (i % 100)), "w") as f: f.write("file %d\n" % i + "x" * 90)
PY
}

# The change of one repetition: modify C files spread over the tree (and add files beyond N).
cat > "$t/change.py" <<'PY'
import os, sys
root, n, c, rep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
step = max(1, n // c)
for k in range(c):
    i = (k * step) % n if k < n else n + k
    d = os.path.join(root, "d%04d" % (i // 100)); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%02d" % (i % 100)), "w") as f: f.write("rep %s\n" % rep)
PY

median() { python3 -c 'import sys, statistics; v=[float(x) for x in sys.stdin.read().split()]; print("%.1f" % statistics.median(v) if v else "-")'; }

declare -A R
for n in 1000 100000; do
  rm -rf "$t/src" "$t/store" "$t/git"
  make_tree "$t/src" "$n"
  "$txfs" --store "$t/store" init >/dev/null
  "$txfs" --store "$t/store" snapshot --from-dir "$t/src" -m "tree of $n" >/dev/null
  "$txfs" --store "$t/store" mount --snapshot HEAD "$w/mnt" >/dev/null
  cp -a "$t/src" "$t/git"
  (cd "$t/git" && git init -q && git add -A && git commit -qm base)
  for c in 1 100 10000; do
    r=$reps; [ "$c" -ge 10000 ] && r=$(( (reps + 1) / 2 ))
    # All repetitions in one shell, as a user would type them; warm-up round first, not counted.
    (cd "$w/mnt" && for i in $(seq 0 "$r"); do
      s=$(date +%s%N); "$txfs" begin >/dev/null; e=$(date +%s%N)
      [ "$i" -gt 0 ] && echo "begin $(( (e - s) / 1000 ))"
      python3 "$t/change.py" "$w/mnt" "$n" "$c" "$c-$i"
      s=$(date +%s%N); j=$("$txfs" commit --json); e=$(date +%s%N)
      [ "$i" -gt 0 ] && echo "commit $(( (e - s) / 1000 ))" && echo "inside $(echo "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["elapsed_us"] / 1000)')"
    done) > "$t/times"
    (cd "$t/git" && for i in $(seq 0 "$r"); do
      python3 "$t/change.py" "$t/git" "$n" "$c" "$c-$i"
      s=$(date +%s%N); git add -A && git commit -qm "rep $i"; e=$(date +%s%N)
      [ "$i" -gt 0 ] && echo "git $(( (e - s) / 1000 ))"
    done) >> "$t/times"
    for k in begin commit git; do R[$n,$c,$k]=$(awk -v k=$k '$1 == k {print $2 / 1000}' "$t/times" | median); done
    R[$n,$c,inside]=$(awk '$1 == "inside" {print $2}' "$t/times" | median)
  done
  "$txfs" umount "$w/mnt" >/dev/null
done

# Throughput: a data workload (write 512 MiB of random data + fsync, read it back after dropping
# caches) and a metadata workload (create, stat, delete 10,000 small files), in a fresh mount.
rm -rf "$t/store" "$t/src" "$t/git"
head -c 512M /dev/urandom > "$t/rand"
"$txfs" --store "$t/store" init >/dev/null
"$txfs" --store "$t/store" mount "$w/mnt" >/dev/null
mkdir -p "$w/mnt/held"
for i in $(seq 100); do echo "$i" > "$w/mnt/held/f$i"; done
cat > "$t/workload.sh" <<'SH'
# workload.sh DIR RAND: prints write MiB/s, read MiB/s, creates/s, stats/s, deletes/s
set -eu
d=$1; rand=$2
mkdir -p "$d"
s=$(date +%s%N); dd if="$rand" of="$d/big" bs=1M conv=fsync status=none; e=$(date +%s%N)
wr=$(( 512 * 1000000000 / (e - s) ))
sync; echo 3 > /proc/sys/vm/drop_caches
s=$(date +%s%N); dd if="$d/big" of=/dev/null bs=1M status=none; e=$(date +%s%N)
rd=$(( 512 * 1000000000 / (e - s) ))
rm -f "$d/big"
meta=$(python3 - "$d" <<'PY'
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
)
echo "$wr $rd $meta"
SH
warm() { bash "$t/workload.sh" "$w/mnt/warm" "$t/rand" >/dev/null; rm -rf "$w/mnt/warm"; }
warm
read -r R[none,write] R[none,read] R[none,create] R[none,stat] R[none,delete] < <(bash "$t/workload.sh" "$w/mnt/none" "$t/rand")
read -r R[inside,write] R[inside,read] R[inside,create] R[inside,stat] R[inside,delete] < <(
  cd "$w/mnt" && "$txfs" begin >/dev/null && bash "$t/workload.sh" "$w/mnt/inside" "$t/rand" && "$txfs" abort >/dev/null)
# Another shell's transaction stays open (it changed the 100 files under held/) while this runs outside.
( cd "$w/mnt" && "$txfs" begin >/dev/null && for i in $(seq 100); do echo "txn $i" > "held/f$i"; done \
    && touch "$t/open" && while [ ! -e "$t/done" ]; do sleep 0.1; done && "$txfs" abort >/dev/null ) &
holder=$!
while [ ! -e "$t/open" ]; do sleep 0.1; done
read -r R[outside,write] R[outside,read] R[outside,create] R[outside,stat] R[outside,delete] < <(bash "$t/workload.sh" "$w/mnt/outside" "$t/rand")
touch "$t/done"; wait "$holder"

ratio() { echo "scale=2; $1 / $2" | bc; }
echo "date: $(date -u +%Y-%m-%d), 2 cores, store and git repository on tmpfs, medians of $reps repetitions ($(( (reps + 1) / 2 )) for 10,000 changes)"
echo
echo "| tree files | changed | commit inside the daemon (ms) | \`txfs begin\` wall (ms) | \`txfs commit\` wall (ms) | \`git add -A && git commit\` wall (ms) |"
echo "|---|---|---|---|---|---|"
for n in 1000 100000; do for c in 1 100 10000; do
  echo "| $n | $c | ${R[$n,$c,inside]} | ${R[$n,$c,begin]} | ${R[$n,$c,commit]} | ${R[$n,$c,git]} |"
done; done
echo
echo "| workload | no transaction | inside a transaction | outside, another open | inside / none | outside / none |"
echo "|---|---|---|---|---|---|"
for k in write read create stat delete; do
  label=$(case $k in write) echo "write 512 MiB + fsync (MiB/s)";; read) echo "read it, cold (MiB/s)";;
    create) echo "create 10k files (/s)";; stat) echo "stat them (/s)";; delete) echo "delete them (/s)";; esac)
  echo "| $label | ${R[none,$k]} | ${R[inside,$k]} | ${R[outside,$k]} | $(ratio "${R[inside,$k]}" "${R[none,$k]}") | $(ratio "${R[outside,$k]}" "${R[none,$k]}") |"
done
