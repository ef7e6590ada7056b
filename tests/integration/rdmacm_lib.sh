# shellcheck shell=bash
# rdma_cm clients on one host (sourced, not run): a device on lo, and
# cm_pair to run an unmodified server/client pair of librdmacm tools under
# `srxe exec`, so they load srxe's librdmacm (issue #11).
here=${here:-$(dirname "${BASH_SOURCE[0]}")}
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
RDMACM_LIB=$SRXE_BUILD/providers/rdmacm/librdmacm.so.1
CM_TIMEOUT=${SRXE_CM_TIMEOUT:-60}
CM_ADDR=127.0.0.1
LAST_SERVER=
LAST_CLIENT=

rdmacm_prerequisites() {
	require_prerequisites
	[[ -e $RDMACM_LIB ]] || fail "$RDMACM_LIB is not built"
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || skip "$t is not installed"
	done
}

# cm_pair WHAT SERVER_CMD... -- CLIENT_CMD...: the server in the
# background, the client retried (up to 50 times) while the server does
# not listen yet (the client is rejected or finds no route to a service);
# fails the test when either side fails, else sets LAST_SERVER/LAST_CLIENT.
# CM_SERVER_STAYS=1: the server does not exit by itself (it is stopped
# after the client succeeded).
# CM_RETRY_RE: the client output that means "not listening yet", for a
# tool whose own handshake tells that apart (the default: any rejection).
# CM_SERVER_LISTENS=1: the client starts once srxed logged the server's
# listen (up to 30 s), for servers that take a number of connections and
# say nothing when they listen (udaddy, ucmatose -c N): a client that came
# early has some connections refused and others accepted, and its retry
# finds the server's count used up; and for perftest -R, whose own retry
# of a rejected connect uses rdma_cm ids it destroyed (SIGSEGV).

cm_pair() {
	local what=$1 srv_out=$TEST_ROOT/server.log cli_out=$TEST_ROOT/client.log
	local -a srv cli
	local try rc=1 srv_pid
	shift
	while [[ $1 != -- ]]; do
		srv+=("$1")
		shift
	done
	shift
	cli=("$@")
	local listens
	listens=$(listens_logged "$SRXE_RUNDIR"/*/srxed.log)
	"$SRXE" exec -- timeout "$CM_TIMEOUT" "${srv[@]}" >"$srv_out" 2>&1 &
	srv_pid=$!
	[[ ${CM_SERVER_LISTENS:-0} != 1 ]] ||
		wait_until 300 listens_more "$listens" "$SRXE_RUNDIR"/*/srxed.log
	# CM_SERVER_READY: output of the server that says a client may start
	# (a multicast receiver has joined its group); waited for up to 30 s.
	[[ -z ${CM_SERVER_READY:-} ]] ||
		wait_for_output "$srv_out" "$CM_SERVER_READY" 300
	for try in $(seq 50); do
		sleep 0.2
		"$SRXE" exec -- timeout "$CM_TIMEOUT" "${cli[@]}" \
			>"$cli_out" 2>&1 && {
			rc=0
			break
		}
		kill -0 "$srv_pid" 2>/dev/null || break
		grep -qiE "${CM_RETRY_RE:-REJECTED|unreachable|refused|error 8|status 8|rdma_connect|connect error|failed to connect|Unexpected CM event}" \
			"$cli_out" || break
	done
	if [[ ${CM_SERVER_STAYS:-0} == 1 ]]; then
		kill "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
	elif ! wait "$srv_pid"; then
		fail "$what: server failed: $(cat "$srv_out")
--- client (try $try): $(cat "$cli_out")"
	fi
	[[ $rc -eq 0 ]] ||
		fail "$what: client failed after $try tries: $(cat "$cli_out")
--- server: $(cat "$srv_out")"
	LAST_SERVER=$(cat "$srv_out")
	LAST_CLIENT=$(cat "$cli_out")
}
