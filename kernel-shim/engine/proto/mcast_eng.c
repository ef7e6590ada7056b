// SPDX-License-Identifier: MIT
/*
 * UD multicast in the engine (docs/multicast.md): the device's group
 * table (mcast.h), network membership of its groups, and the receive
 * fan-out.  Everything runs under the engine lock.
 *
 * Membership: each group holds one socket of its own, unbound (it never
 * receives a datagram), whose IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP on the
 * device's netdev makes the kernel send IGMP/MLD reports, accept the
 * group's datagrams and loop back the ones sent on this host.  The
 * datagrams themselves reach the wire transport's raw receive socket,
 * which it opens for the first IPv4 group (take_groups).  One
 * socket per group because Linux caps the groups of one socket
 * (net.ipv4.igmp_max_memberships, 20 by default); closing it leaves.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "objects/objects.h"
#include "packet/iphdr.h"
#include "proto.h"
#include "transport/transport_udp.h"

static int join_ipv4(const struct srxe_engine *eng, uint32_t group_be)
{
	struct ip_mreqn mr = {
		.imr_multiaddr.s_addr = group_be,
		.imr_address.s_addr = eng->cfg.ipv4_be,
		.imr_ifindex = (int)eng->cfg.ifindex,
	};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int join_ipv6(const struct srxe_engine *eng, const uint8_t mgid[16])
{
	struct ipv6_mreq mr = { .ipv6mr_interface = eng->cfg.ifindex };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	memcpy(&mr.ipv6mr_multiaddr, mgid, 16);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int net_join(void *opaque, const uint8_t mgid[SRXE_MGID_LEN],
		    int *handle)
{
	const struct srxe_engine *eng = opaque;
	uint32_t group;
	int fd;

	*handle = -1;
	/* Same-host only: nothing is received from the network anyway. */
	if (!eng->wire)
		return 0;
	srxe_mgid_is_mcast(mgid, &group);
	fd = group ? join_ipv4(eng, group) : join_ipv6(eng, mgid);
	if (fd < 0)
		return fd;
	*handle = fd;
	return 0;
}

static void net_leave(void *opaque, int handle)
{
	(void)opaque;
	close(handle);
}

void srxe_mcast_eng_init(struct srxe_engine *eng)
{
	const struct srxe_mcast_limits lim = {
		.max_grp = eng->cfg.max_mcast_grp,
		.max_qp_attach = eng->cfg.max_mcast_qp_attach,
		.max_total_attach = eng->cfg.max_total_mcast_qp_attach,
	};
	const struct srxe_mcast_ops ops = {
		.join = net_join,
		.leave = net_leave,
		.opaque = eng,
	};

	srxe_mcast_init(&eng->dev->mcast, &lim, &ops);
}

void srxe_mcast_eng_fini(struct srxe_engine *eng)
{
	srxe_mcast_destroy(&eng->dev->mcast);
}

static void sync_stats(struct srxe_engine *eng)
{
	eng->stats.mcast_groups = eng->dev->mcast.ngroups;
	eng->stats.mcast_attached = eng->dev->mcast.nattach;
}

/* ib_attach_mcast's checks (ib_core does them before rxe sees a call). */
static int check(const struct srxe_eng_qp *qp, const uint8_t mgid[16],
		 const char **why)
{
	if (qp->type != IBV_QPT_UD) {
		*why = "only UD QPs can be attached to a multicast group";
		return -EINVAL;
	}
	if (!srxe_mgid_is_mcast(mgid, NULL)) {
		*why = "the GID is not a multicast GID (ff00::/8 or "
		       "::ffff:224.0.0.0/100)";
		return -EINVAL;
	}
	return 0;
}

/* The wire receives IPv4 groups only once one is asked for (pkt.h). */
static int take_groups(struct srxe_engine *eng, const uint8_t mgid[16],
		       const char **why)
{
	uint32_t group;

	if (!eng->wire || !eng->wire->take_groups)
		return 0;
	srxe_mgid_is_mcast(mgid, &group);
	return group ? eng->wire->take_groups(eng->wire, why) : 0;
}

int srxe_eng_mcast_attach(struct srxe_eng_qp *qp, const uint8_t mgid[16],
			  const char **why)
{
	struct srxe_engine *eng = qp->ctx->eng->dev;
	struct srxe_mcast_grp *g;
	uint32_t before;
	int ret;

	*why = NULL;
	ret = check(qp, mgid, why);
	if (ret)
		return ret;
	ret = take_groups(eng, mgid, why);
	if (ret)
		return ret;
	g = srxe_mcast_find(&eng->dev->mcast, mgid);
	before = g ? g->nmembers : 0;
	ret = srxe_mcast_attach(&eng->dev->mcast, mgid, qp);
	if (ret == -EINVAL)
		*why = "the device has no multicast groups (max_mcast_grp 0)";
	else if (ret == -ENOMEM)
		*why = "multicast limit reached (max_mcast_grp, "
		       "max_mcast_qp_attach or max_total_mcast_qp_attach)";
	else if (ret)
		*why = "cannot join the group on the netdev "
		       "(IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP)";
	if (ret)
		return ret;
	g = srxe_mcast_find(&eng->dev->mcast, mgid);
	if (g && g->nmembers > before)
		qp->mcast_count++;
	srxe_ctx_pin_first(qp->ctx); /* the group's packets go there */
	sync_stats(eng);
	return 0;
}

int srxe_eng_mcast_detach(struct srxe_eng_qp *qp, const uint8_t mgid[16],
			  const char **why)
{
	struct srxe_engine *eng = qp->ctx->eng->dev;
	int ret;

	*why = NULL;
	ret = check(qp, mgid, why);
	if (ret)
		return ret;
	ret = srxe_mcast_detach(&eng->dev->mcast, mgid, qp);
	if (ret) {
		*why = "the QP is not attached to this multicast group";
		return ret;
	}
	qp->mcast_count--;
	sync_stats(eng);
	return 0;
}

uint32_t srxe_eng_qp_mcast_count(const struct srxe_eng_qp *qp)
{
	return qp->mcast_count;
}

void srxe_mcast_qp_gone(struct srxe_eng_qp *qp)
{
	struct srxe_engine *eng = qp->ctx->eng->dev;

	if (!qp->mcast_count)
		return;
	srxe_mcast_detach_all(&eng->dev->mcast, qp);
	qp->mcast_count = 0;
	sync_stats(eng);
}

bool srxe_mcast_ipv4_joined(const struct srxe_engine *eng, uint32_t ipv4_be)
{
	uint8_t mgid[SRXE_MGID_LEN];

	if (!srxe_ipv4_is_mcast(ipv4_be) || !eng->dev->mcast.ngroups)
		return false;
	srxe_mgid_from_ipv4(mgid, ipv4_be);
	return srxe_mcast_find(&eng->dev->mcast, mgid) != NULL;
}

bool srxe_mcast_ipv6_joined(const struct srxe_engine *eng,
			    const uint8_t ip6[16])
{
	return ip6[0] == 0xff && eng->dev->mcast.ngroups &&
	       srxe_mcast_find(&eng->dev->mcast, ip6) != NULL;
}

/* The group a packet's IP destination names (IPv4-mapped for IPv4), or
 * NULL: not multicast, or no group of this device. */
static struct srxe_mcast_grp *dst_group(struct srxe_engine *eng,
					const uint8_t *ip)
{
	uint8_t mgid[SRXE_MGID_LEN];
	uint32_t dst_ipv4;

	if (!ip)
		return NULL;
	if (ip[0] >> 4 == 6) {
		if (ip[SRXE_IPV6_DST_OFF] != 0xff)
			return NULL;
		return srxe_mcast_find(&eng->dev->mcast,
				       ip + SRXE_IPV6_DST_OFF);
	}
	memcpy(&dst_ipv4, ip + 16, 4);
	if (!srxe_ipv4_is_mcast(dst_ipv4))
		return NULL;
	srxe_mgid_from_ipv4(mgid, dst_ipv4);
	return srxe_mcast_find(&eng->dev->mcast, mgid);
}

/*
 * As rxe_rcv_mcast_pkt(): every attached QP gets the packet through its
 * own checks (state, transport, Q_Key: counted per QP under their
 * reasons).  The payload chunks are only read, so each QP copies from
 * the same ones.
 */
void srxe_mcast_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		   const struct srxe_sg *payload, int nchunks)
{
	struct srxe_mcast_grp *g = dst_group(eng, pkt->ip);

	if (!g) {
		eng->stats.drops++;
		eng->stats.drop_mcast_no_group++;
		return;
	}
	eng->stats.mcast_recv++;
	for (uint32_t i = 0; i < g->nmembers; i++) {
		struct srxe_eng_qp *qp = g->members[i];

		eng->stats.mcast_copies++;
		srxe_qp_comm_est(qp);
		srxe_resp_rx(qp, pkt, payload, nchunks);
	}
}
