#!/usr/bin/env bash
# On-demand MRs beside pinned ones (docs/odp.md), one run, one table:
# unmodified Debian perftest with and without --odp on one shortcut device,
# alternating the two for each cell so that a change in machine load hits
# both columns alike:
#   ib_write_bw, ib_read_bw, ib_send_bw   BW average at 4 KiB and 64 KiB
#   ib_write_lat, ib_send_lat             t_typical at 2 B
# Nothing is asserted (no target exists for on-demand MRs): the table shows
# what the bounce path through /proc/PID/mem costs.
#
# Usage: perftest/odp-table.sh
# Environment: SRXE_BUILD  build directory (default <source>/build)
#              BW_ITERS    -n for the bw tools  (default 2000)
#              LAT_ITERS   -n for the lat tools (default 2000)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
BW_ITERS=${BW_ITERS:-2000}
LAT_ITERS=${LAT_ITERS:-2000}
TOOL_TIMEOUT=120
PAIR_TAG=odp-table
# shellcheck source=pair_lib.sh
source "$src/perftest/pair_lib.sh"
pair_prereqs
pair_root srxe-odp
dev=srxeodpb$$

load_before=$(uptime)
"$srxe" up --name "$dev" --translation shortcut >/dev/null
devices+=("$dev")

rows=()
cell() { # KIND COLUMN TOOL SIZE ITERS
	local pinned odp
	measure "$dev" "$2" "$3" -s "$4" -n "$5"
	pinned=$RESULT
	measure "$dev" "$2" "$3" -s "$4" -n "$5" --odp
	odp=$RESULT
	rows+=("$1|$3|$4|$pinned|$odp")
	echo "  measured $3 $4 B: pinned $pinned, on demand $odp" >&2
}
for tool in ib_write_bw ib_read_bw ib_send_bw; do
	for size in 4096 65536; do
		cell bw 4 "$tool" "$size" "$BW_ITERS"
	done
done
for tool in ib_write_lat ib_send_lat; do
	cell lat 5 "$tool" 2 "$LAT_ITERS"
done
counters=$("$srxe" status --name "$dev" | sed -n 's/^ *on-demand: *//p')
load_after=$(uptime)

echo "srxe on-demand table — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "perftest $(dpkg-query -W -f='${Version}' perftest 2>/dev/null)," \
	"srxe $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?')," \
	"translation shortcut"
echo "load before: ${load_before#*load average: }"
echo "load after:  ${load_after#*load average: }"
echo "bw: BW average MiB/s (-n $BW_ITERS); lat: t_typical us (-n $LAT_ITERS);"
echo "on demand: the same command with --odp (every MR IBV_ACCESS_ON_DEMAND)."
echo "srxed's counters after the run: $counters"
echo
echo "| test | size | pinned | on demand | on demand / pinned |"
echo "|---|---|---:|---:|---:|"
for r in "${rows[@]}"; do
	IFS='|' read -r kind tool size p o <<<"$r"
	unit=$([[ $kind == bw ]] && echo "MiB/s" || echo "t_typical us")
	awk -v t="$tool $unit" -v s="$size" -v p="$p" -v o="$o" 'BEGIN {
		printf "| %s | %s B | %.2f | %.2f | %.2f |\n", t, s, p, o, o / p }'
done
