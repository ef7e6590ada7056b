# shellcheck shell=bash
# Shared by the wire scripts (wire-table.sh, wire-cpu.sh; sourced, not
# run): the build and tools they need, tests/integration/netns_lib.sh with
# a skip() that fails (a benchmark says why it cannot run instead of
# skipping), and the path MTU srxe picks for a link MTU.
#
# The sourcing script sets src (the source tree) and WIRE_TAG (its name,
# for messages).  Sets SRXE_BUILD (default <source>/build, built with
# tests/bootstrap.sh when srxe or udp_raw_bw is missing) and udp_bw.
# shellcheck disable=SC2154

export SRXE_BUILD=${SRXE_BUILD:-$src/build}
udp_bw=$SRXE_BUILD/perftest/udp_raw_bw
if [[ ! -x $SRXE_BUILD/kernel-shim/cli/srxe || ! -x $udp_bw ]]; then
	"$src/tests/bootstrap.sh" "$SRXE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
command -v ib_write_bw >/dev/null || {
	echo "$WIRE_TAG: perftest is not installed (tests/bootstrap.sh)" >&2
	exit 1
}
# shellcheck source=../tests/integration/netns_lib.sh
source "$src/tests/integration/netns_lib.sh"
skip() {
	echo "$WIRE_TAG: cannot run: $*" >&2
	exit 1
}
require_prerequisites

# pmtu_of MTU: the IB path MTU srxe picks for a link MTU (netdev - 80,
# rounded down to 256 << k, capped at 4096).
pmtu_of() {
	local m=4096
	while ((m > 256 && m > $1 - 80)); do
		m=$((m / 2))
	done
	echo "$m"
}
