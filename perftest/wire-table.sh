#!/usr/bin/env bash
# One run, one table: srxe's RoCEv2 over a veth beside raw UDP over the
# same veth, in the same run (issue #5, must-show 5; issue #14,
# must-show 4).
#
# Two network namespaces joined by a veth pair (tests/integration/
# netns_lib.sh).  Each host runs two srxe devices: one in the default
# mode (batched send: UDP_SEGMENT runs from one UDP socket per rxe
# source port; packet-socket receive; addresses .1/.2) and one with the
# raw send forced (SRXE_WIRE_GSO=0: one datagram per packet from the raw
# socket, sendmmsg; same receive; addresses .11/.12 on the same veth),
# see kernel-shim/engine/transport/transport_udp.h.
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
# Prints uptime before and after.  Nothing is asserted: the issue's
# targets (default mode >= 60% of GSO/GRO raw UDP at path MTU 4096, >= 40%
# at 1024) are printed as met / MISSED per row -- srxe's median against
# the best GSO/GRO cell of the row's rounds, since that baseline has a
# slow mode on some hosts (a 2-vCPU VM here: ~3,000 or ~6,000 MiB/s,
# docs/benchmarks.md) that would flatter srxe -- and so are the source
# ports the default device's data left from (srxe status cannot show
# them: read from each srxed's UDP sockets, `ss`).
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
DUR=${SECONDS_PER_CELL:-5}
ROUNDS=${ROUNDS:-3}
MTUS=${MTUS:-9000 1500}
SIZES=${SIZES:-65536 1048576}
WIRE_TAG=wire-table
# shellcheck source=wire_lib.sh
source "$src/perftest/wire_lib.sh"
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_TAG=wt
TOOL_TIMEOUT=$((DUR * 4 + 60))
# The 1 MiB cells are worth a bit more time: fewer messages per second.
port=$((20000 + $$ % 20000))

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

# raw_up: the raw-send device pair (SRXE_WIRE_GSO=0); checks that each
# srxed logged its raw send.
GDEV=(srxewtg$$x0 srxewtg$$x1)
GADDR=()
raw_up() {
	local i
	for i in 0 1; do
		GADDR[i]=$NETNS_SUBNET.$((i + 11))
		((first_raw)) && netns_add_addr "$i" "${GADDR[$i]}"
		# shellcheck disable=SC2086
		SRXE_WIRE_GSO=0 netns_dev_up "$i" "${GDEV[$i]}" \
			--ip "${GADDR[$i]}" ${SRXE_UP_ARGS:-}
		grep -q "batched send off (SRXE_WIRE_GSO=0)" \
			"${ROOT[$i]}/${GDEV[$i]}/srxed.log" ||
			fail "${GDEV[$i]}: srxed did not start with the raw send"
	done
	first_raw=0
}
first_raw=1

# default_check: the default devices run the fast path (no fallback
# logged, a packet socket held).
default_check() {
	local i pid log
	for i in 0 1; do
		log=${ROOT[$i]}/${DEV[$i]}/srxed.log
		! grep -q "RoCEv2/UDP:" "$log" ||
			fail "${DEV[$i]}: $(grep "RoCEv2/UDP:" "$log")"
		pid=$(cat "${ROOT[$i]}/${DEV[$i]}/srxed.pid")
		in_ns "$i" ss -0 -p | grep -q "pid=$pid," ||
			fail "${DEV[$i]}: srxed holds no packet socket"
	done
}

# cap_start: tcpdump on host 1's veth for the first 64 data frames of
# the next default cell (it exits by itself: a few ms of the cell).
cap_start() {
	CAP=${ROOT[1]}/sports.pcap
	netns_tcpdump 1 "$CAP" -i "${VETH[1]}" -s 96 -c 64 \
		udp dst port 4791 and src host "${ADDR[1]}"
	CAP_PID=$NETNS_LAST_BG
}

# cap_sports: after the cell, "PORTS (QPN q: port)": the source ports of
# the captured frames, and rxe's port of the client QP
# (0xC000 + hash_32(qpn, 14)).
cap_sports() {
	local got qpn
	kill -INT "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
	got=$(tcpdump -r "$CAP" -nn 2>/dev/null |
		sed -nE 's/.* IP [0-9.]+\.([0-9]+) > [0-9.]+\.4791: .*/\1/p' |
		sort -un | xargs)
	qpn=$(sed -nE 's/^ *local address: .*QPN (0x[0-9a-f]+).*/\1/p' \
		<<<"$LAST_CLIENT" | head -n 1)
	echo "${got:-none} (QPN $qpn: $((0xc000 + (((qpn * 0x61c88647) & 0xffffffff) >> 18))))"
}

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
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }

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
	unset SRXE_WIRE_GSO SRXE_WIRE_RX
	# shellcheck disable=SC2086
	netns_up ${SRXE_UP_ARGS:-}
	default_check
	raw_up
	for size in $SIZES; do
		raws=() defs=() plains=() gsos=()
		for ((round = 1; round <= ROUNDS; round++)); do
			srxe_cell "$size" "$pmtu" "${GDEV[0]}" "${GDEV[1]}" \
				"${GADDR[0]}"
			raws+=("$SRXE_MIB") raw_d="$D_DATA|$D_RECV|$D_ACKS"
			udp_cell "$len" plain
			plains+=("$UDP_MIB") plain_loss=$UDP_LOSS
			((round == 1)) && cap_start
			srxe_cell "$size" "$pmtu" "${DEV[0]}" "${DEV[1]}" \
				"${ADDR[0]}"
			((round == 1)) && sp=$(cap_sports)
			defs+=("$SRXE_MIB") def_d="$D_DATA|$D_RECV|$D_ACKS"
			udp_cell "$len" gso
			gsos+=("$UDP_MIB") gso_loss=$UDP_LOSS
			echo "  measured MTU $mtu $(human "$size") round $round:" \
				"srxe default ${defs[-1]}, srxe raw ${raws[-1]}," \
				"udp plain ${plains[-1]}, udp gso $UDP_MIB MiB/s" >&2
			cells+=("$mtu $(human "$size") round $round: srxe default ${defs[-1]}, srxe raw ${raws[-1]}, udp plain ${plains[-1]}, udp gso ${gsos[-1]}")
		done
		def=$(median "${defs[@]}") raw=$(median "${raws[@]}")
		plain=$(median "${plains[@]}") gso=$(median "${gsos[@]}")
		rows+=("$mtu|$pmtu|$size|$def|$raw|$plain|$gso|$def_d|$raw_d|$plain_loss|$gso_loss|$sp|$(best "${gsos[@]}")")
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
	"MiB/s; ${SRXE_UP_ARGS:-default translation}; default mode and raw" \
	"send (SRXE_WIRE_GSO=0)"
echo "udp: udp_raw_bw, UDP payload = BTH + path MTU + ICRC, -D $DUR;" \
	"plain: sendmmsg/recvmmsg x64; gso: UDP_SEGMENT/UDP_GRO"
echo "MiB/s: median of $ROUNDS rounds (each cell below the table);" \
	"dgrams and udp lost: the last round"
echo "dgrams: srxe wire counters during the run: data sent by the client" \
	"host / received by the server host / sent back (ACKs);" \
	"udp lost: sent by udp_raw_bw, never received;" \
	"source ports: of the client's first 64 data frames captured on its" \
	"veth in round 1 (tcpdump), and rxe's port of its QP"
echo
echo "| link MTU | path MTU | size | srxe default MiB/s | srxe raw send MiB/s" \
	"| udp plain MiB/s | udp gso MiB/s | srxe default / udp gso" \
	"| srxe default / udp plain | srxe raw / udp plain | dgrams default" \
	"| dgrams raw | udp lost plain / gso | source ports in capture (default) |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|"
for r in "${rows[@]}"; do
	IFS='|' read -r mtu pmtu size s g p q d1 d2 d3 e1 e2 e3 pl gl sp _ <<<"$r"
	printf '| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %s | %s / %s / %s | %s / %s / %s | %s / %s | %s |\n' \
		"$mtu" "$pmtu" "$(human "$size")" "$s" "$g" "$p" "$q" \
		"$(pct "$s" "$q")" "$(pct "$s" "$p")" "$(pct "$g" "$p")" \
		"$d1" "$d2" "$d3" "$e1" "$e2" "$e3" "$pl" "$gl" "${sp:-none}"
done
echo
printf 'cell: %s\n' "${cells[@]}"
echo
for r in "${rows[@]}"; do
	IFS='|' read -r mtu pmtu size s g p q _ _ _ _ _ _ _ _ sp qb <<<"$r"
	awk -v s="$s" -v q="$q" -v qb="$qb" -v m="$pmtu" \
		-v z="$(human "$size")" -v sp="${sp:-none}" 'BEGIN {
		t = (m >= 4096 ? 60 : 40)
		n = split(sp, a, /[ ():]+/)
		printf "target: path MTU %s %s srxe default (median) >= %d%% of GSO/GRO raw UDP (best round, %.0f MiB/s): %.1f%% — %s (of the median: %.1f%%); source port in capture %s — %s\n",
		       m, z, t, qb, 100 * s / qb,
		       (100 * s >= t * qb ? "met" : "MISSED"), 100 * s / q,
		       sp, (n >= 4 && a[1] == a[n - 1] ? "the QP port" : "NOT the QP port") }'
done
