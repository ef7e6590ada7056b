# shellcheck shell=bash
# Shared by the perftest table scripts (sourced, not run): an own runtime
# root that cleanup removes with every device of it, and one perftest
# server/client pair at a time on one device.
#
# The sourcing script sets: src (the source tree), srxe (the srxe binary;
# or pair_prereqs sets it), PAIR_TAG (its name, for messages), TOOL_TIMEOUT
# (seconds per tool run).  It appends every device it brings up to devices.
# RESULT is read by the sourcing script.
# shellcheck disable=SC2154,SC2034

# The client retries until the server listens, as in the integration tests.
# shellcheck source=../tests/integration/retry_lib.sh
source "$src/tests/integration/retry_lib.sh"

# pair_prereqs: build (SRXE_BUILD, default <source>/build) and srxe and
# memcpy_bench in it, built with tests/bootstrap.sh when either is missing;
# exits when perftest is not installed.
pair_prereqs() {
	build=${SRXE_BUILD:-$src/build}
	srxe=$build/kernel-shim/cli/srxe
	memcpy_bench=$build/perftest/bench_memcpy
	if [[ ! -x $srxe || ! -x $memcpy_bench ]]; then
		"$src/tests/bootstrap.sh" "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
	fi
	command -v ib_write_bw >/dev/null || {
		echo "$PAIR_TAG: perftest is not installed (tests/bootstrap.sh)" >&2
		exit 1
	}
}

# pair_root PREFIX: own runtime root /tmp/PREFIX.XXXXXX (a developer's srxe0
# is not touched) and the EXIT trap that takes it all down.
pair_root() {
	root=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$root"
	export SRXE_RUNDIR=$root
	devices=()
	server_pid=
	# Below the kernel's ephemeral range (32768-60999): a client's own
	# connection must not hold the port a later server listens on.
	port=$((10000 + $$ % 20000))
	trap pair_cleanup EXIT
	trap 'exit 130' INT TERM
}

pair_cleanup() {
	local rc=$? d
	if [[ -n $server_pid ]]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	for d in "${devices[@]}"; do
		"$srxe" down --name "$d" >/dev/null 2>&1 || true
	done
	rm -rf "$root"
	exit "$rc"
}

# pair_threads DEV: the engine threads DEV runs (srxe status), for the
# tables' headers.
pair_threads() {
	"$srxe" status --name "$1" |
		sed -n 's/.*engine: *threads \([0-9]*\),.*/\1/p'
}

# measure DEV COLUMN TOOL ARGS...: run one server/client pair and set RESULT
# to the client's single result row's value in COLUMN: BW average (4) for
# bw tools, t_typical (5) for lat tools.  Runs in the calling shell (not in
# a $(...) subshell) so that the EXIT trap knows the server to kill.
RESULT=
measure() {
	local dev=$1 col=$2 tool=$3 out=$root/client.log cmd
	shift 3
	port=$((port + 1))
	cmd=(timeout "$TOOL_TIMEOUT" "$srxe" exec -- "$tool" -d "$dev" -x 1 -F
		-p "$port" "$@")
	"${cmd[@]}" >"$root/server.log" 2>&1 &
	server_pid=$!
	if ! retry_client 100 "$server_pid" "$out" "${cmd[@]}" localhost ||
		! wait "$server_pid"; then
		echo "$PAIR_TAG: $tool -d $dev -x 1 -F -p $port $*" \
			"failed (try $RETRY_TRY); client:" >&2
		cat "$out" >&2
		echo "server:" >&2
		cat "$root/server.log" >&2
		echo "srxed.log (tail):" >&2
		tail -n 20 "$root/$dev/srxed.log" >&2 2>/dev/null || true
		exit 1
	fi
	server_pid=
	pair_result "$out" "$col" "$tool"
}

# pair_result FILE COLUMN TOOL: RESULT = the value in COLUMN of the single
# result row of perftest's output in FILE; exits when there is none.
pair_result() {
	local value
	value=$(awk -v c="$2" '/^ *#bytes/ { t = 1; next }
		t && $1 ~ /^[0-9]+$/ { print $c; exit }' "$1")
	[[ $value =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
		echo "$PAIR_TAG: no result in $3 output:" >&2
		cat "$1" >&2
		exit 1
	}
	RESULT=$value
}
