#!/bin/bash
# Issue #6, must-show 1: completion channels for unmodified programs.
#  - ibv_rc/uc/ud_pingpong -e -c -g 1, ibv_srq_pingpong -e -g 1, and every
#    perftest tool that accepts -e, as root; ibv_rc_pingpong -e also as
#    uid 65534;
#  - events_chan.c: two channels per context, poll/epoll, solicited-only
#    arming, ack counts, destroy and re-create, bad command-file writes;
#  - srxed's fd count back to its baseline after clients exit, are
#    SIGKILLed holding channels, or are SIGKILLed while creating them;
#  - the command file is unmounted by `srxe down`; a SIGKILLed srxed's
#    mount is detached by its guard process, or, if that was killed too,
#    by the next `srxe up` / `srxe down`;
#  - without a usable /dev/fuse srxed says why and
#    ibv_create_comp_channel fails cleanly.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
PROG=$SRXE_BUILD/tests/events_chan
[[ -x $PROG ]] || fail "$PROG is not built"
[[ -c /dev/fuse ]] || skip "no /dev/fuse: completion channels need it (docs/events.md)"
setup_root
DEV=srxeev$$
PORT=$((20000 + $$ % 20000))
ITERS=${SRXE_EVENTS_ITERS:-50}
CMDFILE=$SRXE_RUNDIR/$DEV/cmd

is_mounted() {
	findmnt --mountpoint "$1" >/dev/null 2>&1
}

fd_count() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l
}

# wait_fds PID WANT: the count settles within 5 s (srxed frees on hang-up).
wait_fds() {
	local i n
	for ((i = 0; i < 50; i++)); do
		n=$(fd_count "$1")
		[[ $n -eq $2 ]] && return 0
		sleep 0.1
	done
	fail "srxed has $n fds, expected $2: $(ls -l "/proc/$1/fd")"
}

wait_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no '$2' in $1 after $3 s: $(cat "$1")"
}

# pair PREFIX... -- TOOL ARGS: server and client; the client retries until
# the server listens.  PREFIX runs both (e.g. setpriv).
pair() {
	local pre=() tool srv_pid rc=1 try srv_out cli_out
	while [[ $1 != -- ]]; do
		pre+=("$1")
		shift
	done
	shift
	tool=$1
	shift
	PORT=$((PORT + 1))
	srv_out=$TEST_ROOT/server.log
	cli_out=$TEST_ROOT/client.log
	"$SRXE" exec -- "${pre[@]}" timeout 120 "$tool" -d "$DEV" -p "$PORT" \
		"$@" >"$srv_out" 2>&1 &
	srv_pid=$!
	for try in $(seq 100); do
		"$SRXE" exec -- "${pre[@]}" timeout 120 "$tool" -d "$DEV" \
			-p "$PORT" "$@" localhost >"$cli_out" 2>&1 &&
			{ rc=0; break; }
		grep -qi "Couldn't connect\|Unable to init the socket" \
			"$cli_out" || break
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$srv_pid" || fail "$tool $* server failed: $(cat "$srv_out")"
	[[ $rc -eq 0 ]] || fail "$tool $* client failed after $try tries: $(cat "$cli_out")"
	echo "ok: ${pre[*]} $tool $*"
}

srxe_up "$DEV"
SRXED_PID=$(daemon_pid "$DEV")
if ! is_mounted "$CMDFILE"; then
	why=$(grep -o "completion channels unavailable.*" \
		"$SRXE_RUNDIR/$DEV/srxed.log" || true)
	[[ -n $why ]] && skip "srxed: $why"
	fail "$CMDFILE is not mounted: $(cat "$SRXE_RUNDIR/$DEV/srxed.log")"
fi
BASE=$(fd_count "$SRXED_PID")

echo "== rdma-core pingpong tools in event mode"
for tool in ibv_rc_pingpong ibv_uc_pingpong ibv_ud_pingpong; do
	pair -- "$tool" -e -c -g 1 -n "$ITERS"
	grep -q "^$ITERS iters in" "$TEST_ROOT/client.log" ||
		fail "$tool: $(cat "$TEST_ROOT/client.log")"
done
pair -- ibv_rc_pingpong -e -c -g 1 -n "$ITERS" -s 65536
pair -- ibv_srq_pingpong -e -g 1 -n "$ITERS"
grep -q "^$ITERS iters in" "$TEST_ROOT/client.log" ||
	fail "ibv_srq_pingpong: $(cat "$TEST_ROOT/client.log")"

echo "== as uid 65534"
pair "${NOBODY[@]}" -- ibv_rc_pingpong -e -c -g 1 -n "$ITERS"
grep -q "^$ITERS iters in" "$TEST_ROOT/client.log" ||
	fail "ibv_rc_pingpong as nobody: $(cat "$TEST_ROOT/client.log")"

echo "== perftest tools that accept -e"
tested=0
for tool in ib_send_bw ib_send_lat ib_write_bw ib_write_lat ib_read_bw \
	ib_read_lat ib_atomic_bw ib_atomic_lat; do
	command -v "$tool" >/dev/null || fail "perftest is not installed"
	# (not a pipe: grep -q closing early would fail it under pipefail)
	help=$("$tool" --help 2>&1 || true)
	if ! grep -qE -- '^ +-e, --events' <<<"$help"; then
		echo "skip: $tool has no -e"
		continue
	fi
	pair -- "$tool" -e -x 1 -F -n "$ITERS"
	grep -qE "^ +[0-9]+ +$ITERS " "$TEST_ROOT/client.log" ||
		fail "$tool -e: no result row: $(cat "$TEST_ROOT/client.log")"
	tested=$((tested + 1))
done
[[ $tested -ge 4 ]] || fail "only $tested perftest tools accept -e"

echo "== events_chan"
"$SRXE" exec -- timeout 120 "$PROG" "$DEV" "$SRXED_PID" "$CMDFILE" ||
	fail "events_chan failed"
wait_fds "$SRXED_PID" "$BASE"

echo "== clients SIGKILLed holding channels and while creating them"
log=$TEST_ROOT/hold.log
# No timeout(1) in between: the kill must hit the client itself (it ends
# itself after 60 s if the test dies).
"$SRXE" exec -- "$PROG" "$DEV" hold >"$log" 2>&1 &
client=$!
wait_line "$log" '^READY$' 30
[[ $(fd_count "$SRXED_PID") -gt $BASE ]] || fail "no fds held for the client"
kill -KILL "$client"
wait "$client" 2>/dev/null || true
wait_fds "$SRXED_PID" "$BASE"
for round in 1 2 3 4 5; do
	log=$TEST_ROOT/churn.log
	"$SRXE" exec -- "$PROG" "$DEV" churn >"$log" 2>&1 &
	client=$!
	wait_line "$log" '^READY$' 30
	sleep "0.$((round * 7 % 10))"
	kill -KILL "$client" 2>/dev/null || true
	wait "$client" 2>/dev/null || true
done
# A killed writer must not stay stuck in the command file.
for i in $(seq 50); do
	pgrep -f "$PROG $DEV churn" >/dev/null || break
	sleep 0.1
done
pgrep -f "$PROG $DEV churn" >/dev/null && fail "a killed client is stuck: $(ps -o pid,stat,wchan,cmd -C events_chan)"
wait_fds "$SRXED_PID" "$BASE"
"$SRXE" status --name "$DEV" >/dev/null || fail "srxed stopped answering"
pair -- ibv_rc_pingpong -e -c -g 1 -n 10

echo "== srxe down unmounts; a SIGKILLed srxed's mount is cleaned"
"$SRXE" down --name "$DEV" >/dev/null
is_mounted "$CMDFILE" && fail "$CMDFILE still mounted after srxe down"
# wait_unmounted PATH: the guard process detaches a killed srxed's mount.
wait_unmounted() {
	local i
	for ((i = 0; i < 50; i++)); do
		is_mounted "$1" || return 0
		sleep 0.1
	done
	fail "$1 still mounted 5 s after srxed was killed"
}
# kill_hard DEV [guard-too]: SIGKILL srxed (and first its guard).
kill_hard() {
	local pid
	pid=$(daemon_pid "$1")
	if [[ ${2:-} == guard-too ]]; then
		pkill -KILL -P "$pid" -x srxed-cmdguard ||
			fail "no srxed-cmdguard child of srxed $pid"
	fi
	kill -KILL "$pid"
}
srxe_up "$DEV"
kill_hard "$DEV"
wait_unmounted "$CMDFILE"
srxe_up "$DEV"
is_mounted "$CMDFILE" || fail "srxe up after a killed srxed did not mount"
pair -- ibv_rc_pingpong -e -c -g 1 -n 10
# Guard killed too: the dead mount stays until srxe up / down clean it.
kill_hard "$DEV" guard-too
sleep 0.2
is_mounted "$CMDFILE" || fail "expected a stale mount without the guard"
srxe_up "$DEV"
is_mounted "$CMDFILE" || fail "srxe up over a stale mount did not mount"
pair -- ibv_rc_pingpong -e -c -g 1 -n 10
kill_hard "$DEV" guard-too
sleep 0.2
is_mounted "$CMDFILE" || fail "expected a stale mount without the guard"
"$SRXE" down --name "$DEV" >/dev/null
is_mounted "$CMDFILE" && fail "stale $CMDFILE still mounted after srxe down"
[[ -e $SRXE_RUNDIR/$DEV ]] && fail "device directory left behind"

echo "== without /dev/fuse: a clean refusal"
DEV2=srxenf$$
TEST_DEVICES+=("$DEV2")
# shellcheck disable=SC2016 # $0 and $1 expand in the inner shell
unshare -m sh -c 'mount --bind /dev/null /dev/fuse && exec "$0" up --name "$1"' \
	"$SRXE" "$DEV2" >/dev/null || fail "srxe up without /dev/fuse failed"
grep -q "completion channels unavailable" "$SRXE_RUNDIR/$DEV2/srxed.log" ||
	fail "srxed did not say why: $(cat "$SRXE_RUNDIR/$DEV2/srxed.log")"
out=$("$SRXE" exec -- timeout 30 ibv_rc_pingpong -d "$DEV2" -g 1 -e -p $((PORT + 1)) 2>&1) &&
	fail "ibv_rc_pingpong -e succeeded without channels: $out"
assert_contains "$out" "Couldn't create completion channel" "no-fuse refusal"
"$SRXE" exec -- "$PROG" "$DEV2" hold >/dev/null 2>"$TEST_ROOT/nf.log" &&
	fail "events_chan made channels without /dev/fuse"
assert_contains "$(cat "$TEST_ROOT/nf.log")" "No space left on device" "errno"
"$SRXE" down --name "$DEV2" >/dev/null
echo "PASS"
