#!/bin/bash
# SO_KEEPALIVE on stream rsockets between two hosts (two network
# namespaces, one srxed each; tests/integration/cm_rsocket_keepalive.c).
# The server's host stops answering without a disconnect: its srxed is
# stopped with SIGSTOP, as a hung host (netem would need sch_netem, which
# the CI kernel lacks).  A client with SO_KEEPALIVE and TCP_KEEPIDLE 1
# then sees POLLERR|POLLHUP and ETIMEDOUT within 45 s (the keepalive's RC
# retries take about 16 s); one without keepalive sees nothing for 4 s,
# as an idle TCP connection.
here=$(dirname "$0")
NETNS_TAG=ka # read by netns_lib.sh
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
PROG=$SRXE_BUILD/tests/cm_rsocket_keepalive
[[ -x $PROG ]] || fail "$PROG is not built"
[[ -e $SRXE_BUILD/providers/rdmacm/librdmacm.so.1 ]] ||
	fail "srxe's librdmacm is not built"

netns_make 2 1500
netns_up
srxed0=$(pgrep -f "srxed --name ${DEV[0]} " | head -1)
[[ -n $srxed0 ]] || fail "no srxed for ${DEV[0]}"
cut="kill -STOP $srxed0"
NETNS_HOOKS=("kill -CONT $srxed0" "${NETNS_HOOKS[@]}")

for mode in none keepalive; do
	port=$((20000 + RANDOM % 20000))
	wait_s=4
	[[ $mode == keepalive ]] && wait_s=45
	netns_bg 0 "$SRXE" exec -- timeout 60 "$PROG" server "${ADDR[0]}" \
		"$port"
	out=$(in_ns 1 "$SRXE" exec -- timeout 60 "$PROG" client \
		"${ADDR[0]}" "$port" "$mode" "$wait_s" "$cut" 2>&1) ||
		fail "keepalive client ($mode): $out"
	echo "$out"
	kill -CONT "$srxed0" || fail "srxed $srxed0 is gone"
	kill "$NETNS_LAST_BG" 2>/dev/null || true
	wait "$NETNS_LAST_BG" 2>/dev/null || true
done
echo "PASS"
