#!/bin/bash
# Issue #6, must-show 3: chaos (tests/integration/chaos.c).  8 client
# pairs do RC WRITE + SEND ping-pong with data checks; random clients are
# SIGKILLed over a minute (SRXE_CHAOS_SECONDS, default 60; SRXE_CHAOS_KILLS,
# default 5; SRXE_CHAOS_SEED repeats a run); their partners must report an
# error and exit cleanly, nobody else may fail.  `srxe status` must then
# show exactly the survivors' objects.  srxed is SIGKILLed under load:
# every survivor reports an error within 5 s and exits cleanly.  After
# `srxe up` again an unmodified ibv_rc_pingpong works, and `srxe status`
# shows no clients, objects or frames left.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
PROG=$SRXE_BUILD/tests/chaos
[[ -x $PROG ]] || fail "$PROG is not built"
command -v ibv_rc_pingpong >/dev/null || fail "ibverbs-utils is not installed"
setup_root
dev=srxechaos$$
seconds=${SRXE_CHAOS_SECONDS:-60}
kills=${SRXE_CHAOS_KILLS:-5}
pairs=8

status_field() { # status_field OUTPUT REGEX-WITH-ONE-GROUP
	sed -nE "s/.*$2.*/\1/p" <<<"$1" | head -1
}

# expect_objects N: N clients, each with 1 PD, 1 MR, 1 QP and 1 CQ.
expect_objects() {
	local n=$1 out
	for _ in $(seq 50); do
		out=$("$SRXE" status --name "$dev") || fail "srxe status: $out"
		grep -qE "clients:[[:space:]]+$n " <<<"$out" &&
			grep -q "data frames $((16 * n))," <<<"$out" &&
			grep -q "pds $n, mrs $n, qps $n, cqs $n, srqs 0, ahs 0" \
				<<<"$out" && break
		sleep 0.1
	done
	echo "$out" | grep -E "clients|objects|memory"
	assert_contains "$out" "clients:[[:space:]]+$n " "clients"
	assert_contains "$out" "pds $n, mrs $n, qps $n, cqs $n, srqs 0, ahs 0" \
		"objects of $n clients"
	# each client registers one 64 KiB buffer: 16 data frames
	assert_contains "$out" "data frames $((16 * n))," "frames of $n clients"
}

srxe_up "$dev"
fifo=$TEST_ROOT/go
mkfifo "$fifo"
log=$TEST_ROOT/chaos.log
with_srxe_env "$PROG" "$dev" "$(daemon_pid "$dev")" "$seconds" "$pairs" \
	"$kills" <"$fifo" >"$log" 2>&1 &
chaos=$!
exec 3>"$fifo"
deadline=$((SECONDS + seconds + 120))
until grep -q "^SURVIVORS" "$log"; do
	kill -0 "$chaos" 2>/dev/null || { cat "$log"; fail "chaos ended early"; }
	((SECONDS < deadline)) || { cat "$log"; fail "chaos: no SURVIVORS line"; }
	sleep 0.5
done
survivors=$(sed -nE 's/^SURVIVORS ([0-9]+)/\1/p' "$log")
echo "== after the SIGKILLs: $survivors survivors"
expect_objects "$survivors"
echo go >&3
rc=0
timeout 120 tail --pid="$chaos" -f /dev/null || rc=$?
wait "$chaos" || rc=$?
exec 3>&-
cat "$log"
[[ $rc -eq 0 ]] && grep -q "^PASS$" "$log" || fail "chaos (exit $rc)"

# ASan/UBSan builds: srxed served the kills without a report.
check_srxed_log() {
	local f=$SRXE_RUNDIR/$dev/srxed.log
	if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$f"; then
		fail "srxed reported memory errors ($f)"
	fi
}
check_srxed_log

echo "== srxe up again: unmodified ibv_rc_pingpong"
"$SRXE" down --name "$dev" || fail "srxe down after SIGKILL"
srxe_up "$dev"
port=$((20000 + $$ % 20000))
with_srxe_env timeout 60 ibv_rc_pingpong -d "$dev" -g 1 -p "$port" -n 200 \
	>"$TEST_ROOT/srv.log" 2>&1 &
srv=$!
ok=
for _ in $(seq 40); do
	if with_srxe_env timeout 60 ibv_rc_pingpong -d "$dev" -g 1 -p "$port" \
		-n 200 localhost >"$TEST_ROOT/cli.log" 2>&1; then
		ok=1
		break
	fi
	sleep 0.25
done
wait "$srv" || ok=
cat "$TEST_ROOT/cli.log"
[[ -n $ok ]] || { cat "$TEST_ROOT/srv.log"; fail "ibv_rc_pingpong after srxe up"; }
out=$("$SRXE" status --name "$dev") || fail "srxe status: $out"
echo "$out" | grep -E "clients|objects|memory"
assert_contains "$out" "clients:[[:space:]]+0 " "no clients left"
assert_contains "$out" "pds 0, mrs 0, qps 0, cqs 0, srqs 0, ahs 0" \
	"no objects left"
assert_contains "$out" "registered 0 B, translation 0 B, data frames 0, table frames 0" \
	"no frames left"
# A clean exit: LeakSanitizer (ASan builds) checks srxed's heap now.
pid=$(daemon_pid "$dev")
kill -TERM "$pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "srxed $pid did not exit on SIGTERM"
check_srxed_log
echo "PASS"
