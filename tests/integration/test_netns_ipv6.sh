#!/bin/bash
# Issue #10: RoCEv2 over IPv6.  GID 0 is each device's IPv6 link-local
# address (the netdev's own, EUI-64) and carries traffic; GID 1 stays the
# IPv4-mapped one.  Two network namespaces over a veth (IPv6 link-local
# without DAD, netns_lib.sh NETNS_IPV6):
#   - GID 0 in sysfs is the veth's link-local address;
#   - ibv_rc_pingpong -g 0, ibv_ud_pingpong -g 0 and ib_write_bw -x 0
#     between the namespaces, the peers seeing each other's fe80:: GID;
#     udpong (datagram rsockets) between the link-local addresses;
#   - the frames on the veth are IPv6/UDP 4791 RoCEv2 whose ICRCs the
#     independent checker (tests/tools/icrc_check.py) finds correct, and
#     tshark decodes as InfiniBand without a malformed packet;
#   - same host: a QP pair on one device through its own GID 0 (the
#     same-host transport, keyed on the IPv6 address), and two devices of
#     one namespace on a second veth pair talking over their GIDs 0;
#   - a device on lo (no link-local address) publishes the IPv4-mapped
#     GID as GID 0 too (no fe80:: GID nothing answers on); -g 0 and -g 1
#     both work.
# Wire counters: datagrams sent and received, no drops.
here=$(dirname "$0")
NETNS_TAG=v6 # read by netns_lib.sh
NETNS_IPV6=1
# shellcheck source=netns_lib.sh disable=SC2034
source "$here/netns_lib.sh"
require_prerequisites
command -v ib_write_bw >/dev/null || fail "perftest is not installed"
command -v tcpdump >/dev/null || skip "no tcpdump to look at the wire"
CHECK=$here/../tools/icrc_check.py

# gid I DEV N: GID N of device DEV in host I, as sysfs shows it.
gid() {
	cat "${ROOT[$1]}/sys/class/infiniband/$2/ports/1/gids/$3"
}

# The kernel's 8-group form of a compressed IPv6 address.
full_form() {
	"$PY" -c 'import ipaddress, sys
print(":".join("%04x" % int.from_bytes(ipaddress.IPv6Address(sys.argv[1]).packed[i:i + 2], "big") for i in range(0, 16, 2)))' "$1"
}

# v6_pair S C SDEV CDEV SADDR SLL TOOL [args...]: TOOL with -g 0 from
# device CDEV in host C to SDEV in host S (TCP exchange to SADDR);
# both sides finish and the client saw the server's link-local GID.
v6_pair() {
	local s=$1 c=$2 sdev=$3 cdev=$4 saddr=$5 sll=$6 tool=$7
	local port=$((20000 + RANDOM % 20000))
	shift 7
	local -a args=(-g 0 -p "$port" -n "$NETNS_ITERS" "$@")
	netns_pair "$s" "$c" "$tool -g 0 $*" "$tool" -d "$sdev" "${args[@]}" -- \
		"$tool" -d "$cdev" "${args[@]}" "$saddr"
	assert_contains "$LAST_CLIENT" "^$NETNS_ITERS iters in" "$tool client"
	assert_contains "$LAST_SERVER" "^$NETNS_ITERS iters in" "$tool server"
	assert_contains "$LAST_CLIENT" "remote address: .*GID $sll\$" \
		"$tool: the server's link-local GID"
	echo "ok: $tool -g 0 $* ($sdev <- $cdev, $sll)"
}

netns_make 2 1500
LL0=$(netns_wait_ll 0 "${VETH[0]}")
LL1=$(netns_wait_ll 1 "${VETH[1]}")
netns_up

# GID table: 0 = the veth's link-local address, 1 = IPv4-mapped.
for i in 0 1; do
	ll=$([[ $i == 0 ]] && echo "$LL0" || echo "$LL1")
	[[ $(gid "$i" "${DEV[$i]}" 0) == "$(full_form "$ll")" ]] ||
		fail "${DEV[$i]} GID 0 is $(gid "$i" "${DEV[$i]}" 0), not $ll"
	[[ $(gid "$i" "${DEV[$i]}" 1) == *ffff:* ]] ||
		fail "${DEV[$i]} GID 1 is not IPv4-mapped: $(gid "$i" "${DEV[$i]}" 1)"
done
echo "ok: GID 0 = $LL0 / $LL1 (the veths' link-local), GID 1 IPv4-mapped"

# Across the namespaces, captured on host 1's veth.
pcap=${ROOT[1]}/v6.pcap
netns_tcpdump 1 "$pcap" -i "${VETH[1]}" -s 0 ip6 and udp port 4791
tcpdump_pid=$NETNS_LAST_BG
v6_pair 0 1 "${DEV[0]}" "${DEV[1]}" "${ADDR[0]}" "$LL0" ibv_rc_pingpong \
	-s 4096
v6_pair 0 1 "${DEV[0]}" "${DEV[1]}" "${ADDR[0]}" "$LL0" ibv_ud_pingpong \
	-s 1024
# Datagram rsockets over the link-local addresses, each with its host's
# link.
netns_udpong 0 1 "$LL0%${VETH[0]}" "$LL1%${VETH[1]}" "$LL0%${VETH[1]}"
sleep 0.5
kill -INT "$tcpdump_pid" 2>/dev/null || true
wait "$tcpdump_pid" 2>/dev/null || true
out=$("$PY" "$CHECK" "$pcap") || fail "ICRC check of the IPv6 frames: $out"
assert_contains "$out" "RoCEv2 packets, [1-9][0-9]* valid ICRC, 0 invalid" \
	"IPv6 ICRCs"
frames=$(tshark -r "$pcap" -Y "ipv6 && infiniband" 2>/dev/null | wc -l)
malformed=$(tshark -r "$pcap" --disable-heuristic rpcrdma_infiniband \
	-Y _ws.malformed 2>/dev/null | wc -l)
((frames > 0 && malformed == 0)) ||
	fail "tshark: $frames IPv6 InfiniBand frames, $malformed malformed"
echo "ok: IPv6 on the wire: $(tail -n 1 <<<"$out"); tshark: $frames" \
	"InfiniBand frames over IPv6, 0 malformed"

NETNS_SADDR=${ADDR[0]} netns_bw 0 1 ib_write_bw 1024 -x 0 -F -n 200 -s 65536
# perftest prints GIDs as decimal bytes: 254:128 is fe80.
assert_contains "$LAST_CLIENT" "remote address: .*" "ib_write_bw remote"
assert_contains "$LAST_CLIENT" "GID: 254:128:00:00:00:00:00:00:" \
	"ib_write_bw used the link-local GID 0"
netns_check_wire 0 1

# Same host, one device: the QP pair meets through the same-host
# transport, addressed by the device's own IPv6 GID.
sent=$(netns_counter 0 wire_pkts_sent)
v6_pair 0 0 "${DEV[0]}" "${DEV[0]}" "${ADDR[0]}" "$LL0" ibv_rc_pingpong
(($(netns_counter 0 wire_pkts_sent) == sent)) ||
	fail "same-device traffic went to the wire"
echo "ok: same device over its own GID 0 stays off the wire"

# Same host, two devices on a veth pair inside host 0.
la=sxla$$ lb=sxlb$$ da=srxe${NETNS_TAG}$$a db=srxe${NETNS_TAG}$$b
ip -n "${NS[0]}" link add "$la" type veth peer name "$lb"
for x in "$la 10.199.77.1" "$lb 10.199.77.2"; do
	# shellcheck disable=SC2086 # "veth address" pairs
	set -- $x
	ip -n "${NS[0]}" addr add "$2/24" dev "$1"
	ip netns exec "${NS[0]}" sysctl -qw "net.ipv6.conf.$1.accept_dad=0"
	ip -n "${NS[0]}" link set "$1" addrgenmode eui64
	ip -n "${NS[0]}" link set "$1" up
done
lla=$(netns_wait_ll 0 "$la")
netns_wait_ll 0 "$lb" >/dev/null
netns_dev_up 0 "$da" --netdev "$la"
netns_dev_up 0 "$db" --netdev "$lb"
v6_pair 0 0 "$da" "$db" 10.199.77.1 "$lla" ibv_rc_pingpong -s 4096
v6_pair 0 0 "$da" "$db" 10.199.77.1 "$lla" ibv_ud_pingpong -s 1024
(($(netns_counter 0 wire_pkts_recv "$da") > 0)) ||
	fail "$da received nothing from the wire"
(($(netns_counter 0 wire_drops "$da") == 0)) ||
	fail "$da dropped datagrams: $(netns_status 0 "$da")"
netns_dev_down 0 "$da"
netns_dev_down 0 "$db"
echo "ok: two devices of one host over their IPv6 GIDs"

# A device on lo: no link-local address, so no fe80:: GID: GID 0 is the
# IPv4-mapped one as well, and both indices carry traffic.
lo=srxe${NETNS_TAG}$$l
netns_dev_up 0 "$lo" --netdev lo
for n in 0 1; do
	[[ $(gid 0 "$lo" $n) == 0000:0000:0000:0000:0000:ffff:7f00:0001 ]] ||
		fail "$lo on lo: GID $n is $(gid 0 "$lo" $n)"
done
NETNS_SDEV=$lo NETNS_CDEV=$lo NETNS_SADDR=127.0.0.1 \
	netns_pingpong 0 0 ibv_rc_pingpong
port=$((20000 + RANDOM % 20000))
netns_pair 0 0 "rc_pingpong -g 0 on lo" ibv_rc_pingpong -d "$lo" -g 0 \
	-p "$port" -n 20 -- ibv_rc_pingpong -d "$lo" -g 0 -p "$port" -n 20 \
	127.0.0.1
assert_contains "$LAST_CLIENT" "^20 iters in" "rc_pingpong -g 0 on lo"
out=$(in_ns 0 "$SRXE" exec -- ibv_devinfo -d "$lo" -v 2>&1)
assert_contains "$out" "GID\[ *0\]:.*::ffff:127.0.0.1" "ibv_devinfo GID 0"
assert_contains "$out" "GID\[ *1\]:.*::ffff:127.0.0.1" "ibv_devinfo GID 1"
netns_dev_down 0 "$lo"
echo "ok: a device on lo has GID 0 = GID 1 = ::ffff:127.0.0.1, -g 0 and" \
	"-g 1 work"
netns_down # fails on a sanitizer report in srxed's log
echo "PASS"
