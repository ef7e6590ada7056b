// SPDX-License-Identifier: MIT
/*
 * Multicast joins, done in the library as the kernel's rdma_cm does them
 * on RoCE: no SA and no srxed CM involvement.  The group's MGID is the IP
 * group address (IPv4 as ::ffff:a.b.c.d), the id's QP is attached with
 * ibv_attach_mcast, and MULTICAST_JOIN reports the address handle
 * attributes, QPN 0xffffff and Q_Key RDMA_UDP_QKEY.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "rdmacm_int.h"

static bool is_multicast(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return IN_MULTICAST(
			ntohl(((const struct sockaddr_in *)(const void *)sa)
				      ->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_MULTICAST(
			&((const struct sockaddr_in6 *)(const void *)sa)
				 ->sin6_addr);
	return false;
}

int rcm_mc_join_event(struct rcm_event *evt, struct rcm_id *rid, uint32_t num)
{
	struct rdma_ud_param *u = &evt->ev.param.ud;
	struct rcm_mc *mc;
	int ret;

	pthread_mutex_lock(&rcm_lock);
	for (mc = rid->mc_list; mc && mc->num != num; mc = mc->next)
		;
	if (mc) {
		/* Counted under rcm_lock: rdma_leave_multicast unlinks under
		 * it too, then waits for this event's ack. */
		pthread_mutex_lock(&rid->mut);
		mc->delivered++;
		pthread_mutex_unlock(&rid->mut);
	}
	pthread_mutex_unlock(&rcm_lock);
	if (!mc)
		return -1; /* left meanwhile: drop */
	evt->mc = mc;
	rcm_fill_ah_attr(rid, &u->ah_attr);
	memcpy(u->ah_attr.grh.dgid.raw, mc->mgid.raw, 16);
	u->qp_num = 0xffffff;
	u->qkey = RDMA_UDP_QKEY;
	u->private_data = mc->context;
	u->private_data_len = 0;
	if (evt->ev.event != RDMA_CM_EVENT_MULTICAST_JOIN)
		return 0;
	if (rid->id.qp && !mc->attached &&
	    mc->join_flags != RDMA_MC_JOIN_FLAG_SENDONLY_FULLMEMBER) {
		ret = ibv_attach_mcast(rid->id.qp, &mc->mgid, 0);
		if (ret) {
			evt->ev.event = RDMA_CM_EVENT_MULTICAST_ERROR;
			evt->ev.status = -ret;
		} else {
			mc->attached = true;
		}
	}
	return 0;
}

static int join(struct rdma_cm_id *id, struct sockaddr *addr, uint16_t flags,
		void *context)
{
	struct rcm_id *rid = rcm_id(id);
	socklen_t len = rcm_addrlen(addr);
	struct rcm_mc *mc;
	int ret;

	if (!len || !is_multicast(addr))
		return rcm_err(EINVAL);
	if (!rid->dev ||
	    (rid->state != RCM_BOUND && rid->state != RCM_ADDR_RESOLVED &&
	     rid->state != RCM_ROUTE_RESOLVED))
		return rcm_err(EINVAL);
	if (rid->dev->dead)
		return rcm_err(ENODEV);
	mc = calloc(1, sizeof(*mc));
	if (!mc)
		return rcm_err(ENOMEM);
	memcpy(&mc->addr, addr, len);
	mc->addrlen = len;
	mc->context = context;
	mc->join_flags = flags;
	rcm_addr_to_gid(addr, &mc->mgid);
	pthread_mutex_lock(&rcm_lock);
	mc->num = ++rid->next_mc;
	mc->next = rid->mc_list;
	rid->mc_list = mc;
	pthread_mutex_unlock(&rcm_lock);
	ret = rcm_post_local(rid, RDMA_CM_EVENT_MULTICAST_JOIN, 0, mc->num);
	if (ret) {
		rdma_leave_multicast(id, addr);
		return rcm_err(ret);
	}
	return rcm_complete(rid);
}

RCM_EXPORT int rdma_join_multicast(struct rdma_cm_id *id, struct sockaddr *addr,
				   void *context)
{
	if (!id || !addr)
		return rcm_err(EINVAL);
	return join(id, addr, RDMA_MC_JOIN_FLAG_FULLMEMBER, context);
}

RCM_EXPORT int rdma_join_multicast_ex(struct rdma_cm_id *id,
				      struct rdma_cm_join_mc_attr_ex *attr,
				      void *context)
{
	if (!id || !attr)
		return rcm_err(EINVAL);
	if (attr->comp_mask >= RDMA_CM_JOIN_MC_ATTR_RESERVED)
		return rcm_err(ENOTSUP);
	if (!(attr->comp_mask & RDMA_CM_JOIN_MC_ATTR_ADDRESS) || !attr->addr)
		return rcm_err(EINVAL);
	if (!(attr->comp_mask & RDMA_CM_JOIN_MC_ATTR_JOIN_FLAGS) ||
	    attr->join_flags >= RDMA_MC_JOIN_FLAG_RESERVED)
		return rcm_err(EINVAL);
	return join(id, attr->addr, attr->join_flags, context);
}

static void mc_release(struct rcm_id *rid, struct rcm_mc *mc)
{
	if (mc->attached && rid->id.qp)
		ibv_detach_mcast(rid->id.qp, &mc->mgid, 0);
	pthread_mutex_lock(&rid->mut);
	while (mc->acked < mc->delivered)
		pthread_cond_wait(&rid->cond, &rid->mut);
	pthread_mutex_unlock(&rid->mut);
	free(mc);
}

RCM_EXPORT int rdma_leave_multicast(struct rdma_cm_id *id,
				    struct sockaddr *addr)
{
	struct rcm_id *rid;
	struct rcm_mc **pp, *mc = NULL;
	socklen_t len = rcm_addrlen(addr);

	if (!id || !len)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	pthread_mutex_lock(&rcm_lock);
	for (pp = &rid->mc_list; *pp; pp = &(*pp)->next)
		if ((*pp)->addrlen == len && !memcmp(&(*pp)->addr, addr, len)) {
			mc = *pp;
			*pp = mc->next;
			break;
		}
	pthread_mutex_unlock(&rcm_lock);
	if (!mc)
		return rcm_err(EADDRNOTAVAIL);
	mc_release(rid, mc);
	return 0;
}

void rcm_mc_leave_all(struct rcm_id *rid)
{
	struct rcm_mc *mc;

	for (;;) {
		pthread_mutex_lock(&rcm_lock);
		mc = rid->mc_list;
		if (mc)
			rid->mc_list = mc->next;
		pthread_mutex_unlock(&rcm_lock);
		if (!mc)
			return;
		mc_release(rid, mc);
	}
}
