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
for mode in shortcut mtt; do
	dev=srxemvs$$${mode:0:1}
	srxe_up "$dev" --translation "$mode" >/dev/null
	out=$(with_srxe_env timeout 300 "$PROG" "$dev" "$iterations" 2>&1) ||
		fail "move_stress ($mode): $out"
	echo "ok: $mode: $out"
	log=$SRXE_RUNDIR/$dev/srxed.log
	[[ -f $log ]] || fail "no srxed log at $log"
	if grep -qE "runtime error:|Sanitizer" "$log"; then
		fail "srxed ($mode) reported: $(grep -m 5 -A 10 -E \
			"runtime error:|Sanitizer" "$log")"
	fi
	"$SRXE" down --name "$dev" >/dev/null || fail "srxe down $dev failed"
done
echo "PASS"
