// SPDX-License-Identifier: MIT
/*
 * The CM against kernel 6.1 rdma_cm's own MADs (tests/data/rxe-6.1-golden
 * .pcap, frames 273-282: rping-like connection 10.0.0.2 -> 10.0.0.1 port
 * 0x4853):
 *  - passive: the kernel's REQ gives a CONNECT_REQUEST with its fields;
 *    our REP answers with the REQ's TID; its RTU and DREQ drive the rest;
 *  - active: our REQ for the same connection equals the kernel's in every
 *    field the kernel does not choose at random; its REP drives us.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tools/golden_frames.h"
#include "cm/cm.h"

#define MAD_IN_UDP 28 /* UDP 8 + BTH 12 + DETH 8 */

static uint8_t gid1[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 };
static uint8_t gid2[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 2 };

static struct srxe_cm *cm;
static uint8_t sent[8][SRXE_MAD_LEN];
static unsigned int nsent;
static struct srxe_cm_event evs[8];
static unsigned int nev;
static uint32_t chan;
static int owner, peer_fd = -1;

static int fake_send(void *o, const uint8_t dgid[16], uint8_t tc, uint8_t hop,
		     const uint8_t mad[SRXE_MAD_LEN])
{
	cr_assert_lt(nsent, 8);
	memcpy(sent[nsent++], mad, SRXE_MAD_LEN);
	return 0;
}

static int fake_write(void *o, int fd, const struct srxe_cm_event *ev)
{
	cr_assert_lt(nev, 8);
	evs[nev++] = *ev;
	return 0;
}

static uint64_t fake_now(void *o)
{
	return 1000;
}

static const struct srxe_cm_ops ops = {
	.send_mad = fake_send,
	.write_event = fake_write,
	.now_ms = fake_now,
};

static void setup(void)
{
	struct srxe_cm_config cfg = { .node_guid = 0x505400fffe000001ull,
				      .ca_ack_delay = 15,
				      .seed = 3 };
	const char *why;
	int sv[2];

	golden_load();
	cr_assert_eq(srxe_cm_create(&cfg, &ops, NULL, &cm), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(srxe_cm_add_channel(cm, &owner, sv[1], &chan, &why), 0);
	peer_fd = sv[0];
	nsent = nev = 0;
}

static void teardown(void)
{
	srxe_cm_free(cm);
	close(peer_fd);
	golden_free();
}

TestSuite(cm_golden, .init = setup, .fini = teardown);

static void golden_msg(unsigned long frame, struct srxe_cm_msg *m)
{
	const struct srxe_frame_view *v = &golden[frame - 1].view;
	const char *why = NULL;

	cr_assert_eq(
		srxe_cm_mad_decode(v->udp + MAD_IN_UDP, SRXE_MAD_LEN, m, &why),
		0, "frame %lu: %s", frame, why);
}

static void feed(const struct srxe_cm_msg *m, const uint8_t *from,
		 const uint8_t *to)
{
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_rx rx = { .mad = mad,
				 .len = SRXE_MAD_LEN,
				 .hop_limit = 64 };

	srxe_cm_mad_encode(m, mad);
	memcpy(rx.sgid, from, 16);
	memcpy(rx.dgid, to, 16);
	srxe_cm_input(cm, &rx);
}

static void sent_msg(unsigned int i, struct srxe_cm_msg *m)
{
	const char *why = NULL;

	cr_assert_lt(i, nsent);
	cr_assert_eq(srxe_cm_mad_decode(sent[i], SRXE_MAD_LEN, m, &why), 0,
		     "%s", why);
}

Test(cm_golden, passive_to_kernel_active)
{
	struct srxe_cm_listen_req l = { .chan_handle = chan,
					.port_space = SRXE_CM_PS_TCP };
	struct srxe_cm_accept_req acc = { .cookie = 9 };
	struct srxe_cm_msg req, m;
	const struct srxe_cm_event *ev;
	const char *why;
	uint32_t h;

	l.addr.port = 0x4853;
	cr_assert_eq(srxe_cm_listen(cm, &owner, 0, &l, &h, &why), 0);
	golden_msg(273, &req);
	feed(&req, gid2, gid1);
	cr_assert_eq(nev, 1);
	ev = &evs[0];
	cr_assert_eq(ev->event, RDMA_CM_EVENT_CONNECT_REQUEST);
	cr_assert_eq(ev->param.qp_num, 0x2e);
	cr_assert_eq(ev->param.starting_psn, 0xaa1f92);
	cr_assert_eq(ev->param.retry_count, 7);
	cr_assert_eq(ev->param.rnr_retry_count, 7);
	cr_assert_eq(ev->param.qp_type, IBV_QPT_RC);
	cr_assert_eq(ev->param.ack_timeout, 19);
	cr_assert_eq(ev->src.family, AF_INET);
	cr_assert_eq(ev->src.port, 0x4853);
	cr_assert_eq(ev->dst.port, 0xb7b0);
	cr_assert(!memcmp(ev->dst.addr, gid2 + 12, 4));
	cr_assert(!memcmp(ev->src.addr, gid1 + 12, 4));

	acc.conn_handle = ev->handle;
	acc.param.qp_type = IBV_QPT_RC;
	acc.param.qp_num = 0x2e;
	acc.param.starting_psn = 0x94988a;
	acc.param.rnr_retry_count = 7;
	cr_assert_eq(srxe_cm_accept(cm, &owner, &acc, &why), 0, "%s", why);
	sent_msg(0, &m);
	cr_assert_eq(m.hdr.attr_id, SRXE_CM_ATTR_REP);
	cr_assert_eq(m.hdr.tid, req.hdr.tid, "REP carries the REQ's TID");
	cr_assert_eq(m.rep.remote_comm_id, req.req.local_comm_id);
	cr_assert_eq(m.rep.local_comm_id, ev->handle);
	{
		/* the kernel's REP of the same connection, but for ids */
		struct srxe_cm_msg k;

		golden_msg(274, &k);
		k.rep.local_comm_id = m.rep.local_comm_id;
		cr_assert(!memcmp(&k.rep, &m.rep, sizeof(k.rep)),
			  "REP differs from the kernel's");
	}

	golden_msg(275, &m); /* RTU, renamed to our comm id */
	m.rtu.remote_comm_id = acc.conn_handle;
	feed(&m, gid2, gid1);
	cr_assert_eq(nev, 2);
	cr_assert_eq(evs[1].event, RDMA_CM_EVENT_ESTABLISHED);
	cr_assert_eq(evs[1].cookie, 9);

	golden_msg(279, &m); /* the active side's DREQ */
	m.dreq.local_comm_id = req.req.local_comm_id;
	m.dreq.remote_comm_id = acc.conn_handle;
	m.dreq.remote_qpn = 0x2e;
	feed(&m, gid2, gid1);
	cr_assert_eq(nev, 3);
	cr_assert_eq(evs[2].event, RDMA_CM_EVENT_DISCONNECTED);
	cr_assert_eq(srxe_cm_disconnect(cm, &owner, acc.conn_handle, &why), 0);
	{
		struct srxe_cm_msg drep;

		sent_msg(1, &drep);
		cr_assert_eq(drep.hdr.attr_id, SRXE_CM_ATTR_DREP);
		cr_assert_eq(drep.hdr.tid, m.hdr.tid,
			     "DREP carries the DREQ's");
		cr_assert_eq(drep.drep.remote_comm_id, req.req.local_comm_id);
	}
}

Test(cm_golden, active_to_kernel_passive)
{
	struct srxe_cm_connect_req c = { .chan_handle = chan,
					 .port_space = SRXE_CM_PS_TCP };
	struct srxe_cm_msg req, k, m;
	const char *why;
	uint32_t h;

	c.src.family = c.dst.family = AF_INET;
	memcpy(c.src.addr, gid2 + 12, 4);
	memcpy(c.dst.addr, gid1 + 12, 4);
	c.src.port = 0xb7b0;
	c.dst.port = 0x4853;
	memcpy(c.path.sgid, gid2, 16);
	memcpy(c.path.dgid, gid1, 16);
	c.path.hop_limit = 64;
	c.param.qp_type = IBV_QPT_RC;
	c.param.qp_num = 0x2e;
	c.param.starting_psn = 0xaa1f92;
	c.param.retry_count = 7;
	c.param.rnr_retry_count = 7;
	golden_msg(273, &k);
	c.param.path_mtu = k.req.path_mtu;
	cr_assert_eq(srxe_cm_connect(cm, &owner, &c, &h, &why), 0, "%s", why);
	sent_msg(0, &req);
	/* Same as the kernel's REQ but for the comm id, the CA GUID and
	 * the flow label (cma_hdr and private data included). */
	k.req.local_comm_id = req.req.local_comm_id;
	k.req.local_ca_guid = req.req.local_ca_guid;
	cr_assert_eq(k.req.primary.packet_rate, req.req.primary.packet_rate,
		     "rate %u vs %u", k.req.primary.packet_rate,
		     req.req.primary.packet_rate);
	/* kernel: a hash of the QPNs; ours: the library's path */
	k.req.primary.flow_label = req.req.primary.flow_label;
	cr_assert_eq(req.req.primary.local_ack_timeout,
		     k.req.primary.local_ack_timeout);
	cr_assert(!memcmp(&k.req, &req.req, sizeof(k.req)),
		  "REQ differs from the kernel's");

	golden_msg(274, &m); /* the kernel's REP, to our comm id */
	m.rep.remote_comm_id = h;
	m.hdr.tid = req.hdr.tid;
	feed(&m, gid1, gid2);
	cr_assert_eq(nev, 1);
	cr_assert_eq(evs[0].event, RDMA_CM_EVENT_CONNECT_RESPONSE);
	cr_assert_eq(evs[0].param.qp_num, 0x2e);
	cr_assert_eq(evs[0].param.starting_psn, 0x94988a);
	cr_assert_eq(srxe_cm_establish(cm, &owner, h, &why), 0);
	sent_msg(1, &m);
	cr_assert_eq(m.hdr.attr_id, SRXE_CM_ATTR_RTU);
	cr_assert_eq(m.hdr.tid, req.hdr.tid, "RTU carries the REQ's TID");
	cr_assert_eq(m.rtu.remote_comm_id, 0xf59bd91a);
}
