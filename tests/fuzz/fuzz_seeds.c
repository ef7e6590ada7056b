// SPDX-License-Identifier: MIT
/*
 * Writes the seed inputs of the two fuzz targets:
 *
 *   fuzz_seeds PCAP RX_DIR CTL_DIR
 *
 * RX_DIR: every frame of PCAP (the kernel rxe golden capture) twice --
 * as captured (mode FUZZ_RX_ETH: the validators see real packets) and with
 * every fix-up on (steered to the target's QPs, so they reach the
 * responder and completer) -- plus every run of three consecutive frames
 * as one FUZZ_RX_MULTI input, in both translation modes, some with no
 * receive WQEs posted; and the first frame of every opcode moved into an
 * IPv6 packet to the target's link-local address (rx_seeds_v6); and the
 * CM MADs to QP 1 plus the CM messages the capture lacks (cm_seeds).
 * CTL_DIR: one valid request of every opcode on an open context, and
 * conversations that create, use and destroy each kind of object.
 *
 * The committed corpus (tests/fuzz/corpus/) is these seeds plus what
 * fuzzing found, minimised with libFuzzer's -merge=1 (docs/fuzzing.md).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_mad.h"
#include "fuzz_ctl.h"
#include "fuzz_rx.h"
#include "packet/be_bytes.h"
#include "packet/icrc.h"
#include "packet/netframe.h"
#include "packet/pcap.h"
#include "srxe/proto.h"

#define MAX_FRAMES 4096
#define RX_ALL                                                                 \
	(FUZZ_RX_ETH | FUZZ_RX_FIX_ICRC | FUZZ_RX_STEER | FUZZ_RX_KEYS |       \
	 FUZZ_RX_PSN)

struct buf {
	uint8_t b[65536];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > sizeof(b->b)) {
		fprintf(stderr, "fuzz_seeds: input too large\n");
		exit(1);
	}
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_record(struct buf *b, const void *p, size_t n)
{
	uint8_t len[2] = { (uint8_t)n, (uint8_t)(n >> 8) };

	put(b, len, 2);
	put(b, p, n);
}

static void save(const char *dir, const char *name, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b->b, 1, b->n, f) != b->n || fclose(f)) {
		fprintf(stderr, "fuzz_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* ---- rx ---- */

struct frames {
	uint8_t *data[MAX_FRAMES];
	uint32_t len[MAX_FRAMES];
	int n;
};

static void read_pcap(const char *path, struct frames *fr)
{
	struct srxe_pcap_reader r;
	struct srxe_pcap_record rec;
	FILE *f = fopen(path, "rb");

	if (!f || srxe_pcap_reader_open(&r, f)) {
		fprintf(stderr, "fuzz_seeds: %s: not a readable pcap\n", path);
		exit(1);
	}
	while (fr->n < MAX_FRAMES && srxe_pcap_next(&r, &rec) == 1) {
		fr->data[fr->n] = malloc(rec.len);
		if (!fr->data[fr->n])
			exit(1);
		memcpy(fr->data[fr->n], rec.data, rec.len);
		fr->len[fr->n++] = rec.len;
	}
	srxe_pcap_reader_close(&r);
}

static void rx_seeds(const struct frames *fr, const char *dir)
{
	char name[64];

	for (int i = 0; i < fr->n; i++) {
		static const uint8_t modes[2] = { FUZZ_RX_ETH, RX_ALL };

		for (int m = 0; m < 2; m++) {
			struct buf b = { .n = 0 };

			put(&b, &modes[m], 1);
			put(&b, fr->data[i], fr->len[i]);
			snprintf(name, sizeof(name), "pcap-%03d-%s", i + 1,
				 m ? "fixed" : "raw");
			save(dir, name, &b);
		}
	}
	for (int i = 0; i + 3 <= fr->n; i++) {
		/* Odd runs: MTT translation; every fourth: no receive WQEs. */
		uint8_t mode = RX_ALL | FUZZ_RX_MULTI |
			       (i & 1 ? FUZZ_RX_MTT : 0) |
			       (i % 4 == 2 ? FUZZ_RX_NO_RECV : 0);
		struct buf b = { .n = 0 };

		put(&b, &mode, 1);
		for (int k = i; k < i + 3; k++)
			put_record(&b, fr->data[k], fr->len[k]);
		snprintf(name, sizeof(name), "pcap-%03d-run3", i + 1);
		save(dir, name, &b);
	}
}

/*
 * IBA 1.5 requests the golden capture (kernel 6.1) does not have: one
 * frame each, Ethernet .. ICRC, lengths and ICRC left to the fix-ups.
 * (BTH opcodes by number: engine/packet/opcode.h's enum clashes with
 * proto.h's.)
 */
#define OP_READ_RESPONSE_ONLY 0x10
#define OP_FLUSH	      0x1c
#define OP_ATOMIC_WRITE	      0x1d

static void awf_frame(struct buf *b, uint8_t opcode, uint8_t feth, uint64_t va,
		      uint32_t dma_len, uint32_t data_len)
{
	uint8_t f[14 + 20 + 8 + 12 + 4 + 16 + 16 + 4] = { 0 };
	uint8_t *ip = f + 14, *bth = ip + 28, *h = bth + 12;
	size_t n;

	f[12] = 0x08; /* IPv4 */
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = 17;
	ip[22] = 0x12; /* UDP dport 4791 */
	ip[23] = 0xb7;
	bth[0] = opcode;
	bth[2] = bth[3] = 0xff;
	bth[8] = 0x80;			       /* AckReq */
	if (opcode == OP_READ_RESPONSE_ONLY) { /* AETH: ACK, MSN 1 */
		h[0] = 0x1f;
		h[3] = 1;
		h += 4;
		goto done;
	}
	if (opcode == OP_FLUSH) {
		h[3] = feth;
		h += 4;
	}
	for (int i = 0; i < 8; i++)
		h[i] = (uint8_t)(va >> (56 - 8 * i));
	h[12] = (uint8_t)(dma_len >> 24);
	h[13] = (uint8_t)(dma_len >> 16);
	h[14] = (uint8_t)(dma_len >> 8);
	h[15] = (uint8_t)dma_len;
	h += 16;
	for (uint32_t i = 0; i < data_len; i++)
		h[i] = (uint8_t)(0xa0 + i);
done:
	n = (size_t)(h + data_len - f) + 4;
	/* lengths must hold for the frame to be located at all */
	ip[2] = (uint8_t)((n - 14) >> 8);
	ip[3] = (uint8_t)(n - 14);
	ip[6] = 0x40; /* DF */
	ip[24] = (uint8_t)((n - 34) >> 8);
	ip[25] = (uint8_t)(n - 34);
	put(b, f, n);
}

static void awf_seeds(const char *dir)
{
	static const struct {
		const char *name;
		uint8_t opcode, feth;
		uint64_t va;
		uint32_t dma_len, data_len;
	} s[] = {
		{ "atomic-write", OP_ATOMIC_WRITE, 0, 64, 8, 8 },
		{ "atomic-write-unaligned", OP_ATOMIC_WRITE, 0, 61, 8, 8 },
		{ "atomic-write-short", OP_ATOMIC_WRITE, 0, 64, 8, 4 },
		{ "atomic-write-dma16", OP_ATOMIC_WRITE, 0, 64, 16, 16 },
		{ "flush-range", OP_FLUSH, 0x01, 128, 256, 0 },
		{ "flush-mr", OP_FLUSH, 0x11, 0, 0, 0 },
		{ "flush-persistent", OP_FLUSH, 0x02, 128, 256, 0 },
		{ "flush-bad-level", OP_FLUSH, 0x21, 128, 256, 0 },
		{ "flush-no-type", OP_FLUSH, 0x00, 128, 256, 0 },
	};
	char name[64];

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		uint8_t mode = RX_ALL | (i & 1 ? FUZZ_RX_MTT : 0);
		struct buf b = { .n = 0 };

		put(&b, &mode, 1);
		awf_frame(&b, s[i].opcode, s[i].feth, s[i].va, s[i].dma_len,
			  s[i].data_len);
		snprintf(name, sizeof(name), "awf-%s", s[i].name);
		save(dir, name, &b);
	}
	/* ATOMIC WRITE, then a FLUSH, then a zero-length READ Response Only
	 * (what answers both) into the same QPs. */
	{
		uint8_t mode = RX_ALL | FUZZ_RX_MULTI;
		struct buf b = { .n = 0 }, one;

		put(&b, &mode, 1);
		one.n = 0;
		awf_frame(&one, OP_ATOMIC_WRITE, 0, 64, 8, 8);
		put_record(&b, one.b, one.n);
		one.n = 0;
		awf_frame(&one, OP_FLUSH, 0x01, 0, 64, 0);
		put_record(&b, one.b, one.n);
		one.n = 0;
		awf_frame(&one, OP_READ_RESPONSE_ONLY, 0, 0, 0, 0);
		put_record(&b, one.b, one.n);
		save(dir, "awf-run3", &b);
	}
}

/*
 * IPv6 seeds: the first frame of every BTH opcode, moved into an IPv6
 * packet (link-local source, the target's GID 0 as destination, ICRC
 * sealed over the IPv6 header), as captured ("v6raw": valid as it is)
 * and with every fix-up ("v6fixed").  The receive path's IPv6 branch
 * starts from real packets too.
 */
static void rx_seeds_v6(const struct frames *fr, const char *dir)
{
	static const uint8_t src[16] = { 0xfe, 0x80, [8] = 0x02, 0x00, 0x5e,
					 0xff, 0xfe, 0x00,	 0x53, 0x02 };
	static const uint8_t dst[16] = FUZZ_RX_IPV6;
	bool seen[256] = { false };
	char name[64];

	for (int i = 0; i < fr->n; i++) {
		static const uint8_t modes[2] = { FUZZ_RX_ETH, RX_ALL };
		struct srxe_frame_view v;
		uint8_t f[14 + 40 + 8192];
		size_t n;

		if (srxe_frame_locate_eth(fr->data[i], fr->len[i], &v) ||
		    v.ip_len != 20 || v.udp_len < 8 + 12 + 4 ||
		    v.udp_len > sizeof(f) - 54 || seen[v.udp[8]])
			continue;
		seen[v.udp[8]] = true;
		memcpy(f, fr->data[i], 12); /* MAC addresses */
		f[12] = 0x86;
		f[13] = 0xdd;
		memset(f + 14, 0, 40);
		f[14] = 0x60;
		f[18] = (uint8_t)(v.udp_len >> 8);
		f[19] = (uint8_t)v.udp_len;
		f[20] = 17;
		f[21] = 64;
		memcpy(f + 22, src, 16);
		memcpy(f + 38, dst, 16);
		memcpy(f + 54, v.udp, v.udp_len);
		srxe_icrc_seal(f + 14, 40, f + 54, v.udp_len);
		n = 54 + v.udp_len;
		for (int m = 0; m < 2; m++) {
			struct buf b = { .n = 0 };

			put(&b, &modes[m], 1);
			put(&b, f, n);
			snprintf(name, sizeof(name), "pcap-%03d-%s", i + 1,
				 m ? "v6fixed" : "v6raw");
			save(dir, name, &b);
		}
	}
}

/*
 * CM seeds (issue #11): the golden capture's CM MADs (UD SEND Only to
 * QP 1) with every fix-up on -- steering keeps QP 1, so they reach the
 * GSI callback and the CM MAD decoder -- one by one ("cm-NNN") and as one
 * conversation ("cm-run"); and the messages the capture lacks (MRA, REJ,
 * SIDR_REQ with an rdma_cm header, SIDR_REP) built by the codec into the
 * first CM frame ("cm-mra", ...).
 */
static bool is_cm_frame(const uint8_t *f, uint32_t len, size_t *mad_off)
{
	struct srxe_frame_view v;

	if (srxe_frame_locate_eth(f, len, &v) ||
	    v.udp_len != 8 + 12 + 8 + SRXE_MAD_LEN + 4 || v.udp[8] != 0x64 ||
	    srxe_get_be24(v.udp + 8 + 5) != SRXE_GSI_QPN)
		return false;
	*mad_off = (size_t)(v.udp - f) + 8 + 12 + 8;
	return true;
}

static void cm_synth(const char *dir, const uint8_t *tmpl, uint32_t len,
		     size_t mad_off)
{
	static const uint8_t rx_all = RX_ALL;
	struct srxe_cma_hdr cma = { .ip_version = 4, .src_port = 0x9c41 };
	struct srxe_cm_msg m[4];
	static const char *const names[4] = { "cm-mra", "cm-rej", "cm-sidr-req",
					      "cm-sidr-rep" };

	memset(m, 0, sizeof(m));
	m[0].hdr.attr_id = SRXE_CM_ATTR_MRA;
	m[0].mra = (struct srxe_cm_mra){ .local_comm_id = 0x1234,
					 .remote_comm_id = 0x94d37301,
					 .message_mraed = 1,
					 .service_timeout = 20 };
	m[1].hdr.attr_id = SRXE_CM_ATTR_REJ;
	m[1].rej = (struct srxe_cm_rej){ .remote_comm_id = 0x94d37301,
					 .reason = 8 };
	m[2].hdr.attr_id = SRXE_CM_ATTR_SIDR_REQ;
	m[2].sidr_req = (struct srxe_cm_sidr_req){
		.request_id = 0xcafe,
		.partition_key = 0xffff,
		.service_id = srxe_cm_service_id(0x0111, 7174),
	};
	cma.src_addr[15] = 2;
	cma.dst_addr[15] = 1;
	srxe_cma_hdr_encode(&cma, m[2].sidr_req.private_data);
	m[3].hdr.attr_id = SRXE_CM_ATTR_SIDR_REP;
	m[3].sidr_rep = (struct srxe_cm_sidr_rep){
		.request_id = 0xcafe,
		.qpn = 0x2e,
		.service_id = srxe_cm_service_id(0x0111, 7174),
		.qkey = 0x01234567,
	};
	for (int i = 0; i < 4; i++) {
		struct buf b = { .n = 0 };

		m[i].hdr.tid = 0x20173d3a0ull + (uint64_t)i;
		put(&b, &rx_all, 1);
		put(&b, tmpl, len);
		srxe_cm_mad_encode(&m[i], b.b + 1 + mad_off);
		save(dir, names[i], &b);
	}
}

static void cm_seeds(const struct frames *fr, const char *dir)
{
	static const uint8_t rx_all = RX_ALL, multi = RX_ALL | FUZZ_RX_MULTI;
	struct buf run = { .n = 0 };
	int first = -1;
	size_t mad_off = 0, off;
	char name[64];

	put(&run, &multi, 1);
	for (int i = 0; i < fr->n; i++) {
		struct buf b = { .n = 0 };

		if (!is_cm_frame(fr->data[i], fr->len[i], &off))
			continue;
		if (first < 0) {
			first = i;
			mad_off = off;
		}
		put(&b, &rx_all, 1);
		put(&b, fr->data[i], fr->len[i]);
		snprintf(name, sizeof(name), "cm-%03d", i + 1);
		save(dir, name, &b);
		put_record(&run, fr->data[i], fr->len[i]);
	}
	if (first < 0)
		return;
	save(dir, "cm-run", &run);
	cm_synth(dir, fr->data[first], fr->len[first], mad_off);
}

/* ---- ctl ---- */

static void msg(struct buf *b, uint16_t opcode, const void *body, size_t len)
{
	char m[SRXE_MSG_MAX];
	int n = srxe_msg_request(m, sizeof(m), opcode, b->n + 1, body, len);

	if (n <= 0) {
		fprintf(stderr, "fuzz_seeds: cannot encode opcode %u\n",
			opcode);
		exit(1);
	}
	put_record(b, m, (size_t)n);
}

static void begin(struct buf *b, uint8_t mode)
{
	b->n = 0;
	put(b, &mode, 1);
}

static void av(struct srxe_ah_wire *a)
{
	memset(a, 0, sizeof(*a));
	a->dgid[10] = 0xff;
	a->dgid[11] = 0xff;
	a->dgid[12] = 127;
	a->dgid[15] = 1;
	a->sgid_index = 1;
	a->hop_limit = 64;
	a->is_global = 1;
	a->port_num = 1;
}

/* PD, CQ, SRQ and a QP of @type walked to RTS; returns nothing, the
 * handles are those of a fresh session (FUZZ_CTL_HANDLE). */
static void objects(struct buf *b, uint32_t type, int use_srq)
{
	struct srxe_create_cq_req cq = { .cqe = 16 };
	struct srxe_create_srq_req srq = { .pd_handle = FUZZ_CTL_HANDLE(0),
					   .max_wr = 16,
					   .max_sge = 2 };
	struct srxe_create_qp_req qp = {
		.pd_handle = FUZZ_CTL_HANDLE(0),
		.qp_type = type,
		.send_cq_handle = FUZZ_CTL_HANDLE(0),
		.recv_cq_handle = FUZZ_CTL_HANDLE(0),
		.srq_handle = use_srq ? FUZZ_CTL_HANDLE(0) : 0,
		.cap = { 16, 16, 2, 2, 64, 0 },
	};

	msg(b, SRXE_OP_MAP_RINGS, NULL, 0);
	msg(b, SRXE_OP_GET_DOORBELL, NULL, 0);
	msg(b, SRXE_OP_ALLOC_PD, NULL, 0);
	msg(b, SRXE_OP_CREATE_CQ, &cq, sizeof(cq));
	if (use_srq)
		msg(b, SRXE_OP_CREATE_SRQ, &srq, sizeof(srq));
	msg(b, SRXE_OP_CREATE_QP, &qp, sizeof(qp));
}

static void to_rts(struct buf *b, uint32_t type)
{
	struct srxe_modify_qp_req m = { .qp_handle = FUZZ_CTL_HANDLE(0) };

	m.attr.qp_state = IBV_QPS_INIT;
	m.attr.port_num = 1;
	m.attr.qkey = 0x11111111;
	m.attr.qp_access_flags =
		IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	m.attr_mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		      (type == IBV_QPT_UD ? IBV_QP_QKEY : IBV_QP_ACCESS_FLAGS);
	msg(b, SRXE_OP_MODIFY_QP, &m, sizeof(m));
	m.attr.qp_state = IBV_QPS_RTR;
	m.attr_mask = IBV_QP_STATE;
	if (type != IBV_QPT_UD) {
		av(&m.attr.ah);
		m.attr.path_mtu = IBV_MTU_1024;
		m.attr.dest_qp_num = 0x11;
		m.attr.rq_psn = 7;
		m.attr.max_dest_rd_atomic = 4;
		m.attr.min_rnr_timer = 12;
		m.attr_mask |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			       IBV_QP_RQ_PSN;
		if (type == IBV_QPT_RC)
			m.attr_mask |= IBV_QP_MAX_DEST_RD_ATOMIC |
				       IBV_QP_MIN_RNR_TIMER;
	}
	msg(b, SRXE_OP_MODIFY_QP, &m, sizeof(m));
	m.attr.qp_state = IBV_QPS_RTS;
	m.attr.sq_psn = 9;
	m.attr.timeout = 14;
	m.attr.retry_cnt = 7;
	m.attr.rnr_retry = 7;
	m.attr.max_rd_atomic = 4;
	m.attr_mask = IBV_QP_STATE | IBV_QP_SQ_PSN;
	if (type == IBV_QPT_RC)
		m.attr_mask |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			       IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC;
	msg(b, SRXE_OP_MODIFY_QP, &m, sizeof(m));
}

static void teardown(struct buf *b, int use_srq)
{
	struct srxe_destroy_req h = { .handle = FUZZ_CTL_HANDLE(0) };
	struct srxe_dealloc_pd_req pd = { .pd_handle = FUZZ_CTL_HANDLE(0) };

	msg(b, SRXE_OP_DESTROY_QP, &h, sizeof(h));
	if (use_srq)
		msg(b, SRXE_OP_DESTROY_SRQ, &h, sizeof(h));
	msg(b, SRXE_OP_DESTROY_CQ, &h, sizeof(h));
	msg(b, SRXE_OP_DEALLOC_PD, &pd, sizeof(pd));
	msg(b, SRXE_OP_CLOSE_CTX, NULL, 0);
}

static void ctl_single(const char *dir)
{
	static union {
		uint8_t b[SRXE_MSG_MAX];
		uint64_t align;
	} body;
	char name[64];
	struct buf b;

	/* Each opcode once, zero body except what makes it valid. */
	for (uint16_t op = 1; op < SRXE_OP_TABLE_SIZE; op++) {
		const struct srxe_op_info *info = srxe_op_info(op);

		if (!info)
			continue;
		memset(&body, 0, sizeof(body));
		if (op == SRXE_OP_OPEN_CTX) {
			struct srxe_open_ctx_req *r = (void *)body.b;

			snprintf(r->device, sizeof(r->device), "%s",
				 FUZZ_CTL_DEVICE);
			r->client_version = SRXE_PROTO_VERSION;
		}
		if (op == SRXE_OP_QUERY_PORT)
			((struct srxe_query_port_req *)body.b)->port_num = 1;
		begin(&b, op == SRXE_OP_OPEN_CTX ? FUZZ_CTL_FD : FUZZ_CTL_OPEN);
		msg(&b, op, body.b, info->req_body);
		snprintf(name, sizeof(name), "op-%02u-%s", op, info->name);
		save(dir, name, &b);
	}
}

static void ctl_mr(const char *dir)
{
	struct srxe_reg_mr_req r = {
		.pd_handle = FUZZ_CTL_HANDLE(0),
		.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			  IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC,
		.va = 0x7f0000001234ull,
		.length = 3 * 4096,
		.iova = 0x7f0000001234ull,
	};
	struct srxe_dereg_mr_req d = { .mr_handle = FUZZ_CTL_HANDLE(0) };
	struct srxe_dereg_runs_req runs = { .mr_handle = FUZZ_CTL_HANDLE(0) };
	struct buf b;

	begin(&b, FUZZ_CTL_OPEN);
	msg(&b, SRXE_OP_ALLOC_PD, NULL, 0);
	msg(&b, SRXE_OP_REG_MR, &r, sizeof(r));
	r.va += 4096; /* overlaps the first */
	msg(&b, SRXE_OP_REG_MR, &r, sizeof(r));
	msg(&b, SRXE_OP_STATUS, NULL, 0);
	msg(&b, SRXE_OP_DEREG_MR, &d, sizeof(d));
	msg(&b, SRXE_OP_DEREG_RUNS, &runs, sizeof(runs));
	msg(&b, SRXE_OP_DEREG_DONE, &d, sizeof(d));
	save(dir, "conv-mr", &b);
}

static void ctl_conversations(const char *dir)
{
	static const struct {
		const char *name;
		uint32_t type;
		int srq;
	} conv[] = {
		{ "conv-rc", IBV_QPT_RC, 0 },
		{ "conv-uc", IBV_QPT_UC, 0 },
		{ "conv-ud", IBV_QPT_UD, 0 },
		{ "conv-rc-srq", IBV_QPT_RC, 1 },
	};
	struct srxe_create_ah_req ah = { .pd_handle = FUZZ_CTL_HANDLE(0) };
	struct srxe_query_qp_req q = { .qp_handle = FUZZ_CTL_HANDLE(0),
				       .attr_mask = ~0u };
	struct srxe_resize_cq_req rz = { .cq_handle = FUZZ_CTL_HANDLE(0),
					 .cqe = 40 };
	struct srxe_modify_srq_req ms = { .srq_handle = FUZZ_CTL_HANDLE(0),
					  .attr_mask = IBV_SRQ_LIMIT,
					  .srq_limit = 4 };
	struct srxe_destroy_req h = { .handle = FUZZ_CTL_HANDLE(0) };
	struct buf b;

	for (size_t i = 0; i < sizeof(conv) / sizeof(conv[0]); i++) {
		begin(&b, FUZZ_CTL_OPEN);
		objects(&b, conv[i].type, conv[i].srq);
		to_rts(&b, conv[i].type);
		msg(&b, SRXE_OP_QUERY_QP, &q, sizeof(q));
		msg(&b, SRXE_OP_RESIZE_CQ, &rz, sizeof(rz));
		if (conv[i].srq) {
			msg(&b, SRXE_OP_MODIFY_SRQ, &ms, sizeof(ms));
			msg(&b, SRXE_OP_QUERY_SRQ, &h, sizeof(h));
		}
		if (conv[i].type == IBV_QPT_UD) {
			av(&ah.ah);
			msg(&b, SRXE_OP_CREATE_AH, &ah, sizeof(ah));
			msg(&b, SRXE_OP_DESTROY_AH, &h, sizeof(h));
		}
		teardown(&b, conv[i].srq);
		save(dir, conv[i].name, &b);
	}
	/* SRQ resizes: up, with a limit, down to one slot. */
	begin(&b, FUZZ_CTL_OPEN);
	objects(&b, IBV_QPT_RC, 1);
	to_rts(&b, IBV_QPT_RC);
	ms.attr_mask = IBV_SRQ_MAX_WR;
	ms.max_wr = 64;
	msg(&b, SRXE_OP_MODIFY_SRQ, &ms, sizeof(ms));
	ms.attr_mask = IBV_SRQ_MAX_WR | IBV_SRQ_LIMIT;
	ms.max_wr = 8;
	msg(&b, SRXE_OP_MODIFY_SRQ, &ms, sizeof(ms));
	ms.attr_mask = IBV_SRQ_MAX_WR;
	ms.max_wr = 1;
	msg(&b, SRXE_OP_MODIFY_SRQ, &ms, sizeof(ms));
	msg(&b, SRXE_OP_QUERY_SRQ, &h, sizeof(h));
	teardown(&b, 1);
	save(dir, "conv-srq-resize", &b);
	/* A client that leaves without cleaning up. */
	begin(&b, FUZZ_CTL_OPEN);
	objects(&b, IBV_QPT_RC, 1);
	to_rts(&b, IBV_QPT_RC);
	save(dir, "conv-abandon", &b);
}

int main(int argc, char **argv)
{
	static struct frames fr;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PCAP RX_DIR CTL_DIR\n", argv[0]);
		return 2;
	}
	read_pcap(argv[1], &fr);
	rx_seeds(&fr, argv[2]);
	awf_seeds(argv[2]);
	rx_seeds_v6(&fr, argv[2]);
	cm_seeds(&fr, argv[2]);
	ctl_single(argv[3]);
	ctl_mr(argv[3]);
	ctl_conversations(argv[3]);
	printf("fuzz_seeds: %d frames -> %s, control messages -> %s\n", fr.n,
	       argv[2], argv[3]);
	return 0;
}
