#!/usr/bin/env bash
# One run, one table: rdmacm-utils' rstream over srxe's stream rsockets
# beside the same rstream on kernel TCP over loopback (-T s), in the same
# run, alternating: rstream's default tests (latency: one message each way
# per iteration; bandwidth: a burst each way), 64 B, 4 KiB, 64 KiB, 1 MiB,
# non-blocking calls (rstream's default).  Each cell is the median of
# ROUNDS runs.  Nothing is asserted.
#
# Usage: perftest/rsocket-table.sh          (root: brings up a device)
# Environment: SRXE_BUILD  build directory (default <source>/build)
#              ROUNDS      runs of each side (default 3)
# Units: rstream's Gb/sec (10^9 bit/s, both directions' bytes) and
# usec/xfer (its time per transfer, half a round trip for the _lat rows).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-3}
TOOL_TIMEOUT=300
PAIR_TAG=rsocket-table
# shellcheck source=pair_lib.sh
source "$src/perftest/pair_lib.sh"
pair_prereqs
command -v rstream >/dev/null || {
	echo "$PAIR_TAG: rstream is not installed (rdmacm-utils)" >&2
	exit 1
}
pair_root srxe-rsocket
dev=srxers$$
"$srxe" up --name "$dev" >/dev/null
devices+=("$dev")

# run_rstream MODE OUT: one server/client pair (MODE rs: rsockets under
# srxe exec; tcp: kernel sockets), the client's rows appended to OUT.
run_rstream() {
	local mode=$1 out=$2 opt=() srv=$root/server.log cli=$root/client.log
	port=$((port + 1))
	[[ $mode == tcp ]] && opt=(-T s)
	"$srxe" exec -- timeout "$TOOL_TIMEOUT" rstream "${opt[@]}" \
		-p "$port" >"$srv" 2>&1 &
	server_pid=$!
	for _ in $(seq 50); do
		sleep 0.2
		if "$srxe" exec -- timeout "$TOOL_TIMEOUT" rstream "${opt[@]}" \
			-p "$port" -s 127.0.0.1 >"$cli" 2>&1; then
			break
		fi
		grep -q "refused" "$cli" || break
	done
	wait "$server_pid" || {
		echo "$PAIR_TAG: rstream server ($mode) failed: $(cat "$srv")" >&2
		exit 1
	}
	server_pid=
	grep -E "^[0-9]+[kmg]?_(lat|bw) " "$cli" >>"$out" || {
		echo "$PAIR_TAG: rstream client ($mode) printed no result: $(cat "$cli")" >&2
		exit 1
	}
}

load_before=$(uptime)
for r in $(seq "$ROUNDS"); do
	run_rstream rs "$root/rs.rows"
	run_rstream tcp "$root/tcp.rows"
	echo "  round $r of $ROUNDS done" >&2
done
load_after=$(uptime)

# median TEST COLUMN FILE: the median of a column over the rounds.
median() {
	awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$3" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

echo "srxe rsocket table — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "rstream $(dpkg-query -W -f '${Version}' rdmacm-utils 2>/dev/null), srxe $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "load before: ${load_before##*average: }"
echo "load after:  ${load_after##*average: }"
echo "rsocket: rstream under srxe exec on $dev (lo); tcp: rstream -T s, kernel TCP over lo; medians of $ROUNDS runs"
echo
echo "| test | rsocket Gb/s | tcp Gb/s | rsocket / tcp | rsocket us/xfer | tcp us/xfer |"
echo "|---|---:|---:|---:|---:|---:|"
for t in $(awk '{ print $1 }' "$root/rs.rows" | awk '!seen[$0]++'); do
	rg=$(median "$t" 7 "$root/rs.rows")
	tg=$(median "$t" 7 "$root/tcp.rows")
	ru=$(median "$t" 8 "$root/rs.rows")
	tu=$(median "$t" 8 "$root/tcp.rows")
	ratio=$(awk -v a="$rg" -v b="$tg" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	echo "| $t | $rg | $tg | $ratio | $ru | $tu |"
done
