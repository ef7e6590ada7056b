#!/bin/bash
# Data-path verbs of issue #4 without moving data: CQ/QP/SRQ/AH objects,
# the RC/UC/UD state walk with query_qp, and post_* argument checks,
# through an unmodified libibverbs (tests/integration/verbs_basic.c).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
DEV=srxev$$
PROG=$SRXE_BUILD/tests/verbs_basic
[[ -x $PROG ]] || fail "$PROG is not built"

srxe_up "$DEV"
out=$(with_srxe_env "$PROG" "$DEV" 2>&1) || fail "verbs_basic as root: $out"
assert_contains "$out" "^PASS$" "verbs_basic as root"

out=$(with_srxe_env "${NOBODY[@]}" "$PROG" "$DEV" 2>&1) ||
	fail "verbs_basic as nobody: $out"
assert_contains "$out" "^PASS$" "verbs_basic as nobody"

assert_no_clients "$DEV"
echo "PASS"
