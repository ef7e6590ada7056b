#!/bin/bash
# ECE through srxe's librdmacm and srxed's CM (providers/rdmacm/tests/
# rdmacm_ece.c, under `srxe exec`): the client's rdma_set_local_ece
# reaches the server's CONNECT_REQUEST (REQ VendorID + AttributeModifier),
# the server's options come back in the CONNECT_RESPONSE (REP),
# rdma_reject_ece gives the client REJECTED 35, and an id with a QP sends
# the QP's ECE (none on srxe, as on kernel rxe); a server accepting with a
# QP echoes the vendor id without options.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
DEV=srxeece$$
PROG=$SRXE_BUILD/providers/rdmacm/rdmacm_ece
[[ -x $PROG ]] || fail "$PROG is not built"

srxe_up "$DEV"
out=$("$SRXE" exec -- timeout 60 "$PROG" 127.0.0.1 2>&1) ||
	fail "rdmacm_ece: $out"
echo "$out"
assert_contains "$out" "bad arguments: EINVAL" "argument checks"
assert_contains "$out" "server got REQ ECE vendor 0x2c9 options 0x80000005" \
	"REQ carries the client's ECE"
assert_contains "$out" "client got REP ECE vendor 0x2c9 options 0x1" \
	"REP carries the server's options"
assert_contains "$out" "QP-less connection with ECE: established" \
	"connection established"
assert_contains "$out" "client REJECTED status 35" "rdma_reject_ece"
assert_contains "$out" "id with a QP: server got REQ ECE vendor 0 options 0$" \
	"a QP's ECE replaces the id's"
assert_contains "$out" "server with a QP: client got REP ECE vendor 0x2c9 options 0$" \
	"an accepting QP echoes the vendor id without options"
assert_contains "$out" "^PASS\$" "program exit"
st=$("$SRXE" status --name "$DEV" 2>&1)
echo "$st" | grep "rdma_cm" || true
echo "PASS"
