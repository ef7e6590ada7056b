#!/bin/bash
# rdma-core 44's own pyverbs test suite (Debian's python3-pyverbs ships it
# in /usr/share/doc/rdma-core/tests) against srxe in both translation
# modes, with the module list kernel rxe 6.1 was measured with
# (tests/conformance/).  Judged by tests/tools/pyverbs_conformance.py:
# every test kernel rxe passes and every test of
# tests/conformance/pyverbs-srxe-pass.txt passes, nothing ends in ERROR or
# FAIL but the one deviation of pyverbs-srxe-errors.txt (with its exact
# error), and every skip is one listed, with its reason, in
# tests/conformance/pyverbs-srxe-skips.txt (docs/pyverbs.md).  The suite
# runs under `srxe exec`, as a user would run it (issue #13): its rdma_cm
# tests read /sys/class/infiniband/<dev>/device/net themselves and skip
# with "doesn't have net interface" without srxe's /sys/class view.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root

SUITE_SRC=/usr/share/doc/rdma-core/tests
CONF=$SRXE_SOURCE/tests/conformance
MODULES=(test_device test_pd test_mr test_cq test_cq_events test_cqex test_qp
	test_qpex test_atomic test_addr test_shared_pd test_parent_domain
	test_odp test_fork test_relaxed_ordering test_rdmacm)

[[ -d $SUITE_SRC ]] || fail "$SUITE_SRC is missing (package python3-pyverbs)"
suite=$TEST_ROOT/suite
mkdir -p "$suite"
cp -r "$SUITE_SRC" "$suite/tests"
gunzip -rq "$suite/tests"

for mode in shortcut mtt; do
	DEV=srxepv$$${mode:0:1}
	srxe_up "$DEV" --translation "$mode"
	echo "== $DEV, translation $mode"
	"$SRXE" exec -- timeout 600 "$PY" "$SRXE_SOURCE/tests/tools/pyverbs_conformance.py" \
		--suite "$suite" --dev "$DEV" --gid 1 \
		--must-pass "$CONF/pyverbs-rxe-6.1-pass.txt" \
		--must-pass "$CONF/pyverbs-srxe-pass.txt" \
		--known-skips "$CONF/pyverbs-srxe-skips.txt" \
		--known-errors "$CONF/pyverbs-srxe-errors.txt" "${MODULES[@]}" ||
		fail "pyverbs suite on $DEV (translation $mode)"
	"$SRXE" down --name "$DEV" >/dev/null
done
echo "PASS"
