#!/bin/bash
# Issue #6, per-client limits: `srxe up --max-qp/--max-cq/--max-mr/
# --max-reg-bytes` reach srxed, ibv_devinfo -v reports them, and each of
# two concurrent clients can create exactly that many QPs, CQs, MRs and
# registered bytes before ENOMEM (tests/integration/limits.c).  Bad values
# are usage errors.  Issue #14: `srxe up --engines N` (1..16) reaches
# srxed, whose start-up line logs it; without it srxed takes one engine
# thread per four CPUs (1..16); `srxe status` shows the engine threads and
# their hand-offs.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
PROG=$SRXE_BUILD/tests/limits
[[ -x $PROG ]] || fail "$PROG is not built"
setup_root
dev=srxelim$$

for bad in "--max-qp 0" "--max-cq 16385" "--max-mr x" "--max-qp -1"; do
	rc=0
	# shellcheck disable=SC2086
	out=$("$SRXE" up --name "$dev" $bad 2>&1) || rc=$?
	[[ $rc -eq 2 ]] || fail "srxe up $bad: exit $rc, expected 2: $out"
	assert_contains "$out" "invalid --max-" "srxe up $bad"
done
for bad in 0 17 x; do
	rc=0
	out=$("$SRXE" up --name "$dev" --engines "$bad" 2>&1) || rc=$?
	[[ $rc -eq 2 ]] || fail "srxe up --engines $bad: exit $rc, expected 2: $out"
	assert_contains "$out" \
		"invalid --engines '$bad': expected a number from 1 to 16" \
		"srxe up --engines $bad"
done

srxe_up "$dev" --max-qp 5 --max-cq 6 --max-mr 7 --max-reg-bytes 1M \
	--engines 3
assert_contains "$(cat "$SRXE_RUNDIR/$dev/srxed.log")" " engines 3$" \
	"srxed's start-up line"
info=$(with_srxe_env ibv_devinfo -v -d "$dev") || fail "ibv_devinfo: $info"
assert_contains "$info" "max_qp:[[:space:]]+5$" "ibv_devinfo max_qp"
assert_contains "$info" "max_cq:[[:space:]]+6$" "ibv_devinfo max_cq"
assert_contains "$info" "max_mr:[[:space:]]+7$" "ibv_devinfo max_mr"
assert_contains "$info" "max_mr_size:[[:space:]]+0x100000$" \
	"ibv_devinfo max_mr_size"
echo "ibv_devinfo -v reports max_qp 5, max_cq 6, max_mr 7, max_mr_size 1M"

# Two clients at once: the limits are per client, not device-wide.
pids=()
for i in 1 2; do
	with_srxe_env timeout 120 "$PROG" "$dev" 5 6 7 1048576 \
		>"$TEST_ROOT/limits$i.log" 2>&1 &
	pids+=($!)
done
for i in 1 2; do
	rc=0
	wait "${pids[$((i - 1))]}" || rc=$?
	sed "s/^/[client $i] /" "$TEST_ROOT/limits$i.log"
	[[ $rc -eq 0 ]] && grep -q "^PASS$" "$TEST_ROOT/limits$i.log" ||
		fail "client $i (exit $rc)"
done
out=$("$SRXE" status --name "$dev") || fail "srxe status: $out"
assert_contains "$out" "clients:[[:space:]]+0 " "no clients left"
assert_contains "$out" "mrs 0," "no MR left"
assert_contains "$out" "engine:[[:space:]]+threads 3, .*hand-offs [0-9]+ direct, [0-9]+ queued, [0-9]+ dropped$" \
	"engine threads (--engines 3) and hand-offs in srxe status"

# The default: one engine thread per four CPUs srxed may run on, 1..16.
"$SRXE" down --name "$dev" >/dev/null || fail "srxe down $dev"
cpus=$("$PY" -c 'import os; print(len(os.sched_getaffinity(0)))')
want=$((cpus / 4))
((want >= 1)) || want=1
((want <= 16)) || want=16
srxe_up "$dev"
assert_contains "$(cat "$SRXE_RUNDIR/$dev/srxed.log")" " engines $want$" \
	"srxed's default engine threads for $cpus CPUs"
echo "PASS"
