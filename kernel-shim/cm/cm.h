/* SPDX-License-Identifier: MIT */
/*
 * srxed's IB connection manager (issue #11, DESIGN.md section 6): the
 * listen table of one device, the connection state machines (REQ, MRA,
 * REP, RTU, REJ, DREQ, DREP; SIDR_REQ/SIDR_REP for UD) with their response
 * timeouts, retries and TimeWait, and the events it owes the library's
 * event channels (include/srxe/proto_cm.h).
 *
 * Contract:
 *  - Single-threaded: every function is called from one thread (srxed's
 *    loop).  Nothing blocks: MADs leave through ops->send_mad, events
 *    through ops->write_event, time comes from ops->now_ms and the next
 *    deadline is announced with ops->set_timer.  Tests drive the machine
 *    with fake ops.
 *  - srxe_cm_input() takes any bytes: a MAD the codec (cm_mad.h) refuses,
 *    or one that names no connection of ours, is counted and dropped (or
 *    answered as IBA and kernel ib_cm answer it: REJ 8 for an unknown
 *    service, DREP for an unknown DREQ, SIDR_REP 1 ...).
 *  - Requests (srxe_cm_listen() ...) return 0 or a positive errno with a
 *    static reason; a handle of another owner is "no such ..." (EINVAL).
 *  - Memory is bounded: at most cfg.max_conns connection objects (TimeWait
 *    included), max_listens listens, max_channels channels, and
 *    SRXE_CM_CHAN_QUEUE_MAX queued events per channel (SRXE_CM_QUEUED_MAX
 *    on all channels together).  A REQ past a
 *    listen's backlog (connection requests not yet accepted or rejected)
 *    or past max_conns is dropped without an answer, as kernel ib_cm does
 *    when ucma's backlog is full: the peer's retry may find room.
 *  - srxe_cm_owner_gone() ends everything of a client: DREQ for
 *    established connections, REJ for ones being set up, DREP for a
 *    received DREQ; listens and channels (their fds closed) are released.
 *    The connections then sit out TimeWait without an owner.
 */
#ifndef SRXE_CM_H
#define SRXE_CM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_mad.h"
#include "srxe/proto_cm.h"

struct srxe_cm;

enum srxe_cm_log_level {
	SRXE_CM_LOG_WARN,
	SRXE_CM_LOG_INFO,
	SRXE_CM_LOG_DEBUG
};

/* A CQ and how far it was written (ops->unpolled_mark). */
struct srxe_cm_mark {
	uint64_t cq;
	uint32_t pos;
};
#define SRXE_CM_HOLD_MARKS 8

struct srxe_cm_ops {
	/* One 256-byte MAD to QP 1 at dgid.  0 or -errno (counted; the
	 * retry timer covers a lost MAD like a lost packet). */
	int (*send_mad)(void *opaque, const uint8_t dgid[16],
			uint8_t traffic_class, uint8_t hop_limit,
			const uint8_t mad[SRXE_MAD_LEN]);
	/* One event datagram to a channel fd without blocking: 0, -EAGAIN
	 * (the CM queues it and calls want_write), or another -errno (the
	 * channel is dead: its events are dropped from now on). */
	int (*write_event)(void *opaque, int fd,
			   const struct srxe_cm_event *ev);
	/* Start/stop telling srxe_cm_chan_writable() when fd can take more. */
	void (*want_write)(void *opaque, int fd, uint32_t chan, bool on);
	uint64_t (*now_ms)(void *opaque); /* monotonic */
	/* Call srxe_cm_timer() at deadline_ms (absolute, now_ms clock);
	 * 0: no timer needed.  Early or extra calls are harmless. */
	void (*set_timer)(void *opaque, uint64_t deadline_ms);
	/* One log line (may be NULL). */
	void (*log)(void *opaque, enum srxe_cm_log_level level,
		    const char *line);
	/* Closes a channel fd the CM owned (NULL: close(2)). */
	void (*close_fd)(void *opaque, int fd);
	/* Completions the process of @owner has not polled (NULL: none),
	 * which a peer's disconnect waits for (SRXE_CM_HOLD_MAX_MS):
	 * unpolled_mark writes marks of the CQs holding some, at most
	 * @max, and returns how many; unpolled_since says whether a marked
	 * CQ still holds one from before its mark. */
	unsigned int (*unpolled_mark)(void *opaque, void *owner,
				      struct srxe_cm_mark *marks,
				      unsigned int max);
	bool (*unpolled_since)(void *opaque, void *owner,
			       const struct srxe_cm_mark *marks,
			       unsigned int n);
};

struct srxe_cm_config {
	uint64_t node_guid;    /* Local CA GUID (host order) */
	uint32_t max_conns;    /* 0: SRXE_CM_DEFAULT_MAX_CONNS */
	uint32_t max_listens;  /* 0: 1024 */
	uint32_t max_channels; /* 0: 1024 */
	uint8_t ca_ack_delay;  /* REP target ACK delay (5 bits) */
	uint32_t seed;	       /* comm ids / TIDs; 0: getrandom() */
};

#define SRXE_CM_DEFAULT_MAX_CONNS 8192
#define SRXE_CM_DEFAULT_BACKLOG	  128
/* Events queued on all channels together (~7.5 MB): clients that do not
 * read cannot make srxed hold SRXE_CM_CHAN_QUEUE_MAX on each channel. */
#define SRXE_CM_QUEUED_MAX 16384
/* rdma_cm's settings (kernel cma.c): REQ response timeout 2^20 * 4.096
 * us (~4.3 s), 15 retries; RoCE packet lifetime 2^18 * 4.096 us, what
 * kernel 6.1's rdma_cm puts on a RoCE path (its REQs carry local ACK
 * timeout 19 = cm_ack_timeout(15, 18), tests/data golden capture). */
#define SRXE_CM_RESPONSE_TIMEOUT 20
#define SRXE_CM_MAX_RETRIES	 15
#define SRXE_CM_PACKET_LIFETIME	 18
/*
 * The peer's DREQ is told (RDMA_CM_EVENT_DISCONNECTED) once the
 * application has polled the completions that were in its CQs when the
 * DREQ came (any CQ of its process: UCX's data QPs are not the rdma_cm
 * id's), looked at every SRXE_CM_HOLD_POLL_MS, at the latest after
 * SRXE_CM_HOLD_MAX_MS, at once when the application disconnects itself.
 * Middleware (libfabric's rxm, UCX) closes an endpoint on the event, and
 * its QPs' unpolled completions go with it: data that had arrived was
 * lost when a loaded host ran the application's event thread before its
 * poller (cm_conn.c).
 */
#define SRXE_CM_HOLD_POLL_MS 1
#define SRXE_CM_HOLD_MAX_MS  100

/* A received MAD and the GRH facts it came with. */
struct srxe_cm_rx {
	uint8_t sgid[16]; /* sender: where answers go */
	uint8_t dgid[16]; /* our GID it was sent to */
	uint8_t traffic_class, hop_limit;
	uint32_t flow_label;
	const uint8_t *mad;
	size_t len;
};

struct srxe_cm_stats {
	uint32_t channels, listens, conns;
	uint64_t mads_in, mads_out, mads_bad, mads_unmatched, send_errors;
	uint64_t reqs_dropped; /* backlog / max_conns */
	uint64_t retries;      /* MADs sent again after a timeout */
	uint64_t timeouts;     /* REQ/REP/DREQ/SIDR_REQ given up */
	uint64_t events, events_queued, events_dropped;
	uint64_t disconnects_held; /* DISCONNECTED held for completions */
};

int srxe_cm_create(const struct srxe_cm_config *cfg,
		   const struct srxe_cm_ops *ops, void *opaque,
		   struct srxe_cm **out);
/* Frees everything without sending a MAD (srxed shutting down). */
void srxe_cm_free(struct srxe_cm *cm);

void srxe_cm_input(struct srxe_cm *cm, const struct srxe_cm_rx *rx);
/* Runs every expired timer, then announces the next deadline. */
void srxe_cm_timer(struct srxe_cm *cm);
/* A channel fd became writable: send what is queued. */
void srxe_cm_chan_writable(struct srxe_cm *cm, uint32_t chan);
void srxe_cm_get_stats(const struct srxe_cm *cm, struct srxe_cm_stats *st);

/*
 * Requests of a client.  owner identifies the client (srxed: its session),
 * uid its user (EACCES below port 1024 unless 0).  Each returns 0 or a
 * positive errno with *why.
 */
/* Takes fd (a socket) on success. */
int srxe_cm_add_channel(struct srxe_cm *cm, void *owner, int fd, uint32_t *chan,
			const char **why);
int srxe_cm_del_channel(struct srxe_cm *cm, void *owner, uint32_t chan,
			const char **why);
int srxe_cm_listen(struct srxe_cm *cm, void *owner, uint32_t uid,
		   const struct srxe_cm_listen_req *req, uint32_t *handle,
		   const char **why);
int srxe_cm_connect(struct srxe_cm *cm, void *owner,
		    const struct srxe_cm_connect_req *req, uint32_t *handle,
		    const char **why);
int srxe_cm_accept(struct srxe_cm *cm, void *owner,
		   const struct srxe_cm_accept_req *req, const char **why);
int srxe_cm_reject(struct srxe_cm *cm, void *owner,
		   const struct srxe_cm_reject_req *req, const char **why);
int srxe_cm_establish(struct srxe_cm *cm, void *owner, uint32_t handle,
		      const char **why);
int srxe_cm_disconnect(struct srxe_cm *cm, void *owner, uint32_t handle,
		       const char **why);
int srxe_cm_notify(struct srxe_cm *cm, void *owner, uint32_t handle,
		   const char **why);
int srxe_cm_destroy(struct srxe_cm *cm, void *owner, uint32_t handle,
		    const char **why);
int srxe_cm_migrate(struct srxe_cm *cm, void *owner,
		    const struct srxe_cm_migrate_req *req, const char **why);
void srxe_cm_owner_gone(struct srxe_cm *cm, void *owner);

/* 4.096 us * 2^t in milliseconds (at least 1). */
uint64_t srxe_cm_time_ms(unsigned int t);

#endif /* SRXE_CM_H */
