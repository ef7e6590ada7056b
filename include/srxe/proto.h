/* SPDX-License-Identifier: MIT */
/*
 * srxe control protocol: the messages the provider (and the srxe CLI) send
 * to srxed over its Unix SOCK_SEQPACKET socket, one request per datagram,
 * one reply per request, strictly in order.
 *
 * Contract:
 *  - Every message starts with struct srxe_msg_hdr; hdr.length is the whole
 *    datagram (header + body) and must equal the number of bytes received.
 *  - Requests have a fixed body size per opcode (srxe_op_info()); anything
 *    else is rejected before a handler sees it.
 *  - Every reply body starts with struct srxe_reply_status.  On success
 *    status.err == 0 and the opcode's reply struct follows.  On failure
 *    status.err is a positive errno and status.reason_len bytes of text
 *    (no NUL, at most SRXE_REASON_MAX) follow, for a person to read.
 *  - File descriptors travel as SCM_RIGHTS ancillary data beside the
 *    datagram; which opcodes carry one is stated below.
 *  - Oversized datagrams (> SRXE_MSG_MAX) are truncated by the socket and
 *    rejected; the daemon answers with EMSGSIZE.
 *
 * The codec (kernel-shim/common/proto.c) is shared by both sides.
 */
#ifndef SRXE_PROTO_H
#define SRXE_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

#define SRXE_PROTO_MAGIC   0x45585253u /* "SRXE" little-endian */
#define SRXE_PROTO_VERSION 1
#define SRXE_MSG_MAX	   4096
#define SRXE_REASON_MAX	   160
#define SRXE_DEVNAME_MAX   32

enum srxe_msg_flags {
	SRXE_MSG_REPLY = 1u << 0,
};

struct srxe_msg_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t opcode;
	uint32_t length; /* header + body */
	uint32_t flags;	 /* SRXE_MSG_REPLY on replies, 0 on requests */
	uint64_t req_id; /* chosen by the client, echoed in the reply */
};

struct srxe_reply_status {
	int32_t err; /* 0 or a positive errno */
	uint32_t reason_len;
};

enum srxe_opcode {
	SRXE_OP_OPEN_CTX = 1,
	SRXE_OP_CLOSE_CTX = 2,
	SRXE_OP_QUERY_DEVICE = 3,
	SRXE_OP_QUERY_PORT = 4,
	SRXE_OP_ALLOC_PD = 5,
	SRXE_OP_DEALLOC_PD = 6,
	SRXE_OP_STATUS = 7,
	SRXE_OP_REG_MR = 8,
	SRXE_OP_DEREG_MR = 9,
	SRXE_OP_DEREG_DONE = 10,
	SRXE_OP_DEREG_RUNS = 11,
	SRXE_OP_MAX, /* first unused opcode */
};

/*
 * OPEN_CTX: binds this connection to a verbs context.  Must be the first
 * request on a connection except STATUS.  Ancillary: the client may pass one
 * fd, the write end of its async-event pipe (srxed writes
 * struct ib_uverbs_async_event_desc records to it).  The reply carries one
 * fd: the context's memory slab, a memfd of slab_bytes bytes
 * (include/srxe/proto_mr.h).
 */
struct srxe_open_ctx_req {
	char device[SRXE_DEVNAME_MAX]; /* NUL-terminated, must be this device */
	uint32_t client_version;       /* SRXE_PROTO_VERSION */
	uint32_t reserved;	       /* must be 0 */
};

struct srxe_open_ctx_resp {
	uint32_t ctx_handle;
	uint32_t translation; /* enum srxe_translation */
	uint64_t slab_bytes; /* size of the memory slab passed with the reply */
};

enum srxe_translation {
	SRXE_TRANSLATION_SHORTCUT = 0,
	SRXE_TRANSLATION_MTT = 1,
};

/* CLOSE_CTX: empty request, empty reply.  Frees everything of the client. */

/* QUERY_DEVICE: empty request. */
struct srxe_query_device_resp {
	struct ibv_device_attr attr;
	uint32_t max_inline_data;
	/* Bits 63..32 of device_cap_flags_ex (enum ib_uverbs_device_cap_flags
	 * beyond what ibv_device_attr.device_cap_flags can hold), e.g.
	 * ATOMIC_WRITE and FLUSH_GLOBAL; bits 31..0 are device_cap_flags. */
	uint32_t cap_flags_ex_hi;
};

struct srxe_query_port_req {
	uint32_t port_num; /* 1 */
	uint32_t reserved;
};

struct srxe_query_port_resp {
	struct ibv_port_attr attr;
};

/* ALLOC_PD: empty request. */
struct srxe_alloc_pd_resp {
	uint32_t pd_handle;
	uint32_t reserved;
};

struct srxe_dealloc_pd_req {
	uint32_t pd_handle;
	uint32_t reserved;
};

/* STATUS: empty request; allowed without OPEN_CTX (the srxe CLI uses it). */
/*
 * Why the wire transport dropped a received datagram (STATUS).  Values
 * 1..8 are those of enum srxe_rx_reason (kernel-shim/engine/packet/decode.h);
 * srxed checks that at compile time.
 */
enum srxe_wire_drop {
	SRXE_WDROP_TOO_SHORT = 1,
	SRXE_WDROP_BAD_IP,
	SRXE_WDROP_BAD_UDP,
	SRXE_WDROP_BAD_ICRC,
	SRXE_WDROP_BAD_TVER,
	SRXE_WDROP_BAD_OPCODE,
	SRXE_WDROP_BAD_PAD,
	SRXE_WDROP_BAD_LENGTH,
	SRXE_WDROP_TRUNCATED,  /* longer than the receive buffer */
	SRXE_WDROP_NOT_FOR_US, /* another destination address */
	/* The kernel dropped it before srxed read it: a receive socket's
	 * buffer was full (docs/reliability.md, "Socket overflow"). */
	SRXE_WDROP_SOCKET_OVERFLOW,
	SRXE_WDROP_COUNT
};

/* srxe_status_resp.wire: RoCEv2 over IPv6 on the link-local GID too. */
#define SRXE_STATUS_WIRE_IPV6 2u

struct srxe_status_resp {
	char device[SRXE_DEVNAME_MAX];
	uint32_t daemon_pid;
	uint32_t translation; /* enum srxe_translation */
	uint32_t ipv4_be;     /* device address, network order */
	uint32_t clients;     /* open contexts */
	uint32_t connections; /* sockets, contexts or not */
	uint32_t pds;
	uint32_t mrs;
	uint32_t qps;
	uint32_t cqs;
	uint32_t srqs;
	uint32_t ahs;
	uint32_t reserved;
	uint64_t reg_bytes;	      /* bytes covered by live MRs */
	uint64_t translation_bytes;   /* tables + protection entries or MTT */
	uint64_t frames_in_use;	      /* data frames pinned */
	uint64_t table_frames_in_use; /* translation table frames */
	uint64_t requests;	      /* served since start */
	uint64_t rejected;	      /* answered with an error */
	/* Packets through every transport (same-host and wire). */
	uint64_t pkts_sent, bytes_sent, pkts_recv, bytes_recv;
	uint64_t naks_sent, rnr_naks_sent;
	uint64_t drops; /* no such QP, bad P_Key, transport refused */
	/* RoCEv2/UDP datagrams (issue #5); wire == 0: no wire transport,
	 * else bit 0 (IPv4) and SRXE_STATUS_WIRE_IPV6. */
	uint32_t wire;
	uint32_t reserved2;
	uint64_t wire_pkts_sent, wire_bytes_sent;
	uint64_t wire_pkts_recv, wire_bytes_recv;
	uint64_t wire_tx_errors;
	uint64_t wire_drops[SRXE_WDROP_COUNT]; /* enum srxe_wire_drop */
	/* RC reliability (issue #5), every transport. */
	uint64_t retrans_pkts;	/* request packets sent again */
	uint64_t ack_timeouts;	/* local ACK timer expiries */
	uint64_t naks_recv;	/* NAKs other than RNR received */
	uint64_t rnr_naks_recv; /* RNR NAKs received */
	uint64_t dup_requests;	/* requests with an already seen PSN */
	uint64_t ooo_held;	/* early packets held until a gap filled */
	/* Receive drops by reason (also counted in drops). */
	uint64_t drop_no_qp, drop_bad_pkey, drop_bad_qkey;
	uint64_t drop_bad_state, drop_bad_seq;
	/* UD multicast (issue #10, docs/multicast.md): groups with QPs of
	 * this device, attachments, packets received for them and the
	 * copies handed to attached QPs; packets for the multicast QPN of
	 * no group here (a receive drop, in drops). */
	uint64_t mcast_groups, mcast_attached, mcast_recv, mcast_copies;
	uint64_t drop_mcast_no_group;
	/* Datagrams of groups others on this host joined (not drops). */
	uint64_t mcast_other_group;
	uint64_t drop_no_recv_wqe, drop_bad_request, drop_rq_error;
	/* Sent packets the engine could not hand to a transport. */
	uint64_t drop_no_route, drop_tx_error;
	/* rdma_cm (issue #11, kernel-shim/cm): live event channels, listens
	 * and connections (TimeWait included); CM MADs received (malformed,
	 * matching nothing, lost on a full queue), sent, sent again after a
	 * timeout; exchanges given up; REQs dropped (backlog, connection
	 * cap); events lost on a full channel. */
	uint32_t cm_channels, cm_listens, cm_conns, reserved3;
	uint64_t cm_mads_in, cm_mads_bad, cm_mads_unmatched, cm_mads_lost;
	uint64_t cm_mads_out, cm_retries, cm_timeouts, cm_reqs_dropped;
	uint64_t cm_events_dropped;
	/* The engine's sleeps (blocked with engine_sleeping set) and the
	 * doorbell writes it found on waking; a post that found the engine
	 * awake rang none (docs/datapath.md "Sleep and wake-up"). */
	uint64_t engine_sleeps, engine_doorbells;
	/* Same-host bursts sent: packets that stood for several MTU
	 * packets of a SEND or WRITE (docs/datapath.md "Same-host
	 * bursts"), and the MTU packets they stood for. */
	uint64_t engine_bursts, engine_burst_pkts;
	/* Engine threads (srxe up --engines) and packets one thread
	 * handed to a QP another thread serves: delivered at once under
	 * the other's lock, queued in its inbox because it was busy,
	 * dropped because the inbox was full. */
	uint64_t engine_threads;
	uint64_t engine_handoffs_direct, engine_handoffs_queued;
	uint64_t engine_handoff_drops;
	/* Contexts each engine thread serves now (engine_threads of
	 * them; docs/datapath.md "Engine threads"). */
	uint32_t engine_thread_ctxs[16];
	/* Peers' disconnects the CM held until the application had polled
	 * the completions that came before them (kernel-shim/cm). */
	uint64_t cm_disconnects_held;
	/* On-demand MRs (docs/odp.md): accesses that read the process's
	 * memory, that wrote to it, that failed (nothing mapped there, the
	 * process gone), and the bytes read and written; accesses put off
	 * because their page faults took longer than the engine waits. */
	uint64_t odp_reads, odp_writes, odp_faults;
	uint64_t odp_bytes_read, odp_bytes_written;
	uint64_t odp_deferred;
};

/*
 * REG_MR, DEREG_MR, DEREG_RUNS, DEREG_DONE (issue #3): bodies and the
 * registration conversation are in include/srxe/proto_mr.h.
 */
#include "srxe/proto_mr.h"
/*
 * Opcodes 16-30 (issue #4: rings, doorbell, CQ, QP, SRQ, AH): bodies in
 * include/srxe/proto_verbs.h.  Opcodes SRXE_OP_MAX..15 are unassigned.
 */
#include "srxe/proto_verbs.h"
/* Opcodes 31-32 (issue #6: completion channels): include/srxe/proto_event.h. */
#include "srxe/proto_event.h"
/* Opcodes 36-37 (issue #5, `srxe capture`): include/srxe/proto_capture.h. */
#include "srxe/proto_capture.h"
/* Opcodes 40-42 (issue #10, memory windows): include/srxe/proto_mw.h. */
#include "srxe/proto_mw.h"
/* Opcodes 50-57 (issue #10, XRC): include/srxe/proto_xrc.h. */
#include "srxe/proto_xrc.h"
/* Opcodes 48-49 (issue #10, UD multicast): include/srxe/proto_mcast.h. */
#include "srxe/proto_mcast.h"
/* Opcodes 64-79 (issue #11, rdma_cm): include/srxe/proto_cm.h. */
#include "srxe/proto_cm.h"

/*
 * Opcode ranges reserved for later groups (each group keeps its bodies in
 * its own include/srxe/proto_*.h):
 *   31-35  completion channels and the command file (issue #6)
 *   36-39  capture and observability (issue #5)
 *   40-47  memory windows (issue #10)
 */
/* Bound of the opcode tables: every assigned opcode is below it. */
#define SRXE_OP_TABLE_SIZE 80
_Static_assert(SRXE_OP_VERBS_END <= SRXE_OP_TABLE_SIZE, "opcode table");
_Static_assert(SRXE_OP_XRC_END <= 58, "XRC owns opcodes 50-57");
_Static_assert(SRXE_OP_CM_END <= 80, "rdma_cm owns opcodes 64-79");

/* Static facts about one opcode. */
struct srxe_op_info {
	const char *name;
	uint32_t req_body;   /* exact request body size */
	uint32_t reply_body; /* exact success reply body size (after status) */
};

/* NULL for an unknown opcode. */
const struct srxe_op_info *srxe_op_info(uint16_t opcode);

/*
 * Build a request in buf (capacity cap).  Returns the total length, or
 * -EMSGSIZE / -EINVAL.
 */
int srxe_msg_request(void *buf, size_t cap, uint16_t opcode, uint64_t req_id,
		     const void *body, size_t body_len);

/*
 * Validate a received request of len bytes.  Returns 0, or a negative errno
 * with *why set to a static description:
 *   -EPROTO (bad magic/flags/length field), -EPROTONOSUPPORT (version),
 *   -EOPNOTSUPP (unknown opcode), -EINVAL (wrong body size),
 *   -EMSGSIZE (len > SRXE_MSG_MAX).
 * hdr_out (may be NULL) receives a copy of the header when at least a whole
 * header was present, so that the reply can echo req_id even on failure.
 */
int srxe_msg_check_request(const void *buf, size_t len,
			   struct srxe_msg_hdr *hdr_out, const char **why);

/* Build a success reply for req; returns total length or -EMSGSIZE. */
int srxe_msg_reply_ok(void *buf, size_t cap, const struct srxe_msg_hdr *req,
		      const void *body, size_t body_len);

/*
 * Build an error reply: err is a positive errno, reason is printf-style text
 * (truncated to SRXE_REASON_MAX).  Returns total length or -EMSGSIZE.
 */
int srxe_msg_reply_err(void *buf, size_t cap, const struct srxe_msg_hdr *req,
		       int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Validate a reply to (opcode, req_id) of len bytes.  Returns 0 and points
 * *body at the success body (exactly srxe_op_info(opcode)->reply_body
 * bytes); or returns a positive errno from the daemon with reason copied
 * (NUL-terminated) into reason[reason_cap]; or a negative errno (-EPROTO,
 * ...) if the reply itself is malformed.
 */
int srxe_msg_check_reply(const void *buf, size_t len, uint16_t opcode,
			 uint64_t req_id, const void **body, char *reason,
			 size_t reason_cap);

#endif /* SRXE_PROTO_H */
