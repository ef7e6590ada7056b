#!/usr/bin/env bash
# The carry of perftest/device-tables.sh for the device host
# (../shared/device/README.md): runs ../shared/device/make-carry.sh on
# BUILD, then keeps of the built tree only what the tables run
# (kernel-shim, providers, perftest) and the CMakeCache.txt whose build
# type they print.  make-carry takes every executable below BUILD, and a
# tree the test suite ran in also holds the kernel guest (rxe-vm-cache,
# ~50 MB), the Debian package and the test programs: over the 64 MiB a
# run may carry.  Fails when the carry is still larger than 60 MiB.
#
# Usage (project root): perftest/device-carry.sh [BUILD]   (default: build)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
carry=$src/.devcarry
make_carry=$src/../shared/device/make-carry.sh
[[ -x $make_carry ]] || {
	echo "device-carry: no $make_carry" >&2
	exit 1
}
(cd "$src" && "$make_carry" "$build" >/dev/null)
find "$carry/build" -mindepth 1 -maxdepth 1 ! -name kernel-shim \
	! -name providers ! -name perftest -exec rm -rf {} +
cp "$build/CMakeCache.txt" "$carry/build/"
size=$(du -sm "$carry" | cut -f1)
echo "$carry: $size MiB"
((size <= 60)) || {
	echo "device-carry: $carry is $size MiB; a run carries at most 64 MiB" >&2
	exit 1
}
