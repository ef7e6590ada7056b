#!/usr/bin/env bash
# The main job: install what is missing, build, bring up srxe0 and run a
# standard verbs workload on it with the unmodified Debian tools.
# Usage: perftest/demo.sh [srxe up options...]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
"$src/tests/bootstrap.sh" "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
srxe="$src/build/kernel-shim/cli/srxe"

"$srxe" up "$@"
eval "$("$srxe" env)"
echo "+ ibv_devices"
ibv_devices
echo "+ ibv_devinfo -v -d srxe0"
ibv_devinfo -v -d srxe0
"$srxe" status
echo "srxe0 stays up; stop it with: $srxe down"
