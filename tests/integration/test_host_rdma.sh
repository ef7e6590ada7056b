#!/bin/bash
# Issue #13: srxe on a host whose kernel has RDMA.  A real Debian 12
# kernel boots under qemu (../shared/rxe-vm) with ib_core answering RDMA
# netlink and a real kernel device, rxe0 (rdma_rxe on the guest's eth0).
# The built srxe goes into the guest (an extra initramfs archive) and
# runs there:
#  - without `srxe exec`, libibverbs enumerates through netlink and does
#    not see srxe0 (the reason for the filter; `srxe up` and `srxe env`
#    say so);
#  - under `srxe exec`, ibv_devices lists rxe0 and srxe0, /sys/class shows
#    both, and ibv_devinfo -v, ibv_rc_pingpong, ib_write_bw and
#    ib_write_lat run on srxe0 while ibv_rc_pingpong on rxe0 is driven by
#    the kernel's provider as before ("hardware stays visible");
#  - ucmatose, an rdma_cm program, connects and moves data on srxe0 under
#    `srxe exec` (srxe's librdmacm finds srxe0 once the filter hides RDMA
#    netlink; rping would need completion channels, which need /dev/fuse,
#    which the guest lacks);
#  - move_stress (4 threads storing while 300 sub-ranges are registered)
#    loses no write on this kernel 6.1, which lacks WP_UNPOPULATED: the
#    mover's missing-page-fault path (docs/move-atomicity.md);
#  - `srxe down` leaves rxe0 alone.
# Skips (77) without the guest, qemu-system-x86 or /dev/net/tun, like
# test_rxe_interop.sh.  The sanitizer build leaves it out (the guest has
# no sanitizer runtime).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites

VMDIR=${SRXE_RXE_VM:-$(cd "$here/../../.." && pwd)/shared/rxe-vm}
CACHE=${RXE_VM_CACHE:-$SRXE_BUILD/rxe-vm-cache}
[[ -x $VMDIR/run-vm.sh ]] || skip "no rxe-vm scripts in $VMDIR (SRXE_RXE_VM)"
[[ -f $CACHE/vmlinuz && -f $CACHE/initramfs.cpio.gz ]] ||
	skip "no rxe-vm guest in $CACHE: tests/bootstrap.sh prepares it (or set RXE_VM_CACHE)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 not installed"
[[ -c /dev/net/tun ]] ||
	{ mkdir -p /dev/net && mknod -m 666 /dev/net/tun c 10 200; } 2>/dev/null || true
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun"

WORK=$(mktemp -d /tmp/srxe-hostrdma.XXXXXX)
export RXE_NS=srxe-hr-$$
on_exit() {
	local rc=$?
	"$VMDIR/net.sh" down >/dev/null 2>&1 || true
	rm -rf "$WORK"
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# The build tree's layout under /srxe, so that srxe finds srxed, the
# provider and srxe's librdmacm next to itself.
stage=$WORK/overlay/srxe
for f in kernel-shim/cli/srxe kernel-shim/srxed/srxed \
	providers/srxe/libsrxe-rdmav34.so providers/rdmacm/librdmacm.so.1 \
	tests/move_stress; do
	mkdir -p "$stage/$(dirname "$f")"
	strip -o "$stage/$f" "$SRXE_BUILD/$f" || fail "cannot stage $f"
done
# A private guest cache: the same kernel, its initramfs plus ours (the
# kernel unpacks concatenated archives).
mkdir -p "$WORK/cache"
ln -s "$CACHE/vmlinuz" "$WORK/cache/vmlinuz"
cp "$CACHE/kver" "$WORK/cache/" 2>/dev/null || true
(cd "$WORK/overlay" && find srxe | cpio -o -H newc --quiet | gzip) \
	>"$WORK/srxe.cpio.gz"
cat "$CACHE/initramfs.cpio.gz" "$WORK/srxe.cpio.gz" >"$WORK/cache/initramfs.cpio.gz"

# busybox sh in the guest: each step between "=== name" and "RESULT name rc".
read -r -d '' GUEST <<'GUEST_EOF' || true
export SRXE_RUNDIR=/tmp/srxe-run PATH=/srxe/kernel-shim/cli:$PATH
step() { n=$1; shift; echo "=== $n"; "$@" 2>&1; echo "RESULT $n $?"; }
pair() { "$@" >/tmp/server.out 2>&1 & s=$!; sleep 2; "$@" 127.0.0.1; c=$?;
	wait $s; r=$?; echo "--- server"; cat /tmp/server.out; return $((c | r)); }
step netlink sh -c 'cat /proc/net/netlink | awk "\$2 == 20" | head -n 3; ls -1 /sys/class/infiniband'
step up srxe up --name srxe0
step env sh -c 'srxe env >/dev/null'
step plain ibv_devices
step exec_devices srxe exec -- ibv_devices
step exec_sysfs srxe exec -- ls -1 /sys/class/infiniband /sys/class/infiniband_verbs
step exec_devinfo srxe exec -- ibv_devinfo -v -d srxe0
step pingpong_srxe pair srxe exec -- ibv_rc_pingpong -d srxe0 -g 1 -n 200
step write_bw pair srxe exec -- ib_write_bw -d srxe0 -x 1 -s 65536 -n 500
step write_lat pair srxe exec -- ib_write_lat -d srxe0 -x 1 -n 500
step move_stress srxe exec -- /srxe/tests/move_stress srxe0 300
step cmatose_srxe sh -c 'srxe exec -- timeout 30 ucmatose -b 127.0.0.1 -C 10 >/tmp/cm.out 2>&1 & s=$!; sleep 2;
	srxe exec -- timeout 20 ucmatose -s 127.0.0.1 -C 10; c=$?; wait $s; r=$?; cat /tmp/cm.out; exit $((c | r))'
step pingpong_rxe0 sh -c 'srxe exec -- ibv_rc_pingpong -d rxe0 -g 1 -n 200 >/tmp/rs.out 2>&1 & s=$!; sleep 2;
	srxe exec -- ibv_rc_pingpong -d rxe0 -g 1 -n 200 10.0.0.1; c=$?; wait $s; r=$?; cat /tmp/rs.out; exit $((c | r))'
step down srxe down --name srxe0
step after_down ibv_devices
GUEST_EOF

log=$WORK/guest.log
RXE_VM_CACHE=$WORK/cache RXE_TIMEOUT=480 "$VMDIR/run-vm.sh" h$$ 10.0.0.1/24 \
	"$GUEST" >"$log" 2>&1 </dev/null || echo "note: guest exit status $?"

# The output of step $1, console carriage returns removed.
result() {
	tr -d '\r' <"$log" | sed -n "/^=== $1\$/,/^RESULT $1 /p"
}
expect_ok() {
	local out
	out=$(result "$1")
	[[ -n $out ]] || fail "$1: no result from the guest; console: $(tail -n 20 "$log")"
	grep -q "^RESULT $1 0\$" <<<"$out" || fail "$1 failed in the guest:
$out"
	printf '%s\n' "$out"
}

out=$(expect_ok netlink)
assert_contains "$out" "^rxe0\$" "the guest's kernel device"
out=$(expect_ok up)
assert_contains "$out" "answers RDMA netlink.*srxe exec" "srxe up's note"
out=$(expect_ok env)
assert_contains "$out" "answers RDMA netlink.*srxe exec" "srxe env's note"
out=$(expect_ok plain)
assert_contains "$out" "^ +rxe0 " "ibv_devices without srxe exec"
assert_not_contains "$out" "srxe0" "ibv_devices without srxe exec (netlink)"
out=$(expect_ok exec_devices)
assert_contains "$out" "^ +rxe0 " "ibv_devices under srxe exec"
assert_contains "$out" "^ +srxe0 " "ibv_devices under srxe exec"
out=$(expect_ok exec_sysfs)
assert_contains "$out" "^rxe0\$" "/sys/class/infiniband under srxe exec"
assert_contains "$out" "^srxe0\$" "/sys/class/infiniband under srxe exec"
out=$(expect_ok exec_devinfo)
assert_contains "$out" "PORT_ACTIVE" "ibv_devinfo -v -d srxe0"
out=$(expect_ok pingpong_srxe)
assert_contains "$out" "200 iters" "ibv_rc_pingpong on srxe0"
out=$(expect_ok write_bw)
assert_contains "$out" "^ *65536 +500 " "ib_write_bw on srxe0"
out=$(expect_ok write_lat)
assert_contains "$out" "^ *2 +500 " "ib_write_lat on srxe0"
expect_ok move_stress
out=$(expect_ok cmatose_srxe)
assert_contains "$out" "cmatose: starting server" "ucmatose server on srxe0"
assert_contains "$out" "data transfers complete" "ucmatose (rdma_cm) on srxe0"
out=$(expect_ok pingpong_rxe0)
assert_contains "$out" "200 iters" "ibv_rc_pingpong on the kernel's rxe0"
expect_ok down >/dev/null
out=$(expect_ok after_down)
assert_contains "$out" "^ +rxe0 " "rxe0 after srxe down"
# The transcript of the runs, for the issue note.
tr -d '\r' <"$log" | sed -n '/^=== /,/^RESULT /p'
echo PASS
