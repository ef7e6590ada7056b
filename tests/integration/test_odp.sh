#!/bin/bash
# On-demand MRs (docs/odp.md) in both translation modes: the verbs checks
# of tests/integration/odp.c (traffic through never-touched and emptied
# buffers, a remap under a live MR, faults, implicit MRs, ibv_advise_mr),
# then srxed's counters show that the bytes went through the process's
# memory and that the faults were seen; a perftest client with on-demand
# MRs SIGKILLed mid-transfer leaves srxed serving, with no client and no
# descriptor more than before.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/odp
[[ -x $PROG ]] || fail "$PROG is not built"

# open_fds DEV: how many descriptors DEV's srxed holds.
open_fds() {
	local pid
	pid=$(srxed_pid "$1") || exit 1
	find "/proc/$pid/fd" -mindepth 1 | wc -l
}

# odp_reads DEV: srxed's count of on-demand reads.
odp_reads() {
	"$SRXE" status --name "$1" | sed -n 's/.*on-demand: *reads \([0-9]*\).*/\1/p'
}

# A perftest client with on-demand MRs, SIGKILLed mid-transfer (the
# client is the process `srxe exec` runs, no wrapper between): srxed
# closes that process's /proc/PID/mem with the rest and serves on.
kill_mid_transfer() {
	local dev=$1 port=$((20000 + $$ % 20000)) srv cli before
	before=$(odp_reads "$dev")
	"$SRXE" exec -- timeout 60 ib_write_bw -d "$dev" -x 1 -F -p "$port" \
		--odp -D 20 >"$TEST_ROOT/kill-server.log" 2>&1 &
	srv=$!
	for _ in $(seq 100); do
		ss -ltn | grep -q ":$port " && break
		sleep 0.1
	done
	"$SRXE" exec -- ib_write_bw -d "$dev" -x 1 -F -p "$port" --odp -D 20 \
		localhost >"$TEST_ROOT/kill-client.log" 2>&1 &
	cli=$!
	for _ in $(seq 100); do
		(($(odp_reads "$dev") > before + 1000)) && break
		sleep 0.1
	done
	kill -9 "$cli"
	wait "$cli" || true
	(($(odp_reads "$dev") > before + 1000)) ||
		fail "the killed client moved few on-demand bytes: $(cat \
			"$TEST_ROOT/kill-client.log")"
	# the server notices its peer is gone (or its timeout ends it)
	wait "$srv" || true
	# srxed sees the two sockets close on its own time
	for _ in $(seq 50); do
		grep -qE "clients:[[:space:]]+0 " <("$SRXE" status --name "$dev") &&
			break
		sleep 0.1
	done
}

command -v ib_write_bw >/dev/null || fail "perftest is not installed"
for mode in shortcut mtt; do
	DEV=srxeodp${mode:0:1}$$
	srxe_up "$DEV" --translation "$mode"
	fds=$(open_fds "$DEV")
	out=$(with_srxe_env "$PROG" "$DEV" 2>&1) || fail "odp ($mode): $out"
	echo "$out"
	assert_contains "$out" "^PASS$" "odp ($mode)"
	st=$("$SRXE" status --name "$DEV")
	line=$(grep "on-demand:" <<<"$st") || fail "no on-demand line: $st"
	echo "$mode: $line"
	[[ $line =~ reads\ ([0-9]+).*writes\ ([0-9]+).*faults\ ([0-9]+) ]] ||
		fail "cannot read: $line"
	((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] > 0)) ||
		fail "$mode: no on-demand reads or writes counted: $line"
	((BASH_REMATCH[3] >= 2)) || fail "$mode: faults not counted: $line"
	assert_no_clients "$DEV"
	kill_mid_transfer "$DEV"
	assert_no_clients "$DEV" "after a client killed mid-transfer"
	now=$(open_fds "$DEV")
	((now == fds)) || fail "$mode: srxed holds $now descriptors, $fds before"
	out=$(with_srxe_env "$PROG" "$DEV" 2>&1) || fail "odp ($mode) again: $out"
	assert_contains "$out" "^PASS$" "odp ($mode) after the kill"
done
echo "PASS"
