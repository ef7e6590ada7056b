#!/bin/bash
# Issue #4, must-show 2: unmodified Debian perftest 4.5 between two
# processes through srxe, with srxed in shortcut mode and in MTT mode (one
# device each):
#   RC  ib_write_bw ib_read_bw ib_send_bw ib_write_lat ib_read_lat
#       ib_send_lat with -a (every size 2 B .. 8 MiB);
#       ib_atomic_bw ib_atomic_lat with both atomic types (-A FETCH_AND_ADD,
#       -A CMP_AND_SWAP) at the only size they allow, 8 B: perftest 4.5
#       rejects -a/-s for atomics ("Message size cannot be changed for
#       Atomic tests");
#   UD  ib_send_bw -c UD and ib_send_lat -c UD with -a, which perftest caps
#       at the port's active MTU (2 B .. MTU).
# Every pair must exit 0 on both sides, and each side's result table must
# list exactly the expected sizes, each with the expected #iterations.
# Performance is printed, never asserted (see docs/benchmarks.md).
#
# Iteration counts (-n, perftest's minimum is 5): SRXE_PERFTEST_BW_ITERS
# (default 20) and SRXE_PERFTEST_LAT_ITERS (default 20).  Most of the run
# time is perftest itself: every size step re-measures the CPU clock.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
BW_ITERS=${SRXE_PERFTEST_BW_ITERS:-20}
LAT_ITERS=${SRXE_PERFTEST_LAT_ITERS:-20}
PORT=$((20000 + $$ % 20000))
TOOL_TIMEOUT=${SRXE_PERFTEST_TIMEOUT:-180}
command -v ib_write_bw >/dev/null || fail "perftest is not installed"

# Server processes still running; killed (with their timeout wrapper) on
# any exit before the normal cleanup takes the devices down.
SERVER_PIDS=()
kill_servers() {
	local pid
	for pid in "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${SERVER_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	SERVER_PIDS=()
}
on_exit() {
	local rc=$?
	kill_servers
	(exit "$rc")
	cleanup
}
trap on_exit EXIT

# Sizes perftest's -a runs: 2^1 .. 2^23.
ALL_SIZES=()
for ((s = 2; s <= 8388608; s *= 2)); do ALL_SIZES+=("$s"); done

# rows LOG: "bytes iterations value" for each row of the result table (the
# lines between the "#bytes" header and the next dashed rule); value is the
# BW average (bw tools) or t_typical (lat tools).
rows() {
	awk '/^ *#bytes/ { intable = 1; lat = ($0 ~ /t_typical/); next }
	     intable && /^-+$/ { intable = 0; next }
	     intable && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ {
		print $1, $2, (lat ? $5 : $4) }' "$1"
}

# check_table WHAT LOG ITERS SIZE...: the table lists exactly SIZE... in
# order, each with ITERS iterations and a numeric result; an inf or nan
# result no more often than the log shows a failed clock calibration
# (PERFTEST_CALIBRATION_FAILED, cli_lib.sh).
check_table() {
	local what=$1 log=$2 iters=$3 got want calibration_failures
	shift 3
	got=$(rows "$log")
	want=$(printf '%s\n' "$@")
	[[ $(awk '{print $1}' <<<"$got") == "$want" ]] ||
		fail "$what: table sizes are
$(awk '{print $1}' <<<"$got" | tr '\n' ' ')
expected
$(tr '\n' ' ' <<<"$want")
log:
$(cat "$log")"
	calibration_failures=$(grep -cF "$PERFTEST_CALIBRATION_FAILED" "$log" ||
		true)
	awk -v n="$iters" -v spare="$calibration_failures" '
		$2 != n { bad = 1 }
		$3 ~ /^[0-9]+(\.[0-9]+)?$/ { next }
		$3 ~ /^-?(inf|nan)$/ && spare-- > 0 { next }
		{ bad = 1 }
		END { exit bad }' <<<"$got" ||
		fail "$what: a row without $iters iterations or a numeric result:
$got
log:
$(cat "$log")"
}

# pair DEV ITERS SERVER_ROWS "SIZE..." TOOL ARGS...: one server/client pair
# on DEV.  The server starts first; the client connects to localhost and
# retries while the server is not listening yet.  SERVER_ROWS says what
# perftest 4.5's server prints: "all" (it measures too: send_bw, write_lat,
# send_lat), "last" (write/read/atomic bw: the passive server prints the
# client's final row only) or "none" (read/atomic lat: the passive server
# prints no table; it must still have connected and exit 0).
pair() {
	local dev=$1 iters=$2 server_rows=$3 sizes tool=$5 srv_pid cmd
	local srv_out cli_out what t0
	read -r -a sizes <<<"$4"
	shift 5
	PORT=$((PORT + 1))
	what="$tool $* on $dev"
	t0=$(date +%s.%N)
	srv_out=$TEST_ROOT/server.log
	cli_out=$TEST_ROOT/client.log
	cmd=("$SRXE" exec -- timeout "$TOOL_TIMEOUT" "$tool" -d "$dev" -x 1 -F
		-p "$PORT" -n "$iters" "$@")
	"${cmd[@]}" >"$srv_out" 2>&1 &
	srv_pid=$!
	SERVER_PIDS=("$srv_pid")
	if ! retry_client 100 "$srv_pid" "$cli_out" "${cmd[@]}" localhost; then
		kill_servers
		fail "$what: client failed (try $RETRY_TRY):
$(cat "$cli_out")
server:
$(cat "$srv_out")"
	fi
	wait "$srv_pid" || {
		SERVER_PIDS=()
		fail "$what: server failed:
$(cat "$srv_out")"
	}
	SERVER_PIDS=()
	check_table "$what (client)" "$cli_out" "$iters" "${sizes[@]}"
	case $server_rows in
	all) check_table "$what (server)" "$srv_out" "$iters" "${sizes[@]}" ;;
	last) check_table "$what (server)" "$srv_out" "$iters" "${sizes[-1]}" ;;
	none)
		assert_contains "$(cat "$srv_out")" "remote address:" \
			"$what (server)"
		[[ -z $(rows "$srv_out") ]] ||
			fail "$what (server): unexpected table in $(cat "$srv_out")"
		;;
	*) fail "pair: bad SERVER_ROWS $server_rows" ;;
	esac
	# One line per pair: the client's rows, for the log.
	echo "ok: $what ($(awk -v a="$t0" -v b="$(date +%s.%N)" \
		'BEGIN { printf "%.1f s", b - a }'))"
	rows "$cli_out" | awk '{ printf "    %8s B  %s iters  %s\n", $1, $2, $3 }'
}

run_suite() {
	local dev=$1 mode=$2 mtu ud_sizes=() s a
	srxe_up "$dev" --translation "$mode"
	assert_contains "$("$SRXE" status --name "$dev")" "$mode" \
		"srxe status --name $dev"
	# perftest caps UD messages at the port's active MTU.
	mtu=$("$SRXE" exec -- ibv_devinfo -d "$dev" |
		awk '/active_mtu:/ { print $2; exit }')
	[[ $mtu =~ ^[0-9]+$ ]] || fail "no active_mtu for $dev"
	for ((s = 2; s <= mtu; s *= 2)); do ud_sizes+=("$s"); done

	pair "$dev" "$BW_ITERS" last "${ALL_SIZES[*]}" ib_write_bw -a
	pair "$dev" "$BW_ITERS" last "${ALL_SIZES[*]}" ib_read_bw -a
	pair "$dev" "$BW_ITERS" all "${ALL_SIZES[*]}" ib_send_bw -a
	pair "$dev" "$LAT_ITERS" all "${ALL_SIZES[*]}" ib_write_lat -a
	pair "$dev" "$LAT_ITERS" none "${ALL_SIZES[*]}" ib_read_lat -a
	pair "$dev" "$LAT_ITERS" all "${ALL_SIZES[*]}" ib_send_lat -a
	for a in FETCH_AND_ADD CMP_AND_SWAP; do
		pair "$dev" "$BW_ITERS" last 8 ib_atomic_bw -A "$a"
		pair "$dev" "$LAT_ITERS" none 8 ib_atomic_lat -A "$a"
	done
	pair "$dev" "$BW_ITERS" all "${ud_sizes[*]}" ib_send_bw -c UD -a
	pair "$dev" "$LAT_ITERS" all "${ud_sizes[*]}" ib_send_lat -c UD -a

	"$SRXE" down --name "$dev" >/dev/null || fail "srxe down --name $dev"
}

run_suite "srxepfs$$" shortcut
run_suite "srxepfm$$" mtt
echo "PASS"
