#!/bin/bash
# Issue #10, UD multicast: ibv_attach_mcast / ibv_detach_mcast with
# IPv4-mapped multicast GIDs.  Host 0 runs two srxe devices on two
# addresses of its interface, host 1 one (netns_lib.sh).  Then IPv6
# groups (ff0x::, GID 0 = link-local), see the section below.
#  - mcast_multi: one sender, receivers on both devices of host 0 (and
#    one with another Q_Key), every message once with its data, a detached
#    QP gets no more; the attach/detach errors of rxe.
#  - a client that dies while attached is detached by srxed.
#  - perftest ib_send_bw -c UD --mcg (-M an IPv4-mapped group, GID 1):
#    across the two namespaces, between the two devices of host 0, and
#    server and client on one device.
here=$(dirname "$0")
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_TAG=mc
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
command -v ib_send_bw >/dev/null || fail "perftest is not installed"
MULTI=$SRXE_BUILD/tests/mcast_multi
[[ -x $MULTI ]] || fail "$MULTI is not built"

netns_make 2 1500
ADDR2=$NETNS_SUBNET.11
DEV2=srxemc$$y0
netns_add_addr 0 "$ADDR2"
netns_up
netns_dev_up 0 "$DEV2" --ip "$ADDR2"
# A group per run, so that concurrent runs never share one.
GROUP=239.$((($$ >> 8) & 255)).$(($$ & 255)).1

out=$(in_ns 0 "$SRXE" exec -- timeout 60 "$MULTI" "${DEV[0]}" "$DEV2" \
	"$GROUP" 32 2>&1) || fail "mcast_multi: $out"
echo "$out"
assert_contains "$out" "^PASS$" "mcast_multi"
(($(netns_counter 0 mcast_recv) >= 64)) || fail "${DEV[0]}: $(netns_status 0)"
(($(netns_counter 0 mcast_recv "$DEV2") >= 64)) ||
	fail "$DEV2: $(netns_status 0 "$DEV2")"
(($(netns_counter 0 bad_qkey) >= 32)) ||
	fail "the Q_Key mismatches are not counted: $(netns_status 0)"
(($(netns_counter 0 mcast_groups) == 0)) || fail "groups left on ${DEV[0]}"
(($(netns_counter 0 mcast_groups "$DEV2") == 0)) || fail "groups left on $DEV2"
# Host 1 never joined: its kernel does not even hand it the datagrams.
(($(netns_counter 1 mcast_recv) == 0)) || fail "host 1 got multicast"

# A client that dies while attached: srxed detaches (and leaves) for it.
out=$(in_ns 0 "$SRXE" exec -- timeout 30 "$MULTI" --die "$DEV2" "$GROUP" 2>&1) ||
	fail "mcast_multi --die: $out"
for _ in $(seq 50); do
	(($(netns_counter 0 mcast_attached "$DEV2") == 0)) && break
	sleep 0.1
done
(($(netns_counter 0 mcast_attached "$DEV2") == 0)) ||
	fail "a dead client's QP is still attached: $(netns_status 0 "$DEV2")"
(($(netns_counter 0 mcast_groups "$DEV2") == 0)) || fail "group not left"
ip -n "${NS[0]}" maddr show dev "${VETH[0]}" | grep -q "$GROUP" &&
	fail "the kernel still has $GROUP joined on ${VETH[0]}"
echo "ok: a dead client's attachment is gone"

# perftest's multicast mode: the server attaches, the client sends to
# the group's QPN 0xFFFFFF.  Every one of the 1000 messages must arrive
# (the server counts them; UD has no retries).
mcg_bw() {
	local s=$1 c=$2 sdev=$3 cdev=$4 port=$((20000 + RANDOM % 20000))
	local mgid
	mgid=0:0:0:0:0:0:0:0:0:0:255:255:${GROUP//./:}
	mgid=${mgid%:1}:$((${GROUP##*.} + 1))
	local -a args=(-c UD -g -x 1 -M "$mgid" -s 1024 -n 1000 -F -p "$port")
	netns_pair "$s" "$c" "ib_send_bw --mcg" \
		ib_send_bw -d "$sdev" "${args[@]}" -- \
		ib_send_bw -d "$cdev" "${args[@]}" "${ADDR[$s]}"
	assert_contains "$LAST_SERVER" "MGID: .*:239:" "server's group"
	assert_contains "$LAST_CLIENT" "QPN 0xffffff" "client sends to the group"
	assert_contains "$LAST_CLIENT" "^ *1024 +1000 +[0-9.]+ +[0-9.]+" \
		"client result row"
	assert_contains "$LAST_SERVER" "^ *1024 +1000 +[0-9.]+ +[0-9.]+" \
		"server result row"
	echo "ok: ib_send_bw --mcg $cdev -> $sdev: $(grep -E '^ *1024 +1000 ' \
		<<<"$LAST_SERVER" | awk '{print $4 " MB/s"}')"
}
before=$(netns_counter 0 mcast_recv)
mcg_bw 0 1 "${DEV[0]}" "${DEV[1]}"
(($(netns_counter 0 mcast_recv) - before >= 1000)) ||
	fail "${DEV[0]} did not count the group's packets"
mcg_bw 0 0 "${DEV[0]}" "$DEV2"
mcg_bw 0 0 "${DEV[0]}" "${DEV[0]}"
netns_check_wire 0
(($(netns_counter 1 wire_pkts_sent) >= 1000)) || fail "host 1 sent nothing"
(($(netns_counter 1 wire_drops) == 0)) || fail "host 1 dropped datagrams"
(($(netns_counter 0 wire_drops "$DEV2") == 0)) || fail "$DEV2 dropped datagrams"
(($(netns_counter 0 mcast_no_group) == 0)) || fail "mcast_no_group drops"
# $DEV2 shares the interface: it saw ${DEV[0]}'s group go by, not a drop.
(($(netns_counter 0 mcast_other_group "$DEV2") > 0)) ||
	fail "$DEV2 did not count the other device's group"
netns_dev_down 0 "$DEV2"

# IPv6 groups (RoCEv2 over IPv6, GID 0 = the netdev's link-local
# address, which needs a real netdev): two devices of host 0 on the two
# ends of a veth pair, $DA on $LA and $DB on $LB.  A sender on $DA
# reaches $DA's own members through the kernel's multicast loopback and
# $DB's across the veth.
LA=sxma$$ LB=sxmb$$ DA=srxe${NETNS_TAG}$$a DB=srxe${NETNS_TAG}$$b
ip -n "${NS[0]}" link add "$LA" type veth peer name "$LB"
for x in "$LA 10.198.$(($$ % 200)).1" "$LB 10.198.$(($$ % 200)).2"; do
	# shellcheck disable=SC2086 # "veth address" pairs
	set -- $x
	ip -n "${NS[0]}" addr add "$2/24" dev "$1"
	ip netns exec "${NS[0]}" sysctl -qw "net.ipv6.conf.$1.disable_ipv6=0" \
		"net.ipv6.conf.$1.accept_dad=0" || skip "no IPv6 in the namespace"
	ip -n "${NS[0]}" link set "$1" addrgenmode eui64
	ip -n "${NS[0]}" link set "$1" up
done
netns_wait_ll 0 "$LA" >/dev/null
netns_wait_ll 0 "$LB" >/dev/null
netns_dev_up 0 "$DA" --netdev "$LA"
netns_dev_up 0 "$DB" --netdev "$LB"
# A link-scope group per run (ff02::/16 stays on the link).
GROUP6=ff02::5258:$(printf %x $(($$ & 0xffff)))
# What crosses the veth, for the ICRC and tshark checks below.
pcap=${ROOT[0]}/mc6.pcap
if command -v tcpdump >/dev/null; then
	netns_tcpdump 0 "$pcap" -i "$LB" -s 0 ip6 and udp port 4791
	tcpdump_pid=$NETNS_LAST_BG
fi
out=$(in_ns 0 "$SRXE" exec -- timeout 60 "$MULTI" "$DA" "$DB" "$GROUP6" 32 \
	2>&1) || fail "mcast_multi IPv6: $out"
echo "$out"
assert_contains "$out" "^PASS$" "mcast_multi IPv6"
if [[ -n ${tcpdump_pid:-} ]]; then
	sleep 0.3
	kill "$tcpdump_pid" 2>/dev/null || true
	wait "$tcpdump_pid" 2>/dev/null || true
	# 64 messages to the group, each once on the link (A's members get
	# the kernel's loopback copy, not a second datagram).
	n=$(tcpdump -r "$pcap" -n "dst $GROUP6" 2>/dev/null | wc -l)
	((n == 64)) || fail "$n datagrams to $GROUP6 on the veth, want 64"
	out=$("$PY" "$here/../tools/icrc_check.py" "$pcap") ||
		fail "ICRC check of the IPv6 multicast frames: $out"
	assert_contains "$out" "RoCEv2 packets, 64 valid ICRC, 0 invalid" \
		"IPv6 multicast ICRCs"
	if command -v tshark >/dev/null; then
		n=$(tshark -r "$pcap" -Y "ipv6.dst == $GROUP6 && infiniband" \
			2>/dev/null | wc -l)
		((n == 64)) || fail "tshark: $n InfiniBand frames to $GROUP6"
	fi
	echo "ok: 64 RoCEv2 datagrams to $GROUP6 on the veth, ICRCs valid"
fi
(($(netns_counter 0 mcast_recv "$DA") >= 64)) ||
	fail "$DA: $(netns_status 0 "$DA")"
(($(netns_counter 0 mcast_recv "$DB") >= 64)) ||
	fail "$DB: $(netns_status 0 "$DB")"
(($(netns_counter 0 wire_pkts_recv "$DB") >= 64)) ||
	fail "$DB did not receive the group over the veth: $(netns_status 0 "$DB")"
for d in "$DA" "$DB"; do
	(($(netns_counter 0 mcast_groups "$d") == 0)) || fail "groups left on $d"
	(($(netns_counter 0 wire_drops "$d") == 0)) ||
		fail "$d dropped datagrams: $(netns_status 0 "$d")"
	(($(netns_counter 0 mcast_no_group "$d") == 0)) ||
		fail "$d: mcast_no_group drops"
done
ip -n "${NS[0]}" maddr show dev "$LB" | grep -q "${GROUP6#ff02::}" &&
	fail "the kernel still has $GROUP6 joined on $LB"
echo "ok: IPv6 group $GROUP6: every message once on both devices"

# perftest with an IPv6 group and GID 0: its default MGID is
# interface-local (ff01:0:0:2:c985::), which the kernel loops back but
# never sends on a link, so it works between QPs of one device;
# across the veth, a link-scope group.
mcg_bw6() {
	local sdev=$1 cdev=$2 saddr=$3 port=$((20000 + RANDOM % 20000))
	shift 3
	local -a args=(-c UD -g -x 0 -s 1024 -n 1000 -F -p "$port" "$@")
	netns_pair 0 0 "ib_send_bw --mcg -x 0 $*" \
		ib_send_bw -d "$sdev" "${args[@]}" -- \
		ib_send_bw -d "$cdev" "${args[@]}" "$saddr"
	assert_contains "$LAST_CLIENT" "QPN 0xffffff" "client sends to the group"
	assert_contains "$LAST_SERVER" "^ *1024 +1000 +[0-9.]+ +[0-9.]+" \
		"server result row"
	echo "ok: ib_send_bw --mcg -x 0 $* $cdev -> $sdev: $(grep -E \
		'^ *1024 +1000 ' <<<"$LAST_SERVER" | awk '{print $4 " MB/s"}')," \
		"$(grep -m 1 -o 'MGID: .*' <<<"$LAST_SERVER")"
}
before=$(netns_counter 0 mcast_recv "$DA")
mcg_bw6 "$DA" "$DA" "10.198.$(($$ % 200)).1"
assert_contains "$LAST_SERVER" "MGID: 255:01:00:00:00:02:201:133:" \
	"perftest's default (IPv6) MGID"
(($(netns_counter 0 mcast_recv "$DA") - before >= 1000)) ||
	fail "$DA did not count the group's packets"
before=$(netns_counter 0 mcast_recv "$DB")
mcg_bw6 "$DB" "$DA" "10.198.$(($$ % 200)).2" \
	-M 255:2:0:0:0:0:0:0:0:0:0:0:82:89:$((($$ >> 8) & 255)):$(($$ & 255))
(($(netns_counter 0 mcast_recv "$DB") - before >= 1000)) ||
	fail "$DB did not count the group's packets"
for d in "$DA" "$DB"; do
	(($(netns_counter 0 wire_drops "$d") == 0)) ||
		fail "$d dropped datagrams: $(netns_status 0 "$d")"
done
# Fails the test if a sanitizer build of srxed reported anything.
netns_dev_down 0 "$DA"
netns_dev_down 0 "$DB"
netns_down
echo "PASS"
