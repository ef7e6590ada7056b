#!/usr/bin/env bash
# srxed control plane under load and abuse: real daemon, real sockets,
# real processes.  Needs only a temporary run directory.
set -euo pipefail

build=${SRXE_BUILD:?set SRXE_BUILD to the build directory}
srxed=$build/kernel-shim/srxed/srxed
client=$build/tests/ctl_clients
tmp=$(mktemp -d /tmp/srxe-ctl.XXXXXX)
pids=()

cleanup() {
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for log in "$tmp"/*.log; do
		echo "--- tail of $log" >&2
		tail -n 30 "$log" >&2 || true
	done
	exit 1
}

# start_srxed DIR [extra options]: runs srxed, waits until it serves.  The
# pid file is written after listen(), and a stale one holds another pid.
start_srxed() {
	local dir=$1
	shift
	"$srxed" --name srxe0 --rundir "$dir" --ip 127.0.0.1 --netdev lo \
		"$@" 2>>"$dir.log" &
	pids+=($!)
	for _ in $(seq 200); do
		[ -S "$dir/srxed.sock" ] &&
			[ "$(cat "$dir/srxed.pid" 2>/dev/null)" = "${pids[-1]}" ] &&
			return 0
		kill -0 "${pids[-1]}" 2>/dev/null || fail "srxed exited at start"
		sleep 0.05
	done
	fail "srxed did not create $dir/srxed.sock"
}

fd_count() { ls "/proc/$1/fd" | wc -l; }

dir=$tmp/srxe0
start_srxed "$dir"
pid=${pids[0]}
sock=$dir/srxed.sock
[ "$(stat -c %a "$sock")" = 666 ] || fail "socket mode is not 0666"

# A second daemon on the same run directory must refuse, not steal it.
if "$srxed" --name srxe0 --rundir "$dir" --ip 127.0.0.1 --netdev lo \
	2>"$tmp/second.log"; then
	fail "second srxed on the same rundir started"
fi
grep -q "already serving" "$tmp/second.log" || fail "no reason for refusal"

# Bad command lines get a message and exit status 2.
set +e
"$srxed" --name srxe0 --rundir "$tmp/x" --ip 1.2.3 --netdev lo 2>"$tmp/opt.log"
rc=$?
set -e
[ $rc = 2 ] && grep -q "invalid value '1.2.3' for --ip" "$tmp/opt.log" ||
	fail "bad --ip not reported (rc $rc)"

base=$(fd_count "$pid")
echo "srxed $pid up, $base fds"

"$client" "$sock" semantics || fail "protocol semantics"
"$client" "$sock" expect-idle || fail "not idle after semantics"

# (a) 200 concurrent clients, one SIGKILLed holding PDs.
"$client" "$sock" storm 200 || fail "storm"
[ "$(fd_count "$pid")" = "$base" ] || fail "fd count $(fd_count "$pid") != $base after storm"

# (b) 10,000 random, truncated, oversized datagrams with random fds.
"$client" "$sock" fuzz 10000 "${SRXE_FUZZ_SEED:-$RANDOM}" || fail "fuzz"
kill -0 "$pid" || fail "srxed died during fuzzing"
"$client" "$sock" expect-idle || fail "not idle after fuzz"
[ "$(fd_count "$pid")" = "$base" ] || fail "fd count $(fd_count "$pid") != $base after fuzz"

# The PD limit is reported by query_device and enforced.
"$client" "$sock" pd-limit || fail "pd limit"
"$client" "$sock" expect-idle || fail "not idle after pd-limit"
"$client" "$sock" status

# --max-clients: the connection past the limit is told why.
start_srxed "$tmp/small" --max-clients 2
"$client" "$tmp/small/srxed.sock" refused || fail "max-clients"

# SIGTERM: clean exit, socket and pid file gone.
kill -TERM "$pid"
wait "$pid" || fail "srxed exit status $? after SIGTERM"
[ ! -e "$sock" ] && [ ! -e "$dir/srxed.pid" ] || fail "files left after exit"
grep -q "shutting down" "$dir.log" || fail "no shutdown message"

# A stale socket (srxed killed hard) is replaced on the next start.
start_srxed "$dir"
kill -KILL "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true
[ -S "$sock" ] || fail "expected a stale socket"
start_srxed "$dir"
"$client" "$sock" expect-idle || fail "restart over a stale socket"
echo "PASS"
