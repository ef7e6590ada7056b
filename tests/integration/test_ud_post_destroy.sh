#!/bin/bash
# Sends posted right before ibv_destroy_ah/ibv_destroy_qp arrive, as they
# do on kernel rxe (which sends a UD post in the post's own system call);
# mckey posts unsignaled multicast sends and tears down at once
# (ud_post_destroy.c: 20 rounds of 256 unicast, then multicast, sends).
# Run under srxed's default engine idle policy (yield:200:10), with which
# the engine, yielding to two busy processes on 2 cores, had not yet run
# when the destroy came (mckey lost sends in 1 of 20 runs; this program
# got 192 of 256 in its first round) before srxed sent what was posted
# ahead of the destroy, and under pause:50.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/ud_post_destroy
[[ -x $PROG ]] || fail "$PROG is not built"

run_policy() {
	local policy=$1 dev=srxepd$$$2 out kind
	SRXED_ENGINE_IDLE=$policy srxe_up "$dev" >/dev/null
	for kind in unicast mcast; do
		out=$(with_srxe_env timeout 120 "$PROG" "$dev" "$kind" 2>&1) ||
			fail "ud_post_destroy $kind (engine idle ${policy:-default}): $out"
		echo "ok: engine idle ${policy:-default}: $out"
	done
	check_srxed_log "$dev" "${policy:-default}"
	"$SRXE" down --name "$dev" >/dev/null || fail "srxe down $dev failed"
}

run_policy "" d
run_policy pause:50 p
echo "PASS"
