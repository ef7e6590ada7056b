/* SPDX-License-Identifier: MIT */
/*
 * The network side of a device: which netdev carries which IPv4 address,
 * and that netdev's MTU and MAC.  Read from the kernel (getifaddrs, ioctl).
 */
#ifndef SRXE_CLI_NETINFO_H
#define SRXE_CLI_NETINFO_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct srxe_netinfo {
	char netdev[IF_NAMESIZE];
	uint32_t ipv4_be;
	unsigned int mtu;
	uint8_t mac[6]; /* all zero on loopback */
	/* The netdev's IPv6 link-local address (GID 0), if it has one: the
	 * EUI-64 one of its MAC when present, else the first.  lo has none. */
	bool has_ipv6_ll;
	uint8_t ipv6_ll[16];
};

/*
 * Complete *ni from what is known: netdev only (take its first IPv4
 * address), ipv4 only (find the netdev holding it), or neither (lo and
 * 127.0.0.1).  Returns 0, or a negative errno with a reason in why[len]:
 *   -ENODEV  no such netdev / no netdev holds the address
 *   -EADDRNOTAVAIL  the netdev has no IPv4 address
 */
int srxe_netinfo_resolve(const char *netdev, const uint32_t *ipv4_be,
			 struct srxe_netinfo *ni, char *why, size_t len);

#endif /* SRXE_CLI_NETINFO_H */
