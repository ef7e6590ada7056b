#!/usr/bin/env bash
# Install what srxe needs from Debian (only what is missing) and build it.
# Usage: tests/bootstrap.sh BUILD_DIR [extra cmake args...]
#
# Also prepares the kernel rdma_rxe guest that test_rxe_interop runs
# against (docs/interop.md): ../shared/rxe-vm/build.sh into
# ${RXE_VM_CACHE:-BUILD_DIR/rxe-vm-cache}, where the test looks for it,
# when that has no guest yet or was built by other rxe-vm scripts, and
# installs the host packages it needs (qemu-system-x86, cpio, binutils).
# Env: SRXE_RXE_VM (the rxe-vm scripts, default ../shared/rxe-vm beside
# the source tree; the guest is left out when they are not there),
# SRXE_RXE_VM_PREPARE=0 (leave the guest out: a build whose tests do not
# run test_rxe_interop).
# Also reserves 2 MiB huge pages for the huge-page tests (SRXE_HUGEPAGES,
# default 64; see below).
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
	librdmacm-dev rdmacm-utils qperf libucx-dev # rdma_cm (issue #11)
	infiniband-diags # ibstat reads /sys/class under `srxe exec` (issue #13)
	git python3-yaml # test_ci_doc: a fresh clone, the doc's CI YAML (issue #13)
	python3-fusepy) # test_odp_stall: a FUSE file whose reads wait (docs/odp.md)
missing=()
vmdir=${SRXE_RXE_VM:-$(cd "$src/.." && pwd)/shared/rxe-vm}
vmcache=${RXE_VM_CACHE:-$build/rxe-vm-cache}
want_vm=0
if [[ ${SRXE_RXE_VM_PREPARE:-1} != 0 && -x $vmdir/build.sh ]]; then
	want_vm=1
	# ../shared/rxe-vm/README.md "Host requirements" (tcpdump, tshark and
	# bc are in the list already).
	packages+=(qemu-system-x86 cpio binutils)
fi
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

# kinds (issue #12): 2 MiB huge pages for the hugetlbfs cases of
# test_mem_kinds (which also reserves what it needs itself, and gives them
# back) and for rdma-core's huge-page tests in test_pyverbs: raise the pool
# to SRXE_HUGEPAGES (default 64 = 128 MiB) when it is smaller.  Needs root;
# SRXE_HUGEPAGES=0 leaves the host as it is.  A pool the kernel cannot fill
# (fragmented memory) is reported, not fatal: those cases then skip.
hp_want=${SRXE_HUGEPAGES:-64}
hp_pool=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if ((hp_want > 0)) && [[ -f $hp_pool ]] && (($(<"$hp_pool") < hp_want)); then
	if [[ -w $hp_pool ]] && echo "$hp_want" >"$hp_pool" 2>/dev/null; then
		echo "srxe: $(<"$hp_pool") huge pages of 2 MiB reserved (asked $hp_want)"
	else
		echo "srxe: cannot reserve $hp_want huge pages of 2 MiB (not root?): the huge-page tests will skip" >&2
	fi
fi

cmake -S "$src" -B "$build" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"

# The guest: rebuilt when the rxe-vm scripts that make it changed (the
# stamp is their checksum), otherwise left as it is (a few seconds to
# rebuild, but ~80 MB of packages to fetch again).
if ((want_vm)); then
	stamp=$(cat "$vmdir/build.sh" "$vmdir/init" | md5sum | cut -d' ' -f1)
	if [[ ! -s $vmcache/vmlinuz || ! -s $vmcache/initramfs.cpio.gz ||
		$(cat "$vmcache/.srxe-stamp" 2>/dev/null) != "$stamp" ]]; then
		echo "srxe: preparing the rxe-vm guest in $vmcache"
		mkdir -p "$vmcache"
		vmcache=$(cd "$vmcache" && pwd) # build.sh changes directory
		start=$SECONDS
		# build.sh asks apt-cache for the kernel package: package
		# lists are needed even when nothing was installed above.
		apt-cache show linux-image-amd64 >/dev/null 2>&1 ||
			apt-get update -q >/dev/null
		RXE_VM_CACHE=$vmcache "$vmdir/build.sh" >"$vmcache/build.log" 2>&1 ||
			{
				tail -n 20 "$vmcache/build.log" >&2
				echo "srxe: $vmdir/build.sh failed (log: $vmcache/build.log)" >&2
				exit 1
			}
		echo "$stamp" >"$vmcache/.srxe-stamp"
		echo "srxe: rxe-vm guest ready ($((SECONDS - start)) s, $(cat "$vmcache/kver"))"
	fi
fi
