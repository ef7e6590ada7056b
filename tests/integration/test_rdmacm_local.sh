#!/bin/bash
# srxe's librdmacm without a CM peer (providers/rdmacm): port reservation
# (EADDRINUSE, EACCES below 1024 for non-root, REUSEADDR, ephemeral ports),
# address and route resolution (device by GID, path MTU, TOS), O_NONBLOCK
# channels, synchronous ids, ADDR_ERROR for a source no srxe device holds,
# DEVICE_REMOVAL when srxed dies.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
DEV=srxecm$$
PROG=$SRXE_BUILD/providers/rdmacm/rdmacm_local
[[ -x $PROG ]] || fail "$PROG is not built"

srxe_up "$DEV"

run() {
	local out
	out=$(with_srxe_env "$@" 2>&1) || fail "$*: $out"
	echo "$out"
}

out=$(run "$PROG" bind 127.0.0.1)
assert_contains "$out" "EADDRINUSE" "second bind of a port"
assert_contains "$out" "free again" "port released by rdma_destroy_id"
out=$(run "${NOBODY[@]}" "$PROG" eacces 127.0.0.1)
assert_contains "$out" "EACCES" "non-root bind below 1024"
out=$(run "$PROG" resolve 127.0.0.1 127.0.0.1)
assert_contains "$out" "ADDR_RESOLVED: $DEV" "device chosen by GID"
assert_contains "$out" "ROUTE_RESOLVED: mtu [1-5], hop limit [0-9]+, tclass 32" \
	"route with the port's MTU and the TOS"
assert_contains "$out" "synchronous id" "synchronous ids"

# A destination routed out of a netdev without an srxe device.
dst=$(ip -4 route show default | awk '/via/ {print $3; exit}')
if [[ -n $dst ]]; then
	out=$(run "$PROG" noroute "$dst")
	assert_contains "$out" "ADDR_ERROR status -19" "source not on srxe"
fi

# A wildcard bind readies every srxed before its port is out: qperf 0.4.11
# sends the port to its client before rdma_listen, and a listen that still
# had to open the device lost the race to the client's REQ (REJ).
fifo=$TEST_ROOT/listenany.in
log=$TEST_ROOT/listenany.log
mkfifo "$fifo"
(with_srxe_env "$PROG" listenany <"$fifo" >"$log" 2>&1; echo "rc=$?" >>"$log") &
exec {go}>"$fifo"
for _ in $(seq 50); do
	grep -q bound "$log" 2>/dev/null && break
	sleep 0.1
done
grep -q bound "$log" || fail "listenany: not bound: $(cat "$log")"
st=$("$SRXE" status --name "$DEV" 2>&1)
# The event channel is registered with srxed at the bind already (a
# listen needs no verbs context).
assert_contains "$st" "rdma_cm: +channels 1, listens 0" \
	"channel registered by the wildcard bind"
echo go >&"$go"
exec {go}>&-
for _ in $(seq 50); do
	grep -q '^rc=' "$log" && break
	sleep 0.1
done
assert_contains "$(cat "$log")" "listening" "listen after the wildcard bind"
assert_contains "$(cat "$log")" "^rc=0\$" "listenany exit"

# No srxe device at all: a wildcard listen is ENODEV, not a silent no-op.
mkdir -p "$TEST_ROOT/nosys/class/infiniband" \
	"$TEST_ROOT/nosys/class/infiniband_verbs"
echo 6 >"$TEST_ROOT/nosys/class/infiniband_verbs/abi_version"
out=$(run env SYSFS_PATH="$TEST_ROOT/nosys" "$PROG" nodev)
assert_contains "$out" "listen without a device: ENODEV" "listen without devices"

# srxed dies while an id is bound to its device.
log=$TEST_ROOT/removal.log
(with_srxe_env "$PROG" removal 127.0.0.1 >"$log" 2>&1; echo "rc=$?" >>"$log") &
for _ in $(seq 50); do
	grep -q ready "$log" 2>/dev/null && break
	sleep 0.1
done
grep -q ready "$log" || fail "removal: not ready: $(cat "$log")"
kill "$(daemon_pid "$DEV")"
for _ in $(seq 100); do
	grep -q '^rc=' "$log" && break
	sleep 0.1
done
assert_contains "$(cat "$log")" "DEVICE_REMOVAL" "DEVICE_REMOVAL on srxed's death"
assert_contains "$(cat "$log")" "^rc=0\$" "removal program exit"
echo "PASS"
