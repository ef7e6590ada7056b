#!/bin/bash
# Issue #4, must-show 3: the RC error cases end to end between two real
# processes (tests/integration/errors_e2e.c forks a peer; each opens the
# device itself) through the provider and srxed, with srxed in shortcut
# and in MTT translation mode: exact wc.status, vendor_err and QP states
# for bad lkey, bad rkey, out of bounds, missing access right, dereg while
# a WRITE is queued, RNR exhaustion, receive too small, modify to ERR with
# flush, and a peer SIGKILLed mid-stream.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/errors_e2e
[[ -x $PROG ]] || fail "$PROG is not built"

# Both modes run even when the first fails, so one run shows everything.
failed=()
for mode in shortcut mtt; do
	dev=srxeer${mode:0:1}$$
	srxe_up "$dev" --translation "$mode"
	rc=0
	out=$(with_srxe_env timeout 120 "$PROG" "$dev" 2>&1) || rc=$?
	while IFS= read -r line; do echo "[$mode] $line"; done <<<"$out"
	if [[ $rc -ne 0 ]] || ! grep -q "^PASS$" <<<"$out" ||
		grep -q "FAIL" <<<"$out"; then
		failed+=("$mode (exit $rc)")
	fi
	# The SIGKILLed peer's session and every QP/MR of both processes are
	# gone from srxed.
	for _ in $(seq 50); do
		"$SRXE" status --name "$dev" | grep -qE "clients:[[:space:]]+0 " && break
		sleep 0.1
	done
	out=$("$SRXE" status --name "$dev") || fail "srxe status: $out"
	assert_contains "$out" "clients:[[:space:]]+0 " "$mode: no clients left"
	assert_contains "$out" "mrs 0," "$mode: no MR left"
done
[[ ${#failed[@]} -eq 0 ]] || fail "errors_e2e failed in: ${failed[*]}"
echo "PASS"
