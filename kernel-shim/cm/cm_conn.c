// SPDX-License-Identifier: MIT
/*
 * Connections: objects and their remote-id tables, the MADs they send,
 * the library's requests (connect, accept, reject, establish, notify,
 * disconnect, destroy) and what a timeout does in each state.
 */
#include <errno.h>
#include <infiniband/verbs.h>
#include <netinet/in.h>
#include <rdma/rdma_cma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cm_int.h"

static unsigned int hkey(uint32_t a, uint64_t b)
{
	uint64_t v = (a ^ b ^ (b >> 32)) * 0x9e3779b97f4a7c15ull;

	return (unsigned int)(v >> (64 - CM_HASH_BITS));
}

uint64_t cm_gid_fold(const uint8_t gid[16])
{
	uint64_t a, b;

	memcpy(&a, gid, 8);
	memcpy(&b, gid + 8, 8);
	return a * 31 + b;
}

struct cm_conn *cm_rid_find(struct srxe_cm *cm, uint32_t remote_id,
			    uint64_t guid)
{
	struct cm_conn *c;

	for (c = cm->rid[hkey(remote_id, guid)]; c; c = c->rid_next)
		if (c->remote_id == remote_id && c->remote_guid == guid)
			return c;
	return NULL;
}

struct cm_conn *cm_rqp_find(struct srxe_cm *cm, uint32_t qpn,
			    const uint8_t gid[16])
{
	struct cm_conn *c;

	for (c = cm->rqp[hkey(qpn, cm_gid_fold(gid))]; c; c = c->rqp_next)
		if (c->remote_qpn == qpn && cm_gid_eq(c->peer_gid, gid))
			return c;
	return NULL;
}

void cm_conn_set_remote(struct srxe_cm *cm, struct cm_conn *c)
{
	unsigned int h;

	if (!c->in_rid) {
		h = hkey(c->remote_id, c->remote_guid);
		c->rid_next = cm->rid[h];
		cm->rid[h] = c;
		c->in_rid = true;
	}
	if (!c->in_rqp && c->remote_qpn && !c->sidr) {
		h = hkey(c->remote_qpn, cm_gid_fold(c->peer_gid));
		c->rqp_next = cm->rqp[h];
		cm->rqp[h] = c;
		c->in_rqp = true;
	}
}

void cm_conn_unset_remote(struct srxe_cm *cm, struct cm_conn *c)
{
	struct cm_conn **p;

	if (c->in_rid) {
		p = &cm->rid[hkey(c->remote_id, c->remote_guid)];
		while (*p && *p != c)
			p = &(*p)->rid_next;
		if (*p)
			*p = c->rid_next;
		c->in_rid = false;
	}
	if (c->in_rqp) {
		p = &cm->rqp[hkey(c->remote_qpn, cm_gid_fold(c->peer_gid))];
		while (*p && *p != c)
			p = &(*p)->rqp_next;
		if (*p)
			*p = c->rqp_next;
		c->in_rqp = false;
	}
}

struct cm_conn *cm_conn_new(struct srxe_cm *cm)
{
	struct cm_conn *c;

	if (cm->st.conns >= cm->cfg.max_conns)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->o.kind = CM_OBJ_CONN;
	c->o.id = cm_new_id(cm);
	c->lifetime = SRXE_CM_PACKET_LIFETIME;
	c->hop_limit = 64;
	cm_obj_add(cm, &c->o);
	cm->st.conns++;
	return c;
}

/* A pending passive connection stops counting in its listen's backlog. */
static void unpend(struct srxe_cm *cm, struct cm_conn *c)
{
	struct cm_obj *o;

	if (!c->listen)
		return;
	o = cm_obj_find(cm, c->listen);
	if (o && o->kind == CM_OBJ_LISTEN && ((struct cm_listen *)o)->pending)
		((struct cm_listen *)o)->pending--;
	c->listen = 0;
}

void cm_conn_free(struct srxe_cm *cm, struct cm_conn *c)
{
	unpend(cm, c);
	cm_timer_stop(cm, c);
	cm_conn_unset_remote(cm, c);
	cm_obj_del(cm, &c->o);
	cm->st.conns--;
	free(c);
}

void cm_send_to(struct srxe_cm *cm, const uint8_t gid[16], uint8_t tclass,
		uint8_t hop_limit, const struct srxe_cm_msg *msg)
{
	uint8_t mad[SRXE_MAD_LEN];
	int ret;

	srxe_cm_mad_encode(msg, mad);
	cm->st.mads_out++;
	ret = cm->ops.send_mad(cm->opaque, gid, tclass, hop_limit, mad);
	if (ret)
		cm->st.send_errors++;
}

void cm_send(struct srxe_cm *cm, struct cm_conn *c, const uint8_t *mad)
{
	cm->st.mads_out++;
	if (cm->ops.send_mad(cm->opaque, c->peer_gid, c->traffic_class,
			     c->hop_limit, mad))
		cm->st.send_errors++;
}

void cm_send_msg(struct srxe_cm *cm, struct cm_conn *c,
		 const struct srxe_cm_msg *msg)
{
	srxe_cm_mad_encode(msg, c->mad);
	cm_send(cm, c, c->mad);
}

void cm_conn_emit(struct srxe_cm *cm, struct cm_conn *c,
		  struct srxe_cm_event *ev)
{
	if (c->owner)
		cm_emit(cm, c->chan, ev);
}

/* Whether a CQ marked at the DREQ still holds what it held then. */
static bool still_unpolled(struct srxe_cm *cm, const struct cm_conn *c)
{
	return c->owner && cm->ops.unpolled_since &&
	       cm->ops.unpolled_since(cm->opaque, c->owner, c->marks,
				      c->nmarks);
}

/*
 * The peer got the ACKs of what it sent, then disconnected: its data is in
 * our CQs before its DREQ is here.  A thread that reads the event may
 * still close the endpoint (destroying its QPs, whose unpolled
 * completions go with them) before the application's poller ran; on
 * hardware the poller has a CM round trip's head start, on a loaded host
 * srxe's same-host path gives it none.  So the event waits for the
 * poller, a bounded time (cm.h).
 */
void cm_emit_peer_disconnect(struct srxe_cm *cm, struct cm_conn *c,
			     struct srxe_cm_event *ev)
{
	unsigned int n = 0;

	if (c->owner && cm->ops.unpolled_mark)
		n = cm->ops.unpolled_mark(cm->opaque, c->owner, c->marks,
					  SRXE_CM_HOLD_MARKS);
	if (!n) {
		cm_conn_emit(cm, c, ev);
		return;
	}
	cm->st.disconnects_held++;
	cm_log(cm, SRXE_CM_LOG_DEBUG,
	       "DISCONNECTED of QP 0x%x held: %u CQ(s) with unpolled "
	       "completions",
	       c->local.qp_num & 0xffffff, n);
	c->nmarks = (uint8_t)n;
	c->held = true;
	c->held_ev = *ev;
	c->held_until = cm->ops.now_ms(cm->opaque) + SRXE_CM_HOLD_MAX_MS;
	cm_timer_start(cm, c, SRXE_CM_HOLD_POLL_MS, 0);
}

/* The held event goes out (a closed channel or gone owner drops it). */
static void release_held(struct srxe_cm *cm, struct cm_conn *c)
{
	if (!c->held)
		return;
	cm_log(cm, SRXE_CM_LOG_DEBUG, "DISCONNECTED of QP 0x%x released",
	       c->local.qp_num & 0xffffff);
	c->held = false;
	cm_conn_emit(cm, c, &c->held_ev);
}

static void held_tick(struct srxe_cm *cm, struct cm_conn *c)
{
	if (still_unpolled(cm, c) && cm->ops.now_ms(cm->opaque) < c->held_until)
		cm_timer_start(cm, c, SRXE_CM_HOLD_POLL_MS, 0);
	else
		release_held(cm, c);
}

const char *cm_state_name(enum cm_state s)
{
	static const char *const names[] = {
		[CM_IDLE] = "IDLE",
		[CM_REQ_SENT] = "REQ_SENT",
		[CM_MRA_REQ_RCVD] = "MRA_REQ_RCVD",
		[CM_REP_RCVD] = "REP_RCVD",
		[CM_REQ_RCVD] = "REQ_RCVD",
		[CM_MRA_REQ_SENT] = "MRA_REQ_SENT",
		[CM_REP_SENT] = "REP_SENT",
		[CM_MRA_REP_RCVD] = "MRA_REP_RCVD",
		[CM_ESTABLISHED] = "ESTABLISHED",
		[CM_DREQ_SENT] = "DREQ_SENT",
		[CM_DREQ_RCVD] = "DREQ_RCVD",
		[CM_TIMEWAIT] = "TIMEWAIT",
		[CM_SIDR_REQ_SENT] = "SIDR_REQ_SENT",
		[CM_SIDR_REQ_RCVD] = "SIDR_REQ_RCVD",
		[CM_SIDR_DONE] = "SIDR_DONE",
	};

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) && names[s]
		       ? names[s]
		       : "?";
}

/* Kernel ib_cm's rule for the local ACK timeout of a path. */
uint8_t cm_ack_timeout(uint8_t ca_ack_delay, uint8_t lifetime)
{
	unsigned int t = lifetime + 1u;

	if (t >= ca_ack_delay)
		t += ca_ack_delay >= t - 1;
	else
		t = ca_ack_delay + (t >= ca_ack_delay - 1u);
	return t > 31 ? 31 : (uint8_t)t;
}

void cm_to_idle(struct srxe_cm *cm, struct cm_conn *c)
{
	cm_timer_stop(cm, c);
	cm_conn_unset_remote(cm, c);
	unpend(cm, c);
	c->state = c->sidr ? CM_SIDR_DONE : CM_IDLE;
}

/* TimeWait keeps the remote ids (stale and duplicate REQs are caught)
 * for a packet lifetime after the last message (kernel ib_cm). */
void cm_enter_timewait(struct srxe_cm *cm, struct cm_conn *c)
{
	/* The application disconnects too: it learns of the peer's first. */
	release_held(cm, c);
	unpend(cm, c);
	c->state = CM_TIMEWAIT;
	cm_timer_start(cm, c, (uint32_t)srxe_cm_time_ms(c->lifetime + 1), 0);
}

static void init_msg(struct srxe_cm_msg *m, uint16_t attr, uint64_t tid)
{
	memset(m, 0, sizeof(*m));
	m->hdr.attr_id = attr;
	m->hdr.tid = tid;
}

static size_t cma_hdr_len(uint16_t ps)
{
	return ps == SRXE_CM_PS_IB ? 0 : SRXE_CM_CMA_HDR_LEN;
}

static void addr_to_hdr(const struct srxe_cm_addr *a, uint8_t out[16], bool v4)
{
	memset(out, 0, 16);
	if (v4 && a->family == AF_INET)
		memcpy(out + 12, a->addr, 4);
	else if (v4)
		memcpy(out + 12, a->addr + 12, 4);
	else
		memcpy(out, a->addr, 16);
}

static bool is_v4(const struct srxe_cm_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };

	return a->family == AF_INET ||
	       (a->family == AF_INET6 && !memcmp(a->addr, mapped, 12));
}

/* cma_hdr + the user's bytes into a REQ / SIDR_REQ private data field. */
static void put_private(const struct srxe_cm_connect_req *req, uint8_t *priv)
{
	struct srxe_cma_hdr h = { 0 };
	size_t off = cma_hdr_len(req->port_space);

	if (off) {
		h.ip_version = is_v4(&req->src) ? 4 : 6;
		h.src_port = req->src.port;
		h.dst_port = req->dst.port;
		addr_to_hdr(&req->src, h.src_addr, h.ip_version == 4);
		addr_to_hdr(&req->dst, h.dst_addr, h.ip_version == 4);
		srxe_cma_hdr_encode(&h, priv);
	}
	memcpy(priv + off, req->private_data, req->private_data_len);
}

static unsigned int exp_for_ms(uint32_t ms)
{
	unsigned int t = 0;

	while (t < 31 && srxe_cm_time_ms(t) < ms)
		t++;
	return t;
}

static int check_connect(struct srxe_cm *cm, void *owner,
			 const struct srxe_cm_connect_req *req,
			 const char **why)
{
	struct cm_chan *ch = cm_chan_find(cm, req->chan_handle);
	uint8_t qpt = req->param.qp_type;
	size_t max;

	if (!ch || ch->owner != owner) {
		*why = "no such CM event channel";
		return EINVAL;
	}
	if (req->port_space != SRXE_CM_PS_TCP &&
	    req->port_space != SRXE_CM_PS_UDP &&
	    req->port_space != SRXE_CM_PS_IB &&
	    req->port_space != SRXE_CM_PS_IPOIB) {
		*why = "port space must be TCP, UDP, IB or IPOIB";
		return EINVAL;
	}
	if (qpt != IBV_QPT_RC && qpt != IBV_QPT_UC && qpt != IBV_QPT_UD) {
		*why = "QP type must be RC, UC or UD";
		return EINVAL;
	}
	if ((req->port_space == SRXE_CM_PS_UDP) != (qpt == IBV_QPT_UD) &&
	    req->port_space != SRXE_CM_PS_IB) {
		*why = "port space UDP goes with UD QPs only";
		return EINVAL;
	}
	max = (qpt == IBV_QPT_UD ? SRXE_CM_SIDR_REQ_PRIV : SRXE_CM_REQ_PRIV) -
	      cma_hdr_len(req->port_space);
	if (req->private_data_len > max) {
		*why = "private data too long (TCP 56, UDP 180, IB 92 bytes)";
		return EINVAL;
	}
	if (cma_hdr_len(req->port_space) &&
	    ((req->src.family != AF_INET && req->src.family != AF_INET6) ||
	     (req->dst.family != AF_INET && req->dst.family != AF_INET6))) {
		*why = "source and destination must be IPv4 or IPv6";
		return EINVAL;
	}
	if (req->reserved || req->path.reserved[0] || req->path.reserved[1] ||
	    req->path.reserved[2]) {
		*why = "reserved field must be 0";
		return EINVAL;
	}
	return 0;
}

static void build_req(struct srxe_cm *cm, struct cm_conn *c,
		      const struct srxe_cm_connect_req *req,
		      unsigned int resp_t, struct srxe_cm_msg *m)
{
	struct srxe_cm_req *r = &m->req;
	const struct srxe_cm_conn_param *p = &req->param;

	init_msg(m, SRXE_CM_ATTR_REQ, c->tid);
	m->hdr.attr_mod = p->ece_attr_mod; /* ECE, as kernel cm_format_req */
	r->vendor_id = p->ece_vendor_id & 0xffffff;
	r->local_comm_id = c->o.id;
	r->service_id = c->service_id;
	r->local_ca_guid = cm->cfg.node_guid;
	r->local_qpn = p->qp_num & 0xffffff;
	r->responder_resources = p->responder_resources;
	r->initiator_depth = p->initiator_depth;
	r->remote_cm_response_timeout = resp_t;
	r->transport_service_type = p->qp_type == IBV_QPT_UC ? 1 : 0;
	r->end_to_end_flow_control = p->flow_control & 1;
	r->starting_psn = p->starting_psn & 0xffffff;
	r->local_cm_response_timeout = SRXE_CM_RESPONSE_TIMEOUT;
	r->retry_count = p->retry_count & 7;
	r->partition_key = 0xffff;
	r->path_mtu = p->path_mtu ? p->path_mtu : req->path.mtu;
	r->rnr_retry_count = p->rnr_retry_count & 7;
	r->max_cm_retries = SRXE_CM_MAX_RETRIES;
	r->srq = p->srq & 1;
	r->primary.local_lid = 0xffff;
	r->primary.remote_lid = 0xffff;
	memcpy(r->primary.local_gid, req->path.sgid, 16);
	memcpy(r->primary.remote_gid, req->path.dgid, 16);
	r->primary.flow_label = req->path.flow_label & 0xfffff;
	r->primary.traffic_class = req->path.traffic_class;
	r->primary.hop_limit = c->hop_limit;
	r->primary.subnet_local = c->hop_limit <= 1;
	r->primary.local_ack_timeout =
		p->ack_timeout
			? p->ack_timeout & 31
			: cm_ack_timeout(cm->cfg.ca_ack_delay, c->lifetime);
	put_private(req, r->private_data);
}

static void build_sidr_req(struct cm_conn *c,
			   const struct srxe_cm_connect_req *req,
			   struct srxe_cm_msg *m)
{
	init_msg(m, SRXE_CM_ATTR_SIDR_REQ, c->tid);
	m->sidr_req.request_id = c->o.id;
	m->sidr_req.partition_key = 0xffff;
	m->sidr_req.service_id = c->service_id;
	put_private(req, m->sidr_req.private_data);
}

int srxe_cm_connect(struct srxe_cm *cm, void *owner,
		    const struct srxe_cm_connect_req *req, uint32_t *handle,
		    const char **why)
{
	struct srxe_cm_msg m;
	struct cm_conn *c;
	unsigned int resp_t = SRXE_CM_RESPONSE_TIMEOUT;
	int ret = check_connect(cm, owner, req, why);

	if (ret)
		return ret;
	c = cm_conn_new(cm);
	if (!c) {
		*why = "CM connection limit reached";
		return ENOMEM;
	}
	c->owner = owner;
	c->cookie = req->cookie;
	c->chan = req->chan_handle;
	c->active = true;
	c->ps = req->port_space;
	c->qp_type = req->param.qp_type;
	c->sidr = c->qp_type == IBV_QPT_UD;
	c->local = req->param;
	c->src = req->src;
	c->dst = req->dst;
	c->path = req->path;
	memcpy(c->peer_gid, req->path.dgid, 16);
	memcpy(c->local_gid, req->path.sgid, 16);
	c->traffic_class = req->path.traffic_class;
	if (req->path.hop_limit)
		c->hop_limit = req->path.hop_limit;
	c->flow_label = req->path.flow_label;
	if (req->path.packet_life_time)
		c->lifetime = req->path.packet_life_time & 31;
	c->service_id = srxe_cm_service_id(req->port_space, req->dst.port);
	c->tid = cm_new_tid(cm);
	c->max_retries = SRXE_CM_MAX_RETRIES;
	if (req->timeout_ms) {
		c->timeout_ms = req->timeout_ms;
		resp_t = exp_for_ms(req->timeout_ms);
	} else if (c->sidr) {
		c->timeout_ms = (uint32_t)srxe_cm_time_ms(resp_t);
	} else {
		c->timeout_ms = (uint32_t)(2 * srxe_cm_time_ms(c->lifetime) +
					   srxe_cm_time_ms(resp_t));
	}
	if (c->sidr) {
		build_sidr_req(c, req, &m);
		c->state = CM_SIDR_REQ_SENT;
	} else {
		build_req(cm, c, req, resp_t, &m);
		c->state = CM_REQ_SENT;
	}
	cm_send_msg(cm, c, &m);
	cm_timer_start(cm, c, c->timeout_ms, c->max_retries);
	*handle = c->o.id;
	return 0;
}

static bool pending_passive(const struct cm_conn *c)
{
	return c->state == CM_REQ_RCVD || c->state == CM_MRA_REQ_SENT;
}

int srxe_cm_accept(struct srxe_cm *cm, void *owner,
		   const struct srxe_cm_accept_req *req, const char **why)
{
	struct cm_conn *c = cm_conn_of(cm, owner, req->conn_handle);
	const struct srxe_cm_conn_param *p = &req->param;
	struct srxe_cm_msg m;

	if (!c) {
		*why = "no such CM connection";
		return EINVAL;
	}
	if (c->state == CM_SIDR_REQ_RCVD) {
		if (req->private_data_len > SRXE_CM_SIDR_REP_PRIV) {
			*why = "private data too long (SIDR_REP: 136 bytes)";
			return EINVAL;
		}
		init_msg(&m, SRXE_CM_ATTR_SIDR_REP, c->tid);
		m.hdr.attr_mod = p->ece_attr_mod;
		m.sidr_rep.vendor_id = p->ece_vendor_id & 0xffffff;
		m.sidr_rep.request_id = c->remote_id;
		m.sidr_rep.status = 0;
		m.sidr_rep.qpn = p->qp_num & 0xffffff;
		m.sidr_rep.service_id = c->service_id;
		m.sidr_rep.qkey = p->qkey;
		memcpy(m.sidr_rep.private_data, req->private_data,
		       req->private_data_len);
		c->cookie = req->cookie;
		c->local = *p;
		cm_send_msg(cm, c, &m);
		cm_to_idle(cm, c);
		return 0;
	}
	if (!pending_passive(c)) {
		*why = "connection is not waiting for an accept";
		return EINVAL;
	}
	if (req->private_data_len > SRXE_CM_REP_PRIV) {
		*why = "private data too long (REP: 196 bytes)";
		return EINVAL;
	}
	if (req->reserved) {
		*why = "reserved field must be 0";
		return EINVAL;
	}
	init_msg(&m, SRXE_CM_ATTR_REP, c->tid);
	m.hdr.attr_mod = p->ece_attr_mod; /* ECE, as kernel cm_format_rep */
	m.rep.vendor_id = p->ece_vendor_id & 0xffffff;
	m.rep.local_comm_id = c->o.id;
	m.rep.remote_comm_id = c->remote_id;
	m.rep.local_qkey = c->qp_type == IBV_QPT_UD ? p->qkey : 0;
	m.rep.local_qpn = p->qp_num & 0xffffff;
	m.rep.starting_psn = p->starting_psn & 0xffffff;
	m.rep.responder_resources = p->responder_resources;
	m.rep.initiator_depth = p->initiator_depth;
	m.rep.target_ack_delay = cm->cfg.ca_ack_delay & 31;
	m.rep.end_to_end_flow_control = p->flow_control & 1;
	m.rep.rnr_retry_count = p->rnr_retry_count & 7;
	m.rep.srq = p->srq & 1;
	m.rep.local_ca_guid = cm->cfg.node_guid;
	memcpy(m.rep.private_data, req->private_data, req->private_data_len);
	c->cookie = req->cookie;
	c->local = *p;
	unpend(cm, c);
	c->state = CM_REP_SENT;
	cm_send_msg(cm, c, &m);
	cm_timer_start(cm, c, c->timeout_ms, c->max_retries);
	return 0;
}

static void send_rej(struct srxe_cm *cm, struct cm_conn *c, uint8_t msg_rej,
		     uint16_t reason, const uint8_t *priv, size_t len)
{
	struct srxe_cm_msg m;

	init_msg(&m, SRXE_CM_ATTR_REJ, c->tid);
	m.rej.local_comm_id = c->o.id;
	m.rej.remote_comm_id = c->remote_id;
	m.rej.message_rejected = msg_rej;
	m.rej.reason = reason;
	if (reason == CM_REJ_TIMEOUT) { /* ARI: our CA GUID (IBA 12.6.7.2) */
		uint64_t g = cm->cfg.node_guid;
		int i;

		for (i = 0; i < 8; i++)
			m.rej.ari[i] = (uint8_t)(g >> (56 - 8 * i));
		m.rej.ari_length = 8;
	}
	if (len)
		memcpy(m.rej.private_data, priv, len);
	cm_send_msg(cm, c, &m);
}

int srxe_cm_reject(struct srxe_cm *cm, void *owner,
		   const struct srxe_cm_reject_req *req, const char **why)
{
	struct cm_conn *c = cm_conn_of(cm, owner, req->conn_handle);
	struct srxe_cm_msg m;

	if (!c) {
		*why = "no such CM connection";
		return EINVAL;
	}
	if (c->state == CM_SIDR_REQ_RCVD) {
		if (req->private_data_len > SRXE_CM_SIDR_REP_PRIV) {
			*why = "private data too long (SIDR_REP: 136 bytes)";
			return EINVAL;
		}
		init_msg(&m, SRXE_CM_ATTR_SIDR_REP, c->tid);
		m.sidr_rep.request_id = c->remote_id;
		m.sidr_rep.status = 2; /* IB_SIDR_REJECT, as rdma_reject */
		m.sidr_rep.service_id = c->service_id;
		memcpy(m.sidr_rep.private_data, req->private_data,
		       req->private_data_len);
		cm_send_msg(cm, c, &m);
		cm_to_idle(cm, c);
		return 0;
	}
	if (req->private_data_len > SRXE_CM_REJ_PRIV) {
		*why = "private data too long (REJ: 148 bytes)";
		return EINVAL;
	}
	if (pending_passive(c)) {
		send_rej(cm, c, 0, req->reason, req->private_data,
			 req->private_data_len);
		cm_to_idle(cm, c);
		return 0;
	}
	if (c->state == CM_REP_RCVD) {
		send_rej(cm, c, 1, req->reason, req->private_data,
			 req->private_data_len);
		cm_enter_timewait(cm, c);
		return 0;
	}
	*why = "connection is not waiting for an answer";
	return EINVAL;
}

int srxe_cm_establish(struct srxe_cm *cm, void *owner, uint32_t handle,
		      const char **why)
{
	struct cm_conn *c = cm_conn_of(cm, owner, handle);
	struct srxe_cm_msg m;

	if (!c) {
		*why = "no such CM connection";
		return EINVAL;
	}
	if (c->state != CM_REP_RCVD) {
		*why = "no REP to answer with RTU";
		return EINVAL;
	}
	init_msg(&m, SRXE_CM_ATTR_RTU, c->tid);
	m.rtu.local_comm_id = c->o.id;
	m.rtu.remote_comm_id = c->remote_id;
	cm_send_msg(cm, c, &m); /* kept in c->mad: a duplicate REP gets it */
	c->state = CM_ESTABLISHED;
	return 0;
}

int srxe_cm_notify(struct srxe_cm *cm, void *owner, uint32_t handle,
		   const char **why)
{
	struct cm_conn *c = cm_conn_of(cm, owner, handle);
	struct srxe_cm_event ev;

	if (!c) {
		*why = "no such CM connection";
		return EINVAL;
	}
	if (c->state == CM_REP_SENT || c->state == CM_MRA_REP_RCVD) {
		cm_timer_stop(cm, c);
		c->state = CM_ESTABLISHED;
		cm_event_init(c, RDMA_CM_EVENT_ESTABLISHED, 0, &ev);
		cm_conn_emit(cm, c, &ev);
	}
	return 0;
}

void cm_send_dreq(struct srxe_cm *cm, struct cm_conn *c)
{
	struct srxe_cm_msg m;

	c->dreq_tid = cm_new_tid(cm);
	init_msg(&m, SRXE_CM_ATTR_DREQ, c->dreq_tid);
	m.dreq.local_comm_id = c->o.id;
	m.dreq.remote_comm_id = c->remote_id;
	m.dreq.remote_qpn = c->remote_qpn;
	cm_send_msg(cm, c, &m);
}

static void send_drep(struct srxe_cm *cm, struct cm_conn *c)
{
	struct srxe_cm_msg m;

	init_msg(&m, SRXE_CM_ATTR_DREP, c->dreq_tid);
	m.drep.local_comm_id = c->o.id;
	m.drep.remote_comm_id = c->remote_id;
	cm_send_msg(cm, c, &m);
}

/* rdma_disconnect: DREQ, or DREP to the peer's DREQ; otherwise nothing
 * to do (kernel rdma_disconnect succeeds there too). */
int srxe_cm_disconnect(struct srxe_cm *cm, void *owner, uint32_t handle,
		       const char **why)
{
	struct cm_conn *c = cm_conn_of(cm, owner, handle);

	if (!c) {
		*why = "no such CM connection";
		return EINVAL;
	}
	if (c->state == CM_ESTABLISHED) {
		cm_send_dreq(cm, c);
		c->state = CM_DREQ_SENT;
		cm_timer_start(cm, c, c->timeout_ms, c->max_retries);
	} else if (c->state == CM_DREQ_RCVD) {
		send_drep(cm, c);
		cm_enter_timewait(cm, c);
	}
	return 0;
}

/*
 * The library destroyed the id, or its client is gone: tell the peer as
 * kernel ib_cm's cm_destroy_id() does, then free the object, or leave it
 * to TimeWait without an owner.
 */
void cm_conn_release(struct srxe_cm *cm, struct cm_conn *c)
{
	struct srxe_cm_msg m;

	switch (c->state) {
	case CM_REQ_SENT:
	case CM_MRA_REQ_RCVD:
		send_rej(cm, c, 2, CM_REJ_TIMEOUT, NULL, 0);
		break;
	case CM_REQ_RCVD:
	case CM_MRA_REQ_SENT:
		send_rej(cm, c, 0, CM_REJ_CONSUMER, NULL, 0);
		break;
	case CM_REP_SENT:
	case CM_MRA_REP_RCVD:
		send_rej(cm, c, 1, CM_REJ_CONSUMER, NULL, 0);
		break;
	case CM_REP_RCVD:
		send_rej(cm, c, 1, CM_REJ_CONSUMER, NULL, 0);
		c->owner = NULL;
		cm_enter_timewait(cm, c);
		return;
	case CM_ESTABLISHED:
		cm_send_dreq(cm, c);
		c->owner = NULL;
		cm_enter_timewait(cm, c);
		return;
	case CM_DREQ_RCVD:
		send_drep(cm, c);
		c->owner = NULL;
		cm_enter_timewait(cm, c);
		return;
	case CM_DREQ_SENT:
		c->owner = NULL;
		cm_enter_timewait(cm, c);
		return;
	case CM_TIMEWAIT:
		c->owner = NULL;
		unpend(cm, c);
		return;
	case CM_SIDR_REQ_RCVD:
		init_msg(&m, SRXE_CM_ATTR_SIDR_REP, c->tid);
		m.sidr_rep.request_id = c->remote_id;
		m.sidr_rep.status = 2;
		m.sidr_rep.service_id = c->service_id;
		cm_send_msg(cm, c, &m);
		break;
	case CM_IDLE:
	case CM_SIDR_REQ_SENT:
	case CM_SIDR_DONE:
		break;
	}
	cm_conn_free(cm, c);
}

void cm_conns_owner_gone(struct srxe_cm *cm, void *owner)
{
	struct cm_obj *o, *next;
	unsigned int i;

	for (i = 0; i < CM_HASH_SIZE; i++) {
		for (o = cm->objs[i]; o; o = next) {
			next = o->hnext;
			if (o->kind == CM_OBJ_CONN &&
			    ((struct cm_conn *)o)->owner == owner)
				cm_conn_release(cm, (struct cm_conn *)o);
		}
	}
}

void cm_conn_timeout(struct srxe_cm *cm, struct cm_conn *c)
{
	struct srxe_cm_event ev;

	switch (c->state) {
	case CM_REQ_SENT:
	case CM_MRA_REQ_RCVD:
	case CM_REP_SENT:
	case CM_MRA_REP_RCVD:
	case CM_DREQ_SENT:
	case CM_SIDR_REQ_SENT:
		cm_log(cm, SRXE_CM_LOG_INFO,
		       "QP 0x%x: no answer from QPN 0x%x in %u ms (%s, %u "
		       "retries left)",
		       c->local.qp_num & 0xffffff, c->remote_qpn, c->timeout_ms,
		       cm_state_name(c->state), c->retries_left);
		if (c->retries_left) {
			cm->st.retries++;
			cm_send(cm, c, c->mad);
			cm_timer_start(cm, c, c->timeout_ms,
				       c->retries_left - 1);
			/* an MRA's wait is over: back to plain retries */
			if (c->state == CM_MRA_REQ_RCVD)
				c->state = CM_REQ_SENT;
			else if (c->state == CM_MRA_REP_RCVD)
				c->state = CM_REP_SENT;
			return;
		}
		cm->st.timeouts++;
		if (c->state == CM_DREQ_SENT) {
			cm_enter_timewait(cm, c);
			cm_event_init(c, RDMA_CM_EVENT_DISCONNECTED, -ETIMEDOUT,
				      &ev);
		} else {
			cm_to_idle(cm, c);
			cm_event_init(c, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT,
				      &ev);
		}
		cm_conn_emit(cm, c, &ev);
		return;
	case CM_DREQ_RCVD:
		held_tick(cm, c);
		return;
	case CM_TIMEWAIT:
		if (!c->owner) {
			cm_conn_free(cm, c);
			return;
		}
		cm_to_idle(cm, c);
		cm_event_init(c, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0, &ev);
		cm_conn_emit(cm, c, &ev);
		return;
	default:
		return;
	}
}
