#!/bin/bash
# Issue #5, must-show 1: RoCEv2 on the wire between two hosts.  Two
# network namespaces joined by a veth pair, private test addresses inside
# them only, one srxed in each (own SRXE_RUNDIR each); unmodified
# rdma-core and perftest tools run between them:
#   ibv_rc_pingpong -c -g 1, ibv_ud_pingpong -c -g 1,
#   ib_write_bw / ib_read_bw / ib_send_bw -x 1 -F -n 200,
#   ib_atomic_bw -A FETCH_AND_ADD and -A CMP_AND_SWAP,
# at the veth's default MTU (1500: path MTU 1024) and at MTU 9000 (path
# MTU 4096, -m 4096 for rc_pingpong).  Afterwards each device's wire
# counters must show datagrams sent and received and no ICRC drops.
# ibv_rc_pingpong -e too: each `ip netns exec` command has a mount
# namespace of its own, where srxed's FUSE command file (completion
# channels) is reached through /proc/<srxed>/root.
# Everything created (namespaces, veth, devices, temp dirs) is removed at
# the end, also on failure (netns_lib.sh).
here=$(dirname "$0")
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
command -v ib_write_bw >/dev/null || fail "perftest is not installed"

pingpong() {
	netns_pingpong 0 1 "$@"
}

perftest_bw() {
	netns_bw 0 1 "$@"
}

# Untrusted input: datagrams to port 4791 that are not RoCEv2 packets are
# dropped and counted by reason, and the device keeps working.
check_forged_drops() {
	local st
	in_ns 0 "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(bytes(40), (sys.argv[1], 4791))  # room for an ICRC: wrong one
s.sendto(bytes(10), (sys.argv[1], 4791))  # shorter than BTH + ICRC
' "${ADDR[1]}"
	for _ in $(seq 20); do
		st=$(netns_status 1)
		grep -q "wire drops: +2 " <<<"$st" && break
		sleep 0.1
	done
	assert_contains "$st" "wire drops: +2 .*too_short 1, .*bad_icrc 1," \
		"forged datagrams counted by reason"
	echo "ok: forged datagrams dropped (too_short 1, bad_icrc 1)"
}

run_all() {
	local mtu=$1
	shift
	pingpong ibv_rc_pingpong "$@" -s 4096
	pingpong ibv_rc_pingpong "$@" -s 65536
	pingpong ibv_rc_pingpong "$@" -s 4096 -e
	pingpong ibv_ud_pingpong -s "$mtu"
	perftest_bw ib_write_bw "$mtu"
	perftest_bw ib_read_bw "$mtu"
	perftest_bw ib_send_bw "$mtu"
	perftest_bw ib_atomic_bw "$mtu" -A FETCH_AND_ADD
	perftest_bw ib_atomic_bw "$mtu" -A CMP_AND_SWAP
	netns_check_wire 0 1
	check_forged_drops
	pingpong ibv_rc_pingpong "$@" -s 4096
}

netns_make 2 1500
netns_up
run_all 1024
netns_down
netns_set_mtu 9000
netns_up
run_all 4096 -m 4096
echo "PASS"
