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
one_mode() {
	local out
	out=$(with_srxe_env timeout 60 "$PROG" "$2" 2>&1) ||
		fail "shared_reg ($1): $out"
	echo "ok: $1: $out"
	# A sanitizer build of srxed must not have reported anything (the log
	# goes with the device).
	check_srxed_log "$2" "$1"
	grep -E "not mapped in place" "$SRXE_RUNDIR/$2/srxed.log" || true
}
for_each_translation_mode srxeshr none one_mode
echo "PASS"
