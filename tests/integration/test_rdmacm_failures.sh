#!/bin/bash
# Issue #11, must-show 5: rdma_cm failure semantics and abuse, on one host.
#  - connect to a port nobody listens on: REJECTED status 8, as kernel
#    rdma_cm gives (IB_CM_REJ_INVALID_SERVICE_ID; see cm_failures.c);
#    rdma_reject's reason (28) and private data reach the client;
#  - a REQ with a wrong DETH Q_Key or BTH P_Key is dropped at QP 1, as
#    kernel rxe drops it (cm_flood.c keys);
#  - a listener on a taken port: EADDRINUSE, in one process and from
#    another; the port is free again when its owner dies;
#  - a non-root user binding a port below 1024: EACCES (root may);
#  - a peer SIGKILLed mid-connection (client, then server): the survivor
#    gets DISCONNECTED (or a timeout event) within 10 s;
#  - a destination without a route: the resolve fails, no hang;
#  - 100,000 REQs from the network at one listener: srxed's VmRSS stays
#    within a bound, the listener gets exactly its backlog, every other
#    REQ is accounted for as dropped (srxed's CM counters), and a real
#    client still connects to that listener afterwards;
#  - 10,000 fuzzed CM MADs: srxed stays up, and its CM's connection count
#    returns to 0 (after TimeWait) within a bound;
#  - srxed killed while a program blocks in rdma_get_cm_event: the program
#    gets DEVICE_REMOVAL and returns.
# srxed's log must hold no sanitizer report (the ASan build runs this too).
#
# It runs in a network namespace of its own (unshare --net, same mount
# namespace): its srxed then owns 127.0.0.1:4791 on a private lo, so the
# flood's raw datagrams reach this test's srxed and no other's, and the
# host-wide rdma_cm port reservations (abstract sockets, per namespace)
# cannot collide with concurrent tests.
here=$(cd "$(dirname "$0")" && pwd)
if [[ -z ${SRXE_CMF_NETNS:-} ]]; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "SKIP: needs root (raw sockets, a network namespace)"
		exit 77
	fi
	unshare --net true 2>/dev/null || {
		echo "SKIP: cannot create a network namespace (unshare --net)"
		exit 77
	}
	SRXE_CMF_NETNS=1 exec unshare --net -- bash "$0" "$@"
fi
ip link set lo up
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
[[ -e $SRXE_BUILD/providers/rdmacm/librdmacm.so.1 ]] ||
	fail "srxe's librdmacm (providers/rdmacm) is not built"
CMF=$SRXE_BUILD/tests/cm_failures
FLOOD=$SRXE_BUILD/tests/cm_flood
[[ -x $CMF && -x $FLOOD ]] || fail "cm_failures/cm_flood are not built"
setup_root
DEV=srxecf$$
A=127.0.0.1
PEER=127.0.0.2 # the flood's source: srxed's answers go there
PORT=$((20000 + $$ % 20000))
FLOOD_COUNT=${SRXE_CM_FLOOD_COUNT:-100000}
FLOOD_RATE=${SRXE_CM_FLOOD_RATE:-50000}
FUZZ_COUNT=${SRXE_CM_FUZZ_COUNT:-10000}
BACKLOG=16
T0=$SECONDS

SANITIZED=0
if [[ $(ldd "$SRXED_BIN" 2>/dev/null) == *libasan* ]]; then
	SANITIZED=1
	# A small quarantine, so that VmRSS shows what srxed keeps, not
	# what ASan holds back from reuse (256 MiB by default).
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
fi
# VmRSS growth allowed across the flood (KiB): 8 MiB is 84 bytes per
# REQ, less than any state kept per REQ (a connection object is > 256 B);
# measured: +0.4 MiB.  ASan: its 8 MiB quarantine and shadow on top.
RSS_BOUND_KB=$(((SANITIZED ? 32 : 8) * 1024))

srxe_up "$DEV"
st=$("$SRXE" status --name "$DEV")
assert_contains "$st" "wire: +udp" "RoCEv2/UDP transport of $DEV"

cmf() {
	"$SRXE" exec -- timeout 60 "$CMF" "$@"
}

status() {
	"$SRXE" status --name "$DEV" || fail "srxe status does not answer"
}

# cm_counter NAME: the number after NAME on srxe status's rdma_cm line
# ("channels 0, listens 0, connections 0; MADs in 5 (malformed 0,
# unmatched 0, lost 0), out 5 (retries 0), timeouts 0, reqs dropped 0,
# events dropped 0, disconnects held 0").
cm_counter() {
	local line v
	line=$(status | grep -E "^ *rdma_cm:") ||
		fail "srxe status has no rdma_cm line: $(status)"
	v=$(grep -oE "$1 [0-9]+" <<<"$line" | head -n 1 | grep -oE "[0-9]+$") ||
		fail "no CM counter '$1' in: $line"
	echo "$v"
}

# wire_counter NAME: from the "wire drops" line.
wire_counter() {
	status | grep -E "wire drops" | grep -oE "$1 [0-9]+" | grep -oE "[0-9]+$"
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$(daemon_pid "$DEV")/status"
}

# wait_cm_idle WHAT BOUND_S: the CM holds no connection (TimeWait
# included), and no listen or channel once every client is gone.
wait_cm_idle() {
	local what=$1 bound=$2 start=$SECONDS n l c
	while :; do
		n=$(cm_counter connections)
		l=$(cm_counter listens)
		c=$(cm_counter channels)
		((n == 0 && l == 0 && c == 0)) && break
		if ((SECONDS - start > bound)); then
			echo "FAILED: $what: the CM still holds $n connections, $l listens, $c channels after ${bound} s: $(status | grep rdma_cm:)"
			FAILED+=("CM state left $what")
			return 0
		fi
		sleep 0.5
	done
	echo "ok: $what: the CM holds no connection, listen or channel (after $((SECONDS - start)) s)"
}

check_srxed_log() {
	local f=$SRXE_RUNDIR/$1/srxed.log
	[[ -s $f ]] || fail "no srxed log $f"
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$f"; then
		fail "srxed of $1 reported: $(grep -m 5 -A 20 -E \
			"AddressSanitizer|LeakSanitizer|runtime error:" "$f")"
	fi
}

# stop_dev DEV: srxed exits on SIGTERM (LeakSanitizer checks its heap in
# ASan builds, the CM logs its totals), its log holds no sanitizer report.
stop_dev() {
	local pid
	pid=$(daemon_pid "$1")
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "srxed $pid did not exit on SIGTERM"
	check_srxed_log "$1"
}

# run_ok WHAT CMD...: CMD must exit 0 and print "ok:" lines.  A failing
# scenario is recorded and the independent ones still run; the test fails
# at its end naming every one that failed.
FAILED=()
run_ok() {
	local what=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if ((rc != 0)) || ! grep "^ok:" <<<"$out"; then
		echo "FAILED: $what (exit $rc):"
		# shellcheck disable=SC2001 # indent every line
		sed 's/^/    /' <<<"$out"
		FAILED+=("$what")
	fi
	return 0
}

echo "== no listener, reject with private data"
run_ok "no-listener" cmf no-listener "$A" "$PORT"
run_ok "reject" cmf reject "$A" $((PORT + 1))

echo "== QP 1 takes only MADs with the GSI Q_Key and the default P_Key"
run_ok "keys" timeout 60 "$FLOOD" keys "$A" "$PEER" $((PORT + 10))

echo "== EADDRINUSE"
run_ok "addr-in-use (one process)" cmf addr-in-use "$A" $((PORT + 2))
# srxe exec execs: $! is cm_failures itself.
"$SRXE" exec -- "$CMF" listen "$A" $((PORT + 3)) 60 \
	>"$TEST_ROOT/holder.log" 2>&1 &
holder=$!
for _ in $(seq 100); do
	grep -q "^listening" "$TEST_ROOT/holder.log" && break
	kill -0 "$holder" 2>/dev/null || break
	sleep 0.1
done
grep -q "^listening" "$TEST_ROOT/holder.log" ||
	fail "listener process: $(cat "$TEST_ROOT/holder.log")"
run_ok "addr-in-use (other process)" \
	cmf bind-expect "$A" $((PORT + 3)) EADDRINUSE
# The holder dies without cleaning up: its port must come free.
kill -KILL "$holder"
wait "$holder" 2>/dev/null || true
freed=
for _ in $(seq 30); do
	rc=0
	out=$(cmf bind-expect "$A" $((PORT + 3)) ok 2>&1) || rc=$?
	if grep -q "^ok:" <<<"$out"; then
		freed=1
		break
	fi
	sleep 0.1
done
if [[ -z $freed ]]; then
	echo "FAILED: port of a SIGKILLed listener not freed in 3 s: $out"
	FAILED+=("SIGKILLed listener's port")
elif ((rc != 0)); then
	echo "FAILED: port of a SIGKILLed listener free, but cm_failures exited $rc: $out"
	FAILED+=("SIGKILLed listener's port (exit $rc)")
else
	echo "ok: a SIGKILLed listener's port is free again"
fi

echo "== ports below 1024"
run_ok "low port as nobody" \
	"$SRXE" exec -- "${NOBODY[@]}" timeout 60 "$CMF" bind-expect "$A" 999 EACCES
run_ok "low port as root" cmf bind-expect "$A" 999 ok
run_ok "high port as nobody" \
	"$SRXE" exec -- "${NOBODY[@]}" timeout 60 "$CMF" bind-expect "$A" \
	$((PORT + 4)) ok

echo "== peer killed mid-connection"
run_ok "peer-killed client" cmf peer-killed "$A" $((PORT + 5)) client
run_ok "peer-killed server" cmf peer-killed "$A" $((PORT + 6)) server

echo "== a peer's disconnect after its data"
# The client's message is in the server's CQ when its DREQ comes: srxe
# tells DISCONNECTED after the server polled it (held), or at once when
# it already had (cm_failures.c; kernel-shim/cm/README.md).
held0=$(cm_counter "disconnects held")
run_ok "disconnect after data, polled" \
	cmf disconnect-after-data "$A" $((PORT + 11)) polled
held1=$(cm_counter "disconnects held")
run_ok "disconnect after data, unpolled" \
	cmf disconnect-after-data "$A" $((PORT + 12)) unpolled
held2=$(cm_counter "disconnects held")
if ((held1 == held0 && held2 == held0 + 1)); then
	echo "ok: disconnects held: $held0 -> $held1 (polled) -> $held2 (unpolled)"
else
	echo "FAILED: disconnects held: $held0 -> $held1 (polled, expected no change) -> $held2 (unpolled, expected one more)"
	FAILED+=("disconnects held")
fi

echo "== no route"
run_ok "no-route" cmf no-route 10.255.255.1

wait_cm_idle "after the failure scenarios" 20

echo "== flood: $FLOOD_COUNT REQs at one listener (backlog $BACKLOG)"
FPORT=$((PORT + 7))
gate=$TEST_ROOT/gate
"$SRXE" exec -- timeout 120 "$CMF" serve "$A" "$FPORT" "$BACKLOG" "$gate" \
	>"$TEST_ROOT/serve.log" 2>&1 &
serve=$!
for _ in $(seq 100); do
	grep -q "^listening" "$TEST_ROOT/serve.log" && break
	sleep 0.1
done
grep -q "^listening" "$TEST_ROOT/serve.log" ||
	fail "flood listener: $(cat "$TEST_ROOT/serve.log")"
rss0=$(rss_kb)
dropped0=$(cm_counter "reqs dropped")
lost0=$(cm_counter lost)
overflow0=$(wire_counter socket_overflow)
flood_out=$(timeout 120 "$FLOOD" flood "$A" "$PEER" "$FPORT" "$FLOOD_COUNT" \
	"$FLOOD_RATE") || fail "cm_flood flood: $flood_out"
echo "$flood_out"
rss1=$(rss_kb)
overflow=$(($(wire_counter socket_overflow) - overflow0))
echo "srxed VmRSS: before $rss0 KiB, after $rss1 KiB (bound +$RSS_BOUND_KB KiB)"
((rss1 - rss0 <= RSS_BOUND_KB)) ||
	fail "flood: srxed's VmRSS grew by $((rss1 - rss0)) KiB (> $RSS_BOUND_KB)"
assert_contains "$flood_out" "ConnectReject 0," "no REJ before the app rejects"
dropped=$(($(cm_counter "reqs dropped") - dropped0))
lost=$(($(cm_counter lost) - lost0))
echo "CM: REQs dropped (backlog) $dropped, MADs lost on srxed's full queue to the CM $lost, kernel socket overflow $overflow"
# Every REQ went to the backlog, or was dropped by the CM (backlog full),
# before it (srxed's queue to the CM full), or by the kernel (srxed's
# socket full).  None was answered: the listener had not rejected any.
if ((dropped + lost + overflow + BACKLOG != FLOOD_COUNT)); then
	echo "FAILED: flood: $BACKLOG in the backlog + $dropped dropped by the CM + $lost lost on its full queue + $overflow socket overflows != $FLOOD_COUNT REQs sent"
	FAILED+=("flood accounting")
elif ((dropped < FLOOD_COUNT / 2)); then
	echo "FAILED: flood: only $dropped REQs reached the CM's backlog check: not a flood of the CM"
	FAILED+=("flood reached the CM")
else
	echo "ok: flood: every REQ accounted for"
fi
touch "$gate"
for _ in $(seq 300); do
	grep -q "^drained" "$TEST_ROOT/serve.log" && break
	sleep 0.1
done
grep -q "^drained" "$TEST_ROOT/serve.log" ||
	fail "flood listener did not drain its backlog: $(cat "$TEST_ROOT/serve.log")"
run_ok "real client after the flood" cmf connect "$A" "$FPORT"
if ! wait "$serve"; then
	echo "FAILED: flood listener: $(cat "$TEST_ROOT/serve.log")"
	FAILED+=("flood listener")
fi
cat "$TEST_ROOT/serve.log"
assert_contains "$(cat "$TEST_ROOT/serve.log")" \
	"flood requests delivered: $BACKLOG," "backlog honoured"
echo "ok: flood: backlog $BACKLOG honoured, the rest dropped, VmRSS +$((rss1 - rss0)) KiB, real client accepted"
wait_cm_idle "after the flood" 20
stop_dev "$DEV"
"$SRXE" down --name "$DEV" >/dev/null 2>&1 || true

echo "== fuzz: $FUZZ_COUNT mutated CM MADs"
DEV=srxecz$$
srxe_up "$DEV"
ZPORT=$((PORT + 8))
touch "$gate.fuzz" # this listener rejects every request at once
"$SRXE" exec -- timeout 120 "$CMF" serve "$A" "$ZPORT" "$BACKLOG" \
	"$gate.fuzz" >"$TEST_ROOT/fserve.log" 2>&1 &
fserve=$!
for _ in $(seq 100); do
	grep -q "^listening" "$TEST_ROOT/fserve.log" && break
	sleep 0.1
done
fuzz_out=$(timeout 120 "$FLOOD" fuzz "$A" "$PEER" "$ZPORT" "$FUZZ_COUNT" 11) ||
	fail "cm_flood fuzz: $fuzz_out"
echo "$fuzz_out"
status | grep -E "rdma_cm:|wire drops|rx drops"
run_ok "real client after the fuzz" cmf connect "$A" "$ZPORT"
if ! wait "$fserve"; then
	echo "FAILED: fuzz listener: $(cat "$TEST_ROOT/fserve.log")"
	FAILED+=("fuzz listener")
fi
wait_cm_idle "after the fuzz" 30
stop_dev "$DEV"
"$SRXE" down --name "$DEV" >/dev/null 2>&1 || true

echo "== srxed killed under a blocked rdma_get_cm_event"
DEV2=srxecg$$
srxe_up "$DEV2"
run_ok "device-removal" \
	"$SRXE" exec -- timeout 60 "$CMF" device-removal "$A" $((PORT + 9)) \
	"$(daemon_pid "$DEV2")"
check_srxed_log "$DEV2"
((${#FAILED[@]} == 0)) ||
	fail "${#FAILED[@]} check(s) failed: $(printf '[%s] ' "${FAILED[@]}")"
echo "PASS ($((SECONDS - T0)) s)"
