#!/bin/bash
# Issue #10: XRC on the wire between two hosts (two network namespaces
# joined by a veth, one srxed each).  Debian's unmodified
# ibv_xsrq_pingpong runs from host 1 to host 0 while tcpdump records the
# veth; then:
#   - tshark decodes every frame as InfiniBand, names the XRC opcodes
#     ("Extended Reliable Connection (XRC) - SEND Only", "- Acknowledge")
#     and reports nothing malformed;
#   - every XRC request carries an XRCETH (IBA 9.2.4: 4 bytes right after
#     the BTH, 24-bit SRQ number) naming the SRQ of the QP's peer, as each
#     side printed it; responses carry none (AETH right after the BTH);
#   - the independent ICRC checker (tests/tools/icrc_check.py) accepts
#     every packet.
# tshark 4.0 names XRC opcodes but does not dissect the XRCETH (it shows
# the bytes as "Vendor Specific Data"), hence the check here.
here=$(dirname "$0")
# shellcheck disable=SC2034 # read by netns_lib.sh
NETNS_TAG=xr
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
require_prerequisites
command -v ibv_xsrq_pingpong >/dev/null ||
	skip "ibv_xsrq_pingpong is not installed (ibverbs-utils)"
command -v tshark >/dev/null || skip "tshark is not installed (Debian tshark)"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"
ICRC=$here/../tools/icrc_check.py
TSHARK=(tshark --disable-heuristic rpcrdma_infiniband)
export SRXE_WIRE_GSO=0 # raw send: one frame per packet on the veth

# "QPN RECV r SEND s, PSN p, SRQN n" of a side's "local:" line.
local_ids() {
	sed -nE 's/.*local: LID [0-9a-f]+, QPN RECV ([0-9a-f]+) SEND ([0-9a-f]+), PSN [0-9a-f]+, SRQN ([0-9a-f]+),.*/\1 \2 \3/p' <<<"$1"
}

xsrq_on_wire() {
	local out=${ROOT[0]} port=$((20000 + RANDOM % 20000)) tcpd v
	local -a args=(-g 1 -p "$port" -n 50 -s 3000)
	netns_tcpdump 0 "$out/xrc.pcap" -i "${VETH[0]}" -s 0 -n udp port 4791
	tcpd=$NETNS_LAST_BG
	netns_pair 0 1 "ibv_xsrq_pingpong" ibv_xsrq_pingpong -d "${DEV[0]}" \
		"${args[@]}" -- ibv_xsrq_pingpong -d "${DEV[1]}" "${args[@]}" \
		"${ADDR[0]}"
	assert_contains "$LAST_SERVER" "^success" "xsrq_pingpong server"
	assert_contains "$LAST_CLIENT" "^success" "xsrq_pingpong client"
	assert_contains "$LAST_CLIENT" "GID ::ffff:${ADDR[0]}" "remote GID"
	echo "ok: ibv_xsrq_pingpong ${args[*]} (${DEV[0]} <- ${DEV[1]})"
	sleep 0.3
	kill -INT "$tcpd"
	wait "$tcpd" || fail "tcpdump failed: $(cat "$out/xrc.pcap.log")"

	v=$("${TSHARK[@]}" -r "$out/xrc.pcap" -V 2>/dev/null) ||
		fail "tshark -V failed"
	for name in "SEND First (160)" "SEND Middle (161)" "SEND Last (162)" \
		"Acknowledge (177)"; do
		grep -qF "Opcode: Extended Reliable Connection (XRC) - $name" \
			<<<"$v" || fail "no XRC '$name' in tshark -V"
	done
	assert_not_contains "$v" "Malformed" "tshark -V"
	"$PY" - "$out/xrc.pcap" "$(local_ids "$LAST_SERVER")" \
		"$(local_ids "$LAST_CLIENT")" <<'EOF' || fail "XRCETH check failed"
import struct, sys
path, srv, cli = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
# A request to a side's RECV (target) QP must name that side's SRQ.
want = {int(srv[0], 16): int(srv[2], 16), int(cli[0], 16): int(cli[2], 16)}
resp = set(range(0xad, 0xb3))
data = open(path, "rb").read()
off, reqs, resps = 24, 0, 0
while off < len(data):
    _, _, incl, _ = struct.unpack_from("<IIII", data, off)
    f = data[off + 16: off + 16 + incl]
    off += 16 + incl
    ip = f[14:]
    bth = ip[(ip[0] & 15) * 4 + 8:]
    op, dqp = bth[0], int.from_bytes(bth[5:8], "big")
    if op >> 5 != 5:
        sys.exit(f"non-XRC opcode 0x{op:02x} to QP 0x{dqp:x}")
    if op in resp:
        resps += 1
        continue
    reqs += 1
    srqn = int.from_bytes(bth[13:16], "big")
    if bth[12] != 0 or want.get(dqp) != srqn:
        sys.exit(f"opcode 0x{op:02x} to QP 0x{dqp:x}: XRCETH {bth[12:16].hex()}, "
                 f"want SRQN 0x{want.get(dqp, 0):x}")
if not reqs or not resps:
    sys.exit(f"{reqs} requests, {resps} responses")
print(f"ok: {reqs} XRC requests name their peer's SRQ in the XRCETH, "
      f"{resps} responses without one")
EOF
	"$PY" "$ICRC" "$out/xrc.pcap" >"$out/xrc.icrc" ||
		fail "ICRC checker disagrees: $(cat "$out/xrc.icrc")"
	echo "ok: tshark names every XRC opcode, nothing malformed; $(tail -1 "$out/xrc.icrc")"
}

netns_make 2 1500
netns_up
xsrq_on_wire
netns_down
netns_up --translation mtt
NETNS_ITERS=20
netns_pair 0 1 "ibv_xsrq_pingpong (mtt)" ibv_xsrq_pingpong -d "${DEV[0]}" \
	-g 1 -p 23999 -n 20 -s 65536 -- ibv_xsrq_pingpong -d "${DEV[1]}" -g 1 \
	-p 23999 -n 20 -s 65536 "${ADDR[0]}"
assert_contains "$LAST_CLIENT" "^success" "xsrq_pingpong client (mtt)"
echo "ok: ibv_xsrq_pingpong -n 20 -s 65536, translation mtt"
echo "PASS"
