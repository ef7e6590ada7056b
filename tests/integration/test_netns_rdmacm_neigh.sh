#!/bin/bash
# Issue #11: rdma_resolve_addr honours its timeout like kernel rdma_cm.
# Two hosts (network namespaces joined by a veth, one srxed each).  An
# address of the shared subnet that no host holds has a route but no
# neighbour: ADDR_ERROR -ETIMEDOUT after the timeout (not the CM's REQ
# retries minutes later); the id is bound again afterwards, a synchronous
# id fails with ETIMEDOUT, and ids destroyed while resolving get no event.
# The other host's address: ADDR_RESOLVED once its neighbour entry is
# there (a fresh namespace: it is not yet), then ROUTE_RESOLVED.  rping
# to the address nobody holds fails with ADDR_ERROR in seconds.  The
# same over IPv6 link-local addresses (neighbour discovery), and local
# addresses resolve at once even with timeout 0.
here=$(dirname "$0")
NETNS_TAG=nb # read by netns_lib.sh
NETNS_IPV6=1 # link-local addresses on the veth (GID 0)
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
PROG=$SRXE_BUILD/providers/rdmacm/rdmacm_local
[[ -x $PROG ]] || fail "$PROG is not built"
command -v rping >/dev/null || skip "rping is not installed"

netns_make 2 1500
netns_up
nobody=$NETNS_SUBNET.99

neigh() {
	local out
	out=$(in_ns 1 "$SRXE" exec -- timeout 20 "$PROG" neigh "$@" 2>&1) ||
		fail "rdmacm_local neigh $*: $out"
	echo "$out" >&2
	echo "$out"
}

# Nothing behind the address: the kernel's ARP fails, timeout 500 ms.
out=$(neigh "$nobody" 500)
ms=$(sed -nE 's/^RDMA_CM_EVENT_ADDR_ERROR status -110 after ([0-9]+) ms$/\1/p' <<<"$out")
[[ -n $ms ]] || fail "no ADDR_ERROR -ETIMEDOUT for $nobody: $out"
# Upper bounds leave room for a loaded machine (sanitizer builds).
((ms >= 450 && ms <= 5000)) || fail "ADDR_ERROR after $ms ms, want ~500"
assert_contains "$out" "after ADDR_ERROR: resolve_route EINVAL" "id bound again"
assert_contains "$out" "destroyed while resolving: no event" "destroy while resolving"
ms=$(sed -nE 's/^sync: ETIMEDOUT after ([0-9]+) ms$/\1/p' <<<"$out")
[[ -n $ms ]] || fail "synchronous id: no ETIMEDOUT: $out"
((ms >= 450 && ms <= 8000)) || fail "sync ETIMEDOUT after $ms ms"
echo "ok: $nobody: ADDR_ERROR -ETIMEDOUT after the 500 ms timeout"

# An unmodified client (rping resolves with a 2000 ms timeout) learns it
# within seconds, not after the CM's REQ retries.
start=$SECONDS
out=$(in_ns 1 "$SRXE" exec -- timeout 60 rping -c -a "$nobody" -C 1 2>&1) &&
	fail "rping to $nobody succeeded: $out"
((SECONDS - start <= 10)) || fail "rping to $nobody took $((SECONDS - start)) s"
assert_contains "$out" "ADDR_ERROR" "rping's address error"
echo "ok: rping -c -a $nobody: $(grep -m1 ADDR_ERROR <<<"$out") after $((SECONDS - start)) s"

# A real peer whose neighbour entry does not exist yet.
ip -n "${NS[1]}" neigh flush dev "${VETH[1]}" 2>/dev/null
state=$(ip -n "${NS[1]}" neigh show "${ADDR[0]}" dev "${VETH[1]}")
[[ -z $state || $state == *FAILED* ]] ||
	fail "the peer's neighbour entry is already there: $state"
out=$(neigh "${ADDR[0]}" 2000)
ms=$(sed -nE 's/^RDMA_CM_EVENT_ADDR_RESOLVED status 0 after ([0-9]+) ms$/\1/p' <<<"$out")
[[ -n $ms ]] || fail "no ADDR_RESOLVED for ${ADDR[0]}: $out"
((ms < 2000)) || fail "ADDR_RESOLVED after $ms ms"
assert_contains "$out" "then ROUTE_RESOLVED" "route after the address"
assert_contains "$out" "sync: resolved" "synchronous id resolved"
state=$(ip -n "${NS[1]}" neigh show "${ADDR[0]}" dev "${VETH[1]}")
assert_contains "$state" "lladdr" "neighbour entry of the peer"
echo "ok: ${ADDR[0]}: ADDR_RESOLVED after $ms ms (neighbour: $state)"

# IPv6: neighbour discovery for a link-local address nobody has, and for
# the peer's.
ll0=$(netns_wait_ll 0 "${VETH[0]}")
out=$(neigh "fe80::dead:beef%${VETH[1]}" 500)
ms=$(sed -nE 's/^RDMA_CM_EVENT_ADDR_ERROR status -110 after ([0-9]+) ms$/\1/p' <<<"$out")
[[ -n $ms ]] || fail "no ADDR_ERROR -ETIMEDOUT for fe80::dead:beef: $out"
((ms >= 450 && ms <= 5000)) || fail "IPv6 ADDR_ERROR after $ms ms, want ~500"
echo "ok: fe80::dead:beef: ADDR_ERROR -ETIMEDOUT after $ms ms"
ip -n "${NS[1]}" -6 neigh flush dev "${VETH[1]}" 2>/dev/null
out=$(neigh "$ll0%${VETH[1]}" 2000)
ms=$(sed -nE 's/^RDMA_CM_EVENT_ADDR_RESOLVED status 0 after ([0-9]+) ms$/\1/p' <<<"$out")
[[ -n $ms ]] || fail "no ADDR_RESOLVED for $ll0: $out"
assert_contains "$out" "then ROUTE_RESOLVED" "IPv6 route after the address"
state=$(ip -n "${NS[1]}" -6 neigh show "$ll0" dev "${VETH[1]}")
assert_contains "$state" "lladdr" "IPv6 neighbour entry of the peer"
echo "ok: $ll0: ADDR_RESOLVED after $ms ms (neighbour: $state)"

# This host's own address and loopback need no neighbour.
out=$(neigh "${ADDR[1]}" 0)
assert_contains "$out" "RDMA_CM_EVENT_ADDR_RESOLVED status 0" "own address, timeout 0"
out=$(neigh 127.0.0.1 0)
assert_contains "$out" "RDMA_CM_EVENT_ADDR_RESOLVED status 0" "loopback, timeout 0"
echo "ok: local addresses resolve at once (timeout 0)"
netns_down # fails on a sanitizer report in srxed's log
echo "PASS"
