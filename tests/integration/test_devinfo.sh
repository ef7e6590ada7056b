#!/bin/bash
# Unmodified rdma-core tools and pyverbs see a device brought up by
# `srxe up`, as root and as an unprivileged user; the CLI reports it.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
DEV=srxet$$

srxe_up "$DEV"

out=$(with_srxe_env ibv_devices)
assert_contains "$out" "^[[:space:]]+${DEV}[[:space:]]+[0-9a-f]{16}\$" \
	"ibv_devices lists $DEV"
assert_not_contains "$out" "^[[:space:]]+${DEV}[[:space:]]+0{16}\$" \
	"ibv_devices GUID of $DEV"

check_devinfo() {
	local out
	out=$("$@" ibv_devinfo -v -d "$DEV") || fail "ibv_devinfo -v -d $DEV: $out"
	assert_contains "$out" "state:[[:space:]]+PORT_ACTIVE" "port state"
	assert_contains "$out" "link_layer:[[:space:]]+Ethernet" "link layer"
	assert_contains "$out" "GID\[ +1\]:[[:space:]]+::ffff:127\.0\.0\.1" \
		"GID[1]"
	assert_contains "$out" "atomic_cap:[[:space:]]+ATOMIC_HCA" "atomic_cap"
	# lo has no link speed: 1X SDR in query_port, the same in sysfs.
	assert_contains "$out" "active_width:[[:space:]]+1X \\(1\\)" "width"
	assert_contains "$out" "active_speed:[[:space:]]+2.5 Gbps \\(1\\)" "speed"
	assert_contains "$(cat "$SRXE_RUNDIR/sys/class/infiniband/$DEV/ports/1/rate")" \
		"^2\\.5 Gb/sec \\(1X SDR\\)\$" "sysfs rate agrees with query_port"
	local attr
	for attr in max_qp max_cq max_mr max_sge; do
		assert_contains "$out" "^[[:space:]]+$attr:[[:space:]]+[1-9][0-9]*\$" \
			"$attr is non-zero"
	done
}

check_devinfo with_srxe_env
out=$("$SRXE" exec -- ibv_devices) || fail "srxe exec -- ibv_devices"
assert_contains "$out" "^[[:space:]]+${DEV}[[:space:]]" "srxe exec lists $DEV"

rc=0
out=$("$SRXE" frobnicate 2>&1) || rc=$?
[[ $rc -eq 2 ]] || fail "unknown command exited $rc, expected 2"
assert_contains "$out" "^srxe: unknown command 'frobnicate'" "usage error"
with_srxe_env pyverbs_open_pd "$DEV" || fail "pyverbs as root"

check_devinfo with_srxe_env "${NOBODY[@]}"
with_srxe_env "${NOBODY[@]}" "$PY" -c "
import pyverbs.device as d
from pyverbs.device import Context
from pyverbs.pd import PD
names = [x.name.decode() for x in d.get_device_list()]
assert '$DEV' in names, names
with Context(name='$DEV') as ctx, PD(ctx):
    print('pyverbs as nobody: PD allocated')
" || fail "pyverbs as nobody"

out=$("$SRXE" status --name "$DEV") || fail "srxe status: $out"
assert_contains "$out" "clients:[[:space:]]+0 " "no clients left"
assert_contains "$out" "translation:[[:space:]]+shortcut" "translation"

out=$("$SRXE" up --name "$DEV") || fail "second srxe up exited non-zero"
assert_contains "$out" "already up" "second srxe up is idempotent"

pid=$(daemon_pid "$DEV")
kill -KILL "$pid"
for _ in $(seq 50); do
	grep -qs "^State:[[:space:]]*[RSDT]" "/proc/$pid/status" || break
	sleep 0.1
done
out=$(with_srxe_env ibv_devinfo -d "$DEV" 2>&1) &&
	fail "ibv_devinfo succeeded without srxed: $out"
assert_contains "$out" "srxed is not running; run \`srxe up\`" \
	"ibv_devinfo without srxed"
out=$("$SRXE" status --name "$DEV" 2>&1) &&
	fail "srxe status succeeded without srxed"
assert_contains "$out" "$DEV: srxed is not running; run \`srxe up\`" \
	"srxe status without srxed"

# Stale leftovers are replaced by a fresh up.
srxe_up "$DEV"
check_devinfo with_srxe_env
echo "PASS"
