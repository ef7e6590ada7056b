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
for mode in shortcut mtt; do
	dev=srxemct$$${mode:0:1}
	srxe_up "$dev" --translation "$mode" >/dev/null
	out=$(with_srxe_env timeout 120 "$PROG" "$dev" 2>&1) ||
		fail "multi_ctx ($mode): $out"
	echo "ok: $mode: $out"
	# A sanitizer build of srxed must not have reported anything.
	log=$SRXE_RUNDIR/$dev/srxed.log
	[[ -f $log ]] || fail "no srxed log at $log"
	if grep -qE "runtime error:|Sanitizer" "$log"; then
		fail "srxed ($mode) reported: $(grep -m 5 -A 10 -E \
			"runtime error:|Sanitizer" "$log")"
	fi
	"$SRXE" down --name "$dev" >/dev/null || fail "srxe down $dev failed"
done
echo "PASS"
