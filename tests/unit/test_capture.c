// SPDX-License-Identifier: MIT
/*
 * Issue #5: the engine's packet capture (kernel-shim/engine/core/capture.h)
 * with real same-host traffic through a running engine.  The test plays
 * the `srxe capture` client: it reads the datagrams of its socketpair end
 * and checks them as pcap units: the file header, then one record per
 * packet the engine sent, each a full Ethernet/IPv4/UDP 4791 frame whose
 * ICRC is valid.  Also: a full ring drops and counts instead of blocking,
 * --count stops by itself, and one capture per engine.
 */
#include <poll.h>
#include <sys/socket.h>

#include "engine/core/capture.h"
#include "engine/packet/icrc.h"
#include "engine/packet/opcode.h"
#include "engine_harness.h"

#define TMO	     5000
#define UNIT_MAX     (64 * 1024 + 1)
#define PCAP_HDR_LEN 24
#define REC_HDR_LEN  16
#define ETH_LEN	     14

static struct h_ctx A, B;
static struct h_cq acq, bcq;
static struct h_qp qa, qb;
static int sp[2] = { -1, -1 };

static const struct h_conn_opts rc_opts = {
	.access = H_ALL_ACCESS,
	.timeout = 14,
	.retry_cnt = 7,
	.rnr_retry = 7,
	.min_rnr_timer = 1,
	.psn = 0x100,
};

static void setup(void)
{
	h_engine_start(IBV_MTU_1024);
	h_ctx_init(&A, SRXE_MEM_SHORTCUT, 1);
	h_ctx_init(&B, SRXE_MEM_SHORTCUT, 2);
	h_cq_create(&A, &acq, 256);
	h_cq_create(&B, &bcq, 256);
	h_qp_create(&A, &qa, IBV_QPT_RC, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_RC, &bcq, &bcq);
	h_connect(&qa, &qb, &rc_opts);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
}

static void teardown(void)
{
	h_ctx_fini(&A);
	h_ctx_fini(&B);
	srxe_engine_stop(h_eng);
	for (int i = 0; i < 2; i++) {
		if (sp[i] >= 0)
			close(sp[i]);
		sp[i] = -1;
	}
}

static struct srxe_capture *start(uint64_t max, int expect)
{
	struct srxe_capture_opts o = { .fd = sp[1], .max_packets = max };
	struct srxe_capture *c = NULL;
	const char *why = NULL;
	int ret = srxe_capture_start(h_eng, &o, &c, &why);

	cr_assert_eq(ret, expect, "capture start: %d (%s)", ret,
		     why ? why : "");
	if (!ret)
		sp[1] = -1; /* the capture owns it now */
	return c;
}

static uint64_t pkts_sent(void)
{
	struct srxe_eng_stats s;

	srxe_engine_stats(h_eng, &s);
	return s.pkts_sent;
}

/* One RC SEND of @len bytes from A to B, both completions checked. */
static void send_msg(uint32_t len)
{
	struct h_mr src, dst;
	struct srxe_send_wqe *w;
	struct srxe_cqe e;

	h_mr_reg(&A, &src, len, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &dst, len, IBV_ACCESS_LOCAL_WRITE);
	h_fill(src.p, len, len);
	h_post_recv(&qb, 1, &dst, 0, len);
	w = h_send_slot(&qa);
	w->wr_id = 2;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &src, 0, len);
	h_send_publish(&qa);
	cr_assert(h_poll(&bcq, &e, TMO) && e.status == IBV_WC_SUCCESS);
	cr_assert(h_poll(&acq, &e, TMO) && e.status == IBV_WC_SUCCESS);
}

/* Next datagram into buf; its length, 0 at EOF. */
static size_t next_unit(uint8_t *buf)
{
	struct pollfd p = { .fd = sp[0], .events = POLLIN };
	ssize_t n;

	cr_assert_eq(poll(&p, 1, TMO), 1, "no datagram within %d ms", TMO);
	n = recv(sp[0], buf, UNIT_MAX, MSG_TRUNC);
	cr_assert_geq(n, 0, "recv: %s", strerror(errno));
	cr_assert_lt(n, UNIT_MAX, "datagram larger than 64 KiB");
	return (size_t)n;
}

static void check_file_header(void)
{
	static uint8_t buf[UNIT_MAX];
	uint32_t magic, linktype;

	cr_assert_eq(next_unit(buf), PCAP_HDR_LEN);
	memcpy(&magic, buf, 4);
	memcpy(&linktype, buf + 20, 4);
	cr_assert_eq(magic, 0xa1b2c3d4u);
	cr_assert_eq(linktype, 1u, "link type %u, expected Ethernet", linktype);
}

/* Records come in datagrams of one or more whole records. */
static struct {
	uint8_t buf[UNIT_MAX];
	size_t len, off;
} unit;

/* The next record, or NULL at EOF; *incl is its frame length. */
static const uint8_t *next_record(uint32_t *incl)
{
	const uint8_t *rec;
	uint32_t orig;

	if (unit.off == unit.len) {
		unit.len = next_unit(unit.buf);
		unit.off = 0;
		if (!unit.len)
			return NULL;
	}
	cr_assert_leq(unit.off + REC_HDR_LEN, unit.len, "cut record header");
	rec = unit.buf + unit.off;
	memcpy(incl, rec + 8, 4);
	memcpy(&orig, rec + 12, 4);
	cr_assert_leq(unit.off + REC_HDR_LEN + *incl, unit.len,
		      "record cut at a datagram boundary");
	cr_assert_eq(orig, *incl, "whole packets are captured");
	unit.off += REC_HDR_LEN + *incl;
	return rec + REC_HDR_LEN;
}

/* One record: a frame to/from the harness address with a valid ICRC.
 * Returns its BTH opcode, or -1 at EOF. */
static int check_record(void)
{
	const uint8_t *eth, *ip;
	uint32_t incl, src, dst;
	size_t ip_len;

	eth = next_record(&incl);
	if (!eth)
		return -1;
	ip = eth + ETH_LEN;
	cr_assert_eq(eth[12] << 8 | eth[13], 0x0800, "EtherType IPv4");
	ip_len = incl - ETH_LEN;
	cr_assert_eq((size_t)(ip[2] << 8 | ip[3]), ip_len, "IPv4 length");
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	cr_assert(src == h_ip() && dst == h_ip(), "same-host addresses");
	cr_assert_eq(ip[20 + 2] << 8 | ip[20 + 3], 4791, "UDP port");
	cr_assert(srxe_icrc_valid(ip, 20, ip + 20, ip_len - 20),
		  "ICRC of a synthesised frame is invalid");
	return ip[20 + 8];
}

Test(capture, every_sent_packet_as_a_valid_frame, .init = setup,
     .fini = teardown)
{
	struct srxe_capture_counts n;
	struct srxe_capture *c = start(0, 0);
	uint64_t before = pkts_sent(), records = 0;
	bool first = false, middle = false, last = false, ack = false;
	int op;

	send_msg(3000); /* MTU 1024: First, Middle, Last, then an ACK */
	srxe_capture_stop(c, &n);
	cr_assert_eq(n.captured, pkts_sent() - before);
	cr_assert_eq(n.dropped, 0);
	check_file_header();
	while ((op = check_record()) >= 0) {
		records++;
		first |= op == SRXE_OP_RC_SEND_FIRST;
		middle |= op == SRXE_OP_RC_SEND_MIDDLE;
		last |= op == SRXE_OP_RC_SEND_LAST;
		ack |= op == SRXE_OP_RC_ACKNOWLEDGE;
	}
	cr_assert_eq(records, n.captured, "%lu records for %lu packets",
		     (unsigned long)records, (unsigned long)n.captured);
	cr_assert(first && middle && last && ack, "missing opcodes");
	srxe_capture_free(c);
}

Test(capture, full_ring_drops_and_counts_never_blocks, .init = setup,
     .fini = teardown)
{
	struct srxe_capture_counts n;
	struct srxe_capture *c = start(0, 0);
	uint64_t before = pkts_sent(), records = 0;

	/* Nobody reads: 3 x 1 MiB is ~3000 packets for a 1024-slot ring. */
	for (int i = 0; i < 3; i++)
		send_msg(1 << 20);
	srxe_capture_stop(c, &n);
	cr_assert_eq(n.captured + n.dropped, pkts_sent() - before);
	cr_assert_gt(n.dropped, 0, "the ring should have overflowed");
	/* What was taken still arrives, complete, after the stop. */
	check_file_header();
	while (check_record() >= 0)
		records++;
	cr_assert_eq(records, n.captured,
		     "%lu records, %lu captured, %lu dropped",
		     (unsigned long)records, (unsigned long)n.captured,
		     (unsigned long)n.dropped);
	srxe_capture_free(c);
}

Test(capture, count_limit_then_eof, .init = setup, .fini = teardown)
{
	struct srxe_capture *c = start(3, 0);
	int records = 0;

	send_msg(8192);
	check_file_header();
	while (check_record() >= 0)
		records++;
	cr_assert_eq(records, 3, "--count 3 wrote %d records", records);
	srxe_capture_free(c);
}

Test(capture, one_capture_per_engine, .init = setup, .fini = teardown)
{
	struct srxe_capture *c = start(0, 0);
	int other[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, other), 0);
	sp[1] = other[1];
	start(0, -EBUSY);
	close(other[0]);
	srxe_capture_free(c);
	/* Once it is gone, the next capture may start. */
	srxe_capture_free(start(0, 0));
}
