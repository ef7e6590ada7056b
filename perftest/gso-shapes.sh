#!/usr/bin/env bash
# What the memory a UDP GSO send reads from costs the sending CPU (issue
# #14, must-show 4): the sender of the wire table's raw UDP baseline
# against the shapes srxe's sender hands the kernel (perftest/
# udp_gso_shapes.c says what each shape is).  Over one veth between two
# network namespaces (tests/integration/netns_lib.sh), link MTU 9000,
# udp_raw_bw recv ... gro receiving; the shapes alternate, ROUNDS times,
# in each placement of the two processes:
#   any    where the scheduler puts them
#   cross  sender on the last CPU, receiver on CPU 0 (needs 2 CPUs)
#   same   both on CPU 0: the kernel's receive work then reads what the
#          sender's copy just wrote, from the same caches
# Nothing is asserted.  Everything created is removed at the end.
#
# Usage: perftest/gso-shapes.sh          (needs root: namespaces)
# Environment: SRXE_BUILD  build directory (default <source>/build)
#              SECONDS_PER_CELL  seconds per send (4)
#              ROUNDS      rounds of all shapes (3)
#              SHAPES      default "one slots packed written written-rep
#                          packed-rep pieces" (written-rep, packed-rep:
#                          x86-64)
#              PLACEMENTS  default "cross same" ("any" on one CPU)
# Units: MiB/s = 2^20 B/s; CPU-s/GiB = the sender's CPU seconds per 2^30
# bytes handed to the kernel.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
DUR=${SECONDS_PER_CELL:-4}
ROUNDS=${ROUNDS:-3}
SHAPES=${SHAPES:-one slots packed written written-rep packed-rep pieces}
last_cpu=$(($(nproc) - 1))
if ((last_cpu > 0)); then
	PLACEMENTS=${PLACEMENTS:-cross same}
else
	PLACEMENTS=${PLACEMENTS:-any}
fi
WIRE_TAG=gso-shapes
# shellcheck source=wire_lib.sh
source "$src/perftest/wire_lib.sh"
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_TAG="gs"
TOOL_TIMEOUT=$((DUR * 4 + 60))
shapes_bin=$SRXE_BUILD/perftest/udp_gso_shapes
[[ -x $shapes_bin ]] || fail "no $shapes_bin (build the tree first)"
port=$((20000 + $$ % 20000))

# pin PLACEMENT ROLE: the taskset prefix of ROLE (send / recv).
pin() {
	case $1 in
	any) ;;
	cross) [[ $2 == send ]] && echo taskset -c "$last_cpu" || echo taskset -c 0 ;;
	same) echo taskset -c 0 ;;
	*) fail "unknown placement $1 (any, cross, same)" ;;
	esac
}

netns_make 2 9000
rows=()
for ((r = 1; r <= ROUNDS; r++)); do
	for place in $PLACEMENTS; do
		read -ra send_pin <<<"$(pin "$place" send)"
		read -ra recv_pin <<<"$(pin "$place" recv)"
		for shape in $SHAPES; do
			port=$((port + 1))
			rlog=${ROOT[0]}/recv.log
			netns_bg 0 "${recv_pin[@]}" "$udp_bw" recv "${ADDR[0]}" \
				"$port" gro >"$rlog" 2>&1
			sleep 0.3
			out=$(in_ns 1 "${send_pin[@]}" "$shapes_bin" "${ADDR[0]}" \
				"$port" "$DUR" "$shape") ||
				fail "udp_gso_shapes $shape: $out"
			wait "$NETNS_LAST_BG" ||
				fail "udp_raw_bw recv: $(cat "$rlog")"
			recv=$(awk '/^recv/ { print $9 }' "$rlog")
			[[ -n $recv ]] ||
				fail "udp_raw_bw printed no tally: $(cat "$rlog")"
			rows+=("$(awk -v p="$place" -v r="$r" -v recv="$recv" '{ printf "| %s | %s | %d | %s | %s | %s | %s |", $2, p, r, $4, recv, $6, $8 }' <<<"$out")")
			echo "  measured round $r: ${rows[-1]}"
		done
	done
done

echo "srxe gso shapes — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
	"$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
	"kernel $(uname -r)"
echo "15 datagrams of 4112 bytes per UDP_SEGMENT send, 4 sends per sendmmsg, $DUR s per cell"
echo
echo "| shape | placement | round | sent MiB/s | received MiB/s | sender CPU-s/GiB | of which user |"
echo "|---|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
