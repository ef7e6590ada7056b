// SPDX-License-Identifier: MIT
/*
 * CM MAD codec (kernel-shim/cm/cm_mad.c) against Wireshark's decoder and
 * against IBA's layouts:
 *  - every CM MAD of the kernel rdma_cm connection in the golden capture
 *    (frames 273-282) and the REJs of tests/data/cm-synthetic.pcap,
 *    field by field as tshark 4.0 printed them (the *.tshark.tsv files of
 *    tests/tools/gen-golden-cm-tshark.sh);
 *  - MRA, SIDR_REQ and SIDR_REP (tshark 4.0 has no dissector for them)
 *    from bytes laid out by hand at IBA's offsets;
 *  - encode(decode(mad)) == mad, the cma_hdr, and the rejections.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/golden_frames.h"
#include "cm/cm_mad.h"

#define GOLDEN_CM_TSV  SRXE_TEST_DATA "/rxe-6.1-golden-cm.tshark.tsv"
#define SYNTH_PCAP     SRXE_TEST_DATA "/cm-synthetic.pcap"
#define SYNTH_TSV      SRXE_TEST_DATA "/cm-synthetic.tshark.tsv"
#define SYNTH_FRAMES   3
#define TSV_MAX_COLS   160
#define TSV_LINE_MAX   16384
#define GOLDEN_CM_1ST  273
#define GOLDEN_CM_LAST 282
/* UD SEND Only to QP 1: UDP 8 + BTH 12 + DETH 8 before the MAD. */
#define MAD_IN_UDP 28

struct tsv_row {
	char *cell[TSV_MAX_COLS];
	int ncols;
};

static void tsv_split(char *line, struct tsv_row *row)
{
	line[strcspn(line, "\r\n")] = '\0';
	row->ncols = 0;
	for (char *p = line;; p++) {
		char *tab = strchr(p, '\t');

		cr_assert_lt(row->ncols, TSV_MAX_COLS);
		row->cell[row->ncols++] = p;
		if (!tab)
			break;
		*tab = '\0';
		p = tab;
	}
}

/* A tshark row and our decode of the same MAD. */
struct check {
	const struct tsv_row *hdr, *row;
	const uint8_t *mad;
	const struct srxe_cm_msg *msg;
	unsigned long frame;
};

static const char *cell(const struct check *c, const char *field)
{
	for (int i = 0; i < c->hdr->ncols; i++)
		if (!strcmp(c->hdr->cell[i], field)) {
			cr_assert_lt(i, c->row->ncols, "frame %lu short row",
				     c->frame);
			return c->row->cell[i];
		}
	cr_assert_fail("column %s missing", field);
	return NULL;
}

/* tshark printed @field as a number equal to @ours. */
static void expect(const struct check *c, const char *field, uint64_t ours)
{
	const char *s = cell(c, field);

	cr_assert(*s, "frame %lu %s: tshark printed nothing", c->frame, field);
	cr_assert_eq(strtoull(s, NULL, 0), ours,
		     "frame %lu %s: tshark %s, ours 0x%llx", c->frame, field, s,
		     (unsigned long long)ours);
}

static void expect_absent(const struct check *c, const char *field)
{
	cr_assert_str_empty(cell(c, field), "frame %lu %s", c->frame, field);
}

/* FT_BYTES: hex digits, with or without ':' separators. */
static void expect_bytes(const struct check *c, const char *field,
			 const uint8_t *ours, size_t len)
{
	const char *s = cell(c, field);
	size_t n = 0;

	for (; *s; s++) {
		unsigned int byte;

		if (*s == ':')
			continue;
		cr_assert_lt(n, len, "frame %lu %s: tshark longer", c->frame,
			     field);
		cr_assert_eq(sscanf(s, "%2x", &byte), 1);
		cr_assert_eq(byte, ours[n], "frame %lu %s byte %zu", c->frame,
			     field, n);
		n++;
		s++;
	}
	cr_assert_eq(n, len, "frame %lu %s: %zu bytes", c->frame, field, n);
}

static void expect_ipv4(const struct check *c, const char *field,
			const uint8_t a[4])
{
	char ours[16];

	snprintf(ours, sizeof(ours), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	cr_assert_str_eq(cell(c, field), ours, "frame %lu %s", c->frame, field);
}

/* tshark shows an IPv4-mapped GID as a.b.c.d (field *_ipv4), others as
 * 16 bytes of hex. */
static void expect_gid(const struct check *c, const char *field,
		       const char *field4, const uint8_t gid[16])
{
	static const uint8_t v4map[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(gid, v4map, sizeof(v4map))) {
		expect_ipv4(c, field4, gid + 12);
		expect_absent(c, field);
	} else {
		expect_bytes(c, field, gid, 16);
		expect_absent(c, field4);
	}
}

static void check_hdr(const struct check *c)
{
	const struct srxe_mad_hdr *h = &c->msg->hdr;
	char info[64];
	const char *ts = cell(c, "_ws.col.Info");

	expect(c, "infiniband.mad.baseversion", h->base_version);
	expect(c, "infiniband.mad.mgmtclass", h->mgmt_class);
	expect(c, "infiniband.mad.classversion", h->class_version);
	expect(c, "infiniband.mad.method", h->method);
	expect(c, "infiniband.mad.status", h->status);
	expect(c, "infiniband.mad.classspecific", 0);
	expect(c, "infiniband.mad.transactionid", h->tid);
	expect(c, "infiniband.mad.attributeid", h->attr_id);
	expect(c, "infiniband.mad.attributemodifier", h->attr_mod);
	snprintf(info, sizeof(info), "CM: %s", srxe_cm_attr_name(h->attr_id));
	cr_assert(!strncmp(ts, info, strlen(info)) &&
			  strspn(ts + strlen(info), " ") ==
				  strlen(ts + strlen(info)),
		  "frame %lu Info '%s', ours '%s'", c->frame, ts, info);
}

/*
 * Wireshark 4.0 misreads the word at REQ offset 88 (flow label 20 bits,
 * reserved 6, packet rate 6): it takes the flow label from the 3 bytes
 * 88..90 with the 32-bit mask 0xfffff000, and the reserved bits and the
 * packet rate from the single byte 88 with masks 0xfc0 and 0x3f.  So
 * tshark's numbers are functions of the top 12 bits of the real flow
 * label; we check those functions, and the real values against the raw
 * word as IBA (and the kernel's ibta_vol1_c12.h) lay it out.
 */
static void check_req_flow_word(const struct check *c,
				const struct srxe_cm_path_fields *p)
{
	const uint8_t *w = c->mad + SRXE_MAD_HDR_LEN + 88;
	uint32_t word = (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 |
			(uint32_t)w[2] << 8 | w[3];

	cr_assert_eq(p->flow_label, word >> 12);
	cr_assert_eq(p->packet_rate, word & 0x3f);
	expect(c, "infiniband.cm.req.prim_flowlabel", p->flow_label >> 8);
	expect(c, "infiniband.cm.req.prim_reserved0", p->flow_label >> 18);
	expect(c, "infiniband.cm.req.prim_pktrate",
	       (p->flow_label >> 12) & 0x3f);
}

static void check_req_path(const struct check *c, const struct srxe_cm_req *r)
{
	const struct srxe_cm_path_fields *p = &r->primary;
	static const uint8_t zero[16];

	expect(c, "infiniband.cm.req.prim_locallid", p->local_lid);
	expect(c, "infiniband.cm.req.prim_remotelid", p->remote_lid);
	expect_gid(c, "infiniband.cm.req.prim_localgid",
		   "infiniband.cm.req.prim_localgid_ipv4", p->local_gid);
	expect_gid(c, "infiniband.cm.req.prim_remotegid",
		   "infiniband.cm.req.prim_remotegid_ipv4", p->remote_gid);
	check_req_flow_word(c, p);
	expect(c, "infiniband.cm.req.prim_tfcclass", p->traffic_class);
	expect(c, "infiniband.cm.req.prim_hoplim", p->hop_limit);
	expect(c, "infiniband.cm.req.prim_sl", p->sl);
	expect(c, "infiniband.cm.req.prim_subnetlocal", p->subnet_local);
	expect(c, "infiniband.cm.req.prim_localacktout", p->local_ack_timeout);
	/* No alternate path from rdma_cm: all zero, which is what we
	 * encode. */
	expect(c, "infiniband.cm.req.alt_locallid", 0);
	expect(c, "infiniband.cm.req.alt_remotelid", 0);
	expect_bytes(c, "infiniband.cm.req.alt_localgid", zero, 16);
	expect_bytes(c, "infiniband.cm.req.alt_remotegid", zero, 16);
	expect(c, "infiniband.cm.req.alt_flowlabel", 0);
	expect(c, "infiniband.cm.req.alt_pktrate", 0);
	expect(c, "infiniband.cm.req.alt_tfcclass", 0);
	expect(c, "infiniband.cm.req.alt_hoplim", 0);
	expect(c, "infiniband.cm.req.alt_sl", 0);
	expect(c, "infiniband.cm.req.alt_localacktout", 0);
}

/* tshark decodes REQ private data as rdma_cm's IP CM header when the
 * service id is in the IP range, as it is for every rdma_cm REQ. */
static void check_req_ip_cm(const struct check *c, const struct srxe_cm_req *r)
{
	struct srxe_cma_hdr h;

	cr_assert_eq(srxe_cma_hdr_decode(r->private_data,
					 sizeof(r->private_data), &h),
		     0, "frame %lu", c->frame);
	expect(c, "infiniband.cm.req.ip_cm.majv", r->private_data[0] >> 4);
	expect(c, "infiniband.cm.req.ip_cm.minv", r->private_data[0] & 15);
	expect(c, "infiniband.cm.req.ip_cm.ipv", h.ip_version);
	expect(c, "infiniband.cm.req.ip_cm.sport", h.src_port);
	cr_assert_eq(h.ip_version, 4, "frame %lu: the capture is IPv4",
		     c->frame);
	expect_ipv4(c, "infiniband.cm.req.ip_cm.sip4", h.src_addr + 12);
	expect_ipv4(c, "infiniband.cm.req.ip_cm.dip4", h.dst_addr + 12);
	expect_bytes(c, "infiniband.cm.req.ip_cm.private", r->private_data + 36,
		     sizeof(r->private_data) - 36);
}

static void check_req(const struct check *c)
{
	const struct srxe_cm_req *r = &c->msg->req;

	expect(c, "infiniband.cm.req", r->local_comm_id);
	expect(c, "infiniband.cm.req.serviceid", r->service_id);
	expect(c, "infiniband.cm.req.localcaguid", r->local_ca_guid);
	expect(c, "infiniband.cm.req.localqkey", r->local_qkey);
	expect(c, "infiniband.cm.req.localqpn", r->local_qpn);
	expect(c, "infiniband.cm.req.responderres", r->responder_resources);
	expect(c, "infiniband.cm.req.localeecn", r->local_eecn);
	expect(c, "infiniband.cm.req.initdepth", r->initiator_depth);
	expect(c, "infiniband.cm.req.remoteeecn", r->remote_eecn);
	expect(c, "infiniband.cm.req.remoteresptout",
	       r->remote_cm_response_timeout);
	expect(c, "infiniband.cm.req.transpsvctype", r->transport_service_type);
	expect(c, "infiniband.cm.req.e2eflowctrl", r->end_to_end_flow_control);
	expect(c, "infiniband.cm.req.startpsn", r->starting_psn);
	expect(c, "infiniband.cm.req.localresptout",
	       r->local_cm_response_timeout);
	expect(c, "infiniband.cm.req.retrcount", r->retry_count);
	expect(c, "infiniband.cm.req.pkey", r->partition_key);
	expect(c, "infiniband.cm.req.pppmtu", r->path_mtu);
	expect(c, "infiniband.cm.req.rdcexist", r->rdc_exists);
	expect(c, "infiniband.cm.req.rnrretrcount", r->rnr_retry_count);
	expect(c, "infiniband.cm.req.maxcmretr", r->max_cm_retries);
	expect(c, "infiniband.cm.req.srq", r->srq);
	expect(c, "infiniband.cm.req.ext_transport",
	       r->extended_transport_type);
	check_req_path(c, r);
	check_req_ip_cm(c, r);
}

static void check_rep(const struct check *c)
{
	const struct srxe_cm_rep *r = &c->msg->rep;

	expect(c, "infiniband.cm.rep", r->local_comm_id);
	expect(c, "infiniband.cm.rep.remotecommid", r->remote_comm_id);
	expect(c, "infiniband.cm.rep.localqkey", r->local_qkey);
	expect(c, "infiniband.cm.rep.localqpn", r->local_qpn);
	expect(c, "infiniband.cm.rep.localeecn", r->local_eecn);
	expect(c, "infiniband.cm.rep.startpsn", r->starting_psn);
	expect(c, "infiniband.cm.rep.respres", r->responder_resources);
	expect(c, "infiniband.cm.rep.initdepth", r->initiator_depth);
	expect(c, "infiniband.cm.rep.tgtackdelay", r->target_ack_delay);
	expect(c, "infiniband.cm.rep.failoveracc", r->failover_accepted);
	expect(c, "infiniband.cm.rep.e2eflowctrl", r->end_to_end_flow_control);
	expect(c, "infiniband.cm.rep.rnrretrcount", r->rnr_retry_count);
	expect(c, "infiniband.cm.rep.srq", r->srq);
	expect(c, "infiniband.cm.rep.localcaguid", r->local_ca_guid);
	expect_bytes(c, "infiniband.cm.rep.private", r->private_data,
		     sizeof(r->private_data));
}

static void check_rtu(const struct check *c)
{
	const struct srxe_cm_rtu *r = &c->msg->rtu;

	expect(c, "infiniband.cm.rtu.localcommid", r->local_comm_id);
	expect(c, "infiniband.cm.rtu.remotecommid", r->remote_comm_id);
	expect_bytes(c, "infiniband.cm.rtu.private", r->private_data,
		     sizeof(r->private_data));
}

static void check_dreq(const struct check *c)
{
	const struct srxe_cm_dreq *r = &c->msg->dreq;

	expect(c, "infiniband.cm.dreq.localcommid", r->local_comm_id);
	expect(c, "infiniband.cm.dreq.remotecommid", r->remote_comm_id);
	/* Wireshark files DREQ's remote QPN under the REQ's name. */
	expect(c, "infiniband.cm.req.remoteqpneecn", r->remote_qpn);
	expect_bytes(c, "infiniband.cm.dreq.private", r->private_data,
		     sizeof(r->private_data));
}

static void check_drep(const struct check *c)
{
	const struct srxe_cm_drep *r = &c->msg->drep;

	expect(c, "infiniband.cm.drsp.localcommid", r->local_comm_id);
	expect(c, "infiniband.cm.drsp.remotecommid", r->remote_comm_id);
	expect_bytes(c, "infiniband.cm.drsp.private", r->private_data,
		     sizeof(r->private_data));
}

static void check_rej(const struct check *c)
{
	const struct srxe_cm_rej *r = &c->msg->rej;

	expect(c, "infiniband.cm.rej.localcommid", r->local_comm_id);
	expect(c, "infiniband.cm.rej.remotecommid", r->remote_comm_id);
	expect(c, "infiniband.cm.rej.msgrej", r->message_rejected);
	expect(c, "infiniband.cm.rej.rejinfolen", r->ari_length);
	expect(c, "infiniband.cm.rej.reason", r->reason);
	expect_bytes(c, "infiniband.cm.rej.ari", r->ari, sizeof(r->ari));
	expect_bytes(c, "infiniband.cm.rej.private", r->private_data,
		     sizeof(r->private_data));
}

/* Decodes @mad, compares with the tshark row, checks the round trip. */
static void check_mad(struct check *c, const uint8_t *mad, size_t len)
{
	struct srxe_cm_msg msg;
	uint8_t again[SRXE_MAD_LEN];
	const char *why = "unset";
	int ret;

	ret = srxe_cm_mad_decode(mad, len, &msg, &why);
	cr_assert_eq(ret, 0, "frame %lu: %d %s", c->frame, ret, why);
	cr_assert_null(why);
	c->mad = mad;
	c->msg = &msg;
	check_hdr(c);
	switch (msg.hdr.attr_id) {
	case SRXE_CM_ATTR_REQ:
		check_req(c);
		break;
	case SRXE_CM_ATTR_REP:
		check_rep(c);
		break;
	case SRXE_CM_ATTR_RTU:
		check_rtu(c);
		break;
	case SRXE_CM_ATTR_DREQ:
		check_dreq(c);
		break;
	case SRXE_CM_ATTR_DREP:
		check_drep(c);
		break;
	case SRXE_CM_ATTR_REJ:
		check_rej(c);
		break;
	default:
		cr_assert_fail("frame %lu: attribute 0x%x", c->frame,
			       msg.hdr.attr_id);
	}
	srxe_cm_mad_encode(&msg, again);
	cr_assert_arr_eq(again, mad, SRXE_MAD_LEN, "frame %lu: round trip",
			 c->frame);
}

/* The MAD of a CM frame (UD SEND Only to QP 1 with a 256-byte MAD). */
static const uint8_t *mad_of(const struct srxe_frame_view *v, size_t *len)
{
	cr_assert_eq(v->udp_len, MAD_IN_UDP + SRXE_MAD_LEN + 4);
	cr_assert_eq(v->udp[8], 0x64, "not UD SEND Only");
	cr_assert_eq(v->udp[8 + 7], SRXE_GSI_QPN, "not to QP 1");
	*len = v->udp_len - MAD_IN_UDP - 4;
	return v->udp + MAD_IN_UDP;
}

/* Walks a tsv file; @mad_for returns the MAD of a frame number. */
static unsigned long check_tsv(const char *path,
			       const uint8_t *(*mad_for)(unsigned long frame,
							 size_t *len))
{
	static char hdr_line[TSV_LINE_MAX], line[TSV_LINE_MAX];
	struct tsv_row hdr = { 0 }, row;
	FILE *f = fopen(path, "r");
	unsigned long rows = 0;

	cr_assert_not_null(f, "cannot open %s", path);
	while (fgets(hdr_line, sizeof(hdr_line), f) && hdr_line[0] == '#')
		;
	tsv_split(hdr_line, &hdr);
	cr_assert_str_eq(hdr.cell[0], "frame.number");
	while (fgets(line, sizeof(line), f)) {
		struct check c = { .hdr = &hdr, .row = &row };
		const uint8_t *mad;
		size_t len;

		cr_assert_lt(strlen(line), sizeof(line) - 1, "line too long");
		tsv_split(line, &row);
		c.frame = strtoul(row.cell[0], NULL, 10);
		mad = mad_for(c.frame, &len);
		check_mad(&c, mad, len);
		rows++;
	}
	fclose(f);
	return rows;
}

static const uint8_t *golden_mad(unsigned long frame, size_t *len)
{
	cr_assert(frame >= GOLDEN_CM_1ST && frame <= GOLDEN_CM_LAST,
		  "frame %lu is no CM frame of the golden capture", frame);
	return mad_of(&golden[frame - 1].view, len);
}

Test(cm_mad, golden_connection_matches_tshark, .init = golden_load,
     .fini = golden_free)
{
	cr_assert_eq(check_tsv(GOLDEN_CM_TSV, golden_mad),
		     GOLDEN_CM_LAST - GOLDEN_CM_1ST + 1);
}

/* The frames of cm-synthetic.pcap, loaded like golden_load(). */
static struct golden_frame synth[SYNTH_FRAMES];

static void synth_load(void)
{
	struct srxe_pcap_reader r;
	struct srxe_pcap_record rec;
	FILE *f = fopen(SYNTH_PCAP, "rb");
	size_t n = 0;

	cr_assert_not_null(f, "cannot open %s", SYNTH_PCAP);
	cr_assert_eq(srxe_pcap_reader_open(&r, f), 0);
	while (srxe_pcap_next(&r, &rec) == 1) {
		cr_assert_lt(n, SYNTH_FRAMES);
		synth[n].data = malloc(rec.len);
		cr_assert_not_null(synth[n].data);
		memcpy(synth[n].data, rec.data, rec.len);
		synth[n].len = rec.len;
		cr_assert_eq(srxe_frame_locate_eth(synth[n].data, rec.len,
						   &synth[n].view),
			     0);
		n++;
	}
	cr_assert_eq(n, SYNTH_FRAMES);
	srxe_pcap_reader_close(&r);
	fclose(f);
}

static void synth_free(void)
{
	for (size_t i = 0; i < SYNTH_FRAMES; i++)
		free(synth[i].data);
}

static const uint8_t *synth_mad(unsigned long frame, size_t *len)
{
	cr_assert(frame >= 1 && frame <= SYNTH_FRAMES);
	return mad_of(&synth[frame - 1].view, len);
}

Test(cm_mad, synthetic_rej_matches_tshark, .init = synth_load,
     .fini = synth_free)
{
	cr_assert_eq(check_tsv(SYNTH_TSV, synth_mad), SYNTH_FRAMES);
}

/* The first REQ of the capture, and what its cma_hdr says. */
Test(cm_mad, golden_req_cma_hdr, .init = golden_load, .fini = golden_free)
{
	static const uint8_t src[16] = { [12] = 10, [15] = 2 };
	static const uint8_t dst[16] = { [12] = 10, [15] = 1 };
	struct srxe_cm_msg msg;
	struct srxe_cma_hdr h;
	uint8_t again[36];
	size_t len;
	const uint8_t *mad = golden_mad(273, &len);

	cr_assert_eq(srxe_cm_mad_decode(mad, len, &msg, NULL), 0);
	cr_assert_eq(srxe_cma_hdr_decode(msg.req.private_data, 36, &h), 0);
	cr_assert_eq(h.ip_version, 4);
	cr_assert_eq(h.src_port, 0xb7b0);
	cr_assert_eq(h.dst_port, 0, "not on the wire");
	cr_assert_arr_eq(h.src_addr, src, 16);
	cr_assert_arr_eq(h.dst_addr, dst, 16);
	/* perftest's rdma_cm port 18515 (0x4853), port space TCP. */
	cr_assert_eq(msg.req.service_id, srxe_cm_service_id(0x0106, 18515));
	srxe_cma_hdr_encode(&h, again);
	cr_assert_arr_eq(again, msg.req.private_data, 36);
}

Test(cm_mad, cma_hdr_rejects)
{
	uint8_t p[36] = { 0, 0x60, 0x12, 0x34 };
	struct srxe_cma_hdr h;

	cr_assert_eq(srxe_cma_hdr_decode(p, 36, &h), 0);
	cr_assert_eq(h.ip_version, 6);
	cr_assert_eq(h.src_port, 0x1234);
	cr_assert_eq(srxe_cma_hdr_decode(p, 35, &h), -EPROTO);
	p[1] = 0x50;
	cr_assert_eq(srxe_cma_hdr_decode(p, 36, &h), -EPROTO);
	p[1] = 0x40;
	p[0] = 0x10;
	cr_assert_eq(srxe_cma_hdr_decode(p, 36, &h), -EPROTO);
}

/* A 256-byte MAD with the CM header and @attr. */
static void mad_init(uint8_t mad[SRXE_MAD_LEN], uint16_t attr)
{
	memset(mad, 0, SRXE_MAD_LEN);
	mad[0] = 1;
	mad[1] = SRXE_CM_MGMT_CLASS;
	mad[2] = SRXE_CM_CLASS_VER;
	mad[3] = SRXE_MAD_METHOD_SEND;
	mad[15] = 0x42; /* TID */
	mad[16] = (uint8_t)(attr >> 8);
	mad[17] = (uint8_t)attr;
}

static void decode_ok(const uint8_t *mad, struct srxe_cm_msg *msg)
{
	uint8_t again[SRXE_MAD_LEN];
	const char *why = NULL;

	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, msg, &why), 0, "%s",
		     why);
	cr_assert_eq(msg->hdr.tid, 0x42);
	srxe_cm_mad_encode(msg, again);
	cr_assert_arr_eq(again, mad, SRXE_MAD_LEN);
}

/* IBA table 107: comm ids, MessageMRAed in the top 2 bits of byte 8,
 * ServiceTimeout in the top 5 of byte 9, private data from byte 10. */
Test(cm_mad, mra_layout)
{
	uint8_t mad[SRXE_MAD_LEN], *b = mad + SRXE_MAD_HDR_LEN;
	struct srxe_cm_msg msg;

	mad_init(mad, SRXE_CM_ATTR_MRA);
	memcpy(b, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	b[8] = 1 << 6;
	b[9] = 0x17 << 3;
	b[10] = 0xa5;
	b[231] = 0x5a;
	decode_ok(mad, &msg);
	cr_assert_str_eq(srxe_cm_attr_name(msg.hdr.attr_id), "MsgRcptAck");
	cr_assert_eq(msg.mra.local_comm_id, 0x11223344);
	cr_assert_eq(msg.mra.remote_comm_id, 0x55667788);
	cr_assert_eq(msg.mra.message_mraed, 1);
	cr_assert_eq(msg.mra.service_timeout, 0x17);
	cr_assert_eq(msg.mra.private_data[0], 0xa5);
	cr_assert_eq(msg.mra.private_data[SRXE_CM_MRA_PRIV - 1], 0x5a);
}

/* IBA table 119: RequestID, P_Key, 2 reserved bytes, ServiceID at 8,
 * private data from 16. */
Test(cm_mad, sidr_req_layout)
{
	uint8_t mad[SRXE_MAD_LEN], *b = mad + SRXE_MAD_HDR_LEN;
	struct srxe_cm_msg msg;
	struct srxe_cma_hdr h;

	mad_init(mad, SRXE_CM_ATTR_SIDR_REQ);
	memcpy(b, "\xca\xfe\xf0\x0d\xff\xff", 6);
	memcpy(b + 8, "\x00\x00\x00\x00\x01\x11\x4e\x20", 8); /* UDP 20000 */
	b[16 + 1] = 0x40;
	b[16 + 2] = 0x9c;
	b[16 + 3] = 0x41;
	b[231] = 0x77;
	decode_ok(mad, &msg);
	cr_assert_str_eq(srxe_cm_attr_name(msg.hdr.attr_id), "ServiceIDResReq");
	cr_assert_eq(msg.sidr_req.request_id, 0xcafef00d);
	cr_assert_eq(msg.sidr_req.partition_key, 0xffff);
	cr_assert_eq(msg.sidr_req.service_id,
		     srxe_cm_service_id(0x0111, 20000));
	cr_assert_eq(msg.sidr_req.private_data[SRXE_CM_SIDR_REQ_PRIV - 1],
		     0x77);
	cr_assert_eq(srxe_cma_hdr_decode(msg.sidr_req.private_data,
					 SRXE_CM_SIDR_REQ_PRIV, &h),
		     0);
	cr_assert_eq(h.src_port, 0x9c41);
	b[6] = 1; /* reserved */
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL),
		     -EINVAL);
}

/* IBA table 120: RequestID, Status, AddInfoLength, QPN at 8 (24 bits),
 * ServiceID at 12, Q_Key at 20, ClassPortInfo/AddInfo at 24 (72 bytes),
 * private data from 96. */
Test(cm_mad, sidr_rep_layout)
{
	uint8_t mad[SRXE_MAD_LEN], *b = mad + SRXE_MAD_HDR_LEN;
	struct srxe_cm_msg msg;

	mad_init(mad, SRXE_CM_ATTR_SIDR_REP);
	memcpy(b, "\xca\xfe\xf0\x0d\x02\x03", 6);
	memcpy(b + 8, "\xab\xcd\xef\x00", 4);
	memcpy(b + 12, "\x00\x00\x00\x00\x01\x11\x4e\x20", 8);
	memcpy(b + 20, "\x01\x23\x45\x67", 4);
	memcpy(b + 24, "\x01\x02\x03", 3);
	b[96] = 0xee;
	b[231] = 0x99;
	decode_ok(mad, &msg);
	cr_assert_str_eq(srxe_cm_attr_name(msg.hdr.attr_id),
			 "ServiceIDResReqResp");
	cr_assert_eq(msg.sidr_rep.request_id, 0xcafef00d);
	cr_assert_eq(msg.sidr_rep.status, 2);
	cr_assert_eq(msg.sidr_rep.add_info_length, 3);
	cr_assert_eq(msg.sidr_rep.qpn, 0xabcdef);
	cr_assert_eq(msg.sidr_rep.service_id, 0x0000000001114e20ull);
	cr_assert_eq(msg.sidr_rep.qkey, 0x01234567);
	cr_assert_eq(msg.sidr_rep.add_info[2], 3);
	cr_assert_eq(msg.sidr_rep.private_data[0], 0xee);
	cr_assert_eq(msg.sidr_rep.private_data[SRXE_CM_SIDR_REP_PRIV - 1],
		     0x99);
	b[5] = 73;
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL),
		     -EINVAL);
}

/* A valid MAD (the first golden REQ) changed by @mutate must fail with
 * @err and a reason. */
static void expect_reject(size_t len, void (*mutate)(uint8_t *), int err)
{
	uint8_t mad[SRXE_MAD_LEN + 1] = { 0 };
	struct srxe_cm_msg msg;
	const char *why = NULL;
	size_t n;
	const uint8_t *golden_req = golden_mad(273, &n);

	memcpy(mad, golden_req, n);
	if (mutate)
		mutate(mad);
	cr_assert_eq(srxe_cm_mad_decode(mad, len, &msg, &why), err);
	cr_assert_eq(why != NULL, err != 0);
}

static void base_version_2(uint8_t *m)
{
	m[0] = 2;
}

static void class_sa(uint8_t *m)
{
	m[1] = 0x03;
}

static void class_version_1(uint8_t *m)
{
	m[2] = 1;
}

static void method_get(uint8_t *m)
{
	m[3] = 0x01;
}

static void method_get_resp(uint8_t *m)
{
	m[3] = 0x81;
}

static void status_busy(uint8_t *m)
{
	m[5] = 1;
}

static void hdr_reserved(uint8_t *m)
{
	m[19] = 1;
}

static void attr_unknown(uint8_t *m)
{
	m[17] = 0x20;
}

static void attr_lap(uint8_t *m)
{
	m[17] = SRXE_CM_ATTR_LAP;
}

static void attr_class_port_info(uint8_t *m)
{
	m[17] = 0x01;
}

static void req_reserved(uint8_t *m)
{
	m[SRXE_MAD_HDR_LEN + 24] = 0x80;
}

static void req_mtu_0(uint8_t *m)
{
	m[SRXE_MAD_HDR_LEN + 50] &= 0x0f;
}

static void req_mtu_6(uint8_t *m)
{
	m[SRXE_MAD_HDR_LEN + 50] = (uint8_t)(6 << 4 | (m[74] & 0x0f));
}

Test(cm_mad, rejects, .init = golden_load, .fini = golden_free)
{
	expect_reject(SRXE_MAD_LEN, NULL, 0);
	expect_reject(SRXE_MAD_LEN - 1, NULL, -EPROTO);
	expect_reject(SRXE_MAD_LEN + 1, NULL, -EPROTO);
	expect_reject(0, NULL, -EPROTO);
	cr_assert_eq(
		srxe_cm_mad_decode(NULL, 0, &(struct srxe_cm_msg){ 0 }, NULL),
		-EPROTO);
	expect_reject(SRXE_MAD_LEN, base_version_2, -EPROTO);
	expect_reject(SRXE_MAD_LEN, class_sa, -EPROTO);
	expect_reject(SRXE_MAD_LEN, class_version_1, -EPROTO);
	expect_reject(SRXE_MAD_LEN, method_get, -EOPNOTSUPP);
	expect_reject(SRXE_MAD_LEN, method_get_resp, -EOPNOTSUPP);
	expect_reject(SRXE_MAD_LEN, status_busy, -EINVAL);
	expect_reject(SRXE_MAD_LEN, hdr_reserved, -EINVAL);
	expect_reject(SRXE_MAD_LEN, attr_unknown, -EOPNOTSUPP);
	expect_reject(SRXE_MAD_LEN, attr_lap, -EOPNOTSUPP);
	expect_reject(SRXE_MAD_LEN, attr_class_port_info, -EOPNOTSUPP);
	expect_reject(SRXE_MAD_LEN, req_reserved, -EINVAL);
	expect_reject(SRXE_MAD_LEN, req_mtu_0, -EINVAL);
	expect_reject(SRXE_MAD_LEN, req_mtu_6, -EINVAL);
}

Test(cm_mad, rejects_bad_enums)
{
	uint8_t mad[SRXE_MAD_LEN], *b = mad + SRXE_MAD_HDR_LEN;
	struct srxe_cm_msg msg;

	mad_init(mad, SRXE_CM_ATTR_MRA);
	b[8] = 3 << 6;
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL),
		     -EINVAL);
	mad_init(mad, SRXE_CM_ATTR_REJ);
	b[8] = 3 << 6;
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL),
		     -EINVAL);
	b[8] = 0;
	b[9] = 73 << 1;
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL),
		     -EINVAL);
	b[9] = 72 << 1;
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL), 0);
	b[9] |= 1; /* reserved */
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL),
		     -EINVAL);
}

/* Values wider than their field are cut to the field, never spill into
 * the neighbours. */
Test(cm_mad, encode_masks_to_width)
{
	struct srxe_cm_msg msg = { .hdr.attr_id = SRXE_CM_ATTR_REP };
	uint8_t mad[SRXE_MAD_LEN], *b = mad + SRXE_MAD_HDR_LEN;
	struct srxe_cm_msg back;

	msg.rep.local_qpn = 0xffabcdef;
	msg.rep.starting_psn = 0x12345678;
	msg.rep.target_ack_delay = 0xff;
	msg.rep.rnr_retry_count = 0xff;
	srxe_cm_mad_encode(&msg, mad);
	cr_assert_eq(b[15], 0, "reserved byte after the QPN");
	cr_assert_eq(b[23], 0, "reserved byte after the PSN");
	cr_assert_eq(b[26], 0xf8);
	cr_assert_eq(b[27], 0xe0);
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &back, NULL), 0);
	cr_assert_eq(back.rep.local_qpn, 0xabcdef);
	cr_assert_eq(back.rep.starting_psn, 0x345678);
	cr_assert_eq(back.rep.target_ack_delay, 0x1f);
	cr_assert_eq(back.rep.srq, 0);
}

Test(cm_mad, attr_names)
{
	static const struct {
		uint16_t id;
		const char *name;
	} names[] = {
		{ 0x0001, "ClassPortInfo" },
		{ SRXE_CM_ATTR_REQ, "ConnectRequest" },
		{ SRXE_CM_ATTR_MRA, "MsgRcptAck" },
		{ SRXE_CM_ATTR_REJ, "ConnectReject" },
		{ SRXE_CM_ATTR_REP, "ConnectReply" },
		{ SRXE_CM_ATTR_RTU, "ReadyToUse" },
		{ SRXE_CM_ATTR_DREQ, "DisconnectRequest" },
		{ SRXE_CM_ATTR_DREP, "DisconnectReply" },
		{ SRXE_CM_ATTR_SIDR_REQ, "ServiceIDResReq" },
		{ SRXE_CM_ATTR_SIDR_REP, "ServiceIDResReqResp" },
		{ SRXE_CM_ATTR_LAP, "LoadAlternatePath" },
		{ SRXE_CM_ATTR_APR, "AlternatePathResponse" },
		{ 0x0020, "(Unknown CM Attribute)" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_str_eq(srxe_cm_attr_name(names[i].id), names[i].name);
}

/* ECE (kernel cm.c since 5.8): REQ's VendorID is bytes 5..7 (byte 4
 * stays reserved), the options are the MAD header's AttributeModifier. */
Test(cm_mad, req_ece, .init = golden_load, .fini = golden_free)
{
	uint8_t mad[SRXE_MAD_LEN], again[SRXE_MAD_LEN];
	uint8_t *b = mad + SRXE_MAD_HDR_LEN;
	struct srxe_cm_msg msg;
	size_t n;

	memcpy(mad, golden_mad(273, &n), SRXE_MAD_LEN);
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL), 0);
	cr_assert_eq(msg.req.vendor_id, 0, "kernel without ECE sends 0");
	cr_assert_eq(msg.hdr.attr_mod, 0);
	memcpy(b + 5, "\x02\xc9\x01", 3);
	memcpy(mad + 20, "\x80\x00\x00\x05", 4);
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL), 0);
	cr_assert_eq(msg.req.vendor_id, 0x02c901);
	cr_assert_eq(msg.hdr.attr_mod, 0x80000005);
	srxe_cm_mad_encode(&msg, again);
	cr_assert_arr_eq(again, mad, SRXE_MAD_LEN);
	msg.req.vendor_id = 0xff123456; /* 24 bits: byte 4 untouched */
	srxe_cm_mad_encode(&msg, again);
	cr_assert_eq(again[SRXE_MAD_HDR_LEN + 4], 0);
	cr_assert_eq(again[SRXE_MAD_HDR_LEN + 5], 0x12);
	cr_assert_eq(again[SRXE_MAD_HDR_LEN + 7], 0x56);
	b[4] = 1; /* still reserved */
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &msg, NULL),
		     -EINVAL);
}

/* REP's VendorID is split over the bytes after LocalQPN (15: bits
 * 23..16), LocalEECN (19: 15..8) and StartingPSN (23: 7..0). */
Test(cm_mad, rep_ece)
{
	struct srxe_cm_msg msg = { .hdr.attr_id = SRXE_CM_ATTR_REP };
	uint8_t mad[SRXE_MAD_LEN], *b = mad + SRXE_MAD_HDR_LEN;
	struct srxe_cm_msg back;

	msg.hdr.attr_mod = 0x12345678;
	msg.rep.local_qpn = 0x000011;
	msg.rep.local_eecn = 0x000022;
	msg.rep.starting_psn = 0x000033;
	msg.rep.vendor_id = 0xffabcdef;
	srxe_cm_mad_encode(&msg, mad);
	cr_assert_arr_eq(mad + 20, "\x12\x34\x56\x78", 4);
	cr_assert_arr_eq(b + 12, "\x00\x00\x11\xab\x00\x00\x22\xcd", 8);
	cr_assert_arr_eq(b + 20, "\x00\x00\x33\xef", 4);
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &back, NULL), 0);
	cr_assert_eq(back.rep.vendor_id, 0xabcdef);
	cr_assert_eq(back.hdr.attr_mod, 0x12345678);
	cr_assert_eq(back.rep.local_qpn, 0x11);
	cr_assert_eq(back.rep.local_eecn, 0x22);
	cr_assert_eq(back.rep.starting_psn, 0x33);
}

/* SIDR_REP's VendorID: bits 23..8 in bytes 6..7, 7..0 in byte 11 (kernel
 * SIDR_REP_VENDOR_ID_H/_L); a kernel SIDR_REP with ECE decodes. */
Test(cm_mad, sidr_rep_ece)
{
	struct srxe_cm_msg msg = { .hdr.attr_id = SRXE_CM_ATTR_SIDR_REP };
	uint8_t mad[SRXE_MAD_LEN], *b = mad + SRXE_MAD_HDR_LEN;
	struct srxe_cm_msg back;

	msg.sidr_rep.qpn = 0x123456;
	msg.sidr_rep.vendor_id = 0x02c901;
	srxe_cm_mad_encode(&msg, mad);
	cr_assert_arr_eq(b + 6, "\x02\xc9\x12\x34\x56\x01", 6);
	cr_assert_eq(srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &back, NULL), 0);
	cr_assert_eq(back.sidr_rep.vendor_id, 0x02c901);
	cr_assert_eq(back.sidr_rep.qpn, 0x123456);
}
