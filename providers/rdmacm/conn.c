// SPDX-License-Identifier: MIT
/*
 * Connections: listen, connect, accept, reject, establish, disconnect,
 * and the QP that goes with an id.  srxed's CM exchanges the CM MADs; the
 * library moves the application's QP through its states with
 * ibv_modify_qp, from the parameters of the exchange, the way the kernel's
 * rdma_cm and IB CM compute them (rdma_init_qp_attr).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rdmacm_int.h"

#define REJ_CONSUMER_DEFINED	 28
#define REJ_VENDOR_OPTION_UNSUPP 35

static uint32_t random_psn(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)rand();
	return v & 0xffffff;
}

/* The local ACK timeout: rdma_set_option's, else the peer's REQ value on
 * the passive side, else the path's packet life time + 1 (IB CM). */
static uint8_t ack_timeout(const struct rcm_id *rid)
{
	if (rid->timeout_set)
		return rid->ack_timeout;
	if (rid->state == RCM_REQ_RCVD && rid->remote.ack_timeout)
		return rid->remote.ack_timeout;
	return (rid->path.packet_life_time + 1) & 0x1f;
}

static int init_qp_attr(struct rcm_id *rid, struct ibv_qp_attr *a, int *mask)
{
	enum ibv_qp_state st = a->qp_state;
	enum ibv_qp_type t = rid->id.qp_type;

	if (!rid->dev)
		return EINVAL;
	memset(a, 0, sizeof(*a));
	a->qp_state = st;
	switch (st) {
	case IBV_QPS_INIT:
		a->pkey_index = 0;
		a->port_num = 1;
		*mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT;
		if (t == IBV_QPT_UD) {
			a->qkey = rid->qkey;
			*mask |= IBV_QP_QKEY;
			break;
		}
		/* As the IB CM: remote write once there is a connection,
		 * read and atomics when we grant responder resources. */
		if (rid->ep.has_handle) {
			a->qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
			if (rid->responder_resources)
				a->qp_access_flags |= IBV_ACCESS_REMOTE_READ |
						      IBV_ACCESS_REMOTE_ATOMIC;
		}
		*mask |= IBV_QP_ACCESS_FLAGS;
		break;
	case IBV_QPS_RTR:
		*mask = IBV_QP_STATE;
		if (t == IBV_QPT_UD)
			break;
		if (!rid->have_path || !rid->ep.has_handle)
			return EINVAL;
		rcm_fill_ah_attr(rid, &a->ah_attr);
		a->path_mtu = rid->path.mtu;
		if (rid->remote.path_mtu && rid->remote.path_mtu < a->path_mtu)
			a->path_mtu = rid->remote.path_mtu;
		a->dest_qp_num = rid->remote.qp_num & 0xffffff;
		a->rq_psn = rid->psn;
		*mask |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			 IBV_QP_RQ_PSN;
		if (t == IBV_QPT_RC) {
			a->max_dest_rd_atomic = rid->responder_resources;
			a->min_rnr_timer = 0; /* the IB CM's value */
			*mask |= IBV_QP_MAX_DEST_RD_ATOMIC |
				 IBV_QP_MIN_RNR_TIMER;
		}
		break;
	case IBV_QPS_RTS:
		*mask = IBV_QP_STATE | IBV_QP_SQ_PSN;
		if (t == IBV_QPT_UD) {
			a->sq_psn = 0;
			break;
		}
		if (!rid->ep.has_handle)
			return EINVAL;
		a->sq_psn = rid->remote.starting_psn & 0xffffff;
		if (t == IBV_QPT_RC) {
			a->timeout = ack_timeout(rid);
			a->retry_cnt = rid->retry_count & 7;
			a->rnr_retry = rid->rnr_retry_count & 7;
			a->max_rd_atomic = rid->initiator_depth;
			*mask |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				 IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC;
		}
		break;
	default:
		return EINVAL;
	}
	return 0;
}

RCM_EXPORT int rdma_init_qp_attr(struct rdma_cm_id *id,
				 struct ibv_qp_attr *qp_attr, int *qp_attr_mask)
{
	int ret;

	if (!id || !qp_attr || !qp_attr_mask)
		return rcm_err(EINVAL);
	ret = init_qp_attr(rcm_id(id), qp_attr, qp_attr_mask);
	return ret ? rcm_err(ret) : 0;
}

static int modify(struct rcm_id *rid, struct ibv_qp *qp, enum ibv_qp_state st)
{
	struct ibv_qp_attr a = { .qp_state = st };
	int mask, ret;

	ret = init_qp_attr(rid, &a, &mask);
	if (ret)
		return ret;
	return ibv_modify_qp(qp, &a, mask);
}

int rcm_qp_to_err(struct rcm_id *rid)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_ERR };

	if (!rid->id.qp)
		return 0;
	return ibv_modify_qp(rid->id.qp, &a, IBV_QP_STATE);
}

/*
 * Connected QP to RTR and RTS.  The active side takes the REP's values:
 * its responder resources become our initiator depth and the other way
 * round, and its RNR retry count is the one we send with.
 */
int rcm_qp_rtr_rts(struct rcm_id *rid, bool active)
{
	int ret;

	if (active) {
		rid->initiator_depth = rid->remote.responder_resources;
		rid->responder_resources = rid->remote.initiator_depth;
		rid->rnr_retry_count = rid->remote.rnr_retry_count;
	}
	if (!rid->id.qp)
		return 0;
	ret = modify(rid, rid->id.qp, IBV_QPS_INIT); /* access flags */
	if (!ret)
		ret = modify(rid, rid->id.qp, IBV_QPS_RTR);
	if (!ret)
		ret = modify(rid, rid->id.qp, IBV_QPS_RTS);
	return ret;
}

void rcm_cm_destroy_eps(struct rcm_id *rid)
{
	struct rcm_ep *eps[RCM_MAX_DEVS + 1], *x;
	int i, n = 0;

	pthread_mutex_lock(&rcm_lock);
	if (rid->ep.has_handle)
		eps[n++] = &rid->ep;
	for (x = rid->xeps; x && n < RCM_MAX_DEVS + 1; x = x->next)
		if (x->has_handle)
			eps[n++] = x;
	for (i = 0; i < n; i++) {
		/* No handle lookups reach the id from now on. */
		rcm_ep_unhash_handle(eps[i]);
		eps[i]->has_handle = false;
	}
	pthread_mutex_unlock(&rcm_lock);
	for (i = 0; i < n; i++) {
		struct srxe_cm_handle_req req = { .handle = eps[i]->handle };

		rcm_dev_call(eps[i]->dev, SRXE_OP_CM_DESTROY, &req, sizeof(req),
			     -1, NULL, 0);
	}
}

/* ----- QPs and SRQs ----- */

static void destroy_cqs(struct rdma_cm_id *id)
{
	if (id->recv_cq) {
		ibv_destroy_cq(id->recv_cq);
		if (id->send_cq && id->send_cq != id->recv_cq)
			ibv_destroy_cq(id->send_cq);
		id->recv_cq = NULL;
		id->send_cq = NULL;
	} else if (id->send_cq) {
		ibv_destroy_cq(id->send_cq);
		id->send_cq = NULL;
	}
	if (id->recv_cq_channel) {
		ibv_destroy_comp_channel(id->recv_cq_channel);
		if (id->send_cq_channel &&
		    id->send_cq_channel != id->recv_cq_channel)
			ibv_destroy_comp_channel(id->send_cq_channel);
		id->recv_cq_channel = NULL;
		id->send_cq_channel = NULL;
	} else if (id->send_cq_channel) {
		ibv_destroy_comp_channel(id->send_cq_channel);
		id->send_cq_channel = NULL;
	}
}

/* CQs (each with a completion channel) the caller did not provide. */
static int create_cqs(struct rdma_cm_id *id, uint32_t send_size,
		      uint32_t recv_size)
{
	if (recv_size) {
		id->recv_cq_channel = ibv_create_comp_channel(id->verbs);
		if (!id->recv_cq_channel)
			goto err;
		id->recv_cq = ibv_create_cq(id->verbs, recv_size, id,
					    id->recv_cq_channel, 0);
		if (!id->recv_cq)
			goto err;
	}
	if (send_size) {
		id->send_cq_channel = ibv_create_comp_channel(id->verbs);
		if (!id->send_cq_channel)
			goto err;
		id->send_cq = ibv_create_cq(id->verbs, send_size, id,
					    id->send_cq_channel, 0);
		if (!id->send_cq)
			goto err;
	}
	return 0;
err:
	destroy_cqs(id);
	return -1;
}

/*
 * ECE and QPs, as librdmacm does it: a QP states its own ECE
 * (ibv_query_ece; a provider without ECE, srxe as kernel rxe, answers
 * EOPNOTSUPP, which is "none"), and that replaces what
 * rdma_set_local_ece set.  A QP created for a request is told the
 * peer's options when the vendor matches, else ours without options.
 */
static int ece_init_qp(struct rcm_id *rid, struct ibv_qp *qp)
{
	struct ibv_ece ece = { 0 };
	int ret = ibv_query_ece(qp, &ece);

	if (ret && ret != EOPNOTSUPP)
		return ret;
	rid->local_ece.vendor_id = ece.vendor_id;
	rid->local_ece.options = ece.options;
	if (!rid->remote_ece.vendor_id)
		return 0; /* not a QP for a received request */
	if (rid->remote_ece.vendor_id != rid->local_ece.vendor_id) {
		ece.vendor_id = rid->local_ece.vendor_id;
		ece.options = 0;
	} else {
		ece = rid->remote_ece;
	}
	ece.comp_mask = 0;
	ret = ibv_set_ece(qp, &ece);
	return ret && ret != EOPNOTSUPP ? ret : 0;
}

/* The options the QP settled on (none if it cannot say). */
void rcm_ece_query(struct rcm_id *rid)
{
	struct ibv_ece ece = { 0 };

	if (rid->id.qp && !ibv_query_ece(rid->id.qp, &ece))
		rid->local_ece.options = ece.options;
	else
		rid->local_ece.options = 0;
}

int rcm_ece_rep(struct rcm_id *rid, const struct srxe_cm_conn_param *rep)
{
	struct ibv_ece ece = { .vendor_id = rep->ece_vendor_id,
			       .options = rep->ece_attr_mod };
	int ret;

	if (!rep->ece_vendor_id) {
		/* The peer has no ECE: ours, without options. */
		ece.vendor_id = rid->local_ece.vendor_id;
		ece.options = 0;
	} else if (rep->ece_vendor_id != rid->local_ece.vendor_id) {
		/* A REP answers with the REQ's vendor: anything else is a
		 * broken handshake. */
		return EINVAL;
	}
	rid->remote_ece.vendor_id = rep->ece_vendor_id;
	ret = ibv_set_ece(rid->id.qp, &ece);
	return ret && ret != EOPNOTSUPP ? ret : 0;
}

RCM_EXPORT int rdma_create_qp_ex(struct rdma_cm_id *id,
				 struct ibv_qp_init_attr_ex *attr)
{
	struct rcm_id *rid;
	struct ibv_qp *qp;
	int ret;

	if (!id || !attr || id->qp || !id->verbs)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_PD) || !attr->pd) {
		attr->comp_mask |= IBV_QP_INIT_ATTR_PD;
		attr->pd = id->pd;
	} else if (attr->pd->context != id->verbs) {
		return rcm_err(EINVAL);
	}
	if ((id->recv_cq && attr->recv_cq && id->recv_cq != attr->recv_cq) ||
	    (id->send_cq && attr->send_cq && id->send_cq != attr->send_cq))
		return rcm_err(EINVAL);
	if (create_cqs(id,
		       attr->send_cq || id->send_cq ? 0 : attr->cap.max_send_wr,
		       attr->recv_cq || id->recv_cq ? 0
						    : attr->cap.max_recv_wr))
		return -1;
	if (!attr->send_cq)
		attr->send_cq = id->send_cq;
	if (!attr->recv_cq)
		attr->recv_cq = id->recv_cq;
	if (id->srq && !attr->srq)
		attr->srq = id->srq;
	qp = ibv_create_qp_ex(id->verbs, attr);
	if (!qp) {
		ret = errno;
		destroy_cqs(id);
		return rcm_err(ret ? ret : ENOMEM);
	}
	ret = ece_init_qp(rid, qp);
	/* INIT now; a datagram QP goes on to RTS (it needs no peer). */
	if (!ret)
		ret = modify(rid, qp, IBV_QPS_INIT);
	if (!ret && id->qp_type == IBV_QPT_UD) {
		ret = modify(rid, qp, IBV_QPS_RTR);
		if (!ret)
			ret = modify(rid, qp, IBV_QPS_RTS);
	}
	if (ret) {
		ibv_destroy_qp(qp);
		destroy_cqs(id);
		return rcm_err(ret);
	}
	id->pd = qp->pd;
	id->qp = qp;
	if (rid->remote_ece.vendor_id)
		rcm_ece_query(rid);
	return 0;
}

RCM_EXPORT int rdma_create_qp(struct rdma_cm_id *id, struct ibv_pd *pd,
			      struct ibv_qp_init_attr *qp_init_attr)
{
	struct ibv_qp_init_attr_ex ex;
	int ret;

	if (!id || !qp_init_attr)
		return rcm_err(EINVAL);
	memset(&ex, 0, sizeof(ex));
	memcpy(&ex, qp_init_attr, sizeof(*qp_init_attr));
	ex.comp_mask = IBV_QP_INIT_ATTR_PD;
	ex.pd = pd ? pd : id->pd;
	ret = rdma_create_qp_ex(id, &ex);
	memcpy(qp_init_attr, &ex, sizeof(*qp_init_attr));
	return ret;
}

RCM_EXPORT void rdma_destroy_qp(struct rdma_cm_id *id)
{
	ibv_destroy_qp(id->qp);
	id->qp = NULL;
	destroy_cqs(id);
}

RCM_EXPORT int rdma_create_srq_ex(struct rdma_cm_id *id,
				  struct ibv_srq_init_attr_ex *attr)
{
	struct ibv_srq *srq;

	if (!id || !attr || !id->verbs ||
	    !(attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE))
		return rcm_err(EINVAL);
	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_PD) || !attr->pd) {
		attr->pd = id->pd;
		attr->comp_mask |= IBV_SRQ_INIT_ATTR_PD;
	}
	if (attr->srq_type == IBV_SRQT_XRC) {
		if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_XRCD) || !attr->xrcd)
			return rcm_err(EINVAL);
		if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_CQ) || !attr->cq) {
			if (create_cqs(id, 0, attr->attr.max_wr))
				return -1;
			attr->cq = id->recv_cq;
			attr->comp_mask |= IBV_SRQ_INIT_ATTR_CQ;
		}
	}
	srq = ibv_create_srq_ex(id->verbs, attr);
	if (!srq) {
		int err = errno;

		destroy_cqs(id);
		return rcm_err(err ? err : ENOMEM);
	}
	if (!id->pd)
		id->pd = attr->pd;
	id->srq = srq;
	return 0;
}

RCM_EXPORT int rdma_create_srq(struct rdma_cm_id *id, struct ibv_pd *pd,
			       struct ibv_srq_init_attr *attr)
{
	struct ibv_srq_init_attr_ex ex;
	int ret;

	if (!id || !attr)
		return rcm_err(EINVAL);
	memset(&ex, 0, sizeof(ex));
	memcpy(&ex, attr, sizeof(*attr));
	ex.comp_mask = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD;
	ex.srq_type = IBV_SRQT_BASIC;
	ex.pd = pd ? pd : id->pd;
	ret = rdma_create_srq_ex(id, &ex);
	memcpy(attr, &ex, sizeof(*attr));
	return ret;
}

RCM_EXPORT void rdma_destroy_srq(struct rdma_cm_id *id)
{
	ibv_destroy_srq(id->srq);
	id->srq = NULL;
	destroy_cqs(id);
}

/* ----- listen ----- */

static int listen_on(struct rcm_id *rid, struct rcm_ep *ep, struct rcm_dev *dev,
		     int backlog)
{
	struct srxe_cm_listen_req req;
	struct srxe_cm_handle_resp resp;
	uint32_t chan_handle;
	int ret;

	/* A listen needs srxed only; the verbs context is opened when a
	 * connection request arrives. */
	ret = rcm_dev_conn(dev);
	if (!ret)
		ret = rcm_chan_attach(rid->chan, dev, &chan_handle);
	if (ret)
		return ret;
	memset(&req, 0, sizeof(req));
	req.cookie = ep->cookie;
	req.chan_handle = chan_handle;
	req.port_space = rid->id.ps;
	req.backlog = backlog;
	rcm_addr_to_cm(&rid->id.route.addr.src_addr, &req.addr);
	ret = rcm_dev_call(dev, SRXE_OP_CM_LISTEN, &req, sizeof(req), -1, &resp,
			   sizeof(resp));
	if (ret)
		return ret;
	pthread_mutex_lock(&rcm_lock);
	ep->dev = dev;
	ep->handle = resp.handle;
	ep->has_handle = true;
	ep->listen = true;
	rcm_ep_hash_handle(ep);
	pthread_mutex_unlock(&rcm_lock);
	return 0;
}

RCM_EXPORT int rdma_listen(struct rdma_cm_id *id, int backlog)
{
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct rcm_id *rid;
	uint16_t port;
	int i, ret = 0, ok = 0;

	if (!id)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (rid->state == RCM_IDLE &&
	    rdma_bind_addr(id, (struct sockaddr *)&any))
		return -1;
	if (rid->state != RCM_BOUND)
		return rcm_err(EINVAL);
	if (rid->port_fd < 0) {
		/* Bound with REUSEADDR to a port in use: a listen needs the
		 * port for itself. */
		port = rcm_addr_port(&id->route.addr.src_addr);
		ret = rcm_port_reserve(id->ps, &port, false, &rid->port_fd);
		if (ret)
			return rcm_err(ret);
	}
	if (backlog <= 0)
		backlog = 0; /* srxed's default */
	if (rid->dev) {
		ret = listen_on(rid, &rid->ep, rid->dev, backlog);
		if (ret)
			return rcm_err(ret);
	} else {
		/* Wildcard: every srxe device whose srxed is up. */
		for (i = 0; i < rcm_dev_count(); i++) {
			struct rcm_dev *dev = rcm_dev_at(i);
			struct rcm_ep *ep = ok ? rcm_ep_new(rid) : &rid->ep;
			int r;

			if (!ep) {
				ret = ENOMEM;
				break;
			}
			if (dev->dead)
				continue;
			r = listen_on(rid, ep, dev, backlog);
			if (!r) {
				ok++;
				continue;
			}
			if (r == ENODEV)
				continue;
			ret = r;
			break;
		}
		/* No srxe device, or none listening: nothing would ever
		 * see a connection request. */
		if (ret || !ok) {
			rcm_cm_destroy_eps(rid);
			return rcm_err(ret ? ret : ENODEV);
		}
	}
	rid->state = RCM_LISTEN;
	return 0;
}

RCM_EXPORT int rdma_get_request(struct rdma_cm_id *listen,
				struct rdma_cm_id **id)
{
	struct rdma_cm_event *event;
	struct rcm_id *lrid;
	int ret;

	if (!listen || !id)
		return rcm_err(EINVAL);
	lrid = rcm_id(listen);
	if (!lrid->sync)
		return rcm_err(EINVAL);
	if (listen->event) {
		rdma_ack_cm_event(listen->event);
		listen->event = NULL;
	}
	ret = rdma_get_cm_event(listen->channel, &event);
	if (ret)
		return ret;
	if (event->event == RDMA_CM_EVENT_REJECTED) {
		ret = rcm_err(ECONNREFUSED);
		goto err;
	}
	if (event->status) {
		ret = rcm_err(event->status < 0 ? -event->status
						: event->status);
		goto err;
	}
	if (event->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
		ret = rcm_err(EINVAL);
		goto err;
	}
	if (lrid->qp_init_attr) {
		struct ibv_qp_init_attr attr = *lrid->qp_init_attr;

		ret = rdma_create_qp(event->id, listen->pd, &attr);
		if (ret)
			goto err;
	}
	*id = event->id;
	(*id)->event = event;
	return 0;
err:
	listen->event = event;
	return ret;
}

/* ----- connect / accept ----- */

static size_t pdata_max(const struct rcm_id *rid, bool accept)
{
	if (rid->id.qp_type == IBV_QPT_UD)
		return accept ? 136
			      : (rid->id.ps == RDMA_PS_IB ? 216
							  : RCM_PDATA_SIDR);
	if (accept)
		return RCM_PDATA_REP;
	return rid->id.ps == RDMA_PS_IB ? RCM_PDATA_REQ_IB : RCM_PDATA_REQ_TCP;
}

static int valid_param(struct rcm_id *rid, struct rdma_conn_param *p)
{
	if (rid->id.ps != RDMA_PS_TCP)
		return 0;
	if (!rid->id.qp && !p)
		return EINVAL;
	if (!p)
		return 0;
	if (p->responder_resources != RDMA_MAX_RESP_RES &&
	    p->responder_resources > rid->dev->max_responder_resources)
		return EINVAL;
	if (p->initiator_depth != RDMA_MAX_INIT_DEPTH &&
	    p->initiator_depth > rid->dev->max_initiator_depth)
		return EINVAL;
	return 0;
}

RCM_EXPORT int rdma_connect(struct rdma_cm_id *id,
			    struct rdma_conn_param *conn_param)
{
	struct srxe_cm_connect_req req;
	struct srxe_cm_handle_resp resp;
	struct rcm_id *rid;
	size_t len = 0;
	int ret;

	if (!id)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (rid->state != RCM_ROUTE_RESOLVED || !rid->dev)
		return rcm_err(EINVAL);
	ret = valid_param(rid, conn_param);
	if (ret)
		return rcm_err(ret);
	if (conn_param && conn_param->initiator_depth != RDMA_MAX_INIT_DEPTH)
		rid->initiator_depth = conn_param->initiator_depth;
	else
		rid->initiator_depth = rid->dev->max_initiator_depth;
	if (conn_param && conn_param->responder_resources != RDMA_MAX_RESP_RES)
		rid->responder_resources = conn_param->responder_resources;
	else
		rid->responder_resources = rid->dev->max_responder_resources;
	rid->retry_count = conn_param ? conn_param->retry_count : 7;
	rid->rnr_retry_count = conn_param ? conn_param->rnr_retry_count : 7;

	memset(&req, 0, sizeof(req));
	if (rid->connect_len) {
		memcpy(req.private_data, rid->connect_data, rid->connect_len);
		len = rid->connect_len;
	}
	if (conn_param && conn_param->private_data &&
	    conn_param->private_data_len) {
		if (len + conn_param->private_data_len > pdata_max(rid, false))
			return rcm_err(EINVAL);
		memcpy(req.private_data + len, conn_param->private_data,
		       conn_param->private_data_len);
		len += conn_param->private_data_len;
	}
	if (len > pdata_max(rid, false))
		return rcm_err(EINVAL);

	rid->psn = random_psn();
	ret = rcm_chan_attach(rid->chan, rid->dev, &req.chan_handle);
	if (ret)
		return rcm_err(ret);
	req.cookie = rid->ep.cookie;
	req.port_space = id->ps;
	req.private_data_len = len;
	rcm_addr_to_cm(&id->route.addr.src_addr, &req.src);
	rcm_addr_to_cm(&id->route.addr.dst_addr, &req.dst);
	req.path = rid->path;
	req.param.qp_num =
		id->qp ? id->qp->qp_num : (conn_param ? conn_param->qp_num : 0);
	req.param.srq =
		id->qp ? !!id->qp->srq : (conn_param ? conn_param->srq : 0);
	req.param.starting_psn = rid->psn;
	req.param.qp_type = id->qp_type;
	req.param.responder_resources = rid->responder_resources;
	req.param.initiator_depth = rid->initiator_depth;
	req.param.flow_control = conn_param ? conn_param->flow_control : 0;
	req.param.retry_count = rid->retry_count & 7;
	req.param.rnr_retry_count = rid->rnr_retry_count & 7;
	req.param.ack_timeout = rid->timeout_set ? rid->ack_timeout : 0;
	req.param.path_mtu = rid->path.mtu;
	/* REQ: our ECE (rdma_set_local_ece, or the QP's) */
	req.param.ece_vendor_id = rid->local_ece.vendor_id;
	req.param.ece_attr_mod = rid->local_ece.options;
	ret = rcm_dev_call(rid->dev, SRXE_OP_CM_CONNECT, &req, sizeof(req), -1,
			   &resp, sizeof(resp));
	if (ret)
		return rcm_err(ret);
	pthread_mutex_lock(&rcm_lock);
	rid->ep.dev = rid->dev;
	rid->ep.handle = resp.handle;
	rid->ep.has_handle = true;
	rcm_ep_hash_handle(&rid->ep);
	pthread_mutex_unlock(&rcm_lock);
	rid->state = RCM_CONNECT;
	free(rid->connect_data);
	rid->connect_data = NULL;
	rid->connect_len = 0;
	return rcm_complete(rid);
}

RCM_EXPORT int rdma_accept(struct rdma_cm_id *id,
			   struct rdma_conn_param *conn_param)
{
	struct srxe_cm_accept_req req;
	struct rcm_id *rid;
	size_t len = 0;
	int ret;

	if (!id)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (rid->state != RCM_REQ_RCVD || !rid->ep.has_handle)
		return rcm_err(EINVAL);
	ret = valid_param(rid, conn_param);
	if (ret)
		return rcm_err(ret);
	if (!id->qp && !conn_param)
		return rcm_err(EINVAL);
	if (!conn_param || conn_param->initiator_depth == RDMA_MAX_INIT_DEPTH) {
		if (rid->initiator_depth > rid->dev->max_initiator_depth)
			rid->initiator_depth = rid->dev->max_initiator_depth;
	} else {
		rid->initiator_depth = conn_param->initiator_depth;
	}
	if (!conn_param ||
	    conn_param->responder_resources == RDMA_MAX_RESP_RES) {
		if (rid->responder_resources >
		    rid->dev->max_responder_resources)
			rid->responder_resources =
				rid->dev->max_responder_resources;
	} else {
		rid->responder_resources = conn_param->responder_resources;
	}
	if (conn_param && conn_param->private_data &&
	    conn_param->private_data_len) {
		len = conn_param->private_data_len;
		if (len > pdata_max(rid, true))
			return rcm_err(EINVAL);
	}
	if (id->qp_type != IBV_QPT_UD) {
		ret = rcm_qp_rtr_rts(rid, false);
		if (ret)
			return rcm_err(ret);
	}

	memset(&req, 0, sizeof(req));
	req.cookie = rid->ep.cookie;
	req.conn_handle = rid->ep.handle;
	req.private_data_len = len;
	if (len)
		memcpy(req.private_data, conn_param->private_data, len);
	req.param.qp_num = id->qp ? id->qp->qp_num : conn_param->qp_num;
	req.param.srq = id->qp ? !!id->qp->srq : conn_param->srq;
	req.param.starting_psn = rid->psn;
	req.param.qkey = rid->qkey;
	req.param.qp_type = id->qp_type;
	req.param.responder_resources = rid->responder_resources;
	req.param.initiator_depth = rid->initiator_depth;
	req.param.flow_control = conn_param ? conn_param->flow_control : 0;
	req.param.retry_count = rid->retry_count & 7;
	req.param.rnr_retry_count =
		(conn_param ? conn_param->rnr_retry_count : 7) & 7;
	req.param.ack_timeout = rid->timeout_set ? rid->ack_timeout : 0;
	req.param.path_mtu = rid->path.mtu;
	/* REP: the REQ's vendor id back with our options, as librdmacm
	 * (an application that cannot take the REQ's options rejects
	 * with rdma_reject_ece instead) */
	req.param.ece_vendor_id = rid->remote_ece.vendor_id;
	req.param.ece_attr_mod = rid->local_ece.options;
	ret = rcm_dev_call(rid->dev, SRXE_OP_CM_ACCEPT, &req, sizeof(req), -1,
			   NULL, 0);
	if (ret) {
		rcm_qp_to_err(rid);
		return rcm_err(ret);
	}
	if (id->qp_type == IBV_QPT_UD) {
		rid->state = RCM_CONNECTED;
		return 0;
	}
	return rcm_complete(rid);
}

static int reject(struct rdma_cm_id *id, const void *pdata, uint8_t len,
		  uint16_t reason)
{
	struct srxe_cm_reject_req req;
	struct rcm_id *rid;
	int ret;

	if (!id)
		return rcm_err(EINVAL);
	rid = rcm_id(id);
	if (!rid->ep.has_handle || !rid->dev)
		return rcm_err(EINVAL);
	if (len > RCM_PDATA_REJ)
		return rcm_err(EINVAL);
	memset(&req, 0, sizeof(req));
	req.conn_handle = rid->ep.handle;
	req.reason = reason;
	if (pdata && len) {
		memcpy(req.private_data, pdata, len);
		req.private_data_len = len;
	}
	ret = rcm_dev_call(rid->dev, SRXE_OP_CM_REJECT, &req, sizeof(req), -1,
			   NULL, 0);
	if (ret)
		return rcm_err(ret);
	rid->state = RCM_DISCONNECTED;
	return 0;
}

RCM_EXPORT int rdma_reject(struct rdma_cm_id *id, const void *private_data,
			   uint8_t private_data_len)
{
	return reject(id, private_data, private_data_len, REJ_CONSUMER_DEFINED);
}

RCM_EXPORT int rdma_reject_ece(struct rdma_cm_id *id, const void *private_data,
			       uint8_t private_data_len)
{
	return reject(id, private_data, private_data_len,
		      REJ_VENDOR_OPTION_UNSUPP);
}

static int handle_call(struct rdma_cm_id *id, uint16_t op)
{
	struct srxe_cm_handle_req req;
	struct rcm_id *rid = rcm_id(id);

	if (!rid->ep.has_handle || !rid->dev)
		return EINVAL;
	memset(&req, 0, sizeof(req));
	req.handle = rid->ep.handle;
	return rcm_dev_call(rid->dev, op, &req, sizeof(req), -1, NULL, 0);
}

RCM_EXPORT int rdma_establish(struct rdma_cm_id *id)
{
	int ret;

	if (!id || id->qp)
		return rcm_err(EINVAL);
	ret = handle_call(id, SRXE_OP_CM_ESTABLISH);
	if (ret)
		return rcm_err(ret);
	rcm_id(id)->state = RCM_CONNECTED;
	return 0;
}

RCM_EXPORT int rdma_disconnect(struct rdma_cm_id *id)
{
	int ret;

	if (!id || !id->verbs)
		return rcm_err(EINVAL);
	ret = rcm_qp_to_err(rcm_id(id));
	if (ret)
		return rcm_err(ret);
	ret = handle_call(id, SRXE_OP_CM_DISCONNECT);
	if (ret)
		return rcm_err(ret);
	return rcm_complete(rcm_id(id));
}

RCM_EXPORT int rdma_notify(struct rdma_cm_id *id, enum ibv_event_type event)
{
	int ret;

	if (!id || event != IBV_EVENT_COMM_EST)
		return rcm_err(EINVAL);
	ret = handle_call(id, SRXE_OP_CM_NOTIFY);
	return ret ? rcm_err(ret) : 0;
}

/* ----- endpoints (rdma_create_ep: synchronous ids) ----- */

RCM_EXPORT int rdma_create_ep(struct rdma_cm_id **id, struct rdma_addrinfo *res,
			      struct ibv_pd *pd,
			      struct ibv_qp_init_attr *qp_init_attr)
{
	struct rdma_cm_id *cm_id;
	struct rcm_id *rid;
	int ret;

	if (!id || !res)
		return rcm_err(EINVAL);
	ret = rcm_create_id(NULL, &cm_id, NULL, res->ai_port_space,
			    res->ai_qp_type);
	if (ret)
		return ret;
	rid = rcm_id(cm_id);
	if (res->ai_flags & RAI_PASSIVE) {
		ret = rdma_bind_addr(cm_id, res->ai_src_addr);
		if (ret)
			goto err;
		if (pd)
			cm_id->pd = pd;
		if (qp_init_attr) {
			rid->qp_init_attr = malloc(sizeof(*qp_init_attr));
			if (!rid->qp_init_attr) {
				ret = rcm_err(ENOMEM);
				goto err;
			}
			*rid->qp_init_attr = *qp_init_attr;
			rid->qp_init_attr->qp_type = res->ai_qp_type;
		}
		*id = cm_id;
		return 0;
	}
	ret = rdma_resolve_addr(cm_id, res->ai_src_addr, res->ai_dst_addr,
				2000);
	if (ret)
		goto err;
	if (res->ai_route_len) {
		ret = rdma_set_option(cm_id, RDMA_OPTION_IB,
				      RDMA_OPTION_IB_PATH, res->ai_route,
				      res->ai_route_len);
		if (!ret)
			ret = rcm_complete(rid);
	} else {
		ret = rdma_resolve_route(cm_id, 2000);
	}
	if (ret)
		goto err;
	if (qp_init_attr) {
		qp_init_attr->qp_type = res->ai_qp_type;
		ret = rdma_create_qp(cm_id, pd, qp_init_attr);
		if (ret)
			goto err;
	}
	if (res->ai_connect_len) {
		rid->connect_data = malloc(res->ai_connect_len);
		if (!rid->connect_data) {
			ret = rcm_err(ENOMEM);
			goto err;
		}
		memcpy(rid->connect_data, res->ai_connect, res->ai_connect_len);
		rid->connect_len = res->ai_connect_len;
	}
	*id = cm_id;
	return 0;
err:
	ret = errno;
	rdma_destroy_ep(cm_id);
	return rcm_err(ret);
}

RCM_EXPORT void rdma_destroy_ep(struct rdma_cm_id *id)
{
	if (id->qp)
		rdma_destroy_qp(id);
	if (id->srq)
		rdma_destroy_srq(id);
	rdma_destroy_id(id);
}
