#!/bin/bash
# Issue #5, throughput: srxe's gso wire mode (SRXE_WIRE_GSO=1; contract in
# kernel-shim/engine/transport_udp.h) between two network namespaces over
# a veth, at MTU 1500 (path MTU 1024) and 9000 (path MTU 4096):
#   - each srxed really runs gso mode (it holds a packet socket);
#   - unmodified rdma-core and perftest tools work over it: rc/ud
#     pingpong, ib_write_bw, ib_read_bw, ib_send_bw;
#   - runs of packets left the sender uncut (a captured frame on the
#     veth is longer than the link MTU) and the receiver cut them: every
#     datagram passed its ICRC (no wire drops on either side);
#   - a second gso device on another address of the same host is reached
#     over lo (the packet socket listens on every link).
# Everything is removed at the end, also on failure (netns_lib.sh).
here=$(dirname "$0")
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
command -v ib_write_bw >/dev/null || fail "perftest is not installed"
command -v ss >/dev/null || skip "no ss (iproute2) to see the packet socket"
command -v tcpdump >/dev/null || skip "no tcpdump to look at the wire"
NETNS_TAG=gso
export SRXE_WIRE_GSO=1

# Each device's srxed holds a packet socket: gso mode, not the fallback.
check_gso_mode() {
	local i dev pid
	for i in "$@"; do
		dev=${DEV[$i]}
		pid=$(cat "${ROOT[$i]}/$dev/srxed.pid")
		in_ns "$i" ss -0 -p | grep -q "pid=$pid," ||
			fail "$dev: srxed has no packet socket (not in gso mode)"
	done
	echo "ok: gso mode on ${DEV[*]}"
}

# ib_write_bw with tcpdump on host 1's veth: at least one frame longer
# than the link MTU (an uncut GSO run) must have been on the wire.
check_uncut_runs() {
	local mtu=$1 pmtu=$2 pcap=${ROOT[1]}/gso.pcap longest
	local log=${ROOT[1]}/tcpdump.log
	# -U: each packet reaches the file at once
	netns_bg 1 tcpdump --immediate-mode -U -i "${VETH[1]}" -s 128 -c 400 -w "$pcap" \
		udp dst port 4791 2>"$log"
	for _ in $(seq 100); do
		grep -q "listening on" "$log" && break
		sleep 0.1
	done
	netns_bw 0 1 ib_write_bw "$pmtu"
	# tcpdump stops by itself after -c packets; a busy machine may not
	# have let it read them yet, and SIGINT would drop what it has not.
	for _ in $(seq 200); do
		kill -0 "$NETNS_LAST_BG" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT "$NETNS_LAST_BG" 2>/dev/null || true
	wait "$NETNS_LAST_BG" 2>/dev/null || true
	longest=$(tcpdump -r "$pcap" -nn 2>/dev/null |
		sed -nE 's/.* > .*[: ]length ([0-9]+)$/\1/p' | sort -n | tail -n 1)
	[[ -n $longest ]] || fail "tcpdump captured no RoCEv2 datagram"
	((longest > mtu)) ||
		fail "no uncut GSO run on the wire (longest UDP payload $longest)"
	echo "ok: uncut runs on the wire at MTU $mtu (longest UDP payload" \
		"$longest B), cut by the receiver"
}

# A second gso device on host 0 (another address): its traffic with
# DEV[0] goes over lo.
check_same_host() {
	local extra=srxe${NETNS_TAG}$$y0 addr=${NETNS_SUBNET}.11
	netns_add_addr 0 "$addr"
	netns_dev_up 0 "$extra" --ip "$addr"
	NETNS_SDEV=$extra NETNS_CDEV=${DEV[0]} NETNS_SADDR=$addr \
		netns_pingpong 0 0 ibv_rc_pingpong -s 65536 "$@"
	(($(netns_counter 0 wire_pkts_recv "$extra") > 0)) ||
		fail "$extra received nothing from the wire"
	(($(netns_counter 0 wire_drops "$extra") == 0)) ||
		fail "$extra dropped datagrams: $(netns_status 0 "$extra")"
	netns_dev_down 0 "$extra"
	ip -n "${NS[0]}" addr del "$addr/24" dev "${VETH[0]}"
	echo "ok: same-host gso pair over lo"
}

run_all() {
	local mtu=$1 pmtu=$2
	shift 2
	check_gso_mode 0 1
	netns_pingpong 0 1 ibv_rc_pingpong -s 4096 "$@"
	netns_pingpong 0 1 ibv_rc_pingpong -s 65536 "$@"
	netns_pingpong 0 1 ibv_ud_pingpong -s "$pmtu"
	check_uncut_runs "$mtu" "$pmtu"
	netns_bw 0 1 ib_read_bw "$pmtu" -o 16
	netns_bw 0 1 ib_send_bw "$pmtu"
	netns_check_wire 0 1
	check_same_host "$@"
}

netns_make 2 1500
netns_up
run_all 1500 1024
netns_down
netns_set_mtu 9000
netns_up
run_all 9000 4096 -m 4096
echo "PASS"
