// SPDX-License-Identifier: MIT
/*
 * Datagram rsockets (SOCK_DGRAM, rsocket_int.h): messages over UD QPs,
 * in the shape of rdma-core's (rsocket_wire.h "Datagram rsockets").
 *
 * An rsocket owns a kernel UDP socket, whose address is the rsocket's, and
 * one UD QP per local address it talks from.  A message to a peer whose QP
 * is not known yet goes over UDP behind a header naming the sender's QP;
 * the receiver answers with a CTRL header naming its own, and each side
 * resolves an address handle to the other through rdma_cm.  From then on
 * messages go over UD, each behind a header with the sender's UDP address.
 * A message longer than one UD packet (path MTU, at most RS_DG_SLOT) also
 * goes over UDP, where the kernel fragments it: a datagram socket takes
 * anything UDP takes.
 *
 * The rsocket's number is an epoll fd watching the UDP socket and every
 * QP's completion channel, so that rpoll and blocking calls sleep on one
 * fd.  Received messages stay in their receive slots until read: one
 * message looked at (from UD or UDP) waits in dg->cur for rrecv or rpoll,
 * the others in their CQ, so nothing is copied twice.  A UD message that
 * finds no receive posted is dropped by the device, as UDP drops one
 * that finds its socket buffer full.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <infiniband/verbs.h>

#include "rsocket_int.h"

#define RS_DG_SLOT	 2048u /* one UD message, header included */
#define RS_DG_GRH	 40u   /* before each received UD message */
#define RS_DG_UDP_MAX	 65507u
#define RS_DG_RESOLVE_MS 2000
#define RS_DG_CLOSE_MS	 2000
#define RS_DG_SLEEP_MS	 100
#define RS_DG_REAP	 16
/* Peers one rsocket keeps (each with an address handle in srxed): a
 * flood of forged sources stops here, with ENOBUFS. */
#define RS_DG_MAX_PEERS 16384u
/* After a failed resolve: a peer that keeps sending over UDP must not
 * cost every message a resolve of up to 2 x RS_DG_RESOLVE_MS. */
#define RS_DG_AH_RETRY_NS 1000000000ull
/* The UDP socket is looked at every RS_DG_UDP_TURN-th time (a syscall),
 * whenever a sleep may have been woken by it, and first for the
 * RS_DG_UDP_TURN looks after a message came over UDP. */
#define RS_DG_UDP_TURN 64u

struct rs_dqp {
	struct rs_dqp *next;
	struct rdma_cm_id *id; /* synchronous, bound to the local address */
	struct ibv_pd *pd;
	struct ibv_comp_channel *cch; /* both CQs */
	struct ibv_cq *scq, *rcq;
	struct ibv_mr *smr, *rmr;
	uint8_t *rbuf;		       /* rq slots of RS_DG_GRH + RS_DG_SLOT */
	struct sockaddr_storage local; /* the UDP socket's, this address */
	struct rsw_ds_hdr hdr;	       /* the same, as messages carry it */
	uint32_t ud_max; /* header + payload one UD packet holds */
	uint32_t inline_max;
	bool armed;
};

/* A peer, by its UDP address (first: the tree compares it). */
struct rs_ddest {
	struct sockaddr_storage addr;
	struct rs_dqp *qp; /* the local QP that talks to it */
	struct ibv_ah *ah; /* NULL while its QP is unknown */
	uint32_t qpn;
	uint64_t ah_after_ns; /* no new try at an AH before (rs_now_ns) */
};

enum rs_dmsg_kind { RS_DMSG_NONE, RS_DMSG_UD, RS_DMSG_UDP };

/* The next message rrecv returns. */
struct rs_dmsg {
	enum rs_dmsg_kind kind;
	struct rs_dqp *qp; /* UD: the receive to post again */
	uint32_t slot;
	const uint8_t *data;
	uint32_t len;
	struct sockaddr_storage from;
};

struct rs_dgram {
	int udp;
	int family;
	struct rs_dqp *qps;
	void *dests; /* tsearch tree of struct rs_ddest */
	unsigned int ndests;
	struct rs_ddest *conn;
	uint8_t *sbuf; /* sq slots of RS_DG_SLOT, every QP's */
	uint16_t *sfree;
	unsigned int nfree, sq, rq;
	uint8_t *ubuf; /* one UDP message */
	unsigned int takes;
	bool udp_hint;		 /* the UDP socket may have something */
	unsigned int udp_recent; /* looks left that try UDP first */
	struct rs_dmsg cur;
};

/* Peer addresses compare by family, port and address only. */
static int addr_key(const struct sockaddr *sa, socklen_t len,
		    struct sockaddr_storage *key)
{
	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		struct sockaddr_in *k = (void *)key;

		k->sin_family = AF_INET;
		k->sin_port = in->sin_port;
		k->sin_addr = in->sin_addr;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		struct sockaddr_in6 *k = (void *)key;

		k->sin6_family = AF_INET6;
		k->sin6_port = in6->sin6_port;
		k->sin6_addr = in6->sin6_addr;
		/* A link-local address names a peer only with its link. */
		if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr))
			k->sin6_scope_id = in6->sin6_scope_id;
		return 0;
	}
	return rs_fail(len < sizeof(sa_family_t) ? EINVAL : EAFNOSUPPORT);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sockaddr_in6));
}

static socklen_t addr_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					: sizeof(struct sockaddr_in);
}

static uint16_t port_of(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6
		       ? ((const struct sockaddr_in6 *)a)->sin6_port
		       : ((const struct sockaddr_in *)a)->sin_port;
}

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
	if (a->ss_family == AF_INET6)
		((struct sockaddr_in6 *)a)->sin6_port = port;
	else
		((struct sockaddr_in *)a)->sin_port = port;
}

static bool is_any(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
			&((const struct sockaddr_in6 *)a)->sin6_addr);
	return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
	       htonl(INADDR_ANY);
}

static bool same_ip(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

static void hdr_from_addr(const struct sockaddr_storage *a,
			  struct rsw_ds_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)a;

		h->version = 4;
		h->length = RSW_DS_HDR_V4;
		h->port = in->sin_port;
		h->addr.ipv4 = in->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *in6 = (const void *)a;

		h->version = 6;
		h->length = RSW_DS_HDR_V6;
		h->port = in6->sin6_port;
		h->addr.ipv6.flowinfo = in6->sin6_flowinfo;
		memcpy(h->addr.ipv6.addr, &in6->sin6_addr, 16);
	}
}

/* The sender's address a UD message names; a link-local one is on the
 * link of @qp, which received it. */
static void addr_from_hdr(const struct rsw_ds_hdr *h, const struct rs_dqp *qp,
			  struct sockaddr_storage *a)
{
	memset(a, 0, sizeof(*a));
	if (h->version == 4) {
		struct sockaddr_in *in = (void *)a;

		in->sin_family = AF_INET;
		in->sin_port = h->port;
		in->sin_addr.s_addr = h->addr.ipv4;
	} else {
		struct sockaddr_in6 *in6 = (void *)a;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = h->port;
		memcpy(&in6->sin6_addr, h->addr.ipv6.addr, 16);
		if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr))
			in6->sin6_scope_id =
				((const struct sockaddr_in6 *)&qp->local)
					->sin6_scope_id;
	}
}

int rs_dgram_open(struct rsock *rs, int domain)
{
	struct rs_dgram *dg = calloc(1, sizeof(*dg));
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	if (!dg)
		return -1;
	dg->family = domain;
	dg->ubuf = malloc(RS_DG_UDP_MAX);
	dg->udp = socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	rs->fd = epoll_create1(EPOLL_CLOEXEC);
	if (!dg->ubuf || dg->udp < 0 || rs->fd < 0 ||
	    epoll_ctl(rs->fd, EPOLL_CTL_ADD, dg->udp, &ev)) {
		err = dg->ubuf ? errno : ENOMEM;
		if (rs->fd >= 0)
			close(rs->fd);
		if (dg->udp >= 0)
			close(dg->udp);
		free(dg->ubuf);
		free(dg);
		return rs_fail(err);
	}
	rs->dg = dg;
	rs->readable = rs->writable = true;
	return 0;
}

int rs_dgram_udp_fd(const struct rsock *rs)
{
	return rs->dg->udp;
}

bool rs_dgram_sized(const struct rsock *rs)
{
	return rs->dg->sbuf != NULL;
}

/* The send slots, shared by every QP: sized by the options at first use. */
static int alloc_slots(struct rsock *rs)
{
	struct rs_dgram *dg = rs->dg;
	unsigned int i;

	if (dg->sbuf)
		return 0;
	dg->sq = rs->opt.sbuf_size / RS_DG_SLOT;
	dg->rq = rs->opt.rbuf_size / RS_DG_SLOT;
	dg->sq = dg->sq < RS_MIN_QP ? RS_MIN_QP : dg->sq;
	dg->rq = dg->rq < RS_MIN_QP ? RS_MIN_QP : dg->rq;
	dg->sq = dg->sq > rs->opt.sq_size ? rs->opt.sq_size : dg->sq;
	dg->rq = dg->rq > rs->opt.rq_size ? rs->opt.rq_size : dg->rq;
	dg->sbuf = calloc(dg->sq, RS_DG_SLOT);
	dg->sfree = calloc(dg->sq, sizeof(*dg->sfree));
	if (!dg->sbuf || !dg->sfree) {
		free(dg->sbuf);
		free(dg->sfree);
		dg->sbuf = NULL;
		dg->sfree = NULL;
		return rs_fail(ENOMEM);
	}
	for (i = 0; i < dg->sq; i++)
		dg->sfree[i] = (uint16_t)(dg->sq - 1 - i);
	dg->nfree = dg->sq;
	return 0;
}

static uint8_t *rslot(const struct rs_dqp *qp, uint32_t slot)
{
	return qp->rbuf + (size_t)slot * (RS_DG_GRH + RS_DG_SLOT);
}

static int post_recv(struct rs_dqp *qp, uint32_t slot)
{
	struct ibv_sge sge = { .addr = (uintptr_t)rslot(qp, slot),
			       .length = RS_DG_GRH + RS_DG_SLOT,
			       .lkey = qp->rmr->lkey };
	struct ibv_recv_wr wr = { .wr_id = slot,
				  .sg_list = &sge,
				  .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return ibv_post_recv(qp->id->qp, &wr, &bad);
}

static void free_qp(struct rsock *rs, struct rs_dqp *qp)
{
	struct ibv_cq *cq;
	void *ctx;

	if (qp->id && qp->id->qp)
		rdma_destroy_qp(qp->id);
	if (qp->cch) {
		epoll_ctl(rs->fd, EPOLL_CTL_DEL, qp->cch->fd, NULL);
		while (!ibv_get_cq_event(qp->cch, &cq, &ctx))
			ibv_ack_cq_events(cq, 1);
	}
	if (qp->scq)
		ibv_destroy_cq(qp->scq);
	if (qp->rcq)
		ibv_destroy_cq(qp->rcq);
	if (qp->cch)
		ibv_destroy_comp_channel(qp->cch);
	if (qp->smr)
		ibv_dereg_mr(qp->smr);
	if (qp->rmr)
		ibv_dereg_mr(qp->rmr);
	if (qp->pd)
		ibv_dealloc_pd(qp->pd);
	if (qp->id)
		rdma_destroy_id(qp->id);
	free(qp->rbuf);
	free(qp);
}

/* Header + payload that fit one packet of the port's active MTU. */
static uint32_t ud_max(struct rdma_cm_id *id)
{
	struct ibv_port_attr pa;
	uint32_t mtu;

	if (ibv_query_port(id->verbs, id->port_num, &pa))
		return 256;
	mtu = 128u << pa.active_mtu;
	return mtu < RS_DG_SLOT ? mtu : RS_DG_SLOT;
}

static int qp_verbs(struct rsock *rs, struct rs_dqp *qp)
{
	struct rs_dgram *dg = rs->dg;
	struct ibv_qp_init_attr attr = {
		.qp_context = qp,
		.qp_type = IBV_QPT_UD,
		.sq_sig_all = 1,
		.cap = { .max_send_wr = dg->sq,
			 .max_recv_wr = dg->rq,
			 .max_send_sge = 1,
			 .max_recv_sge = 1,
			 .max_inline_data = rs->opt.inline_size },
	};
	struct ibv_context *verbs = qp->id->verbs;
	size_t rlen = (size_t)dg->rq * (RS_DG_GRH + RS_DG_SLOT);

	qp->pd = ibv_alloc_pd(verbs);
	qp->cch = qp->pd ? ibv_create_comp_channel(verbs) : NULL;
	if (!qp->cch)
		return -1;
	fcntl(qp->cch->fd, F_SETFL, fcntl(qp->cch->fd, F_GETFL) | O_NONBLOCK);
	qp->scq = ibv_create_cq(verbs, (int)dg->sq, qp, qp->cch, 0);
	qp->rcq = ibv_create_cq(verbs, (int)dg->rq, qp, qp->cch, 0);
	if (!qp->scq || !qp->rcq)
		return -1;
	attr.send_cq = qp->scq;
	attr.recv_cq = qp->rcq;
	if (rdma_create_qp(qp->id, qp->pd, &attr))
		return -1;
	qp->inline_max = attr.cap.max_inline_data;
	qp->smr = ibv_reg_mr(qp->pd, dg->sbuf, (size_t)dg->sq * RS_DG_SLOT, 0);
	qp->rbuf = calloc(1, rlen);
	if (!qp->smr || !qp->rbuf)
		return rs_fail(ENOMEM);
	qp->rmr = ibv_reg_mr(qp->pd, qp->rbuf, rlen, IBV_ACCESS_LOCAL_WRITE);
	return qp->rmr ? 0 : -1;
}

/* A QP bound to the local address @src (its port: the UDP socket's). */
static struct rs_dqp *new_qp(struct rsock *rs,
			     const struct sockaddr_storage *src)
{
	struct rs_dgram *dg = rs->dg;
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_storage ip = *src;
	struct rs_dqp *qp = calloc(1, sizeof(*qp));
	uint32_t i;
	int err;

	if (!qp || alloc_slots(rs))
		goto fail;
	set_port(&ip, 0);
	if (rdma_create_id(NULL, &qp->id, qp, RDMA_PS_UDP) ||
	    rdma_bind_addr(qp->id, (struct sockaddr *)&ip))
		goto fail;
	if (!qp->id->verbs) {
		errno = EADDRNOTAVAIL;
		goto fail;
	}
	if (qp_verbs(rs, qp) ||
	    epoll_ctl(rs->fd, EPOLL_CTL_ADD, qp->cch->fd, &ev))
		goto fail;
	for (i = 0; i < dg->rq; i++)
		if (post_recv(qp, i))
			goto fail;
	qp->local = *src;
	hdr_from_addr(src, &qp->hdr);
	qp->ud_max = ud_max(qp->id);
	qp->next = dg->qps;
	dg->qps = qp;
	return qp;
fail:
	err = errno ? errno : ENOMEM;
	if (qp)
		free_qp(rs, qp);
	errno = err;
	return NULL;
}

/* The UDP socket's address; bound to a wildcard port first if unbound. */
static int own_addr(struct rs_dgram *dg, struct sockaddr_storage *a)
{
	socklen_t len = sizeof(*a);
	struct sockaddr_storage any = { .ss_family = (sa_family_t)dg->family };

	if (getsockname(dg->udp, (struct sockaddr *)a, &len))
		return -1;
	if (port_of(a))
		return 0;
	if (bind(dg->udp, (struct sockaddr *)&any, addr_len(&any)))
		return -1;
	len = sizeof(*a);
	return getsockname(dg->udp, (struct sockaddr *)a, &len);
}

/* The local address datagrams to @peer leave from: the bound one, or the
 * route's source when the socket is bound to a wildcard address. */
static int src_for(struct rs_dgram *dg, const struct sockaddr_storage *peer,
		   struct sockaddr_storage *src)
{
	struct sockaddr_storage via;
	socklen_t len = sizeof(via);
	int s, ret;

	if (own_addr(dg, src))
		return -1;
	if (!is_any(src))
		return 0;
	s = socket(peer->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	ret = connect(s, (const struct sockaddr *)peer, addr_len(peer));
	if (!ret)
		ret = getsockname(s, (struct sockaddr *)&via, &len);
	close(s);
	if (ret)
		return -1;
	set_port(&via, port_of(src));
	*src = via;
	return 0;
}

static struct rs_ddest *find_dest(struct rs_dgram *dg,
				  const struct sockaddr_storage *key)
{
	void *node = tfind(key, &dg->dests, key_cmp);

	return node ? *(struct rs_ddest **)node : NULL;
}

/* The peer at @key, made (with a QP for its route) when new. */
static struct rs_ddest *get_dest(struct rsock *rs,
				 const struct sockaddr_storage *key)
{
	struct rs_dgram *dg = rs->dg;
	struct rs_ddest *d = find_dest(dg, key);
	struct sockaddr_storage src;
	struct rs_dqp *qp;

	if (d)
		return d;
	if (key->ss_family != dg->family) {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	if (dg->ndests >= RS_DG_MAX_PEERS) {
		errno = ENOBUFS;
		return NULL;
	}
	if (src_for(dg, key, &src))
		return NULL;
	for (qp = dg->qps; qp && !same_ip(&qp->local, &src); qp = qp->next)
		;
	/* No srxe device serves the route (ENODEV): plain UDP, as if no
	 * rsocket were there (DNS through librspreload, for one). */
	if (!qp) {
		qp = new_qp(rs, &src);
		if (!qp && errno != ENODEV)
			return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->addr = *key;
	d->qp = qp;
	if (!tsearch(d, &dg->dests, key_cmp)) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	dg->ndests++;
	return d;
}

static int gid_index(const struct rs_dqp *qp, const union ibv_gid *gid)
{
	struct ibv_port_attr pa;
	union ibv_gid g;
	int i;

	if (ibv_query_port(qp->id->verbs, qp->id->port_num, &pa))
		return -1;
	for (i = 0; i < pa.gid_tbl_len; i++)
		if (!ibv_query_gid(qp->id->verbs, qp->id->port_num, i, &g) &&
		    !memcmp(&g, gid, sizeof(g)))
			return i;
	return -1;
}

/* The address handle from @d's QP to the peer's address, on the route
 * rdma_cm resolves; left NULL (UDP goes on) when there is none. */
static void make_ah(struct rs_ddest *d)
{
	struct sockaddr_storage src = d->qp->local, dst = d->addr;
	struct ibv_ah_attr attr = { .is_global = 1 };
	struct ibv_sa_path_rec *p;
	struct rdma_cm_id *id;
	int idx;

	if (rs_now_ns() < d->ah_after_ns ||
	    rdma_create_id(NULL, &id, NULL, RDMA_PS_UDP))
		return;
	set_port(&src, 0);
	if (rdma_resolve_addr(id, (struct sockaddr *)&src,
			      (struct sockaddr *)&dst, RS_DG_RESOLVE_MS) ||
	    rdma_resolve_route(id, RS_DG_RESOLVE_MS) || !id->route.path_rec)
		goto out;
	p = id->route.path_rec;
	idx = gid_index(d->qp, &p->sgid);
	if (idx < 0)
		goto out;
	attr.grh.dgid = p->dgid;
	attr.grh.sgid_index = (uint8_t)idx;
	attr.grh.hop_limit = p->hop_limit ? p->hop_limit : 64;
	attr.grh.traffic_class = p->traffic_class;
	attr.grh.flow_label = be32toh(p->flow_label);
	attr.port_num = d->qp->id->port_num;
	d->ah = ibv_create_ah(d->qp->pd, &attr);
out:
	rdma_destroy_id(id);
	if (!d->ah)
		d->ah_after_ns = rs_now_ns() + RS_DG_AH_RETRY_NS;
}

static size_t iov_len(const struct iovec *iov, size_t n)
{
	size_t len = 0, i;

	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

static void gather(uint8_t *dst, const struct iovec *iov, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(dst, iov[i].iov_base, iov[i].iov_len);
		dst += iov[i].iov_len;
	}
}

static size_t scatter(const struct iovec *iov, size_t n, const uint8_t *src,
		      size_t len)
{
	size_t done = 0, i, k;

	for (i = 0; i < n && done < len; i++) {
		k = len - done < iov[i].iov_len ? len - done : iov[i].iov_len;
		memcpy(iov[i].iov_base, src + done, k);
		done += k;
	}
	return done;
}

/* Sends @iov over UDP to @d behind a header naming @d's local QP; to a
 * plain peer, as it is (and a CTRL not at all). */
static ssize_t udp_send(struct rs_dgram *dg, const struct rs_ddest *d,
			enum rsw_ds_udp_op op, const struct iovec *iov,
			size_t n, bool nonblock)
{
	struct rsw_ds_udp u = { .tag = htobe32(RSW_DS_UDP_TAG),
				.op = (uint8_t)op };
	struct iovec stack[8], *v = n < 8 ? stack : calloc(n + 1, sizeof(*v));
	size_t hl = 0;
	struct msghdr m = { .msg_name = (void *)&d->addr,
			    .msg_namelen = addr_len(&d->addr),
			    .msg_iov = v };
	ssize_t ret;

	if (!v)
		return rs_fail(ENOMEM);
	if (d->qp) {
		u.version = d->qp->hdr.version;
		u.qpn = htobe32(d->qp->id->qp->qp_num & 0xffffff);
		hl = u.length = u.version == 4 ? RSW_DS_UDP_V4 : RSW_DS_UDP_V6;
		if (u.version == 4)
			u.addr.ipv4 = d->qp->hdr.addr.ipv4;
		else
			memcpy(u.addr.ipv6, d->qp->hdr.addr.ipv6.addr, 16);
		v[m.msg_iovlen++] = (struct iovec){ &u, hl };
	} else if (op == RSW_DS_CTRL) {
		ret = 0;
		goto out;
	}
	if (n)
		memcpy(&v[m.msg_iovlen], iov, n * sizeof(*iov));
	m.msg_iovlen += n;
	ret = sendmsg(dg->udp, &m,
		      MSG_NOSIGNAL | (nonblock ? MSG_DONTWAIT : 0));
	ret = ret < 0 ? -1 : ret - (ssize_t)hl;
out:
	if (v != stack)
		free(v);
	return ret;
}

static bool accepted_from(const struct rs_dgram *dg,
			  const struct sockaddr_storage *from)
{
	return !dg->conn || !key_cmp(from, &dg->conn->addr);
}

/*
 * Learns from a UDP message's header: the peer's QP (and an address handle
 * to it), answered with a CTRL when the peer seems not to know ours (it
 * used UDP for what fits UD).
 */
static void udp_learn(struct rsock *rs, const struct rsw_ds_udp *u,
		      uint32_t len, const struct sockaddr_storage *from)
{
	struct rs_ddest *d = get_dest(rs, from);
	uint32_t qpn = be32toh(u->qpn) & 0xffffff;

	if (!d || !d->qp)
		return;
	if (u->op == RSW_DS_DATA && (!d->ah || d->qpn != qpn ||
				     d->qp->hdr.length + len <= d->qp->ud_max))
		udp_send(rs->dg, d, RSW_DS_CTRL, NULL, 0, true);
	d->qpn = qpn;
	if (!d->ah)
		make_ah(d);
}

/*
 * Takes one message from the UDP socket; false when it had none ready.
 * With dg->cur free, a DATA or a plain peer's message (no header) becomes
 * dg->cur; else only CTRLs and garbage are taken, and a DATA or plain
 * message waits in the socket.
 */
static bool udp_take(struct rsock *rs)
{
	struct rs_dgram *dg = rs->dg;
	uint8_t small[RSW_DS_UDP_V6];
	bool hold = dg->cur.kind == RS_DMSG_NONE, plain;
	uint8_t *buf = hold ? dg->ubuf : small;
	const struct rsw_ds_udp *u = (const void *)buf;
	struct sockaddr_storage from, key;
	socklen_t flen = sizeof(from);
	const struct rs_ddest *d;
	unsigned int hl;
	ssize_t n;

	n = recvfrom(dg->udp, buf, hold ? RS_DG_UDP_MAX : sizeof(small),
		     MSG_DONTWAIT | (hold ? 0 : MSG_PEEK),
		     (struct sockaddr *)&from, &flen);
	if (n < 0)
		return false;
	hl = rsw_ds_udp_len(u, (uint32_t)n, from.ss_family == AF_INET6 ? 6 : 4);
	if (addr_key((struct sockaddr *)&from, flen, &key)) {
		if (!hold)
			recv(dg->udp, small, sizeof(small), MSG_DONTWAIT);
		return true;
	}
	d = hl ? NULL : find_dest(dg, &key);
	plain = d && !d->qp;
	if (!hold) {
		if ((hl && u->op == RSW_DS_DATA) || plain)
			return false; /* waits for dg->cur */
		recv(dg->udp, small, sizeof(small), MSG_DONTWAIT);
	}
	if (plain || (hl && u->op == RSW_DS_DATA)) {
		if (hl)
			udp_learn(rs, u, (uint32_t)n - hl, &key);
		if (!accepted_from(dg, &key))
			return true;
		dg->udp_recent = RS_DG_UDP_TURN;
		dg->cur = (struct rs_dmsg){ .kind = RS_DMSG_UDP,
					    .data = buf + hl,
					    .len = (uint32_t)n - hl,
					    .from = key };
	} else if (hl && u->op == RSW_DS_CTRL) {
		udp_learn(rs, u, 0, &key);
	}
	return true;
}

static void udp_drain(struct rsock *rs)
{
	while (udp_take(rs))
		;
}

/* One received UD message into dg->cur; false when there is none. */
static bool ud_take(struct rs_dgram *dg)
{
	struct sockaddr_storage from;
	struct rs_dqp *qp;
	struct ibv_wc wc;
	unsigned int hl;

	for (qp = dg->qps; qp; qp = qp->next) {
		while (ibv_poll_cq(qp->rcq, 1, &wc) > 0) {
			const uint8_t *buf = rslot(qp, (uint32_t)wc.wr_id);
			const struct rsw_ds_hdr *h =
				(const void *)(buf + RS_DG_GRH);
			uint32_t avail = wc.byte_len > RS_DG_GRH
						 ? wc.byte_len - RS_DG_GRH
						 : 0;

			if (wc.status != IBV_WC_SUCCESS)
				continue; /* flushed: the QP is going */
			/* A header naming another source than the packet's
			 * own is forged: dropped, as one that is no header. */
			hl = rsw_ds_hdr_len(h, avail);
			if (hl && !rsw_ds_grh_agrees(buf, h))
				hl = 0;
			if (hl)
				addr_from_hdr(h, qp, &from);
			if (!hl || !accepted_from(dg, &from)) {
				post_recv(qp, (uint32_t)wc.wr_id);
				continue;
			}
			dg->cur = (struct rs_dmsg){ .kind = RS_DMSG_UD,
						    .qp = qp,
						    .slot = (uint32_t)wc.wr_id,
						    .data = (const uint8_t *)h +
							    hl,
						    .len = avail - hl,
						    .from = from };
			return true;
		}
	}
	return false;
}

static void reap_sends(struct rs_dgram *dg)
{
	struct ibv_wc wc[RS_DG_REAP];
	struct rs_dqp *qp;
	int n, i;

	for (qp = dg->qps; qp; qp = qp->next)
		while ((n = ibv_poll_cq(qp->scq, RS_DG_REAP, wc)) > 0)
			for (i = 0; i < n; i++)
				dg->sfree[dg->nfree++] = (uint16_t)wc[i].wr_id;
}

/*
 * The next message looked at: UD first, so that the busy path costs no
 * syscall, except while messages come over UDP: a sender's long messages
 * (UDP) and short ones (UD) then mostly keep their order.  Send slots
 * come back once half are out.
 */
static void progress(struct rsock *rs)
{
	struct rs_dgram *dg = rs->dg;
	bool udp = dg->udp_hint || ++dg->takes % RS_DG_UDP_TURN == 0;

	if (dg->nfree < dg->sq / 2)
		reap_sends(dg);
	if (dg->cur.kind != RS_DMSG_NONE)
		return;
	if (dg->udp_recent) {
		dg->udp_recent--;
		udp_drain(rs);
		if (dg->cur.kind != RS_DMSG_NONE)
			return;
	}
	if (!ud_take(dg) && udp) {
		dg->udp_hint = false;
		udp_drain(rs);
	}
}

static void consume(struct rs_dgram *dg)
{
	if (dg->cur.kind == RS_DMSG_UD)
		post_recv(dg->cur.qp, dg->cur.slot);
	dg->cur.kind = RS_DMSG_NONE;
}

static bool has_msg(const struct rsock *rs)
{
	return rs->dg->cur.kind != RS_DMSG_NONE || !rs->readable;
}

static bool slot_free(const struct rsock *rs)
{
	if (rs->dg->sbuf && !rs->dg->nfree)
		reap_sends(rs->dg);
	return !rs->dg->sbuf || rs->dg->nfree > 0;
}

static bool sends_done(const struct rsock *rs)
{
	if (rs->dg->sbuf && rs->dg->nfree < rs->dg->sq)
		reap_sends(rs->dg);
	return !rs->dg->sbuf || rs->dg->nfree == rs->dg->sq;
}

void rs_dgram_arm(struct rsock *rs)
{
	struct rs_dqp *qp;

	for (qp = rs->dg->qps; qp; qp = qp->next) {
		if (qp->armed)
			continue;
		ibv_req_notify_cq(qp->scq, 0);
		ibv_req_notify_cq(qp->rcq, 0);
		qp->armed = true;
	}
}

void rs_dgram_events(struct rsock *rs)
{
	struct rs_dqp *qp;
	struct ibv_cq *cq;
	void *ctx;

	rs->dg->udp_hint = true;
	for (qp = rs->dg->qps; qp; qp = qp->next)
		while (!ibv_get_cq_event(qp->cch, &cq, &ctx)) {
			ibv_ack_cq_events(cq, 1);
			qp->armed = false;
		}
}

/* Polls for RS_SPIN_NS; whether @ready came meanwhile. */
static bool spin(struct rsock *rs, bool (*ready)(const struct rsock *rs))
{
	struct rs_spin budget = { 0 };

	do {
		progress(rs);
		if (ready(rs))
			return true;
	} while (!rs_spin_over(&budget));
	return false;
}

/* Waits until @ready (0) or -1 with errno EAGAIN (@nonblock) or
 * ETIMEDOUT after @sleeps sleeps (-1: no limit).  Called locked. */
static int dg_wait(struct rsock *rs, bool (*ready)(const struct rsock *rs),
		   bool nonblock, int sleeps)
{
	struct pollfd p = { rs->fd, POLLIN, 0 };

	progress(rs);
	if (ready(rs))
		return 0;
	if (nonblock)
		return rs_fail(EAGAIN);
	for (;;) {
		if (spin(rs, ready))
			return 0;
		rs_dgram_arm(rs);
		progress(rs);
		if (ready(rs))
			return 0;
		if (!sleeps--)
			return rs_fail(ETIMEDOUT);
		pthread_mutex_unlock(&rs->lock);
		pthread_mutex_lock(&rs->wait_lock);
		poll(&p, 1, RS_DG_SLEEP_MS);
		pthread_mutex_unlock(&rs->wait_lock);
		pthread_mutex_lock(&rs->lock);
		rs_dgram_events(rs);
	}
}

short rs_dgram_revents(struct rsock *rs, short events)
{
	short r = 0;

	progress(rs);
	if (has_msg(rs))
		r |= events & POLLIN;
	if (slot_free(rs) || !rs->writable)
		r |= events & POLLOUT;
	return r;
}

static ssize_t ud_send(struct rs_dgram *dg, const struct rs_ddest *d,
		       const struct iovec *iov, size_t n, size_t len)
{
	uint16_t slot = dg->sfree[--dg->nfree];
	uint8_t *p = dg->sbuf + (size_t)slot * RS_DG_SLOT;
	uint32_t hl = d->qp->hdr.length;
	struct ibv_sge sge = { .addr = (uintptr_t)p,
			       .length = hl + (uint32_t)len,
			       .lkey = d->qp->smr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = slot,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
		.send_flags =
			sge.length <= d->qp->inline_max ? IBV_SEND_INLINE : 0,
		.wr.ud = { .ah = d->ah,
			   .remote_qpn = d->qpn,
			   .remote_qkey = RSW_DS_QKEY },
	};
	struct ibv_send_wr *bad;
	int err;

	memcpy(p, &d->qp->hdr, hl);
	gather(p + hl, iov, n);
	err = ibv_post_send(d->qp->id->qp, &wr, &bad);
	if (err) {
		dg->sfree[dg->nfree++] = slot;
		return rs_fail(err);
	}
	return (ssize_t)len;
}

ssize_t rs_dgram_send(struct rsock *rs, const struct msghdr *msg, bool nonblock)
{
	struct rs_dgram *dg = rs->dg;
	struct rs_ddest *d = dg->conn;
	struct sockaddr_storage key;
	size_t len = iov_len(msg->msg_iov, msg->msg_iovlen);

	if (!rs->writable)
		return rs_fail(EPIPE);
	if (msg->msg_name && msg->msg_namelen) {
		if (addr_key(msg->msg_name, msg->msg_namelen, &key))
			return -1;
		d = get_dest(rs, &key);
		if (!d)
			return -1;
	}
	if (!d)
		return rs_fail(EDESTADDRREQ);
	if (len > RS_DG_UDP_MAX - RSW_DS_UDP_V6)
		return rs_fail(EMSGSIZE);
	if (d->qp && !d->ah)
		udp_drain(rs); /* perhaps the peer's answer is in */
	if (!d->ah || d->qp->hdr.length + len > d->qp->ud_max)
		return udp_send(dg, d, RSW_DS_DATA, msg->msg_iov,
				msg->msg_iovlen, nonblock);
	if (!slot_free(rs) && dg_wait(rs, slot_free, nonblock, -1))
		return -1;
	return ud_send(dg, d, msg->msg_iov, msg->msg_iovlen, len);
}

ssize_t rs_dgram_recv(struct rsock *rs, struct msghdr *msg, int flags,
		      bool nonblock)
{
	struct rs_dmsg *m = &rs->dg->cur;
	socklen_t alen;
	size_t n;

	if (dg_wait(rs, has_msg, nonblock, -1))
		return -1;
	if (m->kind == RS_DMSG_NONE)
		return 0; /* shut down for reading */
	n = scatter(msg->msg_iov, msg->msg_iovlen, m->data, m->len);
	if (msg->msg_name) {
		alen = addr_len(&m->from);
		memcpy(msg->msg_name, &m->from,
		       msg->msg_namelen < alen ? msg->msg_namelen : alen);
		msg->msg_namelen = alen;
	}
	msg->msg_flags = n < m->len ? MSG_TRUNC : 0;
	if (flags & MSG_TRUNC)
		n = m->len;
	if (!(flags & MSG_PEEK))
		consume(rs->dg);
	return (ssize_t)n;
}

int rs_dgram_bind(struct rsock *rs, const struct sockaddr *addr, socklen_t len)
{
	return bind(rs->dg->udp, addr, len);
}

int rs_dgram_connect(struct rsock *rs, const struct sockaddr *addr,
		     socklen_t len)
{
	struct rs_dgram *dg = rs->dg;
	struct sockaddr_storage key;
	struct rs_ddest *d;

	if (len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
		dg->conn = NULL;
		return connect(dg->udp, addr, len);
	}
	if (addr_key(addr, len, &key) || connect(dg->udp, addr, len))
		return -1;
	d = get_dest(rs, &key);
	if (!d)
		return -1;
	dg->conn = d;
	return 0;
}

static void free_dest(void *node)
{
	struct rs_ddest *d = node;

	if (d->ah)
		ibv_destroy_ah(d->ah);
	free(d);
}

int rs_dgram_shutdown(struct rsock *rs, int how)
{
	bool was_writable = rs->writable;

	if (how == SHUT_RD || how == SHUT_RDWR)
		rs->readable = false;
	if (how == SHUT_WR || how == SHUT_RDWR)
		rs->writable = false;
	if (was_writable && !rs->writable)
		dg_wait(rs, sends_done, false, RS_DG_CLOSE_MS / RS_DG_SLEEP_MS);
	return 0;
}

/* Frees all; rs->fd is closed last. */
void rs_dgram_free(struct rsock *rs)
{
	struct rs_dgram *dg = rs->dg;
	struct rs_dqp *qp;

	consume(dg);
	tdestroy(dg->dests, free_dest);
	while ((qp = dg->qps)) {
		dg->qps = qp->next;
		free_qp(rs, qp);
	}
	close(dg->udp);
	close(rs->fd);
	free(dg->sbuf);
	free(dg->sfree);
	free(dg->ubuf);
	free(dg);
	rs->dg = NULL;
}
