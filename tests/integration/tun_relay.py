#!/usr/bin/env python3
"""One end of a point-to-point IP link made of two TUN devices (test_netns_tunnel.sh).

Usage: tun_relay.py TUN_NAME OWN_SOCKET PEER_SOCKET

Run inside a network namespace: creates TUN_NAME there (IFF_TUN, no
packet information: each read or write is one IP packet) and relays its
packets to PEER_SOCKET, a UNIX datagram socket path (paths are shared by
all namespaces), and what arrives on OWN_SOCKET to the TUN device, until
killed.  The other namespace runs the other end.  A link of type NONE,
neither Ethernet nor loopback.
"""
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main():
    name, own, peer = sys.argv[1:4]
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(own)
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([tun, sock], [], [])
        if tun in ready:
            pkt = os.read(tun, 65536)
            try:
                sock.sendto(pkt, peer)
            except OSError:
                pass  # the other end is not there yet, or its queue is full: a loss
        if sock in ready:
            pkt = sock.recv(65536)
            try:
                os.write(tun, pkt)
            except OSError:
                pass  # the device is not up yet: a loss


if __name__ == "__main__":
    main()
