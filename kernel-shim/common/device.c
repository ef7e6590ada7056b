// SPDX-License-Identifier: MIT
/*
 * Device identity (contract in include/srxe/device.h).  The CLI and srxed
 * both call these, so sysfs and query_device/query_port always agree.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "srxe/device.h"

/* Ethernet + IPv4 + UDP + BTH + ICRC and the largest extension headers,
 * the allowance rxe subtracts from the netdev MTU.
 */
#define ROCE_HDR_ALLOWANCE 80

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME  0x100000001b3ull

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len--) {
		h ^= *p++;
		h *= FNV64_PRIME;
	}
	return h;
}

static uint64_t guid_from_bytes(const uint8_t b[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static int mac_is_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !memcmp(mac, zero, sizeof(zero));
}

uint64_t srxe_node_guid(const char *devname, const uint8_t mac[6],
			uint32_t ipv4_be)
{
	uint8_t b[8];
	uint64_t h;
	int i;

	if (mac && !mac_is_zero(mac)) {
		/* Modified EUI-64: flip the universal/local bit, insert ff:fe.
		 */
		b[0] = mac[0] ^ 0x02;
		b[1] = mac[1];
		b[2] = mac[2];
		b[3] = 0xff;
		b[4] = 0xfe;
		b[5] = mac[3];
		b[6] = mac[4];
		b[7] = mac[5];
		return guid_from_bytes(b);
	}
	h = fnv1a(FNV64_OFFSET, devname ? devname : "",
		  devname ? strlen(devname) : 0);
	h = fnv1a(h, &ipv4_be, sizeof(ipv4_be));
	for (i = 0; i < 8; i++)
		b[i] = h >> (56 - 8 * i);
	/* Locally administered, unicast: never zero, never a real EUI-64. */
	b[0] = (b[0] | 0x02) & ~0x01;
	return guid_from_bytes(b);
}

void srxe_gid_link_local(uint64_t guid, uint8_t gid[16])
{
	int i;

	memset(gid, 0, 16);
	gid[0] = 0xfe;
	gid[1] = 0x80;
	for (i = 0; i < 8; i++)
		gid[8 + i] = guid >> (56 - 8 * i);
}

void srxe_gid_ipv4(uint32_t ipv4_be, uint8_t gid[16])
{
	memset(gid, 0, 16);
	gid[10] = 0xff;
	gid[11] = 0xff;
	memcpy(&gid[12], &ipv4_be, 4);
}

int srxe_ib_mtu_from_netdev(unsigned int netdev_mtu)
{
	unsigned int payload;

	if (netdev_mtu <= ROCE_HDR_ALLOWANCE)
		return IBV_MTU_256;
	payload = netdev_mtu - ROCE_HDR_ALLOWANCE;
	if (payload >= 4096)
		return IBV_MTU_4096;
	if (payload >= 2048)
		return IBV_MTU_2048;
	if (payload >= 1024)
		return IBV_MTU_1024;
	if (payload >= 512)
		return IBV_MTU_512;
	return IBV_MTU_256;
}

/* IBTA PortInfo encodings used below. */
enum { WIDTH_1X = 1, WIDTH_4X = 2 };
enum { SPEED_SDR = 1, SPEED_DDR = 2, SPEED_FDR10 = 8, SPEED_EDR = 32 };

long srxe_netdev_speed_mbps(const char *netdev)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "/sys/class/net/%s/speed", netdev) >=
	    (int)sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0; /* lo and veth answer EINVAL */
	buf[n] = '\0';
	return atol(buf) > 0 ? atol(buf) : 0;
}

struct srxe_port_speed srxe_port_speed_from_mbps(long mbps)
{
	if (mbps <= 1000)
		return (struct srxe_port_speed){ WIDTH_1X, SPEED_SDR };
	if (mbps <= 10000)
		return (struct srxe_port_speed){ WIDTH_1X, SPEED_FDR10 };
	if (mbps <= 20000)
		return (struct srxe_port_speed){ WIDTH_4X, SPEED_DDR };
	if (mbps <= 25000)
		return (struct srxe_port_speed){ WIDTH_1X, SPEED_EDR };
	if (mbps <= 40000)
		return (struct srxe_port_speed){ WIDTH_4X, SPEED_FDR10 };
	return (struct srxe_port_speed){ WIDTH_4X, SPEED_EDR };
}

void srxe_port_rate_text(struct srxe_port_speed ps, char *buf, size_t cap)
{
	/* Per-lane rate in units of 100 Mb/s, as the kernel's rate_show(). */
	unsigned int lane = 25, lanes = ps.width == WIDTH_4X ? 4 : 1;
	const char *name = "SDR";
	unsigned int rate;

	switch (ps.speed) {
	case SPEED_DDR:
		lane = 50;
		name = "DDR";
		break;
	case SPEED_FDR10:
		lane = 100;
		name = "FDR10";
		break;
	case SPEED_EDR:
		lane = 250;
		name = "EDR";
		break;
	}
	rate = lane * lanes;
	snprintf(buf, cap, "%u%s Gb/sec (%uX %s)", rate / 10,
		 rate % 10 ? ".5" : "", lanes, name);
}
