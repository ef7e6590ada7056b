#!/bin/bash
# Issue #12, must-show 5 (own_memory.c): srxed maps only memory of the
# process on the other end of the client's socket, with that process's
# rights -- an unmapped range, read-only mappings registered writable,
# another user's file, a forked child on its parent's socket, an orphan
# after the owner exited, a reused pid -- each refused with EFAULT/EACCES
# and no new mapping in srxed, in both translation modes.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/own_memory
[[ -x $PROG ]] || fail "$PROG is not built"
for mode in shortcut mtt; do
	dev=srxeown$$${mode:0:1}
	srxe_up "$dev" --translation "$mode" >/dev/null
	pid=$(daemon_pid "$dev")
	out=$(with_srxe_env timeout 60 "$PROG" "$dev" \
		"$SRXE_RUNDIR/$dev/srxed.sock" "$pid" 2>&1) ||
		fail "own_memory ($mode): $out"
	echo "$mode:"
	echo "$out"
	log=$SRXE_RUNDIR/$dev/srxed.log
	[[ -f $log ]] || fail "no srxed log at $log"
	if grep -qE "runtime error:|Sanitizer" "$log"; then
		fail "srxed ($mode) reported: $(grep -m 5 -A 10 -E \
			"runtime error:|Sanitizer" "$log")"
	fi
	# The refusals are logged once per connection, with the reason.
	assert_contains "$(cat "$log")" "request refused: sent by pid" \
		"$mode: srxed's log"
	"$SRXE" down --name "$dev" >/dev/null || fail "srxe down $dev failed"
done
echo "PASS"
