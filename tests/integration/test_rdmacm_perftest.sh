#!/bin/bash
# Issue #11, must-show 1 (benchmarks part): perftest with rdma_cm
# connection set-up (-R) and qperf with -cm1 (qperf needs rdma_cm on
# RoCE), unmodified, on one host through srxe's librdmacm.
here=$(dirname "$0")
# shellcheck source=rdmacm_lib.sh
source "$here/rdmacm_lib.sh"
rdmacm_prerequisites ib_send_bw ib_write_bw ib_read_lat qperf
setup_root
DEV=srxecp$$
PORT=$((20000 + $$ % 20000))
srxe_up "$DEV"
# perftest 4.5 -R connects twice to one port: its server listens for the
# test QP's connection only after the parameter exchange on the first,
# and a client that comes earlier is rejected (no listener, as with the
# kernel's rdma_cm) and crashes in perftest's own retry path.  Its clients
# run with rdmacm_delay.so (preload/rdmacm_delay.c: each connect after the
# first waits 300 ms), as in test_rxe_interop.sh.
DELAY_SHIM=$SRXE_BUILD/tests/rdmacm_delay.so
[[ -f $DELAY_SHIM ]] || fail "$DELAY_SHIM is not built"

for tool in ib_send_bw ib_write_bw; do
	CM_SERVER_LISTENS=1 cm_pair "$tool -R" "$tool" -d "$DEV" -R -F \
		-n 200 -p "$PORT" -- \
		env LD_PRELOAD="$DELAY_SHIM" \
		"$tool" -d "$DEV" -R -F -n 200 -p "$PORT" "$CM_ADDR"
	assert_contains "$LAST_CLIENT" "^ *65536 +200 +[0-9.]+ +[0-9.]+" \
		"$tool -R result row"
	echo "ok: $tool -R: $(grep -E '^ *65536 +200 ' <<<"$LAST_CLIENT" |
		awk '{print $4 " MB/s"}')"
done
CM_SERVER_LISTENS=1 cm_pair "ib_read_lat -R" ib_read_lat -d "$DEV" -R -F \
	-n 200 -p "$PORT" -- \
	env LD_PRELOAD="$DELAY_SHIM" \
	ib_read_lat -d "$DEV" -R -F -n 200 -p "$PORT" "$CM_ADDR"
assert_contains "$LAST_CLIENT" "^ *2 +200 +$(perftest_value_re "$LAST_CLIENT") " \
	"ib_read_lat -R result row"
echo "ok: ib_read_lat -R"

# qperf: the server runs until stopped; the client's tests each print
# their result lines.  Only a refused TCP connection means the server is
# not up yet: a rejected CM connection is a failure.  qperf 0.4.11 sends
# the port before rdma_listen, so that race is run a few times.
CM_RETRY_RE="failed to connect" CM_SERVER_STAYS=1 cm_pair "qperf -cm1" \
	qperf -lp "$PORT" -- qperf -lp "$PORT" -cm1 -t 1 "$CM_ADDR" \
	rc_bw rc_lat rc_rdma_write_bw rc_lat rc_bw
for t in rc_bw rc_lat rc_rdma_write_bw; do
	assert_contains "$LAST_CLIENT" "^$t:" "qperf $t"
done
assert_contains "$LAST_CLIENT" "bw += +[0-9.]+ [KMG]B/sec" "qperf bandwidth"
assert_contains "$LAST_CLIENT" "latency += +[0-9.]+ us" "qperf latency"
assert_not_contains "$LAST_CLIENT" "failed|error" "qperf"
echo "ok: qperf -cm1 rc_bw rc_lat rc_rdma_write_bw"
echo "PASS"
