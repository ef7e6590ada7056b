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
step up srxe up --name srxe0
step move_stress sh -c 'srxe exec -- /srxe/tests/move_stress srxe0 300; r=$?; tail -n 30 /tmp/srxe-run/srxe0/srxed.log; exit $r'
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

tr -d "\r" <"$log" | sed -n "/^=== /,/^RESULT /p"
