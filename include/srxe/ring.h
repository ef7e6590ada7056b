/* SPDX-License-Identifier: MIT */
/*
 * The virtual interface: work-queue and completion rings in shared memory
 * between the provider (untrusted producer of WQEs, consumer of CQEs) and
 * the engine in srxed (consumer of WQEs, producer of CQEs).
 *
 * Memory.  Each context has one "ring arena": a memfd created by srxed
 * (SRXE_OP_MAP_RINGS hands it to the provider, which maps it whole, shared,
 * read-write).  Offset 0 holds struct srxe_ctx_page; every CQ, SQ, RQ and
 * SRQ ring is a page-aligned region of the arena whose offset srxed returns
 * when the object is created.  Nothing else lives in the arena: it holds no
 * translation state, no QP state, nothing srxed trusts.
 *
 * Trust.  The application can write any byte of its arena at any time.
 * srxed keeps its own copy of every ring's geometry (size, stride, offset)
 * and never reads it back from shared memory; it reads a producer index
 * once per batch, checks (prod - cons) <= size, and copies each WQE into
 * private memory before validating it.  A ring whose index is out of range
 * is garbage: the QP (or CQ) goes to the error state with an async event.
 *
 * Indices.  prod and cons are free-running uint32_t counters; the slot of
 * index i is i & (size - 1); size is a power of two.  Each index has one
 * writer and lives on its own cache line.
 *
 * Doorbell (no syscall while the engine polls).  After publishing a WQE with
 * a release store of prod, the provider does a seq_cst fence and reads
 * ctx_page->engine_sleeping; only if it is non-zero does it write(2) 1 to
 * the context's doorbell eventfd (SRXE_OP_GET_DOORBELL).  The engine, before
 * it sleeps, stores engine_sleeping = 1, fences, and rescans every producer
 * index once more, so no doorbell is lost.
 *
 * Why none is lost.  Provider: store prod; fence; load flag.  Engine: store
 * flag = 1; fence; load every prod.  The two seq_cst fences are ordered one
 * before the other.  Provider's first: the engine's rescan sees the new
 * prod and runs the WQE instead of sleeping.  Engine's first: the
 * provider's load sees flag = 1 and writes the eventfd, whose count stays
 * until the engine's epoll_wait returns for it.  Both: one spurious wake.
 * The engine clears the flag only when it runs again, so a post that reads
 * 0 always has a running (or about to run) engine that will poll its ring.
 * How long the engine stays awake after its last work, and how it waits
 * meanwhile, is srxed's policy (docs/datapath.md "Sleep and wake-up");
 * tests/integration/test_wake_stress.sh checks the protocol, widening the
 * window between the engine's decision to sleep and its announcement.
 */
#ifndef SRXE_RING_H
#define SRXE_RING_H

#include <stdint.h>

#define SRXE_RING_CACHELINE 64
#define SRXE_PAGE_SIZE	    4096

/* One producer or consumer index, alone on its cache line. */
struct srxe_ring_index {
	uint32_t val; /* accessed with __atomic builtins */
	uint32_t pad[SRXE_RING_CACHELINE / 4 - 1];
};

/*
 * Header at the start of every ring region; slots follow at
 * SRXE_RING_SLOTS_OFFSET.  size/stride are informative copies for the
 * provider (srxed never reads them).
 */
struct srxe_ring_hdr {
	struct srxe_ring_index prod;
	struct srxe_ring_index cons;
	uint32_t size;	 /* slots, power of two */
	uint32_t stride; /* bytes per slot, power of two */
	/*
	 * CQ only: notification arming.  The provider increments arm_seq and
	 * sets arm_solicited for ibv_req_notify_cq; the engine raises an event
	 * when it writes a CQE with armed (arm_seq != last seen) state.
	 * Each side puts a full fence between its store (arm_seq, prod) and
	 * its load of the other's, or both can miss each other (lost event).
	 */
	uint32_t arm_seq;
	uint32_t arm_solicited;
	/*
	 * CQ only: non-zero asks the engine for the time of each CQE it
	 * writes from now on (srxe_cqe.completion_ns); the provider sets it
	 * for a CQ created with IBV_WC_EX_WITH_COMPLETION_TIMESTAMP*, and a
	 * resize copies it into the new ring before the first CQE there.  A
	 * hint: whatever the application writes here costs it a clock read
	 * per completion, nothing else.
	 */
	uint32_t cqe_timestamps;
	uint32_t reserved[SRXE_RING_CACHELINE / 4 - 5];
};

#define SRXE_RING_SLOTS_OFFSET (3 * SRXE_RING_CACHELINE)

/*
 * Page at offset 0 of the arena.
 *
 * engine_passes: the engine thread that serves the context stores its pass
 * count here at the start of every pass.  A provider waiting for a
 * completion while the engine is awake (engine_sleeping 0) but this count
 * stands still knows the engine waits for a CPU, possibly the one the
 * provider's caller spins on (2 cores, three busy threads), and gives that
 * CPU away for a moment instead of only yielding it.  Its own cache line:
 * the provider reads it rarely, the engine writes it every pass.
 *
 * cpu_busy: beside it, 1 while the engine thread finds no CPU to spare on
 * the machine (more runnable tasks than its CPUs, kernel-shim/engine/core/
 * cpu_spare.h), else 0; stored at every pass.  A provider waiting long for
 * the completion of its own posted sends naps while it is set
 * (srxe_backoff.h).
 */
struct srxe_ctx_page {
	uint32_t engine_sleeping; /* written by srxed, read by the provider */
	uint32_t device_fatal;	  /* set by srxed before it stops */
	uint32_t reserved[SRXE_RING_CACHELINE / 4 - 2];
	uint32_t engine_passes; /* written by srxed, read by the provider */
	uint32_t cpu_busy;	/* written by srxed, read by the provider */
	uint32_t reserved2[SRXE_RING_CACHELINE / 4 - 2];
};

struct srxe_wqe_sge {
	uint64_t addr;
	uint32_t length;
	uint32_t lkey;
};

/* Values of srxe_send_wqe.opcode: enum ibv_wr_opcode, and SRXE_WR_FLUSH. */

enum srxe_send_flags {
	SRXE_WQE_SIGNALED = 1u << 0,  /* IBV_SEND_SIGNALED or sq_sig_all */
	SRXE_WQE_FENCE = 1u << 1,     /* IBV_SEND_FENCE */
	SRXE_WQE_SOLICITED = 1u << 2, /* IBV_SEND_SOLICITED */
	SRXE_WQE_INLINE = 1u << 3,    /* payload in inline[] not sge[] */
};

/*
 * Send WQE.  The slot stride is a power of two >= sizeof(srxe_send_wqe) +
 * max(max_send_sge * 16, max_inline_data); sge[] or the inline bytes fill
 * the rest of the slot.
 */
struct srxe_send_wqe {
	uint64_t wr_id;
	uint32_t opcode; /* enum ibv_wr_opcode */
	uint32_t flags;	 /* enum srxe_send_flags */
	uint32_t num_sge;
	uint32_t inline_len;
	uint32_t imm_data;	  /* network order, as in ibv_send_wr */
	uint32_t invalidate_rkey; /* LOCAL_INV, SEND_WITH_INV */
	union {
		struct {
			uint64_t remote_addr;
			uint32_t rkey;
			uint32_t reserved;
		} rdma;
		struct {
			uint64_t remote_addr;
			uint64_t compare_add;
			uint64_t swap;
			uint32_t rkey;
			uint32_t reserved;
		} atomic;
		struct {
			uint32_t ah_handle; /* from CREATE_AH */
			uint32_t remote_qpn;
			uint32_t remote_qkey;
			uint32_t reserved;
		} ud;
		/* IBV_WR_BIND_MW (memory windows, docs/memory-windows.md) */
		struct {
			uint32_t mw_rkey;  /* the window's current rkey */
			uint32_t new_rkey; /* same tag, the new key byte */
			uint32_t mr_lkey;
			uint32_t access; /* IBV_ACCESS_* of the window */
			uint64_t addr;
			uint64_t length;
		} mw;
		/*
		 * XRC_SEND QPs (any opcode they may post): the remote XRC SRQ
		 * number the XRCETH carries.  It sits in the last word of the
		 * union, which no opcode of an XRC_SEND QP uses (atomic's
		 * reserved; BIND_MW is RC/UC only), so rdma/atomic fields
		 * stay valid beside it.
		 */
		struct {
			uint32_t unused[7];
			uint32_t remote_srqn;
		} xrc;
		/* IBV_WR_ATOMIC_WRITE and SRXE_WR_FLUSH (include/srxe/awf.h);
		 * no SGE and no inline data: the 8 bytes travel here. */
		struct {
			uint64_t remote_addr;
			uint32_t rkey;
			uint32_t length;     /* FLUSH: bytes of the range */
			uint8_t value[8];    /* ATOMIC_WRITE: memory order */
			uint8_t flush_type;  /* SRXE_FLUSH_GLOBAL/PERSISTENT */
			uint8_t flush_level; /* SRXE_FLUSH_RANGE/MR */
			uint8_t reserved[6];
		} awf;
	};
	/* followed by struct srxe_wqe_sge sge[num_sge] or inline bytes */
};

/* Receive WQE (RQ and SRQ). */
struct srxe_recv_wqe {
	uint64_t wr_id;
	uint32_t num_sge;
	uint32_t reserved;
	/* followed by struct srxe_wqe_sge sge[num_sge] */
};

/* Completion, written by the engine: the fields of struct ibv_wc. */
struct srxe_cqe {
	uint64_t wr_id;
	uint32_t status; /* enum ibv_wc_status */
	uint32_t opcode; /* enum ibv_wc_opcode */
	uint32_t vendor_err;
	uint32_t byte_len;
	uint32_t imm_data; /* network order; or the invalidated rkey */
	uint32_t qp_num;
	uint32_t src_qp;
	uint32_t wc_flags; /* enum ibv_wc_flags */
	uint16_t pkey_index;
	uint16_t slid;
	uint8_t sl; /* UD receives: SRXE_WC_SL_ROCEV2_IPV4 / _IPV6 */
	uint8_t dlid_path_bits;
	uint16_t reserved;
	/* CLOCK_MONOTONIC ns when the engine wrote the CQE, with the ring's
	 * cqe_timestamps set; else 0.  The device's clock (hca_core_clock
	 * 1 GHz, ibv_query_rt_values_ex) is that clock. */
	uint64_t completion_ns;
};

/*
 * wc.sl of a UD receive on RoCE, as mlx5 reports it (its PRM: bit 3 = the
 * frame had a UDP header, i.e. RoCEv2; bits 2:0 = L3 header type, 1 IPv6,
 * 2 IPv4).  UCX before 1.19 takes the address family of a UD receive from
 * `wc.sl & 7` on every RoCE device and drops the packet when it is wrong
 * (docs/compat.md).
 */
#define SRXE_WC_SL_ROCEV2_IPV6 0x09
#define SRXE_WC_SL_ROCEV2_IPV4 0x0a

#define SRXE_CQE_STRIDE 64

static inline void *srxe_ring_slot(struct srxe_ring_hdr *ring, uint32_t idx,
				   uint32_t size, uint32_t stride)
{
	return (char *)ring + SRXE_RING_SLOTS_OFFSET +
	       (uint64_t)(idx & (size - 1)) * stride;
}

/* Bytes of arena a ring of size slots of stride bytes takes, page rounded. */
static inline uint64_t srxe_ring_bytes(uint32_t size, uint32_t stride)
{
	uint64_t bytes = SRXE_RING_SLOTS_OFFSET + (uint64_t)size * stride;

	return (bytes + SRXE_PAGE_SIZE - 1) & ~(uint64_t)(SRXE_PAGE_SIZE - 1);
}

#endif /* SRXE_RING_H */
