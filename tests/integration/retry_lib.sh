# shellcheck shell=bash
# The client side of a server/client pair (sourced, not run), shared by
# tests/integration/cli_lib.sh and perftest/pair_lib.sh: the client is
# started right after its server, which may not listen yet.

# retry_client TRIES SERVER_PID OUT CMD...: runs CMD, the client, with its
# output in OUT until it exits 0.  A client that "Couldn't connect" runs
# again 0.1 s later, at most TRIES times and while SERVER_PID lives; any
# other failure is final.  Returns 0 once CMD succeeded, else 1;
# RETRY_TRY is the last try's number, for the caller's failure message.
RETRY_TRY=0
retry_client() {
	local tries=$1 server=$2 out=$3
	shift 3
	# shellcheck disable=SC2034 # read by the caller
	for RETRY_TRY in $(seq "$tries"); do
		"$@" >"$out" 2>&1 && return 0
		grep -q "Couldn't connect" "$out" || return 1
		kill -0 "$server" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
