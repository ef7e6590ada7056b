#!/bin/bash
# Issues #5 and #14: srxe's default wire path (batched send: UDP_SEGMENT
# runs from one UDP socket per source port; packet-socket receive that
# cuts uncut runs; contract in kernel-shim/engine/transport/transport_udp.h)
# between two network namespaces over a veth, at MTU 1500 (path MTU
# 1024) and 9000 (path MTU 4096):
#   - each srxed holds a packet socket (the fast receive, not the
#     fallback) and logged no fallback;
#   - rxe's per-QP UDP source ports stay on the wire (ECMP entropy):
#     ib_write_bw -q 2 leaves from exactly the two ports 0xC000 +
#     hash_32(qpn, 14) of its QPNs (neither 4791), each port's packets
#     from a UDP socket srxed bound to it;
#   - unmodified rdma-core and perftest tools work over it: rc/ud
#     pingpong, ib_write_bw, ib_read_bw, ib_send_bw;
#   - runs of packets left the sender uncut (a captured frame on the
#     veth is longer than the link MTU) and the receiver cut them: every
#     datagram passed its ICRC (no wire drops on either side);
#   - a second device on another address of the same host is reached
#     over lo (the packet socket listens on every link);
#   - a raw-mode peer (SRXE_WIRE_GSO=0: one datagram per packet from the
#     raw socket, which it logs) and a default one work both ways;
#   - source-port sockets give way (least recently used) when there are
#     more ports than sockets: a client with one socket
#     (SRXE_WIRE_SPORTS=1, tests only) and two QPs still sends from both
#     QPs' ports, with no drops.
# Everything is removed at the end, also on failure (netns_lib.sh).
here=$(dirname "$0")
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
command -v ib_write_bw >/dev/null || fail "perftest is not installed"
command -v ss >/dev/null || skip "no ss (iproute2) to see the packet socket"
command -v tcpdump >/dev/null || skip "no tcpdump to look at the wire"
NETNS_TAG=gso
unset SRXE_WIRE_GSO SRXE_WIRE_RX # the default path

# Each device's srxed holds a packet socket and logged no fallback.
check_gso_mode() {
	local i dev pid
	for i in "$@"; do
		dev=${DEV[$i]}
		pid=$(cat "${ROOT[$i]}/$dev/srxed.pid")
		in_ns "$i" ss -0 -p | grep -q "pid=$pid," ||
			fail "$dev: srxed has no packet socket (fallback)"
		! grep -q "RoCEv2/UDP:" "${ROOT[$i]}/$dev/srxed.log" ||
			fail "$dev: $(grep "RoCEv2/UDP:" "${ROOT[$i]}/$dev/srxed.log")"
	done
	echo "ok: fast wire path on ${DEV[*]}"
}

# rxe's UDP source port of QP number $1: 0xC000 + hash_32(qpn, 14).
rxe_sport() {
	echo $((0xc000 + ((($1 * 0x61c88647) & 0xffffffff) >> 18)))
}

# check_sports MTU PMTU [SOCKETS]: ib_write_bw -q 2 from host 1, tcpdump
# on its veth: the data datagrams leave from the source ports of the
# client's two QPs, and from nothing else; each port's packets left in
# uncut runs (a frame longer than the link MTU: the batched path, not
# the raw fallback, which would show the same ports); srxed holds a UDP
# socket on each port at the end, or on one of them with SOCKETS=1.
check_sports() {
	local mtu=$1 pmtu=$2 sockets=${3:-2} pcap=${ROOT[1]}/sports.pcap
	local want got port pid qpn held=0
	local -a ports=()
	netns_tcpdump 1 "$pcap" -i "${VETH[1]}" -s 96 -c 4000 \
		udp dst port 4791 and src host "${ADDR[1]}"
	netns_bw 0 1 ib_write_bw "$pmtu" -q 2 -n 100 # 200 in all
	netns_tcpdump_stop 50
	for qpn in $(sed -nE 's/^ *local address: .*QPN (0x[0-9a-f]+).*/\1/p' \
		<<<"$LAST_CLIENT"); do
		ports+=("$(rxe_sport "$qpn")")
	done
	((${#ports[@]} == 2)) ||
		fail "ib_write_bw -q 2 showed ${#ports[@]} local QPNs: $LAST_CLIENT"
	want=$(printf '%s\n' "${ports[@]}" | sort -un | xargs)
	got=$(tcpdump -r "$pcap" -nn 2>/dev/null |
		sed -nE 's/.* IP [0-9.]+\.([0-9]+) > [0-9.]+\.4791: .*/\1/p' |
		sort -un | xargs)
	[[ $want == *" "* ]] || fail "two QPs, one source port: $want"
	[[ $got == "$want" ]] ||
		fail "source ports on the wire: '$got', the QPs': '$want'"
	[[ " $got " != *" 4791 "* ]] || fail "source port 4791 on the wire"
	for port in "${ports[@]}"; do
		tcpdump -r "$pcap" -nn 2>/dev/null |
			sed -nE "s/.* IP [0-9.]+\.$port > .*[: ]length ([0-9]+)\$/\1/p" |
			awk -v m="$mtu" '$1 > m { r = 1 } END { exit !r }' ||
			fail "no run from source port $port (raw path?)"
	done
	pid=$(cat "${ROOT[1]}/${DEV[1]}/srxed.pid")
	for port in "${ports[@]}"; do
		in_ns 1 ss -u -a -n -p | grep "pid=$pid," |
			grep -q "${ADDR[1]}:$port " && held=$((held + 1))
	done
	((held == sockets)) ||
		fail "srxed holds $held source-port sockets of ${ports[*]}, not $sockets"
	netns_check_wire 0 1
	echo "ok: per-QP source ports on the wire: $got (QPNs of ib_write_bw" \
		"-q 2), sent from srxed's source-port sockets ($sockets)"
}

# One source-port socket for two QPs: each switch closes one and binds
# the other (the batch leaves first, so each QP keeps its order).
check_sport_eviction() {
	local mtu=$1 pmtu=$2
	netns_dev_down 1 "${DEV[1]}"
	SRXE_WIRE_SPORTS=1 netns_dev_up 1 "${DEV[1]}"
	check_sports "$mtu" "$pmtu" 1
	netns_dev_down 1 "${DEV[1]}"
	netns_dev_up 1 "${DEV[1]}"
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
	netns_tcpdump_stop 200
	longest=$(tcpdump -r "$pcap" -nn 2>/dev/null |
		sed -nE 's/.* > .*[: ]length ([0-9]+)$/\1/p' | sort -n | tail -n 1)
	[[ -n $longest ]] || fail "tcpdump captured no RoCEv2 datagram"
	((longest > mtu)) ||
		fail "no uncut GSO run on the wire (longest UDP payload $longest)"
	echo "ok: uncut runs on the wire at MTU $mtu (longest UDP payload" \
		"$longest B), cut by the receiver"
}

# A second device on host 0 (another address): its traffic with DEV[0]
# goes over lo.
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
	echo "ok: same-host pair over lo"
}

# A raw-mode device on host 1 (SRXE_WIRE_GSO=0, another address): it
# logs the fallback in one line; ib_write_bw both ways with DEV[0], which
# sends it uncut runs over the veth (its packet socket cuts them).
check_raw_peer() {
	local pmtu=$1 extra=srxe${NETNS_TAG}$$r1 addr=${NETNS_SUBNET}.12
	netns_add_addr 1 "$addr"
	SRXE_WIRE_GSO=0 netns_dev_up 1 "$extra" --ip "$addr"
	grep -q "RoCEv2/UDP: batched send off (SRXE_WIRE_GSO=0)" \
		"${ROOT[1]}/$extra/srxed.log" ||
		fail "$extra did not log its raw mode: $(cat "${ROOT[1]}/$extra/srxed.log")"
	NETNS_CDEV=$extra netns_bw 0 1 ib_write_bw "$pmtu"
	NETNS_SDEV=$extra NETNS_SADDR=$addr netns_bw 1 0 ib_write_bw "$pmtu"
	(($(netns_counter 1 wire_drops "$extra") == 0)) ||
		fail "$extra dropped datagrams: $(netns_status 1 "$extra")"
	(($(netns_counter 0 wire_drops) == 0)) ||
		fail "${DEV[0]} dropped datagrams: $(netns_status 0)"
	netns_dev_down 1 "$extra"
	ip -n "${NS[1]}" addr del "$addr/24" dev "${VETH[1]}"
	echo "ok: raw-mode peer and default device, both ways"
}

run_all() {
	local mtu=$1 pmtu=$2
	shift 2
	check_gso_mode 0 1
	netns_pingpong 0 1 ibv_rc_pingpong -s 4096 "$@"
	netns_pingpong 0 1 ibv_rc_pingpong -s 65536 "$@"
	netns_pingpong 0 1 ibv_ud_pingpong -s "$pmtu"
	check_uncut_runs "$mtu" "$pmtu"
	check_sports "$mtu" "$pmtu"
	netns_bw 0 1 ib_read_bw "$pmtu" -o 16
	netns_bw 0 1 ib_send_bw "$pmtu"
	netns_check_wire 0 1
	check_same_host "$@"
	check_raw_peer "$pmtu"
	check_sport_eviction "$mtu" "$pmtu"
}

netns_make 2 1500
netns_up
run_all 1500 1024
netns_down
netns_set_mtu 9000
netns_up
run_all 9000 4096 -m 4096
echo "PASS"
