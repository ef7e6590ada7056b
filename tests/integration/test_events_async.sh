#!/bin/bash
# Issue #6, must-show 2: asynchronous events through unmodified
# libibverbs, one case per event srxe can be made to raise, each checking
# event_type and element (tests/integration/events_async.c):
#  - COMM_EST, SQ_DRAINED, QP_ACCESS_ERR, SRQ_LIMIT_REACHED,
#    QP_LAST_WQE_REACHED, CQ_ERR + QP_FATAL on a device on lo;
#  - DEVICE_FATAL: srxed SIGKILLed (and, second run, stopped by `srxe
#    down`) under a client with work posted; the client gets the event
#    within 5 s, EIO from posts and verbs, flush completions, and tears
#    down without blocking; a new srxed then serves new contexts;
#  - PORT_ERR / PORT_ACTIVE: a device on a veth inside a network
#    namespace whose link is set down and up.
# QP_REQ_ERR needs a malformed request on the wire (no verb sends one):
# tests/unit/test_engine_events.c provokes it.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
PROG=$SRXE_BUILD/tests/events_async
[[ -x $PROG ]] || fail "$PROG is not built"
setup_root
dev=srxefatal$$

run_prog() {
	local out rc=0
	out=$(with_srxe_env timeout 120 "$PROG" "$@" 2>&1) || rc=$?
	echo "$out"
	[[ $rc -eq 0 ]] && grep -q "^PASS$" <<<"$out" ||
		fail "events_async $* (exit $rc)"
}

# wait_line FILE PATTERN SECONDS
wait_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no '$2' in $1 after $3 s: $(cat "$1")"
}

echo "== QP, SRQ and CQ events"
srxe_up "$dev"
run_prog "$dev" qp

# fatal_case HOW: a client with work posted, then srxed goes (HOW).
fatal_case() {
	local log=$TEST_ROOT/fatal-$1.log client rc=0
	# Freed provider memory poisoned at once (no tcache, perturbed): a
	# destroy that reaches a freed CQ (the client destroys a CQ before
	# its QP on the dead context) spins on its lock until the timeout.
	GLIBC_TUNABLES=glibc.malloc.tcache_count=0 MALLOC_PERTURB_=165 \
		with_srxe_env timeout 60 "$PROG" "$dev" fatal >"$log" 2>&1 &
	client=$!
	wait_line "$log" '^READY$' 30
	case $1 in
	sigkill) kill -KILL "$(daemon_pid "$dev")" ;;
	down) "$SRXE" down --name "$dev" || fail "srxe down under a client" ;;
	esac
	wait "$client" || rc=$?
	cat "$log"
	[[ $rc -eq 0 ]] && grep -q "^PASS$" "$log" || fail "fatal $1 (exit $rc)"
}

echo "== DEVICE_FATAL: srxed SIGKILLed under a client"
fatal_case sigkill
"$SRXE" down --name "$dev" || fail "srxe down after SIGKILL"
srxe_up "$dev"
run_prog "$dev" qp
echo "== DEVICE_FATAL: srxe down under a client"
fatal_case down
TEST_DEVICES=()

echo "== PORT_ERR / PORT_ACTIVE on a veth in a namespace"
NETNS_TAG=fa
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
netns_make 2
netns_up
plog=${ROOT[0]}/port.log
# rxe's link_downed hw counter (docs/hw-counters.md).  srxed mounted it in
# the mount namespace of `ip netns exec`: read it through srxed's root.
hwc=/proc/$(cat "${ROOT[0]}/${DEV[0]}/srxed.pid")/root${ROOT[0]}/${DEV[0]}/hw_counters/link_downed
[[ $(cat "$hwc") == 0 ]] || fail "link_downed reads $(cat "$hwc") before any down"
in_ns 0 bash -c "eval \"\$('$SRXE' env --name '${DEV[0]}')\";
	exec timeout 60 '$PROG' '${DEV[0]}' port" >"$plog" 2>&1 &
client=$!
NETNS_BG_PIDS+=("$client")
wait_line "$plog" '^READY$' 30
ip -n "${NS[0]}" link set "${VETH[0]}" down
wait_line "$plog" 'ok: link down' 10
ip -n "${NS[0]}" link set "${VETH[0]}" up
rc=0
wait "$client" || rc=$?
cat "$plog"
[[ $rc -eq 0 ]] && grep -q "^PASS$" "$plog" || fail "port case (exit $rc)"
[[ $(cat "$hwc") == 1 ]] || fail "link_downed reads $(cat "$hwc") after one down"
echo "ok: hw_counters/link_downed counted the link going down"
echo "PASS"
