#!/bin/bash
# Issue #10, "no unexplained drops": datagrams the kernel drops because a
# receive socket of srxed is full are counted as the wire drop reason
# socket_overflow.  Two namespaces over a veth (IPv6 link-local too).
# Host 0's srxed is stopped (SIGSTOP: nothing reads its sockets) while
# host 1 sends N datagrams to its UDP port 4791, far more than the socket
# buffer holds; then it continues.  Every datagram is a 40-byte non-RoCE
# payload, so each one ends up counted exactly once: bad_icrc if srxed
# read it, socket_overflow if the kernel dropped it.  Per phase:
#   - socket_overflow > 0 and bad_icrc + socket_overflow == N;
#   - raw and IPv6 mode: socket_overflow is what the kernel counts for
#     srxed's sockets (/proc/net/raw, /proc/net/udp6 "drops");
# for the raw IPv4 socket (SRXE_WIRE_RX=raw: it receives unicast too), the
# IPv6 UDP socket and the default packet socket.  Datagrams to other UDP
# ports (seen by the raw socket, rejected by its filter) are no drop.
here=$(dirname "$0")
NETNS_TAG=ovf # read by netns_lib.sh
NETNS_IPV6=1
# shellcheck source=netns_lib.sh disable=SC2034
source "$here/netns_lib.sh"
require_prerequisites
N=${SRXE_OVERFLOW_DATAGRAMS:-60000}

# blast I ADDR [IFNAME] N [PORT]: N 40-byte datagrams from host I.
blast() {
	in_ns "$1" "$PY" -c 'import socket, sys
addr, ifname, n, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if ":" in addr:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    dst = (addr, port, 0, socket.if_nametoindex(ifname))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dst = (addr, port)
p = bytes(40)
sent = 0
for _ in range(n):
    try:
        s.sendto(p, dst)
        sent += 1
    except OSError:
        pass
print(sent)' "$2" "$3" "$4" "${5:-4791}"
}

# kernel_drops I FILE PORTHEX: the "drops" column of srxed's socket in
# /proc/net/FILE of host I whose local port (raw: protocol) is PORTHEX.
kernel_drops() {
	# shellcheck disable=SC2016 # awk's own $2 and $NF
	in_ns "$1" awk -v p=":$3" 'NR > 1 && substr($2, length($2) - 4) == p \
		{ s += $NF } END { print s + 0 }' "/proc/net/$2"
}

counter() {
	netns_counter 0 "$1"
}

# phase WHAT ADDR IFNAME: stop host 0's srxed, blast, continue, check.
phase() {
	local what=$1 addr=$2 ifname=$3 pid sent icrc0 ovfl0 icrc ovfl
	pid=$(cat "${ROOT[0]}/${DEV[0]}/srxed.pid")
	icrc0=$(counter bad_icrc)
	ovfl0=$(counter socket_overflow)
	kill -STOP "$pid"
	sent=$(blast 1 "$addr" "$ifname" "$N") || {
		kill -CONT "$pid"
		fail "$what: sender failed"
	}
	kill -CONT "$pid"
	for _ in $(seq 100); do
		icrc=$(($(counter bad_icrc) - icrc0))
		ovfl=$(($(counter socket_overflow) - ovfl0))
		((icrc + ovfl >= sent)) && break
		sleep 0.1
	done
	echo "$what: sent $sent, read and dropped as bad_icrc $icrc," \
		"socket_overflow $ovfl"
	((ovfl > 0)) || fail "$what: no socket overflow counted: $(netns_status 0)"
	((icrc + ovfl == sent)) ||
		fail "$what: $sent sent, $icrc + $ovfl counted: $(netns_status 0)"
}

netns_make 2
# The raw socket takes unicast only without the packet socket.
export SRXE_WIRE_RX=raw
netns_up
unset SRXE_WIRE_RX
ll0=$(netns_wait_ll 0 "${VETH[0]}")
netns_status 0 | grep -q "gid\[0\]: *fe80:" ||
	fail "no IPv6 GID on ${DEV[0]}: $(netns_status 0)"

# Traffic to other ports reaches the raw socket and its filter: no drop.
blast 1 "${ADDR[0]}" - 20000 4792 >/dev/null
(($(counter socket_overflow) == 0)) ||
	fail "filtered datagrams counted as overflow: $(netns_status 0)"

phase "raw IPv4 socket" "${ADDR[0]}" -
raw=$(kernel_drops 0 raw 0011)
(($(counter socket_overflow) == raw)) ||
	fail "socket_overflow $(counter socket_overflow), kernel (raw) $raw"
echo "ok: raw IPv4 socket: socket_overflow $raw = /proc/net/raw drops"

phase "IPv6 UDP socket" "$ll0" "${VETH[1]}"
udp6=$(kernel_drops 0 udp6 12B7)
(($(counter socket_overflow) == raw + udp6)) ||
	fail "socket_overflow $(counter socket_overflow), kernel $raw + $udp6"
echo "ok: IPv6 UDP socket: socket_overflow $((raw + udp6)) =" \
	"/proc/net/raw + /proc/net/udp6 drops"

# By default unicast IPv4 arrives on a packet socket (no drops column in
# /proc).
netns_dev_down 0 "${DEV[0]}"
netns_dev_up 0 "${DEV[0]}"
pid=$(cat "${ROOT[0]}/${DEV[0]}/srxed.pid")
in_ns 0 ss -0 -p | grep -q "pid=$pid," ||
	fail "${DEV[0]}: srxed has no packet socket (the default receive)"
phase "packet socket" "${ADDR[0]}" -
echo "PASS"
