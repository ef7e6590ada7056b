/* SPDX-License-Identifier: MIT */
/*
 * IB CM MAD codec (IBA vol. 1 chapter 12, as kernel rdma_cm puts it on a
 * RoCEv2 wire): the 256-byte MADs QP 1 sends and receives, decoded into
 * host-order structs and encoded back.  Pure functions, no state: the
 * state machines live in cm.c.
 *
 * Contract:
 *  - srxe_cm_mad_decode() accepts exactly one 256-byte MAD whose common
 *    header is class 0x07 (CM), class version 2, method SEND (0x03),
 *    status 0, and an attribute this codec knows; every reserved or
 *    out-of-range field that IBA fixes is checked, so a MAD that decodes
 *    can be acted on without further validation (lengths of private data
 *    are the fixed sizes below).  Anything else: a negative errno and a
 *    static reason for the log (-EPROTO malformed, -EOPNOTSUPP unknown
 *    attribute or method, -EINVAL bad field).  LAP and APR are known
 *    to IBA but not decoded (-EOPNOTSUPP): rdma_cm never sends them.
 *    On success *why is NULL; why may be NULL.
 *  - srxe_cm_mad_encode() writes 256 bytes from a struct; it never fails
 *    for a struct whose fields fit their widths (they are masked).
 *  - The rdma_cm header (cma_hdr) inside REQ/SIDR_REQ private data has its
 *    own pair of functions.
 */
#ifndef SRXE_CM_MAD_H
#define SRXE_CM_MAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRXE_MAD_LEN	     256
#define SRXE_MAD_HDR_LEN     24
#define SRXE_CM_MGMT_CLASS   0x07
#define SRXE_CM_CLASS_VER    2
#define SRXE_MAD_METHOD_SEND 0x03
#define SRXE_GSI_QKEY	     0x80010000u
#define SRXE_GSI_QPN	     1u

enum srxe_cm_attr {
	SRXE_CM_ATTR_REQ = 0x0010,
	SRXE_CM_ATTR_MRA = 0x0011,
	SRXE_CM_ATTR_REJ = 0x0012,
	SRXE_CM_ATTR_REP = 0x0013,
	SRXE_CM_ATTR_RTU = 0x0014,
	SRXE_CM_ATTR_DREQ = 0x0015,
	SRXE_CM_ATTR_DREP = 0x0016,
	SRXE_CM_ATTR_SIDR_REQ = 0x0017,
	SRXE_CM_ATTR_SIDR_REP = 0x0018,
	SRXE_CM_ATTR_LAP = 0x0019,
	SRXE_CM_ATTR_APR = 0x001a,
};

/* Private data sizes fixed by IBA (the whole field, zero padded). */
enum {
	SRXE_CM_REQ_PRIV = 92,
	SRXE_CM_MRA_PRIV = 222,
	SRXE_CM_REJ_PRIV = 148,
	SRXE_CM_REP_PRIV = 196,
	SRXE_CM_RTU_PRIV = 224,
	SRXE_CM_DREQ_PRIV = 220,
	SRXE_CM_DREP_PRIV = 224,
	SRXE_CM_SIDR_REQ_PRIV = 216,
	SRXE_CM_SIDR_REP_PRIV = 136,
	SRXE_CM_REJ_ARI = 72,
};

/* The MAD common header fields the CM uses. */
struct srxe_mad_hdr {
	uint8_t base_version; /* 1 */
	uint8_t mgmt_class;   /* 0x07 */
	uint8_t class_version;
	uint8_t method;
	uint16_t status;
	uint64_t tid;
	uint16_t attr_id;
	uint32_t attr_mod;
};

/* REQ primary path (IBA 12.6.5).  The alternate path is not decoded
 * (rdma_cm never sets one; a CM without APM ignores it) and is encoded as
 * zeros. */
struct srxe_cm_path_fields {
	uint16_t local_lid, remote_lid; /* 0xffff on RoCE, as rxe sends */
	uint8_t local_gid[16], remote_gid[16];
	uint32_t flow_label; /* 20 bits */
	uint8_t packet_rate; /* 6 bits */
	uint8_t traffic_class;
	uint8_t hop_limit;
	uint8_t sl;		   /* 4 bits */
	uint8_t subnet_local;	   /* 1 bit */
	uint8_t local_ack_timeout; /* 5 bits */
};

/*
 * ECE (Enhanced Connection Establishment, kernel ib_cm since 5.8): the
 * vendor id travels in the 24-bit VendorID field of REQ and REP (and
 * SIDR_REP), the vendor options in the MAD header's AttributeModifier
 * (hdr.attr_mod).  0 / 0: no ECE.
 */
struct srxe_cm_req {
	uint32_t local_comm_id;
	uint32_t vendor_id; /* 24 bits (ECE) */
	uint64_t service_id;
	uint64_t local_ca_guid;
	uint32_t local_qkey;
	uint32_t local_qpn;		    /* 24 bits */
	uint8_t responder_resources;	    /* 8 bits */
	uint32_t local_eecn;		    /* 24 bits */
	uint8_t initiator_depth;	    /* 8 bits */
	uint32_t remote_eecn;		    /* 24 bits */
	uint8_t remote_cm_response_timeout; /* 5 bits */
	uint8_t transport_service_type;	    /* 2 bits: 0 RC, 1 UC, 3 XRC */
	uint8_t end_to_end_flow_control;    /* 1 bit */
	uint32_t starting_psn;		    /* 24 bits */
	uint8_t local_cm_response_timeout;  /* 5 bits */
	uint8_t retry_count;		    /* 3 bits */
	uint16_t partition_key;
	uint8_t path_mtu;		 /* 4 bits, enum ibv_mtu */
	uint8_t rdc_exists;		 /* 1 bit */
	uint8_t rnr_retry_count;	 /* 3 bits */
	uint8_t max_cm_retries;		 /* 4 bits */
	uint8_t srq;			 /* 1 bit */
	uint8_t extended_transport_type; /* 3 bits */
	struct srxe_cm_path_fields primary;
	uint8_t private_data[SRXE_CM_REQ_PRIV];
};

struct srxe_cm_mra {
	uint32_t local_comm_id, remote_comm_id;
	uint8_t message_mraed;	 /* 2 bits: 0 REQ, 1 REP, 2 LAP */
	uint8_t service_timeout; /* 5 bits */
	uint8_t private_data[SRXE_CM_MRA_PRIV];
};

struct srxe_cm_rej {
	uint32_t local_comm_id, remote_comm_id;
	uint8_t message_rejected; /* 2 bits: 0 REQ, 1 REP, 2 other */
	uint8_t ari_length;	  /* 7 bits */
	uint16_t reason;
	uint8_t ari[SRXE_CM_REJ_ARI];
	uint8_t private_data[SRXE_CM_REJ_PRIV];
};

struct srxe_cm_rep {
	uint32_t local_comm_id, remote_comm_id;
	uint32_t vendor_id; /* 24 bits (ECE), in three bytes on the wire */
	uint32_t local_qkey;
	uint32_t local_qpn;    /* 24 bits */
	uint32_t local_eecn;   /* 24 bits */
	uint32_t starting_psn; /* 24 bits */
	uint8_t responder_resources, initiator_depth;
	uint8_t target_ack_delay;	 /* 5 bits */
	uint8_t failover_accepted;	 /* 2 bits */
	uint8_t end_to_end_flow_control; /* 1 bit */
	uint8_t rnr_retry_count;	 /* 3 bits */
	uint8_t srq;			 /* 1 bit */
	uint64_t local_ca_guid;
	uint8_t private_data[SRXE_CM_REP_PRIV];
};

/* RTU, DREQ, DREP share a shape: comm ids (+ DREQ's remote QPN). */
struct srxe_cm_rtu {
	uint32_t local_comm_id, remote_comm_id;
	uint8_t private_data[SRXE_CM_RTU_PRIV];
};

struct srxe_cm_dreq {
	uint32_t local_comm_id, remote_comm_id;
	uint32_t remote_qpn; /* 24 bits */
	uint8_t private_data[SRXE_CM_DREQ_PRIV];
};

struct srxe_cm_drep {
	uint32_t local_comm_id, remote_comm_id;
	uint8_t private_data[SRXE_CM_DREP_PRIV];
};

struct srxe_cm_sidr_req {
	uint32_t request_id;
	uint16_t partition_key;
	uint64_t service_id;
	uint8_t private_data[SRXE_CM_SIDR_REQ_PRIV];
};

struct srxe_cm_sidr_rep {
	uint32_t request_id;
	uint8_t status; /* 0 valid, 1 no service, 2 rejected, ... */
	uint8_t add_info_length;
	uint32_t vendor_id; /* 24 bits (ECE) */
	uint32_t qpn;	    /* 24 bits */
	uint64_t service_id;
	uint32_t qkey;
	uint8_t add_info[72];
	uint8_t private_data[SRXE_CM_SIDR_REP_PRIV];
};

struct srxe_cm_msg {
	struct srxe_mad_hdr hdr;
	union {
		struct srxe_cm_req req;
		struct srxe_cm_mra mra;
		struct srxe_cm_rej rej;
		struct srxe_cm_rep rep;
		struct srxe_cm_rtu rtu;
		struct srxe_cm_dreq dreq;
		struct srxe_cm_drep drep;
		struct srxe_cm_sidr_req sidr_req;
		struct srxe_cm_sidr_rep sidr_rep;
	};
};

int srxe_cm_mad_decode(const uint8_t *mad, size_t len, struct srxe_cm_msg *out,
		       const char **why);
/* Writes SRXE_MAD_LEN bytes; hdr.attr_id selects the union member (an
 * attribute the codec does not decode gets its header and a zero payload).
 * base_version/class/class_version/method are set by the encoder; status,
 * tid and attr_mod come from hdr.  Reserved bits are written as zero. */
void srxe_cm_mad_encode(const struct srxe_cm_msg *msg,
			uint8_t mad[SRXE_MAD_LEN]);
/* "ConnectRequest", "ConnectReply"... the names tshark prints after "CM: "
 * (for logs, tests); "(Unknown CM Attribute)" as tshark for any other. */
const char *srxe_cm_attr_name(uint16_t attr_id);

/* Service id of an rdma_cm port space and port (DESIGN.md section 6). */
static inline uint64_t srxe_cm_service_id(uint16_t port_space, uint16_t port)
{
	return ((uint64_t)port_space << 16) | port;
}

/* rdma_cm's header at the start of REQ / SIDR_REQ private data. */
struct srxe_cma_hdr {
	uint8_t ip_version; /* 4 or 6 */
	/* Host order.  Only the source port is on the wire: decode sets
	 * dst_port 0 (the destination port is the low 16 bits of the REQ's
	 * service id), encode ignores it. */
	uint16_t src_port, dst_port;
	uint8_t src_addr[16], dst_addr[16]; /* IPv4: bytes 12..15 */
};

/* 0 or -EPROTO (version != 0, ip_version not 4/6, len < 36).  Addresses
 * are copied as the 16 bytes on the wire (IPv4: zeros, then a.b.c.d). */
int srxe_cma_hdr_decode(const uint8_t *priv, size_t len,
			struct srxe_cma_hdr *out);
void srxe_cma_hdr_encode(const struct srxe_cma_hdr *h, uint8_t priv[36]);

#endif /* SRXE_CM_MAD_H */
