#!/usr/bin/env bash
# Benchmark: the overhead of `txfs run` for a small build. A generated C project of 50 files
# (~40 lines each, one header, a Makefile) is built from clean with `make -j2`, REPS times each,
# in five places measured in the same run (the machines are shared and noisy: compare within a
# run, never across runs):
#   tmpfs        the sources on a tmpfs, no FUSE (the floor);
#   bindfs       the same directory through bindfs (a FUSE peer that adds nothing);
#   txfs         on a txfs mount of a store on the same tmpfs, no transaction;
#   txfs run     `txfs run --discard -- make` on that mount (JVM start, begin, isolated view, finish);
#   isolated     on `txfs mount --isolated` of the same snapshot.
# Prints a markdown table of medians (wall seconds) and ratios to tmpfs and to bindfs.
#
#   sudo it-tests/bench/run-bench.sh            (REPS=N for more repetitions; default 7)
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
txfs="$repo/bin/txfs"
reps=${REPS:-7}
need=()
command -v bindfs >/dev/null || need+=(bindfs)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v make >/dev/null || need+=(make)
[ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
w=$(mktemp -d /tmp/txfs-runbench.XXXXXX)
mkdir -p "$w/t" "$w/mnt" "$w/iso" "$w/bind"
mount -t tmpfs -o size=4g tmpfs "$w/t"
t=$w/t
cleanup() {
  set +e
  "$txfs" umount "$w/iso" 2>/dev/null || umount -l "$w/iso" 2>/dev/null
  "$txfs" umount "$w/mnt" 2>/dev/null || umount -l "$w/mnt" 2>/dev/null
  pkill -f "mount --foreground $w/" 2>/dev/null
  fusermount3 -u "$w/bind" 2>/dev/null || umount -l "$w/bind" 2>/dev/null
  umount -l "$t" 2>/dev/null
  rm -rf "$w"
}
trap cleanup EXIT

# The project: 50 modules, each a few functions over a shared header.
mkdir -p "$t/src/proj"
python3 - "$t/src/proj" <<'PY'
import os, sys
d = sys.argv[1]
with open(os.path.join(d, "common.h"), "w") as h:
    h.write("#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n")
    for i in range(50):
        h.write("int mod%d(int x);\n" % i)
for i in range(50):
    with open(os.path.join(d, "mod%d.c" % i), "w") as f:
        f.write('#include "common.h"\n')
        for k in range(6):
            f.write("static int h%d_%d(int x) {\n  int s = 0;\n  for (int j = 0; j < x; j++) s += (j * %d) ^ (s >> 3);\n"
                    "  return s + %d;\n}\n" % (i, k, k + 1, i))
        f.write("int mod%d(int x) {\n  char buf[64];\n  snprintf(buf, sizeof buf, \"%%d\", x);\n"
                "  return (int) strlen(buf) + %s;\n}\n" % (i, " + ".join("h%d_%d(x)" % (i, k) for k in range(6))))
with open(os.path.join(d, "main.c"), "w") as f:
    f.write('#include "common.h"\nint main(void) {\n  long s = 0;\n')
    for i in range(50):
        f.write("  s += mod%d(%d);\n" % (i, i))
    f.write('  printf("%ld\\n", s);\n  return 0;\n}\n')
with open(os.path.join(d, "Makefile"), "w") as f:
    f.write("OBJ = $(patsubst %.c,out/%.o,$(wildcard *.c))\nout/prog: $(OBJ)\n\t$(CC) -o $@ $(OBJ)\n"
            "out/%.o: %.c common.h\n\t@mkdir -p out\n\t$(CC) -O1 -c -o $@ $<\n")
PY

median() { python3 -c 'import sys, statistics; v=[float(x) for x in sys.stdin.read().split()]; print("%.3f" % statistics.median(v))'; }
# build DIR [PREFIX...]: one clean build in DIR/proj, wall seconds on stdout.
build() {
  local dir=$1; shift
  rm -rf "$dir/proj/out"
  local s e
  s=$(date +%s%N)
  (cd "$dir/proj" && "$@" make -s -j2 >/dev/null 2>>"$w/build.err") || { cat "$w/build.err" >&2; exit 1; }
  e=$(date +%s%N)
  echo "scale=3; ($e - $s) / 1000000000" | bc
}
command -v bc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null

"$txfs" --store "$t/store" init >/dev/null
"$txfs" --store "$t/store" snapshot --from-dir "$t/src" -m "project" >/dev/null
"$txfs" --store "$t/store" mount --snapshot HEAD "$w/mnt" >/dev/null
"$txfs" --store "$t/store" mount --isolated --base HEAD "$w/iso" >/dev/null
bindfs "$t/src" "$w/bind"

declare -A R
for rep in $(seq 0 "$reps"); do # round 0 warms caches and is not counted
  for place in tmpfs bindfs txfs run isolated; do
    case $place in
      tmpfs) v=$(build "$t/src") ;;
      bindfs) v=$(build "$w/bind") ;;
      txfs) v=$(build "$w/mnt") ;;
      run) v=$(build "$w/mnt" "$txfs" run --discard --) ;;
      isolated) v=$(build "$w/iso") ;;
    esac
    [ "$rep" -gt 0 ] && R[$place]="${R[$place]:-} $v"
  done
done

echo "| where | median wall (s) | / tmpfs | / bindfs |"
echo "| --- | --- | --- | --- |"
base=$(echo "${R[tmpfs]}" | median)
bind=$(echo "${R[bindfs]}" | median)
for place in tmpfs bindfs txfs run isolated; do
  m=$(echo "${R[$place]}" | median)
  printf '| %s | %s | %.2f | %.2f |\n' "$place" "$m" "$(echo "$m / $base" | bc -l)" "$(echo "$m / $bind" | bc -l)"
done
echo
echo "($reps repetitions of a clean make -j2 of 51 C files; $(nproc) cores; $(date -u +%Y-%m-%d))"
