#!/bin/bash
# Issue #11, must-show 1 (middleware part), on one host through srxe's
# librdmacm:
#  - libfabric's verbs provider: fi_pingpong -p "verbs;ofi_rxm" -e rdm
#    (RDM over rdma_cm-connected RC endpoints) and -p verbs -e msg;
#  - UCX: `ucx_info -d` lists the rdmacm connection manager, and UCX's
#    own ucp_client_server example (built here from libucx-dev's source)
#    connects client to server by IP address through it.
# ctest label `middleware`.
#
# libfabric's verbs provider skips the interface named "lo" when it looks
# for RDMA-capable addresses (vrb_getifaddrs), so the "host" here is a
# private network namespace whose device sits on one end of a veth pair
# (both ends inside it): the test re-runs itself inside it.
here=$(dirname "$0")
# shellcheck source=rdmacm_lib.sh
source "$here/rdmacm_lib.sh"
rdmacm_prerequisites fi_pingpong ucx_info cc
UCX_EXAMPLE=/usr/share/doc/libucx-dev/examples/ucp_client_server.c
[[ -e $UCX_EXAMPLE ]] || skip "no $UCX_EXAMPLE (libucx-dev)"
if [[ -z ${SRXE_CMW_INNER:-} ]]; then
	ns=srxe-cmw-$$
	ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
	trap 'ip netns del "$ns" 2>/dev/null' EXIT
	ip -n "$ns" link set lo up
	ip -n "$ns" link add d0 type veth peer name d1 ||
		skip "cannot create a veth pair"
	ip -n "$ns" addr add 10.199.9.1/24 dev d0
	ip -n "$ns" link set d1 up
	ip -n "$ns" link set d0 up
	rc=0
	ip netns exec "$ns" env SRXE_CMW_INNER=1 bash "$0" || rc=$?
	exit "$rc"
fi
CM_ADDR=10.199.9.1
setup_root
DEV=srxecw$$
srxe_up "$DEV" --netdev d0

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
# UCX picks its connection manager itself (rdmacm, or its own tcp one):
# srxed's log below proves it was srxe's rdma_cm.  The server serves
# clients until stopped.
# stdbuf: the server is stopped, its output must not sit in a buffer.
CM_SERVER_STAYS=1 cm_pair "ucp_client_server" \
	stdbuf -oL "$TEST_ROOT/ucp_client_server" -l "$CM_ADDR" -- \
	"$TEST_ROOT/ucp_client_server" -a "$CM_ADDR"
assert_contains "$LAST_SERVER" "UCP TEST SUCCESS" "ucp_client_server server"
# srxed's CM saw UCX's listen on the example's port and the connect to it.
cmlog=$(grep -E "CM (listen|connect) TCP port 13337" \
	"$SRXE_RUNDIR/$DEV/srxed.log" || true)
assert_contains "$cmlog" "CM listen TCP port 13337" "UCX listened through srxe's CM"
assert_contains "$cmlog" "CM connect TCP port 13337" "UCX connected through srxe's CM"
echo "ok: ucp_client_server connected through UCX's rdmacm CM"
echo "PASS"
