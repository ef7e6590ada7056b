#!/bin/bash
# Issue #14: RoCEv2 that arrives on a link other than Ethernet or
# loopback reaches srxe (transport_udp.c: the cooked packet socket takes
# such unicast, the packet socket Ethernet's and loopback's; no raw
# socket, which would be handed a clone of every datagram, is open until
# a multicast group is joined).  The link is a pair of TUN devices
# (link type NONE) joined by tun_relay.py: each host gets a second
# address on its veth, and the route to the other host's second address
# goes through its TUN device, so every datagram between the two srxe
# devices (on the second addresses) leaves and arrives through it.
# ibv_rc_pingpong and ib_write_bw across; both devices sent, received and
# dropped nothing, and host 0's TUN device carried the traffic.
here=$(dirname "$0")
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_TAG=tn
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
command -v ib_write_bw >/dev/null || fail "perftest is not installed"
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_ITERS=10

netns_make 2 1500
TUN=sxtn$$
TADDR=("$NETNS_SUBNET.11" "$NETNS_SUBNET.12")
SOCKS=$(mktemp -d /tmp/srxe-tun.XXXXXX)
NETNS_HOOKS+=("rm -rf '$SOCKS'")
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun"
for i in 0 1; do
	ip netns exec "${NS[$i]}" python3 "$here/tun_relay.py" "$TUN" \
		"$SOCKS/$i" "$SOCKS/$((1 - i))" >"$SOCKS/log$i" 2>&1 &
	NETNS_BG_PIDS+=($!)
done
for i in 0 1; do
	for _ in $(seq 50); do
		grep -q ready "$SOCKS/log$i" && break
		sleep 0.1
	done
	grep -q ready "$SOCKS/log$i" ||
		fail "tun_relay.py in ${NS[$i]}: $(cat "$SOCKS/log$i")"
	ip -n "${NS[$i]}" link set "$TUN" up mtu 1500 || fail "cannot set $TUN up"
	netns_add_addr "$i" "${TADDR[$i]}"
done
for i in 0 1; do
	j=$((1 - i))
	ip -n "${NS[$i]}" route add "${TADDR[$j]}/32" dev "$TUN" \
		src "${TADDR[$i]}" || fail "cannot route ${TADDR[$j]} via $TUN"
	netns_dev_up "$i" "${DEV[$i]}" --ip "${TADDR[$i]}"
done
tunnel_rx() {
	ip -n "${NS[$1]}" -s -j link show "$TUN" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'
}
before=$(tunnel_rx 0)

NETNS_SADDR=${TADDR[0]} netns_pingpong 0 1 ibv_rc_pingpong -s 4096
NETNS_SADDR=${TADDR[0]} netns_bw 0 1 ib_write_bw 1024
netns_check_wire 0 1
# ib_write_bw: 200 x 64 KiB in 1 KiB packets, all through the tunnel
got=$(($(tunnel_rx 0) - before))
((got >= 200 * 64)) || fail "host 0's tunnel received $got packets"
echo "ok: $got packets arrived through $TUN"
echo "PASS"
