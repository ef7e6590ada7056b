// SPDX-License-Identifier: MIT
#include "netinfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static bool ifa_is_ipv4(const struct ifaddrs *ifa)
{
	return ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET;
}

static uint32_t ifa_ipv4(const struct ifaddrs *ifa)
{
	return ((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr;
}

static int find_netdev_of(uint32_t ipv4_be, char netdev[IF_NAMESIZE])
{
	struct ifaddrs *list, *ifa;
	int ret = -ENODEV;

	if (getifaddrs(&list))
		return -errno;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		if (ifa_is_ipv4(ifa) && ifa_ipv4(ifa) == ipv4_be) {
			snprintf(netdev, IF_NAMESIZE, "%s", ifa->ifa_name);
			ret = 0;
			break;
		}
	}
	freeifaddrs(list);
	return ret;
}

static int find_ipv4_of(const char *netdev, uint32_t *ipv4_be)
{
	struct ifaddrs *list, *ifa;
	int ret = -EADDRNOTAVAIL;

	if (getifaddrs(&list))
		return -errno;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		if (ifa_is_ipv4(ifa) && !strcmp(ifa->ifa_name, netdev)) {
			*ipv4_be = ifa_ipv4(ifa);
			ret = 0;
			break;
		}
	}
	freeifaddrs(list);
	return ret;
}

static int read_link_params(struct srxe_netinfo *ni)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ni->netdev);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	ni->mtu = ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	memcpy(ni->mac, ifr.ifr_hwaddr.sa_data, sizeof(ni->mac));
out:
	close(fd);
	return ret;
}

static bool is_link_local6(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/*
 * The netdev's IPv6 link-local address.  Tentative ones (duplicate address
 * detection still running) count: srxed binds them with freebind and they
 * carry traffic once DAD is over.  Several: the modified EUI-64 one of the
 * MAC (the address the node GUID and kernel rxe's default GID name),
 * else the first the kernel lists.
 */
static void find_ipv6_ll(struct srxe_netinfo *ni)
{
	struct ifaddrs *list, *ifa;
	uint8_t eui[8];

	eui[0] = ni->mac[0] ^ 0x02;
	eui[1] = ni->mac[1];
	eui[2] = ni->mac[2];
	eui[3] = 0xff;
	eui[4] = 0xfe;
	memcpy(eui + 5, ni->mac + 3, 3);
	if (getifaddrs(&list))
		return;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		const uint8_t *a;

		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET6 ||
		    strcmp(ifa->ifa_name, ni->netdev))
			continue;
		a = ((const struct sockaddr_in6 *)ifa->ifa_addr)
			    ->sin6_addr.s6_addr;
		if (!is_link_local6(a))
			continue;
		if (!ni->has_ipv6_ll || !memcmp(a + 8, eui, 8))
			memcpy(ni->ipv6_ll, a, 16);
		ni->has_ipv6_ll = true;
	}
	freeifaddrs(list);
}

/* 0/1 from /proc/sys/net/ipv6/conf/NETDEV/LEAF; -1 when unreadable. */
static int read_ipv6_conf(const char *netdev, const char *leaf)
{
	char path[128];
	int v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", netdev,
		 leaf);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * Whether the kernel is about to give the netdev a link-local address:
 * it is up, not loopback, IPv6 is on and address generation is not
 * "none".  Right after `ip link set up` (a veth whose peer just came up)
 * the address appears only when the kernel's link watch has run.
 */
static bool ipv6_ll_expected(const char *netdev)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", netdev);
	up = !ioctl(fd, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP) &&
	     !(ifr.ifr_flags & IFF_LOOPBACK);
	close(fd);
	return up && read_ipv6_conf(netdev, "disable_ipv6") == 0 &&
	       read_ipv6_conf(netdev, "addr_gen_mode") != 1;
}

/* Up to LL_WAIT_MS for the link-local address to appear. */
#define LL_WAIT_MS 3000
#define LL_POLL_MS 50

static void wait_ipv6_ll(struct srxe_netinfo *ni)
{
	for (int t = 0; t < LL_WAIT_MS && !ni->has_ipv6_ll; t += LL_POLL_MS) {
		usleep(LL_POLL_MS * 1000);
		find_ipv6_ll(ni);
	}
}

static int resolve_address(const char *netdev, const uint32_t *ipv4_be,
			   struct srxe_netinfo *ni, char *why, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	if (ipv4_be) {
		ni->ipv4_be = *ipv4_be;
		inet_ntop(AF_INET, ipv4_be, ip, sizeof(ip));
		if (find_netdev_of(*ipv4_be, ni->netdev)) {
			snprintf(why, len, "no netdev has address %s", ip);
			return -ENODEV;
		}
		return 0;
	}
	snprintf(ni->netdev, sizeof(ni->netdev), "%s", netdev ? netdev : "lo");
	if (!if_nametoindex(ni->netdev)) {
		snprintf(why, len, "netdev %s: %s", ni->netdev,
			 strerror(ENODEV));
		return -ENODEV;
	}
	if (find_ipv4_of(ni->netdev, &ni->ipv4_be)) {
		snprintf(why, len, "netdev %s has no IPv4 address", ni->netdev);
		return -EADDRNOTAVAIL;
	}
	return 0;
}

int srxe_netinfo_resolve(const char *netdev, const uint32_t *ipv4_be,
			 struct srxe_netinfo *ni, char *why, size_t len)
{
	int ret;

	memset(ni, 0, sizeof(*ni));
	ret = resolve_address(netdev, ipv4_be, ni, why, len);
	if (ret)
		return ret;
	ret = read_link_params(ni);
	if (ret) {
		snprintf(why, len, "netdev %s: %s", ni->netdev, strerror(-ret));
		return ret;
	}
	find_ipv6_ll(ni);
	if (!ni->has_ipv6_ll && ipv6_ll_expected(ni->netdev))
		wait_ipv6_ll(ni);
	return 0;
}
