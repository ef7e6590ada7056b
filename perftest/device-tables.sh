#!/usr/bin/env bash
# Issue #14's tables in one prepared run on a many-core host (the device
# host of ../shared/device/README.md, where a session is lent one for a
# few minutes): perftest-table.sh on every CPU and on CPUs 0-3,
# scaling-table.sh with 1, 2, 4, 8 pairs, wire-table.sh with one round.
# Each table goes to its own file in OUTDIR, with its exit status and
# run time in OUTDIR/summary.txt; a table that fails or runs out of time
# does not stop the others.  About 5 minutes on 16 cores.
#
# Usage (project root; .devcarry/ from perftest/device-carry.sh
# where the host has nothing installed):
#   perftest/device-tables.sh OUTDIR
# Environment: TABLES  which of "lat16 lat4 scaling wire" (default all)
#              QUICK=1 shorter cells (a check of the script itself)
set -uo pipefail
out=${1:?usage: perftest/device-tables.sh OUTDIR}
src=$(cd "$(dirname "$0")/.." && pwd)
carry=$src/.devcarry
TABLES=${TABLES:-lat16 lat4 scaling wire}
mkdir -p "$out"
wrap=()
if [[ -d $carry ]]; then
	export LD_LIBRARY_PATH=$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export PATH=$carry/bin:$PATH SRXE_BUILD=$carry/build
	# A kernel whose RDMA netlink answers would hide srxe0 from
	# libibverbs: nordmanl makes those sockets fail (README there).
	wrap=(nordmanl)
fi
if [[ ${QUICK:-0} == 1 ]]; then
	iters=500 secs=2
else
	iters=5000 secs=3
fi

# table NAME SECONDS CMD...: one table into OUTDIR/NAME.txt.
table() {
	local name=$1 limit=$2 start rc
	shift 2
	[[ " $TABLES " == *" $name "* ]] || return 0
	start=$(date +%s)
	"${wrap[@]}" timeout "$limit" "$@" >"$out/$name.txt" 2>&1
	rc=$?
	printf '%-8s rc %-3s %4s s  %s\n' "$name" "$rc" \
		"$(($(date +%s) - start))" "$*" | tee -a "$out/summary.txt"
}

{
	echo "device-tables $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
		"kernel $(uname -r)"
	echo "srxe $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?')," \
		"SRXE_BUILD ${SRXE_BUILD:-$src/build}"
} | tee "$out/summary.txt"
table lat16 300 env BW_ITERS=$iters LAT_ITERS=$iters \
	bash "$src/perftest/perftest-table.sh"
table lat4 240 env BW_ITERS=$iters LAT_ITERS=$iters \
	taskset -c 0-3 bash "$src/perftest/perftest-table.sh"
table scaling 180 env SECONDS_EACH=$secs \
	bash "$src/perftest/scaling-table.sh" 1 2 4 8
table wire 240 env ROUNDS=1 SECONDS_PER_CELL=$secs \
	bash "$src/perftest/wire-table.sh"
