#!/usr/bin/env bash
# One run, one table: srxe's RoCEv2 over a veth beside raw UDP over the
# same veth, in the same run (issue #5, must-show 5).
#
# Two network namespaces joined by a veth pair (tests/integration/
# netns_lib.sh).  Each host runs two srxe devices: one in raw mode (raw
# IP sockets, sendmmsg/recvmmsg; addresses .1/.2) and one in gso mode
# (SRXE_WIRE_GSO=1: UDP_SEGMENT send, packet-socket receive; addresses
# .11/.12 on the same veth), see kernel-shim/engine/transport_udp.h.
# For each link MTU (9000: path MTU 4096; 1500: path MTU 1024) and each
# message size (64 KiB, 1 MiB), ROUNDS times back to back:
#   - ib_write_bw -x 1 -F -D SECONDS -s SIZE on each device pair, client
#     in host 1, server in host 0 (data flows 1 -> 0), BW average in MiB/s
#     (perftest's MB/sec); srxe's own wire counters (srxe status) before
#     and after give the datagrams each way;
#   - perftest/udp_raw_bw over the same veth in the same direction, same
#     SECONDS, datagrams of the size of srxe's data packets (UDP payload
#     BTH 12 + path MTU + ICRC 4): once with sendmmsg/recvmmsg batches
#     ("plain"), once with UDP_SEGMENT/UDP_GRO ("gso").
# Prints uptime before and after.  Nothing is asserted: the issue's target
# (srxe >= 50% of raw UDP) is printed as met / MISSED per row.
# Everything created (namespaces, veth, devices, temp roots) is removed at
# the end, also on failure (netns_lib's EXIT trap).
#
# Usage: perftest/wire-table.sh            (needs root: namespaces)
# Environment: SRXE_BUILD  build directory (default <source>/build; built
#                          with tests/bootstrap.sh if srxe is missing)
#              SECONDS_PER_CELL  -D for ib_write_bw and udp_raw_bw (5)
#              ROUNDS      rounds of the four cells per size (3); the table
#                          shows each column's median, every cell is
#                          listed below it
#              MTUS        link MTUs (default "9000 1500")
#              SIZES       message sizes (default "65536 1048576")
#              SRXE_UP_ARGS  extra `srxe up` arguments (e.g.
#                          "--translation mtt")
# Units: MiB/s = 2^20 B/s.  Raw UDP counts UDP payload bytes received;
# srxe counts RDMA payload (perftest).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
export SRXE_BUILD=${SRXE_BUILD:-$src/build}
DUR=${SECONDS_PER_CELL:-5}
ROUNDS=${ROUNDS:-3}
MTUS=${MTUS:-9000 1500}
SIZES=${SIZES:-65536 1048576}
udp_bw=$SRXE_BUILD/perftest/udp_raw_bw
if [[ ! -x $SRXE_BUILD/kernel-shim/cli/srxe || ! -x $udp_bw ]]; then
	"$src/tests/bootstrap.sh" "$SRXE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
command -v ib_write_bw >/dev/null || {
	echo "wire-table: perftest is not installed (tests/bootstrap.sh)" >&2
	exit 1
}
here=$src/tests/integration
# shellcheck source=tests/integration/netns_lib.sh
source "$here/netns_lib.sh"
# netns_lib's skip() exits 77 for "cannot": a benchmark says why and fails.
skip() {
	echo "wire-table: cannot run: $*" >&2
	exit 1
}
require_prerequisites
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_TAG=wt
TOOL_TIMEOUT=$((DUR * 4 + 60))
# The 1 MiB cells are worth a bit more time: fewer messages per second.
port=$((20000 + $$ % 20000))

# pmtu_of MTU: the IB path MTU srxe picks for a link MTU (netdev - 80,
# rounded down to 256 << k, capped at 4096).
pmtu_of() {
	local m=4096
	while ((m > 256 && m > $1 - 80)); do
		m=$((m / 2))
	done
	echo "$m"
}

# srxe_cell SIZE PMTU SDEV CDEV SADDR: one ib_write_bw run from CDEV (host
# 1) to SDEV (host 0); sets SRXE_MIB and the wire datagram deltas D_DATA
# (host 1 sent), D_RECV (host 0 received), D_ACKS (host 0 sent).
srxe_cell() {
	local size=$1 pmtu=$2 sdev=$3 cdev=$4 saddr=$5 s1 r0 a0
	port=$((port + 1))
	s1=$(netns_counter 1 wire_pkts_sent "$cdev")
	r0=$(netns_counter 0 wire_pkts_recv "$sdev")
	a0=$(netns_counter 0 wire_pkts_sent "$sdev")
	netns_pair 0 1 "ib_write_bw -s $size ($cdev -> $sdev)" \
		ib_write_bw -d "$sdev" -x 1 -F -D "$DUR" -s "$size" \
		-p "$port" -- \
		ib_write_bw -d "$cdev" -x 1 -F -D "$DUR" -s "$size" \
		-p "$port" "$saddr"
	assert_contains "$LAST_CLIENT" "Mtu +: $pmtu\[B\]" "ib_write_bw path MTU"
	SRXE_MIB=$(awk '/^ *#bytes/ { t = 1; next }
		t && $1 ~ /^[0-9]+$/ { print $4; exit }' <<<"$LAST_CLIENT")
	[[ $SRXE_MIB =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
		fail "no result row in ib_write_bw output: $LAST_CLIENT"
	D_DATA=$(($(netns_counter 1 wire_pkts_sent "$cdev") - s1))
	D_RECV=$(($(netns_counter 0 wire_pkts_recv "$sdev") - r0))
	D_ACKS=$(($(netns_counter 0 wire_pkts_sent "$sdev") - a0))
}

# gso_up: the gso-mode device pair; checks that each srxed really holds a
# packet socket (gso mode falls back to raw mode silently).
GDEV=(srxewtg$$x0 srxewtg$$x1)
GADDR=()
gso_up() {
	local i pid
	for i in 0 1; do
		GADDR[i]=$NETNS_SUBNET.$((i + 11))
		((first_gso)) && netns_add_addr "$i" "${GADDR[$i]}"
		export SRXE_WIRE_GSO=1
		# shellcheck disable=SC2086
		netns_dev_up "$i" "${GDEV[$i]}" --ip "${GADDR[$i]}" \
			${SRXE_UP_ARGS:-}
		unset SRXE_WIRE_GSO
		pid=$(cat "${ROOT[$i]}/${GDEV[$i]}/srxed.pid")
		in_ns "$i" ss -0 -p | grep -q "pid=$pid," ||
			fail "${GDEV[$i]}: srxed did not start in gso mode"
	done
	first_gso=0
}
first_gso=1

# udp_cell LEN MODE(plain|gso): receiver in host 0, sender in host 1;
# sets UDP_MIB (received) and UDP_LOSS (datagrams sent - received).
udp_cell() {
	local len=$1 mode=$2 rx_arg='' tx_arg='' out=${ROOT[0]}/udp-recv.log
	local sent recv _
	port=$((port + 1))
	[[ $mode == gso ]] && rx_arg=gro tx_arg=gso
	netns_bg 0 "$udp_bw" recv "${ADDR[0]}" "$port" $rx_arg >"$out"
	for _ in $(seq 50); do
		grep -q ready "$out" && break
		sleep 0.1
	done
	sent=$(in_ns 1 timeout "$TOOL_TIMEOUT" "$udp_bw" send "${ADDR[0]}" \
		"$port" "$len" "$DUR" $tx_arg) || fail "udp_raw_bw send failed"
	wait "$NETNS_LAST_BG" || fail "udp_raw_bw recv failed: $(cat "$out")"
	recv=$(grep '^recv ' "$out") || fail "udp_raw_bw recv: no result"
	UDP_MIB=$(awk '{ print $9 }' <<<"$recv")
	UDP_LOSS=$(($(awk '{ print $3 }' <<<"$sent") - $(awk '{ print $3 }' <<<"$recv")))
}

human() {
	case $1 in
	65536) echo "64 KiB" ;; 1048576) echo "1 MiB" ;; *) echo "$1 B" ;;
	esac
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

load_before=$(uptime)
first=1
rows=()
cells=()
for mtu in $MTUS; do
	pmtu=$(pmtu_of "$mtu")
	len=$((12 + pmtu + 4))
	if ((first)); then
		netns_make 2 "$mtu"
		first=0
	else
		netns_down
		netns_dev_down 0 "${GDEV[0]}"
		netns_dev_down 1 "${GDEV[1]}"
		netns_set_mtu "$mtu"
	fi
	# shellcheck disable=SC2086
	netns_up ${SRXE_UP_ARGS:-}
	gso_up
	for size in $SIZES; do
		raws=() gsoms=() plains=() gsos=()
		for ((round = 1; round <= ROUNDS; round++)); do
			srxe_cell "$size" "$pmtu" "${DEV[0]}" "${DEV[1]}" \
				"${ADDR[0]}"
			raws+=("$SRXE_MIB") raw_d="$D_DATA|$D_RECV|$D_ACKS"
			udp_cell "$len" plain
			plains+=("$UDP_MIB") plain_loss=$UDP_LOSS
			srxe_cell "$size" "$pmtu" "${GDEV[0]}" "${GDEV[1]}" \
				"${GADDR[0]}"
			gsoms+=("$SRXE_MIB") gso_d="$D_DATA|$D_RECV|$D_ACKS"
			udp_cell "$len" gso
			gsos+=("$UDP_MIB") gso_loss=$UDP_LOSS
			echo "  measured MTU $mtu $(human "$size") round $round:" \
				"srxe raw ${raws[-1]}, srxe gso ${gsoms[-1]}," \
				"udp plain ${plains[-1]}, udp gso $UDP_MIB MiB/s" >&2
			cells+=("$mtu $(human "$size") round $round: srxe raw ${raws[-1]}, srxe gso ${gsoms[-1]}, udp plain ${plains[-1]}, udp gso ${gsos[-1]}")
		done
		raw=$(median "${raws[@]}") gsom=$(median "${gsoms[@]}")
		plain=$(median "${plains[@]}") gso=$(median "${gsos[@]}")
		rows+=("$mtu|$pmtu|$size|$raw|$gsom|$plain|$gso|$raw_d|$gso_d|$plain_loss|$gso_loss")
	done
done
load_after=$(uptime)

echo "srxe wire table — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
	"kernel $(uname -r)"
echo "perftest $(dpkg-query -W -f='${Version}' perftest 2>/dev/null)," \
	"srxe $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?')," \
	"build $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$SRXE_BUILD/CMakeCache.txt")"
echo "load before: ${load_before#*load average: }"
echo "load after:  ${load_after#*load average: }"
echo "srxe: ib_write_bw -x 1 -F -D $DUR -s SIZE across the veth, BW average" \
	"MiB/s; ${SRXE_UP_ARGS:-default translation}; raw mode and gso mode" \
	"(SRXE_WIRE_GSO=1)"
echo "udp: udp_raw_bw, UDP payload = BTH + path MTU + ICRC, -D $DUR;" \
	"plain: sendmmsg/recvmmsg x64; gso: UDP_SEGMENT/UDP_GRO"
echo "MiB/s: median of $ROUNDS rounds (each cell below the table);" \
	"dgrams and udp lost: the last round"
echo "dgrams: srxe wire counters during the run: data sent by the client" \
	"host / received by the server host / sent back (ACKs);" \
	"udp lost: sent by udp_raw_bw, never received"
echo
echo "| link MTU | path MTU | size | srxe raw MiB/s | srxe gso MiB/s" \
	"| udp plain MiB/s | udp gso MiB/s | srxe gso / udp plain" \
	"| srxe gso / udp gso | srxe raw / udp plain | dgrams raw | dgrams gso" \
	"| udp lost plain / gso |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
for r in "${rows[@]}"; do
	IFS='|' read -r mtu pmtu size s g p q d1 d2 d3 e1 e2 e3 pl gl <<<"$r"
	printf '| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %s | %s / %s / %s | %s / %s / %s | %s / %s |\n' \
		"$mtu" "$pmtu" "$(human "$size")" "$s" "$g" "$p" "$q" \
		"$(pct "$g" "$p")" "$(pct "$g" "$q")" "$(pct "$s" "$p")" \
		"$d1" "$d2" "$d3" "$e1" "$e2" "$e3" "$pl" "$gl"
done
echo
printf 'cell: %s\n' "${cells[@]}"
echo
for r in "${rows[@]}"; do
	IFS='|' read -r mtu pmtu size s g p q _ <<<"$r"
	awk -v g="$g" -v p="$p" -v q="$q" -v m="$mtu" -v z="$(human "$size")" 'BEGIN {
		printf "target: MTU %s %s srxe (gso mode) >= 50%% of raw UDP: %.1f%% of plain — %s; %.1f%% of gso — %s\n",
		       m, z, 100 * g / p, (g >= 0.5 * p ? "met" : "MISSED"),
		       100 * g / q, (g >= 0.5 * q ? "met" : "MISSED") }'
done
