#!/bin/bash
# Issue #4 must-show 3 (repeating #3's forged-key check end to end): a
# second process fires 100,000 RDMA WRITEs and READs with forged rkeys
# (random, A's lkeys, A's deregistered keys, neighbours of the real rkey)
# at a victim process's buffer and moves 0 bytes: >= 10,000 of them over
# RC (each REM_ACCESS_ERR, both QPs to ERR, reset in rounds), the rest
# over UC (silently dropped, proven delivered by canary WRITEs).  Then a
# legitimate WRITE/READ with the real rkey works.  Shortcut and MTT mode.
# (tests/integration/forge_e2e.c; FORGE_SEED=N reproduces a run.)
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/forge_e2e
[[ -x $PROG ]] || fail "$PROG is not built"

failed=()
for mode in shortcut mtt; do
	dev=srxefg${mode:0:1}$$
	srxe_up "$dev" --translation "$mode"
	rc=0
	out=$(with_srxe_env timeout 180 "$PROG" "$dev" 2>&1) || rc=$?
	while IFS= read -r line; do echo "[$mode] $line"; done <<<"$out"
	if [[ $rc -ne 0 ]] || ! grep -q "^PASS$" <<<"$out" ||
		grep -q "FAIL" <<<"$out"; then
		failed+=("$mode (exit $rc)")
		continue
	fi
	# The counts the issue asks for, as printed by the program.
	total=$(sed -nE 's/^forged: ([0-9]+) RC WRITE \+ ([0-9]+) RC READ .* \+ ([0-9]+) UC WRITE .*= ([0-9]+),.*/\4/p' <<<"$out")
	rcops=$(sed -nE 's/^forged: ([0-9]+) RC WRITE \+ ([0-9]+) RC READ .*/\1 + \2/p' <<<"$out")
	[[ -n $total && $total -ge 100000 ]] ||
		failed+=("$mode: only '${total}' forged operations")
	[[ -n $rcops && $((rcops)) -ge 10000 ]] ||
		failed+=("$mode: only '${rcops}' forged RC operations")
	assert_contains "$out" "^bytes moved by forged operations: 0 " \
		"$mode: 0 bytes moved"
	out=$("$SRXE" status --name "$dev") || fail "srxe status: $out"
	assert_contains "$out" "clients:[[:space:]]+0 " "$mode: no clients left"
	assert_contains "$out" "mrs 0," "$mode: no MR left"
done
[[ ${#failed[@]} -eq 0 ]] || fail "forge_e2e failed in: ${failed[*]}"
echo "PASS"
