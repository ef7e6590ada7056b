#!/bin/bash
# Memory registration end to end (issue #3): unmodified-style verbs
# programs (tests/integration/mr_e2e.c) and pyverbs register heap, stack,
# mmap'd, tiny and large buffers on srxe devices in shortcut and MTT mode;
# limits, errors and cleanup after exit and SIGKILL show in `srxe status`.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
MR_E2E=$SRXE_BUILD/tests/mr_e2e
[[ -x $MR_E2E ]] || fail "$MR_E2E is not built"

status_of() {
	"$SRXE" status --name "$1" || fail "srxe status --name $1"
}

# assert_idle DEV: no MR, no registered byte, no frame left in srxed.
assert_idle() {
	local out
	out=$(status_of "$1")
	assert_contains "$out" "mrs 0," "$1: MR count back to 0"
	assert_contains "$out" "registered 0 B, translation 0 B, data frames 0, table frames 0" \
		"$1: memory released"
}

# hold_mrs DEV N: start a program holding N MRs; sets HOLD_PID.  It exits
# when its stdin (fd 3 here) is closed.
hold_mrs() {
	local dev=$1 n=$2 line
	coproc HOLD { with_srxe_env "$MR_E2E" hold "$dev" "$n"; }
	HOLD_PID=$HOLD_PID
	read -r -t 20 line <&"${HOLD[0]}" || fail "$dev: holder did not start"
	[[ $line == "holding $n MRs" ]] || fail "$dev: holder said '$line'"
}

check_holding() {
	local dev=$1 n=$2 out
	out=$(status_of "$dev")
	assert_contains "$out" "mrs $n," "$dev: $n MRs while held"
	assert_contains "$out" "clients: +1 " "$dev: holder has a context"
	assert_not_contains "$out" "data frames 0," "$dev: frames while held"
	assert_not_contains "$out" "registered 0 B" "$dev: bytes while held"
}

run_mode() {
	local mode=$1 dev out
	# A small slab, so that the allocator wraps around it quickly.
	dev=srxep${mode:0:1}$$
	srxe_up "$dev" --translation "$mode" --max-reg-bytes 4M
	out=$("$MR_E2E" proto "$SRXE_RUNDIR/$dev/srxed.sock" "$dev" 2>&1) ||
		fail "$mode: REG/DEREG protocol:
$out"
	assert_idle "$dev"

	dev=srxem${mode:0:1}$$
	srxe_up "$dev" --translation "$mode"
	out=$(with_srxe_env "$MR_E2E" basic "$dev" "$mode" 2>&1) ||
		fail "$mode: basic registration checks:
$out"
	assert_idle "$dev"

	out=$(with_srxe_env "$MR_E2E" many "$dev" 2>&1) ||
		fail "$mode: max_mr concurrent MRs:
$out"
	assert_contains "$out" "registered 65536 MRs" "$mode: 65,536 MRs"
	assert_idle "$dev"

	out=$(with_srxe_env "$PY" - "$dev" 2>&1 <<'PYEOF'
import sys
from pyverbs.device import Context
from pyverbs.pd import PD
from pyverbs.mr import MR
from pyverbs.enums import IBV_ACCESS_LOCAL_WRITE
with Context(name=sys.argv[1]) as ctx:
    with PD(ctx) as pd:
        with MR(pd, 4096, IBV_ACCESS_LOCAL_WRITE) as mr:
            mr.write(b"srxe" * 1024, 4096)
            assert mr.read(4096, 0) == b"srxe" * 1024
            print(f"pyverbs MR lkey {mr.lkey:#x} rkey {mr.rkey:#x}")
PYEOF
	) || fail "$mode: pyverbs MR: $out"
	assert_contains "$out" "pyverbs MR lkey 0x[0-9a-f]+ rkey 0x[0-9a-f]+$" \
		"$mode: pyverbs MR"
	assert_idle "$dev"

	# A holder that exits normally, then one that is SIGKILLed.
	hold_mrs "$dev" 5
	check_holding "$dev" 5
	exec {HOLD[1]}>&-
	wait "$HOLD_PID" || fail "$mode: holder failed"
	assert_idle "$dev"

	hold_mrs "$dev" 7
	check_holding "$dev" 7
	kill -KILL "$HOLD_PID"
	wait "$HOLD_PID" 2>/dev/null || true
	for _ in $(seq 50); do
		status_of "$dev" | grep -q "mrs 0," && break
		sleep 0.1
	done
	assert_idle "$dev"
}

run_mode shortcut
run_mode mtt

# --max-reg-bytes reaches srxed: query_device and the ENOMEM boundary.
DEV=srxel$$
srxe_up "$DEV" --max-reg-bytes 64M
out=$(with_srxe_env ibv_devinfo -v -d "$DEV") || fail "ibv_devinfo: $out"
assert_contains "$out" "max_mr_size:[[:space:]]+0x4000000$" "max_mr_size"
assert_contains "$out" "max_mr:[[:space:]]+65536$" "max_mr"
out=$(with_srxe_env "$MR_E2E" limit "$DEV" $((64 << 20)) 2>&1) ||
	fail "registration limit: $out"
assert_idle "$DEV"

rc=0
out=$("$SRXE" up --name srxebad$$ --max-reg-bytes 12Q 2>&1) || rc=$?
[[ $rc -eq 2 ]] || fail "bad --max-reg-bytes exited $rc, expected 2"
assert_contains "$out" "invalid --max-reg-bytes '12Q'" "bad size message"
echo "PASS: memory registration end to end"
