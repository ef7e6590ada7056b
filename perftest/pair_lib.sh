# shellcheck shell=bash
# Shared by the perftest table scripts (sourced, not run): an own runtime
# root that cleanup removes with every device of it, and one perftest
# server/client pair at a time on one device.
#
# The sourcing script sets: srxe (the srxe binary), PAIR_TAG (its name, for
# messages), TOOL_TIMEOUT (seconds per tool run).  It appends every device
# it brings up to devices.  RESULT is read by the sourcing script.
# shellcheck disable=SC2154,SC2034

# pair_root PREFIX: own runtime root /tmp/PREFIX.XXXXXX (a developer's srxe0
# is not touched) and the EXIT trap that takes it all down.
pair_root() {
	root=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$root"
	export SRXE_RUNDIR=$root
	devices=()
	server_pid=
	port=$((30000 + $$ % 20000))
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

# measure DEV COLUMN TOOL ARGS...: run one server/client pair and set RESULT
# to the client's single result row's value in COLUMN: BW average (4) for
# bw tools, t_typical (5) for lat tools.  Runs in the calling shell (not in
# a $(...) subshell) so that the EXIT trap knows the server to kill.
RESULT=
measure() {
	local dev=$1 col=$2 tool=$3 out=$root/client.log try rc=1
	shift 3
	port=$((port + 1))
	timeout "$TOOL_TIMEOUT" "$srxe" exec -- "$tool" -d "$dev" -x 1 -F \
		-p "$port" "$@" >"$root/server.log" 2>&1 &
	server_pid=$!
	for try in $(seq 100); do
		if timeout "$TOOL_TIMEOUT" "$srxe" exec -- "$tool" -d "$dev" \
			-x 1 -F -p "$port" "$@" localhost >"$out" 2>&1; then
			rc=0
			break
		fi
		grep -q "Couldn't connect" "$out" || break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ $rc -ne 0 ]] || ! wait "$server_pid"; then
		echo "$PAIR_TAG: $tool -d $dev -x 1 -F -p $port $*" \
			"failed (try $try); client:" >&2
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
