/* SPDX-License-Identifier: MIT */
/*
 * Device identity shared by the srxe CLI (which publishes sysfs) and srxed
 * (which answers query_device/query_port): both must derive the same GUID,
 * GIDs and MTU from the same inputs.  Implemented in
 * kernel-shim/common/device.c.
 */
#ifndef SRXE_DEVICE_H
#define SRXE_DEVICE_H

#include <stdint.h>

#define SRXE_GID_TBL_LEN 2	    /* GID 0 link-local, GID 1 IPv4-mapped */
#define SRXE_VENDOR_ID 0xFFFFFF	    /* "software device", as rxe reports */
#define SRXE_VENDOR_PART_ID 0x5258 /* 'R' 'X' */
#define SRXE_HW_VER 1
#define SRXE_FW_VER "srxe-0.1"
#define SRXE_ABI_VERSION 1 /* uverbs abi_version published in sysfs */

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

#endif /* SRXE_DEVICE_H */
