#!/bin/bash
# Issue #14, engine threads on the wire: two hosts (network namespaces
# joined by a veth, MTU 9000) each run a device with `srxe up --engines
# 3`.  The first engine thread receives every datagram and hands it to
# the thread serving its QP; every thread sends through the device's one
# wire, one at a time.  An idle context holds the first thread on each
# host, so the pairs' contexts are served by another thread and every
# packet they get crosses threads.  Unmodified tools move and check data
# (rc/uc/ud pingpong -c, perftest WRITE/READ/SEND/atomics); each host's
# `srxe status` must show hand-offs, none dropped, and the wire counters
# datagrams both ways without ICRC drops.
here=$(dirname "$0")
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
command -v ib_write_bw >/dev/null || fail "perftest is not installed"

# thread_ctxs I: the "contexts per engine thread" counts of host I.
thread_ctxs() {
	local st
	st=$(netns_status "$1") || fail "srxe status in ${NS[$1]}"
	status_thread_ctxs "$st"
}

# first_thread_held I: host I's one context is on the first thread.
first_thread_held() {
	[[ $(thread_ctxs "$1") == "1 0 0" ]]
}

# hold_first_thread I: a server that never gets its client keeps one
# context open on host I, placed on the first thread (all were empty).
hold_first_thread() {
	local i=$1
	netns_bg "$i" "$SRXE" exec -- timeout 120 ibv_rc_pingpong \
		-d "${DEV[$i]}" -g 1 -p $((40000 + i)) >/dev/null 2>&1
	wait_until 100 first_thread_held "$i" ||
		fail "host $i: the idle context did not show up ($(thread_ctxs "$i"))"
}

check_handoffs() {
	local i=$1 st direct queued dropped
	st=$(netns_status "$i") || fail "srxe status in ${NS[$i]}"
	assert_contains "$st" "engine: +threads 3," "host $i engine threads"
	read -r direct queued dropped <<<"$(status_handoffs "$st")"
	((direct + queued > 0 && dropped == 0)) ||
		fail "host $i: $direct direct, $queued queued, $dropped dropped hand-offs"
	echo "ok: host $i: $direct hand-offs at once, $queued queued, none dropped"
}

netns_make 2 9000
netns_up --engines 3
hold_first_thread 0
hold_first_thread 1
netns_pingpong 0 1 ibv_rc_pingpong -m 4096 -s 65536
netns_pingpong 0 1 ibv_uc_pingpong -m 4096 -s 4096
netns_pingpong 0 1 ibv_ud_pingpong -s 4096
netns_bw 0 1 ib_write_bw 4096
netns_bw 0 1 ib_read_bw 4096
netns_bw 0 1 ib_send_bw 4096
netns_bw 0 1 ib_atomic_bw 4096 -A FETCH_AND_ADD
check_handoffs 0
check_handoffs 1
netns_check_wire 0 1
netns_down
echo "PASS"
