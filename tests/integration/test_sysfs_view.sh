#!/bin/bash
# Issue #13: the sysfs view `srxe up` publishes looks like kernel rxe's to
# the clients that read it (docs/architecture.md, "The sysfs view"):
# parent, device -> a directory with net/<netdev> (the real netdev
# directory), numa_node and local_cpus, hw_counters links to srxed's
# counters directory, and port attributes (rate, state, GIDs) that agree
# with what ibv_devinfo -v gets from query_port and query_gid.  Checked on
# lo in this namespace and on a veth with a link speed in a network
# namespace; `srxe down` leaves nothing.
#
# Where mount namespaces can be made, the view is also checked the way
# `srxe exec` shows it (a tmpfs over /sys/class holding every real class,
# and the view's infiniband, infiniband_verbs and infiniband_mad bind-
# mounted instead; this test builds that itself): rdma-core's test suite's
# netdev lookup (ls device/net/, ip -j addr show), ibstat's and
# ibstatus's rate, and `ucx_info -d` with UCX_LOG_LEVEL=diag printing no
# warning or diagnostic.
here=$(dirname "$0")
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
setup_root
LODEV=srxesv$$

# Prefix that runs a command in the network namespace of the device under
# test (empty: this one); sysfs shows a namespace's own netdevs.
RUN=()

# Rate text the kernel prints for query_port's active_width/active_speed
# codes (IBTA PortInfo; FDR's 14.0625 Gb/s lanes are not an srxe speed).
expected_rate() {
	local width=$1 speed=$2 lanes tenths name
	case $width in
	1) lanes=1 ;; 2) lanes=4 ;; 4) lanes=8 ;; 8) lanes=12 ;; 16) lanes=2 ;;
	*) fail "unknown active_width code $width" ;;
	esac
	case $speed in
	1) tenths=25 name=SDR ;; 2) tenths=50 name=DDR ;;
	4) tenths=100 name=QDR ;; 8) tenths=100 name=FDR10 ;;
	32) tenths=250 name=EDR ;; 64) tenths=500 name=HDR ;;
	128) tenths=1000 name=NDR ;;
	*) fail "no rate text for active_speed code $speed" ;;
	esac
	tenths=$((tenths * lanes))
	if ((tenths % 10)); then
		echo "$((tenths / 10)).5 Gb/sec (${lanes}X $name)"
	else
		echo "$((tenths / 10)) Gb/sec (${lanes}X $name)"
	fi
}

# The kernel's cpumask text of every online CPU over nr_cpu_ids bits.
online_mask() {
	"$PY" - <<'PYEOF'
def cpus(text):
    out = set()
    for part in filter(None, text.strip().split(",")):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out

read = lambda p: open("/sys/devices/system/cpu/" + p).read()
nbits = max(cpus(read("possible"))) + 1
mask = sum(1 << c for c in cpus(read("online")))
words = [(mask >> (32 * i)) & 0xffffffff for i in range((nbits + 31) // 32)]
top = nbits % 32 or 32
text = [format(words[-1], "0%dx" % ((top + 3) // 4))]
text += [format(w, "08x") for w in reversed(words[:-1])]
print(",".join(text))
PYEOF
}

# check_attrs ROOT DEV NETDEV [PREFIX]: parent, device/, hw_counters of
# DEV (its counters read through PREFIX, e.g. /proc/<srxed pid>/root).
check_attrs() {
	local root=$1 dev=$2 netdev=$3 ib=$1/sys/class/infiniband/$2 t want
	[[ $(cat "$ib/parent") == "$netdev" ]] ||
		fail "$dev/parent is '$(cat "$ib/parent")', expected $netdev"
	t=$(readlink "$ib/device") || fail "$dev/device is not a link"
	[[ $t == "$root"/sys/* ]] ||
		fail "$dev/device -> $t: not an absolute link into $root/sys"
	[[ $(realpath "$ib") == "$ib" ]] ||
		fail "$dev's own directory is not a real directory"
	[[ ! -e $ib/device/modalias ]] ||
		fail "$dev/device/modalias exists (libibverbs would match on it)"
	[[ $(ls "$ib/device/net") == "$netdev" ]] ||
		fail "$dev/device/net/ holds '$(ls "$ib/device/net")'"
	t=$(readlink "$ib/device/net/$netdev")
	[[ $t == /sys/devices/* ]] ||
		fail "device/net/$netdev -> $t: not a link to /sys/devices/..."
	want=$("${RUN[@]}" realpath "/sys/class/net/$netdev")
	[[ $("${RUN[@]}" realpath "$ib/device/net/$netdev") == "$want" ]] ||
		fail "device/net/$netdev does not resolve to $want"
	"${RUN[@]}" test -e "$ib/device/net/$netdev/ifindex" ||
		fail "device/net/$netdev/ifindex is not readable"
	# A netdev without a device (lo, veth): no NUMA node, every online
	# CPU local; with one, its device's values (or its parent's).
	if "${RUN[@]}" test -e "/sys/class/net/$netdev/device"; then
		[[ $(cat "$ib/device/numa_node") =~ ^-?[0-9]+$ ]] ||
			fail "numa_node is '$(cat "$ib/device/numa_node")'"
		[[ $(cat "$ib/device/local_cpus") =~ ^[0-9a-f,]+$ ]] ||
			fail "local_cpus is '$(cat "$ib/device/local_cpus")'"
	else
		[[ $(cat "$ib/device/numa_node") == -1 ]] ||
			fail "numa_node of $netdev is $(cat "$ib/device/numa_node")"
		want=$(online_mask)
		[[ $(cat "$ib/device/local_cpus") == "$want" ]] ||
			fail "local_cpus '$(cat "$ib/device/local_cpus")', expected $want"
	fi
	want=$root/$dev/hw_counters
	for t in "$ib/hw_counters" "$ib/ports/1/hw_counters"; do
		[[ $(readlink "$t") == "$want" ]] ||
			fail "${t#"$ib"/} -> '$(readlink "$t")', expected $want"
	done
	# The directory itself is srxed's (live counters, docs/hw-counters.md):
	# rxe's counter names read as numbers through the link.  A srxed
	# started by `ip netns exec` mounts it in that command's own mount
	# namespace: seen from here through /proc/<srxed>/root.
	local seen=${4:-}
	for t in sent_pkts rcvd_pkts link_downed; do
		[[ $(cat "$seen$want/$t") =~ ^[0-9]+$ ]] ||
			fail "hw_counters/$t reads '$(cat "$seen$want/$t")'"
	done
}

# Hex sysfs GID to the text ibv_devinfo prints.
gid_text() {
	"$PY" -c 'import socket, sys
print(socket.inet_ntop(socket.AF_INET6,
                       bytes.fromhex(sys.argv[1].replace(":", ""))))' "$1"
}

# check_port ROOT DEV: sysfs port attributes against query_port/query_gid.
check_port() {
	local root=$1 dev=$2 out port=$1/sys/class/infiniband/$2/ports/1
	local width speed want i gid
	out=$("${RUN[@]}" env SRXE_RUNDIR="$root" "$SRXE" exec -- \
		ibv_devinfo -v -d "$dev") || fail "ibv_devinfo -v -d $dev: $out"
	width=$(sed -nE 's/^[[:space:]]+active_width:.*\(([0-9]+)\)$/\1/p' <<<"$out")
	speed=$(sed -nE 's/^[[:space:]]+active_speed:.*\(([0-9]+)\)$/\1/p' <<<"$out")
	[[ -n $width && -n $speed ]] || fail "no active_width/speed in: $out"
	want=$(expected_rate "$width" "$speed")
	[[ $(cat "$port/rate") == "$want" ]] ||
		fail "rate '$(cat "$port/rate")' but query_port says $want"
	echo "$dev: rate $want, as query_port's width $width speed $speed"
	assert_contains "$out" "state:[[:space:]]+PORT_ACTIVE \\($(cut -d: -f1 "$port/state")\\)" \
		"state agrees with sysfs '$(cat "$port/state")'"
	assert_contains "$out" "phys_state:[[:space:]]+LINK_UP \\($(cut -d: -f1 "$port/phys_state")\\)" \
		"phys_state agrees with sysfs '$(cat "$port/phys_state")'"
	assert_contains "$out" "link_layer:[[:space:]]+$(cat "$port/link_layer")\$" \
		"link_layer"
	for i in "$port"/gid_attrs/ndevs/*; do
		i=${i##*/}
		gid=$(gid_text "$(cat "$port/gids/$i")")
		assert_contains "$out" "GID\\[ *$i\\]:[[:space:]]+$gid, RoCE v2\$" \
			"GID $i of sysfs in query_gid"
	done
}

# in_view_ns ROOT CMD...: CMD where /sys/class shows ROOT's view, as
# `srxe exec` arranges it.
in_view_ns() {
	local root=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m --propagation private bash -c '
set -e
view=$1/sys/class
shift
orig=$(mktemp -d /tmp/srxe-class.XXXXXX)
mount --bind /sys/class "$orig"
mount -t tmpfs srxe-class /sys/class
for c in "$orig"/*; do
	n=${c##*/}
	mkdir "/sys/class/$n"
	case $n in infiniband | infiniband_verbs | infiniband_mad) ;;
	*) mount --bind "$c" "/sys/class/$n" ;;
	esac
done
for n in infiniband infiniband_verbs infiniband_mad; do
	[[ -d $view/$n ]] || continue
	mkdir -p "/sys/class/$n"
	mount --bind "$view/$n" "/sys/class/$n"
done
umount "$orig"
rmdir "$orig"
"$@"' in_view_ns "$root" "$@"
}

# What reads /sys itself, in the view's namespace.
check_direct_readers() {
	local dev=$1 out net rate
	if ! in_view_ns "$SRXE_RUNDIR" true 2>/dev/null; then
		echo "note: no mount namespace here; direct /sys readers not checked"
		return 0
	fi
	# rdma-core's tests/base.py: ls device/net/, then ip -j addr show.
	net=$(in_view_ns "$SRXE_RUNDIR" ls "/sys/class/infiniband/$dev/device/net/")
	[[ $net == lo ]] || fail "device/net/ in the namespace: '$net'"
	out=$(in_view_ns "$SRXE_RUNDIR" ip -j addr show "$net")
	"$PY" -c 'import json, sys
a = json.loads(sys.argv[1])[0]["addr_info"][0]["local"]
assert a == "127.0.0.1", a' "$out" || fail "ip -j addr show $net: $out"
	rate=$(cat "$SRXE_RUNDIR/sys/class/infiniband/$dev/ports/1/rate")
	out=$(in_view_ns "$SRXE_RUNDIR" ibstat "$dev") || fail "ibstat $dev: $out"
	[[ $out == *$'\n\t\tRate: '"${rate%% *}"$'\n'* ]] ||
		fail "ibstat's rate is not ${rate%% *}: $out"
	assert_contains "$out" "Link layer: Ethernet" "ibstat link layer"
	out=$(in_view_ns "$SRXE_RUNDIR" ibstatus "$dev") || fail "ibstatus: $out"
	grep -E "^[[:space:]]+rate:" <<<"$out" | grep -qF -- "$rate" ||
		fail "ibstatus's rate is not '$rate': $out"
	if ! command -v ucx_info >/dev/null; then
		echo "note: no ucx_info (Debian ucx-utils); UCX not checked"
		return 0
	fi
	out=$(with_srxe_env in_view_ns "$SRXE_RUNDIR" env UCX_LOG_LEVEL=diag \
		UCX_NET_DEVICES="$dev:1" timeout 60 ucx_info -d 2>&1) ||
		fail "ucx_info -d: $out"
	assert_contains "$out" "Device: $dev:1" "ucx_info -d lists $dev"
	assert_not_contains "$out" " (WARN|DIAG|ERROR) " "ucx_info -d"
}

# ---- lo, in this namespace ----
srxe_up "$LODEV" >/dev/null
check_attrs "$SRXE_RUNDIR" "$LODEV" lo
check_port "$SRXE_RUNDIR" "$LODEV"
check_direct_readers "$LODEV"

index=$(cat "$SRXE_RUNDIR/$LODEV/uverbs")
"$SRXE" down --name "$LODEV" >/dev/null || fail "srxe down $LODEV"
for left in "$SRXE_RUNDIR/sys" "$SRXE_RUNDIR/$LODEV" \
	"/dev/infiniband/uverbs$index"; do
	[[ ! -e $left && ! -L $left ]] || fail "srxe down left $left"
done
[[ -z $(ls -A "$SRXE_RUNDIR" 2>/dev/null) ]] ||
	fail "srxe down left $(ls -A "$SRXE_RUNDIR")"

# ---- a veth with a link speed, in a network namespace ----
# (netns_make's EXIT trap replaces setup_root's: the root goes with it.)
NETNS_TAG=sv
NETNS_HOOKS+=("rm -rf '$TEST_ROOT'")
netns_make 2
netns_dev_up 0 "${DEV[0]}" >/dev/null
RUN=(ip netns exec "${NS[0]}")
check_attrs "${ROOT[0]}" "${DEV[0]}" "${VETH[0]}" \
	"/proc/$(cat "${ROOT[0]}/${DEV[0]}/srxed.pid")/root"
check_port "${ROOT[0]}" "${DEV[0]}"
if [[ $(in_ns 0 cat "/sys/class/net/${VETH[0]}/speed" 2>/dev/null) == 10000 ]]; then
	[[ $(cat "${ROOT[0]}/sys/class/infiniband/${DEV[0]}/ports/1/rate") == \
		"10 Gb/sec (1X FDR10)" ]] || fail "rate of a 10 Gb/s veth"
fi
netns_dev_down 0 "${DEV[0]}"
[[ ! -e ${ROOT[0]}/sys ]] || fail "srxe down left ${ROOT[0]}/sys"
echo "PASS"
