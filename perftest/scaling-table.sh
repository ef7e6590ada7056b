#!/usr/bin/env bash
# Scaling with concurrent pairs (issue #14): 1, 2, 4, 8 unmodified
# ib_write_bw pairs (64 KiB, -D seconds each, all started together) on one
# srxe device, their BW averages summed, beside the one-pair figure and
# single-thread memcpy of 64 KiB measured in the same run.  Nothing is
# asserted; the issue's target (aggregate >= 3x one pair at 4 pairs, on
# >= 8 cores) is printed as met / missed, or as not measurable with fewer
# cores.
#
# Usage: perftest/scaling-table.sh [PAIRS...]      (default 1 2 4 8)
# Environment: SRXE_BUILD   build directory (default <source>/build)
#              TRANSLATION  shortcut (default) or mtt
#              SECONDS_EACH -D of every ib_write_bw (default 5)
#              ENGINES      srxe up --engines (default: srxed's, from
#                           the CPU count; the header says which)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
TRANSLATION=${TRANSLATION:-shortcut}
SECONDS_EACH=${SECONDS_EACH:-5}
TOOL_TIMEOUT=$((SECONDS_EACH + 60))
counts=("$@")
((${#counts[@]})) || counts=(1 2 4 8)

PAIR_TAG=scaling-table
# shellcheck source=pair_lib.sh
source "$src/perftest/pair_lib.sh"
pair_prereqs
pair_root srxe-scaling
pids=()
scaling_cleanup() {
	local rc=$? p
	# set -e would end this handler at the (exit "$rc") that hands
	# pair_cleanup the status, leaving the device up.
	set +e
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	(exit "$rc")
	pair_cleanup
}
trap scaling_cleanup EXIT
dev=srxesc$$
"$srxe" up --name "$dev" --translation "$TRANSLATION" \
	${ENGINES:+--engines "$ENGINES"} >/dev/null
devices+=("$dev")
threads=$(pair_threads "$dev")

memcpy_64k() {
	"$memcpy_bench" 2 65536 | awk '$1 == 65536 { print $4 }'
}

# listening PORT: true once a TCP socket listens on PORT.
listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

# run_pairs N: N concurrent pairs; RESULT = the sum of their BW averages.
run_pairs() {
	local n=$1 i sum=0 args=(-d "$dev" -x 1 -F -s 65536 -D "$SECONDS_EACH")
	local -a ports=()
	pids=()
	for ((i = 0; i < n; i++)); do
		port=$((port + 1))
		ports+=("$port")
		timeout "$TOOL_TIMEOUT" "$srxe" exec -- ib_write_bw "${args[@]}" \
			-p "$port" >"$root/server$i.log" 2>&1 &
		pids+=($!)
	done
	for p in "${ports[@]}"; do
		for ((i = 0; i < 100; i++)); do
			listening "$p" && break
			sleep 0.1
		done
	done
	for ((i = 0; i < n; i++)); do
		timeout "$TOOL_TIMEOUT" "$srxe" exec -- ib_write_bw "${args[@]}" \
			-p "${ports[i]}" localhost >"$root/client$i.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || {
			echo "scaling-table: a pair of $n failed:" >&2
			cat "$root"/client*.log "$root"/server*.log >&2
			exit 1
		}
	done
	pids=()
	for ((i = 0; i < n; i++)); do
		pair_result "$root/client$i.log" 4 ib_write_bw
		sum=$(awk -v a="$sum" -v b="$RESULT" 'BEGIN { print a + b }')
	done
	RESULT=$sum
}

load_before=$(uptime)
mc_before=$(memcpy_64k)
declare -A agg
for n in "${counts[@]}"; do
	run_pairs "$n"
	agg[$n]=$RESULT
	echo "  measured $n pair(s): $RESULT MiB/s in all" >&2
done
mc=$(awk -v a="$mc_before" -v b="$(memcpy_64k)" 'BEGIN { print (a + b) / 2 }')
load_after=$(uptime)
one=${agg[${counts[0]}]}

echo "srxe scaling table — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "srxe $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?')," \
	"translation $TRANSLATION, $threads engine thread(s), build" \
	"$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")"
echo "load before: ${load_before#*load average: }"
echo "load after:  ${load_after#*load average: }"
echo "each pair: ib_write_bw -s 65536 -D $SECONDS_EACH, BW average in MiB/s;" \
	"pairs start together on one device"
echo "memcpy: bench_memcpy 64 KiB, one thread, mean of a run before and after"
echo
echo "| pairs | aggregate MiB/s | per pair | aggregate / ${counts[0]} pair(s) | aggregate / memcpy 64 KiB |"
echo "|---:|---:|---:|---:|---:|"
for n in "${counts[@]}"; do
	awk -v n="$n" -v a="${agg[$n]}" -v o="$one" -v m="$mc" 'BEGIN {
		printf "| %d | %.0f | %.0f | %.2fx | %.1f%% |\n",
			n, a, a / n, a / o, 100 * a / m }'
done
echo
echo "memcpy 64 KiB (one thread): $(printf '%.0f' "$mc") MiB/s"
if [[ -n ${agg[4]:-} && ${counts[0]} == 1 ]]; then
	x=$(awk -v a="${agg[4]}" -v o="$one" 'BEGIN { printf "%.2f", a / o }')
	if (($(nproc) < 8)); then
		echo "target: 4 pairs >= 3x one pair on >= 8 cores: ${x}x —" \
			"not measurable here ($(nproc) CPUs)"
	elif awk -v x="$x" 'BEGIN { exit !(x >= 3) }'; then
		echo "target: 4 pairs >= 3x one pair on >= 8 cores: ${x}x — met"
	else
		echo "target: 4 pairs >= 3x one pair on >= 8 cores: ${x}x — MISSED"
	fi
fi
