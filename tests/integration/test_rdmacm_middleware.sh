#!/bin/bash
# Issue #11, must-show 1 (middleware part), on one host through srxe's
# librdmacm:
#  - libfabric's verbs provider: fi_pingpong -p "verbs;ofi_rxm" -e rdm
#    (RDM over rdma_cm-connected RC endpoints) and -p verbs -e msg;
#  - UCX: `ucx_info -d` lists the rdmacm connection manager, and UCX's
#    own ucp_client_server example (built here from libucx-dev's source)
#    connects client to server by IP address through it.
# ctest label `middleware`.
here=$(dirname "$0")
# shellcheck source=rdmacm_lib.sh
source "$here/rdmacm_lib.sh"
rdmacm_prerequisites fi_pingpong ucx_info cc
UCX_EXAMPLE=/usr/share/doc/libucx-dev/examples/ucp_client_server.c
[[ -e $UCX_EXAMPLE ]] || skip "no $UCX_EXAMPLE (libucx-dev)"
setup_root
DEV=srxecw$$
srxe_up "$DEV"

for ep in "verbs;ofi_rxm rdm" "verbs msg"; do
	read -r prov type <<<"$ep"
	cm_pair "fi_pingpong $prov $type" fi_pingpong -p "$prov" -e "$type" -- \
		fi_pingpong -p "$prov" -e "$type" "$CM_ADDR"
	for size in 64 4k 1m; do
		assert_contains "$LAST_CLIENT" "^$size +10 +=10 " \
			"fi_pingpong $prov $type client row $size"
		assert_contains "$LAST_SERVER" "^$size +10 +=10 " \
			"fi_pingpong $prov $type server row $size"
	done
	echo "ok: fi_pingpong -p \"$prov\" -e $type"
done

info=$("$SRXE" exec -- ucx_info -d 2>&1)
assert_contains "$info" "Connection manager: rdmacm" "ucx_info -d"
echo "ok: ucx_info -d lists the rdmacm connection manager"

cc -O1 -o "$TEST_ROOT/ucp_client_server" "$UCX_EXAMPLE" -lucp -lucs ||
	fail "cannot build UCX's ucp_client_server example"
# Only the rdmacm CM may carry the connection (UCX's tcp CM is the
# other candidate); UCX logs which CM each endpoint uses at debug level.
export UCX_SOCKADDR_CM_ENABLE=y
# The server serves clients until stopped.
CM_SERVER_STAYS=1 cm_pair "ucp_client_server" env UCX_LOG_LEVEL=debug \
	"$TEST_ROOT/ucp_client_server" -l "$CM_ADDR" -- \
	env UCX_LOG_LEVEL=debug "$TEST_ROOT/ucp_client_server" -a "$CM_ADDR"
assert_contains "$LAST_SERVER" "UCP TEST SUCCESS" "ucp_client_server server"
assert_contains "$LAST_CLIENT$LAST_SERVER" "rdmacm" "UCX log names rdmacm"
echo "ok: ucp_client_server connected through UCX's rdmacm CM"
echo "PASS"
