#!/usr/bin/env bash
# srxed's connection manager end to end (issue #11): two clients of one
# srxed connect through the CM opcodes (include/srxe/proto_cm.h) over the
# device's own GID, QP 1 MADs through the engine; then a flood of 20,000
# CONNECTs against a backlog of 16 (cm_e2e.c says what each step checks).
set -euo pipefail

build=${SRXE_BUILD:?set SRXE_BUILD to the build directory}
srxed=$build/kernel-shim/srxed/srxed
prog=$build/tests/cm_e2e
tmp=$(mktemp -d /tmp/srxe-cm.$$.XXXXXX)
pid=

cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
	[ -n "$pid" ] && wait "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	tail -n 40 "$tmp/srxed.log" >&2 || true
	exit 1
}

dir=$tmp/d
"$srxed" --name srxe0 --rundir "$dir" --ip 127.0.0.1 --netdev lo \
	--verbose 2>"$tmp/srxed.log" &
pid=$!
for _ in $(seq 200); do
	[ -S "$dir/srxed.sock" ] &&
		[ "$(cat "$dir/srxed.pid" 2>/dev/null)" = "$pid" ] && break
	kill -0 "$pid" 2>/dev/null || fail "srxed exited at start"
	sleep 0.05
done

timeout 60 "$prog" "$dir/srxed.sock" 127.0.0.1 basic || fail "cm_e2e basic"
timeout 120 "$prog" "$dir/srxed.sock" 127.0.0.1 flood || fail "cm_e2e flood"
kill -0 "$pid" 2>/dev/null || fail "srxed died"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "srxed peak RSS after the flood: ${hwm} kB"
[ "$hwm" -lt 65536 ] || fail "srxed grew to ${hwm} kB"
grep -q "CM state released" "$tmp/srxed.log" || fail "no CM release logged"
kill -TERM "$pid"
wait "$pid" || fail "srxed exit status $?"
pid=
grep "CM: .* MADs in" "$tmp/srxed.log"
echo "PASS"
