// SPDX-License-Identifier: MIT
/*
 * Joins an IPv4 multicast group on an interface and holds the membership
 * for a while: what rdma_cm does for a RoCEv2 multicast join and plain
 * ibv_attach_mcast() on kernel rxe does not (rxe only adds the MAC
 * filter, so the IP layer drops the group's datagrams).  The rxe interop
 * test runs it in the kernel rxe guest, whose busybox `ip` has no
 * `autojoin`, before perftest's multicast server attaches.
 *
 * usage: mcast_join GROUP IFNAME SECONDS
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct ip_mreqn mr = { 0 };
	int fd;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &mr.imr_multiaddr) != 1) {
		fprintf(stderr, "usage: %s GROUP IFNAME SECONDS\n", argv[0]);
		return 2;
	}
	mr.imr_ifindex = (int)if_nametoindex(argv[2]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || !mr.imr_ifindex ||
	    setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		perror("mcast_join");
		return 1;
	}
	printf("mcast_join: %s joined on %s\n", argv[1], argv[2]);
	fflush(stdout);
	sleep((unsigned int)atoi(argv[3]));
	return 0;
}
