#!/usr/bin/env bash
# Benchmark: `txfs snapshot --from-dir` / `txfs checkout` against git and ostree on the same
# ~30,000-file tree, in one run (the machines are shared and noisy: compare within a run).
#
#   sudo it-tests/bench/snapshot-vs-git-ostree.sh [WORKDIR]
#
# Needs root (ostree bare mode keeps owners), git and ostree (installed via apt-get if missing).
# Prints a table; figures go to docs/BENCHMARKS.md by hand, with the date and this command.
# Page cache is warm for every tool (the tree is read once before the first timing).
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
work=${1:-$(mktemp -d /var/tmp/txfs-bench.XXXXXX)}
txfs="$repo/bin/txfs"
command -v ostree >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ostree >/dev/null
command -v git >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

src="$work/src"
mkdir -p "$src"
# A fixed recipe of system directories: ~30k entries, ~1.3 GB on Debian 12.
for d in /usr/lib/jvm /usr/lib/x86_64-linux-gnu /usr/share/doc /usr/include /usr/lib/python3 /usr/share/locale /usr/share/perl; do
  [ -d "$d" ] && mkdir -p "$src$(dirname "$d")" && cp -a "$d" "$src$(dirname "$d")/"
done
entries=$(find "$src" | wc -l)
bytes=$(du -sb "$src" | cut -f1)
tar -cf /dev/null "$src"    # warm the page cache for everyone

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
mapfile -t ten < <(find "$src" -type f -name '*.h' | sort | head -10)   # the 10 files each run changes
touch10() { for f in "${ten[@]}"; do echo "// bench $1" >> "$f"; done; }

"$txfs" --version >/dev/null     # build and warm the CDS archive outside the timing
export TXFS_STORE="$work/txfs-store"
"$txfs" init >/dev/null
txfs1=$(t "$txfs" snapshot --from-dir "$src" -m first)
touch10 a
txfs2=$(t "$txfs" snapshot --from-dir "$src" -m second)
txfsco=$(t "$txfs" checkout HEAD "$work/txfs-out")
txfssize=$(du -s -B1 "$TXFS_STORE" | cut -f1)

git_dir="$work/git"
git --git-dir="$git_dir" --work-tree="$src" -c init.defaultBranch=main init -q
git1=$(t sh -c "git --git-dir='$git_dir' --work-tree='$src' add -A && git --git-dir='$git_dir' --work-tree='$src' -c user.name=b -c user.email=b@b commit -qm first")
touch10 b
git2=$(t sh -c "git --git-dir='$git_dir' --work-tree='$src' add -A && git --git-dir='$git_dir' --work-tree='$src' -c user.name=b -c user.email=b@b commit -qm second")
mkdir -p "$work/git-out"
gitco=$(t git --git-dir="$git_dir" --work-tree="$work/git-out" checkout -f HEAD -- .)
gitsize=$(du -s -B1 "$git_dir" | cut -f1)

ostree --repo="$work/ostree" init --mode=bare
os1=$(t ostree --repo="$work/ostree" commit -b main --tree=dir="$src" -s first)
touch10 c
os2=$(t ostree --repo="$work/ostree" commit -b main --tree=dir="$src" -s second)
osco=$(t ostree --repo="$work/ostree" checkout --force-copy main "$work/ostree-out")
ossize=$(du -s -B1 "$work/ostree" | cut -f1)

mib() { echo "scale=0; $1 / 1048576" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
printf 'tree: %s entries, %s MiB (%s)\n\n' "$entries" "$(mib "$bytes")" "$(date -u +%Y-%m-%d)"
printf '| step | txfs | git | ostree | txfs/ostree |\n|---|---|---|---|---|\n'
printf '| first snapshot (s) | %.2f | %.2f | %.2f | %s |\n' "$txfs1" "$git1" "$os1" "$(ratio "$txfs1" "$os1")"
printf '| second, 10 files changed (s) | %.2f | %.2f | %.2f | %s |\n' "$txfs2" "$git2" "$os2" "$(ratio "$txfs2" "$os2")"
printf '| checkout (s) | %.2f | %.2f | %.2f | %s |\n' "$txfsco" "$gitco" "$osco" "$(ratio "$txfsco" "$osco")"
printf '| store after both (MiB) | %s | %s | %s | %s |\n' "$(mib "$txfssize")" "$(mib "$gitsize")" "$(mib "$ossize")" "$(ratio "$txfssize" "$ossize")"
