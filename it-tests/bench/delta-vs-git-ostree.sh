#!/usr/bin/env bash
# Benchmark: the size of `txfs export A..B` against git and ostree shipping the same change, in
# one run, for three changes (docs/BENCHMARKS.md, "Deltas against git and ostree"):
#
#   bin   4 bytes overwritten in the middle of a 10 MiB file of random data
#   tree  one 1 MiB random file added to a 30,000-file tree (100 directories of 300 small files)
#   deb   a tree of real Debian 12 packages unpacked with dpkg-deb -x, upgraded from their
#         bookworm version to their bookworm-security version (the packages are in $debs below)
#
#   sudo it-tests/bench/delta-vs-git-ostree.sh [WORKDIR]        (CASES="bin tree" to run fewer)
#
# The main table is `txfs export` at its default level; a second table gives the stream's bytes
# and the export's seconds at each `--level` in $LEVELS (default 0 1 3 6 9; 0 = no compression).
#
# Needs root (ostree keeps owners; apt-get), network for the .deb files, git and ostree
# (installed via apt-get if missing). Prints a table; figures go to docs/BENCHMARKS.md by hand.
#
# What each tool ships (all three record A, then B, from the same directories):
#   txfs    `txfs export A..B -o FILE`: the stream's file size.
#   git     `git bundle create FILE a..b`: a thin pack (objects may be deltas against objects of
#           a) plus the bundle's few header lines; the file size.
#   ostree  `ostree static-delta generate --from=A --to=B` in an archive-mode repo, default options
#           (not --inline; --min-fallback-size 4 MB, --max-bsdiff-size 128 MB, bsdiff on): the
#           superblock and part files, plus the compressed size of the "fallback" objects, which a
#           client fetches one by one next to the delta (`static-delta show`, Total Fallback Size).
# Sizes are exact and do not depend on load. The times (wall clock of the command that writes
# the delta, txfs's including its JVM start of ~0.3 s) are noisy on a shared machine.
# Every txfs delta is also imported into a store holding only A and must give B's tree.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
work=${1:-$(mktemp -d /var/tmp/txfs-delta-bench.XXXXXX)}
cases=${CASES:-bin tree deb}
txfs="$repo/bin/txfs"
debs=(libpython3.11-minimal libpython3.11-stdlib python3.11-minimal perl-base libperl5.36 perl-modules-5.36
  libssl3 openssl libpq5 postgresql-client-15 postgresql-15)
command -v ostree >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ostree >/dev/null
command -v git >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
gitc() { git -c user.name=bench -c user.email=bench@example.org -c core.autocrlf=false "$@"; }
rows=()
level_rows=()
levels=${LEVELS:-0 1 3 6 9}

# compare NAME A B: records directory A then directory B in each tool, writes the delta A..B.
compare() {
  local name=$1 a=$2 b=$3 d="$work/$1" s e
  mkdir -p "$d"
  local entries mib
  entries=$(find "$b" | wc -l)
  mib=$(echo "scale=1; $(du -sb "$b" | cut -f1) / 1048576" | bc)

  export TXFS_STORE="$d/txfs"
  "$txfs" init >/dev/null
  local ta tb
  ta=$("$txfs" snapshot --from-dir "$a" -m A)
  tb=$("$txfs" snapshot --from-dir "$b" -m B)
  s=$(now)
  "$txfs" export "$ta..$tb" -o "$d/delta.txfs" >"$d/txfs.out"
  e=$(now)
  local txfs_bytes txfs_s chunks l lrow="| $name |"
  txfs_bytes=$(stat -c %s "$d/delta.txfs")
  txfs_s=$(secs "$s" "$e")
  chunks=$(sed -n 's/.*, \([0-9]*\) chunks.*/\1/p' "$d/txfs.out")
  for l in $levels; do
    s=$(now)
    "$txfs" export "$ta..$tb" --level "$l" -o "$d/level.txfs" >/dev/null
    e=$(now)
    lrow+=" $(stat -c %s "$d/level.txfs") / $(printf '%.2f' "$(secs "$s" "$e")") |"
  done
  level_rows+=("$lrow")
  # The delta must apply: a store with A only (from a full stream) imports it and has B's tree.
  "$txfs" export "$ta" -o "$d/full-a.txfs" >/dev/null
  TXFS_STORE="$d/txfs2" "$txfs" init >/dev/null
  TXFS_STORE="$d/txfs2" "$txfs" import "$d/full-a.txfs" --ref HEAD >/dev/null
  TXFS_STORE="$d/txfs2" "$txfs" import "$d/delta.txfs" --ref HEAD >/dev/null
  if [ "$(TXFS_STORE="$d/txfs2" "$txfs" show HEAD | grep '^tree ')" != "$("$txfs" show "$tb" | grep '^tree ')" ]; then
    echo "$name: the imported delta does not give B's tree" >&2
    exit 1
  fi
  rm -rf "$d/txfs2" "$d/full-a.txfs"

  local g="$d/git"
  gitc init -q --bare "$g"
  gitc --git-dir="$g" --work-tree="$a" add -A
  gitc --git-dir="$g" --work-tree="$a" commit -qm A
  gitc --git-dir="$g" tag a
  gitc --git-dir="$g" --work-tree="$b" add -A
  gitc --git-dir="$g" --work-tree="$b" commit -qm B
  gitc --git-dir="$g" tag b
  s=$(now)
  gitc --git-dir="$g" bundle create -q "$d/delta.bundle" a..b
  e=$(now)
  local git_bytes git_s
  git_bytes=$(stat -c %s "$d/delta.bundle")
  git_s=$(secs "$s" "$e")

  local o="$d/ostree" oa ob
  ostree --repo="$o" init --mode=archive
  oa=$(ostree --repo="$o" commit -b main --tree=dir="$a" -s A)
  ob=$(ostree --repo="$o" commit -b main --tree=dir="$b" -s B)
  s=$(now)
  ostree --repo="$o" static-delta generate --from="$oa" --to="$ob" >"$d/ostree.log" 2>&1 ||
    { cat "$d/ostree.log" >&2; exit 1; }
  e=$(now)
  local os_delta os_fallback os_bytes os_s
  os_delta=$(find "$o/deltas" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
  os_fallback=$(ostree --repo="$o" static-delta show "$oa-$ob" | sed -n 's/^Total Fallback Size: .*(\([0-9]*\) bytes)/\1/p')
  os_bytes=$((os_delta + os_fallback))
  os_s=$(secs "$s" "$e")

  local best ratio
  best=$((git_bytes < os_bytes ? git_bytes : os_bytes))
  ratio=$(echo "scale=2; $txfs_bytes / $best" | bc)
  rows+=("$(printf '| %s (%s entries, %s MiB) | %s (%s chunks) | %s | %s (fallback %s) | %s | %.2f / %.2f / %.2f |' \
    "$name" "$entries" "$mib" "$txfs_bytes" "$chunks" "$git_bytes" "$os_bytes" "$os_fallback" "$ratio" \
    "$txfs_s" "$git_s" "$os_s")")
  rm -rf "$d"
}

case_bin() {
  mkdir -p "$work/bin/a"
  head -c $((10 << 20)) /dev/urandom >"$work/bin/a/big.bin"
  cp -a "$work/bin/a" "$work/bin/b"
  printf 'ABCD' | dd of="$work/bin/b/big.bin" bs=1 seek=5000000 conv=notrunc status=none
  compare bin-4-bytes "$work/bin/a" "$work/bin/b"
}

case_tree() {
  mkdir -p "$work/tree/a"
  python3 - "$work/tree/a" <<'EOF'
import os, sys
os.chdir(sys.argv[1])
for i in range(100):
    os.mkdir('d%d' % i)
    for j in range(300):
        with open('d%d/f%d' % (i, j), 'w') as f:
            f.write('file %d %d\n' % (i, j))
EOF
  cp -a "$work/tree/a" "$work/tree/b"
  head -c $((1 << 20)) /dev/urandom >"$work/tree/b/d50/added.bin"
  compare tree-1-MiB-added "$work/tree/a" "$work/tree/b"
}

# The version of package $1 in suite $2 (bookworm or bookworm-security), from apt-cache madison.
version_in() {
  apt-cache madison "$1" | awk -F' [|] ' -v s=" $2/main " 'index($3, s) { print $2; exit }'
}

case_deb() {
  local dl="$work/deb/debs" p old new
  mkdir -p "$dl" "$work/deb/a" "$work/deb/b"
  apt-get update -qq
  for p in "${debs[@]}"; do
    old=$(version_in "$p" bookworm)
    new=$(version_in "$p" bookworm-security)
    if [ -z "$old" ] || [ -z "$new" ]; then
      echo "deb: $p has no bookworm and bookworm-security versions (apt-cache madison $p)" >&2
      exit 1
    fi
    echo "deb: $p $old -> $new" >&2
    (cd "$dl" && apt-get download -qq "$p=$old" "$p=$new" 2>/dev/null)
    dpkg-deb -x "$dl/${p}_${old//:/%3a}_amd64.deb" "$work/deb/a" 2>/dev/null ||
      dpkg-deb -x "$dl/${p}_${old//:/%3a}_all.deb" "$work/deb/a"
    dpkg-deb -x "$dl/${p}_${new//:/%3a}_amd64.deb" "$work/deb/b" 2>/dev/null ||
      dpkg-deb -x "$dl/${p}_${new//:/%3a}_all.deb" "$work/deb/b"
  done
  echo "deb: the .deb files, both versions: $(cat "$dl"/*.deb | wc -c) bytes" >&2
  compare deb-upgrade "$work/deb/a" "$work/deb/b"
}

"$txfs" --version >/dev/null     # build and warm the CDS archive outside the timing
for c in $cases; do
  "case_$c"
done
printf '%s, %s\n\n' "$(date -u +%Y-%m-%d)" "$("$txfs" --version | head -1)"
printf '| change | txfs bytes | git bundle bytes | ostree static-delta bytes | txfs / min(git, ostree) | seconds txfs / git / ostree |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
printf '%s\n' "${rows[@]}"
printf '\n| change |'
for l in $levels; do printf ' --level %s bytes / s |' "$l"; done
printf '\n|---|'
for l in $levels; do printf -- '---|'; done
printf '\n'
printf '%s\n' "${level_rows[@]}"
