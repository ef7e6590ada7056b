#!/bin/bash
# Issue #10: UD receives as UCX 1.13 needs them, and UCX's address
# vectors (ud_grh.c): flow_label 0xffffffff and dlid 49152 accepted by
# create_ah and modify_qp; wc.sl = 0x0a (RoCEv2 IPv4, as mlx5) through
# ibv_poll_cq (one host) and ibv_cq_ex read_sl (two hosts); the GRH area
# holds 20 zero bytes and the IPv4 header (synthesised on one host, as
# received from the wire between two).  A UD send with no receive posted
# is dropped under the named reason no_recv_wqe, and every drop has one.
here=$(dirname "$0")
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
# shellcheck source=ucx_lib.sh
source "$here/ucx_lib.sh"
require_prerequisites
NETNS_TAG=grh
UD_GRH=$SRXE_BUILD/tests/ud_grh
[[ -x $UD_GRH ]] || fail "$UD_GRH is not built"

netns_make 2 1500
netns_up
out=$(in_ns 0 "$SRXE" exec -- timeout 60 "$UD_GRH" "${DEV[0]}") ||
	fail "ud_grh one host: $out"
echo "ok: $out"
for _ in $(seq 50); do
	(($(netns_counter 0 no_recv_wqe) >= 1)) && break
	sleep 0.1
done
(($(netns_counter 0 no_recv_wqe) == 1)) ||
	fail "UD send without a receive not counted: $(netns_status 0)"
echo "ok: UD packet without a receive WQE counted as no_recv_wqe"
port=$((20000 + RANDOM % 20000))
netns_bg 1 "$SRXE" exec -- timeout 60 "$UD_GRH" "${DEV[1]}" recv "$port"
recv_pid=$NETNS_LAST_BG
out=$(in_ns 0 "$SRXE" exec -- timeout 60 "$UD_GRH" "${DEV[0]}" send \
	"${ADDR[1]}" "$port") || fail "ud_grh sender: $out"
wait "$recv_pid" || fail "ud_grh receiver failed"
echo "ok: two hosts: $out, receiver checked wc.sl (read_sl) and the IPv4 header"
check_named_drops 0
check_named_drops 1
check_wire_used 1
echo "PASS"
