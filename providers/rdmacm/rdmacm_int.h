/* SPDX-License-Identifier: MIT */
/*
 * Private contract between the modules of srxe's librdmacm (README.md).
 *
 * The library keeps the application-facing objects (rdma_cm_id, event
 * channels, multicast joins) and resolves addresses and routes itself;
 * srxed's CM (include/srxe/proto_cm.h) owns listens, connections and the
 * CM MADs.  The library talks to each device's srxed over one control
 * connection of its own (no OPEN_CTX), separate from the verbs context the
 * application uses, and moves the application's QPs through their states
 * with ibv_modify_qp.
 *
 * Locking: rcm_lock (a global mutex) guards the device list, the cookie
 * registry, the ids' endpoint lists and the multicast lists.  Each id has a
 * mutex + condition for its delivered/acked event counts.  No srxed call
 * and no verbs call is made while rcm_lock is held.
 */
#ifndef SRXE_RDMACM_INT_H
#define SRXE_RDMACM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <rdma/rdma_cma.h>
#include <rdma/rdma_verbs.h>

#include "srxe/client.h"
#include "srxe/proto_cm.h"

#define RCM_EXPORT   __attribute__((visibility("default")))
#define RCM_MAX_DEVS 16
/* rdma_cm's default packet life time on RoCE (kernel 6.1's
 * CMA_IBOE_PACKET_LIFETIME: its REQs carry local ACK timeout 19) and the
 * local ACK timeout derived from it (IB CM: packet life time + 1). */
#define RCM_PACKET_LIFETIME   18
#define RCM_DEFAULT_HOP_LIMIT 64
/* User private data after the cma header (TCP/UDP) or raw (IB). */
#define RCM_PDATA_REQ_TCP (92 - SRXE_CM_CMA_HDR_LEN)
#define RCM_PDATA_REQ_IB  92
#define RCM_PDATA_SIDR	  (216 - SRXE_CM_CMA_HDR_LEN)
#define RCM_PDATA_REP	  196
#define RCM_PDATA_REJ	  148

extern pthread_mutex_t rcm_lock;

/* One srxe device: its verbs context (what id->verbs points at), a default
 * PD, and the library's own control connection to its srxed. */
struct rcm_dev {
	int index;
	struct ibv_device *ibdev;
	struct ibv_context *verbs;
	struct ibv_pd *pd;
	struct srxe_conn conn; /* CM requests; watched for srxed's death */
	bool conn_open;
	bool dead; /* srxed went away: DEVICE_REMOVAL was (being) reported */
	uint8_t max_initiator_depth;
	uint8_t max_responder_resources;
};

/* A library-made event waiting for room in its channel's socket. */
struct rcm_qev {
	struct rcm_qev *next;
	struct srxe_cm_event ev;
};

struct rcm_chan {
	struct rdma_event_channel ch; /* ch.fd: the epoll fd the app polls */
	int rd, wr; /* SOCK_SEQPACKET pair; wr goes to srxed */
	pthread_mutex_t lock;
	uint32_t handle[RCM_MAX_DEVS]; /* CM_ADD_CHANNEL answer per device */
	bool added[RCM_MAX_DEVS];
	bool watched[RCM_MAX_DEVS]; /* device's control socket in the epoll */
	struct rcm_qev *ovf_head, *ovf_tail;
};

/* A srxed-side object of an id (a listen on one device or the id's
 * connection) and the cookie its events carry. */
struct rcm_ep {
	uint64_t cookie;
	struct rcm_id *id;
	struct rcm_dev *dev; /* NULL until it has a srxed object */
	uint32_t handle;
	bool has_handle;
	bool listen;
	struct rcm_ep *next;   /* the id's extra endpoints */
	struct rcm_ep *c_next; /* cookie hash chain */
	struct rcm_ep *h_next; /* (dev, handle) hash chain */
	bool hashed_handle;
};

struct rcm_mc {
	struct rcm_mc *next;
	uint32_t num; /* the id's join number, in its local events */
	void *context;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	union ibv_gid mgid;
	uint16_t join_flags;
	bool attached;
	unsigned delivered, acked;
};

enum rcm_state {
	RCM_IDLE,
	RCM_BOUND,
	RCM_ADDR_QUERY, /* rdma_resolve_addr: its event is on the way */
	RCM_ADDR_RESOLVED,
	RCM_ROUTE_RESOLVED,
	RCM_LISTEN,
	RCM_CONNECT, /* REQ sent */
	RCM_REQ_RCVD,
	RCM_CONNECTED,
	RCM_DISCONNECTED,
};

struct rcm_id {
	struct rdma_cm_id id;
	struct rcm_chan *chan;
	bool sync; /* the library made id.channel for it */
	struct rcm_dev *dev;
	enum rcm_state state;
	pthread_mutex_t mut;
	pthread_cond_t cond;
	unsigned delivered, acked; /* events handed to the app / acked */
	struct rcm_ep ep;	   /* cookie of the id, its connection */
	struct rcm_ep *xeps;	   /* listens on further devices */
	int port_fd;		   /* port reservation, -1: none */
	bool reuseaddr, afonly, afonly_set;
	bool tos_set, timeout_set;
	uint8_t tos, ack_timeout;
	struct srxe_cm_path path;
	bool have_path;
	uint32_t psn; /* our starting PSN (what we receive) */
	struct srxe_cm_conn_param remote; /* from REQ / REP / SIDR_REP */
	uint8_t initiator_depth, responder_resources;
	uint8_t retry_count, rnr_retry_count;
	bool connect_error;
	uint32_t qkey;
	/* ECE: local_ece is what rdma_set_local_ece set (or, once the id
	 * has a QP, the QP's: none on srxe); remote_ece the peer's REQ/REP
	 * VendorID and AttributeModifier. */
	struct ibv_ece local_ece, remote_ece;
	struct ibv_qp_init_attr *qp_init_attr; /* rdma_create_ep, passive */
	void *connect_data;
	size_t connect_len;
	struct rcm_mc *mc_list;
	uint32_t next_mc;
	struct rcm_id *all_next, *all_prev; /* rcm_all_ids */
};

struct rcm_event {
	struct rdma_cm_event ev;
	struct rcm_id *owner; /* whose count the ack completes */
	struct rcm_mc *mc;
	uint8_t private_data[SRXE_CM_PRIVATE_MAX];
};

static inline struct rcm_id *rcm_id(struct rdma_cm_id *id)
{
	return (struct rcm_id *)((char *)id - offsetof(struct rcm_id, id));
}

static inline struct rcm_chan *rcm_chan(struct rdma_event_channel *ch)
{
	return (struct rcm_chan *)((char *)ch - offsetof(struct rcm_chan, ch));
}

/* librdmacm's convention: set errno, return -1. */
static inline int rcm_err(int err)
{
	errno = err;
	return -1;
}

/* dev.c */
int rcm_init(void);
int rcm_dev_count(void);
struct rcm_dev *rcm_dev_at(int i);
/* Device (and sgid index) whose GID table holds gid; NULL if none. */
struct rcm_dev *rcm_dev_by_gid(const union ibv_gid *gid, int *sgid_index);
int rcm_dev_open(struct rcm_dev *dev); /* verbs, PD, control connection */
int rcm_dev_conn(struct rcm_dev *dev); /* the control connection only */
int rcm_dev_call(struct rcm_dev *dev, uint16_t op, const void *req,
		 size_t req_len, int send_fd, void *reply, size_t reply_len);
int rcm_dev_active_mtu(struct rcm_dev *dev, enum ibv_mtu *mtu);

/* chan.c */
struct rcm_chan *rcm_chan_new(void);
void rcm_chan_free(struct rcm_chan *chan);
/* Make sure srxed of dev writes to chan (CM_ADD_CHANNEL); 0 or errno. */
int rcm_chan_attach(struct rcm_chan *chan, struct rcm_dev *dev,
		    uint32_t *handle);
/* Watch dev's control socket from chan's epoll (DEVICE_REMOVAL). */
void rcm_chan_watch(struct rcm_chan *chan, struct rcm_dev *dev);
/* Queue a library-made event for id (handle: e.g. the multicast join). */
int rcm_post_local(struct rcm_id *rid, enum rdma_cm_event_type type, int status,
		   uint32_t handle);
/* Queue a raw event (a migrated id's) on chan. */
int rcm_post_raw(struct rcm_chan *chan, const struct srxe_cm_event *ev);
/* Synchronous ids: wait for the next event of the id's own channel. */
int rcm_complete(struct rcm_id *rid);

/* id.c */
extern struct rcm_id *rcm_all_ids; /* every id, under rcm_lock */
struct rcm_id *rcm_id_alloc(struct rcm_chan *chan, void *context,
			    enum rdma_port_space ps, enum ibv_qp_type qp_type);
void rcm_id_free(struct rcm_id *rid);
int rcm_create_id(struct rdma_event_channel *channel, struct rdma_cm_id **id,
		  void *context, enum rdma_port_space ps,
		  enum ibv_qp_type qp_type);
void rcm_ep_hash_handle(struct rcm_ep *ep);
void rcm_ep_unhash(struct rcm_ep *ep);
void rcm_ep_unhash_handle(struct rcm_ep *ep);
/* With rcm_lock held: the endpoint for a cookie / (dev, handle). */
struct rcm_ep *rcm_ep_lookup(uint64_t cookie);
struct rcm_ep *rcm_ep_lookup_handle(struct rcm_dev *dev, uint32_t handle);
struct rcm_ep *rcm_ep_new(struct rcm_id *rid);
int rcm_id_set_dev(struct rcm_id *rid, struct rcm_dev *dev);
void rcm_addr_to_cm(const struct sockaddr *sa, struct srxe_cm_addr *out);
void rcm_addr_from_cm(const struct srxe_cm_addr *in, struct sockaddr *sa);
socklen_t rcm_addrlen(const struct sockaddr *sa);
void rcm_addr_to_gid(const struct sockaddr *sa, union ibv_gid *gid);
bool rcm_addr_any(const struct sockaddr *sa);
uint16_t rcm_addr_port(const struct sockaddr *sa);
void rcm_addr_set_port(struct sockaddr *sa, uint16_t port);
void rcm_fill_path_rec(struct rcm_id *rid);
void rcm_fill_ah_attr(struct rcm_id *rid, struct ibv_ah_attr *ah);

/* port.c: host-wide port reservations (abstract AF_UNIX names) */
int rcm_port_reserve(int ps, uint16_t *port, bool reuse, int *fd);

/* conn.c */
int rcm_qp_to_err(struct rcm_id *rid);
int rcm_qp_rtr_rts(struct rcm_id *rid, bool active);
/* ECE of an id with a QP on a REP (librdmacm's conn_resp_ece): 0 or an
 * errno (EINVAL: the REP names another vendor than ours). */
int rcm_ece_rep(struct rcm_id *rid, const struct srxe_cm_conn_param *rep);
void rcm_ece_query(struct rcm_id *rid);
void rcm_cm_destroy_eps(struct rcm_id *rid);

/* neigh.c: the neighbour step of rdma_resolve_addr.  *pending: a thread
 * posts ADDR_RESOLVED or ADDR_ERROR -ETIMEDOUT for the id later; else no
 * neighbour is needed or it is already valid (the caller posts
 * ADDR_RESOLVED).  0 or a positive errno. */
int rcm_neigh_resolve(struct rcm_id *rid, const struct sockaddr *src,
		      const struct sockaddr *dst, int timeout_ms,
		      bool *pending);

/* mcast.c */
int rcm_mc_join_event(struct rcm_event *evt, struct rcm_id *rid, uint32_t num);
void rcm_mc_leave_all(struct rcm_id *rid);

#endif /* SRXE_RDMACM_INT_H */
