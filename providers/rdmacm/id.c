// SPDX-License-Identifier: MIT
/*
 * rdma_cm_id life, addresses and routes.  Addresses and routes are
 * resolved here, without srxed: the routing table picks the source
 * address, the device is the one whose GID table holds it (DESIGN.md 6),
 * and the path is what RoCE needs (GIDs, the port's active MTU, hop limit,
 * traffic class).  Completion is reported through the id's channel like
 * every other event.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rdmacm_int.h"

#define HASH_SIZE 256

struct rcm_id *rcm_all_ids;
static struct rcm_ep *cookie_hash[HASH_SIZE];
static struct rcm_ep *handle_hash[HASH_SIZE];
static uint64_t next_cookie = 1;

static unsigned hash_cookie(uint64_t c)
{
	return (unsigned)(c * 0x9e3779b97f4a7c15ull >> 56) % HASH_SIZE;
}

static unsigned hash_handle(const struct rcm_dev *dev, uint32_t h)
{
	return (unsigned)(((uint64_t)h << 4 | (unsigned)dev->index) *
				  0x9e3779b97f4a7c15ull >>
			  56) %
	       HASH_SIZE;
}

struct rcm_ep *rcm_ep_lookup(uint64_t cookie)
{
	struct rcm_ep *ep = cookie_hash[hash_cookie(cookie)];

	while (ep && ep->cookie != cookie)
		ep = ep->c_next;
	return ep;
}

struct rcm_ep *rcm_ep_lookup_handle(struct rcm_dev *dev, uint32_t handle)
{
	struct rcm_ep *ep = handle_hash[hash_handle(dev, handle)];

	while (ep && !(ep->dev == dev && ep->handle == handle))
		ep = ep->h_next;
	return ep;
}

/* With rcm_lock held. */
static void ep_init(struct rcm_ep *ep, struct rcm_id *rid)
{
	unsigned b;

	ep->id = rid;
	ep->cookie = next_cookie++;
	b = hash_cookie(ep->cookie);
	ep->c_next = cookie_hash[b];
	cookie_hash[b] = ep;
}

void rcm_ep_hash_handle(struct rcm_ep *ep)
{
	unsigned b;

	if (ep->hashed_handle || !ep->has_handle || !ep->dev)
		return;
	b = hash_handle(ep->dev, ep->handle);
	ep->h_next = handle_hash[b];
	handle_hash[b] = ep;
	ep->hashed_handle = true;
}

static void unlink_chain(struct rcm_ep **head, struct rcm_ep *ep, bool cookie)
{
	struct rcm_ep **pp;

	for (pp = head; *pp; pp = cookie ? &(*pp)->c_next : &(*pp)->h_next)
		if (*pp == ep) {
			*pp = cookie ? ep->c_next : ep->h_next;
			return;
		}
}

/* With rcm_lock held; idempotent. */
void rcm_ep_unhash_handle(struct rcm_ep *ep)
{
	if (ep->hashed_handle) {
		unlink_chain(&handle_hash[hash_handle(ep->dev, ep->handle)], ep,
			     false);
		ep->hashed_handle = false;
	}
}

/* With rcm_lock held; idempotent. */
void rcm_ep_unhash(struct rcm_ep *ep)
{
	if (ep->cookie) {
		unlink_chain(&cookie_hash[hash_cookie(ep->cookie)], ep, true);
		ep->cookie = 0;
	}
	rcm_ep_unhash_handle(ep);
}

struct rcm_ep *rcm_ep_new(struct rcm_id *rid)
{
	struct rcm_ep *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	pthread_mutex_lock(&rcm_lock);
	ep_init(ep, rid);
	ep->next = rid->xeps;
	rid->xeps = ep;
	pthread_mutex_unlock(&rcm_lock);
	return ep;
}

struct rcm_id *rcm_id_alloc(struct rcm_chan *chan, void *context,
			    enum rdma_port_space ps, enum ibv_qp_type qp_type)
{
	struct rcm_id *rid = calloc(1, sizeof(*rid));

	if (!rid)
		return NULL;
	if (!chan) {
		chan = rcm_chan_new();
		if (!chan) {
			free(rid);
			return NULL;
		}
		rid->sync = true;
	}
	rid->chan = chan;
	rid->id.channel = &chan->ch;
	rid->id.context = context;
	rid->id.ps = ps;
	rid->id.qp_type = qp_type;
	rid->port_fd = -1;
	rid->retry_count = 7;
	rid->rnr_retry_count = 7;
	rid->qkey = RDMA_UDP_QKEY;
	rid->path.hop_limit = RCM_DEFAULT_HOP_LIMIT;
	rid->path.packet_life_time = RCM_PACKET_LIFETIME;
	pthread_mutex_init(&rid->mut, NULL);
	pthread_cond_init(&rid->cond, NULL);

	pthread_mutex_lock(&rcm_lock);
	ep_init(&rid->ep, rid);
	rid->all_next = rcm_all_ids;
	if (rcm_all_ids)
		rcm_all_ids->all_prev = rid;
	rcm_all_ids = rid;
	pthread_mutex_unlock(&rcm_lock);
	return rid;
}

/* Forget the id's cookies: events still on their way are dropped. */
static void id_unregister(struct rcm_id *rid)
{
	struct rcm_ep *x;

	pthread_mutex_lock(&rcm_lock);
	rcm_ep_unhash(&rid->ep);
	for (x = rid->xeps; x; x = x->next)
		rcm_ep_unhash(x);
	if (rid->all_prev || rcm_all_ids == rid) {
		if (rid->all_prev)
			rid->all_prev->all_next = rid->all_next;
		else
			rcm_all_ids = rid->all_next;
		if (rid->all_next)
			rid->all_next->all_prev = rid->all_prev;
		rid->all_prev = rid->all_next = NULL;
	}
	pthread_mutex_unlock(&rcm_lock);
}

void rcm_id_free(struct rcm_id *rid)
{
	struct rcm_ep *x;

	id_unregister(rid);
	while ((x = rid->xeps)) {
		rid->xeps = x->next;
		free(x);
	}
	if (rid->port_fd >= 0)
		close(rid->port_fd);
	free(rid->id.route.path_rec);
	free(rid->qp_init_attr);
	free(rid->connect_data);
	if (rid->sync)
		rcm_chan_free(rid->chan);
	pthread_cond_destroy(&rid->cond);
	pthread_mutex_destroy(&rid->mut);
	free(rid);
}

int rcm_id_set_dev(struct rcm_id *rid, struct rcm_dev *dev)
{
	uint32_t handle;
	int ret = rcm_dev_open(dev);

	if (ret)
		return ret;
	rid->dev = dev;
	rid->id.verbs = dev->verbs;
	rid->id.pd = dev->pd;
	rid->id.port_num = 1;
	rid->id.route.addr.addr.ibaddr.pkey = htobe16(0xffff);
	/* Register the channel with srxed now, so that rdma_listen and
	 * rdma_connect are a single request (a peer told our port may
	 * connect right after rdma_listen); a failure is retried there. */
	rcm_chan_attach(rid->chan, dev, &handle);
	return 0;
}

static int qp_type_of(enum rdma_port_space ps)
{
	return ps == RDMA_PS_IPOIB || ps == RDMA_PS_UDP ? IBV_QPT_UD
							: IBV_QPT_RC;
}

static bool ps_valid(enum rdma_port_space ps)
{
	return ps == RDMA_PS_TCP || ps == RDMA_PS_UDP || ps == RDMA_PS_IB ||
	       ps == RDMA_PS_IPOIB;
}

int rcm_create_id(struct rdma_event_channel *channel, struct rdma_cm_id **id,
		  void *context, enum rdma_port_space ps,
		  enum ibv_qp_type qp_type)
{
	struct rcm_id *rid;
	int ret;

	if (!id || !ps_valid(ps))
		return rcm_err(EINVAL);
	ret = rcm_init();
	if (ret)
		return rcm_err(ret);
	rid = rcm_id_alloc(channel ? rcm_chan(channel) : NULL, context, ps,
			   qp_type);
	if (!rid)
		return rcm_err(ENOMEM);
	*id = &rid->id;
	return 0;
}

RCM_EXPORT int rdma_create_id(struct rdma_event_channel *channel,
			      struct rdma_cm_id **id, void *context,
			      enum rdma_port_space ps)
{
	return rcm_create_id(channel, id, context, ps, qp_type_of(ps));
}

RCM_EXPORT int rdma_destroy_id(struct rdma_cm_id *id)
{
	struct rcm_id *rid;

	if (!id)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (id->event) {
		rdma_ack_cm_event(id->event);
		id->event = NULL;
	}
	rcm_mc_leave_all(rid);
	id_unregister(rid);
	rcm_cm_destroy_eps(rid);
	/* Events already handed out must be acked first (librdmacm). */
	pthread_mutex_lock(&rid->mut);
	while (rid->acked < rid->delivered)
		pthread_cond_wait(&rid->cond, &rid->mut);
	pthread_mutex_unlock(&rid->mut);
	rcm_id_free(rid);
	return 0;
}

/* ----- addresses ----- */

socklen_t rcm_addrlen(const struct sockaddr *sa)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

void rcm_addr_to_cm(const struct sockaddr *sa, struct srxe_cm_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		out->family = AF_INET;
		out->port = ntohs(in->sin_port);
		memcpy(out->addr, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		out->family = AF_INET6;
		out->port = ntohs(in6->sin6_port);
		out->scope_id = in6->sin6_scope_id;
		memcpy(out->addr, &in6->sin6_addr, 16);
	}
}

void rcm_addr_from_cm(const struct srxe_cm_addr *in, struct sockaddr *sa)
{
	if (in->family == AF_INET) {
		struct sockaddr_in *s = (void *)sa;

		memset(s, 0, sizeof(*s));
		s->sin_family = AF_INET;
		s->sin_port = htons(in->port);
		memcpy(&s->sin_addr, in->addr, 4);
	} else if (in->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)sa;

		memset(s6, 0, sizeof(*s6));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(in->port);
		s6->sin6_scope_id = in->scope_id;
		memcpy(&s6->sin6_addr, in->addr, 16);
	}
}

/* RoCEv2 GID of an IP address: IPv4 as ::ffff:a.b.c.d. */
void rcm_addr_to_gid(const struct sockaddr *sa, union ibv_gid *gid)
{
	memset(gid, 0, sizeof(*gid));
	if (sa->sa_family == AF_INET) {
		gid->raw[10] = 0xff;
		gid->raw[11] = 0xff;
		memcpy(&gid->raw[12],
		       &((const struct sockaddr_in *)(const void *)sa)
				->sin_addr,
		       4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(gid->raw,
		       &((const struct sockaddr_in6 *)(const void *)sa)
				->sin6_addr,
		       16);
	}
}

bool rcm_addr_any(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)
			       ->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
			&((const struct sockaddr_in6 *)(const void *)sa)
				 ->sin6_addr);
	return true;
}

static bool addr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)
				      ->sin_addr.s_addr) >>
			24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
			&((const struct sockaddr_in6 *)(const void *)sa)
				 ->sin6_addr);
	return false;
}

uint16_t rcm_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)
				     ->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)
				     ->sin6_port);
	return 0;
}

void rcm_addr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)(void *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)sa)->sin6_port = htons(port);
}

/* 0 if the address belongs to this host, else a positive errno. */
static int addr_is_local(const struct sockaddr *sa)
{
	struct sockaddr_storage ss;
	int s, ret = 0;

	memcpy(&ss, sa, rcm_addrlen(sa));
	rcm_addr_set_port((struct sockaddr *)&ss, 0);
	s = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errno;
	if (bind(s, (struct sockaddr *)&ss, rcm_addrlen(sa)))
		ret = errno;
	close(s);
	return ret;
}

/* The first device that opens: the kernel binds loopback the same way. */
static struct rcm_dev *loopback_dev(void)
{
	int i;

	for (i = 0; i < rcm_dev_count(); i++)
		if (!rcm_dev_open(rcm_dev_at(i)))
			return rcm_dev_at(i);
	return NULL;
}

static int bind_addr(struct rcm_id *rid, const struct sockaddr *addr)
{
	struct sockaddr *src = &rid->id.route.addr.src_addr;
	struct rcm_dev *dev = NULL;
	union ibv_gid gid;
	uint16_t port;
	int ret, fd, idx = 0;

	if (!rcm_addr_any(addr)) {
		rcm_addr_to_gid(addr, &gid);
		dev = rcm_dev_by_gid(&gid, &idx);
		if (!dev) {
			ret = addr_is_local(addr);
			if (ret)
				return ret;
			if (!addr_loopback(addr))
				return ENODEV;
			dev = loopback_dev();
			if (!dev)
				return ENODEV;
			if (ibv_query_gid(dev->verbs, 1, 0, &gid))
				return ENODEV;
		}
	}
	port = rcm_addr_port(addr);
	ret = rcm_port_reserve(rid->id.ps, &port, rid->reuseaddr, &fd);
	if (ret)
		return ret;
	if (dev) {
		ret = rcm_id_set_dev(rid, dev);
		if (ret) {
			if (fd >= 0)
				close(fd);
			return ret;
		}
		memcpy(rid->path.sgid, gid.raw, 16);
		rid->path.sgid_index = idx;
		memcpy(&rid->id.route.addr.addr.ibaddr.sgid, &gid, 16);
	}
	memset(&rid->id.route.addr.src_storage, 0,
	       sizeof(rid->id.route.addr.src_storage));
	memcpy(src, addr, rcm_addrlen(addr));
	rcm_addr_set_port(src, port);
	rid->port_fd = fd;
	rid->state = RCM_BOUND;
	return 0;
}

/*
 * An explicit wildcard bind usually precedes rdma_listen, and programs
 * like qperf tell the peer the port between the two: connect to every
 * srxed and register the channel now, so that the listen itself is one
 * request per device and a REQ rarely finds no listen yet.  Failures are
 * retried by rdma_listen.
 */
static void prepare_wildcard(struct rcm_id *rid)
{
	uint32_t handle;
	int i;

	for (i = 0; i < rcm_dev_count(); i++) {
		struct rcm_dev *dev = rcm_dev_at(i);

		if (!dev->dead && !rcm_dev_conn(dev))
			rcm_chan_attach(rid->chan, dev, &handle);
	}
}

RCM_EXPORT int rdma_bind_addr(struct rdma_cm_id *id, struct sockaddr *addr)
{
	struct rcm_id *rid;
	int ret;

	if (!id || !rcm_addrlen(addr))
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (rid->state != RCM_IDLE)
		return rcm_err(EINVAL);
	ret = bind_addr(rid, addr);
	if (ret)
		return rcm_err(ret);
	if (!rid->dev)
		prepare_wildcard(rid);
	return 0;
}

/*
 * The source the routing table picks for dst (from bound, when the id is
 * bound to an address: the kernel then routes a multicast group out of
 * that address's device without a route for it, as mckey -b needs), and
 * the route's hop limit.
 */
static int route_source(const struct sockaddr *dst,
			const struct sockaddr *bound, struct sockaddr *src,
			uint8_t *hop_limit)
{
	struct sockaddr_storage d;
	socklen_t len = sizeof(struct sockaddr_storage);
	int s, v = 0, ret = 0;
	socklen_t vl = sizeof(v);

	memcpy(&d, dst, rcm_addrlen(dst));
	if (!rcm_addr_port((struct sockaddr *)&d))
		rcm_addr_set_port((struct sockaddr *)&d, 9); /* any port */
	s = socket(dst->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errno;
	if (bound && !rcm_addr_any(bound)) {
		struct sockaddr_storage b;

		memcpy(&b, bound, rcm_addrlen(bound));
		rcm_addr_set_port((struct sockaddr *)&b, 0);
		if (bind(s, (struct sockaddr *)&b, rcm_addrlen(bound))) {
			ret = errno;
			goto out;
		}
	}
	if (connect(s, (struct sockaddr *)&d, rcm_addrlen(dst)) ||
	    getsockname(s, src, &len)) {
		ret = errno;
		goto out;
	}
	if (dst->sa_family == AF_INET) {
		if (!getsockopt(s, IPPROTO_IP, IP_TTL, &v, &vl) && v > 0 &&
		    v < 256)
			*hop_limit = (uint8_t)v;
	} else if (!getsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &vl) &&
		   v > 0 && v < 256) {
		*hop_limit = (uint8_t)v;
	}
out:
	close(s);
	return ret;
}

RCM_EXPORT int rdma_resolve_addr(struct rdma_cm_id *id,
				 struct sockaddr *src_addr,
				 struct sockaddr *dst_addr, int timeout_ms)
{
	struct sockaddr_storage any, chosen;
	struct rcm_id *rid;
	struct rcm_dev *dev;
	union ibv_gid sgid, dgid;
	int ret, idx = 0;
	uint8_t hop = RCM_DEFAULT_HOP_LIMIT;
	bool pending;

	if (!id || !rcm_addrlen(dst_addr) ||
	    (src_addr && !rcm_addrlen(src_addr)))
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (rid->state == RCM_IDLE) {
		if (!src_addr) {
			memset(&any, 0, sizeof(any));
			any.ss_family = dst_addr->sa_family;
			src_addr = (struct sockaddr *)&any;
		}
		ret = bind_addr(rid, src_addr);
		if (ret)
			return rcm_err(ret);
	}
	if (rid->state != RCM_BOUND && rid->state != RCM_ADDR_RESOLVED)
		return rcm_err(EINVAL);
	if (id->route.addr.src_addr.sa_family != dst_addr->sa_family &&
	    !rcm_addr_any(&id->route.addr.src_addr))
		return rcm_err(EINVAL);

	memset(&chosen, 0, sizeof(chosen));
	ret = route_source(dst_addr, &id->route.addr.src_addr,
			   (struct sockaddr *)&chosen, &hop);
	if (ret)
		return rcm_err(ret); /* no route: reported at once, as the
					kernel does */
	if (!rcm_addr_any(&id->route.addr.src_addr))
		memcpy(&chosen, &id->route.addr.src_storage,
		       rcm_addrlen(&id->route.addr.src_addr));

	memset(&id->route.addr.dst_storage, 0,
	       sizeof(id->route.addr.dst_storage));
	memcpy(&id->route.addr.dst_storage, dst_addr, rcm_addrlen(dst_addr));
	rcm_addr_to_gid(dst_addr, &dgid);

	dev = rid->dev;
	if (dev) {
		memcpy(sgid.raw, rid->path.sgid, 16);
		idx = rid->path.sgid_index;
	} else {
		rcm_addr_to_gid((struct sockaddr *)&chosen, &sgid);
		dev = rcm_dev_by_gid(&sgid, &idx);
		if (!dev && addr_loopback((struct sockaddr *)&chosen)) {
			dev = loopback_dev();
			idx = 0;
			if (dev && ibv_query_gid(dev->verbs, 1, 0, &sgid))
				dev = NULL;
		}
		if (dev && rcm_id_set_dev(rid, dev))
			dev = NULL;
	}
	if (!dev) {
		/* No srxe device holds the source address: the kernel's
		 * rdma_cm reports ADDR_ERROR -ENODEV. */
		ret = rcm_post_local(rid, RDMA_CM_EVENT_ADDR_ERROR, -ENODEV, 0);
		if (ret)
			return rcm_err(ret);
		return rcm_complete(rid);
	}
	if (addr_loopback(dst_addr) && !rcm_dev_by_gid(&dgid, NULL))
		dgid = sgid; /* loopback through a device not on lo */

	/* Keep the bound port, take the routed address. */
	rcm_addr_set_port((struct sockaddr *)&chosen,
			  rcm_addr_port(&id->route.addr.src_addr));
	memset(&id->route.addr.src_storage, 0,
	       sizeof(id->route.addr.src_storage));
	memcpy(&id->route.addr.src_storage, &chosen,
	       rcm_addrlen((struct sockaddr *)&chosen));
	memcpy(rid->path.sgid, sgid.raw, 16);
	memcpy(rid->path.dgid, dgid.raw, 16);
	rid->path.sgid_index = idx;
	rid->path.hop_limit = hop;
	memcpy(&id->route.addr.addr.ibaddr.sgid, &sgid, 16);
	memcpy(&id->route.addr.addr.ibaddr.dgid, &dgid, 16);
	/* ADDR_RESOLVED once the next hop's neighbour is valid (neigh.c);
	 * the event moves the id on (chan.c). */
	rid->state = RCM_ADDR_QUERY;
	ret = rcm_neigh_resolve(rid, &id->route.addr.src_addr, dst_addr,
				timeout_ms, &pending);
	if (!ret && !pending)
		ret = rcm_post_local(rid, RDMA_CM_EVENT_ADDR_RESOLVED, 0, 0);
	if (ret) {
		rid->state = RCM_BOUND;
		return rcm_err(ret);
	}
	return rcm_complete(rid);
}

void rcm_fill_path_rec(struct rcm_id *rid)
{
	struct ibv_sa_path_rec *p = rid->id.route.path_rec;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return;
		rid->id.route.path_rec = p;
	}
	memset(p, 0, sizeof(*p));
	memcpy(&p->sgid, rid->path.sgid, 16);
	memcpy(&p->dgid, rid->path.dgid, 16);
	p->flow_label = htobe32(rid->path.flow_label);
	p->hop_limit = rid->path.hop_limit;
	p->traffic_class = rid->path.traffic_class;
	p->reversible = 1;
	p->numb_path = 1;
	p->pkey = htobe16(0xffff);
	p->mtu_selector = 2;
	p->mtu = rid->path.mtu;
	p->rate_selector = 2;
	p->packet_life_time_selector = 2;
	p->packet_life_time = rid->path.packet_life_time;
	rid->id.route.num_paths = 1;
	memcpy(&rid->id.route.addr.addr.ibaddr.sgid, rid->path.sgid, 16);
	memcpy(&rid->id.route.addr.addr.ibaddr.dgid, rid->path.dgid, 16);
}

void rcm_fill_ah_attr(struct rcm_id *rid, struct ibv_ah_attr *ah)
{
	memset(ah, 0, sizeof(*ah));
	ah->is_global = 1;
	memcpy(ah->grh.dgid.raw, rid->path.dgid, 16);
	ah->grh.sgid_index = rid->path.sgid_index;
	ah->grh.hop_limit = rid->path.hop_limit;
	ah->grh.traffic_class = rid->path.traffic_class;
	ah->grh.flow_label = rid->path.flow_label;
	ah->port_num = 1;
}

RCM_EXPORT int rdma_resolve_route(struct rdma_cm_id *id, int timeout_ms)
{
	struct rcm_id *rid;
	enum ibv_mtu mtu;
	int ret;

	if (!id)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (rid->state != RCM_ADDR_RESOLVED && rid->state != RCM_ROUTE_RESOLVED)
		return rcm_err(EINVAL);
	if (rid->dev->dead)
		return rcm_err(ENODEV);
	ret = rcm_dev_active_mtu(rid->dev, &mtu);
	if (ret) {
		ret = rcm_post_local(rid, RDMA_CM_EVENT_ROUTE_ERROR, -ret, 0);
		return ret ? rcm_err(ret) : rcm_complete(rid);
	}
	rid->path.mtu = mtu;
	rid->path.traffic_class = rid->tos;
	rid->path.flow_label = 0;
	rid->path.packet_life_time = RCM_PACKET_LIFETIME;
	rid->have_path = true;
	rcm_fill_path_rec(rid);
	rid->state = RCM_ROUTE_RESOLVED;
	(void)timeout_ms; /* computed locally, at once */
	ret = rcm_post_local(rid, RDMA_CM_EVENT_ROUTE_RESOLVED, 0, 0);
	return ret ? rcm_err(ret) : rcm_complete(rid);
}

/* RDMA_OPTION_IB_PATH: the caller's path replaces route resolution. */
static int set_ib_path(struct rcm_id *rid, const void *optval, size_t optlen)
{
	const struct ibv_path_data *pd = optval;
	const struct ibv_path_record *pr;
	uint32_t fl_hop;
	int ret, idx = 0;

	if (!optval || optlen < sizeof(*pd) || optlen % sizeof(*pd))
		return EINVAL;
	if (rid->state != RCM_ADDR_RESOLVED && rid->state != RCM_ROUTE_RESOLVED)
		return EINVAL;
	pr = &pd->path;
	memcpy(rid->path.sgid, &pr->sgid, 16);
	memcpy(rid->path.dgid, &pr->dgid, 16);
	fl_hop = be32toh(pr->flowlabel_hoplimit);
	rid->path.flow_label = fl_hop >> 8;
	rid->path.hop_limit = (uint8_t)fl_hop;
	rid->path.traffic_class = pr->tclass;
	rid->path.mtu = pr->mtu & 0x3f;
	rid->path.packet_life_time = pr->packetlifetime & 0x3f;
	if (rcm_dev_by_gid((const union ibv_gid *)rid->path.sgid, &idx) ==
	    rid->dev)
		rid->path.sgid_index = idx;
	rid->have_path = true;
	rcm_fill_path_rec(rid);
	rid->state = RCM_ROUTE_RESOLVED;
	ret = rcm_post_local(rid, RDMA_CM_EVENT_ROUTE_RESOLVED, 0, 0);
	return ret;
}

RCM_EXPORT int rdma_set_option(struct rdma_cm_id *id, int level, int optname,
			       void *optval, size_t optlen)
{
	struct rcm_id *rid;
	int ret;

	if (!id)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (level == RDMA_OPTION_IB) {
		if (optname != RDMA_OPTION_IB_PATH)
			return rcm_err(ENOSYS);
		ret = set_ib_path(rid, optval, optlen);
		return ret ? rcm_err(ret) : 0;
	}
	if (level != RDMA_OPTION_ID)
		return rcm_err(ENOSYS);
	switch (optname) {
	case RDMA_OPTION_ID_TOS:
		if (!optval || optlen != sizeof(uint8_t))
			return rcm_err(EINVAL);
		rid->tos = *(uint8_t *)optval;
		rid->tos_set = true;
		return 0;
	case RDMA_OPTION_ID_REUSEADDR:
		if (!optval || optlen != sizeof(int))
			return rcm_err(EINVAL);
		if (rid->state != RCM_IDLE &&
		    !(*(int *)optval && rid->state != RCM_LISTEN))
			return rcm_err(EINVAL);
		rid->reuseaddr = *(int *)optval != 0;
		return 0;
	case RDMA_OPTION_ID_AFONLY:
		if (!optval || optlen != sizeof(int))
			return rcm_err(EINVAL);
		if (rid->state != RCM_IDLE && rid->state != RCM_BOUND)
			return rcm_err(EINVAL);
		rid->afonly = *(int *)optval != 0;
		rid->afonly_set = true;
		return 0;
	case RDMA_OPTION_ID_ACK_TIMEOUT:
		if (!optval || optlen != sizeof(uint8_t))
			return rcm_err(EINVAL);
		rid->ack_timeout = *(uint8_t *)optval & 0x1f;
		rid->timeout_set = true;
		return 0;
	default:
		return rcm_err(ENOSYS);
	}
}

RCM_EXPORT int rdma_migrate_id(struct rdma_cm_id *id,
			       struct rdma_event_channel *channel)
{
	struct srxe_cm_event raw;
	struct rcm_chan *nchan, *ochan;
	struct rcm_id *rid;
	struct rcm_ep *eps[RCM_MAX_DEVS + 1], *x;
	bool osync;
	int i, n = 0, ret = 0;

	if (!id)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (rid->sync && !channel)
		return rcm_err(EINVAL);
	nchan = channel ? rcm_chan(channel) : rcm_chan_new();
	if (!nchan)
		return -1;

	pthread_mutex_lock(&rcm_lock);
	if (rid->ep.has_handle)
		eps[n++] = &rid->ep;
	for (x = rid->xeps; x && n < RCM_MAX_DEVS + 1; x = x->next)
		if (x->has_handle)
			eps[n++] = x;
	pthread_mutex_unlock(&rcm_lock);
	for (i = 0; i < n && !ret; i++) {
		struct srxe_cm_migrate_req req = { .cookie = eps[i]->cookie,
						   .handle = eps[i]->handle };

		ret = rcm_chan_attach(nchan, eps[i]->dev, &req.chan_handle);
		if (!ret)
			ret = rcm_dev_call(eps[i]->dev, SRXE_OP_CM_MIGRATE,
					   &req, sizeof(req), -1, NULL, 0);
	}
	if (ret) {
		if (!channel)
			rcm_chan_free(nchan);
		return rcm_err(ret);
	}
	if (rid->dev)
		rcm_chan_watch(nchan, rid->dev);

	osync = rid->sync;
	if (osync && id->event) {
		rdma_ack_cm_event(id->event);
		id->event = NULL;
	}
	pthread_mutex_lock(&rcm_lock);
	ochan = rid->chan;
	rid->chan = nchan;
	id->channel = &nchan->ch;
	rid->sync = !channel;
	pthread_mutex_unlock(&rcm_lock);

	/* Events of the id already handed out on the old channel must be
	 * acked before it moves (librdmacm waits the same way). */
	pthread_mutex_lock(&rid->mut);
	while (rid->acked < rid->delivered)
		pthread_cond_wait(&rid->cond, &rid->mut);
	pthread_mutex_unlock(&rid->mut);

	if (osync) {
		/* The old channel was the id's own: what it still holds is
		 * the id's, and follows it. */
		while (recv(ochan->rd, &raw, sizeof(raw), MSG_DONTWAIT) ==
		       (ssize_t)sizeof(raw))
			rcm_post_raw(nchan, &raw);
		rcm_chan_free(ochan);
	}
	return 0;
}

RCM_EXPORT __be16 rdma_get_src_port(struct rdma_cm_id *id)
{
	return htons(rcm_addr_port(&id->route.addr.src_addr));
}

RCM_EXPORT __be16 rdma_get_dst_port(struct rdma_cm_id *id)
{
	return htons(rcm_addr_port(&id->route.addr.dst_addr));
}

/*
 * ECE: srxe's CM protocol (include/srxe/proto_cm.h) carries no ECE
 * fields, so the local values are kept but never sent, and the remote
 * ones are always zero (what librdmacm reports when the peer or the
 * kernel does not support ECE).
 */
RCM_EXPORT int rdma_set_local_ece(struct rdma_cm_id *id, struct ibv_ece *ece)
{
	struct rcm_id *rid;

	if (!id || id->qp || !ece || !ece->vendor_id || ece->comp_mask)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	rid->local_ece.vendor_id = ece->vendor_id;
	rid->local_ece.options = ece->options;
	return 0;
}

RCM_EXPORT int rdma_get_remote_ece(struct rdma_cm_id *id, struct ibv_ece *ece)
{
	struct rcm_id *rid;

	if (!id || id->qp || !ece)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	ece->vendor_id = rid->remote_ece.vendor_id;
	ece->options = rid->remote_ece.options;
	ece->comp_mask = 0;
	return 0;
}

RCM_EXPORT const char *rdma_event_str(enum rdma_cm_event_type event)
{
	static const char *const names[] = {
		[RDMA_CM_EVENT_ADDR_RESOLVED] = "RDMA_CM_EVENT_ADDR_RESOLVED",
		[RDMA_CM_EVENT_ADDR_ERROR] = "RDMA_CM_EVENT_ADDR_ERROR",
		[RDMA_CM_EVENT_ROUTE_RESOLVED] = "RDMA_CM_EVENT_ROUTE_RESOLVED",
		[RDMA_CM_EVENT_ROUTE_ERROR] = "RDMA_CM_EVENT_ROUTE_ERROR",
		[RDMA_CM_EVENT_CONNECT_REQUEST] =
			"RDMA_CM_EVENT_CONNECT_REQUEST",
		[RDMA_CM_EVENT_CONNECT_RESPONSE] =
			"RDMA_CM_EVENT_CONNECT_RESPONSE",
		[RDMA_CM_EVENT_CONNECT_ERROR] = "RDMA_CM_EVENT_CONNECT_ERROR",
		[RDMA_CM_EVENT_UNREACHABLE] = "RDMA_CM_EVENT_UNREACHABLE",
		[RDMA_CM_EVENT_REJECTED] = "RDMA_CM_EVENT_REJECTED",
		[RDMA_CM_EVENT_ESTABLISHED] = "RDMA_CM_EVENT_ESTABLISHED",
		[RDMA_CM_EVENT_DISCONNECTED] = "RDMA_CM_EVENT_DISCONNECTED",
		[RDMA_CM_EVENT_DEVICE_REMOVAL] = "RDMA_CM_EVENT_DEVICE_REMOVAL",
		[RDMA_CM_EVENT_MULTICAST_JOIN] = "RDMA_CM_EVENT_MULTICAST_JOIN",
		[RDMA_CM_EVENT_MULTICAST_ERROR] =
			"RDMA_CM_EVENT_MULTICAST_ERROR",
		[RDMA_CM_EVENT_ADDR_CHANGE] = "RDMA_CM_EVENT_ADDR_CHANGE",
		[RDMA_CM_EVENT_TIMEWAIT_EXIT] = "RDMA_CM_EVENT_TIMEWAIT_EXIT",
	};

	if ((unsigned)event < sizeof(names) / sizeof(names[0]) && names[event])
		return names[event];
	return "UNKNOWN EVENT";
}
