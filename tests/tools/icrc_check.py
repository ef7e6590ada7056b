#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent RoCEv2 ICRC checker for pcap files (Python 3 stdlib only).

Written from the InfiniBand Architecture Specification's RoCEv2 annex
(A17.3.3, "ICRC"), not from srxe's encoder:

  * The ICRC is the CRC-32 of IEEE 802.3 (polynomial 0x04C11DB7, bits
    reflected, register preset to all ones, result complemented).
  * It is computed over a pseudo packet: 64 bits of ones standing in for
    the LRH that RoCEv2 does not carry, then the IP header, the UDP
    header, the BTH, all extension headers, the payload and the pad, i.e.
    everything from the IP header up to (not including) the ICRC.
  * Fields that may change in flight are replaced by ones: IPv4 Type of
    Service (DSCP + ECN), Time to Live and Header Checksum; IPv6 Traffic
    Class, Flow Label and Hop Limit; the UDP Checksum; and the BTH
    reserved byte (resv8a, byte 4) that holds FECN/BECN.
  * The ICRC is the last 4 bytes of the UDP payload, sent least
    significant byte first.

Usage:
  icrc_check.py FILE...          check every RoCEv2 packet; exit 0 when
                                 there is at least one and all are valid
  icrc_check.py --self-test FILE also prove the checker detects every
                                 single-bit flip in covered bytes (sampled)
                                 and ignores flips in the masked fields
Link types: Ethernet (with 802.1Q tags), raw IP, Linux cooked (SLL).
"""

import struct
import sys
import zlib

ROCE_PORT = 4791
LINK_ETHERNET, LINK_RAW, LINK_SLL = 1, 101, 113
# Packets the self-test flips bits in (it is quadratic in packet size).
SELF_TEST_MAX = 60


def _make_table():
    # Reflected form of 0x04C11DB7 is 0xEDB88320.
    poly = 0xEDB88320
    table = []
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ poly if reg & 1 else reg >> 1
        table.append(reg)
    return table


CRC_TABLE = _make_table()


def crc32_by_table(data, reg=0xFFFFFFFF):
    """Register-level CRC-32 from the table above: the definition, used
    by the self-test to check crc32() below."""
    for b in data:
        reg = CRC_TABLE[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


def crc32(data, reg=0xFFFFFFFF):
    """Register-level CRC-32: returns the register, not complemented.
    zlib's is the same CRC (it takes and returns the complemented
    register) at C speed: a capture of 60 MB takes 9 s the other way."""
    return zlib.crc32(data, reg ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def masked_ip(ip):
    """Copy of the IP header with the variant fields set to ones."""
    m = bytearray(ip)
    if ip[0] >> 4 == 4:
        m[1] = 0xFF  # TOS: DSCP + ECN
        m[8] = 0xFF  # TTL
        m[10:12] = b"\xff\xff"  # header checksum
    else:
        m[0] |= 0x0F  # traffic class, high nibble
        m[1] = 0xFF  # traffic class, low nibble + flow label
        m[2:4] = b"\xff\xff"  # flow label
        m[7] = 0xFF  # hop limit
    return bytes(m)


def icrc_of(ip, udp_and_rest):
    """ICRC over IP header + UDP datagram without its last 4 bytes."""
    udp = bytearray(udp_and_rest[:-4])
    udp[6:8] = b"\xff\xff"  # UDP checksum
    udp[8 + 4] = 0xFF  # BTH resv8a
    reg = crc32(b"\xff" * 8)
    reg = crc32(masked_ip(ip), reg)
    reg = crc32(bytes(udp), reg)
    return reg ^ 0xFFFFFFFF


def stored_icrc(udp_and_rest):
    return struct.unpack("<I", udp_and_rest[-4:])[0]


def read_pcap(path):
    """Yields (linktype, frame bytes) for every record of a classic pcap."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            raise ValueError(f"{path}: not a pcap file (too short)")
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            endian = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            endian = ">"
        else:
            raise ValueError(f"{path}: not a classic pcap file")
        linktype = struct.unpack(endian + "I", hdr[20:24])[0] & 0x0FFFFFFF
        while True:
            rec = f.read(16)
            if not rec:
                return
            if len(rec) < 16:
                raise ValueError(f"{path}: truncated record header")
            incl, orig = struct.unpack(endian + "II", rec[8:16])
            data = f.read(incl)
            if len(data) < incl:
                raise ValueError(f"{path}: truncated record")
            yield linktype, data, orig


def ip_of_frame(linktype, frame):
    """The IP packet inside a frame, or None."""
    if linktype == LINK_RAW:
        return frame
    if linktype == LINK_ETHERNET:
        off, etype = 12, None
        while off + 2 <= len(frame):
            etype = struct.unpack(">H", frame[off:off + 2])[0]
            if etype in (0x8100, 0x88A8):
                off += 4
                continue
            break
        if etype in (0x0800, 0x86DD):
            return frame[off + 2:]
        return None
    if linktype == LINK_SLL and len(frame) >= 16:
        if struct.unpack(">H", frame[14:16])[0] in (0x0800, 0x86DD):
            return frame[16:]
    return None


def roce_parts(ip):
    """(ip header, UDP datagram) when ip is a RoCEv2 packet, else None."""
    if len(ip) < 20:
        return None
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        if ip[9] != 17 or ihl < 20 or total > len(ip) or total < ihl:
            return None
        hdr, udp = ip[:ihl], ip[ihl:total]
    elif ip[0] >> 4 == 6 and len(ip) >= 40:
        plen = struct.unpack(">H", ip[4:6])[0]
        if ip[6] != 17 or 40 + plen > len(ip):
            return None
        hdr, udp = ip[:40], ip[40:40 + plen]
    else:
        return None
    if len(udp) < 8 or struct.unpack(">H", udp[2:4])[0] != ROCE_PORT:
        return None
    ulen = struct.unpack(">H", udp[4:6])[0]
    if ulen != len(udp) or ulen < 8 + 12 + 4:
        return None
    return hdr, udp


def packets(path):
    """Yields (index, ip header, UDP datagram) of every RoCEv2 packet."""
    for n, (linktype, frame, orig) in enumerate(read_pcap(path), 1):
        if orig != len(frame):
            raise ValueError(f"{path}: frame {n} was cut by the snaplen")
        ip = ip_of_frame(linktype, frame)
        parts = roce_parts(ip) if ip else None
        if parts:
            yield n, parts[0], parts[1]


def check_file(path):
    good = bad = 0
    for n, ip, udp in packets(path):
        want, got = icrc_of(ip, udp), stored_icrc(udp)
        if want == got:
            good += 1
        else:
            bad += 1
            print(f"{path}: frame {n}: ICRC 0x{got:08x}, expected "
                  f"0x{want:08x} (BTH opcode 0x{udp[8]:02x})")
    print(f"{path}: {good + bad} RoCEv2 packets, {good} valid ICRC, "
          f"{bad} invalid")
    return good, bad


def flip(ip, udp, where, bit):
    """Flips one bit; where < len(ip) is in the IP header."""
    ip, udp = bytearray(ip), bytearray(udp)
    if where < len(ip):
        ip[where] ^= 1 << bit
    else:
        udp[where - len(ip)] ^= 1 << bit
    return bytes(ip), bytes(udp)


def masked_offsets(ip):
    """Offsets (in IP header + UDP) that the ICRC must ignore."""
    if ip[0] >> 4 == 4:
        offs = [1, 8, 10, 11]
    else:
        offs = [1, 2, 3, 7]
    n = len(ip)
    return offs + [n + 6, n + 7, n + 8 + 4]


def self_test(path):
    """Every sampled one-bit flip of a covered byte must be caught."""
    caught = missed = ignored = tested = 0
    for n, ip, udp in packets(path):
        if icrc_of(ip, udp) != stored_icrc(udp) or tested == SELF_TEST_MAX:
            continue
        tested += 1
        if crc32(ip + udp) != crc32_by_table(ip + udp):
            print(f"frame {n}: zlib's CRC-32 differs from the table's")
            missed += 1
        masked = set(masked_offsets(ip))
        covered = len(ip) + len(udp)
        # Every header byte, a sample of the payload, and the ICRC itself.
        offsets = list(range(0, min(covered, len(ip) + 8 + 40)))
        offsets += list(range(len(ip) + 8 + 40, covered, 97))
        offsets += list(range(covered - 4, covered))
        for where in sorted(set(offsets)):
            bit = (where * 7 + n) % 8
            fip, fudp = flip(ip, udp, where, bit)
            ok = icrc_of(fip, fudp) == stored_icrc(fudp)
            if where == 0 and ip[0] >> 4 == 6:
                continue  # half masked (traffic class), half covered
            if where in masked:
                ignored += ok
                missed += not ok
            else:
                caught += not ok
                missed += ok
                if ok:
                    print(f"frame {n}: flip of byte {where} bit {bit} "
                          f"not detected")
    print(f"{path}: self-test on {tested} packets: {caught} flips "
          f"detected, {ignored} masked flips ignored, {missed} wrong")
    return caught > 0 and missed == 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "--self-test":
        ok = all(self_test(p) for p in argv[1:])
        return 0 if ok else 1
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    total_good = total_bad = 0
    for path in argv:
        try:
            good, bad = check_file(path)
        except (OSError, ValueError) as e:
            print(f"icrc_check: {e}", file=sys.stderr)
            return 1
        total_good += good
        total_bad += bad
    if total_good + total_bad == 0:
        print("icrc_check: no RoCEv2 packets found", file=sys.stderr)
        return 1
    return 0 if total_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
