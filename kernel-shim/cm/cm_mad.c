// SPDX-License-Identifier: MIT
/*
 * IB CM MAD codec (contract in cm_mad.h).
 *
 * Every message is described by a table of rows: where a field lives in
 * the MAD (byte offset of a big-endian container of 1..8 bytes, a right
 * shift and a width) and where it goes in the host struct.  Decode and
 * encode walk the same table, so the two directions cannot disagree.
 * Offsets are those of IBA vol. 1 chapter 12 (tables "REQ Message
 * Contents" and following), counted from the end of the 24-byte MAD
 * header, as the kernel's ibta_vol1_c12.h and Wireshark count them.
 */
#include "cm_mad.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* One field: a width-bit value at bit @shift (from the LSB) of the
 * @len-byte big-endian container at payload offset @off; width 0 is a
 * byte string of @len bytes.  @soff/@ssize locate the host member;
 * @mshift is where the value sits in the member, for a member IBA
 * splits over several places (REP's VendorID: three separate bytes). */
struct cm_field {
	uint8_t off;
	uint8_t len;
	uint8_t shift;
	uint8_t width;
	uint16_t soff;
	uint8_t ssize;
	uint8_t mshift;
};

#define PART(T, m, off, len, shift, width, mshift)                             \
	{                                                                      \
		(off), (len), (shift), (width), offsetof(T, m),                \
			sizeof(((T *)0)->m), (mshift)                          \
	}
#define FLD(T, m, off, len, shift, width) PART(T, m, off, len, shift, width, 0)
#define BYTES(T, m, off, len)		  FLD(T, m, off, len, 0, 0)
/* A reserved field IBA fixes at zero (kernel CM sends zeroed MADs). */
#define RSV(off, len, shift, width)                                            \
	{                                                                      \
		(off), (len), (shift), (width), 0, 0, 0                        \
	}

/* The comm id pair every connected-mode message starts with. */
#define COMM_IDS(T)                                                            \
	FLD(T, local_comm_id, 0, 4, 0, 32), FLD(T, remote_comm_id, 4, 4, 0, 32)

#define R struct srxe_cm_req
static const struct cm_field req_fields[] = {
	FLD(R, local_comm_id, 0, 4, 0, 32),
	FLD(R, vendor_id, 4, 4, 0, 24),
	FLD(R, service_id, 8, 8, 0, 64),
	FLD(R, local_ca_guid, 16, 8, 0, 64),
	FLD(R, local_qkey, 28, 4, 0, 32),
	FLD(R, local_qpn, 32, 4, 8, 24),
	FLD(R, responder_resources, 35, 1, 0, 8),
	FLD(R, local_eecn, 36, 4, 8, 24),
	FLD(R, initiator_depth, 39, 1, 0, 8),
	FLD(R, remote_eecn, 40, 4, 8, 24),
	FLD(R, remote_cm_response_timeout, 43, 1, 3, 5),
	FLD(R, transport_service_type, 43, 1, 1, 2),
	FLD(R, end_to_end_flow_control, 43, 1, 0, 1),
	FLD(R, starting_psn, 44, 4, 8, 24),
	FLD(R, local_cm_response_timeout, 47, 1, 3, 5),
	FLD(R, retry_count, 47, 1, 0, 3),
	FLD(R, partition_key, 48, 2, 0, 16),
	FLD(R, path_mtu, 50, 1, 4, 4),
	FLD(R, rdc_exists, 50, 1, 3, 1),
	FLD(R, rnr_retry_count, 50, 1, 0, 3),
	FLD(R, max_cm_retries, 51, 1, 4, 4),
	FLD(R, srq, 51, 1, 3, 1),
	FLD(R, extended_transport_type, 51, 1, 0, 3),
	FLD(R, primary.local_lid, 52, 2, 0, 16),
	FLD(R, primary.remote_lid, 54, 2, 0, 16),
	BYTES(R, primary.local_gid, 56, 16),
	BYTES(R, primary.remote_gid, 72, 16),
	FLD(R, primary.flow_label, 88, 4, 12, 20),
	FLD(R, primary.packet_rate, 88, 4, 0, 6),
	FLD(R, primary.traffic_class, 92, 1, 0, 8),
	FLD(R, primary.hop_limit, 93, 1, 0, 8),
	FLD(R, primary.sl, 94, 1, 4, 4),
	FLD(R, primary.subnet_local, 94, 1, 3, 1),
	FLD(R, primary.local_ack_timeout, 95, 1, 3, 5),
	BYTES(R, private_data, 140, SRXE_CM_REQ_PRIV),
};
#undef R

/* The alternate path (96..139) is not checked: rdma_cm never sets one,
 * but an IB CM with APM may, and ignoring it is what a CM without
 * alternate path support does. */
static const struct cm_field req_rsv[] = {
	RSV(4, 1, 0, 8),  RSV(24, 4, 0, 32), RSV(88, 4, 6, 6),
	RSV(94, 1, 0, 3), RSV(95, 1, 0, 3),
};

#define M struct srxe_cm_mra
static const struct cm_field mra_fields[] = {
	COMM_IDS(M),
	FLD(M, message_mraed, 8, 1, 6, 2),
	FLD(M, service_timeout, 9, 1, 3, 5),
	BYTES(M, private_data, 10, SRXE_CM_MRA_PRIV),
};
#undef M

static const struct cm_field mra_rsv[] = {
	RSV(8, 1, 0, 6),
	RSV(9, 1, 0, 3),
};

#define J struct srxe_cm_rej
static const struct cm_field rej_fields[] = {
	COMM_IDS(J),
	FLD(J, message_rejected, 8, 1, 6, 2),
	FLD(J, ari_length, 9, 1, 1, 7),
	FLD(J, reason, 10, 2, 0, 16),
	BYTES(J, ari, 12, SRXE_CM_REJ_ARI),
	BYTES(J, private_data, 84, SRXE_CM_REJ_PRIV),
};
#undef J

static const struct cm_field rej_rsv[] = {
	RSV(8, 1, 0, 6),
	RSV(9, 1, 0, 1),
};

#define P struct srxe_cm_rep
static const struct cm_field rep_fields[] = {
	COMM_IDS(P),
	FLD(P, local_qkey, 8, 4, 0, 32),
	FLD(P, local_qpn, 12, 4, 8, 24),
	PART(P, vendor_id, 15, 1, 0, 8, 16),
	FLD(P, local_eecn, 16, 4, 8, 24),
	PART(P, vendor_id, 19, 1, 0, 8, 8),
	FLD(P, starting_psn, 20, 4, 8, 24),
	PART(P, vendor_id, 23, 1, 0, 8, 0),
	FLD(P, responder_resources, 24, 1, 0, 8),
	FLD(P, initiator_depth, 25, 1, 0, 8),
	FLD(P, target_ack_delay, 26, 1, 3, 5),
	FLD(P, failover_accepted, 26, 1, 1, 2),
	FLD(P, end_to_end_flow_control, 26, 1, 0, 1),
	FLD(P, rnr_retry_count, 27, 1, 5, 3),
	FLD(P, srq, 27, 1, 4, 1),
	FLD(P, local_ca_guid, 28, 8, 0, 64),
	BYTES(P, private_data, 36, SRXE_CM_REP_PRIV),
};
#undef P

static const struct cm_field rep_rsv[] = {
	RSV(27, 1, 0, 4),
};

#define T struct srxe_cm_rtu
static const struct cm_field rtu_fields[] = {
	COMM_IDS(T),
	BYTES(T, private_data, 8, SRXE_CM_RTU_PRIV),
};
#undef T

#define D struct srxe_cm_dreq
static const struct cm_field dreq_fields[] = {
	COMM_IDS(D),
	FLD(D, remote_qpn, 8, 4, 8, 24),
	BYTES(D, private_data, 12, SRXE_CM_DREQ_PRIV),
};
#undef D

static const struct cm_field dreq_rsv[] = {
	RSV(11, 1, 0, 8),
};

#define D struct srxe_cm_drep
static const struct cm_field drep_fields[] = {
	COMM_IDS(D),
	BYTES(D, private_data, 8, SRXE_CM_DREP_PRIV),
};
#undef D

#define S struct srxe_cm_sidr_req
static const struct cm_field sidr_req_fields[] = {
	FLD(S, request_id, 0, 4, 0, 32),
	FLD(S, partition_key, 4, 2, 0, 16),
	FLD(S, service_id, 8, 8, 0, 64),
	BYTES(S, private_data, 16, SRXE_CM_SIDR_REQ_PRIV),
};
#undef S

static const struct cm_field sidr_req_rsv[] = {
	RSV(6, 2, 0, 16),
};

#define S struct srxe_cm_sidr_rep
static const struct cm_field sidr_rep_fields[] = {
	FLD(S, request_id, 0, 4, 0, 32),
	FLD(S, status, 4, 1, 0, 8),
	FLD(S, add_info_length, 5, 1, 0, 8),
	PART(S, vendor_id, 6, 2, 0, 16, 8),
	FLD(S, qpn, 8, 4, 8, 24),
	PART(S, vendor_id, 11, 1, 0, 8, 0),
	FLD(S, service_id, 12, 8, 0, 64),
	FLD(S, qkey, 20, 4, 0, 32),
	BYTES(S, add_info, 24, sizeof(((S *)0)->add_info)),
	BYTES(S, private_data, 96, SRXE_CM_SIDR_REP_PRIV),
};
#undef S

/* Enumerated fields with values IBA leaves undefined; NULL when none. */
typedef const char *(*cm_check_fn)(const struct srxe_cm_msg *msg);

static const char *req_check(const struct srxe_cm_msg *msg)
{
	/* enum ibv_mtu: 1 (256) .. 5 (4096) */
	if (msg->req.path_mtu < 1 || msg->req.path_mtu > 5)
		return "REQ path MTU out of range";
	return NULL;
}

static const char *mra_check(const struct srxe_cm_msg *msg)
{
	return msg->mra.message_mraed == 3 ? "MRA of an undefined message"
					   : NULL;
}

static const char *rej_check(const struct srxe_cm_msg *msg)
{
	if (msg->rej.message_rejected == 3)
		return "REJ of an undefined message";
	if (msg->rej.ari_length > SRXE_CM_REJ_ARI)
		return "REJ ARI length above 72";
	return NULL;
}

static const char *sidr_rep_check(const struct srxe_cm_msg *msg)
{
	if (msg->sidr_rep.add_info_length > sizeof(msg->sidr_rep.add_info))
		return "SIDR_REP additional info length above 72";
	return NULL;
}

struct cm_layout {
	uint16_t attr;
	const char *name; /* as tshark's Info column: "CM: <name>" */
	const struct cm_field *fields;
	size_t nfields;
	const struct cm_field *rsv;
	size_t nrsv;
	cm_check_fn check;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define LAYOUT(a, n, f, r, c)                                                  \
	{                                                                      \
		SRXE_CM_ATTR_##a, n, f, NELEM(f), r, NELEM(r), c               \
	}
/* A message with no reserved bits besides those of its header. */
#define LAYOUT_NR(a, n, f)                                                     \
	{                                                                      \
		SRXE_CM_ATTR_##a, n, f, NELEM(f), NULL, 0, NULL                \
	}
/* The same with a check of its enumerated fields. */
#define LAYOUT_NC(a, n, f, c)                                                  \
	{                                                                      \
		SRXE_CM_ATTR_##a, n, f, NELEM(f), NULL, 0, c                   \
	}

static const struct cm_layout layouts[] = {
	LAYOUT(REQ, "ConnectRequest", req_fields, req_rsv, req_check),
	LAYOUT(MRA, "MsgRcptAck", mra_fields, mra_rsv, mra_check),
	LAYOUT(REJ, "ConnectReject", rej_fields, rej_rsv, rej_check),
	LAYOUT(REP, "ConnectReply", rep_fields, rep_rsv, NULL),
	LAYOUT_NR(RTU, "ReadyToUse", rtu_fields),
	LAYOUT(DREQ, "DisconnectRequest", dreq_fields, dreq_rsv, NULL),
	LAYOUT_NR(DREP, "DisconnectReply", drep_fields),
	LAYOUT(SIDR_REQ, "ServiceIDResReq", sidr_req_fields, sidr_req_rsv,
	       NULL),
	LAYOUT_NC(SIDR_REP, "ServiceIDResReqResp", sidr_rep_fields,
		  sidr_rep_check),
};

static const struct cm_layout *layout_of(uint16_t attr)
{
	for (size_t i = 0; i < NELEM(layouts); i++)
		if (layouts[i].attr == attr)
			return &layouts[i];
	return NULL;
}

const char *srxe_cm_attr_name(uint16_t attr_id)
{
	const struct cm_layout *l = layout_of(attr_id);

	if (l)
		return l->name;
	switch (attr_id) {
	case 0x0001:
		return "ClassPortInfo";
	case SRXE_CM_ATTR_LAP:
		return "LoadAlternatePath";
	case SRXE_CM_ATTR_APR:
		return "AlternatePathResponse";
	default:
		return "(Unknown CM Attribute)";
	}
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, size_t n, uint64_t v)
{
	for (size_t i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t width_mask(unsigned int width)
{
	return width >= 64 ? ~0ull : (1ull << width) - 1;
}

static uint64_t field_get(const uint8_t *pl, const struct cm_field *f)
{
	return get_be(pl + f->off, f->len) >> f->shift & width_mask(f->width);
}

static void member_store(void *m, size_t size, uint64_t v)
{
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	switch (size) {
	case 1:
		memcpy(m, &v8, 1);
		break;
	case 2:
		memcpy(m, &v16, 2);
		break;
	case 4:
		memcpy(m, &v32, 4);
		break;
	default:
		memcpy(m, &v, 8);
	}
}

static uint64_t member_load(const void *m, size_t size)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (size) {
	case 1:
		memcpy(&v8, m, 1);
		return v8;
	case 2:
		memcpy(&v16, m, 2);
		return v16;
	case 4:
		memcpy(&v32, m, 4);
		return v32;
	default:
		memcpy(&v64, m, 8);
		return v64;
	}
}

static void fields_decode(const uint8_t *pl, const struct cm_layout *l,
			  uint8_t *base)
{
	for (size_t i = 0; i < l->nfields; i++) {
		const struct cm_field *f = &l->fields[i];
		uint64_t v;

		if (!f->width) {
			memcpy(base + f->soff, pl + f->off, f->len);
			continue;
		}
		/* The struct starts zeroed: parts of one member OR in. */
		v = member_load(base + f->soff, f->ssize);
		v |= field_get(pl, f) << f->mshift;
		member_store(base + f->soff, f->ssize, v);
	}
}

static void fields_encode(uint8_t *pl, const struct cm_layout *l,
			  const uint8_t *base)
{
	for (size_t i = 0; i < l->nfields; i++) {
		const struct cm_field *f = &l->fields[i];
		uint64_t mask = width_mask(f->width) << f->shift;
		uint64_t c, v;

		if (!f->width) {
			memcpy(pl + f->off, base + f->soff, f->len);
			continue;
		}
		v = member_load(base + f->soff, f->ssize) >> f->mshift;
		v = (v & width_mask(f->width)) << f->shift;
		c = get_be(pl + f->off, f->len);
		put_be(pl + f->off, f->len, (c & ~mask) | (v & mask));
	}
}

static bool reserved_clear(const uint8_t *pl, const struct cm_layout *l)
{
	for (size_t i = 0; i < l->nrsv; i++)
		if (field_get(pl, &l->rsv[i]))
			return false;
	return true;
}

/* The MAD common header (IBA 13.4.2): big-endian, 24 bytes. */
static void hdr_decode(const uint8_t *mad, struct srxe_mad_hdr *h)
{
	h->base_version = mad[0];
	h->mgmt_class = mad[1];
	h->class_version = mad[2];
	h->method = mad[3];
	h->status = (uint16_t)get_be(mad + 4, 2);
	h->tid = get_be(mad + 8, 8);
	h->attr_id = (uint16_t)get_be(mad + 16, 2);
	h->attr_mod = (uint32_t)get_be(mad + 20, 4);
}

static int hdr_check(const uint8_t *mad, const struct srxe_mad_hdr *h,
		     const char **why)
{
	if (h->base_version != 1 || h->mgmt_class != SRXE_CM_MGMT_CLASS ||
	    h->class_version != SRXE_CM_CLASS_VER) {
		*why = "not a CM MAD (base version, class or class version)";
		return -EPROTO;
	}
	if (h->method != SRXE_MAD_METHOD_SEND) {
		*why = "CM MAD method is not Send";
		return -EOPNOTSUPP;
	}
	/* Status and the class-specific and reserved halfwords are zero
	 * in every CM Send (IBA 13.4.2, 12.6). */
	if (h->status || get_be(mad + 6, 2) || get_be(mad + 18, 2)) {
		*why = "CM MAD status or reserved header bits set";
		return -EINVAL;
	}
	return 0;
}

int srxe_cm_mad_decode(const uint8_t *mad, size_t len, struct srxe_cm_msg *out,
		       const char **why)
{
	const char *unused; /* callers may pass why NULL */
	const struct cm_layout *l;
	const uint8_t *pl;
	int ret;

	if (!why)
		why = &unused;
	memset(out, 0, sizeof(*out));
	if (!mad || len != SRXE_MAD_LEN) {
		*why = "CM MAD is not 256 bytes";
		return -EPROTO;
	}
	pl = mad + SRXE_MAD_HDR_LEN;
	hdr_decode(mad, &out->hdr);
	ret = hdr_check(mad, &out->hdr, why);
	if (ret)
		return ret;
	l = layout_of(out->hdr.attr_id);
	if (!l) {
		*why = "CM attribute not supported";
		return -EOPNOTSUPP;
	}
	if (!reserved_clear(pl, l)) {
		*why = "reserved CM field set";
		return -EINVAL;
	}
	fields_decode(pl, l, (uint8_t *)&out->req);
	*why = l->check ? l->check(out) : NULL;
	return *why ? -EINVAL : 0;
}

void srxe_cm_mad_encode(const struct srxe_cm_msg *msg,
			uint8_t mad[SRXE_MAD_LEN])
{
	const struct cm_layout *l = layout_of(msg->hdr.attr_id);

	memset(mad, 0, SRXE_MAD_LEN);
	mad[0] = 1;
	mad[1] = SRXE_CM_MGMT_CLASS;
	mad[2] = SRXE_CM_CLASS_VER;
	mad[3] = SRXE_MAD_METHOD_SEND;
	put_be(mad + 4, 2, msg->hdr.status);
	put_be(mad + 8, 8, msg->hdr.tid);
	put_be(mad + 16, 2, msg->hdr.attr_id);
	put_be(mad + 20, 4, msg->hdr.attr_mod);
	if (l)
		fields_encode(mad + SRXE_MAD_HDR_LEN, l,
			      (const uint8_t *)&msg->req);
}

/* cma_hdr: u8 version (0), u8 ip_version << 4, be16 port, 16-byte source
 * and destination addresses (IPv4 in the last 4 bytes). */
#define CMA_HDR_LEN 36

int srxe_cma_hdr_decode(const uint8_t *priv, size_t len,
			struct srxe_cma_hdr *out)
{
	memset(out, 0, sizeof(*out));
	if (len < CMA_HDR_LEN || priv[0] != 0)
		return -EPROTO;
	out->ip_version = priv[1] >> 4;
	if (out->ip_version != 4 && out->ip_version != 6)
		return -EPROTO;
	out->src_port = (uint16_t)get_be(priv + 2, 2);
	memcpy(out->src_addr, priv + 4, 16);
	memcpy(out->dst_addr, priv + 20, 16);
	return 0;
}

void srxe_cma_hdr_encode(const struct srxe_cma_hdr *h, uint8_t priv[36])
{
	priv[0] = 0;
	priv[1] = (uint8_t)(h->ip_version << 4);
	put_be(priv + 2, 2, h->src_port);
	memcpy(priv + 4, h->src_addr, 16);
	memcpy(priv + 20, h->dst_addr, 16);
}
