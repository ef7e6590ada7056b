#!/bin/bash
# Issue #11, must-show 2: rdma_cm between two hosts (two network
# namespaces joined by a veth, one srxed each), both directions: rping
# with verified data, udaddy (UD through SIDR), mckey (a multicast group
# joined on both hosts), ib_send_bw -R and udpong (datagram rsockets:
# found over UDP, then UD across the veth).  Every CM MAD crosses the veth
# as RoCEv2 to QP 1; afterwards neither device dropped a datagram.
here=$(dirname "$0")
NETNS_TAG=cm # read by netns_lib.sh
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
[[ -e $SRXE_BUILD/providers/rdmacm/librdmacm.so.1 ]] ||
	fail "srxe's librdmacm is not built"
for t in rping udaddy mckey ib_send_bw udpong; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done
# rdma_cm clients report a missing listener as a rejection (RC) or as
# UNREACHABLE (UD: SIDR_REP "no service"; netns_pair matches case-sensitively).
NETNS_RETRY_RE="REJECTED|UNREACHABLE|unreachable|error 8|status 8|connect error|failed to connect|Couldn.t connect|Unexpected CM event"

netns_make 2 1500
netns_up

both_ways() {
	local s c
	for s in 0 1; do
		c=$((1 - s))
		"$@" "$s" "$c"
	done
}

rping_pair() {
	local s=$1 c=$2 port=$((20000 + RANDOM % 20000)) n
	netns_pair "$s" "$c" "rping" rping -s -a "${ADDR[$s]}" -p "$port" \
		-C 100 -V -- rping -c -a "${ADDR[$s]}" -p "$port" -C 100 -v -V
	# stderr (the CM thread's messages) may cut into a line: grep -o
	n=$(grep -oE "rdma-ping-[0-9]+: " <<<"$LAST_CLIENT" |
		sort -u | wc -l)
	((n == 100)) || fail "rping $c -> $s: $n verified pings, not 100"
	echo "ok: rping host $c -> host $s, 100 verified"
}

udaddy_pair() {
	local s=$1 c=$2 log=${ROOT[$1]}/${DEV[$1]}/srxed.log
	# The client starts once the server listens: a client that came too
	# early gets UNREACHABLE for its first SIDR requests while later ones
	# are accepted, and the server, which takes 4 connections and then
	# stops answering, never serves its retry.  Line-buffered: a server
	# that is killed still shows how far it got.
	NETNS_SERVER_WAIT="listens_more $(listens_logged "$log") $log" \
		netns_pair "$s" "$c" "udaddy" stdbuf -oL udaddy \
		-b "${ADDR[$s]}" -c 4 -C 10 -- \
		udaddy -s "${ADDR[$s]}" -c 4 -C 10
	assert_contains "$LAST_CLIENT" "test complete" "udaddy client"
	assert_contains "$LAST_SERVER" "test complete" "udaddy server"
	echo "ok: udaddy host $c -> host $s"
}

mckey_pair() {
	local s=$1 c=$2
	# The sender starts once the receiver has joined (its line-buffered
	# output says so).
	NETNS_SERVER_READY="receiving data transfers" netns_pair "$s" "$c" \
		"mckey" stdbuf -oL mckey -m 239.7.7.7 -b "${ADDR[$s]}" -C 10 -- \
		mckey -m 239.7.7.7 -b "${ADDR[$c]}" -s -C 10
	assert_contains "$LAST_SERVER" "test complete" "mckey receiver"
	assert_contains "$LAST_CLIENT" "test complete" "mckey sender"
	echo "ok: mckey host $c sends to the group, host $s receives"
}

send_bw_pair() {
	local s=$1 c=$2 port=$((20000 + RANDOM % 20000))
	local log=${ROOT[$s]}/${DEV[$s]}/srxed.log
	# The client starts once the server listens: perftest 4.5 retries a
	# rejected connect itself on rdma_cm ids it has destroyed, and
	# crashes (SIGSEGV in rdma_resolve_addr, seen under CPU load).
	NETNS_SERVER_WAIT="listens_more $(listens_logged "$log") $log" \
		netns_pair "$s" "$c" "ib_send_bw -R" ib_send_bw -d "${DEV[$s]}" -R \
		-F -n 200 -p "$port" -- \
		ib_send_bw -d "${DEV[$c]}" -R -F -n 200 -p "$port" "${ADDR[$s]}"
	assert_contains "$LAST_CLIENT" "^ *65536 +200 +[0-9.]+ +[0-9.]+" \
		"ib_send_bw -R result row"
	echo "ok: ib_send_bw -R host $c -> host $s"
}

udpong_pair() {
	netns_udpong "$1" "$2" "${ADDR[$1]}" "${ADDR[$2]}"
}

both_ways rping_pair
both_ways udaddy_pair
both_ways mckey_pair
both_ways send_bw_pair
both_ways udpong_pair
netns_check_wire 0 1
netns_down # fails on a sanitizer report in srxed's log
echo "PASS"
