#!/usr/bin/env bash
# CPU per byte on each side of the wire: srxe's sending and receiving
# srxed beside raw UDP's sender and receiver, over one veth, in the same
# run (issue #14, must-show 4: what the wire's MiB/s is made of).
#
# On a machine with few cores a cell's MiB/s moves by a fifth from run
# to run (the threads of both hosts share the CPUs); the CPU time each
# side spends per GiB it moves is steadier, and shows which side bounds
# the cell: one engine thread sends a QP's packets, so 1 / (sender
# CPU-s/GiB) is the most that QP can move.
#
# Two network namespaces joined by a veth pair (tests/integration/
# netns_lib.sh), one srxe device each in the default mode.  For each link
# MTU and ROUNDS times:
#   - ib_write_bw -x 1 -F -D SECONDS -s SIZE from host 1 to host 0; each
#     srxed's utime + stime (/proc/PID/stat) before and after, per GiB of
#     RDMA payload (BW average x SECONDS);
#   - perftest/udp_raw_bw ... gso / gro in the same direction, datagrams
#     of srxe's data packet size (UDP payload BTH 12 + path MTU + ICRC
#     4), each process's user + system time (bash `time`) per GiB it
#     received.
# Nothing is asserted.  Everything created is removed at the end (netns_
# lib's EXIT trap).
#
# Usage: perftest/wire-cpu.sh            (needs root: namespaces)
# Environment: SRXE_BUILD  build directory (default <source>/build; built
#                          with tests/bootstrap.sh if srxe is missing)
#              SECONDS_PER_CELL  -D for ib_write_bw and udp_raw_bw (4)
#              ROUNDS      cells per link MTU (3)
#              MTUS        link MTUs (default "9000 1500")
#              SIZE        message size (default 65536)
#              SRXE_UP_ARGS  extra `srxe up` arguments
# Units: MiB/s = 2^20 B/s; CPU-s/GiB = CPU seconds per 2^30 bytes.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
DUR=${SECONDS_PER_CELL:-4}
ROUNDS=${ROUNDS:-3}
MTUS=${MTUS:-9000 1500}
SIZE=${SIZE:-65536}
WIRE_TAG=wire-cpu
# shellcheck source=wire_lib.sh
source "$src/perftest/wire_lib.sh"
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_TAG="wc"
TOOL_TIMEOUT=$((DUR * 4 + 60))
port=$((20000 + $$ % 20000))
TICKS=$(getconf CLK_TCK)

# cpu_s HOST: CPU seconds host HOST's srxed has used so far.
cpu_s() {
	local pid
	pid=$(cat "${ROOT[$1]}/${DEV[$1]}/srxed.pid")
	awk -v t="$TICKS" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$pid/stat"
}

# per_gib CPU_S MIB: CPU seconds per GiB for MIB MiB moved.
per_gib() {
	awk -v c="$1" -v m="$2" 'BEGIN { printf "%.3f", (m > 0 ? c * 1024 / m : 0) }'
}

# srxe_cell: one ib_write_bw run; sets S_MIB, S_TX (host 1's srxed
# CPU-s/GiB, the sender) and S_RX (host 0's, the receiver).
srxe_cell() {
	local c0 c1 out mib moved
	port=$((port + 1))
	c0=$(cpu_s 0)
	c1=$(cpu_s 1)
	netns_pair 0 1 "ib_write_bw -s $SIZE" \
		ib_write_bw -d "${DEV[0]}" -x 1 -F -D "$DUR" -s "$SIZE" \
		-p "$port" -- \
		ib_write_bw -d "${DEV[1]}" -x 1 -F -D "$DUR" -s "$SIZE" \
		-p "$port" "${ADDR[0]}"
	out=$LAST_CLIENT
	mib=$(awk '/^ *#bytes/ { t = 1; next }
		t && $1 ~ /^[0-9]+$/ { print $4; exit }' <<<"$out")
	[[ $mib =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
		fail "no result row in ib_write_bw output: $out"
	S_MIB=$mib
	moved=$(awk -v m="$mib" -v d="$DUR" 'BEGIN { print m * d }')
	S_TX=$(per_gib "$(awk -v a="$(cpu_s 1)" -v b="$c1" 'BEGIN { print a - b }')" "$moved")
	S_RX=$(per_gib "$(awk -v a="$(cpu_s 0)" -v b="$c0" 'BEGIN { print a - b }')" "$moved")
}

# udp_cell LEN: one udp_raw_bw gso/gro run; sets U_MIB, U_TX, U_RX.
udp_cell() {
	local len=$1 rlog=${ROOT[0]}/udp_recv.log slog=${ROOT[1]}/udp_send.log
	local mib bytes rcpu scpu moved
	port=$((port + 1))
	netns_bg 0 bash -c 'TIMEFORMAT="cpu %U %S"; time "$@"' _ \
		"$udp_bw" recv "${ADDR[0]}" "$port" gro >"$rlog" 2>&1
	sleep 0.5
	in_ns 1 bash -c 'TIMEFORMAT="cpu %U %S"; time "$@"' _ \
		"$udp_bw" send "${ADDR[0]}" "$port" "$len" "$DUR" gso \
		>"$slog" 2>&1 || fail "udp_raw_bw send: $(cat "$slog")"
	wait "$NETNS_LAST_BG" || fail "udp_raw_bw recv: $(cat "$rlog")"
	mib=$(awk '/^recv/ { print $9 }' "$rlog")
	bytes=$(awk '/^recv/ { print $5 }' "$rlog")
	rcpu=$(awk '/^cpu/ { print $2 + $3 }' "$rlog")
	scpu=$(awk '/^cpu/ { print $2 + $3 }' "$slog")
	[[ -n $mib && -n $rcpu && -n $scpu ]] ||
		fail "udp_raw_bw printed no tally: $(cat "$rlog" "$slog")"
	U_MIB=$mib
	moved=$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')
	U_TX=$(per_gib "$scpu" "$moved")
	U_RX=$(per_gib "$rcpu" "$moved")
}

rows=()
first=1
for mtu in $MTUS; do
	pmtu=$(pmtu_of "$mtu")
	if ((first)); then
		netns_make 2 "$mtu"
		first=0
	else
		netns_down
		netns_set_mtu "$mtu"
	fi
	# shellcheck disable=SC2086 # several arguments, or none
	netns_up ${SRXE_UP_ARGS:-}
	for ((r = 1; r <= ROUNDS; r++)); do
		srxe_cell
		udp_cell $((12 + pmtu + 4))
		rows+=("| $mtu | $pmtu | $r | $S_MIB | $S_TX | $S_RX | $U_MIB | $U_TX | $U_RX |")
		echo "  measured MTU $mtu round $r: srxe $S_MIB MiB/s" \
			"($S_TX / $S_RX), udp gso $U_MIB ($U_TX / $U_RX)"
	done
done

echo "srxe wire CPU table — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
	"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "srxe $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?')," \
	"ib_write_bw -x 1 -F -D $DUR -s $SIZE; udp_raw_bw gso/gro, -D $DUR"
echo "CPU-s/GiB: sender / receiver CPU seconds per GiB moved"
echo
echo "| link MTU | path MTU | round | srxe MiB/s | srxe sender CPU-s/GiB | srxe receiver CPU-s/GiB | udp gso MiB/s | udp sender CPU-s/GiB | udp receiver CPU-s/GiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
