#!/bin/bash
# Issue #13: srxed serves <devdir>/hw_counters/ with kernel rxe's hw
# counter names; every user reads live values that move with traffic as
# rxe's do; nothing (mount, directory) is left after `srxe down` or after
# srxed is killed.  FUSE mode where /dev/fuse works, then files mode
# (SRXED_HW_COUNTERS=files, what srxed falls back to without FUSE), then
# without CAP_SYS_ADMIN (srxed falls back by itself).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PORT=$((20000 + $$ % 20000))
ITERS=100
SIZE=4096
MTU=1024 # ibv_rc_pingpong's default -m

NAMES=(sent_pkts rcvd_pkts duplicate_request out_of_seq_request rcvd_rnr_err
	send_rnr_err rcvd_seq_err ack_deferred retry_exceeded_err
	retry_rnr_exceeded_err completer_retry_err send_err link_downed
	rdma_sends rdma_recvs lifespan)

mounted() {
	grep -qF " $1 " /proc/self/mountinfo
}

# counter DIR NAME: the value, checked to be one decimal number.
counter() {
	local v
	v=$(cat "$1/$2") || fail "cannot read $1/$2"
	[[ $v =~ ^[0-9]+$ ]] || fail "$2 reads '$v', not a number"
	echo "$v"
}

# RC pingpong between two processes on DEV: ITERS messages of SIZE bytes
# each way.
traffic() {
	PORT=$((PORT + 1))
	PP_TIMEOUT=60 pingpong_pair ibv_rc_pingpong -d "$1" -g 1 -p "$PORT" \
		-n "$2" -s "$SIZE"
}

# check_files DIR MODE: every name, a number, for root and for nobody;
# nothing else in the directory.
check_files() {
	local dir=$1 mode=$2 name v listed
	for name in "${NAMES[@]}"; do
		[[ -f $dir/$name ]] || fail "$mode: no $dir/$name"
		counter "$dir" "$name" >/dev/null
		v=$("${NOBODY[@]}" cat "$dir/$name") ||
			fail "$mode: nobody cannot read $name"
		[[ $v =~ ^[0-9]+$ ]] || fail "$mode: nobody reads $name as '$v'"
	done
	listed=$(find "$dir" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')
	[[ $listed == "$(printf '%s\n' "${NAMES[@]}" | sort | tr '\n' ' ')" ]] ||
		fail "$mode: $dir holds: $listed"
	if "${NOBODY[@]}" sh -c "echo 1 >'$dir/sent_pkts'" 2>/dev/null; then
		fail "$mode: nobody could write sent_pkts"
	fi
	# root passes any mode check; srxed refuses it (files mode: the
	# files are srxed's, root's own business)
	if [[ $mode == fuse ]] && echo 1 2>/dev/null >"$dir/sent_pkts"; then
		fail "$mode: root could write sent_pkts"
	fi
	echo "ok: $mode: ${#NAMES[@]} files, numbers, readable by nobody"
}

declare -A before
snap() {
	local name
	for name in "${NAMES[@]}"; do
		before[$name]=$(counter "$1" "$name")
	done
}
delta() {
	echo $(($(counter "$1" "$2") - before[$2]))
}

# check_traffic DIR MODE: what ITERS RC messages each way must move.
check_traffic() {
	local dir=$1 mode=$2 d_sent d_rcvd d name
	local per_msg=$(((SIZE + MTU - 1) / MTU))
	d_sent=$(delta "$dir" sent_pkts)
	d_rcvd=$(delta "$dir" rcvd_pkts)
	# Both ends are on this device: it sends and receives every packet,
	# 2 * ITERS requests of per_msg packets, plus their ACKs.
	((d_sent >= 2 * ITERS * per_msg)) ||
		fail "$mode: sent_pkts grew by $d_sent, < $((2 * ITERS * per_msg))"
	((d_sent == d_rcvd)) ||
		fail "$mode: sent_pkts +$d_sent but rcvd_pkts +$d_rcvd on one device"
	# rxe: one per SEND WQE completed, one per receive completed.
	d=$(delta "$dir" rdma_sends)
	((d == 2 * ITERS)) || fail "$mode: rdma_sends grew by $d, not $((2 * ITERS))"
	d=$(delta "$dir" rdma_recvs)
	((d == 2 * ITERS)) || fail "$mode: rdma_recvs grew by $d, not $((2 * ITERS))"
	for name in send_err retry_exceeded_err retry_rnr_exceeded_err \
		link_downed; do
		d=$(delta "$dir" "$name")
		((d == 0)) || fail "$mode: $name grew by $d on a lossless run"
	done
	echo "ok: $mode: sent_pkts +$d_sent, rcvd_pkts +$d_rcvd, rdma_sends/recvs +$((2 * ITERS))"
}

# wait_gone DIR: the guard of a killed srxed removes mount and directory.
wait_gone() {
	for _ in $(seq 50); do
		! mounted "$1" && [[ ! -e $1 ]] && return 0
		sleep 0.1
	done
	mounted "$1" && fail "$1 still mounted after srxed was killed"
	fail "$1 still exists after srxed was killed: $(ls -la "$1")"
}

# ---- FUSE mode ----
DEV=srxehc$$
DIR=$SRXE_RUNDIR/$DEV/hw_counters
srxe_up "$DEV"
if mounted "$DIR"; then
	assert_contains "$(grep -F " $DIR " /proc/self/mountinfo)" "fuse\\.srxed" \
		"hw_counters is srxed's FUSE mount"
	check_files "$DIR" fuse
	[[ $(counter "$DIR" lifespan) == 0 ]] || fail "fuse: lifespan is not 0"
	snap "$DIR"
	traffic "$DEV" "$ITERS"
	# No wait: the values are those of the moment of the read.
	check_traffic "$DIR" fuse

	# One open file read again from its start shows the value now.
	export -f traffic pingpong_pair retry_client fail
	export SRXE TEST_ROOT PORT SIZE DEV
	"$PY" - "$DIR/sent_pkts" <<'PYEOF' || fail "fuse: a re-read is not live"
import subprocess, sys
with open(sys.argv[1]) as f:
    a = int(f.read())
    subprocess.run(["bash", "-c", "PORT=$((PORT + 7)); traffic $DEV 5"],
                   check=True)
    f.seek(0)
    b = int(f.read())
print(f"ok: fuse: one open sent_pkts read {a} then {b}")
sys.exit(0 if b > a else 1)
PYEOF
	check_srxed_log "$DEV" fuse
	"$SRXE" down --name "$DEV" >/dev/null || fail "srxe down"
	! mounted "$DIR" || fail "fuse: $DIR still mounted after srxe down"
	[[ ! -e $DIR ]] || fail "fuse: $DIR left after srxe down"
	echo "ok: fuse: srxe down left no mount, no directory"

	srxe_up "$DEV"
	mounted "$DIR" || fail "fuse: not mounted after the second srxe up"
	kill -KILL "$(daemon_pid "$DEV")"
	wait_gone "$DIR"
	echo "ok: fuse: a killed srxed left no mount, no directory"
	"$SRXE" down --name "$DEV" >/dev/null
else
	assert_contains "$(cat "$SRXE_RUNDIR/$DEV/srxed.log")" \
		"hw_counters: FUSE not used" "srxed says why FUSE was not used"
	echo "note: no FUSE mount here; files mode only"
	"$SRXE" down --name "$DEV" >/dev/null
fi

# ---- files mode ----
DEV=srxehf$$
DIR=$SRXE_RUNDIR/$DEV/hw_counters
SRXED_HW_COUNTERS=files srxe_up "$DEV"
! mounted "$DIR" || fail "files: $DIR is a mount"
assert_contains "$(cat "$SRXE_RUNDIR/$DEV/srxed.log")" \
	"hw_counters: FUSE not used \\(SRXED_HW_COUNTERS=files\\).* every 1000 ms" \
	"srxed logs files mode"
check_files "$DIR" files
[[ $(counter "$DIR" lifespan) == 1000 ]] || fail "files: lifespan is not 1000"
snap "$DIR"
traffic "$DEV" "$ITERS"
sleep 1.5 # one rewrite interval and some
check_traffic "$DIR" files
check_srxed_log "$DEV" files
"$SRXE" down --name "$DEV" >/dev/null || fail "srxe down"
[[ ! -e $DIR ]] || fail "files: $DIR left after srxe down"
SRXED_HW_COUNTERS=files srxe_up "$DEV"
kill -KILL "$(daemon_pid "$DEV")"
wait_gone "$DIR"
echo "ok: files: srxe down and a killed srxed left no directory"
"$SRXE" down --name "$DEV" >/dev/null

# ---- no CAP_SYS_ADMIN: srxed cannot mount and falls back by itself ----
DEV=srxehn$$
DIR=$SRXE_RUNDIR/$DEV/hw_counters
TEST_DEVICES+=("$DEV")
setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin \
	"$SRXE" up --name "$DEV" >/dev/null || fail "srxe up without CAP_SYS_ADMIN"
assert_contains "$(cat "$SRXE_RUNDIR/$DEV/srxed.log")" \
	"hw_counters: FUSE not used \\(cannot mount .*\\): .* every 1000 ms" \
	"srxed says why it fell back"
! mounted "$DIR" || fail "no-cap: $DIR is a mount"
check_files "$DIR" no-cap
"$SRXE" down --name "$DEV" >/dev/null || fail "srxe down"
[[ ! -e $DIR ]] || fail "no-cap: $DIR left after srxe down"
echo "ok: no-cap: files mode by itself, nothing left after srxe down"
echo "PASS"
