#!/bin/bash
# Issue #12 must-show 2 (multi_ctx.c): one buffer registered in 3 contexts
# (3 PDs) of one process, used by QPs of all three concurrently for RDMA
# WRITE and READ against a peer process, keys refused across contexts,
# deregistration in a mixed order -- in both translation modes.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/multi_ctx
[[ -x $PROG ]] || fail "$PROG is not built"
one_mode() {
	local out
	out=$(with_srxe_env timeout 120 "$PROG" "$2" 2>&1) ||
		fail "multi_ctx ($1): $out"
	echo "ok: $1: $out"
}
# A sanitizer build of srxed must not have reported anything.
for_each_translation_mode srxemct required one_mode
echo "PASS"
