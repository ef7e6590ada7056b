// SPDX-License-Identifier: MIT
/*
 * Received CM MADs: srxe_cm_input() decodes (the codec validates every
 * field) and runs one handler per attribute.  A MAD that names a
 * connection we do not have, or comes from a peer that does not own it,
 * is counted and dropped unless IBA asks for an answer.
 */
#include <errno.h>
#include <infiniband/verbs.h>
#include <netinet/in.h>
#include <rdma/rdma_cma.h>
#include <string.h>
#include <sys/socket.h>

#include "cm_int.h"

static void answer_init(struct srxe_cm_msg *m, uint16_t attr,
			const struct srxe_cm_msg *in)
{
	memset(m, 0, sizeof(*m));
	m->hdr.attr_id = attr;
	m->hdr.tid = in->hdr.tid;
}

static void answer(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		   const struct srxe_cm_msg *m)
{
	cm_send_to(cm, rx->sgid, rx->traffic_class, 64, m);
}

/* REJ to a REQ that has (or gets) no connection here. */
static void issue_rej(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		      const struct srxe_cm_msg *in, uint16_t reason)
{
	struct srxe_cm_msg m;

	answer_init(&m, SRXE_CM_ATTR_REJ, in);
	m.rej.remote_comm_id = in->req.local_comm_id;
	m.rej.message_rejected = 0;
	m.rej.reason = reason;
	answer(cm, rx, &m);
	cm_log(cm, SRXE_CM_LOG_INFO, "REQ of QPN 0x%x rejected: reason %u",
	       in->req.local_qpn, reason);
}

static void issue_sidr_rep(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
			   const struct srxe_cm_msg *in, uint8_t status)
{
	struct srxe_cm_msg m;

	answer_init(&m, SRXE_CM_ATTR_SIDR_REP, in);
	m.sidr_rep.request_id = in->sidr_req.request_id;
	m.sidr_rep.status = status;
	m.sidr_rep.service_id = in->sidr_req.service_id;
	answer(cm, rx, &m);
}

static bool from_peer(const struct cm_conn *c, const struct srxe_cm_rx *rx)
{
	return cm_gid_eq(c->peer_gid, rx->sgid);
}

/* The service id of an rdma_cm port space: (ps << 16) | port. */
static bool split_service_id(uint64_t sid, uint16_t *ps, uint16_t *port)
{
	*ps = (uint16_t)(sid >> 16);
	*port = (uint16_t)sid;
	return (sid >> 32) == 0;
}

/* The cma_hdr carries the source port only: ours is the service's. */
static void hdr_to_addrs(const struct srxe_cma_hdr *h, uint64_t sid,
			 struct cm_conn *c)
{
	if (h->ip_version == 4) {
		c->src.family = c->dst.family = AF_INET;
		memcpy(c->src.addr, h->dst_addr + 12, 4);
		memcpy(c->dst.addr, h->src_addr + 12, 4);
	} else {
		c->src.family = c->dst.family = AF_INET6;
		memcpy(c->src.addr, h->dst_addr, 16);
		memcpy(c->dst.addr, h->src_addr, 16);
	}
	c->src.port = (uint16_t)sid;
	c->dst.port = h->src_port;
}

static void path_from_rx(struct cm_conn *c, const struct srxe_cm_rx *rx)
{
	memcpy(c->peer_gid, rx->sgid, 16);
	memcpy(c->local_gid, rx->dgid, 16);
	/* Answers go with a fresh hop limit (64, as kernel rdma_cm's RoCE
	 * paths), not what is left of the peer's. */
	c->traffic_class = rx->traffic_class;
	c->flow_label = rx->flow_label;
	memcpy(c->path.sgid, rx->dgid, 16);
	memcpy(c->path.dgid, rx->sgid, 16);
	c->path.flow_label = rx->flow_label;
	c->path.hop_limit = c->hop_limit;
	c->path.traffic_class = rx->traffic_class;
}

/* A duplicate REQ (same peer comm id and CA GUID): IBA 12.9.6. */
static void dup_req(struct srxe_cm *cm, struct cm_conn *c,
		    const struct srxe_cm_rx *rx, const struct srxe_cm_msg *in)
{
	struct srxe_cm_msg m;

	switch (c->state) {
	case CM_REQ_RCVD:
		/* The library is still deciding: ask for time, once. */
		answer_init(&m, SRXE_CM_ATTR_MRA, in);
		m.mra.local_comm_id = c->o.id;
		m.mra.remote_comm_id = c->remote_id;
		m.mra.message_mraed = 0;
		m.mra.service_timeout = SRXE_CM_RESPONSE_TIMEOUT;
		cm_send_msg(cm, c, &m);
		c->state = CM_MRA_REQ_SENT;
		break;
	case CM_MRA_REQ_SENT:
	case CM_REP_SENT:
	case CM_MRA_REP_RCVD:
		cm_send(cm, c, c->mad); /* the MRA or REP again */
		break;
	case CM_TIMEWAIT:
		issue_rej(cm, rx, in, CM_REJ_STALE_CONN);
		break;
	default:
		break;
	}
}

static struct cm_listen *
req_listen(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
	   const struct srxe_cm_msg *in, uint64_t sid, const uint8_t *priv,
	   size_t priv_len, struct srxe_cma_hdr *h, bool *has_hdr, bool sidr)
{
	struct cm_listen *l;
	uint16_t ps, port;
	bool listened;

	*has_hdr = false;
	if (!split_service_id(sid, &ps, &port)) {
		listened = false;
		l = NULL;
	} else {
		*has_hdr = ps != SRXE_CM_PS_IB &&
			   !srxe_cma_hdr_decode(priv, priv_len, h);
		l = cm_listen_match(cm, ps, port, *has_hdr ? h : NULL,
				    &listened);
		if (l && ps != SRXE_CM_PS_IB && !*has_hdr)
			l = NULL;
	}
	if (l)
		return l;
	cm_log(cm, SRXE_CM_LOG_DEBUG, "%s for service 0x%llx: %s",
	       sidr ? "SIDR_REQ" : "REQ", (unsigned long long)sid,
	       listened ? "no listen for that address" : "no listener");
	if (sidr)
		issue_sidr_rep(cm, rx, in, listened ? 2 : 1);
	else
		issue_rej(cm, rx, in,
			  listened ? CM_REJ_CONSUMER
				   : CM_REJ_INVALID_SERVICE_ID);
	return NULL;
}

static struct cm_conn *new_passive(struct srxe_cm *cm, struct cm_listen *l)
{
	struct cm_conn *c;

	if (l->pending >= l->backlog)
		c = NULL;
	else
		c = cm_conn_new(cm);
	if (!c) {
		/* As ucma with a full backlog: no answer, the peer's
		 * retry may find room. */
		cm->st.reqs_dropped++;
		return NULL;
	}
	c->owner = l->owner;
	c->chan = l->chan;
	c->listen = l->o.id;
	c->ps = l->ps;
	l->pending++;
	return c;
}

static void deliver_request(struct srxe_cm *cm, struct cm_conn *c,
			    struct cm_listen *l, const uint8_t *priv,
			    size_t len)
{
	struct srxe_cm_event ev;

	cm_event_init(c, RDMA_CM_EVENT_CONNECT_REQUEST, 0, &ev);
	ev.cookie = l->cookie;
	ev.private_data_len = (uint16_t)len;
	memcpy(ev.private_data, priv, len);
	if (!cm_emit(cm, c->chan, &ev)) {
		/* The channel is full or dead: as if never received. */
		cm->st.reqs_dropped++;
		cm_conn_free(cm, c);
	}
}

static void recv_req(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		     const struct srxe_cm_msg *in)
{
	const struct srxe_cm_req *r = &in->req;
	struct srxe_cma_hdr h;
	struct cm_listen *l;
	struct cm_conn *c, *old;
	bool has_hdr;
	size_t off;

	c = cm_rid_find(cm, r->local_comm_id, r->local_ca_guid);
	if (c) {
		if (from_peer(c, rx))
			dup_req(cm, c, rx, in);
		return;
	}
	old = r->local_qpn ? cm_rqp_find(cm, r->local_qpn, rx->sgid) : NULL;
	if (old) {
		/* The peer reuses a QP we still think connected. */
		cm_log(cm, SRXE_CM_LOG_INFO,
		       "REQ from QPN 0x%x of a live connection: stale",
		       r->local_qpn);
		issue_rej(cm, rx, in, CM_REJ_STALE_CONN);
		if (old->state == CM_ESTABLISHED) {
			cm_send_dreq(cm, old);
			old->state = CM_DREQ_SENT;
			cm_timer_start(cm, old, old->timeout_ms,
				       old->max_retries);
		}
		return;
	}
	l = req_listen(cm, rx, in, r->service_id, r->private_data,
		       SRXE_CM_REQ_PRIV, &h, &has_hdr, false);
	if (!l)
		return;
	if (r->transport_service_type > 1) {
		issue_rej(cm, rx, in, CM_REJ_CONSUMER); /* XRC */
		return;
	}
	c = new_passive(cm, l);
	if (!c)
		return;
	c->state = CM_REQ_RCVD;
	c->qp_type = r->transport_service_type ? IBV_QPT_UC : IBV_QPT_RC;
	c->tid = in->hdr.tid;
	c->service_id = r->service_id;
	c->remote_id = r->local_comm_id;
	c->remote_guid = r->local_ca_guid;
	c->remote_qpn = r->local_qpn;
	path_from_rx(c, rx);
	c->path.mtu = r->path_mtu;
	c->max_retries = r->max_cm_retries;
	c->timeout_ms =
		(uint32_t)(2 * srxe_cm_time_ms(c->lifetime) +
			   srxe_cm_time_ms(r->local_cm_response_timeout));
	c->remote = (struct srxe_cm_conn_param){
		.qp_num = r->local_qpn,
		.starting_psn = r->starting_psn,
		.qkey = r->local_qkey,
		.qp_type = c->qp_type,
		.responder_resources = r->responder_resources,
		.initiator_depth = r->initiator_depth,
		.flow_control = r->end_to_end_flow_control,
		.retry_count = r->retry_count,
		.rnr_retry_count = r->rnr_retry_count,
		.srq = r->srq,
		.ack_timeout = r->primary.local_ack_timeout,
		.path_mtu = r->path_mtu,
		.ece_vendor_id = r->vendor_id,
		.ece_attr_mod = in->hdr.attr_mod,
	};
	if (has_hdr)
		hdr_to_addrs(&h, c->service_id, c);
	else
		c->src.port = (uint16_t)r->service_id;
	cm_conn_set_remote(cm, c);
	off = l->ps == SRXE_CM_PS_IB ? 0 : SRXE_CM_CMA_HDR_LEN;
	deliver_request(cm, c, l, r->private_data + off,
			SRXE_CM_REQ_PRIV - off);
}

static void recv_sidr_req(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
			  const struct srxe_cm_msg *in)
{
	const struct srxe_cm_sidr_req *r = &in->sidr_req;
	uint64_t g = cm_gid_fold(rx->sgid);
	struct srxe_cma_hdr h;
	struct cm_listen *l;
	struct cm_conn *c;
	bool has_hdr;
	size_t off;

	if (cm_rid_find(cm, r->request_id, g))
		return; /* a retry of one the library is deciding on */
	l = req_listen(cm, rx, in, r->service_id, r->private_data,
		       SRXE_CM_SIDR_REQ_PRIV, &h, &has_hdr, true);
	if (!l)
		return;
	c = new_passive(cm, l);
	if (!c)
		return;
	c->sidr = true;
	c->state = CM_SIDR_REQ_RCVD;
	c->qp_type = IBV_QPT_UD;
	c->tid = in->hdr.tid;
	c->service_id = r->service_id;
	c->remote_id = r->request_id;
	c->remote_guid = g;
	c->remote.qp_type = IBV_QPT_UD;
	path_from_rx(c, rx);
	if (has_hdr)
		hdr_to_addrs(&h, c->service_id, c);
	cm_conn_set_remote(cm, c);
	off = l->ps == SRXE_CM_PS_IB ? 0 : SRXE_CM_CMA_HDR_LEN;
	deliver_request(cm, c, l, r->private_data + off,
			SRXE_CM_SIDR_REQ_PRIV - off);
}

/* Our connection a MAD names by our comm id, from the right peer. */
static struct cm_conn *ours(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
			    uint32_t our_id, uint32_t their_id)
{
	struct cm_conn *c = cm_conn_find(cm, our_id);

	if (!c || !from_peer(c, rx))
		return NULL;
	if (c->in_rid && c->remote_id != their_id)
		return NULL;
	return c;
}

static void recv_mra(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		     const struct srxe_cm_msg *in)
{
	const struct srxe_cm_mra *r = &in->mra;
	struct cm_conn *c = ours(cm, rx, r->remote_comm_id, r->local_comm_id);
	uint32_t ms;

	if (!c) {
		cm->st.mads_unmatched++;
		return;
	}
	ms = (uint32_t)(srxe_cm_time_ms(r->service_timeout) +
			2 * srxe_cm_time_ms(c->lifetime));
	if (r->message_mraed == 0 &&
	    (c->state == CM_REQ_SENT || c->state == CM_MRA_REQ_RCVD)) {
		c->state = CM_MRA_REQ_RCVD;
		cm_timer_start(cm, c, ms, c->retries_left);
	} else if (r->message_mraed == 1 &&
		   (c->state == CM_REP_SENT || c->state == CM_MRA_REP_RCVD)) {
		c->state = CM_MRA_REP_RCVD;
		cm_timer_start(cm, c, ms, c->retries_left);
	}
}

static struct cm_conn *rej_target(struct srxe_cm *cm,
				  const struct srxe_cm_rx *rx,
				  const struct srxe_cm_rej *r)
{
	uint64_t guid = 0;
	struct cm_conn *c;
	int i;

	if (r->remote_comm_id)
		return ours(cm, rx, r->remote_comm_id, r->local_comm_id);
	/* A timeout REJ from an active side names itself and its GUID. */
	if (r->reason != CM_REJ_TIMEOUT || r->ari_length < 8)
		return NULL;
	for (i = 0; i < 8; i++)
		guid = guid << 8 | r->ari[i];
	c = cm_rid_find(cm, r->local_comm_id, guid);
	return c && from_peer(c, rx) ? c : NULL;
}

static void recv_rej(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		     const struct srxe_cm_msg *in)
{
	const struct srxe_cm_rej *r = &in->rej;
	struct cm_conn *c = rej_target(cm, rx, r);
	struct srxe_cm_event ev;

	if (!c) {
		cm->st.mads_unmatched++;
		return;
	}
	cm_log(cm, SRXE_CM_LOG_INFO,
	       "QP 0x%x: REJ reason %u from QPN 0x%x (%s)",
	       c->local.qp_num & 0xffffff, r->reason, c->remote_qpn,
	       cm_state_name(c->state));
	switch (c->state) {
	case CM_REQ_SENT:
	case CM_MRA_REQ_RCVD:
	case CM_REP_SENT:
	case CM_MRA_REP_RCVD:
	case CM_REQ_RCVD:
	case CM_MRA_REQ_SENT:
		if (r->reason == CM_REJ_STALE_CONN) {
			cm_timer_stop(cm, c);
			cm_enter_timewait(cm, c);
		} else {
			cm_to_idle(cm, c);
		}
		break;
	case CM_REP_RCVD:
	case CM_ESTABLISHED:
	case CM_DREQ_SENT:
		cm_timer_stop(cm, c);
		cm_enter_timewait(cm, c);
		break;
	default:
		cm->st.mads_unmatched++;
		return;
	}
	cm_event_init(c, RDMA_CM_EVENT_REJECTED, r->reason, &ev);
	ev.ari_len = r->ari_length > SRXE_CM_REJ_ARI ? SRXE_CM_REJ_ARI
						     : r->ari_length;
	memcpy(ev.ari, r->ari, ev.ari_len);
	ev.private_data_len = SRXE_CM_REJ_PRIV;
	memcpy(ev.private_data, r->private_data, SRXE_CM_REJ_PRIV);
	cm_conn_emit(cm, c, &ev);
}

static void recv_rep(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		     const struct srxe_cm_msg *in)
{
	const struct srxe_cm_rep *r = &in->rep;
	struct cm_conn *c = cm_conn_find(cm, r->remote_comm_id);
	struct srxe_cm_event ev;

	if (!c || !c->active || !from_peer(c, rx)) {
		cm->st.mads_unmatched++;
		return;
	}
	if (c->state == CM_ESTABLISHED && c->remote_id == r->local_comm_id) {
		cm_send(cm, c, c->mad); /* our RTU was lost */
		return;
	}
	if (c->state != CM_REQ_SENT && c->state != CM_MRA_REQ_RCVD)
		return;
	cm_timer_stop(cm, c);
	c->remote_id = r->local_comm_id;
	c->remote_guid = r->local_ca_guid;
	c->remote_qpn = r->local_qpn;
	c->remote = (struct srxe_cm_conn_param){
		.qp_num = r->local_qpn,
		.starting_psn = r->starting_psn,
		.qkey = r->local_qkey,
		.qp_type = c->qp_type,
		.responder_resources = r->responder_resources,
		.initiator_depth = r->initiator_depth,
		.flow_control = r->end_to_end_flow_control,
		.rnr_retry_count = r->rnr_retry_count,
		.srq = r->srq,
		.ack_timeout = c->local.ack_timeout
				       ? c->local.ack_timeout
				       : cm_ack_timeout(r->target_ack_delay,
							c->lifetime),
		.path_mtu = c->local.path_mtu ? c->local.path_mtu : c->path.mtu,
		.ece_vendor_id = r->vendor_id,
		.ece_attr_mod = in->hdr.attr_mod,
	};
	cm_conn_set_remote(cm, c);
	c->state = CM_REP_RCVD;
	cm_event_init(c, RDMA_CM_EVENT_CONNECT_RESPONSE, 0, &ev);
	ev.private_data_len = SRXE_CM_REP_PRIV;
	memcpy(ev.private_data, r->private_data, SRXE_CM_REP_PRIV);
	cm_conn_emit(cm, c, &ev);
}

static void recv_rtu(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		     const struct srxe_cm_msg *in)
{
	const struct srxe_cm_rtu *r = &in->rtu;
	struct cm_conn *c = ours(cm, rx, r->remote_comm_id, r->local_comm_id);
	struct srxe_cm_event ev;

	if (!c) {
		cm->st.mads_unmatched++;
		return;
	}
	if (c->state != CM_REP_SENT && c->state != CM_MRA_REP_RCVD)
		return;
	cm_timer_stop(cm, c);
	c->state = CM_ESTABLISHED;
	cm_event_init(c, RDMA_CM_EVENT_ESTABLISHED, 0, &ev);
	cm_conn_emit(cm, c, &ev);
}

static void recv_dreq(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		      const struct srxe_cm_msg *in)
{
	const struct srxe_cm_dreq *r = &in->dreq;
	struct cm_conn *c = ours(cm, rx, r->remote_comm_id, r->local_comm_id);
	struct srxe_cm_event ev;
	struct srxe_cm_msg m;

	if (c && c->local.qp_num &&
	    r->remote_qpn != (c->local.qp_num & 0xffffff))
		c = NULL;
	if (!c || c->state == CM_DREQ_SENT || c->state == CM_TIMEWAIT) {
		/* Unknown (kernel ib_cm answers those too), our own DREQ
		 * crossed it, or its DREP was lost: DREP at once. */
		answer_init(&m, SRXE_CM_ATTR_DREP, in);
		m.drep.local_comm_id = r->remote_comm_id;
		m.drep.remote_comm_id = r->local_comm_id;
		answer(cm, rx, &m);
		if (!c) {
			cm->st.mads_unmatched++;
			return;
		}
		if (c->state == CM_DREQ_SENT) {
			cm_timer_stop(cm, c);
			cm_enter_timewait(cm, c);
			cm_event_init(c, RDMA_CM_EVENT_DISCONNECTED, 0, &ev);
			cm_conn_emit(cm, c, &ev);
		}
		return;
	}
	if (c->state != CM_ESTABLISHED && c->state != CM_REP_SENT &&
	    c->state != CM_MRA_REP_RCVD)
		return;
	cm_timer_stop(cm, c);
	c->dreq_tid = in->hdr.tid;
	c->state = CM_DREQ_RCVD;
	cm_event_init(c, RDMA_CM_EVENT_DISCONNECTED, 0, &ev);
	cm_emit_peer_disconnect(cm, c, &ev);
}

static void recv_drep(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
		      const struct srxe_cm_msg *in)
{
	const struct srxe_cm_drep *r = &in->drep;
	struct cm_conn *c = ours(cm, rx, r->remote_comm_id, r->local_comm_id);
	struct srxe_cm_event ev;

	if (!c || c->state != CM_DREQ_SENT) {
		cm->st.mads_unmatched += !c;
		return;
	}
	cm_timer_stop(cm, c);
	cm_enter_timewait(cm, c);
	cm_event_init(c, RDMA_CM_EVENT_DISCONNECTED, 0, &ev);
	cm_conn_emit(cm, c, &ev);
}

static void recv_sidr_rep(struct srxe_cm *cm, const struct srxe_cm_rx *rx,
			  const struct srxe_cm_msg *in)
{
	const struct srxe_cm_sidr_rep *r = &in->sidr_rep;
	struct cm_conn *c = cm_conn_find(cm, r->request_id);
	struct srxe_cm_event ev;

	if (!c || !from_peer(c, rx) || c->state != CM_SIDR_REQ_SENT) {
		cm->st.mads_unmatched++;
		return;
	}
	cm_to_idle(cm, c);
	if (r->status) {
		/* cma_sidr_rep_handler: UNREACHABLE with the SIDR status */
		cm_event_init(c, RDMA_CM_EVENT_UNREACHABLE, r->status, &ev);
	} else {
		c->remote.qp_num = r->qpn;
		c->remote.qkey = r->qkey;
		c->remote.qp_type = IBV_QPT_UD;
		c->remote.ece_vendor_id = r->vendor_id;
		c->remote.ece_attr_mod = in->hdr.attr_mod;
		cm_event_init(c, RDMA_CM_EVENT_ESTABLISHED, 0, &ev);
	}
	ev.private_data_len = SRXE_CM_SIDR_REP_PRIV;
	memcpy(ev.private_data, r->private_data, SRXE_CM_SIDR_REP_PRIV);
	cm_conn_emit(cm, c, &ev);
}

void srxe_cm_input(struct srxe_cm *cm, const struct srxe_cm_rx *rx)
{
	struct srxe_cm_msg m;
	const char *why = "?";
	int ret;

	cm->st.mads_in++;
	ret = srxe_cm_mad_decode(rx->mad, rx->len, &m, &why);
	if (ret) {
		cm->st.mads_bad++;
		cm_log(cm, SRXE_CM_LOG_DEBUG, "CM MAD dropped: %s", why);
		return;
	}
	switch (m.hdr.attr_id) {
	case SRXE_CM_ATTR_REQ:
		recv_req(cm, rx, &m);
		break;
	case SRXE_CM_ATTR_MRA:
		recv_mra(cm, rx, &m);
		break;
	case SRXE_CM_ATTR_REJ:
		recv_rej(cm, rx, &m);
		break;
	case SRXE_CM_ATTR_REP:
		recv_rep(cm, rx, &m);
		break;
	case SRXE_CM_ATTR_RTU:
		recv_rtu(cm, rx, &m);
		break;
	case SRXE_CM_ATTR_DREQ:
		recv_dreq(cm, rx, &m);
		break;
	case SRXE_CM_ATTR_DREP:
		recv_drep(cm, rx, &m);
		break;
	case SRXE_CM_ATTR_SIDR_REQ:
		recv_sidr_req(cm, rx, &m);
		break;
	case SRXE_CM_ATTR_SIDR_REP:
		recv_sidr_rep(cm, rx, &m);
		break;
	default:
		cm->st.mads_unmatched++; /* LAP/APR: no path migration */
		break;
	}
}
