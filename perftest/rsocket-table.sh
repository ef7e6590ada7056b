#!/usr/bin/env bash
# One run, one table: rdmacm-utils' rstream over srxe's stream rsockets
# beside the same rstream on kernel TCP over loopback (-T s), in the same
# run, alternating: rstream's default tests (latency: one message each way
# per iteration; bandwidth: a burst each way), 64 B, 4 KiB, 64 KiB, 1 MiB,
# non-blocking calls (rstream's default).  Then datagrams: udpong's echo
# test (-T e, 2000 echoes) over srxe's datagram rsockets beside udpong on
# kernel UDP (-T s), 64 B and 1 KiB (UD) and 2056 B (over one UD packet:
# srxe sends it over UDP).  Each cell is the median of ROUNDS runs.
# Nothing is asserted.
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
command -v rstream >/dev/null && command -v udpong >/dev/null || {
	echo "$PAIR_TAG: rstream or udpong is not installed (rdmacm-utils)" >&2
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

# run_udpong MODE SIZE OUT: one udpong echo run (MODE rs or udp), its row
# appended to OUT as SIZE_echo.  udpong's client stalls for good when an
# echo comes after its 1 ms resend (docs/rdmacm.md): such a run is tried
# again, up to 3 times, and counted in stalls.
stalls=0
run_udpong() {
	local mode=$1 size=$2 out=$3 opt=() try
	[[ $mode == udp ]] && opt=(-T s)
	for try in 1 2 3; do
		port=$((port + 1))
		"$srxe" exec -- timeout "$TOOL_TIMEOUT" udpong "${opt[@]}" \
			-b 127.0.0.1 -p "$port" >"$root/server.log" 2>&1 &
		server_pid=$!
		for _ in $(seq 50); do
			grep -q ":$(printf '%04X' "$port") " /proc/net/udp && break
			sleep 0.1
		done
		if "$srxe" exec -- timeout 30 udpong "${opt[@]}" -s 127.0.0.1 \
			-b 127.0.0.1 -p "$port" -T e -C 2000 -S "$size" \
			>"$root/client.log" 2>&1; then
			kill "$server_pid" 2>/dev/null || true
			wait "$server_pid" 2>/dev/null || true
			server_pid=
			sed -n "s/^custom /${size}_echo /p" "$root/client.log" >>"$out"
			return
		fi
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
		stalls=$((stalls + 1))
	done
	echo "$PAIR_TAG: udpong ($mode, $size B) stalled 3 times" >&2
	exit 1
}

load_before=$(uptime)
for r in $(seq "$ROUNDS"); do
	run_rstream rs "$root/rs.rows"
	run_rstream tcp "$root/tcp.rows"
	for size in 64 1024 2056; do
		run_udpong rs $size "$root/rsd.rows"
		run_udpong udp $size "$root/udp.rows"
	done
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
echo
echo "udpong -T e -C 2000 (echo: every message answered; us/xfer is half a round trip): srxe's datagram rsockets beside kernel UDP over lo; medians of $ROUNDS runs; runs stalled by udpong's late-echo flaw and tried again: $stalls"
echo
echo "| test | rsocket us/xfer | udp us/xfer | rsocket / udp |"
echo "|---|---:|---:|---:|"
for t in $(awk '{ print $1 }' "$root/rsd.rows" | awk '!seen[$0]++'); do
	ru=$(median "$t" 7 "$root/rsd.rows")
	uu=$(median "$t" 7 "$root/udp.rows")
	ratio=$(awk -v a="$ru" -v b="$uu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	echo "| $t | $ru | $uu | $ratio |"
done
