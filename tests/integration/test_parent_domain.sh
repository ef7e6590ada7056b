#!/bin/bash
# Thread and parent domains (providers/srxe/srxe_pd.c): a parent domain
# stands in for its PD in every verb, the refusals and the EBUSY rules
# (tests/integration/parent_domain.c).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
DEV=srxepd$$
PROG=$SRXE_BUILD/tests/parent_domain
[[ -x $PROG ]] || fail "$PROG is not built"

srxe_up "$DEV"
out=$(with_srxe_env "$PROG" "$DEV" 2>&1) || fail "parent_domain: $out"
echo "$out"
assert_contains "$out" "^PASS$" "parent_domain"
assert_no_clients "$DEV"
echo "PASS"
