#!/bin/bash
# Issue #5, several devices per machine, inside network namespaces: host 0
# runs two srxe devices in one runtime root, on two addresses of its
# interface; host 1 runs one.  ibv_devices in host 0 lists both; traffic
# flows from host 1 to each of host 0's devices and between host 0's two
# devices; `srxe down --name` of one leaves the other (and its counters)
# intact and working.  Everything is removed at the end (netns_lib.sh).
here=$(dirname "$0")
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_TAG=md
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
command -v ib_write_bw >/dev/null || fail "perftest is not installed"
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_ITERS=10

netns_make 2 1500
ADDR2=$NETNS_SUBNET.11
DEV2=srxemd$$y0
netns_add_addr 0 "$ADDR2"
netns_up
netns_dev_up 0 "$DEV2" --ip "$ADDR2"

out=$(in_ns 0 "$SRXE" exec -- ibv_devices)
assert_contains "$out" "^[[:space:]]+${DEV[0]}[[:space:]]" "ibv_devices lists ${DEV[0]}"
assert_contains "$out" "^[[:space:]]+${DEV2}[[:space:]]" "ibv_devices lists $DEV2"
out=$(in_ns 1 "$SRXE" exec -- ibv_devices)
assert_not_contains "$out" "$DEV2" "host 1 does not see host 0's devices"
out=$(in_ns 0 "$SRXE" exec -- ibv_devinfo -v -d "$DEV2")
assert_contains "$out" "GID\[ *1\]:[[:space:]]+::ffff:$ADDR2" "$DEV2 GID 1"
out=$(in_ns 0 "$SRXE" status)
assert_contains "$out" "^${DEV[0]}\$" "status lists ${DEV[0]}"
assert_contains "$out" "^$DEV2\$" "status lists $DEV2"

# Host 1 to each device of host 0.
netns_pingpong 0 1 ibv_rc_pingpong -s 4096
NETNS_SDEV=$DEV2 NETNS_SADDR=$ADDR2 netns_pingpong 0 1 ibv_rc_pingpong -s 4096
NETNS_SDEV=$DEV2 NETNS_SADDR=$ADDR2 netns_pingpong 0 1 ibv_ud_pingpong -s 1024
NETNS_SDEV=$DEV2 NETNS_SADDR=$ADDR2 netns_bw 0 1 ib_write_bw 1024
# Between the two devices of host 0 (same host, two addresses: RoCEv2/UDP).
NETNS_SDEV=$DEV2 NETNS_SADDR=$ADDR2 netns_pingpong 0 0 ibv_rc_pingpong -s 4096
NETNS_CDEV=$DEV2 netns_pingpong 0 0 ibv_rc_pingpong -s 65536
NETNS_SDEV=$DEV2 NETNS_SADDR=$ADDR2 netns_bw 0 0 ib_read_bw 1024
netns_check_wire 0 1
(($(netns_counter 0 wire_pkts_recv "$DEV2") > 0)) ||
	fail "$DEV2 received nothing from the wire"
(($(netns_counter 0 wire_drops "$DEV2") == 0)) || fail "$DEV2 dropped datagrams"

# Taking one device down leaves the other one alone.
sent=$(netns_counter 0 wire_pkts_sent)
netns_dev_down 0 "$DEV2"
out=$(in_ns 0 "$SRXE" exec -- ibv_devices)
assert_not_contains "$out" "$DEV2" "$DEV2 gone after down"
assert_contains "$out" "^[[:space:]]+${DEV[0]}[[:space:]]" "${DEV[0]} still listed"
(($(netns_counter 0 wire_pkts_sent) >= sent)) ||
	fail "${DEV[0]}'s counters were reset by taking $DEV2 down"
netns_pingpong 0 1 ibv_rc_pingpong -s 4096
netns_bw 0 1 ib_send_bw 1024
echo "PASS"
