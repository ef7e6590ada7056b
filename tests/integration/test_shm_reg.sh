#!/bin/bash
# Issue #10: SysV shared memory registered in place (shm_reg.c), in both
# translation modes: RDMA WRITE lands in the segment (seen through another
# attachment), RDMA READ returns what that attachment wrote, and after
# deregistration the segment is still shared and detaches.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/shm_reg
[[ -x $PROG ]] || fail "$PROG is not built"
one_mode() {
	local out
	out=$(with_srxe_env timeout 60 "$PROG" "$2" 2>&1) ||
		fail "shm_reg ($1): $out"
	echo "ok: $1: $out"
}
for_each_translation_mode srxeshm none one_mode
echo "PASS"
