// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "srxe/fdpass.h"
#include "handlers.h"
#include "log.h"
#include "peer_mem.h"

/* Enough room to see (and close) the descriptors of a sender that
 * attaches too many; the kernel closes whatever does not fit.
 */
#define RECV_FDS_MAX 8

struct datagram {
	union {
		char bytes[SRXE_MSG_MAX];
		uint64_t align;
	} buf;
	size_t len; /* real length, may exceed SRXE_MSG_MAX */
	int fd;	    /* first descriptor received, or -1 */
	int nfds;
	bool bad_ancillary;
	bool has_sender; /* SCM_CREDENTIALS came (always, with SO_PASSCRED) */
	struct ucred sender;
};

static unsigned long long conn_id(const struct srxed_conn *c)
{
	return c->session ? (unsigned long long)c->session->id : 0;
}

struct srxed_conn *conn_new(struct srxed_server *srv, int fd, bool refused)
{
	struct srxed_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = SRXED_POLL_CONN;
	c->fd = fd;
	c->reply_fd = -1;
	c->refused = refused;
	/* Every request then says who sent it (peer_mem.h); the listener
	 * has it already, this covers a kernel that does not pass it on. */
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int));
	c->session = srxed_session_new(++srv->next_id, fd);
	if (!c->session) {
		free(c);
		return NULL;
	}
	return c;
}

/* Descriptors, and the sender's credentials, which alone may come along. */
static void collect_fds(struct msghdr *msg, struct datagram *dg)
{
	struct cmsghdr *cm;
	bool other = false;

	dg->has_sender = false;
	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			memcpy(&dg->sender, CMSG_DATA(cm), sizeof(dg->sender));
			dg->has_sender = true;
		} else if (cm->cmsg_level != SOL_SOCKET ||
			   cm->cmsg_type != SCM_RIGHTS) {
			other = true;
		}
	}
	dg->nfds = srxe_take_fds(msg, &dg->fd, &dg->bad_ancillary);
	dg->bad_ancillary = other || (msg->msg_flags & MSG_CTRUNC);
}

/* Returns 1 with a datagram, 0 when none is waiting, -errno to close. */
static int receive(int sock, struct datagram *dg)
{
	union {
		char space[CMSG_SPACE(RECV_FDS_MAX * sizeof(int)) +
			   CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { dg->buf.bytes, sizeof(dg->buf.bytes) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.space,
			      .msg_controllen = sizeof(ctl.space) };
	ssize_t n;

	dg->fd = -1;
	dg->nfds = 0;
	dg->bad_ancillary = false;
	do {
		n = recvmsg(sock, &msg,
			    MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	collect_fds(&msg, dg);
	dg->len = n;
	/* SEQPACKET cannot tell an empty datagram from EOF: both end it. */
	return n == 0 ? -ECONNRESET : 1;
}

/*
 * Only the process that opened the connection may use it (peer_mem.h): a
 * forked child or a process handed the socket is answered EACCES, and the
 * session goes on serving its owner.  Not a protocol error, so a child
 * cannot make srxed close its parent's connection.  Logged once per
 * connection.
 */
static bool sender_ok(struct srxed_conn *c, const struct datagram *dg, int *err)
{
	if (!srxed_peer_sender_ok(c->session,
				  dg->has_sender ? &dg->sender : NULL,
				  c->refusal))
		return true;
	*err = EACCES;
	if (!c->foreign_requests++)
		log_warn("client %llu (pid %d): request refused: %s",
			 conn_id(c), (int)c->session->cred.pid, c->refusal);
	return false;
}

static size_t answer(struct srxed_server *srv, struct srxed_conn *c,
		     struct datagram *dg, int *err)
{
	struct srxed *d = srv->d;
	void *out = c->reply.bytes;
	size_t cap = sizeof(c->reply.bytes);

	*err = -EPROTO;
	c->reply_fd = -1;
	if (c->refused) {
		c->closing = true;
		c->close_why = "refused: too many clients";
		*err = EUSERS;
		return srxed_reject(d, dg->buf.bytes, dg->len, EUSERS,
				    "srxed serves at most --max-clients "
				    "connections; try again later",
				    out, cap);
	}
	if (!sender_ok(c, dg, err))
		return srxed_reject(d, dg->buf.bytes,
				    dg->len < SRXE_MSG_MAX ? dg->len
							   : SRXE_MSG_MAX,
				    EACCES, c->refusal, out, cap);
	if (dg->len > SRXE_MSG_MAX)
		return srxed_reject(d, dg->buf.bytes, SRXE_MSG_MAX, EMSGSIZE,
				    "datagram larger than SRXE_MSG_MAX (4096)",
				    out, cap);
	if (dg->bad_ancillary || dg->nfds > 1)
		return srxed_reject(d, dg->buf.bytes, dg->len, EINVAL,
				    "at most one file descriptor and no other "
				    "ancillary data per request",
				    out, cap);
	return srxed_dispatch(d, c->session, dg->buf.bytes, dg->len, &dg->fd,
			      out, cap, err, &c->reply_fd);
}

static int set_interest(struct srxed_server *srv, struct srxed_conn *c,
			uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(srv->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The reply datagram, with c->reply_fd as SCM_RIGHTS when there is one. */
static ssize_t send_datagram(struct srxed_conn *c)
{
	union {
		char space[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = c->reply.bytes,
			     .iov_len = c->reply_len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (c->reply_fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.space;
		msg.msg_controllen = sizeof(ctl.space);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &c->reply_fd, sizeof(int));
	}
	return sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Returns 0 when sent, 1 when parked, -errno when the client is gone. */
static int send_reply(struct srxed_server *srv, struct srxed_conn *c)
{
	ssize_t n;

	do {
		n = send_datagram(c);
	} while (n < 0 && errno == EINTR);
	if (n >= 0) {
		c->reply_len = 0;
		c->reply_fd = -1;
		if (c->parked && set_interest(srv, c, EPOLLIN) < 0)
			return -errno;
		c->parked = false;
		return 0;
	}
	if (errno != EAGAIN)
		return -errno;
	if (!c->parked && set_interest(srv, c, EPOLLOUT) < 0)
		return -errno;
	c->parked = true;
	return 1;
}

static void count_error(struct srxed_conn *c, int err)
{
	if (err >= 0) {
		c->proto_errors = 0;
		return;
	}
	if (++c->proto_errors >= SRXED_MAX_PROTO_ERRORS) {
		c->closing = true;
		c->close_why = "too many consecutive malformed requests";
	}
}

/* Returns false when the connection must be closed. */
static bool serve_one(struct srxed_server *srv, struct srxed_conn *c,
		      struct datagram *dg)
{
	int err, ret;

	c->requests++;
	c->reply_len = answer(srv, c, dg, &err);
	if (dg->fd >= 0)
		close(dg->fd);
	count_error(c, err);
	if (!c->reply_len) {
		c->close_why = "cannot encode a reply";
		return false;
	}
	ret = send_reply(srv, c);
	if (ret < 0) {
		c->close_why = strerror(-ret);
		return false;
	}
	return ret == 1 || !c->closing;
}

static bool read_requests(struct srxed_server *srv, struct srxed_conn *c)
{
	struct datagram scratch, *dg = &scratch;
	bool keep = true;
	int i, ret;

	for (i = 0; keep && !c->parked && i < SRXED_MSGS_PER_WAKEUP; i++) {
		ret = receive(c->fd, dg);
		if (ret == 0)
			break;
		if (ret < 0) {
			if (dg->fd >= 0)
				close(dg->fd);
			c->close_why = ret == -ECONNRESET ? "disconnected"
							  : strerror(-ret);
			keep = false;
			break;
		}
		keep = serve_one(srv, c, dg);
	}
	return keep;
}

bool conn_io(struct srxed_server *srv, struct srxed_conn *c, uint32_t events)
{
	int ret;

	if (c->parked) {
		if (events & (EPOLLHUP | EPOLLERR)) {
			c->close_why = "disconnected with a reply pending";
			return false;
		}
		ret = send_reply(srv, c);
		if (ret < 0) {
			c->close_why = strerror(-ret);
			return false;
		}
		if (ret == 1)
			return true;
		if (c->closing)
			return false;
	}
	return read_requests(srv, c);
}

void conn_close(struct srxed_server *srv, struct srxed_conn *c)
{
	struct srxed_session *s = c->session;

	log_info("client %llu (pid %d uid %u) closed: %s; %llu requests, "
		 "%u PDs freed",
		 conn_id(c), (int)s->cred.pid, (unsigned int)s->cred.uid,
		 c->close_why ? c->close_why : "server shutdown",
		 (unsigned long long)c->requests, srxed_handles_count(&s->pds));
	srxed_session_destroy(srv->d, s);
	close(c->fd);
	free(c);
}
