#!/usr/bin/env bash
# The engine's sleep/wake policy against 2 B ib_write_lat (issue #14,
# "latency on 2 cores"): one srxed per (policy, translation mode), each
# started with SRXED_ENGINE_IDLE=POLICY (kernel-shim/srxed/verbs_ctx.c),
# REPEAT pairs of `ib_write_lat -s 2 -n LAT_ITERS` on each, the devices
# taken in turn so that a change in machine load hits every column alike.
# Printed per cell: the median t_typical of the repeats (all of them in
# brackets), and the engine's sleeps and doorbells per iteration from
# `srxe status`.  The first policy is the baseline of the run.  Nothing is
# asserted.
#
# Usage: perftest/wake-table.sh [POLICY...]
#        POLICY = MODE:SPIN_US[:IDLE_US][/SLICE_US], MODE pause|yield|nap
#        SLICE_US the engine thread's scheduler slice (SRXED_ENGINE_SLICE_US)
# Environment: SRXE_BUILD (default <source>/build), LAT_ITERS (5000),
#              REPEAT (3)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${SRXE_BUILD:-$src/build}
LAT_ITERS=${LAT_ITERS:-5000}
REPEAT=${REPEAT:-3}
srxe=$build/kernel-shim/cli/srxe
[[ -x $srxe ]] || { echo "wake-table: build srxe first" >&2; exit 1; }
command -v ib_write_lat >/dev/null || {
	echo "wake-table: perftest is not installed" >&2
	exit 1
}
policies=("$@")
((${#policies[@]})) || policies=(pause:50 default)

PAIR_TAG=wake-table
TOOL_TIMEOUT=120
# shellcheck source=pair_lib.sh
source "$src/perftest/pair_lib.sh"
pair_root srxe-wake

# engine DEV: "sleeps doorbells" from srxe status.
engine() {
	"$srxe" status --name "$1" |
		sed -n 's/.*engine: *sleeps \([0-9]*\), doorbells \([0-9]*\).*/\1 \2/p'
}

declare -A dev_of vals
i=0
for p in "${policies[@]}"; do
	for mode in shortcut mtt; do
		d=srxew$$x$i${mode:0:1}
		if [[ $p == default ]]; then
			"$srxe" up --name "$d" --translation "$mode" >/dev/null
		else
			SRXED_ENGINE_IDLE=${p%%/*} \
				SRXED_ENGINE_SLICE_US=$([[ $p == */* ]] && echo "${p##*/}" || echo 0) \
				"$srxe" up --name "$d" --translation "$mode" >/dev/null
		fi
		devices+=("$d")
		dev_of[$p,$mode]=$d
	done
	i=$((i + 1))
done

load_before=$(cat /proc/loadavg)
for r in $(seq "$REPEAT"); do
	for p in "${policies[@]}"; do
		for mode in shortcut mtt; do
			read -r s0 _ < <(engine "${dev_of[$p,$mode]}")
			measure "${dev_of[$p,$mode]}" 5 ib_write_lat -s 2 \
				-n "$LAT_ITERS" # t_typical
			read -r s1 _ < <(engine "${dev_of[$p,$mode]}")
			vals[$p,$mode]="${vals[$p,$mode]:-} $RESULT"
			echo "  run $r $p $mode: $RESULT us," \
				"$(awk -v a="$s0" -v b="$s1" -v n="$LAT_ITERS" \
					'BEGIN { printf "%.2f", (b - a) / n }') sleeps/iteration" >&2
		done
	done
done
load_after=$(cat /proc/loadavg)

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 }
	END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
per_iter() {
	# sleeps and doorbells per ib_write_lat iteration (both sides' WRITEs)
	awk -v s="$1" -v d="$2" -v n=$((LAT_ITERS * REPEAT)) \
		'BEGIN { printf "%.2f / %.2f", s / n, d / n }'
}

echo "srxe wake table — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
	"srxe $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?')"
echo "ib_write_lat -s 2 -n $LAT_ITERS, $REPEAT pairs per cell; loadavg before: $load_before; after: $load_after"
echo
echo "| policy | shortcut t_typical us | mtt t_typical us | sleeps / doorbells per iteration (shortcut) | (mtt) |"
echo "|---|---:|---:|---:|---:|"
for p in "${policies[@]}"; do
	row="| $p"
	for mode in shortcut mtt; do
		row+=" | $(median <<<"${vals[$p,$mode]}") [${vals[$p,$mode]# }]"
	done
	for mode in shortcut mtt; do
		read -r s d < <(engine "${dev_of[$p,$mode]}")
		row+=" | $(per_iter "$s" "$d")"
	done
	echo "$row |"
done
