/* SPDX-License-Identifier: MIT */
/*
 * Engine internals shared by every layer (README.md "Layers"): the
 * private object records, the transmit port and the multicast address
 * tests.  What each layer offers the layers above is in its own header:
 * objects/objects.h, proto/proto.h, transport/transport.h, core/core.h.
 * Everything here is used with the lock of the engine thread that serves
 * the object held (core/shard.h; the control plane holds them all).
 * Nothing in these records lives in shared memory except what the
 * pointers to rings say; ring geometry and indices used for decisions
 * are private copies.
 */
#ifndef SRXE_ENGINE_INT_H
#define SRXE_ENGINE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "engine.h"
#include "transport/fault.h"
#include "srxe/wc_opcode.h"
#include "packet/list.h"
#include "objects/mcast.h"
#include "packet/pkt.h"
#include "frames.h" /* SRXE_FRAME_SIZE: the burst bound */
#include "packet/reseq.h"
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
/*
 * On-demand MR accesses of one engine thread (objects/odp.c): a circular
 * bounce buffer the bytes pass through, and the writes still to be
 * written back to the process (srxe_odp_commit()).
 */
#define SRXE_ODP_BOUNCE_BYTES (1u << 20)
#define SRXE_ODP_MAX_ACCESS   (256u << 10) /* one translation */
#define SRXE_ODP_PENDING_MAX  (SRXE_PKT_MAX_CHUNKS + 8)
/*
 * How long an engine thread waits for one access's page faults: longer,
 * and the access is put off (SRXE_XLATE_FAULT_PENDING) while the process's
 * helper goes on, so one process's slow or stuck faults cost the others
 * at most this per access (docs/odp.md "Page faults that wait").
 */
#define SRXE_ODP_WAIT_NS (1000u * 1000u)
/* When such an access is tried again: the requester pauses this long, and
 * the responder's RNR NAK asks for 0.96 ms (IBA timer code 13). */
#define SRXE_ODP_RETRY_NS  (1000u * 1000u)
#define SRXE_ODP_RNR_TIMER 13u

struct srxe_proc_io;
struct srxe_odp_write {
	struct srxe_proc_io *io;
	uint32_t len;
	uint64_t va;
	void *buf;
};

struct srxe_odp_state {
	uint8_t *bounce; /* SRXE_ODP_BOUNCE_BYTES, at the first use */
	uint32_t head;
	uint32_t npending;
	bool atomic_locked; /* holds odp.c's atomic lock until commit */
	struct srxe_odp_write pending[SRXE_ODP_PENDING_MAX];
};

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
	uint32_t passes;      /* each context's page shows it (ring.h) */
	uint64_t timer_armed; /* deadline timer_fd is armed to, 0: disarmed */
	/* now of the last pass that received from the wire: while it
	 * delivers, a busy machine gets the short spin (engine.c) */
	uint64_t wire_rx_at;
	/* No CPU spare, as the engine thread last found (cpu_spare.h); each
	 * pass stores it in the contexts' pages (ring.h cpu_busy). */
	uint32_t cpu_busy;
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
	struct srxe_odp_state odp; /* under lock, as tlb */

	/* ---- the device's: used in dev only ---- */
	unsigned int nshards;
	struct srxe_engine *shards[SRXE_ENGINE_MAX_THREADS];
	/* With several threads: serializes the wire, the capture and the
	 * fault filter, which every thread transmits through (recursive:
	 * a received packet's answer is sent from inside the poll). */
	pthread_mutex_t io_lock;
	bool pins_pending; /* a context asked for the first thread */
	uint64_t next_ctx_id;
	uint64_t next_cq_serial;
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
	uint32_t client_id, pid;
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
	uint64_t serial; /* device-unique, never reused (srxe_cq_mark) */
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
	/* Sends nothing until resume_at: an RNR NAK's timer, or an
	 * on-demand page fault that went on in the background. */
	bool paused;
	uint64_t resume_at;
	uint32_t max_psn; /* first PSN never sent: below it, a resend */
	uint32_t noack;	  /* packets sent since the last AckReq */
	bool ack_owed;	  /* a message ended without AckReq (requester.c) */
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

/* ---- the transmit port (eng->xmit, engine.c fills it in) ---- */
/* Sends @pkt to @dst: the one way a state machine transmits. */
static inline void srxe_eng_xmit(struct srxe_engine *eng,
				 const struct srxe_tx_pkt *pkt,
				 const struct srxe_dest *dst)
{
	eng->xmit(eng, pkt, dst);
}

/* ---- multicast addresses (transport_udp.c, mcast_eng.c, engine.c) ---- */
/* 224.0.0.0/4 */
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

#endif
