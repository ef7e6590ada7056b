/* SPDX-License-Identifier: MIT */
/*
 * One client connection: receives datagrams with their ancillary data,
 * rejects what the transport already shows to be wrong (oversized, extra
 * or foreign ancillary data), hands the rest to srxed_dispatch() and sends
 * the reply without ever blocking.
 *
 * Contract:
 *  - Request/reply is strictly in order.  When a reply cannot be sent
 *    (the client is not reading), it is parked and the connection stops
 *    being read until the reply is out: srxed's memory per client stays
 *    bounded whatever the client does.
 *  - Every descriptor received is either kept by a handler or closed.
 *  - After SRXED_MAX_PROTO_ERRORS consecutive malformed datagrams the
 *    connection is answered and then closed.
 *  - conn_io() returns false when the connection must be closed; the
 *    server then calls conn_close() (after the current epoll batch).
 */
#ifndef SRXED_CONN_H
#define SRXED_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"
#include "server.h"

#define SRXED_MAX_PROTO_ERRORS 64
#define SRXED_MSGS_PER_WAKEUP  32

enum srxed_poll_kind {
	SRXED_POLL_LISTENER,
	SRXED_POLL_SIGNAL,
	SRXED_POLL_CONN,
	SRXED_POLL_CHANS,    /* completion channels' own epoll set (chan.h) */
	SRXED_POLL_CM,	     /* the connection manager's epoll set (cm_ctl.h) */
	SRXED_POLL_COUNTERS, /* hw_counters' /dev/fuse or timer (countersfs.h)
			      */
};

struct srxed_conn {
	enum srxed_poll_kind kind; /* first: epoll data.ptr points here */
	int fd;
	struct srxed_session *session;
	bool refused; /* over --max-clients: answer EUSERS, then close */
	bool closing; /* close once the parked reply is out */
	bool parked;  /* waiting for EPOLLOUT */
	bool retired; /* closed, freed after the current epoll batch */
	unsigned int proto_errors;
	uint64_t
		foreign_requests; /* refused: not from the owner (peer_mem.h) */
	char refusal[SRXE_REASON_MAX + 1]; /* why the last one was */
	uint64_t requests;
	const char *close_why;
	struct srxed_conn *prev, *next;
	size_t reply_len;
	int reply_fd; /* sent with the reply (owned by the session) or -1 */
	union {
		char bytes[SRXE_MSG_MAX];
		uint64_t align;
	} reply;
};

struct srxed_conn *conn_new(struct srxed_server *srv, int fd, bool refused);
bool conn_io(struct srxed_server *srv, struct srxed_conn *c, uint32_t events);
void conn_close(struct srxed_server *srv, struct srxed_conn *c);

#endif /* SRXED_CONN_H */
