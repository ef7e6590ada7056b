/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the CM's files: cm_core.c (objects, handles, hash
 * tables, channels and events), cm_listen.c (listen table), cm_conn.c
 * (state machines), cm_timer.c (response timeouts, retries, TimeWait).
 */
#ifndef SRXE_CM_INT_H
#define SRXE_CM_INT_H

#include "cm.h"

#define CM_HASH_BITS 12
#define CM_HASH_SIZE (1u << CM_HASH_BITS)

enum cm_kind { CM_OBJ_LISTEN = 1, CM_OBJ_CONN };

/* IB CM reject reasons (IBA table 112, the kernel's enum ib_cm_rej_reason)
 * srxe sends or matches. */
enum cm_rej_reason {
	CM_REJ_TIMEOUT = 4,
	CM_REJ_INVALID_SERVICE_ID = 8,
	CM_REJ_STALE_CONN = 10,
	CM_REJ_CONSUMER = 28,
};

struct cm_obj {
	uint32_t id; /* the handle; a connection's local comm id */
	uint8_t kind;
	struct cm_obj *hnext;
};

struct cm_chan_ev {
	struct cm_chan_ev *next;
	struct srxe_cm_event ev;
};

struct cm_chan {
	uint32_t handle;
	void *owner;
	int fd;
	bool dead;     /* write failed: events dropped */
	bool want_out; /* EPOLLOUT armed */
	uint32_t qlen;
	struct cm_chan_ev *qhead, *qtail;
	struct cm_chan *next;
};

struct cm_listen {
	struct cm_obj o;
	void *owner;
	uint64_t cookie;
	uint32_t chan;
	uint16_t ps, port;
	struct srxe_cm_addr addr; /* family 0: any */
	uint32_t backlog, pending;
	struct cm_listen *next;
};

enum cm_state {
	CM_IDLE,	 /* rejected, timed out, or never connected */
	CM_REQ_SENT,	 /* active: REQ out, waiting REP */
	CM_MRA_REQ_RCVD, /* active: the peer asked for more time */
	CM_REP_RCVD,	 /* active: CONNECT_RESPONSE given, waiting ESTABLISH */
	CM_REQ_RCVD,	 /* passive: CONNECT_REQUEST given, app deciding */
	CM_MRA_REQ_SENT, /* passive: a duplicate REQ got an MRA */
	CM_REP_SENT,	 /* passive: REP out, waiting RTU */
	CM_MRA_REP_RCVD, /* passive: the peer asked for more time */
	CM_ESTABLISHED,
	CM_DREQ_SENT,
	CM_DREQ_RCVD, /* DISCONNECTED given, waiting CM_DISCONNECT */
	CM_TIMEWAIT,
	CM_SIDR_REQ_SENT,
	CM_SIDR_REQ_RCVD,
	CM_SIDR_DONE,
};

struct cm_conn {
	struct cm_obj o;
	void *owner;	 /* NULL: destroyed by the app, ending TimeWait */
	uint64_t cookie; /* 0 for a passive one until CM_ACCEPT */
	uint32_t chan;
	uint32_t listen; /* passive and pending: counted in its backlog */
	enum cm_state state;
	bool active, sidr, disconnected_sent;
	uint16_t ps;
	uint8_t qp_type;
	uint64_t tid; /* REQ/REP/RTU exchange (the REQ's), SIDR */
	uint64_t dreq_tid;
	uint64_t service_id;
	/* The peer. */
	uint32_t remote_id;
	uint64_t remote_guid; /* SIDR: a hash of its GID */
	uint32_t remote_qpn;
	uint8_t peer_gid[16], local_gid[16];
	uint8_t traffic_class, hop_limit;
	uint32_t flow_label;
	bool in_rid, in_rqp;
	struct cm_conn *rid_next, *rqp_next;
	/* Retransmission: the MAD waiting for an answer. */
	uint8_t mad[SRXE_MAD_LEN];
	bool timer_on;
	uint8_t retries_left, max_retries;
	uint32_t timeout_ms; /* one try (REQ, REP, DREQ) */
	uint32_t lifetime;   /* packet lifetime exponent */
	uint64_t deadline;
	struct cm_conn *tnext, *tprev;
	/* The peer's disconnect, held for the process's unpolled
	 * completions (cm.h). */
	bool held;
	uint8_t nmarks;
	uint64_t held_until;
	struct srxe_cm_mark marks[SRXE_CM_HOLD_MARKS];
	struct srxe_cm_event held_ev;
	/* Event data. */
	struct srxe_cm_addr src, dst;
	struct srxe_cm_path path;
	struct srxe_cm_conn_param local, remote;
};

struct srxe_cm {
	struct srxe_cm_config cfg;
	struct srxe_cm_ops ops;
	void *opaque;
	uint64_t rng;
	uint32_t tid_lo;
	struct cm_obj *objs[CM_HASH_SIZE];
	struct cm_conn *rid[CM_HASH_SIZE]; /* by (remote id, remote guid) */
	struct cm_conn *rqp[CM_HASH_SIZE]; /* by (remote qpn, peer gid) */
	struct cm_conn *timers;		   /* connections with timer_on */
	uint64_t armed;			   /* deadline announced, 0 none */
	struct cm_listen *listens;
	struct cm_chan *chans;
	uint32_t next_chan;
	uint32_t queued; /* events queued on all channels */
	struct srxe_cm_stats st;
};

/* cm_core.c */
void cm_log(struct srxe_cm *cm, enum srxe_cm_log_level lvl, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
uint32_t cm_random(struct srxe_cm *cm);
uint64_t cm_new_tid(struct srxe_cm *cm);
uint32_t cm_new_id(struct srxe_cm *cm);
struct cm_obj *cm_obj_find(struct srxe_cm *cm, uint32_t id);
void cm_obj_add(struct srxe_cm *cm, struct cm_obj *o);
void cm_obj_del(struct srxe_cm *cm, struct cm_obj *o);
struct cm_conn *cm_conn_find(struct srxe_cm *cm, uint32_t id);
struct cm_conn *cm_conn_of(struct srxe_cm *cm, void *owner, uint32_t handle);
struct cm_chan *cm_chan_find(struct srxe_cm *cm, uint32_t handle);
/* Queues/sends one event; false when it had to be dropped. */
bool cm_emit(struct srxe_cm *cm, uint32_t chan, const struct srxe_cm_event *ev);
void cm_event_init(const struct cm_conn *c, uint32_t event, int32_t status,
		   struct srxe_cm_event *ev);
void cm_chans_owner_gone(struct srxe_cm *cm, void *owner);
bool cm_gid_eq(const uint8_t a[16], const uint8_t b[16]);

/* cm_listen.c */
struct cm_listen *cm_listen_match(struct srxe_cm *cm, uint16_t ps,
				  uint16_t port, const struct srxe_cma_hdr *h,
				  bool *port_listened);
void cm_listen_free(struct srxe_cm *cm, struct cm_listen *l);
void cm_listens_owner_gone(struct srxe_cm *cm, void *owner);

/* cm_conn.c */
struct cm_conn *cm_conn_new(struct srxe_cm *cm);
void cm_conn_free(struct srxe_cm *cm, struct cm_conn *c);
void cm_conn_set_remote(struct srxe_cm *cm, struct cm_conn *c);
void cm_conn_unset_remote(struct srxe_cm *cm, struct cm_conn *c);
void cm_conn_release(struct srxe_cm *cm, struct cm_conn *c);
void cm_conn_timeout(struct srxe_cm *cm, struct cm_conn *c);
void cm_conns_owner_gone(struct srxe_cm *cm, void *owner);
void cm_send(struct srxe_cm *cm, struct cm_conn *c, const uint8_t *mad);
/* Encodes msg into c->mad (the MAD a timeout sends again) and sends it. */
void cm_send_msg(struct srxe_cm *cm, struct cm_conn *c,
		 const struct srxe_cm_msg *msg);
void cm_send_to(struct srxe_cm *cm, const uint8_t gid[16], uint8_t tclass,
		uint8_t hop_limit, const struct srxe_cm_msg *msg);
void cm_enter_timewait(struct srxe_cm *cm, struct cm_conn *c);
void cm_to_idle(struct srxe_cm *cm, struct cm_conn *c);
void cm_conn_emit(struct srxe_cm *cm, struct cm_conn *c,
		  struct srxe_cm_event *ev);
/* The peer's DREQ arrived: DISCONNECTED now, or once the completions
 * the process had not polled are (SRXE_CM_HOLD_MAX_MS). */
void cm_emit_peer_disconnect(struct srxe_cm *cm, struct cm_conn *c,
			     struct srxe_cm_event *ev);
uint8_t cm_ack_timeout(uint8_t ca_ack_delay, uint8_t lifetime);
/* The state's name in kernel ib_cm's words, for log lines. */
const char *cm_state_name(enum cm_state s);
void cm_send_dreq(struct srxe_cm *cm, struct cm_conn *c);
struct cm_conn *cm_rid_find(struct srxe_cm *cm, uint32_t remote_id,
			    uint64_t guid);
struct cm_conn *cm_rqp_find(struct srxe_cm *cm, uint32_t qpn,
			    const uint8_t gid[16]);
uint64_t cm_gid_fold(const uint8_t gid[16]);

/* cm_recv.c: srxe_cm_input() and one handler per attribute. */

/* cm_timer.c */
void cm_timer_start(struct srxe_cm *cm, struct cm_conn *c, uint32_t ms,
		    uint8_t retries);
void cm_timer_stop(struct srxe_cm *cm, struct cm_conn *c);
void cm_timer_rearm(struct srxe_cm *cm);

#endif /* SRXE_CM_INT_H */
