#!/bin/bash
# Two devices in one runtime root are both visible; taking one down leaves
# the other working.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
A=srxeta$$
B=srxetb$$

srxe_up "$A"
srxe_up "$B" --translation mtt

out=$(with_srxe_env ibv_devices)
assert_contains "$out" "^[[:space:]]+${A}[[:space:]]" "ibv_devices lists $A"
assert_contains "$out" "^[[:space:]]+${B}[[:space:]]" "ibv_devices lists $B"
[[ $(cat "$SRXE_RUNDIR/$A/uverbs") != $(cat "$SRXE_RUNDIR/$B/uverbs") ]] ||
	fail "both devices got the same uverbs index"

out=$("$SRXE" status) || fail "srxe status of two devices"
assert_contains "$out" "^$A\$" "status shows $A"
assert_contains "$out" "^$B\$" "status shows $B"
assert_contains "$out" "translation:[[:space:]]+mtt" "status shows mtt"

"$SRXE" down --name "$A" || fail "down $A"
out=$(with_srxe_env ibv_devices)
assert_not_contains "$out" "^[[:space:]]+${A}[[:space:]]" "$A gone"
assert_contains "$out" "^[[:space:]]+${B}[[:space:]]" "$B still listed"
out=$(with_srxe_env ibv_devinfo -d "$B") || fail "ibv_devinfo -d $B: $out"
assert_contains "$out" "state:[[:space:]]+PORT_ACTIVE" "$B port state"
with_srxe_env pyverbs_open_pd "$B" || fail "pyverbs on $B"
echo "PASS"
