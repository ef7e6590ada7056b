#!/bin/bash
# Device memory (docs/device-memory.md, providers/srxe/srxe_dm.c) in both
# translation modes: allocation limits, copies in and out with mlx5's
# rules, zero-based DM MRs carrying a SEND, an RDMA WRITE and an RDMA
# READ, and EBUSY for freeing memory an MR covers
# (tests/integration/device_memory.c).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/device_memory
[[ -x $PROG ]] || fail "$PROG is not built"

for mode in shortcut mtt; do
	DEV=srxedm${mode:0:1}$$
	srxe_up "$DEV" --translation "$mode"
	out=$(with_srxe_env "$PROG" "$DEV" 2>&1) || fail "device_memory ($mode): $out"
	echo "$mode: $out"
	assert_contains "$out" "^PASS$" "device_memory ($mode)"
	assert_no_clients "$DEV"
done
echo "PASS"
