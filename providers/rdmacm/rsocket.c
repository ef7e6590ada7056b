// SPDX-License-Identifier: MIT
/*
 * The rsocket family of librdmacm (<rdma/rsocket.h>): stream sockets over
 * RC QPs, speaking rdma-core's rsocket protocol (rsocket_wire.h), so that
 * rstream, rcopy and librspreload users run over srxe and talk to
 * rsockets elsewhere.  This file: the socket numbers, connection set-up
 * through this library's rdma_cm, rpoll/rselect, options and close;
 * rsocket_stream.c moves the bytes.  Datagram rsockets (SOCK_DGRAM) and
 * the iomap calls are not implemented: they fail with ENOTSUP/ENOSYS and
 * say so once on stderr.  docs/rdmacm.md "rsockets".
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

/* Kept visible even when the library is built with -fvisibility=hidden. */
#define RSOCKET_EXPORT __attribute__((visibility("default")))

#define RS_DEF_BUF     (128u << 10)
#define RS_MAX_BUF     (64u << 20)
#define RS_DEF_QP      384u
#define RS_MIN_QP      16u
#define RS_MAX_QP      4096u
#define RS_DEF_INLINE  64u
#define RS_RESOLVE_MS  2000
#define RS_SHUTDOWN_MS 5000
#define RS_MAX_BACKLOG 256u
#define RS_ACCEPT_S    10
#define RS_TABLE_PAGE  1024
#define RS_TABLE_PAGES 1024

/* fd -> rsocket, two levels so that any fd below 1M fits. */
static struct rsock *_Atomic *rs_table[RS_TABLE_PAGES];
static pthread_mutex_t rs_table_lock = PTHREAD_MUTEX_INITIALIZER;

static struct rsock *rs_get(int fd)
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

static int fail(int err)
{
	errno = err;
	return -1;
}

static atomic_flag rs_dgram_warned = ATOMIC_FLAG_INIT;
static atomic_flag rs_iomap_warned = ATOMIC_FLAG_INIT;

static void say_once(atomic_flag *flag, const char *what)
{
	if (!atomic_flag_test_and_set(flag))
		fprintf(stderr,
			"srxe: %s are not implemented by srxe's "
			"librdmacm (docs/rdmacm.md)\n",
			what);
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

/* A socket with its own event channel; @id is created here when NULL. */
static struct rsock *rs_new(struct rdma_cm_id *id, const struct rs_opts *opt)
{
	struct rsock *rs = calloc(1, sizeof(*rs));
	int err = ENOMEM;

	if (!rs)
		goto out;
	pthread_mutex_init(&rs->lock, NULL);
	rs->opt = *opt;
	rs->chan = rdma_create_event_channel();
	if (!rs->chan)
		goto free;
	set_nonblock(rs->chan->fd);
	rs->fd = rs->chan->fd;
	if (id ? rdma_migrate_id(id, rs->chan)
	       : rdma_create_id(rs->chan, &id, rs, RDMA_PS_TCP))
		goto destroy;
	id->context = rs;
	rs->id = id;
	err = -rs_set(rs->fd, rs);
	if (!err)
		return rs;
	rdma_destroy_id(id);
destroy:
	if (!err)
		err = errno;
	rdma_destroy_event_channel(rs->chan);
free:
	free(rs);
out:
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
	rs_set(rs->fd, NULL);
	reject_pending(rs);
	free(rs->pend);
	if (rs->cq && rs->phase == RS_CONNECTED)
		rdma_disconnect(rs->id);
	rs_stream_teardown(rs);
	if (rs->id)
		rdma_destroy_id(rs->id);
	rdma_destroy_event_channel(rs->chan);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

static struct rsock *rs_lock(int fd)
{
	struct rsock *rs = rs_get(fd);

	if (!rs) {
		errno = EBADF;
		return NULL;
	}
	pthread_mutex_lock(&rs->lock);
	return rs;
}

static int unlock_ret(struct rsock *rs, int ret)
{
	int err = errno;

	pthread_mutex_unlock(&rs->lock);
	errno = err;
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
		return fail(EAFNOSUPPORT);
	if (kind == SOCK_DGRAM) {
		say_once(&rs_dgram_warned, "datagram rsockets (SOCK_DGRAM)");
		return fail(ENOTSUP);
	}
	if (kind != SOCK_STREAM || (protocol && protocol != IPPROTO_TCP))
		return fail(EPROTONOSUPPORT);
	rs = rs_new(NULL, &rs_default_opts);
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
	(void)addrlen;
	ret = rdma_bind_addr(rs->id, (struct sockaddr *)addr);
	if (!ret)
		rs->phase = RS_BOUND;
	return unlock_ret(rs, ret);
}

RSOCKET_EXPORT int rlisten(int socket, int backlog)
{
	struct rsock *rs = rs_lock(socket);
	unsigned int n = backlog > 0 ? (unsigned int)backlog : 1;

	if (!rs)
		return -1;
	if (rs->phase == RS_LISTENING)
		return unlock_ret(rs, 0);
	if (n > RS_MAX_BACKLOG)
		n = RS_MAX_BACKLOG;
	rs->pend = calloc(n, sizeof(*rs->pend));
	if (!rs->pend)
		return unlock_ret(rs, fail(ENOMEM));
	if (rdma_listen(rs->id, (int)n)) {
		free(rs->pend);
		rs->pend = NULL;
		return unlock_ret(rs, -1);
	}
	rs->backlog = n;
	rs->phase = RS_LISTENING;
	return unlock_ret(rs, 0);
}

static void take_request(struct rsock *rs, struct rdma_cm_event *ev)
{
	struct rs_pending *p;

	if (rs->npend == rs->backlog) {
		rdma_reject(ev->id, NULL, 0);
		rdma_destroy_id(ev->id);
		return;
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
}

static int cm_status_err(const struct rdma_cm_event *ev, int dflt)
{
	if (ev->event == RDMA_CM_EVENT_REJECTED)
		return ECONNREFUSED;
	if (ev->status < 0)
		return -ev->status;
	return dflt;
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
		if (rs->phase == RS_CONNECTING && rs->passive)
			rs->phase = RS_CONNECTED;
		else if (rs->phase == RS_CONNECTING)
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
		rs->readable = rs->writable = false;
		if (ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL)
			rs->err = ENODEV;
		break;
	default:
		break;
	}
}

void rs_cm_drain(struct rsock *rs)
{
	struct rdma_cm_event *ev;

	while (!rdma_get_cm_event(rs->chan, &ev)) {
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST)
			take_request(rs, ev);
		else if (rs->phase != RS_LISTENING)
			on_event(rs, ev);
		rdma_ack_cm_event(ev);
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
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		rs_cm_drain(rs);
		if (rs->phase != RS_CONNECTING)
			return rs->phase == RS_CONNECTED ? 0 : -1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > RS_ACCEPT_S)
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
	if (ls->phase != RS_LISTENING)
		return unlock_ret(ls, fail(EINVAL));
	for (;;) {
		rs_cm_drain(ls);
		if (ls->npend)
			break;
		if (ls->fflags & O_NONBLOCK)
			return unlock_ret(ls, fail(EAGAIN));
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
			return fail(err);
		}
		if (nonblock)
			return fail(EINPROGRESS);
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
	(void)addrlen;
	if (rs->phase == RS_CONNECTED)
		return unlock_ret(rs, fail(EISCONN));
	if (rs->phase >= RS_RESOLVING_ADDR && rs->phase <= RS_CONNECTING)
		return unlock_ret(rs, fail(EALREADY));
	if (rs->phase == RS_LISTENING)
		return unlock_ret(rs, fail(EINVAL));
	if (rs->phase == RS_BOUND)
		src = rdma_get_local_addr(rs->id);
	if (rdma_resolve_addr(rs->id, src, (struct sockaddr *)addr,
			      RS_RESOLVE_MS))
		return unlock_ret(rs, -1);
	rs->phase = RS_RESOLVING_ADDR;
	return unlock_ret(rs, connect_result(rs, rs->fflags & O_NONBLOCK));
}

/* For a call that needs a connection: finishes a non-blocking connect. */
static int need_connected(struct rsock *rs)
{
	if (rs->phase >= RS_RESOLVING_ADDR && rs->phase <= RS_CONNECTING) {
		if (connect_result(rs, true))
			return fail(errno == EINPROGRESS ? EAGAIN : errno);
	}
	if (rs->phase != RS_CONNECTED)
		return fail(ENOTCONN);
	return 0;
}

static bool sends_done(const struct rsock *rs)
{
	return rs_stream_sends_done(rs) || !(rs->readable || rs->writable);
}

static bool ctrl_room_or_closed(const struct rsock *rs)
{
	return rs->ctrl_seq != rs->ctrl_max || !(rs->readable || rs->writable);
}

static int shutdown_locked(struct rsock *rs, int how)
{
	enum rsw_ctrl ctrl = RSW_CTRL_DISCONNECT;
	bool was_live = rs->readable || rs->writable;

	if (rs->phase != RS_CONNECTED)
		return fail(ENOTCONN);
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
	if (!rs_wait(rs, ctrl_room_or_closed, false, RS_SHUTDOWN_MS))
		rs_stream_ctrl(rs, ctrl);
	rs_wait(rs, sends_done, false, RS_SHUTDOWN_MS);
	return 0;
}

RSOCKET_EXPORT int rshutdown(int socket, int how)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	return unlock_ret(rs, shutdown_locked(rs, how));
}

RSOCKET_EXPORT int rclose(int socket)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	if (rs->phase == RS_CONNECTED && (rs->readable || rs->writable))
		shutdown_locked(rs, SHUT_RDWR);
	pthread_mutex_unlock(&rs->lock);
	rs_free(rs);
	return 0;
}

RSOCKET_EXPORT ssize_t rrecv(int socket, void *buf, size_t len, int flags)
{
	struct rsock *rs = rs_lock(socket);
	ssize_t ret;

	if (!rs)
		return -1;
	if (need_connected(rs))
		return unlock_ret(rs, -1);
	ret = rs_stream_recv(rs, buf, len, flags, nonblocking(rs, flags));
	pthread_mutex_unlock(&rs->lock);
	return ret;
}

RSOCKET_EXPORT ssize_t rrecvfrom(int socket, void *buf, size_t len, int flags,
				 struct sockaddr *src_addr, socklen_t *addrlen)
{
	ssize_t ret = rrecv(socket, buf, len, flags);

	if (ret >= 0 && src_addr && addrlen)
		rgetpeername(socket, src_addr, addrlen);
	return ret;
}

RSOCKET_EXPORT ssize_t rsend(int socket, const void *buf, size_t len, int flags)
{
	struct rsock *rs = rs_lock(socket);
	ssize_t ret;

	if (!rs)
		return -1;
	if (need_connected(rs))
		return unlock_ret(rs, -1);
	ret = rs_stream_send(rs, buf, len, nonblocking(rs, flags));
	pthread_mutex_unlock(&rs->lock);
	return ret;
}

RSOCKET_EXPORT ssize_t rsendto(int socket, const void *buf, size_t len,
			       int flags, const struct sockaddr *dest_addr,
			       socklen_t addrlen)
{
	(void)dest_addr;
	(void)addrlen;
	return rsend(socket, buf, len, flags);
}

/* Each iovec in turn until one is short (would block, or EOF). */
static ssize_t each_iov(int socket, const struct iovec *iov, int iovcnt,
			int flags, bool out)
{
	ssize_t total = 0, n = 0;
	int i;

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
	return each_iov(socket, msg->msg_iov, (int)msg->msg_iovlen, flags,
			false);
}

RSOCKET_EXPORT ssize_t rsendmsg(int socket, const struct msghdr *msg, int flags)
{
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

/* An rsocket's poll events now, driving its set-up and transfers. */
static short rs_revents(struct rsock *rs, short events)
{
	short r = 0;

	rs_cm_drain(rs);
	switch (rs->phase) {
	case RS_LISTENING:
		return rs->npend ? (events & POLLIN) : 0;
	case RS_CONNECTED:
		rs_stream_progress(rs);
		if (rs_stream_has_data(rs) || !rs->readable)
			r |= events & POLLIN;
		if (rs_stream_can_send(rs) || !rs->writable)
			r |= events & POLLOUT;
		/* Hung up once nothing is left to read, as TCP: programs
		 * that stop at POLLHUP still get the peer's last bytes. */
		if (!rs->readable && !rs->writable && !rs_stream_has_data(rs))
			r |= POLLHUP;
		if (rs->err)
			r |= POLLERR;
		return r;
	case RS_FAILED:
		/* As rdma-core: programs print errno after such a poll. */
		errno = rs->err;
		return (short)(POLLOUT | POLLERR | POLLHUP) &
		       (events | POLLERR | POLLHUP);
	case RS_INIT:
	case RS_BOUND:
		return (short)(events & POLLOUT) | POLLHUP;
	default:
		return 0;
	}
}

/* What rpoll sleeps on for one rsocket: its CM channel, and its CQ's
 * channel once connected (armed, so that a completion wakes it). */
static void rs_sleep_fds(struct rsock *rs, struct pollfd *cm, struct pollfd *cq)
{
	*cm = (struct pollfd){ rs->chan->fd, POLLIN, 0 };
	*cq = (struct pollfd){ -1, POLLIN, 0 };
	if (rs->phase == RS_CONNECTED && rs->cch) {
		rs_stream_arm(rs);
		cq->fd = rs->cch->fd;
	}
}

static int scan(struct pollfd *fds, nfds_t nfds)
{
	int ready = 0;
	nfds_t i;

	for (i = 0; i < nfds; i++) {
		struct rsock *rs = rs_get(fds[i].fd);

		if (!rs)
			continue;
		pthread_mutex_lock(&rs->lock);
		fds[i].revents = rs_revents(rs, fds[i].events);
		pthread_mutex_unlock(&rs->lock);
		ready += fds[i].revents != 0;
	}
	return ready;
}

static int64_t ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(end->tv_sec - now.tv_sec) * 1000 +
	       (end->tv_nsec - now.tv_nsec) / 1000000;
}

/* Fills @sl (two entries per fd) for the poll() that sleeps. */
static void sleep_set(const struct pollfd *fds, nfds_t nfds, struct pollfd *sl)
{
	nfds_t i;

	for (i = 0; i < nfds; i++) {
		struct rsock *rs = rs_get(fds[i].fd);

		if (!rs) {
			sl[2 * i] = fds[i];
			sl[2 * i].revents = 0;
			sl[2 * i + 1] = (struct pollfd){ -1, 0, 0 };
			continue;
		}
		pthread_mutex_lock(&rs->lock);
		rs_sleep_fds(rs, &sl[2 * i], &sl[2 * i + 1]);
		pthread_mutex_unlock(&rs->lock);
	}
}

/* Other fds take what poll() said; rsockets take their CQ events. */
static void after_sleep(struct pollfd *fds, nfds_t nfds,
			const struct pollfd *sl)
{
	nfds_t i;

	for (i = 0; i < nfds; i++) {
		struct rsock *rs = rs_get(fds[i].fd);

		if (!rs) {
			fds[i].revents = sl[2 * i].revents;
			continue;
		}
		if (!sl[2 * i + 1].revents)
			continue;
		pthread_mutex_lock(&rs->lock);
		rs_stream_cq_event(rs);
		pthread_mutex_unlock(&rs->lock);
	}
}

static int count_ready(const struct pollfd *fds, nfds_t nfds)
{
	int n = 0;
	nfds_t i;

	for (i = 0; i < nfds; i++)
		n += fds[i].revents != 0;
	return n;
}

static struct timespec deadline(int timeout)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	if (timeout <= 0)
		return end;
	end.tv_sec += timeout / 1000;
	end.tv_nsec += (timeout % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	return end;
}

RSOCKET_EXPORT int rpoll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct pollfd *sl = calloc(nfds * 2 + 1, sizeof(*sl));
	struct timespec end = deadline(timeout);
	int ready = -1, left = timeout;

	if (!sl)
		return fail(ENOMEM);
	for (;;) {
		sleep_set(fds, nfds, sl);
		ready = scan(fds, nfds);
		if (poll(sl, nfds * 2, ready ? 0 : left) < 0) {
			ready = -1;
			break;
		}
		after_sleep(fds, nfds, sl);
		scan(fds, nfds);
		ready = count_ready(fds, nfds);
		if (ready || !left)
			break;
		if (timeout > 0) {
			int64_t ms = ms_left(&end);

			left = ms > 0 ? (int)ms : 0;
		}
	}
	free(sl);
	return ready;
}

RSOCKET_EXPORT int rselect(int nfds, fd_set *readfds, fd_set *writefds,
			   fd_set *exceptfds, struct timeval *timeout)
{
	struct pollfd *p = calloc(nfds > 0 ? (size_t)nfds : 1, sizeof(*p));
	int i, n = 0, ready, ms = -1;

	if (!p)
		return fail(ENOMEM);
	for (i = 0; i < nfds; i++) {
		short ev = (readfds && FD_ISSET(i, readfds) ? POLLIN : 0) |
			   (writefds && FD_ISSET(i, writefds) ? POLLOUT : 0) |
			   (exceptfds && FD_ISSET(i, exceptfds) ? POLLPRI : 0);

		if (ev)
			p[n++] = (struct pollfd){ i, ev, 0 };
	}
	if (timeout)
		ms = (int)(timeout->tv_sec * 1000 + timeout->tv_usec / 1000);
	ready = rpoll(p, (nfds_t)n, ms);
	if (readfds)
		FD_ZERO(readfds);
	if (writefds)
		FD_ZERO(writefds);
	if (exceptfds)
		FD_ZERO(exceptfds);
	for (i = 0, ready = ready < 0 ? ready : 0; ready >= 0 && i < n; i++) {
		if (readfds && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			FD_SET(p[i].fd, readfds), ready++;
		if (writefds && (p[i].revents & (POLLOUT | POLLERR)))
			FD_SET(p[i].fd, writefds), ready++;
		if (exceptfds && (p[i].revents & POLLPRI))
			FD_SET(p[i].fd, exceptfds), ready++;
	}
	free(p);
	return ready;
}

static int copy_addr(const struct sockaddr *sa, struct sockaddr *addr,
		     socklen_t *addrlen)
{
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);

	memcpy(addr, sa, *addrlen < len ? *addrlen : len);
	*addrlen = len;
	return 0;
}

RSOCKET_EXPORT int rgetpeername(int socket, struct sockaddr *addr,
				socklen_t *addrlen)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	if (rs->phase != RS_CONNECTED)
		return unlock_ret(rs, fail(ENOTCONN));
	return unlock_ret(rs,
			  copy_addr(rdma_get_peer_addr(rs->id), addr, addrlen));
}

RSOCKET_EXPORT int rgetsockname(int socket, struct sockaddr *addr,
				socklen_t *addrlen)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	return unlock_ret(
		rs, copy_addr(rdma_get_local_addr(rs->id), addr, addrlen));
}

/* Buffer sizes as Linux reports them: twice what was asked. */
static uint32_t buf_size(int v)
{
	uint64_t b = v > 0 ? (uint64_t)v * 2 : RS_DEF_BUF;

	if (b < 4096)
		b = 4096;
	if (b > RS_MAX_BUF)
		b = RS_MAX_BUF;
	return (uint32_t)b & ~1u;
}

static uint16_t qp_size(int v)
{
	if (v < (int)RS_MIN_QP)
		return RS_MIN_QP;
	return v > (int)RS_MAX_QP ? RS_MAX_QP : (uint16_t)v;
}

/* The int an option points at; *@out untouched when it is too short. */
static int int_opt(const void *optval, socklen_t optlen, int *out)
{
	if (!optval || optlen < sizeof(int))
		return fail(EINVAL);
	memcpy(out, optval, sizeof(int));
	return 0;
}

static int set_socket_opt(struct rsock *rs, int name, int v, const void *optval,
			  socklen_t optlen)
{
	switch (name) {
	case SO_REUSEADDR:
		/* Best effort, as for a TCP socket bound already: rbind
		 * says whether the address is free. */
		rs->opt.reuseaddr = v;
		rdma_set_option(rs->id, RDMA_OPTION_ID,
				RDMA_OPTION_ID_REUSEADDR, &v, sizeof(v));
		return 0;
	case SO_KEEPALIVE:
		rs->opt.keepalive = v;
		return 0;
	case SO_SNDBUF:
		rs->opt.sbuf_size = buf_size(v);
		return 0;
	case SO_RCVBUF:
		rs->opt.rbuf_size = buf_size(v);
		return 0;
	case SO_LINGER:
		if (optlen < sizeof(rs->opt.linger))
			return fail(EINVAL);
		memcpy(&rs->opt.linger, optval, sizeof(rs->opt.linger));
		return 0;
	case SO_OOBINLINE:
		return 0;
	default:
		return fail(ENOPROTOOPT);
	}
}

static int set_rdma_opt(struct rsock *rs, int name, int v)
{
	if (rs->cq && name != RDMA_ROUTE)
		return fail(EINVAL); /* sized at connect */
	switch (name) {
	case RDMA_SQSIZE:
		rs->opt.sq_size = qp_size(v);
		return 0;
	case RDMA_RQSIZE:
		rs->opt.rq_size = qp_size(v);
		return 0;
	case RDMA_INLINE:
		rs->opt.inline_size = v < 0 ? 0 : v > 1024 ? 1024 : (uint16_t)v;
		return 0;
	case RDMA_IOMAPSIZE:
	case RDMA_ROUTE: /* resolved by rconnect itself */
		return 0;
	default:
		return fail(ENOPROTOOPT);
	}
}

static int set_opt(struct rsock *rs, int level, int name, const void *optval,
		   socklen_t optlen)
{
	int v = 0;

	if (!(level == SOL_RDMA && name == RDMA_ROUTE) &&
	    !(level == SOL_SOCKET && name == SO_LINGER) &&
	    int_opt(optval, optlen, &v))
		return -1;
	switch (level) {
	case SOL_SOCKET:
		return set_socket_opt(rs, name, v, optval, optlen);
	case IPPROTO_TCP:
		if (name == TCP_NODELAY)
			rs->opt.nodelay = v;
		else if (name == TCP_KEEPIDLE)
			rs->opt.keepidle = v;
		return 0;
	case IPPROTO_IPV6:
		if (name != IPV6_V6ONLY)
			return fail(ENOPROTOOPT);
		return rdma_set_option(rs->id, RDMA_OPTION_ID,
				       RDMA_OPTION_ID_AFONLY, &v, sizeof(v));
	case SOL_RDMA:
		return set_rdma_opt(rs, name, v);
	default:
		return fail(ENOPROTOOPT);
	}
}

RSOCKET_EXPORT int rsetsockopt(int socket, int level, int optname,
			       const void *optval, socklen_t optlen)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	return unlock_ret(rs, set_opt(rs, level, optname, optval, optlen));
}

static int get_opt_value(struct rsock *rs, int level, int name, int *v)
{
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			*v = rs->err;
			rs->err = 0;
			return 0;
		case SO_REUSEADDR:
			*v = rs->opt.reuseaddr;
			return 0;
		case SO_KEEPALIVE:
			*v = rs->opt.keepalive;
			return 0;
		case SO_SNDBUF:
			*v = (int)rs->opt.sbuf_size;
			return 0;
		case SO_RCVBUF:
			*v = (int)rs->opt.rbuf_size;
			return 0;
		case SO_TYPE:
			*v = SOCK_STREAM;
			return 0;
		}
	} else if (level == IPPROTO_TCP) {
		if (name == TCP_NODELAY || name == TCP_KEEPIDLE) {
			*v = name == TCP_NODELAY ? rs->opt.nodelay
						 : rs->opt.keepidle;
			return 0;
		}
		if (name == TCP_MAXSEG) {
			*v = 65536;
			return 0;
		}
	} else if (level == SOL_RDMA) {
		switch (name) {
		case RDMA_SQSIZE:
			*v = rs->opt.sq_size;
			return 0;
		case RDMA_RQSIZE:
			*v = rs->opt.rq_size;
			return 0;
		case RDMA_INLINE:
			*v = rs->opt.inline_size;
			return 0;
		case RDMA_IOMAPSIZE:
			*v = 0;
			return 0;
		}
	}
	return fail(ENOPROTOOPT);
}

RSOCKET_EXPORT int rgetsockopt(int socket, int level, int optname, void *optval,
			       socklen_t *optlen)
{
	struct rsock *rs = rs_lock(socket);
	int v;

	if (!rs)
		return -1;
	if (!optval || !optlen || *optlen < sizeof(int))
		return unlock_ret(rs, fail(EINVAL));
	if (level == SOL_SOCKET && optname == SO_ERROR)
		rs_cm_drain(rs);
	if (get_opt_value(rs, level, optname, &v))
		return unlock_ret(rs, -1);
	memcpy(optval, &v, sizeof(v));
	*optlen = sizeof(v);
	return unlock_ret(rs, 0);
}

RSOCKET_EXPORT int rfcntl(int socket, int cmd, ...)
{
	struct rsock *rs = rs_lock(socket);
	va_list ap;
	int ret = 0;

	if (!rs)
		return -1;
	va_start(ap, cmd);
	if (cmd == F_GETFL)
		ret = O_RDWR | rs->fflags;
	else if (cmd == F_SETFL)
		rs->fflags = va_arg(ap, int) & O_NONBLOCK;
	else
		ret = fail(EINVAL);
	va_end(ap);
	return unlock_ret(rs, ret);
}

/* rdma-core returns (off_t)-1 here, the value riomap's callers test for. */
RSOCKET_EXPORT off_t riomap(int socket, void *buf, size_t len, int prot,
			    int flags, off_t offset)
{
	(void)socket, (void)buf, (void)len, (void)prot, (void)flags,
		(void)offset;
	say_once(&rs_iomap_warned, "rsocket iomaps (riomap, riowrite)");
	errno = ENOSYS;
	return (off_t)-1;
}

RSOCKET_EXPORT int riounmap(int socket, void *buf, size_t len)
{
	(void)socket, (void)buf, (void)len;
	say_once(&rs_iomap_warned, "rsocket iomaps (riomap, riowrite)");
	return fail(ENOSYS);
}

RSOCKET_EXPORT size_t riowrite(int socket, const void *buf, size_t count,
			       off_t offset, int flags)
{
	(void)socket, (void)buf, (void)count, (void)offset, (void)flags;
	say_once(&rs_iomap_warned, "rsocket iomaps (riomap, riowrite)");
	errno = ENOSYS;
	return (size_t)-1;
}
