// SPDX-License-Identifier: MIT
/*
 * The rsocket family of librdmacm (<rdma/rsocket.h>): stream sockets over
 * RC QPs, speaking rdma-core's rsocket protocol (rsocket_wire.h), so that
 * rstream, rcopy and librspreload users run over srxe and talk to
 * rsockets elsewhere.  This file: the socket numbers, connection set-up
 * through this library's rdma_cm, transfers' entry points, shutdown and
 * close; rsocket_stream.c moves the bytes, rsocket_poll.c and
 * rsocket_opt.c serve rpoll/rselect and options, rsocket_iomap.c riomap
 * and riowrite, rsocket_dgram.c datagram rsockets (SOCK_DGRAM).
 * docs/rdmacm.md "rsockets".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <rdma/rsocket.h>

#include "rsocket_int.h"

#define RS_DEF_QP     384u
#define RS_DEF_INLINE 64u
#define RS_RESOLVE_MS 2000
/* Sends a close waits for: the peer acks them, or RC's retries give up
 * (7 x about 2 s on RoCE) first; this only bounds a stuck peer. */
#define RS_SHUTDOWN_MS 60000
#define RS_MAX_BACKLOG 256u
#define RS_ACCEPT_S    10
#define RS_TABLE_PAGE  1024
#define RS_TABLE_PAGES 1024

/* fd -> rsocket, two levels so that any fd below 1M fits. */
static struct rsock *_Atomic *rs_table[RS_TABLE_PAGES];
static pthread_mutex_t rs_table_lock = PTHREAD_MUTEX_INITIALIZER;

struct rsock *rs_get(int fd)
{
	struct rsock *_Atomic *page;

	if (fd < 0 || fd >= RS_TABLE_PAGE * RS_TABLE_PAGES)
		return NULL;
	page = __atomic_load_n(&rs_table[fd / RS_TABLE_PAGE], __ATOMIC_ACQUIRE);
	return page ? atomic_load(&page[fd % RS_TABLE_PAGE]) : NULL;
}

static int rs_set(int fd, struct rsock *rs)
{
	struct rsock *_Atomic *page;
	int ret = 0;

	if (fd < 0 || fd >= RS_TABLE_PAGE * RS_TABLE_PAGES)
		return -EMFILE;
	pthread_mutex_lock(&rs_table_lock);
	page = rs_table[fd / RS_TABLE_PAGE];
	if (!page) {
		page = calloc(RS_TABLE_PAGE, sizeof(*page));
		if (page)
			__atomic_store_n(&rs_table[fd / RS_TABLE_PAGE], page,
					 __ATOMIC_RELEASE);
		else
			ret = -ENOMEM;
	}
	if (page)
		atomic_store(&page[fd % RS_TABLE_PAGE], rs);
	pthread_mutex_unlock(&rs_table_lock);
	return ret;
}

int rs_fail(int err)
{
	errno = err;
	return -1;
}

uint64_t rs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool rs_spin_over(struct rs_spin *s)
{
	uint64_t now;

	if (++s->rounds % RS_SPIN_CLOCK_EVERY)
		return false;
	now = rs_now_ns();
	if (!s->end)
		s->end = now + RS_SPIN_NS;
	return now >= s->end;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static const struct rs_opts rs_default_opts = {
	.sbuf_size = RS_DEF_BUF,
	.rbuf_size = RS_DEF_BUF,
	.sq_size = RS_DEF_QP,
	.rq_size = RS_DEF_QP,
	.inline_size = RS_DEF_INLINE,
	.nodelay = 1,
};

static struct rsock *rs_alloc(const struct rs_opts *opt)
{
	struct rsock *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	pthread_mutex_init(&rs->lock, NULL);
	pthread_mutex_init(&rs->wait_lock, NULL);
	rs->opt = *opt;
	return rs;
}

static void rs_dealloc(struct rsock *rs)
{
	int err = errno;

	pthread_mutex_destroy(&rs->lock);
	pthread_mutex_destroy(&rs->wait_lock);
	free(rs);
	errno = err;
}

/*
 * A socket with its own event channel.  @id (a connect request's) is moved
 * onto it; without one, a new id is made.  On failure NULL with errno, and
 * @id is still the caller's.
 */
static struct rsock *rs_new(struct rdma_cm_id *id, const struct rs_opts *opt)
{
	struct rsock *rs = rs_alloc(opt);
	struct rdma_cm_id *own = NULL;
	int err;

	if (!rs)
		return NULL;
	rs->chan = rdma_create_event_channel();
	if (!rs->chan)
		goto free;
	set_nonblock(rs->chan->fd);
	rs->fd = rs->chan->fd;
	if (id ? rdma_migrate_id(id, rs->chan)
	       : rdma_create_id(rs->chan, &own, rs, RDMA_PS_TCP))
		goto channel;
	rs->id = id ? id : own;
	rs->id->context = rs;
	err = -rs_set(rs->fd, rs);
	if (!err)
		return rs;
	errno = err;
	if (own)
		rdma_destroy_id(own);
channel:
	err = errno;
	rdma_destroy_event_channel(rs->chan);
	errno = err;
free:
	rs_dealloc(rs);
	return NULL;
}

static struct rsock *rs_new_dgram(int domain)
{
	struct rsock *rs = rs_alloc(&rs_default_opts);
	int err;

	if (!rs)
		return NULL;
	if (rs_dgram_open(rs, domain)) {
		rs_dealloc(rs);
		return NULL;
	}
	err = -rs_set(rs->fd, rs);
	if (!err)
		return rs;
	rs_dgram_free(rs);
	rs_dealloc(rs);
	errno = err;
	return NULL;
}

static void reject_pending(struct rsock *rs)
{
	unsigned int i;

	for (i = 0; i < rs->npend; i++) {
		rdma_reject(rs->pend[i].id, NULL, 0);
		rdma_destroy_id(rs->pend[i].id);
	}
	rs->npend = 0;
}

static void rs_free(struct rsock *rs)
{
	rs_keepalive_forget(rs);
	rs_set(rs->fd, NULL);
	if (rs->dg) {
		rs_dgram_free(rs);
		rs_dealloc(rs);
		return;
	}
	reject_pending(rs);
	free(rs->pend);
	if (rs->cq && rs->phase == RS_CONNECTED)
		rdma_disconnect(rs->id);
	rs_iomap_release(rs);
	rs_stream_teardown(rs);
	if (rs->id)
		rdma_destroy_id(rs->id);
	rdma_destroy_event_channel(rs->chan);
	rs_dealloc(rs);
}

struct rsock *rs_lock(int fd)
{
	struct rsock *rs = rs_get(fd);

	if (!rs) {
		errno = EBADF;
		return NULL;
	}
	pthread_mutex_lock(&rs->lock);
	return rs;
}

void rs_unlock(struct rsock *rs)
{
	int err = errno;

	pthread_mutex_unlock(&rs->lock);
	errno = err;
}

int rs_unlock_ret(struct rsock *rs, int ret)
{
	rs_unlock(rs);
	return ret;
}

static bool nonblocking(const struct rsock *rs, int flags)
{
	return (rs->fflags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
}

RSOCKET_EXPORT int rsocket(int domain, int type, int protocol)
{
	int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct rsock *rs;

	if (domain != AF_INET && domain != AF_INET6)
		return rs_fail(EAFNOSUPPORT);
	if (kind == SOCK_DGRAM) {
		if (protocol && protocol != IPPROTO_UDP)
			return rs_fail(EPROTONOSUPPORT);
		rs = rs_new_dgram(domain);
	} else if (kind == SOCK_STREAM) {
		if (protocol && protocol != IPPROTO_TCP)
			return rs_fail(EPROTONOSUPPORT);
		rs = rs_new(NULL, &rs_default_opts);
	} else {
		return rs_fail(EPROTONOSUPPORT);
	}
	if (!rs)
		return -1;
	if (type & SOCK_NONBLOCK)
		rs->fflags |= O_NONBLOCK;
	return rs->fd;
}

RSOCKET_EXPORT int rbind(int socket, const struct sockaddr *addr,
			 socklen_t addrlen)
{
	struct rsock *rs = rs_lock(socket);
	int ret;

	if (!rs)
		return -1;
	if (rs->dg)
		return rs_unlock_ret(rs, rs_dgram_bind(rs, addr, addrlen));
	ret = rdma_bind_addr(rs->id, (struct sockaddr *)addr);
	if (!ret)
		rs->phase = RS_BOUND;
	return rs_unlock_ret(rs, ret);
}

RSOCKET_EXPORT int rlisten(int socket, int backlog)
{
	struct rsock *rs = rs_lock(socket);
	unsigned int n = backlog > 0 ? (unsigned int)backlog : 1;

	if (!rs)
		return -1;
	if (rs->dg)
		return rs_unlock_ret(rs, rs_fail(EOPNOTSUPP));
	if (rs->phase == RS_LISTENING)
		return rs_unlock_ret(rs, 0);
	if (n > RS_MAX_BACKLOG)
		n = RS_MAX_BACKLOG;
	rs->pend = calloc(n, sizeof(*rs->pend));
	if (!rs->pend)
		return rs_unlock_ret(rs, rs_fail(ENOMEM));
	if (rdma_listen(rs->id, (int)n)) {
		free(rs->pend);
		rs->pend = NULL;
		return rs_unlock_ret(rs, -1);
	}
	rs->backlog = n;
	rs->phase = RS_LISTENING;
	return rs_unlock_ret(rs, 0);
}

/* Queues a connect request for raccept; when the backlog is full, rejects
 * it and returns its id, which the caller destroys once the event is
 * acked (an id with an unacked event cannot be destroyed). */
static struct rdma_cm_id *take_request(struct rsock *rs,
				       struct rdma_cm_event *ev)
{
	struct rs_pending *p;

	if (rs->npend == rs->backlog) {
		rdma_reject(ev->id, NULL, 0);
		return ev->id;
	}
	p = &rs->pend[rs->npend++];
	memset(p, 0, sizeof(*p));
	p->id = ev->id;
	p->param = ev->param.conn;
	p->conn_ok = ev->param.conn.private_data &&
		     ev->param.conn.private_data_len >= sizeof(p->conn);
	if (p->conn_ok)
		memcpy(&p->conn, ev->param.conn.private_data, sizeof(p->conn));
	p->conn_ok = p->conn_ok && p->conn.version == RSW_VERSION;
	p->param.private_data = NULL;
	p->param.private_data_len = 0;
	return NULL;
}

static void connect_failed(struct rsock *rs, int err)
{
	rs->phase = RS_FAILED;
	rs->err = err;
}

static void start_connect(struct rsock *rs)
{
	struct rsw_conn conn;
	struct rdma_conn_param param = {
		.private_data = &conn,
		.private_data_len = sizeof(conn),
		.flow_control = 1,
		.retry_count = 7,
		.rnr_retry_count = 7,
	};

	if (rs_stream_setup(rs))
		return connect_failed(rs, errno ? errno : ENOMEM);
	rs_stream_conn(rs, &conn);
	if (rdma_connect(rs->id, &param))
		return connect_failed(rs, errno);
	rs->phase = RS_CONNECTING;
}

static void established(struct rsock *rs, const struct rdma_cm_event *ev)
{
	struct rsw_conn conn;

	if (!ev->param.conn.private_data ||
	    ev->param.conn.private_data_len < sizeof(conn))
		return connect_failed(rs, EPROTO);
	memcpy(&conn, ev->param.conn.private_data, sizeof(conn));
	if (conn.version != RSW_VERSION)
		return connect_failed(rs, ENOTSUP);
	rs_stream_peer(rs, &conn);
	rs->phase = RS_CONNECTED;
	rs_keepalive_update(rs);
}

static int cm_status_err(const struct rdma_cm_event *ev, int dflt)
{
	if (ev->event == RDMA_CM_EVENT_REJECTED)
		return ECONNREFUSED;
	if (ev->status < 0)
		return -ev->status;
	return dflt;
}

/*
 * The connection ended under the socket.  A peer that closed sent its
 * DISCONNECT (or SHUTDOWN) first, which the completions still waiting may
 * hold: without one, the peer went away (killed, its device gone) and the
 * socket reports @err once its received bytes are read, as TCP does after
 * a reset.
 */
static void peer_gone(struct rsock *rs, int err)
{
	rs_stream_progress(rs);
	if (rs->readable && !rs->err)
		rs->err = err;
	rs->readable = rs->writable = false;
	rs->dead = true;
}

/* One CM event of an active or connected socket. */
static void on_event(struct rsock *rs, struct rdma_cm_event *ev)
{
	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		if (rdma_resolve_route(rs->id, RS_RESOLVE_MS))
			connect_failed(rs, errno);
		else
			rs->phase = RS_RESOLVING_ROUTE;
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		start_connect(rs);
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		if (rs->phase == RS_CONNECTING && rs->passive) {
			rs->phase = RS_CONNECTED;
			rs_keepalive_update(rs);
		} else if (rs->phase == RS_CONNECTING)
			established(rs, ev);
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
		connect_failed(rs, cm_status_err(ev, EHOSTUNREACH));
		break;
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
		if (rs->phase != RS_CONNECTED)
			connect_failed(rs, cm_status_err(ev, ETIMEDOUT));
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		peer_gone(rs, ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL
				      ? ENODEV
				      : ECONNRESET);
		break;
	default:
		break;
	}
}

void rs_cm_drain(struct rsock *rs)
{
	struct rdma_cm_event *ev;
	struct rdma_cm_id *refused;

	if (!rs->chan)
		return; /* a datagram rsocket's */
	while (!rdma_get_cm_event(rs->chan, &ev)) {
		refused = NULL;
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST)
			refused = take_request(rs, ev);
		else if (rs->phase != RS_LISTENING)
			on_event(rs, ev);
		rdma_ack_cm_event(ev);
		if (refused)
			rdma_destroy_id(refused);
	}
}

/* Waits, unlocked, for the socket's CM channel. */
static void wait_chan(struct rsock *rs, int timeout_ms)
{
	struct pollfd p = { rs->chan->fd, POLLIN, 0 };

	pthread_mutex_unlock(&rs->lock);
	poll(&p, 1, timeout_ms);
	pthread_mutex_lock(&rs->lock);
}

/*
 * Until the peer's RTU (ESTABLISHED), its QP may not take packets yet:
 * what this side sent before would be dropped and wait a retransmission
 * timeout (about 2 s on RoCE).  The grant that every new stream sends
 * first would do so, so accept waits the one round trip.
 */
static int wait_established(struct rsock *rs)
{
	uint64_t end = rs_now_ns() + RS_ACCEPT_S * 1000000000ull;

	for (;;) {
		rs_cm_drain(rs);
		if (rs->phase != RS_CONNECTING)
			return rs->phase == RS_CONNECTED ? 0 : -1;
		if (rs_now_ns() > end)
			return -1;
		wait_chan(rs, 1000);
	}
}

static struct rsock *accept_one(struct rsock *ls)
{
	struct rs_pending p = ls->pend[0];
	struct rsw_conn conn;
	struct rsock *rs;
	int ret;

	memmove(ls->pend, ls->pend + 1, --ls->npend * sizeof(*ls->pend));
	if (!p.conn_ok) {
		rdma_reject(p.id, NULL, 0);
		rdma_destroy_id(p.id);
		errno = ECONNABORTED;
		return NULL;
	}
	rs = rs_new(p.id, &ls->opt);
	if (!rs) {
		rdma_reject(p.id, NULL, 0);
		rdma_destroy_id(p.id);
		return NULL;
	}
	rs->fflags = ls->fflags;
	rs->passive = true;
	if (rs_stream_setup(rs))
		goto fail;
	rs_stream_peer(rs, &p.conn);
	rs_stream_conn(rs, &conn);
	p.param.private_data = &conn;
	p.param.private_data_len = sizeof(conn);
	if (rdma_accept(rs->id, &p.param))
		goto fail;
	rs->phase = RS_CONNECTING;
	pthread_mutex_lock(&rs->lock);
	ret = wait_established(rs);
	pthread_mutex_unlock(&rs->lock);
	if (ret)
		goto fail;
	return rs;
fail:
	rdma_reject(rs->id, NULL, 0);
	rs_free(rs);
	errno = ECONNABORTED;
	return NULL;
}

RSOCKET_EXPORT int raccept(int socket, struct sockaddr *addr,
			   socklen_t *addrlen)
{
	struct rsock *ls = rs_lock(socket), *rs;

	if (!ls)
		return -1;
	if (ls->dg)
		return rs_unlock_ret(ls, rs_fail(EOPNOTSUPP));
	if (ls->phase != RS_LISTENING)
		return rs_unlock_ret(ls, rs_fail(EINVAL));
	for (;;) {
		rs_cm_drain(ls);
		if (ls->npend)
			break;
		if (ls->fflags & O_NONBLOCK)
			return rs_unlock_ret(ls, rs_fail(EAGAIN));
		wait_chan(ls, -1);
	}
	rs = accept_one(ls);
	pthread_mutex_unlock(&ls->lock);
	if (!rs)
		return -1;
	if (addr && addrlen)
		rgetpeername(rs->fd, addr, addrlen);
	return rs->fd;
}

/* Drives set-up to CONNECTED or FAILED; 0 once connected. */
static int connect_result(struct rsock *rs, bool nonblock)
{
	for (;;) {
		rs_cm_drain(rs);
		if (rs->phase == RS_CONNECTED)
			return 0;
		if (rs->phase == RS_FAILED) {
			int err = rs->err;

			rs->err = 0;
			return rs_fail(err);
		}
		if (nonblock)
			return rs_fail(EINPROGRESS);
		wait_chan(rs, -1);
	}
}

RSOCKET_EXPORT int rconnect(int socket, const struct sockaddr *addr,
			    socklen_t addrlen)
{
	struct rsock *rs = rs_lock(socket);
	struct sockaddr *src = NULL;

	if (!rs)
		return -1;
	if (rs->dg)
		return rs_unlock_ret(rs, rs_dgram_connect(rs, addr, addrlen));
	if (rs->phase == RS_CONNECTED)
		return rs_unlock_ret(rs, rs_fail(EISCONN));
	if (rs->phase >= RS_RESOLVING_ADDR && rs->phase <= RS_CONNECTING)
		return rs_unlock_ret(rs, rs_fail(EALREADY));
	if (rs->phase == RS_LISTENING)
		return rs_unlock_ret(rs, rs_fail(EINVAL));
	if (rs->phase == RS_BOUND)
		src = rdma_get_local_addr(rs->id);
	if (rdma_resolve_addr(rs->id, src, (struct sockaddr *)addr,
			      RS_RESOLVE_MS))
		return rs_unlock_ret(rs, -1);
	rs->phase = RS_RESOLVING_ADDR;
	return rs_unlock_ret(rs, connect_result(rs, rs->fflags & O_NONBLOCK));
}

/* For a call that needs a connection: finishes a non-blocking connect. */
int rs_need_connected(struct rsock *rs)
{
	if (rs->phase >= RS_RESOLVING_ADDR && rs->phase <= RS_CONNECTING) {
		if (connect_result(rs, true))
			return rs_fail(errno == EINPROGRESS ? EAGAIN : errno);
	}
	if (rs->phase != RS_CONNECTED)
		return rs_fail(ENOTCONN);
	return 0;
}

/* Shutting down clears readable/writable first: these wait on the QP
 * itself (every send completed, or the connection is dead). */
static bool sends_done(const struct rsock *rs)
{
	return rs_stream_sends_done(rs) || rs->dead;
}

static bool ctrl_room_or_dead(const struct rsock *rs)
{
	return rs->ctrl_seq != rs->ctrl_max || rs->dead;
}

static int shutdown_locked(struct rsock *rs, int how)
{
	enum rsw_ctrl ctrl = RSW_CTRL_DISCONNECT;
	bool was_live = rs->readable || rs->writable;

	if (rs->phase != RS_CONNECTED)
		return rs_fail(ENOTCONN);
	if (how == SHUT_RD || how == SHUT_RDWR)
		rs->readable = false;
	if (how == SHUT_WR || how == SHUT_RDWR) {
		if (rs->readable)
			ctrl = RSW_CTRL_SHUTDOWN;
		rs->writable = false;
	}
	if (!was_live || (how == SHUT_RD && rs->writable))
		return 0;
	rs->phase = RS_CONNECTED;
	if (!rs_wait(rs, ctrl_room_or_dead, false, RS_SHUTDOWN_MS))
		rs_stream_ctrl(rs, ctrl);
	rs_wait(rs, sends_done, false, RS_SHUTDOWN_MS);
	return 0;
}

RSOCKET_EXPORT int rshutdown(int socket, int how)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	if (rs->dg)
		return rs_unlock_ret(rs, rs_dgram_shutdown(rs, how));
	return rs_unlock_ret(rs, shutdown_locked(rs, how));
}

RSOCKET_EXPORT int rclose(int socket)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	if (rs->dg)
		rs_dgram_shutdown(rs, SHUT_RDWR);
	else if (rs->phase == RS_CONNECTED && (rs->readable || rs->writable))
		shutdown_locked(rs, SHUT_RDWR);
	pthread_mutex_unlock(&rs->lock);
	rs_free(rs);
	return 0;
}

static bool is_dgram(int socket)
{
	struct rsock *rs = rs_get(socket);

	return rs && rs->dg;
}

/* One datagram, described by @msg, in or @out. */
static ssize_t dgram_xfer(int socket, struct msghdr *msg, int flags, bool out)
{
	struct rsock *rs = rs_lock(socket);
	ssize_t ret;

	if (!rs)
		return -1;
	ret = out ? rs_dgram_send(rs, msg, nonblocking(rs, flags))
		  : rs_dgram_recv(rs, msg, flags, nonblocking(rs, flags));
	rs_unlock(rs);
	return ret;
}

static ssize_t dgram_one(int socket, void *buf, size_t len, int flags,
			 struct sockaddr *addr, socklen_t *addrlen, bool out)
{
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_name = addr,
			      .msg_namelen = addr && addrlen ? *addrlen : 0,
			      .msg_iov = &iov,
			      .msg_iovlen = 1 };
	ssize_t ret = dgram_xfer(socket, &msg, flags, out);

	if (ret >= 0 && !out && addr && addrlen)
		*addrlen = msg.msg_namelen;
	return ret;
}

RSOCKET_EXPORT ssize_t rrecv(int socket, void *buf, size_t len, int flags)
{
	struct rsock *rs;
	ssize_t ret;

	if (is_dgram(socket))
		return dgram_one(socket, buf, len, flags, NULL, NULL, false);
	rs = rs_lock(socket);
	if (!rs)
		return -1;
	if (rs_need_connected(rs))
		return rs_unlock_ret(rs, -1);
	ret = rs_stream_recv(rs, buf, len, flags, nonblocking(rs, flags));
	pthread_mutex_unlock(&rs->lock);
	return ret;
}

RSOCKET_EXPORT ssize_t rrecvfrom(int socket, void *buf, size_t len, int flags,
				 struct sockaddr *src_addr, socklen_t *addrlen)
{
	ssize_t ret;

	if (is_dgram(socket))
		return dgram_one(socket, buf, len, flags, src_addr, addrlen,
				 false);
	ret = rrecv(socket, buf, len, flags);
	if (ret >= 0 && src_addr && addrlen)
		rgetpeername(socket, src_addr, addrlen);
	return ret;
}

RSOCKET_EXPORT ssize_t rsend(int socket, const void *buf, size_t len, int flags)
{
	struct rsock *rs;
	ssize_t ret;

	if (is_dgram(socket))
		return dgram_one(socket, (void *)buf, len, flags, NULL, NULL,
				 true);
	rs = rs_lock(socket);
	if (!rs)
		return -1;
	if (rs_need_connected(rs))
		return rs_unlock_ret(rs, -1);
	ret = rs_stream_send(rs, buf, len, nonblocking(rs, flags));
	pthread_mutex_unlock(&rs->lock);
	return ret;
}

RSOCKET_EXPORT ssize_t rsendto(int socket, const void *buf, size_t len,
			       int flags, const struct sockaddr *dest_addr,
			       socklen_t addrlen)
{
	if (is_dgram(socket))
		return dgram_one(socket, (void *)buf, len, flags,
				 (struct sockaddr *)dest_addr, &addrlen, true);
	return rsend(socket, buf, len, flags);
}

/* Each iovec in turn until one is short (would block, or EOF); a
 * datagram rsocket's are one message. */
static ssize_t each_iov(int socket, const struct iovec *iov, int iovcnt,
			int flags, bool out)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov,
			      .msg_iovlen = iovcnt > 0 ? (size_t)iovcnt : 0 };
	ssize_t total = 0, n = 0;
	int i;

	if (is_dgram(socket))
		return dgram_xfer(socket, &msg, flags, out);
	for (i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		n = out ? rsend(socket, iov[i].iov_base, iov[i].iov_len, flags)
			: rrecv(socket, iov[i].iov_base, iov[i].iov_len, flags);
		if (n <= 0)
			break;
		total += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return total ? total : n;
}

RSOCKET_EXPORT ssize_t rrecvmsg(int socket, struct msghdr *msg, int flags)
{
	if (is_dgram(socket))
		return dgram_xfer(socket, msg, flags, false);
	return each_iov(socket, msg->msg_iov, (int)msg->msg_iovlen, flags,
			false);
}

RSOCKET_EXPORT ssize_t rsendmsg(int socket, const struct msghdr *msg, int flags)
{
	struct msghdr copy;

	if (is_dgram(socket)) {
		copy = *msg;
		return dgram_xfer(socket, &copy, flags, true);
	}
	return each_iov(socket, msg->msg_iov, (int)msg->msg_iovlen, flags,
			true);
}

RSOCKET_EXPORT ssize_t rread(int socket, void *buf, size_t count)
{
	return rrecv(socket, buf, count, 0);
}

RSOCKET_EXPORT ssize_t rreadv(int socket, const struct iovec *iov, int iovcnt)
{
	return each_iov(socket, iov, iovcnt, 0, false);
}

RSOCKET_EXPORT ssize_t rwrite(int socket, const void *buf, size_t count)
{
	return rsend(socket, buf, count, 0);
}

RSOCKET_EXPORT ssize_t rwritev(int socket, const struct iovec *iov, int iovcnt)
{
	return each_iov(socket, iov, iovcnt, 0, true);
}
