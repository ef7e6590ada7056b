#!/bin/bash
# Issue #10, XRC on one host, in both translation modes:
#   1. Debian's unmodified ibv_xsrq_pingpong (ibverbs-utils): one server
#      and one client at several sizes, with completion events (-e), and
#      one server serving three clients at once (-c 3: three XRC target
#      QPs of the server feed its one XRC SRQ).  The two processes share
#      the XRC domain of /tmp/xrc_domain by inode, as with the kernel.
#   2. rdma-core 44's pyverbs XRC tests (-k xrc): send, send with
#      immediate, the ibv_qp_ex API, the extended CQ, relaxed ordering and
#      the XRC atomics; none may fail or error.  The atomics run once the
#      device reports an atomic_cap (until then they skip with the
#      suite's "Atomic operations are not supported"); ODP skips (srxe has
#      no ODP).
# Also checks that query_device advertises IBV_DEVICE_XRC.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
command -v ibv_xsrq_pingpong >/dev/null ||
	skip "ibv_xsrq_pingpong is not installed (ibverbs-utils)"
setup_root
PYTESTS=/usr/share/doc/rdma-core/tests
[[ -d $PYTESTS ]] || skip "rdma-core's pyverbs tests are not installed"

# xsrq SRV_ARGS -- CLI_ARGS: one server, N clients (given by -c on the
# server), each client with CLI_ARGS; all must print "success".
xsrq() {
	local dev=$1 port=$((20000 + RANDOM % 20000)) clients=1 i try
	local -a srv=() cli=() pids=()
	shift
	while [[ $1 != -- ]]; do
		[[ $1 == -c ]] && clients=$2
		srv+=("$1")
		shift
	done
	shift
	cli=("$@")
	"$SRXE" exec -- timeout 60 ibv_xsrq_pingpong -d "$dev" -g 1 \
		-p "$port" "${srv[@]}" >"$TEST_ROOT/xs.srv" 2>&1 &
	local srv_pid=$!
	for ((i = 0; i < clients; i++)); do
		(
			for try in $(seq 50); do
				"$SRXE" exec -- timeout 60 ibv_xsrq_pingpong \
					-d "$dev" -g 1 -p "$port" "${cli[@]}" \
					localhost >"$TEST_ROOT/xs.cli$i" 2>&1 &&
					exit 0
				grep -q "Couldn't connect" "$TEST_ROOT/xs.cli$i" ||
					exit 1
				sleep 0.1
			done
			exit 1
		) &
		pids+=($!)
	done
	for ((i = 0; i < clients; i++)); do
		wait "${pids[$i]}" ||
			fail "xsrq_pingpong ${srv[*]} client $i: $(cat "$TEST_ROOT/xs.cli$i")"
		assert_contains "$(cat "$TEST_ROOT/xs.cli$i")" "^success" \
			"xsrq client $i"
	done
	wait "$srv_pid" ||
		fail "xsrq_pingpong ${srv[*]} server: $(cat "$TEST_ROOT/xs.srv")"
	assert_contains "$(cat "$TEST_ROOT/xs.srv")" "^success" "xsrq server"
	assert_contains "$(cat "$TEST_ROOT/xs.cli0")" \
		"remote: LID 0000, QPN RECV [0-9a-f]{6} SEND [0-9a-f]{6}, PSN [0-9a-f]{6}, SRQN [0-9a-f]{6}" \
		"xsrq client saw the server's SRQ number"
	echo "ok: ibv_xsrq_pingpong ${srv[*]} ($clients client(s))"
}

pyverbs_xrc() {
	local dev=$1 mode=$2 out
	out=$(with_srxe_env bash -c "cd '$TEST_ROOT/py' &&
		PYTHONPATH='$TEST_ROOT/py' timeout 120 /usr/bin/python3 \
		tests/run_tests.py --dev '$dev' --gid 1 -v -k xrc 2>&1") ||
		fail "pyverbs XRC tests ($mode): $out"
	assert_not_contains "$out" "(FAIL|ERROR)" "pyverbs XRC ($mode)"
	for t in test_xrc_traffic_cq_ex test_qp_ex_xrc_send \
		test_qp_ex_xrc_send_imm test_ro_xrc_traffic; do
		grep -qE "^$t .*\.\.\. ok$" <<<"$out" ||
			fail "pyverbs $t did not pass ($mode): $out"
	done
	for t in test_xrc_atomic_cmp_and_swap test_xrc_atomic_fetch_and_add; do
		grep -qE "^$t .*\.\.\. (ok|skipped 'Atomic operations are not supported')$" \
			<<<"$out" || fail "pyverbs $t ($mode): $out"
	done
	echo "ok: pyverbs XRC ($mode): $(grep -cE '\.\.\. ok$' <<<"$out") passed," \
		"$(grep -E '\.\.\. skipped' <<<"$out" | sed -E "s/.*skipped //" |
			sort | uniq -c | tr -s ' ' | paste -sd ',') skipped"
}

mkdir -p "$TEST_ROOT/py"
cp -r "$PYTESTS" "$TEST_ROOT/py/tests"
gunzip -rf "$TEST_ROOT/py/tests"

for mode in shortcut mtt; do
	dev=srxex${mode:0:1}$$
	srxe_up "$dev" --translation "$mode"
	caps=$(with_srxe_env ibv_devinfo -v -d "$dev")
	assert_contains "$caps" "XRC" "ibv_devinfo -v device_cap_flags ($mode)"
	xsrq "$dev" --
	xsrq "$dev" -n 200 -s 65536 -- -n 200 -s 65536
	# Same host: XRC SENDs of 64 KiB go in bursts (docs/datapath.md).
	st=$("$SRXE" status --name "$dev") || fail "srxe status $dev"
	[[ $st =~ same-host\ bursts\ ([1-9][0-9]*) ]] ||
		fail "XRC 64 KiB SENDs went in no same-host burst ($mode): $st"
	bursts=${BASH_REMATCH[1]}
	[[ $st =~ duplicates\ 0,\ reordered\ held\ 0 ]] ||
		fail "XRC bursts out of step ($mode): $st"
	echo "ok: XRC 64 KiB SENDs in $bursts same-host bursts ($mode)"
	xsrq "$dev" -e -n 50 -s 3000 -- -e -n 50 -s 3000
	xsrq "$dev" -c 3 -n 20 -- -n 20
	pyverbs_xrc "$dev" "$mode"
	"$SRXE" down --name "$dev" >/dev/null || fail "srxe down $dev"
done
echo "PASS"
