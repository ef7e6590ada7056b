// SPDX-License-Identifier: MIT
/* srxed's CM glue: engine QP 1, epoll, timerfd, CM opcodes (cm_ctl.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cm.h"
#include "cm_ctl.h"
#include "conn.h"
#include "engine.h"
#include "log.h"
#include "srxe/proto_cm.h"

#define CM_EVENTS 32
#define RX_BATCH  64

enum { TAG_RX = 1, TAG_TIMER = 2, TAG_CHAN = 3 };

struct rx_mad {
	uint8_t sgid[16], dgid[16];
	uint8_t traffic_class, hop_limit;
	uint32_t flow_label;
	uint8_t mad[SRXE_MAD_LEN];
};

struct srxed_cm {
	struct srxed *d;
	struct srxe_cm *cm;
	int epfd, evfd, tfd;
	/* Filled by the engine thread, drained by the loop. */
	pthread_mutex_t lock;
	struct rx_mad *ring;
	unsigned int head, count;
	uint64_t rx_dropped;
};

static const enum srxed_poll_kind cm_poll_tag = SRXED_POLL_CM;

static uint64_t tag(uint32_t kind, uint32_t val)
{
	return (uint64_t)kind << 32 | val;
}

/* ---- engine side: copy and wake, nothing else ---- */

static void gsi_rx(void *opaque, const struct srxe_gsi_mad *m)
{
	struct srxed_cm *sc = opaque;
	struct rx_mad *r;
	uint64_t one = 1;
	bool wake;

	if (m->len != SRXE_MAD_LEN)
		return;
	pthread_mutex_lock(&sc->lock);
	if (sc->count == SRXED_CM_RXQ) {
		sc->rx_dropped++;
		pthread_mutex_unlock(&sc->lock);
		return;
	}
	r = &sc->ring[(sc->head + sc->count) % SRXED_CM_RXQ];
	memcpy(r->sgid, m->sgid, 16);
	memcpy(r->dgid, m->dgid, 16);
	r->traffic_class = m->traffic_class;
	r->hop_limit = m->hop_limit;
	r->flow_label = m->flow_label;
	memcpy(r->mad, m->mad, SRXE_MAD_LEN);
	wake = sc->count++ == 0;
	pthread_mutex_unlock(&sc->lock);
	if (wake && write(sc->evfd, &one, sizeof(one)) < 0) {
		/* eventfd saturated: the loop is awake anyway */
	}
}

/* ---- CM ops ---- */

static int send_mad(void *opaque, const uint8_t dgid[16], uint8_t tclass,
		    uint8_t hop_limit, const uint8_t mad[SRXE_MAD_LEN])
{
	struct srxed_cm *sc = opaque;
	struct srxe_engine *eng = sc->d->engine;
	const char *why = NULL;
	char gid[INET6_ADDRSTRLEN];
	int ret;

	if (!eng)
		return -ENODEV;
	srxe_engine_lock(eng);
	ret = srxe_eng_gsi_send(eng, dgid, SRXE_GSI_QPN, SRXE_GSI_QKEY, tclass,
				hop_limit, mad, SRXE_MAD_LEN, &why);
	srxe_engine_unlock(eng);
	if (ret) {
		inet_ntop(AF_INET6, dgid, gid, sizeof(gid));
		log_debug("CM: %s to %s not sent: %s",
			  srxe_cm_attr_name((uint16_t)(mad[16] << 8 | mad[17])),
			  gid, why ? why : strerror(-ret));
	}
	return ret;
}

/* The CM's owner is the session of the rdma_cm channel; the process's
 * CQs may be in its other sessions' contexts. */
static uint32_t owner_pid(void *owner)
{
	return (uint32_t)((struct srxed_session *)owner)->cred.pid;
}

static unsigned int unpolled_mark(void *opaque, void *owner,
				  struct srxe_cm_mark *marks, unsigned int max)
{
	struct srxed_cm *sc = opaque;
	struct srxe_engine *eng = sc->d->engine;
	struct srxe_cq_mark m[SRXE_CM_HOLD_MARKS];
	unsigned int n;

	if (!eng)
		return 0;
	if (max > SRXE_CM_HOLD_MARKS)
		max = SRXE_CM_HOLD_MARKS;
	srxe_engine_lock(eng);
	n = srxe_eng_unpolled_mark(eng, owner_pid(owner), m, max);
	srxe_engine_unlock(eng);
	for (unsigned int i = 0; i < n; i++)
		marks[i] = (struct srxe_cm_mark){ m[i].cq_serial, m[i].prod };
	return n;
}

static bool unpolled_since(void *opaque, void *owner,
			   const struct srxe_cm_mark *marks, unsigned int n)
{
	struct srxed_cm *sc = opaque;
	struct srxe_engine *eng = sc->d->engine;
	struct srxe_cq_mark m[SRXE_CM_HOLD_MARKS];
	bool ret;

	if (!eng || n > SRXE_CM_HOLD_MARKS)
		return false;
	for (unsigned int i = 0; i < n; i++)
		m[i] = (struct srxe_cq_mark){ marks[i].cq, marks[i].pos };
	srxe_engine_lock(eng);
	ret = srxe_eng_unpolled_since(eng, owner_pid(owner), m, n);
	srxe_engine_unlock(eng);
	return ret;
}

static int write_event(void *opaque, int fd, const struct srxe_cm_event *ev)
{
	ssize_t n;

	do
		n = send(fd, ev, sizeof(*ev), MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(*ev))
		return 0;
	if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
		return -EAGAIN;
	return n < 0 ? -errno : -EMSGSIZE;
}

static void want_write(void *opaque, int fd, uint32_t chan, bool on)
{
	struct srxed_cm *sc = opaque;
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u64 = tag(TAG_CHAN, chan) };

	if (on)
		epoll_ctl(sc->epfd, EPOLL_CTL_ADD, fd, &ev);
	else
		epoll_ctl(sc->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static uint64_t now_ms(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_timer(void *opaque, uint64_t deadline_ms)
{
	struct srxed_cm *sc = opaque;
	struct itimerspec its = { 0 };

	if (deadline_ms) {
		its.it_value.tv_sec = (time_t)(deadline_ms / 1000);
		its.it_value.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
	}
	timerfd_settime(sc->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void cm_log_line(void *opaque, enum srxe_cm_log_level lvl,
			const char *line)
{
	if (lvl == SRXE_CM_LOG_WARN)
		log_warn("CM: %s", line);
	else if (lvl == SRXE_CM_LOG_INFO)
		log_info("CM: %s", line);
	else
		log_debug("CM: %s", line);
}

static const struct srxe_cm_ops cm_ops = {
	.send_mad = send_mad,
	.write_event = write_event,
	.want_write = want_write,
	.now_ms = now_ms,
	.set_timer = set_timer,
	.log = cm_log_line,
	.unpolled_mark = unpolled_mark,
	.unpolled_since = unpolled_since,
};

/* ---- loop side ---- */

static void free_sc(struct srxed_cm *sc)
{
	srxe_cm_free(sc->cm);
	if (sc->epfd >= 0)
		close(sc->epfd);
	if (sc->evfd >= 0)
		close(sc->evfd);
	if (sc->tfd >= 0)
		close(sc->tfd);
	pthread_mutex_destroy(&sc->lock);
	free(sc->ring);
	free(sc);
}

int srxed_cm_start(struct srxed *d, int server_epoll_fd)
{
	struct srxe_cm_config cfg = { .node_guid = d->dev.node_guid,
				      .ca_ack_delay = 15 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct srxed_cm *sc = calloc(1, sizeof(*sc));
	int ret;

	if (!sc)
		return -ENOMEM;
	sc->d = d;
	sc->epfd = sc->evfd = sc->tfd = -1;
	pthread_mutex_init(&sc->lock, NULL);
	sc->ring = calloc(SRXED_CM_RXQ, sizeof(*sc->ring));
	sc->epfd = epoll_create1(EPOLL_CLOEXEC);
	sc->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!sc->ring || sc->epfd < 0 || sc->evfd < 0 || sc->tfd < 0)
		goto fail_errno;
	ev.data.u64 = tag(TAG_RX, 0);
	if (epoll_ctl(sc->epfd, EPOLL_CTL_ADD, sc->evfd, &ev) < 0)
		goto fail_errno;
	ev.data.u64 = tag(TAG_TIMER, 0);
	if (epoll_ctl(sc->epfd, EPOLL_CTL_ADD, sc->tfd, &ev) < 0)
		goto fail_errno;
	ret = srxe_cm_create(&cfg, &cm_ops, sc, &sc->cm);
	if (ret)
		goto fail;
	ev.data.ptr = (void *)&cm_poll_tag;
	if (epoll_ctl(server_epoll_fd, EPOLL_CTL_ADD, sc->epfd, &ev) < 0)
		goto fail_errno;
	d->cm = sc;
	if (d->engine) {
		srxe_engine_lock(d->engine);
		srxe_eng_set_gsi_rx(d->engine, gsi_rx, sc);
		srxe_engine_unlock(d->engine);
	}
	return 0;
fail_errno:
	ret = -errno;
fail:
	log_err("cannot start the connection manager: %s", strerror(-ret));
	free_sc(sc);
	return ret;
}

static void drain_rx(struct srxed_cm *sc)
{
	struct rx_mad batch[RX_BATCH];
	struct srxe_cm_rx rx;
	unsigned int n, i;
	uint64_t v;

	if (read(sc->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("CM: eventfd read: %s", strerror(errno));
	do {
		pthread_mutex_lock(&sc->lock);
		for (n = 0; n < RX_BATCH && sc->count; n++) {
			batch[n] = sc->ring[sc->head];
			sc->head = (sc->head + 1) % SRXED_CM_RXQ;
			sc->count--;
		}
		pthread_mutex_unlock(&sc->lock);
		/* Outside the queue lock: answers to ourselves come back
		 * through gsi_rx() while we send. */
		for (i = 0; i < n; i++) {
			memset(&rx, 0, sizeof(rx));
			memcpy(rx.sgid, batch[i].sgid, 16);
			memcpy(rx.dgid, batch[i].dgid, 16);
			rx.traffic_class = batch[i].traffic_class;
			rx.hop_limit = batch[i].hop_limit;
			rx.flow_label = batch[i].flow_label;
			rx.mad = batch[i].mad;
			rx.len = SRXE_MAD_LEN;
			srxe_cm_input(sc->cm, &rx);
		}
	} while (n == RX_BATCH);
}

void srxed_cm_event(struct srxed *d)
{
	struct srxed_cm *sc = d->cm;
	struct epoll_event evs[CM_EVENTS];
	uint64_t v;
	int i, n;

	if (!sc)
		return;
	n = epoll_wait(sc->epfd, evs, CM_EVENTS, 0);
	for (i = 0; i < n; i++) {
		switch (evs[i].data.u64 >> 32) {
		case TAG_RX:
			drain_rx(sc);
			break;
		case TAG_TIMER:
			if (read(sc->tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_debug("CM: timerfd read: %s",
					  strerror(errno));
			srxe_cm_timer(sc->cm);
			break;
		case TAG_CHAN:
			srxe_cm_chan_writable(sc->cm,
					      (uint32_t)evs[i].data.u64);
			break;
		}
	}
}

void srxed_cm_status(struct srxed *d, struct srxe_status_resp *out)
{
	struct srxed_cm *sc = d->cm;
	struct srxe_cm_stats st;

	if (!sc)
		return;
	srxe_cm_get_stats(sc->cm, &st);
	out->cm_channels = st.channels;
	out->cm_listens = st.listens;
	out->cm_conns = st.conns;
	out->cm_mads_in = st.mads_in;
	out->cm_mads_bad = st.mads_bad;
	out->cm_mads_unmatched = st.mads_unmatched;
	pthread_mutex_lock(&sc->lock);
	out->cm_mads_lost = sc->rx_dropped;
	pthread_mutex_unlock(&sc->lock);
	out->cm_mads_out = st.mads_out;
	out->cm_retries = st.retries;
	out->cm_timeouts = st.timeouts;
	out->cm_reqs_dropped = st.reqs_dropped;
	out->cm_events_dropped = st.events_dropped;
	out->cm_disconnects_held = st.disconnects_held;
}

void srxed_cm_stop(struct srxed *d)
{
	struct srxed_cm *sc = d->cm;
	struct srxe_cm_stats st;

	if (!sc)
		return;
	if (d->engine) {
		srxe_engine_lock(d->engine);
		srxe_eng_set_gsi_rx(d->engine, NULL, NULL);
		srxe_engine_unlock(d->engine);
	}
	srxe_cm_get_stats(sc->cm, &st);
	log_info("CM: %llu MADs in (%llu malformed, %llu unmatched, %llu "
		 "dropped on a full queue), %llu out, %llu REQs dropped "
		 "(backlog), %llu retries, %llu timeouts",
		 (unsigned long long)st.mads_in,
		 (unsigned long long)st.mads_bad,
		 (unsigned long long)st.mads_unmatched,
		 (unsigned long long)sc->rx_dropped,
		 (unsigned long long)st.mads_out,
		 (unsigned long long)st.reqs_dropped,
		 (unsigned long long)st.retries,
		 (unsigned long long)st.timeouts);
	free_sc(sc);
	d->cm = NULL;
}

void srxed_cm_session_gone(struct srxed *d, struct srxed_session *s)
{
	struct srxe_cm_stats before, after;

	if (!d->cm)
		return;
	srxe_cm_get_stats(d->cm->cm, &before);
	srxe_cm_owner_gone(d->cm->cm, s);
	srxe_cm_get_stats(d->cm->cm, &after);
	if (before.channels != after.channels ||
	    before.listens != after.listens || before.conns != after.conns)
		log_info("client %llu: CM state released (%u channels, %u "
			 "listens, %u connections freed; established ones sit "
			 "out "
			 "TimeWait)",
			 (unsigned long long)s->id,
			 before.channels - after.channels,
			 before.listens - after.listens,
			 before.conns - after.conns);
}

/* ---- requests ---- */

static int say(char *why, int err, const char *msg)
{
	snprintf(why, SRXE_REASON_MAX + 1, "%s", msg);
	return err;
}

/* Events are datagrams: the channel must keep message boundaries. */
static int check_channel_fd(int fd, char *why)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (fd < 0)
		return say(why, EINVAL,
			   "CM_ADD_CHANNEL needs the channel socket as "
			   "SCM_RIGHTS");
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return say(why, EINVAL, "the event channel fd is not a socket");
	if (type != SOCK_SEQPACKET && type != SOCK_DGRAM)
		return say(why, EINVAL,
			   "the event channel must be a SOCK_SEQPACKET or "
			   "SOCK_DGRAM socket");
	return 0;
}

static const char *ps_name(uint16_t ps)
{
	switch (ps) {
	case SRXE_CM_PS_TCP:
		return "TCP";
	case SRXE_CM_PS_UDP:
		return "UDP";
	case SRXE_CM_PS_IB:
		return "IB";
	case SRXE_CM_PS_IPOIB:
		return "IPOIB";
	}
	return "?";
}

int srxed_cm_request(struct srxed *d, struct srxed_session *s, uint16_t opcode,
		     const void *body, int *fd, union srxed_cm_reply *rep,
		     char *why)
{
	const struct srxe_cm_handle_req *hr = body;
	unsigned long long id = (unsigned long long)s->id;
	struct srxe_cm *cm;
	const char *w = "?";
	int ret;

	if (!d->cm)
		return say(why, EOPNOTSUPP,
			   "this srxed runs without a connection manager");
	cm = d->cm->cm;
	switch (opcode) {
	case SRXE_OP_CM_DEL_CHANNEL:
	case SRXE_OP_CM_ESTABLISH:
	case SRXE_OP_CM_DISCONNECT:
	case SRXE_OP_CM_DESTROY:
	case SRXE_OP_CM_NOTIFY:
		if (hr->reserved)
			return say(why, EINVAL, "reserved field must be 0");
		break;
	}
	switch (opcode) {
	case SRXE_OP_CM_ADD_CHANNEL:
		ret = check_channel_fd(*fd, why);
		if (ret)
			return ret;
		ret = srxe_cm_add_channel(cm, s, *fd,
					  &rep->add_channel.chan_handle, &w);
		if (!ret) {
			*fd = -1;
			log_debug("client %llu: CM channel %u", id,
				  rep->add_channel.chan_handle);
		}
		break;
	case SRXE_OP_CM_DEL_CHANNEL:
		ret = srxe_cm_del_channel(cm, s, hr->handle, &w);
		break;
	case SRXE_OP_CM_LISTEN: {
		const struct srxe_cm_listen_req *r = body;

		ret = srxe_cm_listen(cm, s, s->cred.uid, r, &rep->handle.handle,
				     &w);
		if (!ret)
			log_info("client %llu: CM listen %s port %u backlog "
				 "%d (handle 0x%x)",
				 id, ps_name(r->port_space), r->addr.port,
				 r->backlog, rep->handle.handle);
		break;
	}
	case SRXE_OP_CM_CONNECT: {
		const struct srxe_cm_connect_req *r = body;
		char gid[INET6_ADDRSTRLEN];

		ret = srxe_cm_connect(cm, s, r, &rep->handle.handle, &w);
		if (!ret) {
			inet_ntop(AF_INET6, r->path.dgid, gid, sizeof(gid));
			log_info("client %llu: CM connect %s port %u to %s "
				 "QPN 0x%x (handle 0x%x)",
				 id, ps_name(r->port_space), r->dst.port, gid,
				 r->param.qp_num, rep->handle.handle);
		}
		break;
	}
	case SRXE_OP_CM_ACCEPT:
		ret = srxe_cm_accept(cm, s, body, &w);
		if (!ret)
			log_debug("client %llu: CM accept 0x%x", id,
				  ((const struct srxe_cm_accept_req *)body)
					  ->conn_handle);
		break;
	case SRXE_OP_CM_REJECT:
		ret = srxe_cm_reject(cm, s, body, &w);
		break;
	case SRXE_OP_CM_ESTABLISH:
		ret = srxe_cm_establish(cm, s, hr->handle, &w);
		break;
	case SRXE_OP_CM_DISCONNECT:
		ret = srxe_cm_disconnect(cm, s, hr->handle, &w);
		break;
	case SRXE_OP_CM_DESTROY:
		ret = srxe_cm_destroy(cm, s, hr->handle, &w);
		break;
	case SRXE_OP_CM_NOTIFY:
		ret = srxe_cm_notify(cm, s, hr->handle, &w);
		break;
	case SRXE_OP_CM_MIGRATE:
		ret = srxe_cm_migrate(cm, s, body, &w);
		break;
	default:
		return say(why, EOPNOTSUPP, "not a CM opcode");
	}
	if (ret)
		say(why, ret, w);
	return ret;
}
