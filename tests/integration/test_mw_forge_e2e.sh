#!/bin/bash
# Issue #10 must-show 7: forged, stale (after LOCAL_INV, rebind, dealloc),
# wrong-QP (type 2), out-of-window and wrong-right memory-window rkeys
# complete with REM_ACCESS_ERR and move 0 bytes; legitimate window
# accesses work.  Shortcut and MTT mode.  (tests/integration/mw_forge_e2e.c)
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/mw_forge_e2e
[[ -x $PROG ]] || fail "$PROG is not built"

failed=()
for mode in shortcut mtt; do
	dev=srxemw${mode:0:1}$$
	srxe_up "$dev" --translation "$mode"
	rc=0
	out=$(with_srxe_env timeout 120 "$PROG" "$dev" 2>&1) || rc=$?
	while IFS= read -r line; do echo "[$mode] $line"; done <<<"$out"
	if [[ $rc -ne 0 ]] || ! grep -q "^PASS$" <<<"$out"; then
		failed+=("$mode (exit $rc)")
		continue
	fi
	assert_contains "$out" "bytes moved by them: 0$" "$mode: 0 bytes moved"
done
[[ ${#failed[@]} -eq 0 ]] || fail "mw_forge_e2e failed in: ${failed[*]}"
echo "PASS"
