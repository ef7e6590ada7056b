#!/bin/bash
# Issue #4, must-show 1: unmodified rdma-core pingpong tools move and check
# data (-c) between two processes through srxe, over RC, RC with the new
# post API (-N), UC, SRQ and UD, at the sizes each tool allows.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
DEV=srxepp$$
PORT=$((20000 + $$ % 20000))
ITERS=${SRXE_PINGPONG_ITERS:-20}

srxe_up "$DEV"

# One server/client pair with data checks (-c).
pingpong() {
	local tool=$1
	shift
	pingpong_pair "$tool" -d "$DEV" -g 1 -c -p "$PORT" -n "$ITERS" "$@"
	assert_contains "$PP_CLIENT" "^$ITERS iters in" "$tool $* client"
	assert_contains "$PP_SERVER" "^$ITERS iters in" "$tool $* server"
	echo "ok: $tool $*"
}

for size in 1 4096 65536 1048576; do
	pingpong ibv_rc_pingpong -s "$size"
	pingpong ibv_rc_pingpong -N -s "$size"
	pingpong ibv_uc_pingpong -s "$size"
	pingpong ibv_srq_pingpong -s "$size"
done
# UD: at most one path MTU per datagram (ud_pingpong refuses more; lo gives
# an active MTU of 4096); the GRH lands in the 40 bytes the tool adds to its
# receive buffer.
for size in 1 1024 4096; do
	pingpong ibv_ud_pingpong -s "$size"
done
echo "PASS"
