/* SPDX-License-Identifier: MIT */
/*
 * Engine internals shared by its modules: the private object records and
 * the functions one state machine calls in another.  Everything here is
 * used with the engine lock held.  Nothing in these records lives in
 * shared memory except what the pointers to rings say; ring geometry and
 * indices used for decisions are private copies.
 */
#ifndef SRXE_ENGINE_INT_H
#define SRXE_ENGINE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "engine.h"
#include "fault.h"
#include "srxe/wc_opcode.h"
#include "list.h"
#include "mcast.h"
#include "pkt.h"
#include "frames.h" /* SRXE_FRAME_SIZE: the burst bound */
#include "reseq.h"
#include "tlb.h"
#include "translate.h"

#define SRXE_ENG_MAX_SGE     32
#define SRXE_ENG_MAX_INLINE  4096
#define SRXE_ENG_MAX_RD_ATOM 128
#define SRXE_ENG_MAX_MSG     0x80000000ull
#define SRXE_ENG_QP_HASH     4096
#define SRXE_ENG_SRQ_HASH    256
#define SRXE_ATOMIC_CACHE    16
/* Packets one QP may send per pass before others get their turn. */
#define SRXE_REQ_BUDGET 64
/*
 * A same-host burst (pkt.h extra_psns) carries up to this much of a
 * message: with 4 KiB pages its payload spans at most 17 pages plus one
 * chunk per SGE boundary, inside SRXE_PKT_MAX_CHUNKS on both ends.
 */
#define SRXE_BURST_BYTES (64u * 1024u)
_Static_assert(SRXE_BURST_BYTES / SRXE_FRAME_SIZE + 1 + SRXE_ENG_MAX_SGE <=
		       SRXE_PKT_MAX_CHUNKS,
	       "a same-host burst's chunks must fit one chunk list");

/*
 * The transmit port: routes @pkt to @dst through the right transport
 * (engine.c).  Transports consume the packet before returning (pkt.h).
 */
typedef void (*srxe_eng_xmit_fn)(struct srxe_engine *eng,
				 const struct srxe_tx_pkt *pkt,
				 const struct srxe_dest *dst);

typedef void (*srxe_eng_handoff_fn)(struct srxe_engine *eng,
				    struct srxe_engine *to,
				    const struct srxe_pkt *pkt,
				    const struct srxe_sg *payload, int nchunks);

/* A packet waiting in an engine thread's inbox (shard.c). */
struct srxe_inbox_item;
struct srxe_capture;

/*
 * One engine thread and what it serves (docs/datapath.md "Engine
 * threads").  A device runs cfg.threads of them; the first, dev, is the
 * one srxed holds and also keeps what the device has once: the QP and
 * SRQ numbers, the wire, the capture, multicast, QP 1 and the fault
 * filter.  Each thread's lock guards the contexts placed on it and its
 * own fields (stats, now, tlb); the device's shared tables change only
 * with every lock held (srxe_engine_lock), so a thread reads them under
 * its own.
 */
struct srxe_engine {
	struct srxe_engine_config cfg;
	pthread_mutex_t lock;
	pthread_t thread;
	bool thread_started;
	int epfd, wake_fd, timer_fd;
	int stop;     /* __atomic */
	int sleeping; /* __atomic: the thread is (about to be) in epoll_wait */
	void *owner;  /* __atomic: the thread holding lock (shard.c) */
	struct srxe_list ctxs;
	unsigned int nctxs;	 /* contexts placed here (shard.c) */
	unsigned int index;	 /* dev->shards[index] == this */
	struct srxe_engine *dev; /* the device's first thread */
	/* Packets other threads could not hand over at once (shard.c):
	 * FIFO under inbox_lock; pending counts them until delivered. */
	pthread_mutex_t inbox_lock;
	struct srxe_inbox_item *inbox_head, *inbox_tail;
	uint32_t inbox_pending; /* __atomic */
	uint64_t inbox_bytes;	/* under inbox_lock */
	struct srxe_xport local;
	/* The device's wire (dev's pointer, copied): issue #5; NULL:
	 * off-host drops. */
	struct srxe_xport *wire;
	struct srxe_eng_stats stats;
	uint64_t now;	      /* srxe_now_ns() of the current pass */
	uint64_t timer_armed; /* deadline timer_fd is armed to, 0: disarmed */
	/* The ports between the layers, set by the core (engine.c) before
	 * any transport opens: the state machines send through xmit, the
	 * transports deliver through rx, rx.c hands a packet for another
	 * thread's QP over through handoff, the wire tap reaches capture.c
	 * through capture_ip (capture_hook.h): no layer calls one above. */
	srxe_eng_xmit_fn xmit;
	struct srxe_rx_port rx;
	srxe_eng_handoff_fn handoff;
	void (*capture_ip)(struct srxe_capture *c, const uint8_t *ip,
			   size_t len, bool received);
	/* Translation cache of the thread holding lock (tlb.h): used only
	 * under lock, as the tables it caches change only under it. */
	struct srxe_tlb tlb;

	/* ---- the device's: used in dev only ---- */
	unsigned int nshards;
	struct srxe_engine *shards[SRXE_ENGINE_MAX_THREADS];
	/* With several threads: serializes the wire, the capture and the
	 * fault filter, which every thread transmits through (recursive:
	 * a received packet's answer is sent from inside the poll). */
	pthread_mutex_t io_lock;
	bool pins_pending; /* a context asked for the first thread */
	uint64_t next_ctx_id;
	struct srxe_eng_qp *qp_hash[SRXE_ENG_QP_HASH];
	struct srxe_eng_srq *srq_hash[SRXE_ENG_SRQ_HASH]; /* XRC SRQs */
	struct srxe_capture
		*capture;	     /* `srxe capture` (capture.h); NULL: off */
	struct srxe_fault *fault;    /* tests only (fault.h); NULL: none */
	struct srxe_mcast_tbl mcast; /* UD multicast groups (mcast.h) */
	srxe_eng_gsi_rx_fn gsi_rx;   /* QP 1 (gsi.c); NULL: no CM */
	void *gsi_opaque;
	uint32_t gsi_psn; /* next PSN of a MAD QP 1 sends */
};

struct srxe_eng_ctx {
	struct srxe_engine *eng; /* the thread serving it (shard.c) */
	struct srxe_list node;
	uint64_t id;
	/* Objects shared with other contexts (an XRC SRQ or target QP, a
	 * multicast attachment): served by the first thread, for good. */
	bool pin_first, pinned;
	struct srxe_mem_client *mem;
	struct srxe_ctx_page *page;
	char *arena;
	uint64_t arena_bytes;
	int doorbell_fd, async_fd;
	uint32_t client_id;
	srxe_eng_ah_lookup_fn ah_lookup;
	void *ah_opaque;
	struct srxe_list qps, cqs, srqs, ahs;
};

struct srxe_eng_cq {
	struct srxe_eng_ctx *ctx;
	struct srxe_list node;
	struct srxe_ring_hdr *ring;
	uint32_t size;
	uint32_t prod; /* private: the engine is the only producer */
	uint32_t arm_seen;
	uint32_t users;
	bool error;
	uint64_t user_handle;
	uint64_t events; /* notifications raised */
	int event_fd;	 /* completion channel pipe (O_NONBLOCK) or -1 */
};

struct srxe_eng_srq {
	struct srxe_eng_ctx *ctx;
	struct srxe_list node;
	uint32_t pd;
	struct srxe_ring_hdr *ring;
	uint32_t size, stride, max_wr, max_sge, limit;
	uint32_t cons; /* private consumer index */
	uint32_t users;
	bool error;
	uint64_t user_handle;
	/* XRC (xrcd != 0): domain id, SRQ number, completion CQ. */
	uint32_t xrcd, srqn;
	struct srxe_eng_cq *cq;
	struct srxe_eng_srq *hash_next;
};

struct srxe_eng_ah {
	struct srxe_eng_ctx *ctx;
	struct srxe_list node;
	uint32_t pd;
	struct srxe_ah_wire av;
	struct srxe_dest dest; /* resolved peer; qpn comes from each WQE */
};

enum srxe_swqe_state {
	SRXE_SWQE_FETCHED, /* copied and checked, not started */
	SRXE_SWQE_SENDING, /* PSNs assigned, packets going out */
	SRXE_SWQE_SENT,	   /* every packet sent, waiting for the answer */
	SRXE_SWQE_DONE,	   /* status final; retired in order */
};

/* Private copy of a send WQE. */
struct srxe_swqe {
	struct srxe_send_wqe wr;
	struct srxe_wqe_sge *sge; /* cap.max_send_sge entries */
	uint8_t *inl;		  /* cap.max_inline_data bytes */
	uint64_t length;
	uint32_t first_psn, last_psn, npkts;
	uint32_t resp_pkts; /* READ: response packets received */
	uint8_t state;	    /* enum srxe_swqe_state */
	bool rd_atomic;	    /* counted in req.rd_atomic */
	uint32_t status;    /* enum ibv_wc_status to report */
	uint32_t vendor_err;
	struct srxe_dest dest; /* UD: from the AH */
	uint32_t qkey;
};

/* Private copy of a receive WQE. */
struct srxe_rwqe {
	uint64_t wr_id;
	uint32_t num_sge;
	uint64_t length;
	struct srxe_wqe_sge sge[SRXE_ENG_MAX_SGE];
};

struct srxe_req_state {
	uint32_t idx;	    /* ring index of the WQE being sent */
	uint32_t psn;	    /* next PSN to send */
	uint32_t rd_atomic; /* READ/ATOMIC WQEs awaiting their response */
	bool rnr_wait;
	uint64_t rnr_deadline;
	uint32_t max_psn; /* first PSN never sent: below it, a resend */
	uint32_t noack;	  /* packets sent since the last AckReq */
};

struct srxe_comp_state {
	uint32_t retry_left, rnr_left;
	uint64_t ack_deadline; /* 0: timer off */
	uint32_t ack_psn;      /* every PSN before it is acknowledged */
	bool gap_retried;      /* a retry for gap_psn is under way */
	uint32_t gap_psn;
	struct srxe_reseq reseq; /* early READ responses and atomic ACKs */
};

struct srxe_resp_state {
	uint32_t epsn; /* next expected PSN */
	uint32_t msn;
	uint32_t in_msg; /* 0, SRXE_OPF_SEND or SRXE_OPF_WRITE */
	bool nak_seq_sent;
	bool drop_msg; /* UC: discard up to the next First/Only */
	bool have_rwqe;
	struct srxe_rwqe rwqe;
	uint64_t recv_off;
	uint64_t va;
	uint32_t rkey, dma_len;
	uint64_t wr_off;
	uint32_t xsrqn; /* XRC target: the SRQ of the message in progress */
	struct {
		uint32_t psn;
		bool valid;
		uint64_t orig;
	} atomic[SRXE_ATOMIC_CACHE];
	unsigned int atomic_next;
	struct srxe_reseq reseq; /* early requests */
};

struct srxe_eng_qp {
	struct srxe_eng_ctx *ctx;
	struct srxe_list node;
	struct srxe_eng_qp *hash_next;
	uint32_t type, qpn, pd, sig_all;
	uint32_t xrcd; /* XRC_RECV: domain id */
	struct srxe_eng_cq *scq, *rcq;
	struct srxe_eng_srq *srq;
	struct srxe_ring_hdr *sq, *rq;
	struct srxe_ring_hdr *own_sq; /* XRC target: private empty SQ */
	uint32_t sq_size, sq_stride, rq_size, rq_stride;
	struct srxe_qp_cap_wire cap;
	uint64_t user_handle;
	struct srxe_qp_attr_wire attr; /* attr.qp_state is the state */
	uint32_t mtu;		       /* bytes */
	struct srxe_dest dest;	       /* RC/UC peer */
	bool fatal_sent;
	bool drained_sent;    /* SQD: IBV_EVENT_SQ_DRAINED raised */
	bool comm_est_sent;   /* IBV_EVENT_COMM_EST raised since RESET */
	bool last_wqe_sent;   /* SRQ QP in ERR: IBV_EVENT_QP_LAST_WQE_REACHED */
	uint32_t mcast_count; /* multicast groups attached to */

	struct srxe_swqe *swqe; /* sq_size entries */
	void *swqe_store;
	uint32_t sq_cons;    /* retired, mirrored to sq->cons */
	uint32_t sq_fetched; /* [sq_cons, sq_fetched) are copied */
	uint32_t rq_cons;    /* own RQ */

	struct srxe_req_state req;
	struct srxe_comp_state comp;
	struct srxe_resp_state resp;
};

/* ---- engine.c ---- */
/* Sends @pkt to @dst: the one way a state machine transmits. */
static inline void srxe_eng_xmit(struct srxe_engine *eng,
				 const struct srxe_tx_pkt *pkt,
				 const struct srxe_dest *dst)
{
	eng->xmit(eng, pkt, dst);
}
/* Hands the wire its queued packets (one thread at a time). */
void srxe_engine_wire_flush(struct srxe_engine *eng);
/* Wakes the thread from epoll_wait (or makes its next one return). */
void srxe_engine_wake(struct srxe_engine *eng);
/* Doorbell fds in the engine's epoll set (tag: the context id). */
int srxe_engine_watch(struct srxe_engine *eng, int fd, uint64_t tag);
void srxe_engine_unwatch(struct srxe_engine *eng, int fd);
/* One pass over every context: returns how much work it did. */
unsigned int srxe_engine_pass(struct srxe_engine *eng);
/* Earliest timer deadline of any QP (ns), 0 when none. */
uint64_t srxe_engine_next_deadline(struct srxe_engine *eng);

/* ---- fault.c (tests only, fault.h) ---- */
bool srxe_fault_xmit(struct srxe_engine *eng, const struct srxe_tx_pkt *tx,
		     const struct srxe_dest *dst);
/* A filter record for srxe_engine_set_fault (control.c); NULL: no memory. */
struct srxe_fault *srxe_fault_new(srxe_fault_fn fn, void *opaque);
void srxe_fault_free(struct srxe_engine *eng);

/* ---- rx.c: what every transport delivers to (eng->rx.deliver) ---- */
/*
 * pkt->ip: the packet's IP header as it arrived (IPv4, or the 40-byte
 * IPv6 header; same-host: the one the wire would have carried), which a
 * UD receive gets as its GRH and its wc.sl network type from; NULL where
 * no transport gave one (tests).
 */
void srxe_eng_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		 const struct srxe_sg *payload, int nchunks);
/* srxe_eng_rx without counting the packet: a hand-off's delivery. */
void srxe_eng_rx_route(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		       const struct srxe_sg *payload, int nchunks);

/* ---- mcast_eng.c ---- */
/* BTH DestQP of every multicast packet (IBA: the "permissive" QPN). */
#define SRXE_MCAST_QPN 0xffffffu
void srxe_mcast_eng_init(struct srxe_engine *eng);
void srxe_mcast_eng_fini(struct srxe_engine *eng);
/* Detaches @qp from every group (QP destroy). */
void srxe_mcast_qp_gone(struct srxe_eng_qp *qp);
/* A packet for the multicast QPN: one copy to every attached QP. */
void srxe_mcast_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		   const struct srxe_sg *payload, int nchunks);
/* true: a multicast IPv4 destination with a group of this device. */
bool srxe_mcast_ipv4_joined(const struct srxe_engine *eng, uint32_t ipv4_be);
/* true: an IPv6 multicast destination that is a group of this device. */
bool srxe_mcast_ipv6_joined(const struct srxe_engine *eng,
			    const uint8_t ip6[16]);
static inline bool srxe_ipv4_is_mcast(uint32_t ipv4_be)
{
	return (((const uint8_t *)&ipv4_be)[0] & 0xf0) == 0xe0;
}
/* 224.0.0.0/4 or ff00::/8 */
static inline bool srxe_dest_is_mcast(const struct srxe_dest *dst)
{
	return dst->ipv6 ? dst->ip6[0] == 0xff
			 : srxe_ipv4_is_mcast(dst->ipv4_be);
}

/* ---- transport_local.c ---- */
void srxe_local_transport_init(struct srxe_xport *t, struct srxe_engine *eng);
/* Hands @tx to the destination QP on this device; false: no such QP. */
bool srxe_local_deliver(struct srxe_engine *eng, const struct srxe_tx_pkt *tx,
			const struct srxe_dest *dst);

/* ---- gsi.c ---- */
/* A packet for QPN 1: to the CM's callback, or dropped. */
void srxe_gsi_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		 const struct srxe_sg *payload, int nchunks);

/* ---- ctx.c ---- */
/*
 * The object half of srxe_eng_ctx_create: checks @init and makes the
 * context, not yet known to the engine thread (control.c links it).
 */
int srxe_ctx_new(struct srxe_engine *eng, const struct srxe_eng_ctx_init *init,
		 struct srxe_eng_ctx **out, const char **why);
/*
 * @ctx has an object other contexts use (an XRC SRQ or target QP, a
 * multicast attachment): from the end of this control-plane call on, the
 * first engine thread serves it (shard.c), where those objects meet.
 */
void srxe_ctx_pin_first(struct srxe_eng_ctx *ctx);
/* Frees a context already emptied and unlinked. */
void srxe_ctx_free(struct srxe_eng_ctx *ctx);
void srxe_ctx_async(struct srxe_eng_ctx *ctx, uint64_t element, uint32_t event);
/* true when [p, p + bytes) lies inside the context's arena. */
bool srxe_ctx_in_arena(const struct srxe_eng_ctx *ctx, const void *p,
		       uint64_t bytes);
/* 0 and *@out (all but qpn), or -EINVAL with a reason in *@why. */
int srxe_resolve_av(const struct srxe_engine *eng,
		    const struct srxe_ah_wire *av, struct srxe_dest *out,
		    const char **why);
/* true: @dst is this device's own address (the same-host transport's). */
bool srxe_dest_is_local(const struct srxe_engine *eng,
			const struct srxe_dest *dst);

/* ---- cq.c ---- */
/* 0, or -ENOSPC when the CQ overflowed (it is then in error). */
int srxe_cq_push(struct srxe_eng_cq *cq, const struct srxe_cqe *cqe,
		 bool solicited);
/*
 * srxe_eng_cq_resize in two steps around the settling passes (control.c):
 * the ring check (-EINVAL with *@why), then the move of unconsumed CQEs.
 */
int srxe_cq_resize_check(struct srxe_eng_cq *cq, struct srxe_ring_hdr *ring,
			 uint32_t size, const char **why);
int srxe_cq_resize_move(struct srxe_eng_cq *cq, struct srxe_ring_hdr *ring,
			uint32_t size, const char **why);

/* ---- rq.c ---- */
/* The XRC SRQ numbered @srqn, or NULL. */
struct srxe_eng_srq *srxe_xsrq_lookup(struct srxe_engine *eng, uint32_t srqn);
/* 1: a WQE was taken into @out; 0: queue empty; -1: ring garbage. */
int srxe_rq_take(struct srxe_eng_qp *qp, struct srxe_rwqe *out);
/* Own RQ only: flush posted WQEs with IBV_WC_WR_FLUSH_ERR. */
unsigned int srxe_rq_flush(struct srxe_eng_qp *qp);

/* ---- qp_flush.c ---- */
/* Moves @qp to ERR (idempotent); @event: async event or -1 for none. */
void srxe_qp_to_err(struct srxe_eng_qp *qp, int event);
/* Completes outstanding work with IBV_WC_WR_FLUSH_ERR (SQ only in SQE). */
unsigned int srxe_qp_flush(struct srxe_eng_qp *qp);

/* ---- qp.c ---- */
/* The QP numbered @qpn of this engine, or NULL. */
struct srxe_eng_qp *srxe_qp_lookup(struct srxe_engine *eng, uint32_t qpn);
void srxe_qp_hash_add(struct srxe_engine *eng, struct srxe_eng_qp *qp);
void srxe_qp_hash_del(struct srxe_engine *eng, struct srxe_eng_qp *qp);
/*
 * srxe_eng_qp_modify without its move to ERR, which flushes through the
 * completer: the caller (control.c) does that when the QP ends in ERR.
 */
int srxe_qp_modify(struct srxe_eng_qp *qp, const struct srxe_qp_attr_wire *attr,
		   uint32_t attr_mask, const char **why);
/* srxe_eng_qp_destroy once the QP has left its multicast groups. */
void srxe_qp_free(struct srxe_eng_qp *qp);
/* A request reached @qp: the first one in RTR raises COMM_EST (IBA 11.6.3). */
void srxe_qp_comm_est(struct srxe_eng_qp *qp);
static inline bool srxe_qp_can_send(const struct srxe_eng_qp *qp)
{
	return qp->attr.qp_state == IBV_QPS_RTS ||
	       qp->attr.qp_state == IBV_QPS_SQD;
}
/*
 * Same-host bursts towards @qp's peer (RC, UC and XRC SEND/WRITE, RC and
 * XRC READ responses): only between QPs of this engine, and never where
 * packets must be seen one by one (`srxe capture`, the tests' fault
 * injection).
 */
static inline bool srxe_qp_may_burst(const struct srxe_eng_qp *qp)
{
	const struct srxe_engine *eng = qp->ctx->eng;

	return qp->type != IBV_QPT_UD && !eng->dev->capture &&
	       !eng->dev->fault && srxe_dest_is_local(eng, &qp->dest);
}
/* RC and both XRC halves: PSNs, ACKs, retries (IBA 9.7). */
static inline bool srxe_qp_reliable(const struct srxe_eng_qp *qp)
{
	return qp->type == IBV_QPT_RC || qp->type == IBV_QPT_XRC_SEND ||
	       qp->type == IBV_QPT_XRC_RECV;
}
/* Opcode of an RC request/response on this QP's transport. */
static inline uint8_t srxe_qp_opcode(const struct srxe_eng_qp *qp,
				     uint8_t rc_opcode)
{
	return qp->type == IBV_QPT_XRC_SEND || qp->type == IBV_QPT_XRC_RECV
		       ? (uint8_t)(rc_opcode + SRXE_OP_XRC_BASE)
		       : rc_opcode;
}
static inline bool srxe_qp_can_recv(const struct srxe_eng_qp *qp)
{
	uint32_t s = qp->attr.qp_state;

	return s == IBV_QPS_RTR || s == IBV_QPS_RTS || s == IBV_QPS_SQD ||
	       s == IBV_QPS_SQE;
}
static inline struct srxe_swqe *srxe_swqe_at(struct srxe_eng_qp *qp,
					     uint32_t idx)
{
	return &qp->swqe[idx & (qp->sq_size - 1)];
}

/* ---- sge.c ---- */
/*
 * srxe_mem_translate() through the engine's cache (tlb.h): every address
 * the engine uses goes through here, under eng->lock.
 */
static inline int srxe_eng_translate(struct srxe_engine *eng,
				     const struct srxe_mem_client *mem,
				     const struct srxe_xlate_req *req,
				     struct srxe_sg *out, int max)
{
	return srxe_tlb_translate(&eng->tlb, mem, req, out, max);
}

/*
 * Translates bytes [off, off + len) of an SGE list with @access into
 * slab chunks.  Returns the chunk count or a negated srxe_xlate_err;
 * -SRXE_XLATE_OUT_OF_BOUNDS also when the list is shorter than off + len.
 */
int srxe_sge_map(struct srxe_engine *eng, const struct srxe_mem_client *mem,
		 uint32_t pd, const struct srxe_wqe_sge *sge, uint32_t nsge,
		 uint64_t off, uint64_t len, unsigned int access,
		 struct srxe_sg *out, int max);

/* ---- requester.c ---- */
unsigned int srxe_req_run(struct srxe_eng_qp *qp);
/* Restart sending at @psn (inside an unacknowledged WQE). */
void srxe_req_rewind(struct srxe_eng_qp *qp, uint32_t psn);
/* Everything before @psn is acknowledged: a resend behind it moves up. */
void srxe_req_skip(struct srxe_eng_qp *qp, uint32_t psn);
/* Asks again for READ @w's responses from its first missing one, alone:
 * the READs after it keep flowing. */
void srxe_req_resend_read(struct srxe_eng_qp *qp, struct srxe_swqe *w);
/* First PSN of the window of unacknowledged packets. */
uint32_t srxe_comp_unacked_psn(struct srxe_eng_qp *qp);

/* ---- completer.c ---- */
void srxe_comp_rx(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		  const struct srxe_sg *payload, int nchunks);
/* Retires DONE WQEs in order, writing CQEs; returns how many. */
unsigned int srxe_comp_retire(struct srxe_eng_qp *qp);
/* Completes @w with an error status and moves the QP to ERR. */
void srxe_comp_fail(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		    uint32_t status, uint32_t vendor_err);
/* Local ACK timeout and RNR timer; returns work done. */
unsigned int srxe_comp_timers(struct srxe_eng_qp *qp, uint64_t now);
/* (Re)arms or stops the ACK timer after progress. */
void srxe_comp_update_timer(struct srxe_eng_qp *qp);

/* ---- responder.c ---- */
void srxe_resp_rx(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		  const struct srxe_sg *payload, int nchunks);

#endif
