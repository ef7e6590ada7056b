#!/usr/bin/env bash
# The main job: install what is missing, build, bring up srxe0 (or leave it
# up if it already is) and run the unmodified Debian ib_write_bw between two
# processes on it -- server in the background, client in the foreground
# printing its table -- then show `srxe status`.  srxe0 stays up.
#
# Usage: perftest/demo.sh [srxe up options, e.g. --translation mtt]
# Environment: SRXE_BUILD (build directory, default <source>/build),
#              SRXE_RUNDIR (runtime root, default /run/srxe),
#              SRXE_DEMO_BW_ARGS (ib_write_bw options, default
#              "-s 65536 -n 5000"; e.g. "-a -n 100" for every size).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${SRXE_BUILD:-$src/build}
"$src/tests/bootstrap.sh" "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
srxe="$build/kernel-shim/cli/srxe"

dev=srxe0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[i]} in
	--name) dev=${args[i + 1]:-$dev} ;;
	--name=*) dev=${args[i]#--name=} ;;
	esac
done

# Idempotent: `srxe up` of a device that answers says "already up", exit 0.
"$srxe" up "${args[@]}"
eval "$("$srxe" env)"
echo "+ ibv_devices"
ibv_devices

# A TCP port nobody listens on, for perftest's out-of-band exchange.
port=18515
while ss -Hltn "sport = :$port" | grep -q .; do
	port=$((port + 1))
done
read -r -a bw_args <<<"${SRXE_DEMO_BW_ARGS:--s 65536 -n 5000}"
bw=(ib_write_bw -d "$dev" -x 1 -F -p "$port" "${bw_args[@]}")

server_log=$(mktemp /tmp/srxe-demo-server.XXXXXX)
server_pid=
finish() {
	local rc=$?
	if [[ -n $server_pid ]]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -f "$server_log"
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "+ ${bw[*]} &          # server"
timeout 120 "${bw[@]}" >"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
	ss -Hltn "sport = :$port" | grep -q . && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
echo "+ ${bw[*]} localhost  # client"
if ! timeout 120 "${bw[@]}" localhost; then
	echo "srxe demo: ib_write_bw client failed; server said:" >&2
	cat "$server_log" >&2
	exit 1
fi
if ! wait "$server_pid"; then
	server_pid=
	echo "srxe demo: ib_write_bw server failed:" >&2
	cat "$server_log" >&2
	exit 1
fi
server_pid=

echo "+ srxe status --name $dev"
"$srxe" status --name "$dev"
stop="$srxe down --name $dev"
[[ -n ${SRXE_RUNDIR:-} ]] && stop="SRXE_RUNDIR=$SRXE_RUNDIR $stop"
echo "$dev stays up; stop it with: $stop"
