#!/bin/bash
# Issue #10, must-show 4: libfabric's fi_pingpong over srxe between two
# network namespaces with default settings:
#   fi_pingpong -p "verbs;ofi_rxd" -e rdm [server]
# The verbs provider's datagram endpoints address peers by GID index 0
# (FI_VERBS_GID_IDX unset), which is the device's IPv6 link-local address:
# this is RoCEv2 over IPv6 end to end (UD QPs, address handles on fe80::
# GIDs).  Asserts both sides print every message size's result row, the
# frames on the veth are IPv6 RoCEv2 and no device dropped a datagram.
# ctest label `middleware`.
here=$(dirname "$0")
NETNS_TAG=lf # read by netns_lib.sh
NETNS_IPV6=1
# shellcheck source=netns_lib.sh disable=SC2034
source "$here/netns_lib.sh"
require_prerequisites
command -v fi_pingpong >/dev/null ||
	skip "fi_pingpong is not installed (libfabric-bin)"
command -v tcpdump >/dev/null || skip "no tcpdump to look at the wire"

netns_make 2 1500
netns_up

pcap=${ROOT[1]}/lf.pcap
netns_tcpdump 1 "$pcap" -i "${VETH[1]}" -s 96 ip6 and udp port 4791
tcpdump_pid=$NETNS_LAST_BG

run_pair "fi_pingpong" fi_pingpong -p "verbs;ofi_rxd" -e rdm -- \
	fi_pingpong -p "verbs;ofi_rxd" -e rdm "${ADDR[0]}"
for size in 64 256 1k 4k 64k 1m; do
	assert_contains "$LAST_CLIENT" "^$size +10 +=10 " "client row $size"
	assert_contains "$LAST_SERVER" "^$size +10 +=10 " "server row $size"
done
sleep 0.5
kill -INT "$tcpdump_pid" 2>/dev/null || true
wait "$tcpdump_pid" 2>/dev/null || true
v6=$(tcpdump -r "$pcap" -nn 2>/dev/null | grep -c "fe80::.*\.4791: UDP")
((v6 > 0)) || fail "no IPv6 RoCEv2 frame on the wire"
netns_check_wire 0 1
echo "ok: fi_pingpong verbs;ofi_rxd rdm across namespaces:" \
	"$(grep -E '^1m ' <<<"$LAST_CLIENT" | awk '{print $6 " MB/s at 1m"}')," \
	"$v6 IPv6 RoCEv2 frames seen on host 1's veth"
netns_down # fails on a sanitizer report in srxed's log
echo "PASS"
