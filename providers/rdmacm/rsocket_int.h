/* SPDX-License-Identifier: MIT */
/*
 * Private contract between rsocket.c (the socket calls, connection set-up,
 * rpoll, options) and rsocket_stream.c (one connected stream's buffers,
 * credits and transfers, rsocket_wire.h).
 *
 * An rsocket's number is the fd of its own rdma_cm event channel, so it is
 * a real descriptor no other socket or file can have at the same time.
 * Each rsocket has one mutex; every call holds it except while it sleeps
 * in poll(), so that one thread's blocking rrecv does not stop another's
 * rsend.  The library's own fds (event channel, completion channel) are
 * always non-blocking; a blocking call waits in poll() on them.
 */
#ifndef SRXE_RSOCKET_INT_H
#define SRXE_RSOCKET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <rdma/rdma_cma.h>

#include "rsocket_wire.h"

enum rs_phase {
	RS_INIT,
	RS_BOUND,
	RS_LISTENING,
	RS_RESOLVING_ADDR,
	RS_RESOLVING_ROUTE,
	RS_CONNECTING,
	RS_CONNECTED, /* also after a disconnect: readable/writable say */
	RS_FAILED,    /* connecting failed: err says why */
};

/* A connect request waiting for raccept (its event already acked). */
struct rs_pending {
	struct rdma_cm_id *id;
	struct rdma_conn_param param;
	struct rsw_conn conn;
	bool conn_ok; /* carried a version-1 struct rsw_conn */
};

struct rs_opts {
	uint32_t sbuf_size, rbuf_size;
	uint16_t sq_size, rq_size, inline_size;
	uint16_t iomap_size; /* iomap slots offered to the peer */
	int reuseaddr, keepalive, keepidle, nodelay;
	struct linger linger;
};

struct rs_dgram;

struct rsock {
	int fd; /* the number the application sees: chan's fd (a datagram
		 * rsocket's: its epoll fd, rsocket_dgram.c) */
	struct rs_dgram *dg; /* datagram rsockets only */
	pthread_mutex_t lock;
	pthread_mutex_t wait_lock; /* one sleeper on the channels (rs_wait) */
	enum rs_phase phase;
	bool readable, writable;
	bool dead;    /* the QP failed or the peer went away */
	int err;      /* pending error (SO_ERROR), 0: none */
	int fflags;   /* O_NONBLOCK as the application set it */
	bool passive; /* made by raccept */
	struct rs_opts opt;
	struct rdma_event_channel *chan;
	struct rdma_cm_id *id;

	/* Listening: requests not yet accepted. */
	struct rs_pending *pend;
	unsigned int npend, backlog;

	/* Connected: verbs objects and buffers. */
	struct ibv_pd *pd;
	struct ibv_comp_channel *cch;
	struct ibv_cq *cq;
	bool cq_armed;
	uint8_t *sbuf; /* send staging ring, then RSW_CTRL_SLOTS grants */
	struct ibv_mr *smr;
	uint32_t sbuf_head, sbuf_avail;
	struct rsw_sge *tsgl; /* grants the peer writes to us */
	struct rsw_sge cur;   /* the grant being filled (a copy) */
	struct ibv_mr *tmr;
	unsigned int tsge;	 /* the slot the next grant is copied from */
	unsigned int tsgl_ready; /* slots whose grant has arrived */
	uint8_t *rbuf;
	struct ibv_mr *rmr;
	uint32_t rbuf_off;   /* next byte the application reads */
	uint32_t rbuf_free;  /* freed bytes not yet granted */
	uint32_t rbuf_grant; /* where the next grant starts */
	struct rsw_sge remote_sgl;
	unsigned int remote_sge;
	bool swap_sgl;
	uint16_t sseq_no, sseq_comp, rseq_no, rseq_comp;
	unsigned int ctrl_seq, ctrl_max;
	int sqe_avail;
	uint32_t *rmsg; /* DATA lengths received, ring of rq_size + 1 */
	unsigned int rmsg_head, rmsg_tail;
	unsigned int glances; /* calls of rs_cm_glance */

	/* iomaps (rsocket_iomap.c): this side's mappings, and the peer's
	 * slots (remote_iomap: address, key, count in length). */
	struct rs_map *maps;
	unsigned int nmaps;
	struct rsw_sge remote_iomap;
	bool *iomap_seen; /* slots of ours the peer has written */
};

/* A riomap of this side; slot -1: local only (PROT_NONE). */
struct rs_map {
	void *buf;
	size_t len;
	uint64_t offset;
	struct ibv_mr *mr;
	int slot;
	bool pending; /* not yet written to the peer's slot */
};

/* A wait polls this long before it sleeps (as rdma-core's rsockets, whose
 * default is 10 us): a reply within it costs no wake-up.  Clock reads are
 * not free in a VM: a spin looks at the clock every RS_SPIN_CLOCK_EVERY
 * rounds. */
#define RS_SPIN_NS	    20000u
#define RS_SPIN_CLOCK_EVERY 32u

#define RS_CTRL_SLOTS	4     /* control messages in flight */
#define RS_SNDLOWAT	2048u /* send ring room a send waits for */
#define RS_OLAP_START	2048u
#define RS_MAX_TRANSFER 65536u

/* Kept visible even when the library is built with -fvisibility=hidden. */
#define RSOCKET_EXPORT __attribute__((visibility("default")))

/* Buffer and queue sizes an option may ask for. */
#define RS_DEF_BUF	(128u << 10)
#define RS_MAX_BUF	(64u << 20)
#define RS_MIN_QP	16u
#define RS_MAX_QP	4096u
#define RS_MAX_IOMAPS	128
#define RS_MAX_KEEPIDLE 32767 /* seconds, as Linux's TCP_KEEPIDLE */

/* rsocket_stream.c */
int rs_stream_setup(struct rsock *rs);
void rs_stream_teardown(struct rsock *rs);
void rs_stream_conn(const struct rsock *rs, struct rsw_conn *out);
void rs_stream_peer(struct rsock *rs, const struct rsw_conn *in);
void rs_stream_progress(struct rsock *rs);
bool rs_stream_can_send(const struct rsock *rs);
/* Can send, or never will again (the waits' test). */
bool rs_stream_send_ready(const struct rsock *rs);
/* The next piece of a @left-byte transfer into @room bytes: starts at
 * RS_OLAP_START and doubles up to RS_MAX_TRANSFER (*@olap, so that the
 * first pieces leave early), never more than the send ring's room. */
uint32_t rs_stream_chunk(const struct rsock *rs, uint32_t *olap, size_t left,
			 uint64_t room);
bool rs_stream_has_data(const struct rsock *rs);
bool rs_stream_sends_done(const struct rsock *rs);
/* Posts @len bytes of @buf (inline, else through the send ring) as a WRITE
 * WITH IMM @imm, or a plain WRITE for op RSW_OP_WRITE, to @addr/@rkey;
 * takes a send queue entry and @len of the ring (the caller checked). */
int rs_stream_post(struct rsock *rs, const void *buf, uint32_t len,
		   uint32_t imm, uint64_t addr, uint32_t rkey);
int rs_stream_ctrl(struct rsock *rs, enum rsw_ctrl ctrl);
ssize_t rs_stream_send(struct rsock *rs, const void *buf, size_t len,
		       bool nonblock);
ssize_t rs_stream_recv(struct rsock *rs, void *buf, size_t len, int flags,
		       bool nonblock);
/* Waits until @ready(rs) (0), or -1 with errno: EAGAIN when @nonblock,
 * ETIMEDOUT after @timeout_ms (-1: none).  Called and returns locked. */
int rs_wait(struct rsock *rs, bool (*ready)(const struct rsock *rs),
	    bool nonblock, int timeout_ms);
/* Drains the CM channel every RS_CM_GLANCE_EVERY calls, if it has
 * anything (one poll()): how busy non-blocking callers see a disconnect. */
void rs_cm_glance(struct rsock *rs);
/* Arms the CQ, then takes what completed before: a later completion
 * raises an event on the channel. */
void rs_stream_arm(struct rsock *rs);
void rs_stream_cq_event(struct rsock *rs);

/* rsocket_iomap.c: writes riomaps not yet sent to the peer (before any
 * data, as rdma-core); 0, or -1 with errno (EAGAIN when @nonblock). */
int rs_iomap_flush(struct rsock *rs, bool nonblock);
void rs_iomap_release(struct rsock *rs);

/* rsocket_keepalive.c: SO_KEEPALIVE.  rs_keepalive_update() (called
 * locked, after SO_KEEPALIVE or TCP_KEEPIDLE changed and once the
 * connection is established) has a connected stream socket with
 * keepalive on sent a KEEPALIVE every opt.keepidle seconds (0: the
 * default, filled in), or stops it; 0, or -1 with errno.
 * rs_keepalive_forget() before the socket is freed.
 * rs_keepalive_default_s(): tcp_keepalive_time, else 7200. */
int rs_keepalive_update(struct rsock *rs);
void rs_keepalive_forget(struct rsock *rs);
unsigned int rs_keepalive_default_s(void);

/* rsocket_dgram.c: datagram rsockets, those with rs->dg.  Called locked;
 * -1 with errno on failure, as the socket calls. */
int rs_dgram_open(struct rsock *rs, int domain); /* sets fd, dg */
int rs_dgram_bind(struct rsock *rs, const struct sockaddr *addr, socklen_t len);
int rs_dgram_connect(struct rsock *rs, const struct sockaddr *addr,
		     socklen_t len);
ssize_t rs_dgram_send(struct rsock *rs, const struct msghdr *msg,
		      bool nonblock);
ssize_t rs_dgram_recv(struct rsock *rs, struct msghdr *msg, int flags,
		      bool nonblock);
/* Stops reading and/or writing; a writer's messages leave first. */
int rs_dgram_shutdown(struct rsock *rs, int how);
void rs_dgram_free(struct rsock *rs); /* unlocked, the number gone */
/* rpoll: readiness; arming before it sleeps on rs->fd; what woke it. */
short rs_dgram_revents(struct rsock *rs, short events);
void rs_dgram_arm(struct rsock *rs);
void rs_dgram_events(struct rsock *rs);
/* Options: the UDP socket behind; whether buffers are sized already. */
int rs_dgram_udp_fd(const struct rsock *rs);
bool rs_dgram_sized(const struct rsock *rs);

/* rsocket.c */
void rs_cm_drain(struct rsock *rs);
/* 0 when connected, finishing a non-blocking connect; else -1, errno. */
int rs_need_connected(struct rsock *rs);
/* The rsocket numbered @fd, or NULL. */
struct rsock *rs_get(int fd);
/* The same, locked; NULL with errno EBADF. */
struct rsock *rs_lock(int fd);
/* Unlocks @rs keeping errno. */
void rs_unlock(struct rsock *rs);
/* The same; returns @ret. */
int rs_unlock_ret(struct rsock *rs, int ret);
/* errno = @err; -1. */
int rs_fail(int err);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rs_now_ns(void);

/* A poll loop's budget: zeroed before the loop, rs_spin_over() after each
 * look says whether RS_SPIN_NS have passed since the first. */
struct rs_spin {
	uint64_t end;
	unsigned int rounds;
};

bool rs_spin_over(struct rs_spin *s);

#endif
