#!/bin/bash
# Issue #14, engines that scale: `srxe up --engines 3` runs three engine
# threads and `srxe status` says so.  Contexts are spread over the
# threads; a connected pair of contexts is brought onto one thread (no
# hand-off between them); with the tests-only SRXED_ENGINE_HANDOFF=spread
# the pairs stay apart, so every packet crosses threads (handed over at
# once under the other thread's lock, or queued in its inbox), and with
# =queue every one goes through the inbox.  In each mode unmodified tools
# move and check data (-c) over RC, UC, UD, SRQ, READ, atomics and XRC,
# also with three pairs at once, and nothing is dropped or arrives early.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
command -v ib_write_bw >/dev/null || skip "perftest is not installed"
DEV=srxeet$$
PORT=$((20000 + $$ % 20000))

status() {
	"$SRXE" status --name "$DEV" || fail "srxe status $DEV"
}

handoffs() {
	status_handoffs "$(status)"
}

up() {
	srxe_up "$DEV" --engines 3 "$@" >/dev/null
	assert_contains "$(status)" "engine: +threads 3," "srxe status"
}

thread_ctxs() {
	status_thread_ctxs "$(status)"
}

# placement WANT: while an ib_write_bw pair runs, its two contexts must
# show up as WANT says: "together" (2 on one thread) or "apart" (1 and 1).
placement() {
	local want=$1 srv cli counts seen= i
	"$SRXE" exec -- timeout 60 ib_write_bw -d "$DEV" -D 3 -s 4096 -F \
		-p "$PORT" >"$TEST_ROOT/pl-s" 2>&1 &
	srv=$!
	retry_client 50 "$srv" "$TEST_ROOT/pl-c" "$SRXE" exec -- timeout 60 \
		ib_write_bw -d "$DEV" -D 3 -s 4096 -F -p "$PORT" localhost &
	cli=$!
	for ((i = 0; i < 50; i++)); do
		counts=$(thread_ctxs)
		case "$want ${counts// /+}" in
		"together 2+0+0" | "together 0+2+0" | "together 0+0+2") seen=1 ;;
		"apart 1+1+0" | "apart 1+0+1" | "apart 0+1+1") seen=1 ;;
		esac
		[[ -n $seen ]] && break
		sleep 0.1
	done
	wait "$cli" || fail "placement client: $(cat "$TEST_ROOT/pl-c")"
	wait "$srv" || fail "placement server: $(cat "$TEST_ROOT/pl-s")"
	[[ -n $seen ]] ||
		fail "the pair's contexts never ran $want (last: $counts)"
	echo "ok: a connected pair's contexts ran $want ($counts)"
}

# Every srxed thread but the server loop's blocks every signal
# (srxe/quiet_thread.h): SIGTERM must reach the loop's signalfd, never
# kill srxed from an engine thread.
threads_quiet() {
	local pid t blk n=0
	pid=$(srxed_pid "$DEV")
	for t in /proc/"$pid"/task/*; do
		[[ ${t##*/} == "$pid" ]] && continue
		blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "$t/status")
		(((0x$blk & 0x7ffbfeff) == 0x7ffbfeff)) ||
			fail "srxed thread ${t##*/} does not block every signal: SigBlk $blk"
		n=$((n + 1))
	done
	((n >= 3)) || fail "srxed has $n threads besides its main one (3 engines asked)"
	echo "ok: srxed's $n threads besides the server loop block every signal"
}

down() {
	# Every context left and each thread's count with it (moves too).
	[[ $(thread_ctxs) == "0 0 0" ]] ||
		fail "$1: contexts left on engine threads: $(thread_ctxs)"
	check_srxed_log "$DEV" "$1" required
	"$SRXE" down --name "$DEV" >/dev/null || fail "srxe down $DEV"
}

pair() {
	pingpong_pair "$@" -d "$DEV" -p "$PORT"
	echo "ok: $*"
}

traffic() {
	pair ibv_rc_pingpong -g 1 -c -n 200 -s 100000
	pair ibv_rc_pingpong -g 1 -c -n 1000 -s 1000
	pair ibv_uc_pingpong -g 1 -c -n 500 -s 3000
	pair ibv_ud_pingpong -g 1 -c -n 500 -s 2048
	pair ibv_srq_pingpong -g 1 -c -n 200 -s 8192
	pair ibv_xsrq_pingpong -g 1 -n 200 -s 65536
	pair ib_write_bw -s 65536 -n 1000 -q 2 -F
	pair ib_read_bw -s 65536 -n 1000 -F
	pair ib_send_bw -c UD -s 2048 -n 2000 -F
	pair ib_atomic_bw -n 2000 -F
}

# Three pingpong pairs at once, each checking its data.
concurrent() {
	local i pids=() logs=()
	for i in 1 2 3; do
		"$SRXE" exec -- timeout 120 ibv_rc_pingpong -d "$DEV" -g 1 -c \
			-n 300 -s 65536 -p $((PORT + i)) >"$TEST_ROOT/s$i" 2>&1 &
		pids+=($!)
	done
	for i in 1 2 3; do
		retry_client 50 "${pids[i - 1]}" "$TEST_ROOT/c$i" "$SRXE" exec -- \
			timeout 120 ibv_rc_pingpong -d "$DEV" -g 1 -c -n 300 \
			-s 65536 -p $((PORT + i)) localhost &
		logs+=($!)
	done
	for i in 1 2 3; do
		wait "${logs[i - 1]}" ||
			fail "concurrent client $i: $(cat "$TEST_ROOT/c$i")"
		wait "${pids[i - 1]}" ||
			fail "concurrent server $i: $(cat "$TEST_ROOT/s$i")"
		assert_contains "$(cat "$TEST_ROOT/c$i")" "^300 iters in" \
			"concurrent pair $i"
	done
	echo "ok: three rc_pingpong pairs at once"
}

# Same-host packets are never lost or reordered, whichever thread they
# cross to: an early one would be held and NAKed.
in_order() {
	local st
	st=$(status)
	[[ $st =~ reordered\ held\ 0 ]] ||
		fail "$1: packets arrived early:
$st"
	[[ $st =~ naks\ received\ 0 ]] || fail "$1: sequence NAKs:
$st"
}

# 1. Default: a connected pair of contexts lands on one thread.
up
threads_quiet
placement together
pair ib_write_bw -s 65536 -n 1000 -F
read -r direct queued dropped <<<"$(handoffs)"
((direct == 0 && queued == 0)) ||
	fail "a connected pair crossed threads ($direct direct, $queued queued)"
echo "ok: default: the ib_write_bw pair ran on one engine thread"
down default

# 2. Pairs kept apart: packets cross threads, at once or queued.
export SRXED_ENGINE_HANDOFF=spread
up
placement apart
traffic
concurrent
read -r direct queued dropped <<<"$(handoffs)"
((direct + queued > 0 && dropped == 0)) ||
	fail "spread: $direct direct, $queued queued, $dropped dropped hand-offs"
in_order spread
echo "ok: spread: $direct hand-offs at once, $queued queued, none dropped"
down spread

# 3. Every hand-off through the inbox (MTT mode, for the other codec).
export SRXED_ENGINE_HANDOFF=queue
up --translation mtt
traffic
concurrent
read -r direct queued dropped <<<"$(handoffs)"
((direct == 0 && queued > 0 && dropped == 0)) ||
	fail "queue: $direct direct, $queued queued, $dropped dropped hand-offs"
in_order queue
echo "ok: queue: $queued hand-offs through the inbox, none dropped"
down queue
echo "PASS"
