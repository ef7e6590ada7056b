#!/bin/bash
# A poll of an empty CQ that waits (yield or nap, srxe_backoff.h) answers
# with what completed during the wait, through ibv_poll_cq and
# ibv_start_poll (poll_after_wait.c: the program's own sched_yield and
# nanosleep complete a receive while the poller waits).  Without it,
# libfabric's rxm under CPU load closed a connection on the peer's
# disconnect before it saw the receive that had arrived first.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/poll_after_wait
[[ -x $PROG ]] || fail "$PROG is not built"
dev=srxepw$$
srxe_up "$dev" >/dev/null
out=$(with_srxe_env timeout 120 "$PROG" "$dev" 2>&1) ||
	fail "poll_after_wait: $out"
echo "$out"
check_srxed_log "$dev" default
echo "PASS"
