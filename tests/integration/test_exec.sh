#!/bin/bash
# `srxe exec` and `srxe shell` (issue #13): every RDMA client sees srxe
# devices, also those that read /sys themselves (ibstat through libibumad,
# UCX's gid_attrs/ndevs) and ignore SYSFS_PATH; the seccomp filter that
# hides RDMA netlink is in place in every child; the rest of /sys/class
# stays the host's and live; an unprivileged user gets the same through a
# user namespace where the kernel allows one.  Each check that the
# namespace makes a difference is also run with `srxe env` alone, where it
# must fail.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
command -v ibstat >/dev/null || fail "ibstat missing (package infiniband-diags)"
command -v ucx_info >/dev/null || fail "ucx_info missing (package ucx-utils)"

DEV=srxex$$
srxe_up "$DEV" >/dev/null

echo "== ibstat"
if out=$(with_srxe_env ibstat "$DEV" 2>&1); then
	fail "ibstat found $DEV with only srxe env: the check below proves nothing"
fi
out=$("$SRXE" exec -- ibstat "$DEV" 2>&1) || fail "srxe exec -- ibstat $DEV: $out"
assert_contains "$out" "CA '$DEV'" "ibstat"
assert_contains "$out" "State: Active" "ibstat"
assert_contains "$out" "Link layer: Ethernet" "ibstat"

echo "== ucx_info -d"
diag="failed to read .*/sys/class/infiniband/$DEV/ports/1/gid_attrs/ndevs"
out=$(with_srxe_env env UCX_LOG_LEVEL=diag ucx_info -d 2>&1) || true
assert_contains "$out" "$diag" "ucx_info with srxe env only"
out=$("$SRXE" exec -- env UCX_LOG_LEVEL=diag ucx_info -d 2>&1) ||
	fail "srxe exec -- ucx_info -d: $out"
assert_contains "$out" "Device: $DEV:1" "ucx_info under srxe exec"
assert_not_contains "$out" "failed to read" "ucx_info under srxe exec"

echo "== the filter, inherited through fork and exec"
out=$("$SRXE" exec -- sh -c 'sh -c "grep ^Seccomp /proc/self/status"')
assert_contains "$out" "Seccomp:[[:space:]]+2" "grandchild"
out=$("$SRXE" exec -- "$PY" -c '
import socket
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 20)
    print("rdma netlink open")
except OSError as e:
    print("rdma netlink:", e.errno)
socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()
print("route netlink ok")')
assert_contains "$out" "rdma netlink: 93" "NETLINK_RDMA under srxe exec"
assert_contains "$out" "route netlink ok" "NETLINK_ROUTE under srxe exec"

echo "== the rest of /sys/class stays the host's, and live"
out=$("$SRXE" exec -- ls /sys/class)
for class in net block misc infiniband infiniband_verbs; do
	assert_contains "$out" "^$class\$" "/sys/class"
done
dummy=srxv$$
out=$("$SRXE" exec -- sh -c "ip link add $dummy type veth peer name ${dummy}p &&
	ls /sys/class/net; ip link del $dummy")
assert_contains "$out" "^$dummy\$" "a netdev made under srxe exec (veth)"
flag=$TEST_ROOT/late
DEV2=srxey$$
"$SRXE" exec -- sh -c "while [ ! -e $flag ]; do sleep 0.1; done;
	ls /sys/class/infiniband; ibv_devinfo -d $DEV2" >"$TEST_ROOT/late.out" 2>&1 &
waiter=$!
srxe_up "$DEV2" >/dev/null 2>&1 # its wire port is taken: not needed here
touch "$flag"
wait "$waiter" || fail "device brought up later: $(cat "$TEST_ROOT/late.out")"
out=$(cat "$TEST_ROOT/late.out")
assert_contains "$out" "^$DEV2\$" "/sys/class/infiniband after a later srxe up"
assert_contains "$out" "PORT_ACTIVE" "ibv_devinfo of a later device"
"$SRXE" down --name "$DEV2" >/dev/null

echo "== srxe shell, commands from a here-document"
out=$("$SRXE" shell <<SHELL_EOF 2>&1
echo "sysfs_path=\$SYSFS_PATH"
ls /sys/class/infiniband
ibv_devinfo -d $DEV | grep -E "state|link_layer"
ibstat $DEV | grep "CA '"
exit 7
SHELL_EOF
) && fail "srxe shell: exit 7 was not passed on"
[[ $? -eq 7 ]] || fail "srxe shell: exit status not 7: $out"
assert_contains "$out" "sysfs_path=$TEST_ROOT/sys" "srxe shell"
assert_contains "$out" "^$DEV\$" "srxe shell: /sys/class/infiniband"
assert_contains "$out" "PORT_ACTIVE" "srxe shell: ibv_devinfo"
assert_contains "$out" "Ethernet" "srxe shell: ibv_devinfo"
assert_contains "$out" "CA '$DEV'" "srxe shell: ibstat"

echo "== exit status and errors"
"$SRXE" exec -- sh -c 'exit 3' && fail "exit 3 not passed on"
[[ $? -eq 3 ]] || fail "srxe exec: exit status not 3"
out=$("$SRXE" exec -- /nonexistent/cmd 2>&1) && fail "missing command ran"
assert_contains "$out" "srxe: cannot execute /nonexistent/cmd" "missing command"

echo "== an unprivileged user"
if "${NOBODY[@]}" unshare --user --mount true 2>/dev/null; then
	out=$("${NOBODY[@]}" "$SRXE" exec -- sh -c \
		"id -u; ls /sys/class/infiniband; ibstat $DEV | grep State:; ibv_devinfo -d $DEV | grep state" 2>&1) ||
		fail "srxe exec as nobody: $out"
	assert_contains "$out" "^65534\$" "uid under srxe exec"
	assert_contains "$out" "^$DEV\$" "nobody's /sys/class/infiniband"
	assert_contains "$out" "State: Active" "nobody's ibstat"
	assert_contains "$out" "PORT_ACTIVE" "nobody's ibv_devinfo"
	assert_not_contains "$out" "srxe: note" "srxe exec as nobody"
else
	echo "(this kernel gives nobody no user namespace: checking the note)"
	out=$("${NOBODY[@]}" "$SRXE" exec -- ibv_devinfo -d "$DEV" 2>&1) ||
		fail "srxe exec as nobody: $out"
	assert_contains "$out" "srxe: note: /sys/class stays the host's" "note"
	assert_contains "$out" "PORT_ACTIVE" "nobody's ibv_devinfo"
fi

echo "== srxe env on this kernel"
out=$("$SRXE" env 2>&1 >/dev/null)
if "$PY" -c 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 20)' 2>/dev/null; then
	assert_contains "$out" "srxe exec" "srxe env's note"
else
	assert_not_contains "$out" "note" "srxe env without RDMA netlink"
fi
echo PASS
