#!/bin/bash
# Issue #11, must-show 1 (rdmacm-utils part): every connection tool of
# rdmacm-utils, unmodified, connects through srxe's librdmacm and srxed's
# CM on one host and moves (and where the tool can, checks) its data:
# rping with verification, ucmatose and udaddy with 10 connections,
# rdma_server/rdma_client, rdma_xserver/rdma_xclient, mckey (join and
# send), cmtime.
here=$(dirname "$0")
# shellcheck source=rdmacm_lib.sh
source "$here/rdmacm_lib.sh"
rdmacm_prerequisites rping ucmatose udaddy rdma_server rdma_client \
	rdma_xserver rdma_xclient mckey cmtime
setup_root
DEV=srxecm$$
PORT=$((20000 + $$ % 20000))
srxe_up "$DEV"

# rping: 1000 ping-pongs, every payload verified (-V) and printed (-v).
cm_pair "rping" rping -s -a "$CM_ADDR" -p "$PORT" -C 1000 -V -- \
	rping -c -a "$CM_ADDR" -p "$PORT" -C 1000 -v -V
# stderr (the CM thread's messages) may cut into a line: grep -o
n=$(grep -oE "rdma-ping-[0-9]+: " <<<"$LAST_CLIENT" | sort -u | wc -l)
((n == 1000)) || fail "rping client printed $n verified pings, not 1000"
assert_not_contains "$LAST_CLIENT$LAST_SERVER" "error|fail|mismatch" "rping"
echo "ok: rping -C 1000 -v -V"

CM_SERVER_LISTENS=1 cm_pair "ucmatose" ucmatose -p "$PORT" -c 10 -C 10 -- \
	ucmatose -s "$CM_ADDR" -p "$PORT" -c 10 -C 10
assert_contains "$LAST_CLIENT" "test complete" "ucmatose client"
assert_contains "$LAST_SERVER" "test complete" "ucmatose server"
assert_contains "$LAST_CLIENT" "data transfers complete" "ucmatose client data"
echo "ok: ucmatose -c 10"

CM_SERVER_LISTENS=1 cm_pair "udaddy" udaddy -c 10 -C 10 -- \
	udaddy -s "$CM_ADDR" -c 10 -C 10
assert_contains "$LAST_CLIENT" "test complete" "udaddy client"
assert_contains "$LAST_SERVER" "test complete" "udaddy server"
echo "ok: udaddy -c 10"

cm_pair "rdma_server" rdma_server -p "$PORT" -- \
	rdma_client -s "$CM_ADDR" -p "$PORT"
assert_contains "$LAST_CLIENT" "rdma_client: end 0" "rdma_client"
assert_contains "$LAST_SERVER" "rdma_server: end 0" "rdma_server"
echo "ok: rdma_server/rdma_client"

cm_pair "rdma_xserver" rdma_xserver -p "$PORT" -- \
	rdma_xclient -s "$CM_ADDR" -p "$PORT"
assert_contains "$LAST_CLIENT" "rdma_xclient: end 0" "rdma_xclient"
assert_contains "$LAST_SERVER" "rdma_xserver: end 0" "rdma_xserver"
echo "ok: rdma_xserver/rdma_xclient"

# mckey: a receiver joins 239.1.2.3 and waits for 10 messages; the sender
# starts once the receiver has joined (its line-buffered output says so),
# joins the same group and sends them.
CM_SERVER_READY="receiving data transfers" cm_pair "mckey" \
	stdbuf -oL mckey -m 239.1.2.3 -b "$CM_ADDR" -C 10 -- \
	mckey -m 239.1.2.3 -b "$CM_ADDR" -s -C 10
assert_contains "$LAST_SERVER" "receiving data transfers" "mckey receiver"
assert_contains "$LAST_SERVER" "test complete" "mckey receiver"
assert_contains "$LAST_CLIENT" "test complete" "mckey sender"
echo "ok: mckey join + send"

# The server serves until stopped.
CM_SERVER_STAYS=1 cm_pair "cmtime" cmtime -b "$CM_ADDR" -p "$PORT" -c 20 -- \
	cmtime -s "$CM_ADDR" -p "$PORT" -c 20
for step in "resolve addr" "resolve route" "create qp" "connect" "disconnect" "destroy"; do
	assert_contains "$LAST_CLIENT" "$step" "cmtime step $step"
done
echo "ok: cmtime -c 20"
"$SRXE" status --name "$DEV" >/dev/null || fail "srxed died"
echo "PASS"
