#!/bin/bash
# Issue #12, must-show 3 (move_stress.c, docs/move-atomicity.md): four
# writer threads store sequence numbers into a 64 MiB buffer while another
# thread registers and deregisters sub-ranges of it 10,000 times and a
# second context RDMA-READs every new MR; no store may be lost and every
# READ must return values that were stored.  Both translation modes.
# MOVE_STRESS_ITERATIONS overrides the count (default 10000).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/move_stress
[[ -x $PROG ]] || fail "$PROG is not built"
iterations=${MOVE_STRESS_ITERATIONS:-10000}
one_mode() {
	local out
	out=$(with_srxe_env timeout 300 "$PROG" "$2" "$iterations" 2>&1) ||
		fail "move_stress ($1): $out"
	echo "ok: $1: $out"
}
for_each_translation_mode srxemvs required one_mode
echo "PASS"
