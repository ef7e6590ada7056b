// SPDX-License-Identifier: MIT
/*
 * Event channels.  rdma_event_channel.fd is an epoll fd holding
 *  - the read end of a SOCK_SEQPACKET socketpair: srxed writes the CM's
 *    events (struct srxe_cm_event, one per datagram) to the write end, and
 *    the library writes the events it makes itself to the same write end,
 *    so the channel's order is the order of happening;
 *  - (EPOLLRDHUP only) the library's control socket to each srxed the
 *    channel's ids use, so srxed's death wakes the application and turns
 *    into DEVICE_REMOVAL for the ids on that device.
 * rdma_get_cm_event turns a datagram into a struct rdma_cm_event, doing
 * what librdmacm does on the way (new ids for connection requests, QP
 * transitions on a connection response, dropping events of destroyed ids).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rdmacm_int.h"

#define RD_MARK UINT64_MAX /* epoll data of the socketpair's read end */

struct rcm_chan *rcm_chan_new(void)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.u64 = RD_MARK };
	struct rcm_chan *chan;
	int sv[2], sz = 1 << 20;

	chan = calloc(1, sizeof(*chan));
	if (!chan)
		return NULL;
	chan->ch.fd = chan->rd = chan->wr = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		goto err;
	chan->rd = sv[0];
	chan->wr = sv[1];
	/* Room for many events before srxed has to queue (best effort). */
	setsockopt(chan->wr, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	shutdown(chan->rd, SHUT_WR);
	chan->ch.fd = epoll_create1(EPOLL_CLOEXEC);
	if (chan->ch.fd < 0)
		goto err;
	if (epoll_ctl(chan->ch.fd, EPOLL_CTL_ADD, chan->rd, &ee))
		goto err;
	pthread_mutex_init(&chan->lock, NULL);
	return chan;
err:
	if (chan->ch.fd >= 0)
		close(chan->ch.fd);
	if (chan->rd >= 0) {
		close(chan->rd);
		close(chan->wr);
	}
	free(chan);
	return NULL;
}

void rcm_chan_free(struct rcm_chan *chan)
{
	struct rcm_qev *q;
	int i;

	for (i = 0; i < RCM_MAX_DEVS; i++) {
		struct srxe_cm_handle_req req = { .handle = chan->handle[i] };
		struct rcm_dev *dev = rcm_dev_at(i);

		if (chan->added[i] && dev)
			rcm_dev_call(dev, SRXE_OP_CM_DEL_CHANNEL, &req,
				     sizeof(req), -1, NULL, 0);
	}
	while ((q = chan->ovf_head)) {
		chan->ovf_head = q->next;
		free(q);
	}
	close(chan->ch.fd);
	close(chan->rd);
	close(chan->wr);
	pthread_mutex_destroy(&chan->lock);
	free(chan);
}

void rcm_chan_watch(struct rcm_chan *chan, struct rcm_dev *dev)
{
	struct epoll_event ee = { .events = EPOLLRDHUP,
				  .data.u64 = (uint64_t)dev->index };

	pthread_mutex_lock(&chan->lock);
	if (!chan->watched[dev->index] && dev->conn_open &&
	    !epoll_ctl(chan->ch.fd, EPOLL_CTL_ADD, dev->conn.fd, &ee))
		chan->watched[dev->index] = true;
	pthread_mutex_unlock(&chan->lock);
}

int rcm_chan_attach(struct rcm_chan *chan, struct rcm_dev *dev,
		    uint32_t *handle)
{
	struct srxe_cm_add_channel_resp resp;
	int ret = 0;

	rcm_chan_watch(chan, dev);
	pthread_mutex_lock(&chan->lock);
	if (!chan->added[dev->index]) {
		ret = rcm_dev_call(dev, SRXE_OP_CM_ADD_CHANNEL, NULL, 0,
				   chan->wr, &resp, sizeof(resp));
		if (!ret) {
			chan->handle[dev->index] = resp.chan_handle;
			chan->added[dev->index] = true;
		}
	}
	if (!ret)
		*handle = chan->handle[dev->index];
	pthread_mutex_unlock(&chan->lock);
	return ret;
}

/* With chan->lock held: move queued library events into the socket. */
static void flush_overflow(struct rcm_chan *chan)
{
	struct rcm_qev *q;

	while ((q = chan->ovf_head)) {
		if (send(chan->wr, &q->ev, sizeof(q->ev),
			 MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			return;
		chan->ovf_head = q->next;
		if (!chan->ovf_head)
			chan->ovf_tail = NULL;
		free(q);
	}
}

int rcm_post_raw(struct rcm_chan *chan, const struct srxe_cm_event *ev)
{
	struct rcm_qev *q;
	int ret = 0;

	pthread_mutex_lock(&chan->lock);
	flush_overflow(chan);
	if (!chan->ovf_head &&
	    send(chan->wr, ev, sizeof(*ev), MSG_DONTWAIT | MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(*ev))
		goto out;
	q = malloc(sizeof(*q));
	if (!q) {
		ret = ENOMEM;
		goto out;
	}
	q->next = NULL;
	q->ev = *ev;
	if (chan->ovf_tail)
		chan->ovf_tail->next = q;
	else
		chan->ovf_head = q;
	chan->ovf_tail = q;
out:
	pthread_mutex_unlock(&chan->lock);
	return ret;
}

int rcm_post_local(struct rcm_id *rid, enum rdma_cm_event_type type, int status,
		   uint32_t handle)
{
	struct srxe_cm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.cookie = rid->ep.cookie;
	ev.event = type;
	ev.status = status;
	ev.handle = handle;
	ev.port_space = rid->id.ps;
	return rcm_post_raw(rid->chan, &ev);
}

RCM_EXPORT struct rdma_event_channel *rdma_create_event_channel(void)
{
	struct rcm_chan *chan;
	int ret;

	ret = rcm_init();
	if (ret) {
		errno = ret;
		return NULL;
	}
	chan = rcm_chan_new();
	return chan ? &chan->ch : NULL;
}

RCM_EXPORT void rdma_destroy_event_channel(struct rdma_event_channel *channel)
{
	if (channel)
		rcm_chan_free(rcm_chan(channel));
}

static void id_ref_put(struct rcm_id *rid)
{
	pthread_mutex_lock(&rid->mut);
	rid->acked++;
	pthread_cond_broadcast(&rid->cond);
	pthread_mutex_unlock(&rid->mut);
}

RCM_EXPORT int rdma_ack_cm_event(struct rdma_cm_event *event)
{
	struct rcm_event *evt;
	struct rcm_id *rid;

	if (!event)
		return rcm_err(EINVAL);
	evt = (struct rcm_event *)event;
	rid = evt->owner;
	pthread_mutex_lock(&rid->mut);
	if (evt->mc)
		evt->mc->acked++;
	rid->acked++;
	pthread_cond_broadcast(&rid->cond);
	pthread_mutex_unlock(&rid->mut);
	free(evt);
	return 0;
}

static void set_pdata(struct rcm_event *evt, const struct srxe_cm_event *raw,
		      const void **pd, uint8_t *len)
{
	size_t n = raw->private_data_len;

	if (n > sizeof(evt->private_data))
		n = sizeof(evt->private_data);
	memcpy(evt->private_data, raw->private_data, n);
	*pd = n ? evt->private_data : NULL;
	*len = (uint8_t)n;
}

/* The remote side's parameters as rdma_cm reports them: its responder
 * resources are our initiator depth and the other way round. */
static void copy_conn(struct rcm_event *evt, const struct srxe_cm_event *raw)
{
	struct rdma_conn_param *c = &evt->ev.param.conn;

	set_pdata(evt, raw, &c->private_data, &c->private_data_len);
	c->responder_resources = raw->param.initiator_depth;
	c->initiator_depth = raw->param.responder_resources;
	c->flow_control = raw->param.flow_control;
	c->retry_count = raw->param.retry_count;
	c->rnr_retry_count = raw->param.rnr_retry_count;
	c->srq = raw->param.srq;
	c->qp_num = raw->param.qp_num & 0xffffff;
}

static void copy_ud(struct rcm_event *evt, struct rcm_id *rid,
		    const struct srxe_cm_event *raw)
{
	struct rdma_ud_param *u = &evt->ev.param.ud;

	set_pdata(evt, raw, &u->private_data, &u->private_data_len);
	rcm_fill_ah_attr(rid, &u->ah_attr);
	u->qp_num = raw->param.qp_num & 0xffffff;
	/* A SIDR_REQ carries no Q_Key; rdma_cm's UD QPs use RDMA_UDP_QKEY. */
	u->qkey = raw->param.qkey ? raw->param.qkey : rid->qkey;
}

static void copy_param(struct rcm_event *evt, struct rcm_id *rid,
		       const struct srxe_cm_event *raw)
{
	if (rid->id.qp_type == IBV_QPT_UD)
		copy_ud(evt, rid, raw);
	else
		copy_conn(evt, raw);
}

static uint32_t random_psn(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)rand();
	return v & 0xffffff;
}

/*
 * A connection request: a new id on the listen's channel (or, for a
 * synchronous listen, on a channel of its own), bound to the device whose
 * srxed sent it.  0, or a positive errno (the request is then dropped and
 * srxed told to forget it).
 */
static int conn_request(struct rcm_event *evt, struct rcm_id *lrid,
			struct rcm_dev *dev, const struct srxe_cm_event *raw)
{
	struct rcm_chan *nchan = lrid->chan;
	struct rcm_id *nrid;
	uint32_t chan_handle;
	enum ibv_mtu mtu;
	int ret, sgid_index;

	if (lrid->sync) {
		nchan = rcm_chan_new();
		if (!nchan)
			return ENOMEM;
	}
	nrid = rcm_id_alloc(nchan, lrid->id.context, lrid->id.ps,
			    lrid->id.qp_type);
	if (!nrid) {
		if (lrid->sync)
			rcm_chan_free(nchan);
		return ENOMEM;
	}
	nrid->sync = lrid->sync;
	ret = rcm_id_set_dev(nrid, dev);
	if (ret)
		goto err;
	rcm_addr_from_cm(&raw->src, &nrid->id.route.addr.src_addr);
	rcm_addr_from_cm(&raw->dst, &nrid->id.route.addr.dst_addr);
	nrid->path = raw->path;
	if (rcm_dev_by_gid((const union ibv_gid *)raw->path.sgid,
			   &sgid_index) == dev)
		nrid->path.sgid_index = sgid_index;
	/* What the event leaves open comes from our side, as for an
	 * active id: the port's MTU (never above it), rdma_cm's packet life
	 * time, a usable hop limit. */
	if (!rcm_dev_active_mtu(dev, &mtu) &&
	    (!nrid->path.mtu || nrid->path.mtu > mtu))
		nrid->path.mtu = mtu;
	if (!nrid->path.packet_life_time)
		nrid->path.packet_life_time = RCM_PACKET_LIFETIME;
	if (!nrid->path.hop_limit)
		nrid->path.hop_limit = RCM_DEFAULT_HOP_LIMIT;
	nrid->have_path = true;
	rcm_fill_path_rec(nrid);
	nrid->remote = raw->param;
	nrid->remote_ece.vendor_id = raw->param.ece_vendor_id;
	nrid->remote_ece.options = raw->param.ece_attr_mod;
	nrid->psn = random_psn();
	nrid->initiator_depth = raw->param.responder_resources;
	nrid->responder_resources = raw->param.initiator_depth;
	nrid->retry_count = raw->param.retry_count;
	nrid->rnr_retry_count = raw->param.rnr_retry_count;
	nrid->qkey = RDMA_UDP_QKEY;
	nrid->state = RCM_REQ_RCVD;

	pthread_mutex_lock(&rcm_lock);
	nrid->ep.dev = dev;
	nrid->ep.handle = raw->handle;
	nrid->ep.has_handle = true;
	rcm_ep_hash_handle(&nrid->ep);
	pthread_mutex_unlock(&rcm_lock);

	if (lrid->sync) {
		struct srxe_cm_migrate_req mreq = { .cookie = nrid->ep.cookie,
						    .handle = raw->handle };

		ret = rcm_chan_attach(nchan, dev, &chan_handle);
		if (!ret) {
			mreq.chan_handle = chan_handle;
			ret = rcm_dev_call(dev, SRXE_OP_CM_MIGRATE, &mreq,
					   sizeof(mreq), -1, NULL, 0);
		}
		if (ret)
			goto err_destroy;
	}

	evt->ev.listen_id = &lrid->id;
	evt->ev.id = &nrid->id;
	copy_param(evt, nrid, raw);
	return 0;

err_destroy:
	rcm_cm_destroy_eps(nrid);
err:
	rcm_id_free(nrid);
	return ret;
}

/* Active side, REP received: QP to RTR/RTS, RTU, ESTABLISHED. */
static void conn_response(struct rcm_event *evt, struct rcm_id *rid,
			  const struct srxe_cm_event *raw)
{
	struct srxe_cm_handle_req req = { .handle = rid->ep.handle };
	int ret;

	rid->remote = raw->param;
	copy_conn(evt, raw);
	if (!rid->id.qp) {
		/* the app reads the REP's ECE, then calls rdma_establish */
		rid->remote_ece.vendor_id = raw->param.ece_vendor_id;
		rid->remote_ece.options = raw->param.ece_attr_mod;
		return;
	}
	ret = rcm_ece_rep(rid, &raw->param);
	if (!ret)
		ret = rcm_qp_rtr_rts(rid, true);
	if (!ret)
		ret = rcm_dev_call(rid->ep.dev, SRXE_OP_CM_ESTABLISH, &req,
				   sizeof(req), -1, NULL, 0);
	if (!ret)
		rcm_ece_query(rid);
	if (ret) {
		rcm_qp_to_err(rid);
		rid->connect_error = true;
		evt->ev.event = RDMA_CM_EVENT_CONNECT_ERROR;
		evt->ev.status = -ret;
		return;
	}
	rid->state = RCM_CONNECTED;
	evt->ev.event = RDMA_CM_EVENT_ESTABLISHED;
}

enum { EV_DELIVER, EV_DROP };

static int process(struct rcm_chan *chan, struct rcm_event *evt,
		   const struct srxe_cm_event *raw)
{
	struct rcm_ep *ep;
	struct rcm_id *rid;
	struct rcm_dev *dev;
	int ret;

	pthread_mutex_lock(&rcm_lock);
	ep = rcm_ep_lookup(raw->cookie);
	/* Events about a connection request not yet accepted may carry the
	 * listen's cookie; the connection's handle names the new id. */
	if (ep && ep->listen && raw->event != RDMA_CM_EVENT_CONNECT_REQUEST &&
	    raw->event != RDMA_CM_EVENT_DEVICE_REMOVAL)
		ep = ep->dev ? rcm_ep_lookup_handle(ep->dev, raw->handle)
			     : NULL;
	if (!ep) {
		pthread_mutex_unlock(&rcm_lock);
		return EV_DROP; /* its id was destroyed */
	}
	rid = ep->id;
	if (rid->chan != chan) {
		/* Migrated: the event belongs to the id's new channel. */
		pthread_mutex_unlock(&rcm_lock);
		rcm_post_raw(rid->chan, raw);
		return EV_DROP;
	}
	dev = ep->dev;
	/* Counted before rcm_lock is released: rdma_destroy_id waits for
	 * this event to be acked (or dropped) from here on. */
	pthread_mutex_lock(&rid->mut);
	rid->delivered++;
	pthread_mutex_unlock(&rid->mut);
	pthread_mutex_unlock(&rcm_lock);

	memset(evt, 0, sizeof(*evt));
	evt->owner = rid;
	evt->ev.id = &rid->id;
	evt->ev.event = raw->event;
	evt->ev.status = raw->status;

	switch (raw->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		/* The id is resolved when its application learns it (the
		 * kernel's addr_handler moves ADDR_QUERY on the same way). */
		if (rid->state == RCM_ADDR_QUERY)
			rid->state = RCM_ADDR_RESOLVED;
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
		if (rid->state == RCM_ADDR_QUERY)
			rid->state = RCM_BOUND;
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		break;
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		if (!dev || !ep->listen)
			goto drop;
		ret = conn_request(evt, rid, dev, raw);
		if (ret) {
			struct srxe_cm_handle_req req = { .handle =
								  raw->handle };

			rcm_dev_call(dev, SRXE_OP_CM_DESTROY, &req, sizeof(req),
				     -1, NULL, 0);
			goto drop;
		}
		break;
	case RDMA_CM_EVENT_CONNECT_RESPONSE:
		conn_response(evt, rid, raw);
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		if (rid->id.qp_type == IBV_QPT_UD)
			rid->remote = raw->param;
		rid->state = RCM_CONNECTED;
		copy_param(evt, rid, raw);
		break;
	case RDMA_CM_EVENT_REJECTED:
		if (rid->connect_error)
			goto drop;
		copy_param(evt, rid, raw);
		rcm_qp_to_err(rid);
		rid->state = RCM_DISCONNECTED;
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
		if (rid->connect_error)
			goto drop;
		rid->state = RCM_DISCONNECTED;
		copy_param(evt, rid, raw);
		break;
	case RDMA_CM_EVENT_MULTICAST_JOIN:
	case RDMA_CM_EVENT_MULTICAST_ERROR:
		if (rcm_mc_join_event(evt, rid, raw->handle))
			goto drop;
		break;
	default: /* UNREACHABLE, CONNECT_ERROR, TIMEWAIT_EXIT */
		if (raw->event == RDMA_CM_EVENT_UNREACHABLE ||
		    raw->event == RDMA_CM_EVENT_CONNECT_ERROR)
			rid->state = RCM_DISCONNECTED;
		copy_param(evt, rid, raw);
		break;
	}
	return EV_DELIVER;
drop:
	id_ref_put(rid);
	return EV_DROP;
}

/* srxed of dev went away: DEVICE_REMOVAL for each id of chan on it. */
static void device_gone(struct rcm_chan *chan, int index)
{
	struct rcm_dev *dev = rcm_dev_at(index);
	struct rcm_id **ids = NULL;
	size_t n = 0, cap = 0, i;
	struct rcm_id *rid;

	if (!dev)
		return;
	pthread_mutex_lock(&chan->lock);
	if (chan->watched[index])
		epoll_ctl(chan->ch.fd, EPOLL_CTL_DEL, dev->conn.fd, NULL);
	chan->watched[index] = false;
	chan->added[index] = false; /* nothing left to delete in srxed */
	pthread_mutex_unlock(&chan->lock);

	pthread_mutex_lock(&rcm_lock);
	dev->dead = true;
	for (rid = rcm_all_ids; rid; rid = rid->all_next) {
		struct rcm_ep *x;
		bool on;

		if (rid->chan != chan)
			continue;
		on = rid->dev == dev || rid->ep.dev == dev;
		for (x = rid->xeps; x && !on; x = x->next)
			on = x->dev == dev;
		if (!on)
			continue;
		if (n == cap) {
			struct rcm_id **t;

			cap = cap ? 2 * cap : 16;
			t = realloc(ids, cap * sizeof(*ids));
			if (!t)
				break;
			ids = t;
		}
		ids[n++] = rid;
	}
	for (i = 0; i < n; i++)
		rcm_post_local(ids[i], RDMA_CM_EVENT_DEVICE_REMOVAL, 0, 0);
	pthread_mutex_unlock(&rcm_lock);
	free(ids);
}

RCM_EXPORT int rdma_get_cm_event(struct rdma_event_channel *channel,
				 struct rdma_cm_event **event)
{
	struct srxe_cm_event raw;
	struct epoll_event ee[RCM_MAX_DEVS + 1];
	struct rcm_event *evt;
	struct rcm_chan *chan;
	bool nonblock;
	ssize_t n;
	int i, k;

	if (!channel || !event)
		return rcm_err(EINVAL);
	chan = rcm_chan(channel);
	evt = malloc(sizeof(*evt));
	if (!evt)
		return rcm_err(ENOMEM);
	for (;;) {
		n = recv(chan->rd, &raw, sizeof(raw), MSG_DONTWAIT);
		if (n == (ssize_t)sizeof(raw)) {
			pthread_mutex_lock(&chan->lock);
			flush_overflow(chan);
			pthread_mutex_unlock(&chan->lock);
			if (process(chan, evt, &raw) == EV_DELIVER) {
				*event = &evt->ev;
				return 0;
			}
			continue;
		}
		if (n >= 0)
			continue; /* not an event: ignored */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			free(evt);
			return -1;
		}
		pthread_mutex_lock(&chan->lock);
		flush_overflow(chan);
		pthread_mutex_unlock(&chan->lock);

		nonblock = fcntl(channel->fd, F_GETFL) & O_NONBLOCK;
		k = epoll_wait(channel->fd, ee, RCM_MAX_DEVS + 1,
			       nonblock ? 0 : -1);
		if (k < 0 && errno != EINTR) {
			free(evt);
			return -1;
		}
		for (i = 0; i < k; i++)
			if (ee[i].data.u64 != RD_MARK)
				device_gone(chan, (int)ee[i].data.u64);
		if (nonblock && k <= 0) {
			free(evt);
			return rcm_err(EAGAIN);
		}
	}
}

int rcm_complete(struct rcm_id *rid)
{
	struct rdma_cm_event *ev;
	int ret;

	if (!rid->sync)
		return 0;
	if (rid->id.event) {
		rdma_ack_cm_event(rid->id.event);
		rid->id.event = NULL;
	}
	ret = rdma_get_cm_event(rid->id.channel, &rid->id.event);
	if (ret)
		return ret;
	ev = rid->id.event;
	if (!ev->status)
		return 0;
	if (ev->event == RDMA_CM_EVENT_REJECTED)
		return rcm_err(ECONNREFUSED);
	return rcm_err(ev->status < 0 ? -ev->status : ev->status);
}
