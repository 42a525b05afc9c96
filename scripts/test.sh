#!/usr/bin/env bash
# The whole test suite: unit tests of every module, then the integration tests in it-tests/
# (real txfs commands and real tools; FUSE mounts need root and /dev/fuse).
# Usage: scripts/test.sh [extra maven args]
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$repo"
bash scripts/ensure-deps.sh
mvn -B -ntp verify -Dtxfs.it.skip=false "$@"
