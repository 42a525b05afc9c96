#!/usr/bin/env bash
# build-boot-runtime.sh OUT: a self-contained Java runtime for the initramfs, made with jlink from
# the JDK on this machine, holding only the modules txfs.jar needs (asked of jdeps, so it follows
# the code), with a CDS archive of the JDK's classes. `txfs boot install` expects it at
# /usr/lib/txfs/runtime; the initramfs hooks copy it with the shared libraries it links against.
#
#   scripts/build-boot-runtime.sh /usr/lib/txfs/runtime        # prints the modules and its size
#
# Then check it: OUT/bin/java -jar mount-tool/target/txfs.jar --version
set -euo pipefail

out="${1:?usage: scripts/build-boot-runtime.sh OUT}"
repo="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="$repo/mount-tool/target/txfs.jar"
[ -f "$jar" ] || { echo "build-boot-runtime: no $jar: build first (mvn -o install -DskipTests)" >&2; exit 1; }
command -v jlink >/dev/null && command -v jdeps >/dev/null \
    || { echo "build-boot-runtime: needs a JDK 17 with jlink and jdeps" >&2; exit 1; }

mods="$(jdeps --ignore-missing-deps --multi-release 17 --print-module-deps "$jar")"
# jdeps sees no use of these through reflection or service loading; the daemon needs them:
# the charsets of non-UTF-8 locales (jdk.charsets).
mods="$mods,jdk.charsets"
tmp="$out.tmp.$$"
rm -rf "$tmp"
jlink --add-modules "$mods" --output "$tmp" \
    --strip-debug --no-header-files --no-man-pages --compress=2 \
    --generate-cds-archive
# The archive for heaps over 32 GiB (no compressed oops) is of no use in an initramfs: 11 MB less.
rm -f "$tmp/lib/server/classes_nocoops.jsa"
# "@txfs", a link to java: started through PATH under that name, the daemon's argv[0] begins with
# '@', which tells systemd to leave it running at shutdown (a root-storage daemon; see the launcher).
ln -s java "$tmp/bin/@txfs"
rm -rf "$out"
mv "$tmp" "$out"
"$out/bin/java" -Xshare:auto -cp "$jar" dev.txfs.tool.Main --version >/dev/null \
    || { echo "build-boot-runtime: the runtime does not run txfs" >&2; exit 1; }
echo "modules: $mods"
echo "size: $(du -sh "$out" | cut -f1) ($(du -sb "$out" | cut -f1) bytes) in $out"
