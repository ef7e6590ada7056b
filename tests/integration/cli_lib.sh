# shellcheck shell=bash
# Shared setup for the srxe CLI integration tests (sourced, not run).
# Every test gets its own runtime root and device name so a developer's
# srxe0 under /run/srxe is never touched, and cleanup always runs.
set -euo pipefail

: "${SRXE_BUILD:?SRXE_BUILD must name the build directory}"
SRXE=$SRXE_BUILD/kernel-shim/cli/srxe
SRXED_BIN=$SRXE_BUILD/kernel-shim/srxed/srxed
PROVIDER=$SRXE_BUILD/providers/srxe/libsrxe-rdmav34.so
PY=/usr/bin/python3
# shellcheck source=retry_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/retry_lib.sh"
# Used by the tests that source this file.
# shellcheck disable=SC2034
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

require_prerequisites() {
	local f
	for f in "$SRXE" "$SRXED_BIN" "$PROVIDER"; do
		[[ -e $f ]] || fail "$f is not built (build all targets first)"
	done
	[[ $(id -u) -eq 0 ]] ||
		skip "needs root once to create /dev/infiniband/uverbsN"
	if "$PY" -c 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 20)' 2>/dev/null; then
		skip "kernel answers RDMA netlink: libibverbs ignores SYSFS_PATH"
	fi
}

# Devices this test brought up; cleanup takes each down.
TEST_DEVICES=()
TEST_ROOT=

cleanup() {
	local rc=$? dev
	for dev in "${TEST_DEVICES[@]}"; do
		"$SRXE" down --name "$dev" >/dev/null 2>&1 || true
	done
	[[ -n $TEST_ROOT ]] && rm -rf "$TEST_ROOT"
	exit "$rc"
}

# Fresh runtime root, traversable by the unprivileged user of the tests.
setup_root() {
	TEST_ROOT=$(mktemp -d /tmp/srxe-test.XXXXXX)
	chmod 755 "$TEST_ROOT"
	export SRXE_RUNDIR=$TEST_ROOT
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

srxe_up() {
	local dev=$1
	shift
	TEST_DEVICES+=("$dev")
	"$SRXE" up --name "$dev" "$@" || fail "srxe up --name $dev failed"
}

# pingpong_pair TOOL ARGS...: one server/client pair of an rdma-core
# pingpong tool under `srxe exec` (the client, given ARGS and localhost,
# retries until the server listens); fails with the other side's output
# when either fails, else leaves both outputs in PP_SERVER and PP_CLIENT.
# PP_TIMEOUT: seconds per side (default 120).
pingpong_pair() {
	local srv_out=$TEST_ROOT/pp-server.log cli_out=$TEST_ROOT/pp-client.log
	local srv_pid rc=0
	"$SRXE" exec -- timeout "${PP_TIMEOUT:-120}" "$@" >"$srv_out" 2>&1 &
	srv_pid=$!
	retry_client 50 "$srv_pid" "$cli_out" \
		"$SRXE" exec -- timeout "${PP_TIMEOUT:-120}" "$@" localhost || rc=1
	wait "$srv_pid" || fail "$* server failed: $(cat "$srv_out")
--- client: $(cat "$cli_out")"
	((rc == 0)) ||
		fail "$* client failed after $RETRY_TRY tries: $(cat "$cli_out")"
	# shellcheck disable=SC2034 # read by the sourcing test
	PP_SERVER=$(cat "$srv_out")
	# shellcheck disable=SC2034
	PP_CLIENT=$(cat "$cli_out")
}

# wait_until TRIES CMD...: until CMD succeeds (0.1 s per try).
wait_until() {
	local try tries=$1
	shift
	for ((try = 0; try < tries; try++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# udp_bound PORT [PREFIX...]: a UDP socket is bound to PORT (its network
# namespace's /proc/net/udp or udp6, read through PREFIX, e.g. in_ns 1,
# lists the port, in hex).
udp_bound() {
	grep -q ":$(printf '%04X' "$1") " <("${@:2}" cat /proc/net/udp \
		/proc/net/udp6)
}

# wait_for_output FILE REGEX TRIES: until FILE matches (0.1 s per try).
wait_for_output() {
	wait_until "$3" grep -sqE "$2" "$1"
}

# listens_logged LOG...: the rdma_cm listens these srxed logs hold.
listens_logged() {
	cat "$@" 2>/dev/null | grep -cE "CM listen [A-Z]+ port" || true
}

# listens_more BEFORE LOG...: the logs hold more listens than BEFORE (a
# server started since listens; it says nothing when it does).
listens_more() {
	local before=$1
	shift
	(($(listens_logged "$@") > before))
}

# srxed_pid DEV: the pid of DEV's srxed, as `srxe status` gives it.
srxed_pid() {
	local pid
	pid=$("$SRXE" status --name "$1" | sed -n 's/^ *srxed pid: *//p')
	[[ $pid =~ ^[0-9]+$ ]] || fail "no srxed pid for $1"
	echo "$pid"
}

# Run a command with the environment `srxe env` prints.
with_srxe_env() {
	(
		eval "$("$SRXE" env)"
		"$@"
	)
}

# process_runs PID: PID exists and has not exited.  A zombie has: its
# parent (here the sandbox's PID 1 may be slow to reap the daemons
# reparented to it) has yet to collect it; `kill -0` still succeeds on it.
process_runs() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) ||
		return 1
	[[ -n $state && $state != Z && $state != X ]]
}

daemon_pid() {
	cat "$SRXE_RUNDIR/$1/srxed.pid"
}

assert_contains() {
	local haystack=$1 needle=$2 what=$3
	grep -qE -- "$needle" <<<"$haystack" ||
		fail "$what: no match for /$needle/ in:
$haystack"
}

assert_not_contains() {
	local haystack=$1 needle=$2 what=$3
	if grep -qE -- "$needle" <<<"$haystack"; then
		fail "$what: unexpected /$needle/ in:
$haystack"
	fi
}

# perftest calibrates its clock before it prints each result; on a busy
# machine that can fail, and it then says so on stderr and divides the
# row's cycles by a 0 MHz clock: latencies of inf (the transfer behind
# the row completed).
PERFTEST_CALIBRATION_FAILED='Correlation coefficient r^2:'

# perftest_value_re OUTPUT: the regex of one result value in perftest's
# OUTPUT: a number, or inf/nan too where OUTPUT shows a failed calibration.
perftest_value_re() {
	if grep -qF "$PERFTEST_CALIBRATION_FAILED" <<<"$1"; then
		echo '([0-9.]+|-?inf|-?nan)'
	else
		echo '[0-9.]+'
	fi
}

# assert_no_clients DEV [WHAT]: `srxe status` of DEV counts no clients
# (every program closed its contexts and srxed cleaned up after it).
assert_no_clients() {
	local out
	out=$("$SRXE" status --name "$1") || fail "srxe status: $out"
	assert_contains "$out" "clients:[[:space:]]+0 " \
		"${2:+$2: }no clients left"
}

# status_handoffs STATUS: "DIRECT QUEUED DROPPED", the engine threads'
# hand-offs of an `srxe status` text (docs/cli.md "Engine threads").
status_handoffs() {
	[[ $1 =~ hand-offs\ ([0-9]+)\ direct,\ ([0-9]+)\ queued,\ ([0-9]+)\ dropped ]] ||
		fail "no hand-offs in srxe status:
$1"
	echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
}

# status_thread_ctxs STATUS: its "contexts per engine thread" counts.
status_thread_ctxs() {
	[[ $1 =~ contexts\ per\ engine\ thread:\ ([0-9 ]+) ]] ||
		fail "no contexts per engine thread in srxe status:
$1"
	echo "${BASH_REMATCH[1]}"
}

# Python snippet: list devices, open NAME, allocate and free a PD.
pyverbs_open_pd() {
	"$PY" - "$1" <<'PYEOF'
import sys
import pyverbs.device as d
from pyverbs.device import Context
from pyverbs.pd import PD

name = sys.argv[1]
names = [dev.name.decode() for dev in d.get_device_list()]
if name not in names:
    sys.exit(f"{name} not in pyverbs device list {names}")
with Context(name=name) as ctx:
    with PD(ctx) as pd:
        print(f"pyverbs: {name} opened, PD allocated")
PYEOF
}

# check_srxed_log DEV MODE [optional]: fails when DEV's srxed log holds a
# sanitizer report; a missing log fails too, unless "optional".
check_srxed_log() {
	local log=$SRXE_RUNDIR/$1/srxed.log
	if [[ ! -f $log ]]; then
		[[ ${3:-} == optional ]] && return 0
		fail "no srxed log at $log"
	fi
	if grep -qE "runtime error:|Sanitizer" "$log"; then
		fail "srxed ($2) reported: $(grep -m 5 -A 10 -E \
			"runtime error:|Sanitizer" "$log")"
	fi
}

# for_each_translation_mode PREFIX LOGCHECK FN: for shortcut then mtt, brings
# up device PREFIX<pid><m> in that mode, runs FN MODE DEV, checks srxed's log
# (LOGCHECK: required, optional or none) and takes the device down.
for_each_translation_mode() {
	local prefix=$1 logcheck=$2 fn=$3 mode dev
	for mode in shortcut mtt; do
		dev=$prefix$$${mode:0:1}
		srxe_up "$dev" --translation "$mode" >/dev/null
		"$fn" "$mode" "$dev"
		[[ $logcheck == none ]] || check_srxed_log "$dev" "$mode" "$logcheck"
		"$SRXE" down --name "$dev" >/dev/null || fail "srxe down $dev failed"
	done
}
