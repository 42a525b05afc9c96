#!/usr/bin/env bash
# Installs what building and testing txfs needs, on Debian/Ubuntu, only where it is missing.
# Sourced or run by scripts/demo.sh and scripts/test.sh. Needs root (or sudo) to install.
set -euo pipefail

need=()
command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || need+=(openjdk-17-jdk-headless)
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
command -v getfattr >/dev/null 2>&1 || need+=(attr)
command -v setfacl >/dev/null 2>&1 || need+=(acl)
# the privilege tests of snapshot views set file capabilities
command -v setcap >/dev/null 2>&1 || need+=(libcap2-bin)
command -v git >/dev/null 2>&1 || need+=(git)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v diff >/dev/null 2>&1 || need+=(diffutils)
# txfs run's reproducible-build test compiles a small C project
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
[ -e /usr/include/stdio.h ] || need+=(libc6-dev)
command -v stress-ng >/dev/null 2>&1 || need+=(stress-ng)
command -v tar >/dev/null 2>&1 || need+=(tar)
command -v strace >/dev/null 2>&1 || need+=(strace)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "txfs: need root to install: ${need[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  echo "installing: ${need[*]}" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
