#!/bin/bash
# On-demand MRs (docs/odp.md) in both translation modes: the verbs checks
# of tests/integration/odp.c (traffic through never-touched and emptied
# buffers, a remap under a live MR, faults, implicit MRs, ibv_advise_mr),
# then srxed's counters show that the bytes went through the process's
# memory and that the faults were seen.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/odp
[[ -x $PROG ]] || fail "$PROG is not built"

for mode in shortcut mtt; do
	DEV=srxeodp${mode:0:1}$$
	srxe_up "$DEV" --translation "$mode"
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
done
echo "PASS"
