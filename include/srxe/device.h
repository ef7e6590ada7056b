/* SPDX-License-Identifier: MIT */
/*
 * Device identity shared by the srxe CLI (which publishes sysfs) and srxed
 * (which answers query_device/query_port): both must derive the same GUID,
 * GIDs and MTU from the same inputs.  Implemented in
 * kernel-shim/common/device.c.
 */
#ifndef SRXE_DEVICE_H
#define SRXE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The port's GID table: SRXE_GID_COUNT entries hold GIDs (0: the netdev's
 * IPv6 link-local address, or the IPv4-mapped one without it; 1:
 * IPv4-mapped), the rest are empty, as unused kernel entries are (zero
 * GID: ibv_query_gid_ex() answers ENODATA).
 */
#define SRXE_GID_TBL_LEN    16
#define SRXE_GID_COUNT	    2
#define SRXE_VENDOR_ID	    0xFFFFFF /* "software device", as rxe reports */
#define SRXE_VENDOR_PART_ID 0x5258   /* 'R' 'X' */
#define SRXE_HW_VER	    1
#define SRXE_FW_VER	    "srxe-0.1"
#define SRXE_ABI_VERSION    1 /* uverbs abi_version published in sysfs */

/*
 * Node GUID in host order: EUI-64 of the netdev MAC when it is not all
 * zero (as rxe does), otherwise a locally administered value hashed from
 * the device name and address, so loopback devices still get a non-zero,
 * stable GUID.
 */
uint64_t srxe_node_guid(const char *devname, const uint8_t mac[6],
			uint32_t ipv4_be);

/* fe80::<guid> */
void srxe_gid_link_local(uint64_t guid, uint8_t gid[16]);
/* ::ffff:a.b.c.d (RoCE v2) */
void srxe_gid_ipv4(uint32_t ipv4_be, uint8_t gid[16]);

/*
 * IB MTU enum (IBV_MTU_256..IBV_MTU_4096) the way rxe derives its active
 * MTU: netdev MTU minus RoCE headers, rounded down to an IB MTU.
 */
int srxe_ib_mtu_from_netdev(unsigned int netdev_mtu);

/*
 * Port speed the way the kernel's ib_get_eth_speed() derives it from the
 * netdev's link speed: IBTA PortInfo width and speed encodings.  A netdev
 * without a speed (lo, veth) counts as 1 Gb/s.
 */
struct srxe_port_speed {
	uint8_t width; /* ibv_port_attr.active_width */
	uint8_t speed; /* ibv_port_attr.active_speed */
};

/* Link speed of a netdev in Mb/s from sysfs; 0 when it has none. */
long srxe_netdev_speed_mbps(const char *netdev);
struct srxe_port_speed srxe_port_speed_from_mbps(long mbps);
/*
 * The sysfs ports/N/rate text (without newline) the kernel prints for
 * that width and speed, e.g. "2.5 Gb/sec (1X SDR)".
 */
void srxe_port_rate_text(struct srxe_port_speed ps, char *buf, size_t cap);

#endif /* SRXE_DEVICE_H */
