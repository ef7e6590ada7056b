#!/bin/bash
# Issue #14 (2 cores), idle_poll.c: a program spinning on an empty CQ
# gives its CPU away while its engine is awake but begins no pass (it
# waits for a CPU), and keeps spinning while the engine runs.  The engine
# is held awake (SRXED_ENGINE_IDLE with a spin longer than the test) and
# then stopped with SIGSTOP: the poller must use well under half of the
# wall time (a poller that only yields uses all of it on an idle CPU).
# With the engine running, the poller must not nap: more than half of the
# wall time (asserted only with two or more CPUs, where the engine and the
# poller each have one).  CPU shares, not speed: no timing is asserted.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/idle_poll
[[ -x $PROG ]] || fail "$PROG is not built"
SECONDS_POLLED=2

# cpu_percent OUTPUT: this run's CPU time as a percentage of its wall time.
cpu_percent() {
	[[ $1 =~ cpu_ms\ ([0-9]+)\ wall_ms\ ([0-9]+) ]] ||
		fail "no result line from idle_poll: $1"
	echo $((100 * BASH_REMATCH[1] / BASH_REMATCH[2]))
}

dev=srxeib$$
SRXED_ENGINE_IDLE=yield:600000000 srxe_up "$dev" >/dev/null
pid=$(daemon_pid "$dev")
# idle_poll continues srxed itself; this is for a run that died first.
trap 'kill -CONT "$pid" 2>/dev/null; cleanup' EXIT

out=$(with_srxe_env timeout 60 "$PROG" "$dev" "$SECONDS_POLLED" "$pid" 2>&1) ||
	fail "idle_poll (engine stopped): $out"
stopped=$(cpu_percent "$out")
echo "ok: engine stopped: $out ($stopped% of the wall time)"
((stopped < 50)) ||
	fail "the poller used $stopped% of a CPU while its engine could not run"

out=$(with_srxe_env timeout 60 "$PROG" "$dev" "$SECONDS_POLLED" 2>&1) ||
	fail "idle_poll (engine running): $out"
running=$(cpu_percent "$out")
echo "ok: engine running: $out ($running% of the wall time)"
if (($(nproc) >= 2)); then
	((running > 50)) ||
		fail "the poller napped ($running% of a CPU) while its engine ran"
else
	echo "not asserted: one CPU, the engine and the poller share it"
fi
"$SRXE" status --name "$dev" >/dev/null ||
	fail "srxe status $dev failed after SIGCONT"
echo "PASS"
