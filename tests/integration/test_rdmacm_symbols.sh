#!/usr/bin/env bash
# srxe's librdmacm.so.1 can stand in for the system's (issue #11, must-show
# 6; docs/rdmacm.md):
#  - its exported dynamic symbols and version nodes equal those of the
#    system librdmacm.so.1 (objdump -T, name@version; objdump -p version
#    definitions with their parents), and its SONAME is librdmacm.so.1;
#  - under `srxe exec`, ldd resolves rping's librdmacm.so.1 to srxe's
#    library (without it, to the system's: the check can tell them apart),
#    and rdmacm-utils, perftest and qperf bind every symbol (ldd -r);
#  - run under `srxe exec`, rping really loads srxe's library (the
#    loader's LD_DEBUG=libs says whose initialisers it runs).
# Needs no root: `srxe exec` only sets the environment.  When root can
# bring a device up, the verbs device list under `srxe exec` is checked too.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"

OURS=$SRXE_BUILD/providers/rdmacm/librdmacm.so.1
# awk reads to the end: an early exit would SIGPIPE ldconfig (its listing
# is near the pipe's 64 KiB), which pipefail turns into a silent exit.
SYSTEM=$(/sbin/ldconfig -p | awk '$1 == "librdmacm.so.1" && /x86-64/ && !n++ {print $NF}')
[[ -e $OURS ]] || fail "$OURS is not built (build all targets first)"
[[ -n $SYSTEM && -e $SYSTEM ]] ||
	skip "no system librdmacm.so.1 to compare with (install librdmacm1)"
command -v objdump >/dev/null || skip "objdump missing (binutils)"
RPING=$(command -v rping) || skip "rping missing (install rdmacm-utils)"

# name@version of every symbol a library defines (version nodes included).
exports() {
	objdump -T "$1" | awk '$2 == "g" && $4 != "*UND*" { print $NF "@" $(NF - 1) }' |
		sort
}

# The version definitions and their parents, as objdump -p prints them.
verdefs() {
	objdump -p "$1" | sed -n '/^Version definitions:/,/^$/p'
}

want=$(exports "$SYSTEM")
got=$(exports "$OURS")
[[ $(wc -l <<<"$want") -gt 60 ]] ||
	fail "objdump -T of $SYSTEM lists too few symbols:
$want"
if [[ $want != "$got" ]]; then
	fail "exported symbols differ (< $SYSTEM, > $OURS):
$(diff <(echo "$want") <(echo "$got"))"
fi
echo "ok: $(wc -l <<<"$got") exported name@version entries equal the system librdmacm's"

want=$(verdefs "$SYSTEM")
got=$(verdefs "$OURS")
[[ -n $want ]] || fail "no version definitions in $SYSTEM"
[[ $want == "$got" ]] || fail "version definitions differ (< $SYSTEM, > $OURS):
$(diff <(echo "$want") <(echo "$got"))"
echo "ok: version nodes RDMACM_1.0..1.3 and their parents equal"

soname=$(objdump -p "$OURS" | awk '$1 == "SONAME" { print $2 }')
[[ $soname == librdmacm.so.1 ]] || fail "SONAME of $OURS is '$soname'"
echo "ok: SONAME $soname"

# Own runtime root and device name, so nothing of another test is touched.
setup_root
DEV=srxecm$$

resolved() {
	awk '$1 == "librdmacm.so.1" { print $3 }' <<<"$1"
}

out=$(ldd "$RPING")
plain=$(resolved "$out")
[[ -n $plain ]] || fail "ldd $RPING lists no librdmacm.so.1:
$out"
[[ $(realpath "$plain") != "$(realpath "$OURS")" ]] ||
	fail "without srxe exec, rping already resolves to srxe's library"

out=$("$SRXE" exec --name "$DEV" -- ldd "$RPING" 2>&1)
under=$(resolved "$out")
[[ -n $under ]] || fail "srxe exec -- ldd $RPING lists no librdmacm.so.1:
$out"
[[ $(realpath "$under") == "$(realpath "$OURS")" ]] ||
	fail "under srxe exec rping resolves librdmacm.so.1 to $under, not $OURS:
$out"
echo "ok: rping's librdmacm.so.1: $plain plain, $under under srxe exec"

# Every installed rdma_cm client binds all its symbols and versions to
# srxe's library (ldd -r does the relocations; a missing symbol or node
# shows as "undefined symbol" or "version ... not found").
checked=()
for b in rping ucmatose udaddy mckey cmtime rdma_server rdma_client \
	rdma_xserver rdma_xclient rstream riostream rcopy udpong ib_send_bw \
	ib_write_bw ib_read_lat qperf; do
	p=$(command -v "$b") || continue
	out=$("$SRXE" exec --name "$DEV" -- ldd -r "$p" 2>&1)
	[[ $(realpath "$(resolved "$out")") == "$(realpath "$OURS")" ]] ||
		fail "$b under srxe exec does not load $OURS:
$out"
	assert_not_contains "$out" "undefined symbol|not found|not defined" \
		"ldd -r $b under srxe exec"
	checked+=("$b")
done
((${#checked[@]} >= 10)) || fail "only ${#checked[@]} rdma_cm binaries found: ${checked[*]}"
echo "ok: ${#checked[@]} rdma_cm binaries bind every symbol to srxe's library"

# At run time too: the dynamic loader, asked under `srxe exec`, runs
# srxe's library's initialisers for rping (LD_DEBUG=libs names each
# library it initialises).
out=$("$SRXE" exec --name "$DEV" -- env LD_DEBUG=libs timeout 20 "$RPING" \
	-h 2>&1 || true)
assert_contains "$out" "calling init: $(realpath "$OURS")|calling init: $OURS" \
	"rping's loaded libraries under srxe exec"
echo "ok: rping under srxe exec runs srxe's librdmacm"

# With a device up, the same environment also gives libibverbs srxe's
# devices (what srxe's librdmacm enumerates through ibv_get_device_list).
if [[ $(id -u) -ne 0 ]] ||
	"$PY" -c 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 20)' 2>/dev/null; then
	echo "ok (device list part skipped: needs root and no RDMA netlink)"
	exit 0
fi
[[ -e $SRXED_BIN && -e $PROVIDER ]] || fail "srxed or the provider is not built"
srxe_up "$DEV" >/dev/null
out=$("$SRXE" exec --name "$DEV" -- ibv_devices 2>&1)
assert_contains "$out" "[[:space:]]${DEV}[[:space:]]" "ibv_devices under srxe exec"
echo "ok: ibv_devices under srxe exec lists $DEV"
