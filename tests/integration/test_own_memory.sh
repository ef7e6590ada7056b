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
one_mode() {
	local mode=$1 dev=$2 out pid log
	pid=$(daemon_pid "$dev")
	out=$(with_srxe_env timeout 60 "$PROG" "$dev" \
		"$SRXE_RUNDIR/$dev/srxed.sock" "$pid" 2>&1) ||
		fail "own_memory ($mode): $out"
	echo "$mode:"
	echo "$out"
	check_srxed_log "$dev" "$mode"
	# The refusals are logged once per connection, with the reason.
	log=$SRXE_RUNDIR/$dev/srxed.log
	assert_contains "$(cat "$log")" "request refused: sent by pid" \
		"$mode: srxed's log"
}
for_each_translation_mode srxeown none one_mode
echo "PASS"
