#!/bin/bash
# SRQ resize (ibv_modify_srq IBV_SRQ_MAX_WR, as kernel rxe): posted
# receives keep their order across resizes, also while traffic flows and
# another thread posts (tests/integration/srq_resize.c).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
DEV=srxesr$$
PROG=$SRXE_BUILD/tests/srq_resize
[[ -x $PROG ]] || fail "$PROG is not built"

srxe_up "$DEV"
out=$(with_srxe_env "$PROG" "$DEV" 2>&1) || fail "srq_resize: $out"
echo "$out"
assert_contains "$out" "^PASS$" "srq_resize"

assert_no_clients "$DEV"
echo "PASS"
