# shellcheck shell=bash
# Middleware runs over srxe for issue #10 (sourced, not run): UCX's
# ucx_perftest between two processes, in one network namespace ("one
# host") or in two joined by a veth ("two hosts"), with nothing but
# UCX_NET_DEVICES=<dev>:1 set for UCX.  Needs netns_lib.sh.

# Repetitions of every ucx_perftest run (issue #10 asks for 10).
UCX_REPS=${SRXE_UCX_REPS:-10}
# Upper bound of one ucx_perftest process, server or client (seconds).
# UCX's own UD endpoint timeout is 30 s: a run that hits it fails.
UCX_TIMEOUT=${SRXE_UCX_TIMEOUT:-60}
UCX_ITERS=${SRXE_UCX_ITERS:-1000}
# Extra UCX settings of a run (ucx_matrix_only_srxe); none by default.
UCX_ENV=()

# in_srxed_ns I CMD...: CMD in the network AND mount namespace of host I's
# srxed.  `ip netns exec` gives every command a mount namespace of its
# own, so srxed's FUSE command file (completion channels, which UCX
# needs: docs/events.md) would be invisible to a process started with it;
# a container that runs srxed and its applications has no such problem.
in_srxed_ns() {
	local i=$1 pid
	shift
	pid=$(cat "${ROOT[$i]}/${DEV[$i]}/srxed.pid") ||
		fail "no srxed pid for ${DEV[$i]}"
	nsenter -t "$pid" -n -m env SRXE_RUNDIR="${ROOT[$i]}" "$@"
}

require_ucx() {
	command -v ucx_perftest >/dev/null ||
		skip "ucx_perftest is not installed (Debian ucx-utils)"
}

# wait_listen I PORT: until a TCP socket listens on PORT in host I.
wait_listen() {
	local i=$1 port=$2 try
	for try in $(seq 100); do
		ip netns exec "${NS[$i]}" ss -ltnH "sport = :$port" |
			grep -q LISTEN && return 0
		sleep 0.05
	done
	return 1
}

# ucx_pair S C WHAT ARGS...: ucx_perftest server in host S, client in
# host C (S may equal C), each with UCX_NET_DEVICES=<its DEV>:1 and ARGS;
# the word DEV in ARGS becomes that device (-d DEV:1 of the UCT tests).
# Fails the test unless both exit 0 and the client printed its "Final:"
# row.  Sets UCX_LAST (client output).
ucx_pair() {
	local s=$1 c=$2 what=$3 port try
	local srv_out=${ROOT[$s]}/ucx-server.log cli_out=${ROOT[$c]}/ucx-client.log
	local srv_pid rc=0
	shift 3
	[[ $s != "$c" ]] || cli_out=${ROOT[$c]}/ucx-client2.log
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 20000))
		in_srxed_ns "$s" env UCX_NET_DEVICES="${DEV[$s]}:1" \
			"${UCX_ENV[@]}" "$SRXE" exec -- \
			timeout "$UCX_TIMEOUT" ucx_perftest -p "$port" \
			"${@//DEV/${DEV[$s]}}" >"$srv_out" 2>&1 &
		srv_pid=$!
		SERVER_PIDS=("$srv_pid")
		wait_listen "$s" "$port" && break
		# A random port another socket holds (the range overlaps the
		# ephemeral ports): another one; anything else fails.
		grep -q "Address already in use" "$srv_out" && ((try < 5)) ||
			fail "$what: server does not listen: $(cat "$srv_out")"
		wait "$srv_pid" 2>/dev/null || true
	done
	in_srxed_ns "$c" env UCX_NET_DEVICES="${DEV[$c]}:1" "${UCX_ENV[@]}" \
		"$SRXE" exec -- \
		timeout "$UCX_TIMEOUT" ucx_perftest "${ADDR[$s]}" -p "$port" \
		"${@//DEV/${DEV[$c]}}" >"$cli_out" 2>&1 || rc=$?
	if ! wait "$srv_pid"; then
		SERVER_PIDS=()
		fail "$what: server failed: $(tail -n 20 "$srv_out")
--- client (rc $rc): $(tail -n 20 "$cli_out")"
	fi
	SERVER_PIDS=()
	[[ $rc -eq 0 ]] || fail "$what: client failed (rc $rc): $(tail -n 20 "$cli_out")"
	UCX_LAST=$(cat "$cli_out")
	assert_contains "$UCX_LAST" "^Final: +$UCX_ITERS " "$what: Final row"
	assert_not_contains "$UCX_LAST$(cat "$srv_out")" \
		"UCX +(ERROR|WARN)" "$what: UCX errors or warnings"
}

# ucx_matrix S C LABEL: every ucx_perftest test of issue #10,
# UCX_REPS times each.  UD has no RDMA: its bandwidth test is am_bw.
UCX_TESTS=(
	"-t tag_lat" "-t tag_bw" "-t ucp_put_bw" "-t ucp_get" "-t ucp_am_lat"
	"-t am_lat -x rc_verbs" "-t put_bw -x rc_verbs"
	"-t am_lat -x ud_verbs" "-t am_bw -x ud_verbs"
)
ucx_matrix() {
	local s=$1 c=$2 label=$3 t rep uct t0 secs
	for t in "${UCX_TESTS[@]}"; do
		uct=()
		[[ $t == *-x* ]] && uct=(-d DEV:1)
		t0=$(date +%s.%N)
		for ((rep = 1; rep <= UCX_REPS; rep++)); do
			# shellcheck disable=SC2086 # t is a word list
			ucx_pair "$s" "$c" "$label $t (run $rep)" \
				$t "${uct[@]}" -n "$UCX_ITERS"
		done
		secs=$(echo "$(date +%s.%N) - $t0" | bc)
		echo "ok: $label ucx_perftest $t: $UCX_REPS/$UCX_REPS passed" \
			"(${secs%.*} s): $(sed -nE 's/^Final: +//p' <<<"$UCX_LAST")"
	done
}

# check_named_drops I: every packet the device dropped is under a named reason.
check_named_drops() {
	local i=$1 drops rx tx
	drops=$(netns_counter "$i" drops)
	rx=$(netns_counter "$i" rx_drops)
	tx=$(netns_counter "$i" tx_drops)
	((drops == rx + tx)) ||
		fail "${DEV[$i]}: drops $drops but rx $rx + tx $tx by reason: $(netns_status "$i")"
	echo "ok: ${DEV[$i]} drops $drops = rx $rx + tx $tx (named reasons)"
}

# check_wire_used I...: host I's device carried RoCEv2 datagrams.
check_wire_used() {
	local i n
	for i in "$@"; do
		n=$(netns_counter "$i" wire_pkts_recv)
		((n > 0)) || fail "host $i received nothing over the wire"
		echo "ok: host $i received $n RoCEv2 datagrams"
	done
}
