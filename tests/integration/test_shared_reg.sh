#!/bin/bash
# Issue #12: shareable memory registered in place (shared_reg.c) --
# anonymous shared, memfd, /dev/shm file, /var/tmp file, read-only file,
# unmapped range -- in both translation modes.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/shared_reg
[[ -x $PROG ]] || fail "$PROG is not built"
for mode in shortcut mtt; do
	dev=srxeshr$$${mode:0:1}
	srxe_up "$dev" --translation "$mode" >/dev/null
	out=$(with_srxe_env timeout 60 "$PROG" "$dev" 2>&1) ||
		fail "shared_reg ($mode): $out"
	echo "ok: $mode: $out"
	# A sanitizer build of srxed must not have reported anything (the log
	# goes with the device).
	log=$SRXE_RUNDIR/$dev/srxed.log
	[[ -f $log ]] || fail "no srxed log at $log"
	if grep -qE "runtime error:|Sanitizer" "$log"; then
		fail "srxed ($mode) reported: $(grep -m 5 -A 10 -E \
			"runtime error:|Sanitizer" "$log")"
	fi
	grep -E "not mapped in place" "$log" || true
	"$SRXE" down --name "$dev" >/dev/null || fail "srxe down $dev failed"
done
echo "PASS"
