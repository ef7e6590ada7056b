#!/usr/bin/env bash
# Install what srxe needs from Debian (only what is missing) and build it.
# Usage: tests/bootstrap.sh BUILD_DIR [extra cmake args...]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?build dir}
shift

packages=(build-essential cmake pkg-config libibverbs-dev ibverbs-utils
	ibverbs-providers rdma-core perftest python3-pyverbs libcriterion-dev
	iproute2 util-linux procps psmisc
	tshark tcpdump ethtool # the wire tests (issue #5)
	ucx-utils openmpi-bin libopenmpi-dev mpich libmpich-dev bc # issue #10
	libfabric-bin libfabric1 # fi_pingpong over IPv6 GID 0 (issue #10)
	librdmacm-dev rdmacm-utils qperf) # rdma_cm (issue #11)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "srxe: missing packages: ${missing[*]} (run as root to install)" >&2
		exit 1
	fi
	echo "srxe: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark's wireshark-common asks whether non-root may capture: no.
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		debconf-set-selections
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S "$src" -B "$build" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
