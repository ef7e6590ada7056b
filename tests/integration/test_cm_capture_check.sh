#!/bin/bash
# Issue #11 (must-show 3): tests/tools/cm_capture_check.sh, the check the
# kernel-rxe interop test applies to its rdma_cm captures, accepts the
# kernel's own CM exchange (tests/data/rxe-6.1-golden.pcap: two
# ib_send_bw -R connections between two kernel rxe guests) and rejects
# a capture where one CM MAD has an attribute tshark cannot name, a
# management class other than CM, or a body cut short.  And
# tests/tools/cm_field_diff.sh, which lists where one side's CM MADs
# differ from the other's, finds the two kernels alike and notices one
# BTH bit changed.
here=$(dirname "$0")
set -euo pipefail
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
check=$here/../tools/cm_capture_check.sh
golden=$here/../data/rxe-6.1-golden.pcap
work=$(mktemp -d /tmp/srxe-cmcap.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

out=$("$check" "$golden" ConnectRequest ConnectReply ReadyToUse \
	DisconnectRequest DisconnectReply) || fail "golden capture rejected: $out"
echo "$out"
grep -q "ok, 10 CM MADs" <<<"$out" || fail "expected 10 CM MADs"
# A name the capture lacks.
if "$check" "$golden" ServiceIDResReq >/dev/null 2>&1; then
	fail "a missing ServiceIDResReq was not noticed"
fi

# mutate KIND: frame 273 (the first ConnectRequest) of the golden capture,
# classic pcap, Ethernet + IPv4 + UDP + BTH + DETH before the MAD.
mutate() {
	/usr/bin/python3 - "$golden" "$work/$1.pcap" 273 "$1" <<'PY'
import struct, sys
src, dst, frame, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = open(src, 'rb').read()
out = bytearray(data[:24])
off, n = 24, 0
while off < len(data):
    ts, tu, incl, orig = struct.unpack('<IIII', data[off:off + 16])
    pkt = bytearray(data[off + 16:off + 16 + incl])
    off += 16 + incl
    n += 1
    if n == frame:
        mad = 14 + 20 + 8 + 12 + 8
        if kind == 'attr':      # attribute ID 0x0099: no CM attribute
            pkt[mad + 16:mad + 18] = b'\x00\x99'
        elif kind == 'class':   # management class 0x04 (performance)
            pkt[mad + 1] = 0x04
        elif kind == 'ackreq':  # BTH AckReq cleared
            pkt[14 + 20 + 8 + 8] &= 0x7f
        elif kind == 'short':   # MAD cut to 64 of its 256 bytes
            pkt = pkt[:mad + 64 + 4]
            struct.pack_into('>H', pkt, 14 + 2, len(pkt) - 14)
            struct.pack_into('>H', pkt, 14 + 20 + 4, len(pkt) - 34)
        incl = orig = len(pkt)
    out += struct.pack('<IIII', ts, tu, incl, orig) + pkt
open(dst, 'wb').write(out)
PY
}

for kind in attr class short; do
	mutate "$kind"
	if out=$("$check" "$work/$kind.pcap" 2>&1); then
		fail "mutation '$kind' accepted: $out"
	fi
	echo "mutation $kind rejected: $(grep -m1 'frame 273' <<<"$out")"
done
diff=$here/../tools/cm_field_diff.sh
out=$("$diff" "$golden" 10.0.0.2)
echo "$out"
grep -q "carry the same values" <<<"$out" || fail "the two kernels differ: $out"
mutate ackreq
out=$("$diff" "$work/ackreq.pcap" 10.0.0.2)
echo "$out"
grep -q "QP 1 BTH .*AckReq" <<<"$out" || fail "a cleared AckReq went unnoticed"
echo PASS
