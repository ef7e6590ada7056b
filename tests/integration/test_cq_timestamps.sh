#!/bin/bash
# Completion timestamps (kernel rxe has none): the extended CQ's raw and
# wallclock timestamps checked against the clocks around each completion
# (tests/integration/cq_timestamps.c), and an unmodified
# `ibv_rc_pingpong -t`, which refuses a device without
# completion_timestamp_mask and prints its receive completion deltas.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
command -v ibv_rc_pingpong >/dev/null || fail "ibverbs-utils is not installed"
DEV=srxets$$
PROG=$SRXE_BUILD/tests/cq_timestamps
[[ -x $PROG ]] || fail "$PROG is not built"

srxe_up "$DEV"
out=$(with_srxe_env "$PROG" "$DEV" 2>&1) || fail "cq_timestamps: $out"
echo "$out"
assert_contains "$out" "^PASS$" "cq_timestamps"

port=$((20000 + $$ % 20000))
pingpong_pair ibv_rc_pingpong -d "$DEV" -g 1 -p "$port" -n 500 -t
echo "$PP_CLIENT"
for side in "$PP_SERVER" "$PP_CLIENT"; do
	assert_contains "$side" "Max receive completion clock cycles = [1-9]" \
		"ibv_rc_pingpong -t: receive completion deltas"
	assert_contains "$side" "1000 iters in|500 iters in" \
		"ibv_rc_pingpong -t ran"
done

assert_no_clients "$DEV"
echo "PASS"
