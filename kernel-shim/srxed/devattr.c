// SPDX-License-Identifier: MIT
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srxe/awf.h"
#include "srxe/device.h"
#include "devattr.h"
#include "linkwatch.h"
#include "translate.h"

#define NET_SYSFS	   "/sys/class/net"
#define PORT_CAP_CM_SUP	   (1u << 16) /* what rxe advertises */
#define PHYS_STATE_LINK_UP 5

#define PHYS_STATE_DISABLED 3 /* the netdev's link is down */

static int read_netdev_attr(const char *netdev, const char *attr, char *buf,
			    size_t cap)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), NET_SYSFS "/%s/%s", netdev, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_mtu(const char *netdev, unsigned int *mtu)
{
	char buf[32], *end;
	unsigned long v;
	int ret = read_netdev_attr(netdev, "mtu", buf, sizeof(buf));

	if (ret)
		return ret;
	v = strtoul(buf, &end, 10);
	if (end == buf || *end || v == 0 || v > 1u << 20)
		return -EINVAL;
	*mtu = v;
	return 0;
}

static int read_mac(const char *netdev, uint8_t mac[6])
{
	char buf[64];
	int ret = read_netdev_attr(netdev, "address", buf, sizeof(buf));

	if (ret)
		return ret;
	if (sscanf(buf, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
		   &mac[2], &mac[3], &mac[4], &mac[5]) != 6)
		return -EINVAL;
	return 0;
}

int srxed_device_probe(struct srxed *d, char *err, size_t cap)
{
	int ret;

	ret = read_mtu(d->cfg.netdev, &d->dev.netdev_mtu);
	if (ret) {
		snprintf(err, cap, "cannot read the MTU of netdev %s (%s): %s",
			 d->cfg.netdev, NET_SYSFS, strerror(-ret));
		return ret;
	}
	ret = read_mac(d->cfg.netdev, d->dev.mac);
	if (ret) {
		snprintf(err, cap, "cannot read the MAC of netdev %s: %s",
			 d->cfg.netdev, strerror(-ret));
		return ret;
	}
	d->dev.node_guid =
		srxe_node_guid(d->cfg.name, d->dev.mac, d->cfg.ipv4_be);
	return 0;
}

static void fill_limits(const struct srxed_config *cfg,
			struct ibv_device_attr *a)
{
	a->max_mr_size = cfg->max_reg_bytes;
	a->page_size_cap = 0xfffff000; /* 4 KiB and every larger power of 2 */
	a->max_qp = cfg->max_qp;
	a->max_qp_wr = SRXED_MAX_QP_WR;
	a->max_sge = SRXED_MAX_SGE;
	a->max_sge_rd = SRXED_MAX_SGE;
	a->max_cq = cfg->max_cq;
	a->max_cqe = SRXED_MAX_CQE;
	/* per-client limits: what one context can really create */
	a->max_mr = cfg->max_mr < cfg->max_mrs ? cfg->max_mr : cfg->max_mrs;
	a->max_pd = SRXED_MAX_PD;
	a->max_mw = SRXE_MEM_MAX_MWS; /* per context (kernel-shim/mem/mw.h) */
	a->max_qp_rd_atom = SRXED_MAX_RD_ATOM;
	a->max_qp_init_rd_atom = SRXED_MAX_RD_ATOM;
	a->max_res_rd_atom = SRXED_MAX_RD_ATOM * cfg->max_qp;
	a->max_srq = SRXED_MAX_SRQ;
	a->max_srq_wr = SRXED_MAX_SRQ_WR;
	a->max_srq_sge = SRXED_MAX_SGE;
	a->max_ah = SRXED_MAX_AH;
	a->max_mcast_grp = SRXED_MAX_MCAST_GRP;
	a->max_mcast_qp_attach = SRXED_MAX_MCAST_QP_ATTACH;
	a->max_total_mcast_qp_attach = SRXED_MAX_TOTAL_MCAST_QP_ATTACH;
	a->max_pkeys = 1;
	a->local_ca_ack_delay = 15;
}

void srxed_query_device(const struct srxed *d,
			struct srxe_query_device_resp *out)
{
	struct ibv_device_attr *a = &out->attr;

	memset(out, 0, sizeof(*out));
	snprintf(a->fw_ver, sizeof(a->fw_ver), "%s", SRXE_FW_VER);
	a->node_guid = htobe64(d->dev.node_guid);
	a->sys_image_guid = htobe64(d->dev.node_guid);
	a->vendor_id = SRXE_VENDOR_ID;
	a->vendor_part_id = SRXE_VENDOR_PART_ID;
	a->hw_ver = SRXE_HW_VER;
	/* Only what works today; later issues add flags with the feature. */
	a->device_cap_flags =
		IBV_DEVICE_SYS_IMAGE_GUID | IBV_DEVICE_RC_RNR_NAK_GEN |
		IBV_DEVICE_PORT_ACTIVE_EVENT | IBV_DEVICE_UD_AV_PORT_ENFORCE |
		/* issue #10: memory windows, as rxe */
		IBV_DEVICE_MEM_WINDOW | IBV_DEVICE_MEM_WINDOW_TYPE_2B |
		/* issue #10: XRC domains, SRQs and QPs */
		IBV_DEVICE_XRC |
		/* ibv_modify_srq(IBV_SRQ_MAX_WR), as rxe */
		IBV_DEVICE_SRQ_RESIZE;
	/* One engine applies every atomic of the device with CPU atomics. */
	a->atomic_cap = IBV_ATOMIC_HCA;
	a->phys_port_cnt = 1;
	fill_limits(&d->cfg, a);
	out->max_inline_data = SRXED_MAX_INLINE;
	/* IBA 1.5 (docs/atomic-write-flush.md): ATOMIC WRITE, and FLUSH to
	 * global visibility; not FLUSH_PERSISTENT (no persistent memory). */
	out->cap_flags_ex_hi = (uint32_t)((SRXE_DEVICE_ATOMIC_WRITE |
					   SRXE_DEVICE_FLUSH_GLOBAL) >>
					  32);
}

void srxed_query_port(struct srxed *d, struct ibv_port_attr *out)
{
	struct srxe_port_speed ps;
	unsigned int mtu;

	if (!read_mtu(d->cfg.netdev, &mtu))
		d->dev.netdev_mtu = mtu;
	memset(out, 0, sizeof(*out));
	out->state = IBV_PORT_ACTIVE;
	out->max_mtu = IBV_MTU_4096;
	out->active_mtu = srxe_ib_mtu_from_netdev(d->dev.netdev_mtu);
	out->gid_tbl_len = SRXE_GID_TBL_LEN;
	out->port_cap_flags = PORT_CAP_CM_SUP;
	out->max_msg_sz = SRXED_MAX_MSG_SZ;
	out->pkey_tbl_len = 1;
	out->max_vl_num = 1;
	out->phys_state = PHYS_STATE_LINK_UP;
	if (!srxed_port_is_up(d)) {
		out->state = IBV_PORT_DOWN;
		out->phys_state = PHYS_STATE_DISABLED;
	}
	out->link_layer = IBV_LINK_LAYER_ETHERNET;
	ps = srxe_port_speed_from_mbps(srxe_netdev_speed_mbps(d->cfg.netdev));
	out->active_width = ps.width;
	out->active_speed = ps.speed;
}
