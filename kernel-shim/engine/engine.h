/* SPDX-License-Identifier: MIT */
/*
 * The soft-RoCE engine: the "second process" of the shortcut design.  It
 * reads descriptors from the rings of include/srxe/ring.h, translates every
 * address through kernel-shim/mem (translate.h), and runs the IBA
 * requester / responder / completer state machines over a transport
 * (same-host hand-over today, RoCEv2/UDP with issue #5).
 *
 * This header is the whole interface between srxed's control plane and the
 * engine.  Rules:
 *  - The control plane creates, modifies and destroys engine objects only
 *    while holding srxe_engine_lock(), which takes every engine thread's
 *    lock; each thread holds its own around each batch of work, so
 *    objects never change under it (shard.h).
 *  - Registration and deregistration of memory (srxe_mem_reg/dereg) are
 *    also done under the lock.
 *  - Ring geometry is passed in here once and kept privately; the engine
 *    never reads geometry back from shared memory.
 *  - Every function returns 0 or a negative errno and, on failure, points
 *    *why at a static human-readable reason (may be NULL for success).
 */
#ifndef SRXE_ENGINE_H
#define SRXE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "srxe/proto_verbs.h"
#include "srxe/ring.h"

struct srxe_mem_client;

struct srxe_engine;
struct srxe_eng_ctx;
struct srxe_eng_cq;
struct srxe_eng_qp;
struct srxe_eng_srq;
struct srxe_eng_ah;

/* Most engine threads one device runs. */
#define SRXE_ENGINE_MAX_THREADS 16

struct srxe_engine_config {
	uint32_t ipv4_be; /* device address: same-host peers match it */
	/* The netdev's IPv6 link-local address (GID 0) and its scope (the
	 * netdev's ifindex); ipv6 false: the device has none, and IPv6
	 * destinations are refused. */
	bool ipv6;
	uint8_t ipv6_ll[16];
	uint32_t ifindex;
	uint32_t active_mtu; /* enum ibv_mtu of the port */
	/* Engine threads, 1 .. SRXE_ENGINE_MAX_THREADS: each serves the
	 * contexts placed on it (docs/datapath.md "Engine threads"). */
	unsigned int threads;
	unsigned int
		spin_us; /* poll this long after the last work, then sleep */
	/* How the thread waits between two empty passes of its spin
	 * (enum srxe_idle_wait; docs/datapath.md "Sleep and wake-up"). */
	unsigned int idle_wait;
	/* SRXE_IDLE_NAP: one nap's length; SRXE_IDLE_YIELD: the time
	 * between two yields (0: one at every empty pass). */
	unsigned int idle_us;
	/* Spin spin_us (a wait of idle_us) only while the machine has a
	 * CPU no task waits for (core/cpu_spare.h) or a same-host stream
	 * runs (engine.c), else busy_spin_us (busy_idle_us). */
	bool spin_if_spare;
	unsigned int busy_spin_us, busy_idle_us;
	unsigned int slice_us; /* the thread's scheduler slice, 0: default */
	/* Tests only: spin this long between deciding to sleep and saying
	 * so, widening the window in which a provider still sees the engine
	 * awake (tests/integration/test_wake_stress.sh); 0 in production. */
	unsigned int sleep_race_us;
	/* Tests only (tests/integration/test_engine_threads.sh), with
	 * several threads: keep connected contexts where they were placed
	 * (no pairing, shard.c), and queue every hand-off in the inbox
	 * instead of delivering it at once; false in production. */
	bool spread_pairs, queue_handoffs;
	/* Open the RoCEv2/UDP transport on ipv4_be and, with ipv6, on
	 * ipv6_ll (transport_udp.h); when false, packets for other addresses
	 * are dropped. */
	bool wire_udp;
	/* UD multicast (docs/multicast.md): the limits query_device
	 * advertises (all 0: no multicast); a group's IGMP/MLD membership
	 * is taken on ifindex (0: the netdev that has ipv4_be). */
	uint32_t max_mcast_grp, max_mcast_qp_attach, max_total_mcast_qp_attach;
};

/*
 * Between two empty passes of the spin the engine thread can
 *  - PAUSE: spin on the CPU (best when the thread has a CPU of its own);
 *  - YIELD: sched_yield() every idle_us, so that a task the engine
 *           preempted runs (on 2 cores: the process that waits for what
 *           the engine delivered); it returns at once when none waits;
 *  - NAP:   block in epoll for idle_us with engine_sleeping still 0 (no
 *           doorbell is rung), giving the CPU back entirely; the timer
 *           wakes it, or the wire, or a control-plane wake.  (Measured
 *           slower than YIELD on 2 cores: kept for measurements.)
 */
enum srxe_idle_wait {
	SRXE_IDLE_PAUSE = 0,
	SRXE_IDLE_YIELD = 1,
	SRXE_IDLE_NAP = 2,
};

int srxe_engine_start(const struct srxe_engine_config *cfg,
		      struct srxe_engine **out, const char **why);
/* Stops the threads; every context must already be destroyed. */
void srxe_engine_stop(struct srxe_engine *eng);

void srxe_engine_lock(struct srxe_engine *eng);
void srxe_engine_unlock(struct srxe_engine *eng);

/*
 * A client context.  arena is srxed's mapping of the ring arena (the page
 * at offset 0 is struct srxe_ctx_page); doorbell_fd is the eventfd the
 * provider writes when ctx_page->engine_sleeping is set (the engine polls
 * it; ownership stays with the caller); async_fd receives
 * struct ib_uverbs_async_event_desc records (-1: none; caller owns it).
 */
struct srxe_eng_ctx_init {
	struct srxe_mem_client *mem;
	void *arena;
	uint64_t arena_bytes;
	int doorbell_fd;
	int async_fd;
	uint32_t client_id;
	uint32_t pid; /* the process it serves (srxe_eng_unpolled_mark) */
};

int srxe_eng_ctx_create(struct srxe_engine *eng,
			const struct srxe_eng_ctx_init *init,
			struct srxe_eng_ctx **out, const char **why);
/*
 * Destroys every object still in the context: its QPs stop answering, so
 * peers get error completions (retry exhaustion or flush), never a hang.
 */
void srxe_eng_ctx_destroy(struct srxe_eng_ctx *ctx);

/* ring points into the arena; size and stride as granted in the reply. */
int srxe_eng_cq_create(struct srxe_eng_ctx *ctx, struct srxe_ring_hdr *ring,
		       uint32_t size, uint64_t user_handle,
		       struct srxe_eng_cq **out, const char **why);
/* Moves unconsumed CQEs to the new ring (see SRXE_OP_RESIZE_CQ). */
int srxe_eng_cq_resize(struct srxe_eng_cq *cq, struct srxe_ring_hdr *ring,
		       uint32_t size, const char **why);
/* -EBUSY while a QP uses it. */
int srxe_eng_cq_destroy(struct srxe_eng_cq *cq, const char **why);
/*
 * Completions a process has not polled yet (the CM tells a peer's
 * disconnect after those, kernel-shim/cm/cm_conn.c).  A mark is a CQ of
 * the process and its producer index when marked.  srxe_eng_unpolled_mark
 * writes the marks of process @pid's CQs that hold unconsumed CQEs, at
 * most @max, and returns how many; srxe_eng_unpolled_since says whether
 * a marked CQ still exists and holds a CQE from before its mark.  The
 * caller holds the engine lock.  Consumer indexes are the application's
 * memory: one out of range counts as nothing unpolled.
 */
struct srxe_cq_mark {
	uint64_t cq_serial;
	uint32_t prod;
};
unsigned int srxe_eng_unpolled_mark(struct srxe_engine *eng, uint32_t pid,
				    struct srxe_cq_mark *marks,
				    unsigned int max);
bool srxe_eng_unpolled_since(struct srxe_engine *eng, uint32_t pid,
			     const struct srxe_cq_mark *marks, unsigned int n);
/*
 * Completion channel (issue #6): each notification writes one 8-byte
 * struct ib_uverbs_comp_event_desc (the CQ's user_handle) to fd, a
 * non-blocking pipe write end the caller owns and keeps open until the CQ
 * is destroyed or the fd is replaced; -1: none.
 */
void srxe_eng_cq_set_event_fd(struct srxe_eng_cq *cq, int fd);

struct srxe_eng_srq_init {
	uint32_t pd_handle;
	struct srxe_ring_hdr *ring;
	uint32_t size, stride; /* stride fits max_sge */
	uint32_t max_wr, max_sge, srq_limit;
	uint64_t user_handle;
	/*
	 * XRC SRQ (xrcd != 0): the XRC domain's device-wide id, the SRQ
	 * number XRCETHs name (unique in this engine) and the CQ its
	 * receive completions go to (of the same context).  0/NULL: basic.
	 */
	uint32_t xrcd;
	uint32_t srqn;
	struct srxe_eng_cq *cq;
};

int srxe_eng_srq_create(struct srxe_eng_ctx *ctx,
			const struct srxe_eng_srq_init *init,
			struct srxe_eng_srq **out, const char **why);
/*
 * Moves the posted receive WQEs to @ring (@size slots of the SRQ's
 * stride, in the arena) from slot 0 on; *moved says how many.  -EINVAL,
 * changing nothing, when more are posted than @size holds, the producer
 * index is out of range or the SRQ is in the error state.  The caller
 * frees the old ring.
 */
int srxe_eng_srq_resize(struct srxe_eng_srq *srq, struct srxe_ring_hdr *ring,
			uint32_t size, uint32_t *moved, const char **why);
/* attr_mask: IBV_SRQ_LIMIT (arms the limit event); IBV_SRQ_MAX_WR: -EINVAL */
int srxe_eng_srq_modify(struct srxe_eng_srq *srq, uint32_t attr_mask,
			uint32_t max_wr, uint32_t srq_limit, const char **why);
void srxe_eng_srq_query(const struct srxe_eng_srq *srq,
			struct srxe_query_srq_resp *out);
/* -EBUSY while a QP uses it. */
int srxe_eng_srq_destroy(struct srxe_eng_srq *srq, const char **why);

/*
 * XRC_SEND: send_cq only (recv_cq may be the same CQ or NULL), no RQ, no
 * SRQ.  XRC_RECV (target): xrcd != 0, no CQs, rings or PD; requests are
 * served from the XRC SRQ their XRCETH names when it is in the same
 * domain, with that SRQ's PD, CQ and context memory.
 */
struct srxe_eng_qp_init {
	uint32_t qp_type; /* IBV_QPT_RC / UC / UD / XRC_SEND / XRC_RECV */
	uint32_t qp_num;  /* unique in this srxed */
	uint32_t pd_handle;
	uint32_t sq_sig_all;
	struct srxe_eng_cq *send_cq, *recv_cq;
	struct srxe_eng_srq *srq; /* NULL: own RQ */
	struct srxe_ring_hdr *sq, *rq;
	uint32_t sq_size, sq_stride, rq_size, rq_stride;
	struct srxe_qp_cap_wire cap;
	uint64_t user_handle;
	uint32_t xrcd; /* XRC_RECV: the domain's device-wide id */
};

int srxe_eng_qp_create(struct srxe_eng_ctx *ctx,
		       const struct srxe_eng_qp_init *init,
		       struct srxe_eng_qp **out, const char **why);
/* Validates the transition (qp_state.h) and applies it. */
int srxe_eng_qp_modify(struct srxe_eng_qp *qp,
		       const struct srxe_qp_attr_wire *attr, uint32_t attr_mask,
		       const char **why);
void srxe_eng_qp_query(const struct srxe_eng_qp *qp,
		       struct srxe_qp_attr_wire *out);
void srxe_eng_qp_destroy(struct srxe_eng_qp *qp);
/*
 * Sends what is posted on the send queue now, in the caller's thread
 * (engine lock held): srxed calls it before a destroy verb that would
 * leave a posted WQE unsendable.  Kernel rxe sends a post in the post's
 * own system call, so programs post and destroy at once (mckey posts
 * unsignaled UD sends, then destroys the AH and the QP); srxe's engine
 * may not have run since the post.  The AH variant covers every UD QP
 * of the context.
 */
void srxe_eng_qp_send_posted(struct srxe_eng_qp *qp);
void srxe_eng_ctx_send_posted_ud(struct srxe_eng_ctx *ctx);

/* The AH is resolved here (GID -> IPv4 or IPv6 peer, or this device). */
int srxe_eng_ah_create(struct srxe_eng_ctx *ctx, uint32_t pd_handle,
		       const struct srxe_ah_wire *ah, struct srxe_eng_ah **out,
		       const char **why);
void srxe_eng_ah_destroy(struct srxe_eng_ah *ah);

/*
 * UD multicast (docs/multicast.md).  attach/detach as ibv_attach_mcast /
 * ibv_detach_mcast on a UD QP, errors as kernel rxe gives them (mcast.h):
 * -EINVAL for a non-multicast GID, a QP that is not UD, detaching what
 * is not attached; -ENOMEM at the limits; the first attachment of a group
 * joins it on the device's netdev (IGMP/MLD), the last detach leaves it.
 * Destroying a QP (or its context) detaches it everywhere.
 */
int srxe_eng_mcast_attach(struct srxe_eng_qp *qp, const uint8_t mgid[16],
			  const char **why);
int srxe_eng_mcast_detach(struct srxe_eng_qp *qp, const uint8_t mgid[16],
			  const char **why);
/* Groups @qp is attached to. */
uint32_t srxe_eng_qp_mcast_count(const struct srxe_eng_qp *qp);

/*
 * Lookup of an AH by the handle a UD WQE carries: the control plane owns
 * the handle table, the engine asks it through this callback (set once at
 * context creation via srxe_eng_ctx_set_ah_lookup).
 */
typedef struct srxe_eng_ah *(*srxe_eng_ah_lookup_fn)(void *opaque,
						     uint32_t ah_handle);
void srxe_eng_ctx_set_ah_lookup(struct srxe_eng_ctx *ctx,
				srxe_eng_ah_lookup_fn fn, void *opaque);

/*
 * Port events (IBV_EVENT_PORT_ACTIVE / IBV_EVENT_PORT_ERR, element = port
 * 1) to every context's async channel.  Caller holds srxe_engine_lock().
 */
void srxe_eng_port_event(struct srxe_engine *eng, uint32_t event);

/*
 * QP 1, the General Services Interface (issue #11): the engine hands every
 * UD SEND Only packet for QPN 1 with the default P_Key to one callback
 * (srxed's CM), and sends the MADs the CM builds.  The callback runs on an
 * engine thread with the engine lock held (or inside srxe_eng_gsi_send,
 * for a MAD this device sends to itself): it must copy the MAD and return,
 * never call back into the engine.  Packets for QPN 1 without a callback,
 * with another opcode, or with a payload other than 256 bytes are dropped
 * (drop_no_qp / drop_bad_request).
 */
struct srxe_gsi_mad {
	uint8_t sgid[16]; /* sender: IPv4-mapped for IPv4, else IPv6 */
	uint8_t dgid[16]; /* the address it was sent to */
	uint32_t src_qpn;
	uint32_t qkey;
	uint16_t pkey;
	uint8_t traffic_class, hop_limit;
	uint32_t flow_label;
	uint32_t len; /* 256 */
	uint8_t mad[256];
};
typedef void (*srxe_eng_gsi_rx_fn)(void *opaque, const struct srxe_gsi_mad *m);
/* Caller holds srxe_engine_lock(); fn NULL: drop QPN 1 packets again. */
void srxe_eng_set_gsi_rx(struct srxe_engine *eng, srxe_eng_gsi_rx_fn fn,
			 void *opaque);
/*
 * Sends one MAD (len <= 256) from QPN 1 as UD SEND Only with DETH Q_Key
 * @qkey to @dqpn at @dgid (IPv4-mapped, link-local IPv6, or this device's
 * own GID), with the given GRH traffic class and hop limit.  Caller holds
 * srxe_engine_lock().  0, or -EHOSTUNREACH / -EINVAL with *why.
 */
int srxe_eng_gsi_send(struct srxe_engine *eng, const uint8_t dgid[16],
		      uint32_t dqpn, uint32_t qkey, uint8_t traffic_class,
		      uint8_t hop_limit, const uint8_t *mad, uint32_t len,
		      const char **why);

struct srxe_eng_stats {
	uint64_t qps, cqs, srqs, ahs;
	uint64_t pkts_sent, pkts_recv, bytes_sent, bytes_recv;
	uint64_t rnr_naks_sent, naks_sent, drops;
	/* RC reliability (issue #5). */
	uint64_t retrans_pkts;	/* request packets sent again */
	uint64_t ack_timeouts;	/* local ACK timer expiries */
	uint64_t naks_recv;	/* NAKs of any kind but RNR received */
	uint64_t rnr_naks_recv; /* RNR NAKs received */
	uint64_t dup_requests;	/* requests with an already seen PSN */
	uint64_t ooo_held;	/* early packets kept until the gap filled */
	/* Drops by reason (each also counted in drops). */
	uint64_t drop_no_qp, drop_bad_pkey, drop_bad_qkey, drop_bad_state;
	uint64_t drop_bad_seq;	   /* opcode sequence */
	uint64_t drop_no_recv_wqe; /* UD/UC: no receive WQE (RC: RNR NAK) */
	uint64_t drop_bad_request; /* UC: receive buffer or rkey refused it */
	uint64_t drop_rq_error;	   /* receive queue corrupt, SRQ in error */
	uint64_t drop_no_route;	   /* sent: not local and no wire */
	uint64_t drop_tx_error;	   /* sent: the transport refused it */
	/* UD multicast: packets to a group this device has QPs in, copies
	 * handed to attached QPs, groups and attachments now, and packets
	 * sent to QPN 0xFFFFFF of no group here (dropped, in drops). */
	uint64_t mcast_recv, mcast_copies, mcast_groups, mcast_attached;
	uint64_t drop_mcast_no_group;
	/* Datagrams of groups joined on this host by someone else: the
	 * receive socket sees every group of the netdev; not a drop. */
	uint64_t mcast_other_group;
	/* What kernel rxe's hw counters count and the above do not
	 * (docs/hw-counters.md). */
	uint64_t nak_seq_sent;	/* PSN sequence NAKs sent (a gap seen) */
	uint64_t nak_seq_recv;	/* PSN sequence NAKs that started a retry */
	uint64_t retries;	/* go-back-N retries: ACK timer, seq NAK, gap */
	uint64_t retry_exc;	/* WQEs failed IBV_WC_RETRY_EXC_ERR */
	uint64_t rnr_retry_exc; /* WQEs failed IBV_WC_RNR_RETRY_EXC_ERR */
	uint64_t comp_held;	/* responses held until their turn */
	uint64_t sends_done;	/* SEND WQEs retired (not flushed) */
	uint64_t recvs_done;	/* receive WQEs completed successfully */
	/* Sleep and wake-up (docs/datapath.md): times the thread blocked
	 * with engine_sleeping set, and doorbell writes it found when it
	 * woke (the sum of the eventfd counters read).  A provider whose
	 * post found the engine awake rang none. */
	uint64_t sleeps;
	uint64_t doorbells;
	/* Same-host bursts (pkt.h extra_psns) and the MTU packets of them. */
	uint64_t bursts, burst_pkts;
	/* Engine threads (config threads) and packets one thread handed to
	 * another's QP: delivered at once under the other's lock, queued
	 * in its inbox because it was busy, dropped with the inbox full. */
	uint64_t threads;
	uint64_t handoffs_direct, handoffs_queued, handoff_drops;
	/* Queued packets of a context that moved to another thread,
	 * delivered by the move (shard.c inbox_follow). */
	uint64_t handoffs_followed;
	/* Contexts each thread serves now (threads of them). */
	uint64_t thread_ctxs[SRXE_ENGINE_MAX_THREADS];
	/* On-demand MRs (objects/odp.c): accesses that read the process's
	 * memory, that wrote it back, and that failed (no such mapping, or
	 * the process is gone); bytes read and written; accesses put off
	 * because their page faults took longer than SRXE_ODP_WAIT_NS. */
	uint64_t odp_reads, odp_writes, odp_faults;
	uint64_t odp_bytes_read, odp_bytes_written;
	uint64_t odp_deferred;
};

void srxe_engine_stats(struct srxe_engine *eng, struct srxe_eng_stats *out);

/* Slots of srxe_wire_stats.rx_drops: at least SRXE_RX_REASON_COUNT. */
#define SRXE_WIRE_RX_REASONS 16

/* Counters of the wire transport (transport_udp.h). */
struct srxe_wire_stats {
	uint64_t pkts_sent, bytes_sent; /* datagrams handed to the kernel */
	uint64_t pkts_recv, bytes_recv; /* datagrams accepted */
	uint64_t tx_errors;		/* sendmmsg refused a datagram */
	uint64_t tx_run_drops;	/* of those, refused after xmit took them */
	uint64_t rx_truncated;	/* larger than the receive buffer */
	uint64_t rx_not_for_us; /* other destination address */
	uint64_t rx_overflow;	/* kernel dropped: socket full */
	bool ipv6;		/* IPv6 sockets open too */
	/* NULL, or why the transport runs without its batched send or its
	 * packet-socket receive (transport_udp.h); lives as long as the
	 * engine.  srxed logs it once at start. */
	const char *note;
	/* Decoder verdicts, by enum srxe_rx_reason (decode.h). */
	uint64_t rx_drops[SRXE_WIRE_RX_REASONS];
};

/* The wire transport's counters; false when it is not open. */
bool srxe_engine_wire_stats(struct srxe_engine *eng,
			    struct srxe_wire_stats *out);

#endif /* SRXE_ENGINE_H */
