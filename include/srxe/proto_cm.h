/* SPDX-License-Identifier: MIT */
/*
 * rdma_cm (issue #11): the requests srxe's librdmacm (providers/rdmacm)
 * sends to srxed's connection manager (kernel-shim/cm), and the events the
 * CM writes to a library event channel.  Framing, errors and sessions are
 * those of include/srxe/proto.h.
 *
 * Division of labour (DESIGN.md section 6):
 *  - srxed owns QP 1 of its device: it sends and receives the IB CM MADs
 *    (REQ/MRA/REJ/REP/RTU/DREQ/DREP, SIDR_REQ/SIDR_REP), runs their timers
 *    and retries, keeps TimeWait, and owns the listen table of the device
 *    (per port space and port).
 *  - The library keeps the application-facing objects (rdma_cm_id, event
 *    channel), resolves addresses and routes locally, and moves the
 *    application's QP through INIT/RTR/RTS itself (with the provider's
 *    ibv_modify_qp), from the parameters the events below carry.
 *
 * Sessions: CM requests are accepted on a connection without OPEN_CTX.
 * The CM state of a connection (channels, listens, connections) belongs to
 * that connection: when it closes (client exit, crash), srxed sends DREQ
 * for established connections, REJ (reason 28, consumer) for ones being
 * set up, and releases its listens.
 *
 * Events: CM_ADD_CHANNEL passes, as SCM_RIGHTS, the write end of a
 * SOCK_SEQPACKET socketpair the library made for one rdma_event_channel.
 * srxed writes one struct srxe_cm_event per datagram to it, without
 * blocking (a channel whose buffer is full has its events queued in srxed,
 * at most SRXE_CM_CHAN_QUEUE_MAX; beyond that events are dropped and
 * counted, and a CONNECT_REQUEST that cannot be queued is a REQ never
 * received: no answer, the peer's retry may get through).  The library
 * itself writes the events it makes locally (ADDR_RESOLVED,
 * ROUTE_RESOLVED, ...) to the same socket, so the channel's order is the
 * order of happening.
 */
#ifndef SRXE_PROTO_CM_H
#define SRXE_PROTO_CM_H

#include <stdint.h>

enum srxe_cm_opcode {
	SRXE_OP_CM_ADD_CHANNEL = 64, /* request fd: the channel's write end */
	SRXE_OP_CM_DEL_CHANNEL = 65,
	SRXE_OP_CM_LISTEN = 66,
	SRXE_OP_CM_CONNECT = 67,
	SRXE_OP_CM_ACCEPT = 68,
	SRXE_OP_CM_REJECT = 69,
	SRXE_OP_CM_ESTABLISH = 70,
	SRXE_OP_CM_DISCONNECT = 71,
	SRXE_OP_CM_DESTROY = 72,
	SRXE_OP_CM_NOTIFY = 73,
	SRXE_OP_CM_MIGRATE = 74,
	SRXE_OP_CM_END, /* first unused (<= 80) */
};

#define SRXE_CM_CHAN_QUEUE_MAX 1024
/* Largest private data of any CM message (RTU, DREP: 224 bytes). */
#define SRXE_CM_PRIVATE_MAX 224
/* rdma_cm's own header (cma_hdr) leads REQ and SIDR_REQ private data in
 * the TCP/UDP port spaces, leaving 92 - 36 = 56 (REQ) bytes for the user. */
#define SRXE_CM_CMA_HDR_LEN 36

/* RDMA_PS_* of <rdma/rdma_cma.h> (and of the service id, DESIGN.md 6). */
enum srxe_cm_port_space {
	SRXE_CM_PS_IPOIB = 0x0002,
	SRXE_CM_PS_IB = 0x013f,
	SRXE_CM_PS_TCP = 0x0106,
	SRXE_CM_PS_UDP = 0x0111,
};

/* An IPv4 or IPv6 address and port, host-independent layout. */
struct srxe_cm_addr {
	uint16_t family; /* AF_INET, AF_INET6, or 0 (none) */
	uint16_t port;	 /* host order */
	uint32_t scope_id;
	uint8_t addr[16]; /* AF_INET: the first 4 bytes, network order */
};

/* A resolved path (rdma_resolve_route), as the library computed it. */
struct srxe_cm_path {
	uint8_t sgid[16];
	uint8_t dgid[16];
	uint32_t flow_label;
	uint8_t sgid_index;
	uint8_t hop_limit;
	uint8_t traffic_class;	  /* rdma_set_option(RDMA_OPTION_ID_TOS) */
	uint8_t mtu;		  /* enum ibv_mtu */
	uint8_t packet_life_time; /* log2(4.096 us), 0: CM's default */
	uint8_t reserved[3];
};

/*
 * Connection parameters in both directions (rdma_conn_param plus what the
 * CM exchange adds).  In CM_CONNECT/CM_ACCEPT they describe the local
 * side; in events, the remote side as its REQ/REP/SIDR_REP stated it.
 *
 * ECE (rdma_set_local_ece / rdma_get_remote_ece, kernel ib_cm since
 * 5.8): ece_vendor_id goes in the 24-bit VendorID field of the REQ
 * (CM_CONNECT), REP or SIDR_REP (CM_ACCEPT), ece_attr_mod in that MAD's
 * AttributeModifier; 0 / 0 is "no ECE" (what a CM without ECE sends).
 * CONNECT_REQUEST carries the REQ's, CONNECT_RESPONSE the REP's,
 * ESTABLISHED of a UD connect the SIDR_REP's.  A vendor id wider than 24
 * bits is cut to 24.
 */
struct srxe_cm_conn_param {
	uint32_t qp_num;       /* 24 bits */
	uint32_t starting_psn; /* 24 bits */
	uint32_t qkey;	       /* UD: SIDR_REP's Q_Key */
	uint8_t qp_type;       /* IBV_QPT_RC, UC, UD */
	uint8_t responder_resources;
	uint8_t initiator_depth;
	uint8_t flow_control;
	uint8_t retry_count;	 /* 3 bits */
	uint8_t rnr_retry_count; /* 3 bits */
	uint8_t srq;
	uint8_t ack_timeout; /* local ACK timeout (5 bits), 0: CM's choice */
	uint8_t path_mtu;    /* enum ibv_mtu, from the REQ */
	uint8_t reserved[3];
	uint32_t ece_vendor_id; /* 24 bits */
	uint32_t ece_attr_mod;
};

/* CM_ADD_CHANNEL: request fd is the channel's socket write end, a
 * SOCK_SEQPACKET (or SOCK_DGRAM) socket; anything else: EINVAL. */
struct srxe_cm_add_channel_resp {
	uint32_t chan_handle;
	uint32_t reserved;
};

/* CM_DEL_CHANNEL: every listen/connection on it must be gone (EBUSY). */
struct srxe_cm_handle_req {
	uint32_t handle;
	uint32_t reserved;
};

/*
 * CM_LISTEN: a listen on this device.  addr.family 0 or the wildcard
 * address: any address of the device.  Errors: EADDRINUSE (same port
 * space and port already listened on, here, for an overlapping address),
 * EACCES (port < 1024 and the client's uid is not 0, any port space),
 * EINVAL (bad port space, port 0: bind an ephemeral port first; backlog
 * <= 0 is taken as the default, 128).  Backlog: connection requests
 * delivered (CONNECT_REQUEST) and not yet accepted, rejected or destroyed;
 * a REQ beyond it is dropped without an answer, as kernel ucma does with
 * a full backlog (the peer's REQ retry may find room).  A REQ for a port
 * nobody listens on gets REJ 8 (invalid service id), one for a listened
 * port but another address REJ 28; SIDR_REQ: SIDR_REP status 1 / 2.
 */
struct srxe_cm_listen_req {
	uint64_t cookie; /* echoed in every event of this listen */
	uint32_t chan_handle;
	uint16_t port_space; /* enum srxe_cm_port_space */
	uint16_t reserved;
	int32_t backlog;
	uint32_t reserved2;
	struct srxe_cm_addr addr;
};

struct srxe_cm_handle_resp {
	uint32_t handle;
	uint32_t reserved;
};

/*
 * CM_CONNECT: send REQ (TCP, IB port spaces) or SIDR_REQ (UDP) to
 * dst's service (port space, dst.port) at path.dgid.  For TCP/UDP the CM
 * builds the cma_hdr from src/dst and puts private_data after it (the
 * cma_hdr carries the source port only; the destination port is the
 * service id's).  timeout_ms: one try's response timeout (the REQ's
 * remote CM response timeout is rounded up from it); 0: rdma_cm's
 * 2 * 2^18 + 2^20 times 4.096 us (~6.4 s; SIDR ~4.3 s).  15 retries.
 * Errors: EINVAL (private data too long: 56 TCP, 180 UDP, 92 IB, ...),
 * ENOMEM (the CM's connection limit, 8192 objects incl. TimeWait).
 */
struct srxe_cm_connect_req {
	uint64_t cookie;
	uint32_t chan_handle;
	uint16_t port_space;
	uint16_t private_data_len;
	struct srxe_cm_addr src, dst;
	struct srxe_cm_path path;
	struct srxe_cm_conn_param param;
	uint32_t timeout_ms; /* 0: the CM's default */
	uint32_t reserved;
	uint8_t private_data[SRXE_CM_PRIVATE_MAX];
};

/*
 * CM_ACCEPT: answer a CONNECT_REQUEST with REP (or SIDR_REP status 0).
 * cookie: the new id's cookie, used for its events from now on.
 */
struct srxe_cm_accept_req {
	uint64_t cookie;
	uint32_t conn_handle;
	uint16_t private_data_len;
	uint16_t reserved;
	struct srxe_cm_conn_param param;
	uint8_t private_data[SRXE_CM_PRIVATE_MAX];
};

/* CM_REJECT: REJ with a reason, or SIDR_REP status 2 (IB_SIDR_REJECT,
 * what kernel rdma_reject sends for UD); reason ignored then.  Also for
 * an active connection in CONNECT_RESPONSE (REJ of the REP). */
struct srxe_cm_reject_req {
	uint32_t conn_handle;
	uint16_t reason; /* IB CM reject reason, 28 (consumer defined) */
	uint16_t private_data_len;
	uint8_t private_data[SRXE_CM_PRIVATE_MAX];
};

/*
 * CM_ESTABLISH (after CONNECT_RESPONSE: send RTU), CM_DISCONNECT (DREQ,
 * or DREP to a received DREQ; in any other state it does nothing and
 * answers 0, as kernel rdma_disconnect), CM_NOTIFY (traffic arrived
 * before RTU: ESTABLISHED event), CM_DESTROY (a listen or a connection;
 * an established connection gets DREQ once, a pending one REJ 28, one in
 * REQ_SENT REJ 1 (timeout), a received DREQ its DREP, as kernel ib_cm's
 * cm_destroy_id; the handle is gone at once, TimeWait runs on without
 * events): struct srxe_cm_handle_req, empty reply.
 */

/* CM_MIGRATE: the listen/connection's events go to another channel. */
struct srxe_cm_migrate_req {
	uint64_t cookie;
	uint32_t handle;
	uint32_t chan_handle;
};

/*
 * One event, one datagram on the channel socket.  event is an
 * enum rdma_cm_event_type; status as librdmacm reports it (a negative
 * errno, or the IB CM reject reason for REJECTED).  Events srxed sends
 * (kernel cma.c cma_ib_handler / cma_sidr_rep_handler):
 *   CONNECT_REQUEST  listen's cookie; handle = the new connection
 *                    (src = our address and the listened port, dst = the
 *                    peer's from the cma_hdr; path.sgid = our GID, dgid =
 *                    the peer's, mtu = the REQ's; param = the REQ's;
 *                    private data after the cma_hdr: 56 bytes TCP, 180
 *                    SIDR, 92 / 216 in the IB port space)
 *   CONNECT_RESPONSE REP received (param = the REP's, 196 bytes private
 *                    data); the library moves the QP to RTR/RTS and sends
 *                    CM_ESTABLISH, then reports ESTABLISHED (or
 *                    CONNECT_RESPONSE if QP-less)
 *   ESTABLISHED      passive: RTU received (or CM_NOTIFY); active UD:
 *                    SIDR_REP status 0 (param.qp_num/qkey, 136 bytes)
 *   REJECTED         REJ received; status = reason, 148 bytes private
 *                    data, ari/ari_len
 *   UNREACHABLE      REQ/SIDR_REQ not answered, or our REP not answered
 *                    by RTU (kernel: IB_CM_REP_ERROR): status -ETIMEDOUT;
 *                    SIDR_REP status != 0: status = that SIDR status (1
 *                    no listener, 2 rejected)
 *   DISCONNECTED     DREQ or DREP received (status 0), or our DREQ
 *                    timed out (-ETIMEDOUT)
 *   TIMEWAIT_EXIT    the connection's TimeWait ended
 * srxed never sends CONNECT_ERROR (the library's QP transitions fail
 * locally).  param holds the peer's values as its MAD stated them
 * (responder_resources/initiator_depth not swapped: the library swaps as
 * kernel ib_cm does); ack_timeout: the REQ's local ACK timeout, or for
 * CONNECT_RESPONSE the connect's own or kernel's cm_ack_timeout(REP
 * target ACK delay, packet lifetime).  Events of a passive connection
 * before CM_ACCEPT (REJECTED when the peer gives up, ...) carry cookie 0:
 * the library finds the id by handle; after CM_ACCEPT its cookie.
 */
struct srxe_cm_event {
	uint64_t cookie;
	uint32_t event;
	int32_t status;
	uint32_t handle;
	uint16_t port_space;
	uint16_t private_data_len;
	struct srxe_cm_addr src, dst; /* local, remote (from the cma_hdr) */
	struct srxe_cm_path path;     /* local gid = sgid, remote = dgid */
	struct srxe_cm_conn_param param;
	uint32_t ari_len; /* REJ additional reject information bytes */
	uint8_t ari[72];
	uint8_t private_data[SRXE_CM_PRIVATE_MAX];
};

#endif /* SRXE_PROTO_CM_H */
