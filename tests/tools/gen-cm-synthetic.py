#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write tests/data/cm-synthetic.pcap: CM REJ MADs, which the golden
kernel capture (tests/data/rxe-6.1-golden.pcap) does not contain, so that
test_cm_mad.c can check srxe's REJ decode against tshark's as it does for
the other messages.

Each frame copies the Ethernet/IPv4/UDP/BTH/DETH headers of golden frame
274 (10.0.0.1 -> 10.0.0.2, UD SEND Only to QP 1, the kernel's REP), puts
a REJ MAD laid out by hand from IBA vol. 1 table 108 (byte offsets after
the 24-byte MAD header), and recomputes the ICRC (RoCEv2 annex A17.3.3)
so the frames are valid RoCEv2.  Run by hand, then
tests/tools/gen-golden-cm-tshark.sh; CI only reads the results.
"""

import os
import struct
import zlib

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
GOLDEN = os.path.join(DATA, "rxe-6.1-golden.pcap")
OUT = os.path.join(DATA, "cm-synthetic.pcap")
ETH, MAD_OFF, MAD_LEN = 14, 62, 256


def golden_frame(number):
    blob = open(GOLDEN, "rb").read()
    off, n = 24, 0
    while off < len(blob):
        _, _, incl, _ = struct.unpack("<IIII", blob[off:off + 16])
        n += 1
        if n == number:
            return blob[:24], bytearray(blob[off + 16:off + 16 + incl])
        off += 16 + incl
    raise SystemExit("frame %d not found" % number)


def icrc(frame):
    """ICRC over the IPv4 packet with the variant fields set to ones."""
    pkt = bytearray(frame[ETH:-4])
    pkt[1] = 0xFF                   # TOS
    pkt[8] = 0xFF                   # TTL
    pkt[10:12] = b"\xff\xff"        # header checksum
    pkt[20 + 6:20 + 8] = b"\xff\xff"  # UDP checksum
    pkt[28 + 4] = 0xFF              # BTH resv8a
    return struct.pack("<I", zlib.crc32(b"\xff" * 8 + bytes(pkt)))


def rej(tid, local, remote, msg_rej, reason, ari=b"", priv=b""):
    """REJ (attribute 0x0012): IBA table 108."""
    mad = bytearray(MAD_LEN)
    struct.pack_into(">BBBBHHQHHI", mad, 0, 1, 0x07, 2, 0x03, 0, 0, tid,
                     0x0012, 0, 0)
    body = 24
    struct.pack_into(">II", mad, body, local, remote)
    mad[body + 8] = msg_rej << 6
    mad[body + 9] = len(ari) << 1
    struct.pack_into(">H", mad, body + 10, reason)
    mad[body + 12:body + 12 + len(ari)] = ari
    mad[body + 84:body + 84 + len(priv)] = priv
    return bytes(mad)


# What kernel rdma_cm sends, and one that fills every field:
#  1. REQ to a service id nobody listens on: reason 8 (invalid service
#     ID), message REJected = REQ, local comm id 0 (the REQ's remote one).
#  2. rdma_reject() with private data: reason 28 (consumer defined).
#  3. REJ of a REP with 5 bytes of ARI and the last private data byte set.
MADS = [
    rej(0x20173D396, 0, 0x96D37301, 0, 8),
    rej(0x20173D397, 0xF89BD91A, 0x97D37301, 0, 28,
        priv=b"rdma_reject private data"),
    rej(0x20173D398, 0x12345678, 0x9ABCDEF0, 1, 27, ari=b"\xde\xad\xbe\xef\x42",
        priv=b"\x00" * 147 + b"\x5a"),
]


def main():
    file_hdr, golden = golden_frame(274)
    with open(OUT, "wb") as out:
        out.write(file_hdr)
        for i, mad in enumerate(MADS):
            frame = bytearray(golden)
            frame[MAD_OFF:MAD_OFF + MAD_LEN] = mad
            frame[-4:] = icrc(frame)
            hdr = struct.pack("<IIII", 1796000000 + i, 0, len(frame),
                              len(frame))
            out.write(hdr + frame)
    print("wrote %s (%d frames)" % (OUT, len(MADS)))


if __name__ == "__main__":
    main()
