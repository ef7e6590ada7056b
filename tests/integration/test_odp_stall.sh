#!/bin/bash
# On-demand page faults that wait (docs/odp.md "Page faults that wait"):
# over a FUSE file whose reads wait at a gate (tests/tools/gated_fuse.py),
# a process's on-demand SEND and WRITE wait while another process's pinned
# traffic on the same (single) engine thread goes on; they complete once
# the gate opens; a process SIGKILLed while its fault waits leaves srxed
# serving, and its helper thread and descriptors go once the fault ends
# (tests/integration/odp_stall.c).  srxed counts the deferred accesses.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
[[ -c /dev/fuse ]] || skip "no /dev/fuse: cannot mount the gated FUSE file"
"$PY" -c 'import fusepy' 2>/dev/null ||
	skip "python3-fusepy is not installed (tests/bootstrap.sh installs it)"
setup_root
PROG=$SRXE_BUILD/tests/odp_stall
[[ -x $PROG ]] || fail "$PROG is not built"

MNT=$TEST_ROOT/fuse
trap 'rc=$?; umount -l "$MNT" 2>/dev/null; set +e; (exit $rc); cleanup' EXIT
mkdir "$MNT"
"$PY" "$here/../tools/gated_fuse.py" "$MNT" "$TEST_ROOT/gate" \
	"$TEST_ROOT/reads.log" >"$TEST_ROOT/fuse.log" 2>&1 &
for _ in $(seq 100); do
	[[ -e $MNT/data ]] && break
	sleep 0.1
done
[[ -e $MNT/data ]] || fail "the gated FUSE file did not appear: $(cat \
	"$TEST_ROOT/fuse.log")"

DEV=srxestall$$
srxe_up "$DEV" --engines 1
pid=$(srxed_pid "$DEV")
# counts DIR: entries of /proc/PID/DIR
counts() { find "/proc/$pid/$1" -mindepth 1 -maxdepth 1 | wc -l; }
fds=$(counts fd)
threads=$(counts task)

out=$(with_srxe_env timeout 300 "$PROG" "$DEV" "$MNT/data" "$TEST_ROOT/gate" \
	"$TEST_ROOT/reads.log" 2>&1) || fail "odp_stall: $out"
echo "$out"
assert_contains "$out" "^PASS$" "odp_stall"

line=$("$SRXE" status --name "$DEV" | grep "on-demand:") ||
	fail "no on-demand line in srxe status"
echo "$line"
[[ $line =~ deferred\ ([0-9]+) ]] || fail "no deferred count: $line"
((BASH_REMATCH[1] > 0)) || fail "no access was deferred: $line"

# The killed process's helper ends once its read is answered (the gate is
# open): srxed is back to its threads and descriptors.
for _ in $(seq 50); do
	grep -qE "clients:[[:space:]]+0 " <("$SRXE" status --name "$DEV") && break
	sleep 0.1
done
assert_no_clients "$DEV"
for _ in $(seq 100); do
	(($(counts task) == threads && $(counts fd) == fds)) && break
	sleep 0.1
done
(($(counts task) == threads)) ||
	fail "srxed runs $(counts task) threads, $threads before"
(($(counts fd) == fds)) || fail "srxed holds $(counts fd) descriptors, $fds before"
echo "PASS"
