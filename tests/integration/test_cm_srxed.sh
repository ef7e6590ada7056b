#!/usr/bin/env bash
# srxed's connection manager end to end (issue #11): two clients of one
# srxed connect through the CM opcodes (include/srxe/proto_cm.h) over the
# device's own GID, QP 1 MADs through the engine; then a flood of 20,000
# CONNECTs against a backlog of 16 (cm_e2e.c says what each step checks).
# With tshark installed, `srxe capture` records the CM MADs of the first
# part: every one must decode with its CM name and no malformed/expert.
set -euo pipefail

build=${SRXE_BUILD:?set SRXE_BUILD to the build directory}
srxed=$build/kernel-shim/srxed/srxed
srxe=$build/kernel-shim/cli/srxe
prog=$build/tests/cm_e2e
tmp=$(mktemp -d /tmp/srxe-cm.$$.XXXXXX)
pid=
cap_pid=
dev=srxecm$$

cleanup() {
	[ -n "$cap_pid" ] && kill -KILL "$cap_pid" 2>/dev/null || true
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

dir=$tmp/$dev
export SRXE_RUNDIR=$tmp
"$srxed" --name "$dev" --rundir "$dir" --ip 127.0.0.1 --netdev lo \
	--verbose 2>"$tmp/srxed.log" &
pid=$!
for _ in $(seq 200); do
	[ -S "$dir/srxed.sock" ] &&
		[ "$(cat "$dir/srxed.pid" 2>/dev/null)" = "$pid" ] && break
	kill -0 "$pid" 2>/dev/null || fail "srxed exited at start"
	sleep 0.05
done

cap=
if command -v tshark >/dev/null; then
	cap=$tmp/cm.pcap
	"$srxe" capture "$cap" --name "$dev" 2>"$tmp/cap.log" &
	cap_pid=$!
	for _ in $(seq 100); do
		[[ $(stat -c %s "$cap" 2>/dev/null || echo 0) -ge 24 ]] && break
		sleep 0.05
	done
fi
timeout 60 "$prog" "$dir/srxed.sock" 127.0.0.1 basic || fail "cm_e2e basic"
if [[ -n $cap ]]; then
	sleep 0.2
	kill -INT "$cap_pid"
	wait "$cap_pid" || fail "srxe capture: $(cat "$tmp/cap.log")"
	cap_pid=
	names=$(tshark -r "$cap" -T fields -e _ws.col.Info 2>/dev/null |
		sort | uniq -c)
	echo "$names"
	for m in ConnectRequest ConnectReply ReadyToUse DisconnectRequest \
		DisconnectReply ConnectReject ServiceIDResReq \
		ServiceIDResReqResp; do
		grep -q "CM: $m\$" <<<"$names" || fail "no CM $m in the capture"
	done
	grep -v -q "CM: " <<<"$names" && fail "a frame that is no CM MAD"
	bad=$(tshark -r "$cap" -V 2>/dev/null | grep -ci "malformed\|expert" ||
		true)
	[[ $bad -eq 0 ]] || fail "$bad malformed/expert lines in tshark -V"
	echo "capture: every CM MAD named, no malformed/expert"
else
	echo "note: tshark is not installed: capture checks skipped"
fi
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
