#!/usr/bin/env bash
# srxed data-path objects (issue #4) under abuse: CQ/QP/SRQ/AH requests,
# ring arena, doorbell, limits, foreign handles, garbage and a client
# SIGKILLed holding objects.  srxed must stay up and leak nothing.
set -euo pipefail

build=${SRXE_BUILD:?set SRXE_BUILD to the build directory}
srxed=$build/kernel-shim/srxed/srxed
client=$build/tests/verbs_clients
tmp=$(mktemp -d /tmp/srxe-verbs.XXXXXX)
pid=

cleanup() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "--- tail of srxed log" >&2
	tail -n 30 "$tmp/srxed.log" >&2 || true
	exit 1
}

dir=$tmp/srxe0
"$srxed" --name srxe0 --rundir "$dir" --ip 127.0.0.1 --netdev lo \
	2>>"$tmp/srxed.log" &
pid=$!
for _ in $(seq 200); do
	[ -S "$dir/srxed.sock" ] &&
		[ "$(cat "$dir/srxed.pid" 2>/dev/null)" = "$pid" ] && break
	kill -0 "$pid" 2>/dev/null || fail "srxed exited at start"
	sleep 0.05
done
sock=$dir/srxed.sock
[ -S "$sock" ] || fail "srxed did not start"

fd_count() { ls "/proc/$pid/fd" | wc -l; }
base=$(fd_count)

check_clean() {
	kill -0 "$pid" 2>/dev/null || fail "srxed died ($1)"
	"$client" "$sock" expect-idle || fail "objects left after $1"
	[ "$(fd_count)" = "$base" ] ||
		fail "srxed holds $(fd_count) fds after $1, $base before"
}

"$client" "$sock" semantics || fail "semantics"
check_clean semantics
"$client" "$sock" limits || fail "limits"
check_clean limits
"$client" "$sock" killed || fail "killed holder"
check_clean "a SIGKILLed holder"
for seed in 1 2 3 4; do
	"$client" "$sock" garbage 3000 "$seed" || fail "garbage seed $seed"
done
check_clean garbage

kill -TERM "$pid"
wait "$pid" || fail "srxed exited with $? after SIGTERM"
pid=
echo "ok"
