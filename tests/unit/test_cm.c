// SPDX-License-Identifier: MIT
/*
 * The CM state machines (kernel-shim/cm/cm.h) driven through their
 * contract: two CMs ("a" at 10.0.0.1, "b" at 10.0.0.2) joined by a fake
 * wire that the test pumps by hand, fake event channels and a fake clock.
 * Covers active and passive connect, reject, no listener, REQ timeout,
 * duplicate REQs, DREQ both ways, TimeWait, SIDR, a flood of 100,000 REQs
 * against a backlog, client death, listen errors, channel back-pressure
 * and random MAD bytes.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cm/cm.h"

#define OUT_MAX 4096
#define EV_MAX	4096

struct wire_mad {
	uint8_t dgid[16];
	uint8_t mad[SRXE_MAD_LEN];
};

struct side {
	struct srxe_cm *cm;
	uint8_t gid[16];
	uint8_t ip[4];
	struct wire_mad out[OUT_MAX];
	unsigned int nout, out_lost;
	unsigned int drop_out; /* the wire loses this many of our MADs */
	struct srxe_cm_event ev[EV_MAX];
	unsigned int nev;
	bool eagain;
	bool want_out;
	uint64_t deadline;
	uint32_t chan;
	int peer_fd; /* the library's end of the channel socketpair */
	/* Completions its application has not polled: unpolled_cqs CQs
	 * get marked, and stay unpolled while unpolled_stays. */
	unsigned int unpolled_cqs, unpolled_asks;
	bool unpolled_stays;
	void *asked_owner;
	unsigned int asked_n;
	struct srxe_cm_mark asked[SRXE_CM_HOLD_MARKS];
	char last_info[256]; /* the last INFO line it logged */
};

static uint64_t now_ms = 1000;
static uint32_t next_qpn; /* each connect a QP of its own */
static struct side A, B;
static int owner_a, owner_b, owner_c; /* addresses are the identities */

static int fake_send(void *opaque, const uint8_t dgid[16], uint8_t tc,
		     uint8_t hop, const uint8_t mad[SRXE_MAD_LEN])
{
	struct side *s = opaque;

	if (s->drop_out) {
		s->drop_out--;
		return 0;
	}
	if (s->nout == OUT_MAX) {
		s->out_lost++;
		return 0;
	}
	memcpy(s->out[s->nout].dgid, dgid, 16);
	memcpy(s->out[s->nout].mad, mad, SRXE_MAD_LEN);
	s->nout++;
	return 0;
}

static int fake_write(void *opaque, int fd, const struct srxe_cm_event *ev)
{
	struct side *s = opaque;

	if (s->eagain)
		return -EAGAIN;
	cr_assert_lt(s->nev, EV_MAX);
	s->ev[s->nev++] = *ev;
	return 0;
}

static void fake_want(void *opaque, int fd, uint32_t chan, bool on)
{
	((struct side *)opaque)->want_out = on;
}

static uint64_t fake_now(void *opaque)
{
	return now_ms;
}

static void fake_timer(void *opaque, uint64_t deadline)
{
	((struct side *)opaque)->deadline = deadline;
}

static unsigned int fake_mark(void *opaque, void *owner,
			      struct srxe_cm_mark *marks, unsigned int max)
{
	struct side *s = opaque;
	unsigned int n = s->unpolled_cqs < max ? s->unpolled_cqs : max;

	s->unpolled_asks++;
	for (unsigned int i = 0; i < n; i++)
		marks[i] = (struct srxe_cm_mark){ 100 + i, 7 * i };
	return n;
}

static bool fake_since(void *opaque, void *owner,
		       const struct srxe_cm_mark *marks, unsigned int n)
{
	struct side *s = opaque;

	s->asked_owner = owner;
	s->asked_n = n;
	memcpy(s->asked, marks, n * sizeof(*marks));
	return s->unpolled_stays;
}

static void fake_log(void *opaque, enum srxe_cm_log_level lvl, const char *line)
{
	struct side *s = opaque;

	if (lvl == SRXE_CM_LOG_INFO)
		snprintf(s->last_info, sizeof(s->last_info), "%s", line);
}

static const struct srxe_cm_ops ops = {
	.send_mad = fake_send,
	.log = fake_log,
	.write_event = fake_write,
	.want_write = fake_want,
	.now_ms = fake_now,
	.set_timer = fake_timer,
	.unpolled_mark = fake_mark,
	.unpolled_since = fake_since,
};

static void side_init(struct side *s, uint8_t last, uint64_t guid, void *owner)
{
	struct srxe_cm_config cfg = { .node_guid = guid,
				      .seed = last,
				      .max_conns = 1024,
				      .ca_ack_delay = 15 };
	const char *why = NULL;
	int sv[2];

	memset(s, 0, sizeof(*s));
	s->ip[0] = 10;
	s->ip[3] = last;
	s->gid[10] = s->gid[11] = 0xff;
	memcpy(s->gid + 12, s->ip, 4);
	cr_assert_eq(srxe_cm_create(&cfg, &ops, s, &s->cm), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(srxe_cm_add_channel(s->cm, owner, sv[1], &s->chan, &why),
		     0, "%s", why);
	s->peer_fd = sv[0];
}

static void setup(void)
{
	now_ms = 1000;
	next_qpn = 0x123;
	side_init(&A, 1, 0x0200000000000001ull, &owner_a);
	side_init(&B, 2, 0x0200000000000002ull, &owner_b);
}

static void teardown(void)
{
	srxe_cm_free(A.cm);
	srxe_cm_free(B.cm);
	close(A.peer_fd);
	close(B.peer_fd);
}

TestSuite(cm, .init = setup, .fini = teardown, .timeout = 120);

/* A second scenario in one test: both sides fresh. */
static void setup_again(void)
{
	teardown();
	setup();
}

static void deliver(struct side *from, struct side *to, const uint8_t *mad)
{
	struct srxe_cm_rx rx = { .mad = mad,
				 .len = SRXE_MAD_LEN,
				 .hop_limit = 64 };

	memcpy(rx.sgid, from->gid, 16);
	memcpy(rx.dgid, to->gid, 16);
	srxe_cm_input(to->cm, &rx);
}

/* Moves MADs both ways until the wire is quiet. */
static unsigned int pump(void)
{
	unsigned int moved = 0, i, n;
	struct wire_mad *buf = malloc(sizeof(*buf) * OUT_MAX);
	struct side *s[2] = { &A, &B };
	int k;

	cr_assert(buf);
	do {
		n = 0;
		for (k = 0; k < 2; k++) {
			unsigned int cnt = s[k]->nout;

			memcpy(buf, s[k]->out, sizeof(*buf) * cnt);
			s[k]->nout = 0;
			for (i = 0; i < cnt; i++) {
				cr_assert(
					!memcmp(buf[i].dgid, s[1 - k]->gid, 16),
					"MAD sent to a GID nobody has");
				deliver(s[k], s[1 - k], buf[i].mad);
			}
			n += cnt;
		}
		moved += n;
	} while (n);
	free(buf);
	return moved;
}

/* Time passes by ms, every timer on the way firing at its deadline. */
static void advance(uint64_t ms)
{
	uint64_t end = now_ms + ms, next;
	int guard = 0;

	for (;;) {
		next = A.deadline;
		if (!next || (B.deadline && B.deadline < next))
			next = B.deadline;
		if (!next || next > end)
			break;
		cr_assert_lt(++guard, 100000, "timers never settle");
		if (next > now_ms)
			now_ms = next;
		srxe_cm_timer(A.cm);
		srxe_cm_timer(B.cm);
	}
	now_ms = end;
	srxe_cm_timer(A.cm);
	srxe_cm_timer(B.cm);
}

static const struct srxe_cm_event *last_ev(struct side *s)
{
	cr_assert_gt(s->nev, 0, "no event");
	return &s->ev[s->nev - 1];
}

static void expect_ev(struct side *s, unsigned int n, uint32_t event,
		      int32_t status)
{
	cr_assert_eq(s->nev, n, "%u events, expected %u", s->nev, n);
	cr_assert_eq(last_ev(s)->event, event, "event %u, expected %u",
		     last_ev(s)->event, event);
	cr_assert_eq(last_ev(s)->status, status, "status %d, expected %d",
		     last_ev(s)->status, status);
}

static uint32_t listen_on(struct side *s, void *owner, uint16_t ps,
			  uint16_t port, int backlog)
{
	struct srxe_cm_listen_req req = { .cookie = 0x1157e2,
					  .chan_handle = s->chan,
					  .port_space = ps,
					  .backlog = backlog };
	const char *why = NULL;
	uint32_t h = 0;

	req.addr.family = AF_INET;
	req.addr.port = port;
	cr_assert_eq(srxe_cm_listen(s->cm, owner, 0, &req, &h, &why), 0, "%s",
		     why);
	return h;
}

static void fill_connect(struct srxe_cm_connect_req *req, uint16_t ps,
			 uint16_t port, uint8_t qpt)
{
	memset(req, 0, sizeof(*req));
	req->cookie = 0xac71e;
	req->chan_handle = A.chan;
	req->port_space = ps;
	req->src.family = req->dst.family = AF_INET;
	memcpy(req->src.addr, A.ip, 4);
	memcpy(req->dst.addr, B.ip, 4);
	req->src.port = 40000;
	req->dst.port = port;
	memcpy(req->path.sgid, A.gid, 16);
	memcpy(req->path.dgid, B.gid, 16);
	req->path.hop_limit = 64;
	req->path.mtu = IBV_MTU_1024;
	req->param.qp_type = qpt;
	req->param.qp_num = next_qpn++;
	req->param.starting_psn = 0xabcde;
	req->param.responder_resources = 4;
	req->param.initiator_depth = 2;
	req->param.retry_count = 7;
	req->param.rnr_retry_count = 7;
	req->private_data_len = 5;
	memcpy(req->private_data, "hello", 5);
}

static uint32_t connect_to(uint16_t ps, uint16_t port, uint8_t qpt,
			   uint32_t timeout_ms)
{
	struct srxe_cm_connect_req req;
	const char *why = NULL;
	uint32_t h = 0;

	fill_connect(&req, ps, port, qpt);
	req.timeout_ms = timeout_ms;
	cr_assert_eq(srxe_cm_connect(A.cm, &owner_a, &req, &h, &why), 0, "%s",
		     why);
	return h;
}

static void accept_conn(uint32_t h)
{
	struct srxe_cm_accept_req req = { .cookie = 0xb0b, .conn_handle = h };
	const char *why = NULL;

	req.param.qp_type = IBV_QPT_RC;
	req.param.qp_num = 0x456;
	req.param.starting_psn = 0x777;
	req.param.responder_resources = 2;
	req.param.initiator_depth = 4;
	req.param.rnr_retry_count = 7;
	req.param.qkey = 0x01234567;
	req.private_data_len = 3;
	memcpy(req.private_data, "rep", 3);
	cr_assert_eq(srxe_cm_accept(B.cm, &owner_b, &req, &why), 0, "%s", why);
}

/* REQ -> CONNECT_REQUEST -> accept -> REP -> CONNECT_RESPONSE ->
 * establish -> RTU -> ESTABLISHED; returns both handles. */
static void connect_both(uint32_t *ha, uint32_t *hb)
{
	const char *why = NULL;
	const struct srxe_cm_event *ev;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	*ha = connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	expect_ev(&B, 1, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	ev = last_ev(&B);
	cr_assert_eq(ev->cookie, 0x1157e2);
	cr_assert_eq(ev->param.qp_num, 0x123);
	cr_assert_eq(ev->param.starting_psn, 0xabcde);
	cr_assert_eq(ev->param.responder_resources, 4);
	cr_assert_eq(ev->param.initiator_depth, 2);
	cr_assert_eq(ev->param.path_mtu, IBV_MTU_1024);
	cr_assert_eq(ev->src.port, 7471);
	cr_assert_eq(ev->dst.port, 40000);
	cr_assert(!memcmp(ev->src.addr, B.ip, 4));
	cr_assert(!memcmp(ev->dst.addr, A.ip, 4));
	cr_assert(!memcmp(ev->path.dgid, A.gid, 16));
	cr_assert_eq(ev->private_data_len, 56);
	cr_assert(!memcmp(ev->private_data, "hello", 5));
	cr_assert_eq(ev->param.ece_vendor_id, 0);
	cr_assert_eq(ev->param.ece_attr_mod, 0);
	*hb = ev->handle;
	accept_conn(*hb);
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_CONNECT_RESPONSE, 0);
	ev = last_ev(&A);
	cr_assert_eq(ev->cookie, 0xac71e);
	cr_assert_eq(ev->handle, *ha);
	cr_assert_eq(ev->param.qp_num, 0x456);
	cr_assert_eq(ev->param.starting_psn, 0x777);
	cr_assert_eq(ev->private_data_len, 196);
	cr_assert(!memcmp(ev->private_data, "rep", 3));
	cr_assert_eq(srxe_cm_establish(A.cm, &owner_a, *ha, &why), 0);
	pump();
	expect_ev(&B, 2, RDMA_CM_EVENT_ESTABLISHED, 0);
	cr_assert_eq(last_ev(&B)->cookie, 0xb0b);
}

Test(cm, connect_disconnect_timewait)
{
	struct srxe_cm_stats st;
	const char *why = NULL;
	uint32_t ha, hb;

	connect_both(&ha, &hb);
	/* DREQ from the active side, DREP from the passive side.  B's
	 * process has no unpolled completion: the CM asked, held nothing. */
	cr_assert_eq(srxe_cm_disconnect(A.cm, &owner_a, ha, &why), 0);
	pump();
	expect_ev(&B, 3, RDMA_CM_EVENT_DISCONNECTED, 0);
	cr_assert_gt(B.unpolled_asks, 0, "the CM never asked");
	cr_assert_eq(A.nev, 1);
	cr_assert_eq(srxe_cm_disconnect(B.cm, &owner_b, hb, &why), 0);
	pump();
	expect_ev(&A, 2, RDMA_CM_EVENT_DISCONNECTED, 0);
	/* TimeWait: a packet lifetime (2^19 * 4.096 us ~ 2.1 s). */
	advance(1000);
	cr_assert_eq(A.nev, 2);
	advance(1200);
	expect_ev(&A, 3, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0);
	expect_ev(&B, 4, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0);
	cr_assert_eq(srxe_cm_destroy(A.cm, &owner_a, ha, &why), 0);
	cr_assert_eq(srxe_cm_destroy(B.cm, &owner_b, hb, &why), 0);
	srxe_cm_get_stats(A.cm, &st);
	cr_assert_eq(st.conns, 0);
	cr_assert_eq(st.retries, 0);
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.conns, 0);
}

Test(cm, passive_side_disconnects)
{
	const char *why = NULL;
	uint32_t ha, hb;

	connect_both(&ha, &hb);
	cr_assert_eq(srxe_cm_disconnect(B.cm, &owner_b, hb, &why), 0);
	pump();
	expect_ev(&A, 2, RDMA_CM_EVENT_DISCONNECTED, 0);
	/* A answers with DREP when its application disconnects too. */
	cr_assert_eq(srxe_cm_disconnect(A.cm, &owner_a, ha, &why), 0);
	pump();
	expect_ev(&B, 3, RDMA_CM_EVENT_DISCONNECTED, 0);
}

/* Fresh sides, connected; A disconnects while B's process holds
 * unpolled completions in @cqs CQs (until unpolled_stays is cleared). */
static void disconnect_held(uint32_t *ha, uint32_t *hb, unsigned int cqs)
{
	const char *why = NULL;

	setup_again();
	connect_both(ha, hb);
	B.unpolled_cqs = cqs;
	B.unpolled_stays = true;
	cr_assert_eq(srxe_cm_disconnect(A.cm, &owner_a, *ha, &why), 0);
	pump();
	cr_assert_eq(B.nev, 2,
		     "DISCONNECTED before the completions were polled");
}

/*
 * The peer's DREQ while B's process has completions it has not polled:
 * DISCONNECTED once those are polled, not before, asked about B's owner
 * with the marks taken at the DREQ.
 */
Test(cm, peer_disconnect_waits_for_unpolled_completions)
{
	struct srxe_cm_stats st;
	const char *why = NULL;
	uint32_t ha, hb;

	disconnect_held(&ha, &hb, 2);
	advance(SRXE_CM_HOLD_MAX_MS / 2);
	cr_assert_eq(B.nev, 2,
		     "DISCONNECTED before the completions were polled");
	cr_assert_eq(B.asked_owner, &owner_b);
	cr_assert_eq(B.asked_n, 2);
	cr_assert(B.asked[1].cq == 101 && B.asked[1].pos == 7);
	B.unpolled_stays = false;
	advance(SRXE_CM_HOLD_POLL_MS);
	expect_ev(&B, 3, RDMA_CM_EVENT_DISCONNECTED, 0);
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.disconnects_held, 1);
	/* B's DREP when its application disconnects, as without a hold. */
	cr_assert_eq(srxe_cm_disconnect(B.cm, &owner_b, hb, &why), 0);
	pump();
	expect_ev(&A, 2, RDMA_CM_EVENT_DISCONNECTED, 0);
}

/* An application that never polls gets the event SRXE_CM_HOLD_MAX_MS
 * late; one that disconnects itself gets it at once, before its own;
 * a destroyed id gets none. */
Test(cm, held_disconnect_bounded_released_or_dropped)
{
	struct srxe_cm_stats st;
	const char *why = NULL;
	uint32_t ha, hb;

	disconnect_held(&ha, &hb, 1);
	advance(SRXE_CM_HOLD_MAX_MS - 1);
	cr_assert_eq(B.nev, 2, "DISCONNECTED before the bound");
	advance(1 + SRXE_CM_HOLD_POLL_MS);
	expect_ev(&B, 3, RDMA_CM_EVENT_DISCONNECTED, 0);

	disconnect_held(&ha, &hb, 1);
	cr_assert_eq(srxe_cm_disconnect(B.cm, &owner_b, hb, &why), 0);
	expect_ev(&B, 3, RDMA_CM_EVENT_DISCONNECTED, 0);
	pump();
	expect_ev(&A, 2, RDMA_CM_EVENT_DISCONNECTED, 0);
	advance(2200);
	expect_ev(&B, 4, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0);
	cr_assert_eq(B.ev[2].event, RDMA_CM_EVENT_DISCONNECTED);

	disconnect_held(&ha, &hb, 1);
	cr_assert_eq(srxe_cm_destroy(B.cm, &owner_b, hb, &why), 0, "%s", why);
	pump();
	advance(SRXE_CM_HOLD_MAX_MS + 2200);
	cr_assert_eq(B.nev, 2, "an event for a destroyed id");
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.conns, 0, "%u connections left", st.conns);
}

Test(cm, dreq_lost_times_out)
{
	const char *why = NULL;
	uint32_t ha, hb;
	int i;

	connect_both(&ha, &hb);
	A.drop_out = 1000;
	cr_assert_eq(srxe_cm_disconnect(A.cm, &owner_a, ha, &why), 0);
	for (i = 0; i < 25; i++)
		advance(6000);
	expect_ev(&A, 3, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0);
	cr_assert_eq(A.ev[1].event, RDMA_CM_EVENT_DISCONNECTED);
	cr_assert_eq(A.ev[1].status, -ETIMEDOUT);
}

Test(cm, reject_with_private_data)
{
	struct srxe_cm_reject_req rej = { .reason = 28, .private_data_len = 4 };
	const char *why = NULL;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	expect_ev(&B, 1, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	rej.conn_handle = last_ev(&B)->handle;
	memcpy(rej.private_data, "nope", 4);
	cr_assert_eq(srxe_cm_reject(B.cm, &owner_b, &rej, &why), 0, "%s", why);
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_REJECTED, 28);
	cr_assert_eq(last_ev(&A)->private_data_len, 148);
	cr_assert(!memcmp(last_ev(&A)->private_data, "nope", 4));
	/* rejected twice: the connection waits for nothing any more */
	cr_assert_eq(srxe_cm_reject(B.cm, &owner_b, &rej, &why), EINVAL);
}

/* ECE (kernel ib_cm since 5.8): the connect's vendor id / options go in
 * the REQ's VendorID / AttributeModifier and up in CONNECT_REQUEST, the
 * accept's in the REP and up in CONNECT_RESPONSE; REJ 35 is what
 * rdma_reject_ece sends.  Without ECE both are 0. */
Test(cm, ece_in_req_rep_and_reject)
{
	struct srxe_cm_accept_req acc = { .cookie = 0xb0b };
	struct srxe_cm_reject_req rej = { .reason = 35 };
	struct srxe_cm_connect_req req;
	const struct srxe_cm_event *ev;
	struct srxe_cm_msg m;
	const char *why = NULL;
	uint32_t ha = 0;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	fill_connect(&req, SRXE_CM_PS_TCP, 7471, IBV_QPT_RC);
	req.param.ece_vendor_id = 0xff02c901; /* cut to 24 bits */
	req.param.ece_attr_mod = 0x80000005;
	cr_assert_eq(srxe_cm_connect(A.cm, &owner_a, &req, &ha, &why), 0, "%s",
		     why);
	cr_assert_eq(A.nout, 1);
	cr_assert_eq(srxe_cm_mad_decode(A.out[0].mad, SRXE_MAD_LEN, &m, &why),
		     0, "%s", why);
	cr_assert_eq(m.req.vendor_id, 0x02c901);
	cr_assert_eq(m.hdr.attr_mod, 0x80000005);
	pump();
	expect_ev(&B, 1, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	ev = last_ev(&B);
	cr_assert_eq(ev->param.ece_vendor_id, 0x02c901);
	cr_assert_eq(ev->param.ece_attr_mod, 0x80000005);

	acc.conn_handle = ev->handle;
	acc.param.qp_type = IBV_QPT_RC;
	acc.param.qp_num = 0x456;
	acc.param.ece_vendor_id = 0x02c901;
	acc.param.ece_attr_mod = 0x1;
	cr_assert_eq(srxe_cm_accept(B.cm, &owner_b, &acc, &why), 0, "%s", why);
	cr_assert_eq(B.nout, 1);
	cr_assert_eq(srxe_cm_mad_decode(B.out[0].mad, SRXE_MAD_LEN, &m, &why),
		     0, "%s", why);
	cr_assert_eq(m.rep.vendor_id, 0x02c901);
	cr_assert_eq(m.hdr.attr_mod, 1);
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_CONNECT_RESPONSE, 0);
	cr_assert_eq(last_ev(&A)->param.ece_vendor_id, 0x02c901);
	cr_assert_eq(last_ev(&A)->param.ece_attr_mod, 1);
	cr_assert_eq(srxe_cm_establish(A.cm, &owner_a, ha, &why), 0);
	pump();
	expect_ev(&B, 2, RDMA_CM_EVENT_ESTABLISHED, 0);

	/* A second connect: the passive side refuses the vendor option. */
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	expect_ev(&B, 3, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	cr_assert_eq(last_ev(&B)->param.ece_vendor_id, 0, "no ECE: 0");
	cr_assert_eq(last_ev(&B)->param.ece_attr_mod, 0);
	rej.conn_handle = last_ev(&B)->handle;
	cr_assert_eq(srxe_cm_reject(B.cm, &owner_b, &rej, &why), 0, "%s", why);
	pump();
	expect_ev(&A, 2, RDMA_CM_EVENT_REJECTED, 35);
}

/* SIDR_REP carries the accept's ECE like kernel cm_format_sidr_rep. */
Test(cm, ece_in_sidr_rep)
{
	struct srxe_cm_accept_req acc = { .cookie = 5 };
	const char *why = NULL;

	listen_on(&B, &owner_b, SRXE_CM_PS_UDP, 7174, 8);
	connect_to(SRXE_CM_PS_UDP, 7174, IBV_QPT_UD, 0);
	pump();
	expect_ev(&B, 1, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	acc.conn_handle = last_ev(&B)->handle;
	acc.param.qp_type = IBV_QPT_UD;
	acc.param.qp_num = 0x99;
	acc.param.ece_vendor_id = 0x1234;
	acc.param.ece_attr_mod = 0x77;
	cr_assert_eq(srxe_cm_accept(B.cm, &owner_b, &acc, &why), 0, "%s", why);
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_ESTABLISHED, 0);
	cr_assert_eq(last_ev(&A)->param.ece_vendor_id, 0x1234);
	cr_assert_eq(last_ev(&A)->param.ece_attr_mod, 0x77);
}

Test(cm, no_listener_invalid_service_id)
{
	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7000, 8);
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	cr_assert_eq(B.nev, 0);
	expect_ev(&A, 1, RDMA_CM_EVENT_REJECTED, 8);
	/* Both sides say so in srxed's log (rare, and what a failed
	 * connect is read from). */
	cr_assert(strstr(B.last_info, "rejected: reason 8"), "B: %s",
		  B.last_info);
	cr_assert(strstr(A.last_info, "REJ reason 8 from QPN") &&
			  strstr(A.last_info, "(REQ_SENT)"),
		  "A: %s", A.last_info);
}

Test(cm, listen_other_address_consumer_reject)
{
	struct srxe_cm_listen_req req = { .chan_handle = B.chan,
					  .port_space = SRXE_CM_PS_TCP };
	const char *why = NULL;
	uint32_t h;

	req.addr.family = AF_INET;
	req.addr.port = 7471;
	inet_pton(AF_INET, "10.9.9.9", req.addr.addr);
	cr_assert_eq(srxe_cm_listen(B.cm, &owner_b, 0, &req, &h, &why), 0);
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_REJECTED, 28);
}

Test(cm, req_timeout_unreachable)
{
	struct srxe_cm_stats st;
	int i;

	A.drop_out = 100;
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 100);
	for (i = 0; i < 15; i++) {
		advance(100);
		cr_assert_eq(A.nev, 0, "gave up after %d retries", i);
	}
	advance(100);
	expect_ev(&A, 1, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT);
	srxe_cm_get_stats(A.cm, &st);
	cr_assert_eq(st.retries, 15);
	cr_assert_eq(st.timeouts, 1);
	cr_assert_eq(A.drop_out, 100 - 16);
	cr_assert_eq(A.deadline, 0, "no timer left");
}

Test(cm, req_default_timeout_is_kernels)
{
	A.drop_out = 100;
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	/* 2 * 2^18 + 2^20 times 4.096 us: ~6.4 s per try */
	cr_assert_geq(A.deadline, now_ms + 6400);
	cr_assert_leq(A.deadline, now_ms + 6500);
}

Test(cm, rep_lost_retried_then_established)
{
	const char *why = NULL;
	uint32_t ha, hb;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	ha = connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	hb = last_ev(&B)->handle;
	B.drop_out = 1; /* the REP */
	accept_conn(hb);
	pump();
	cr_assert_eq(A.nev, 0);
	advance(7000); /* REP again */
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_CONNECT_RESPONSE, 0);
	cr_assert_eq(srxe_cm_establish(A.cm, &owner_a, ha, &why), 0);
	pump();
	expect_ev(&B, 2, RDMA_CM_EVENT_ESTABLISHED, 0);
}

Test(cm, rep_unanswered_unreachable)
{
	uint32_t hb;
	int i;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	hb = last_ev(&B)->handle;
	B.drop_out = 1000;
	accept_conn(hb);
	for (i = 0; i < 20; i++)
		advance(7000);
	/* kernel cma: IB_CM_REP_ERROR -> UNREACHABLE, -ETIMEDOUT */
	expect_ev(&B, 2, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT);
}

Test(cm, duplicate_req_gets_mra_then_rep)
{
	uint8_t req_mad[SRXE_MAD_LEN];
	struct srxe_cm_msg m;
	const char *why;
	uint32_t hb;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	cr_assert_eq(A.nout, 1);
	memcpy(req_mad, A.out[0].mad, SRXE_MAD_LEN);
	pump();
	hb = last_ev(&B)->handle;
	/* The same REQ again while the application decides: MRA. */
	deliver(&A, &B, req_mad);
	cr_assert_eq(B.nev, 1, "no second CONNECT_REQUEST");
	cr_assert_eq(B.nout, 1);
	cr_assert_eq(srxe_cm_mad_decode(B.out[0].mad, SRXE_MAD_LEN, &m, &why),
		     0);
	cr_assert_eq(m.hdr.attr_id, SRXE_CM_ATTR_MRA);
	cr_assert_eq(m.mra.message_mraed, 0);
	pump(); /* A takes the MRA: its REQ timer is extended */
	accept_conn(hb);
	B.drop_out = 1;		  /* the REP is lost ... */
	deliver(&A, &B, req_mad); /* ... and the REQ's retry gets it again */
	cr_assert_eq(srxe_cm_mad_decode(B.out[0].mad, SRXE_MAD_LEN, &m, &why),
		     0);
	cr_assert_eq(m.hdr.attr_id, SRXE_CM_ATTR_REP);
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_CONNECT_RESPONSE, 0);
	cr_assert_eq(B.nev, 1);
}

Test(cm, stale_req_in_timewait_rejected)
{
	uint8_t req_mad[SRXE_MAD_LEN];
	struct srxe_cm_msg m;
	const char *why = NULL;
	uint32_t hb;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	memcpy(req_mad, A.out[0].mad, SRXE_MAD_LEN);
	pump();
	hb = last_ev(&B)->handle;
	accept_conn(hb);
	pump();
	cr_assert_eq(
		srxe_cm_establish(A.cm, &owner_a, last_ev(&A)->handle, &why),
		0);
	pump();
	B.drop_out = 1; /* B's DREQ is lost: B stays in DREQ_SENT */
	cr_assert_eq(srxe_cm_disconnect(B.cm, &owner_b, hb, &why), 0);
	cr_assert_eq(srxe_cm_destroy(B.cm, &owner_b, hb, &why), 0);
	deliver(&A, &B, req_mad); /* B's connection is in TimeWait */
	cr_assert_eq(srxe_cm_mad_decode(B.out[0].mad, SRXE_MAD_LEN, &m, &why),
		     0);
	cr_assert_eq(m.hdr.attr_id, SRXE_CM_ATTR_REJ);
	cr_assert_eq(m.rej.reason, 10);
}

Test(cm, sidr_accept_and_no_listener)
{
	struct srxe_cm_accept_req acc = { .cookie = 5 };
	const struct srxe_cm_event *ev;
	const char *why = NULL;

	connect_to(SRXE_CM_PS_UDP, 7174, IBV_QPT_UD, 0);
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_UNREACHABLE, 1);

	listen_on(&B, &owner_b, SRXE_CM_PS_UDP, 7174, 8);
	connect_to(SRXE_CM_PS_UDP, 7174, IBV_QPT_UD, 0);
	pump();
	expect_ev(&B, 1, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	ev = last_ev(&B);
	cr_assert_eq(ev->private_data_len, 180);
	cr_assert(!memcmp(ev->private_data, "hello", 5));
	cr_assert_eq(ev->port_space, SRXE_CM_PS_UDP);
	acc.conn_handle = ev->handle;
	acc.param.qp_type = IBV_QPT_UD;
	acc.param.qp_num = 0x99;
	acc.param.qkey = 0x01234567;
	cr_assert_eq(srxe_cm_accept(B.cm, &owner_b, &acc, &why), 0, "%s", why);
	pump();
	expect_ev(&A, 2, RDMA_CM_EVENT_ESTABLISHED, 0);
	cr_assert_eq(last_ev(&A)->param.qp_num, 0x99);
	cr_assert_eq(last_ev(&A)->param.qkey, 0x01234567);
	cr_assert_eq(srxe_cm_destroy(B.cm, &owner_b, acc.conn_handle, &why), 0);
}

Test(cm, sidr_timeout_and_reject)
{
	struct srxe_cm_reject_req rej = { 0 };
	const char *why = NULL;
	int i;

	A.drop_out = 100;
	connect_to(SRXE_CM_PS_UDP, 7174, IBV_QPT_UD, 50);
	for (i = 0; i < 16; i++)
		advance(50);
	expect_ev(&A, 1, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT);
	A.drop_out = 0;
	listen_on(&B, &owner_b, SRXE_CM_PS_UDP, 7174, 8);
	connect_to(SRXE_CM_PS_UDP, 7174, IBV_QPT_UD, 0);
	pump();
	rej.conn_handle = last_ev(&B)->handle;
	cr_assert_eq(srxe_cm_reject(B.cm, &owner_b, &rej, &why), 0, "%s", why);
	pump();
	expect_ev(&A, 2, RDMA_CM_EVENT_UNREACHABLE, 2);
}

static void forge_req(uint32_t comm_id, uint32_t qpn, uint8_t *mad)
{
	struct srxe_cm_msg m;
	struct srxe_cma_hdr h = { .ip_version = 4,
				  .src_port = 5000,
				  .dst_port = 7471 };

	memset(&m, 0, sizeof(m));
	m.hdr.attr_id = SRXE_CM_ATTR_REQ;
	m.hdr.tid = comm_id;
	m.req.local_comm_id = comm_id;
	m.req.service_id = srxe_cm_service_id(SRXE_CM_PS_TCP, 7471);
	m.req.local_ca_guid = 0x77;
	m.req.local_qpn = qpn;
	m.req.remote_cm_response_timeout = 20;
	m.req.local_cm_response_timeout = 20;
	m.req.partition_key = 0xffff;
	m.req.path_mtu = IBV_MTU_1024;
	m.req.max_cm_retries = 15;
	m.req.primary.local_lid = m.req.primary.remote_lid = 0xffff;
	memcpy(m.req.primary.local_gid, A.gid, 16);
	memcpy(m.req.primary.remote_gid, B.gid, 16);
	m.req.primary.hop_limit = 64;
	memcpy(h.src_addr + 12, A.ip, 4);
	memcpy(h.dst_addr + 12, B.ip, 4);
	srxe_cma_hdr_encode(&h, m.req.private_data);
	srxe_cm_mad_encode(&m, mad);
}

Test(cm, flood_bounded_by_backlog_then_real_client)
{
	struct srxe_cm_reject_req rej = { .reason = 28 };
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_stats st;
	const char *why = NULL;
	unsigned int i;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 16);
	for (i = 0; i < 100000; i++) {
		forge_req(0x10000000 + i, 0x1000 + i, mad);
		deliver(&A, &B, mad);
	}
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.conns, 16, "%u connection objects", st.conns);
	cr_assert_eq(st.reqs_dropped, 100000 - 16);
	cr_assert_eq(B.nev, 16);
	cr_assert_eq(B.nout, 0, "a full backlog drops without answering");
	/* While full, a real client is dropped too (its REQ retries)... */
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	cr_assert_eq(B.nev, 16);
	/* ... the application rejects the flood ... */
	for (i = 0; i < 16; i++) {
		rej.conn_handle = B.ev[i].handle;
		cr_assert_eq(srxe_cm_reject(B.cm, &owner_b, &rej, &why), 0);
		cr_assert_eq(
			srxe_cm_destroy(B.cm, &owner_b, rej.conn_handle, &why),
			0);
	}
	B.nout = 0; /* the REJs went to the forged peer */
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.conns, 0);
	/* ... and the real client's next try gets through. */
	advance(7000);
	pump();
	expect_ev(&B, 17, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	accept_conn(last_ev(&B)->handle);
	pump();
	expect_ev(&A, 1, RDMA_CM_EVENT_CONNECT_RESPONSE, 0);
}

Test(cm, flood_same_qpn_is_stale)
{
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_stats st;
	unsigned int i;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 16);
	for (i = 0; i < 1000; i++) {
		forge_req(0x20000000 + i, 0x42, mad);
		deliver(&A, &B, mad);
		B.nout = 0;
	}
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.conns, 1);
	cr_assert_eq(B.nev, 1);
}

Test(cm, max_conns_bounds_everything)
{
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_stats st;
	unsigned int i;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 100000);
	for (i = 0; i < 5000; i++) {
		forge_req(0x30000000 + i, 0x1000 + i, mad);
		deliver(&A, &B, mad);
	}
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.conns, 1024);
	cr_assert_eq(st.reqs_dropped, 5000 - 1024);
}

Test(cm, client_death_tears_down)
{
	uint32_t ha, hb, ha2;
	const char *why = NULL;
	struct srxe_cm_stats st;

	connect_both(&ha, &hb);
	/* a second connection still pending at B */
	ha2 = connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	expect_ev(&B, 3, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	srxe_cm_owner_gone(B.cm, &owner_b);
	pump();
	cr_assert_eq(A.nev, 3);
	for (unsigned int i = 1; i < 3; i++) {
		if (A.ev[i].handle == ha) {
			cr_assert_eq(A.ev[i].event, RDMA_CM_EVENT_DISCONNECTED);
		} else {
			cr_assert_eq(A.ev[i].handle, ha2);
			cr_assert_eq(A.ev[i].event, RDMA_CM_EVENT_REJECTED);
			cr_assert_eq(A.ev[i].status, 28);
		}
	}
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.listens, 0);
	cr_assert_eq(st.channels, 0);
	cr_assert_eq(st.conns, 1, "the established one sits out TimeWait");
	advance(2200);
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.conns, 0);
	/* its handles are gone; another client may listen on the port */
	cr_assert_eq(srxe_cm_disconnect(B.cm, &owner_b, hb, &why), EINVAL);
	cr_assert_eq(srxe_cm_del_channel(B.cm, &owner_b, B.chan, &why), EINVAL);
	{
		int sv[2];
		uint32_t ch;

		cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		cr_assert_eq(
			srxe_cm_add_channel(B.cm, &owner_c, sv[1], &ch, &why),
			0);
		B.chan = ch;
		listen_on(&B, &owner_c, SRXE_CM_PS_TCP, 7471, 8);
		close(sv[0]);
	}
}

Test(cm, active_death_rejects_req_and_dreqs)
{
	uint32_t ha, hb;

	connect_both(&ha, &hb);
	srxe_cm_owner_gone(A.cm, &owner_a);
	pump();
	expect_ev(&B, 3, RDMA_CM_EVENT_DISCONNECTED, 0);
}

/*
 * An active side that gives up while its REQ waits (kernel cm_destroy_id
 * in REQ_SENT) sends REJ reason 4 (IB_CM_REJ_TIMEOUT) with its CA GUID as
 * ARI and no remote comm id; the passive side ties it to the pending
 * request by (comm id, GUID) and reports REJECTED.
 */
Test(cm, active_gives_up_timeout_rej)
{
	struct srxe_cm_msg m;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	expect_ev(&B, 1, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	srxe_cm_owner_gone(A.cm, &owner_a);
	cr_assert_eq(A.nout, 1);
	cr_assert_eq(srxe_cm_mad_decode(A.out[0].mad, SRXE_MAD_LEN, &m, NULL),
		     0);
	cr_assert_eq(m.hdr.attr_id, SRXE_CM_ATTR_REJ);
	cr_assert_eq(m.rej.reason, 4);
	cr_assert_eq(m.rej.remote_comm_id, 0);
	cr_assert_eq(m.rej.ari_length, 8);
	cr_assert_eq(m.rej.ari[7], 0x01);
	pump();
	expect_ev(&B, 2, RDMA_CM_EVENT_REJECTED, 4);
}

Test(cm, listen_errors)
{
	struct srxe_cm_listen_req req = { .chan_handle = B.chan,
					  .port_space = SRXE_CM_PS_TCP };
	const char *why = NULL;
	uint32_t h;

	req.addr.family = AF_INET;
	req.addr.port = 80;
	cr_assert_eq(srxe_cm_listen(B.cm, &owner_b, 1000, &req, &h, &why),
		     EACCES);
	cr_assert_eq(srxe_cm_listen(B.cm, &owner_b, 0, &req, &h, &why), 0);
	/* the wildcard overlaps everything on the port */
	req.addr.family = 0;
	cr_assert_eq(srxe_cm_listen(B.cm, &owner_b, 0, &req, &h, &why),
		     EADDRINUSE);
	req.port_space = SRXE_CM_PS_UDP; /* other port space: free */
	cr_assert_eq(srxe_cm_listen(B.cm, &owner_b, 0, &req, &h, &why), 0);
	req.port_space = 0x1234;
	cr_assert_eq(srxe_cm_listen(B.cm, &owner_b, 0, &req, &h, &why), EINVAL);
	req.port_space = SRXE_CM_PS_TCP;
	req.chan_handle = 999;
	cr_assert_eq(srxe_cm_listen(B.cm, &owner_b, 0, &req, &h, &why), EINVAL);
	req.chan_handle = B.chan;
	cr_assert_eq(srxe_cm_listen(B.cm, &owner_a, 0, &req, &h, &why), EINVAL,
		     "another owner's channel");
	/* a channel in use cannot go; its fd must be a socket */
	cr_assert_eq(srxe_cm_del_channel(B.cm, &owner_b, B.chan, &why), EBUSY);
	cr_assert_eq(srxe_cm_add_channel(B.cm, &owner_b, 0, &h, &why), EINVAL);
}

Test(cm, foreign_handles_refused)
{
	struct srxe_cm_connect_req req;
	const char *why = NULL;
	uint32_t ha, hb;

	connect_both(&ha, &hb);
	cr_assert_eq(srxe_cm_disconnect(A.cm, &owner_c, ha, &why), EINVAL);
	cr_assert_eq(srxe_cm_destroy(A.cm, &owner_c, ha, &why), EINVAL);
	cr_assert_eq(srxe_cm_establish(A.cm, &owner_a, ha, &why), EINVAL,
		     "established already");
	fill_connect(&req, SRXE_CM_PS_TCP, 7471, IBV_QPT_RC);
	req.private_data_len = 57;
	cr_assert_eq(srxe_cm_connect(A.cm, &owner_a, &req, &ha, &why), EINVAL);
	fill_connect(&req, SRXE_CM_PS_UDP, 7471, IBV_QPT_RC);
	cr_assert_eq(srxe_cm_connect(A.cm, &owner_a, &req, &ha, &why), EINVAL);
}

Test(cm, channel_backpressure_queues_events)
{
	uint32_t ha, hb;
	const char *why = NULL;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	B.eagain = true;
	ha = connect_to(SRXE_CM_PS_TCP, 7471, IBV_QPT_RC, 0);
	pump();
	cr_assert_eq(B.nev, 0);
	cr_assert(B.want_out);
	B.eagain = false;
	srxe_cm_chan_writable(B.cm, B.chan);
	cr_assert(!B.want_out);
	expect_ev(&B, 1, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	hb = last_ev(&B)->handle;
	accept_conn(hb);
	pump();
	cr_assert_eq(srxe_cm_establish(A.cm, &owner_a, ha, &why), 0);
	pump();
	expect_ev(&B, 2, RDMA_CM_EVENT_ESTABLISHED, 0);
}

Test(cm, random_mads_leave_no_state)
{
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_stats st;
	unsigned int i, j;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 8);
	srandom(11);
	for (i = 0; i < 10000; i++) {
		for (j = 0; j < SRXE_MAD_LEN; j++)
			mad[j] = (uint8_t)random();
		/* half of them look like CM MADs, to get past the header */
		if (i & 1) {
			mad[0] = 1;
			mad[1] = 7;
			mad[2] = 2;
			mad[3] = 3;
			mad[4] = mad[5] = 0;
			mad[16] = 0;
			mad[17] = 0x10 + (uint8_t)(i % 10);
		}
		deliver(&A, &B, mad);
		B.nout = 0;
	}
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_leq(st.conns, 8);
	cr_assert_eq(st.mads_in, 10000);
}

/* A random field value: mostly small, sometimes a live comm id. */
static uint32_t pick_id(const uint32_t *ids, unsigned int n)
{
	long r = random();

	if (n && (r & 3) != 0)
		return ids[(r >> 2) % n];
	return (uint32_t)random();
}

static void random_msg(struct srxe_cm_msg *m, const uint32_t *ids,
		       unsigned int n)
{
	static const uint16_t attrs[] = {
		SRXE_CM_ATTR_REQ,  SRXE_CM_ATTR_MRA,	  SRXE_CM_ATTR_REJ,
		SRXE_CM_ATTR_REP,  SRXE_CM_ATTR_RTU,	  SRXE_CM_ATTR_DREQ,
		SRXE_CM_ATTR_DREP, SRXE_CM_ATTR_SIDR_REQ, SRXE_CM_ATTR_SIDR_REP,
	};
	uint8_t *raw = (uint8_t *)&m->req;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < sizeof(m->req); i++)
		raw[i] = (uint8_t)random();
	m->hdr.attr_id = attrs[random() % 9];
	m->hdr.tid = (uint64_t)random();
	/* comm ids sit first in every message but SIDR's (request_id) */
	m->rep.local_comm_id = pick_id(ids, n);
	m->rep.remote_comm_id = pick_id(ids, n);
	if (m->hdr.attr_id == SRXE_CM_ATTR_REQ) {
		m->req.service_id =
			srxe_cm_service_id(SRXE_CM_PS_TCP, 7471 + random() % 2);
		m->req.local_qpn = random() % 64;
		m->req.local_ca_guid = random() % 4;
	}
	if (m->hdr.attr_id == SRXE_CM_ATTR_SIDR_REQ)
		m->sidr_req.service_id =
			srxe_cm_service_id(SRXE_CM_PS_UDP, 7471);
	if (m->hdr.attr_id == SRXE_CM_ATTR_SIDR_REP)
		m->sidr_rep.request_id = pick_id(ids, n);
	if (m->hdr.attr_id == SRXE_CM_ATTR_REJ)
		m->rej.ari_length %= 73;
}

/*
 * 10,000 structured random MADs (encoded, so most pass the codec and
 * reach the state machines) from a "peer" at A's GID, interleaved with
 * the library's requests on whatever handles exist, then the client goes:
 * once TimeWait is over nothing may be left.
 */
Test(cm, fuzzed_mads_leave_no_state)
{
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_msg m;
	struct srxe_cm_stats st;
	uint32_t ids[64];
	unsigned int n = 0, i;
	const char *why;

	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 32);
	listen_on(&B, &owner_b, SRXE_CM_PS_UDP, 7471, 32);
	srandom(7);
	for (i = 0; i < 10000; i++) {
		random_msg(&m, ids, n);
		srxe_cm_mad_encode(&m, mad);
		deliver(&A, &B, mad);
		B.nout = 0;
		while (B.nev && n < 64)
			ids[n++] = B.ev[--B.nev].handle;
		B.nev = 0;
		if (n && (i % 7) == 0) {
			uint32_t h = ids[random() % n];
			struct srxe_cm_accept_req acc = { .conn_handle = h };
			struct srxe_cm_reject_req rej = { .conn_handle = h };

			acc.param.qp_type = IBV_QPT_RC;
			switch (random() % 6) {
			case 0:
				srxe_cm_accept(B.cm, &owner_b, &acc, &why);
				break;
			case 1:
				srxe_cm_reject(B.cm, &owner_b, &rej, &why);
				break;
			case 2:
				srxe_cm_disconnect(B.cm, &owner_b, h, &why);
				break;
			case 3:
				srxe_cm_notify(B.cm, &owner_b, h, &why);
				break;
			case 4:
				srxe_cm_destroy(B.cm, &owner_b, h, &why);
				break;
			default:
				advance(random() % 3000);
			}
		}
		if (n == 64)
			n = 0;
	}
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_leq(st.conns, 1024);
	cr_assert_gt(st.mads_in - st.mads_bad, 5000, "most reached the CM");
	srxe_cm_owner_gone(B.cm, &owner_b);
	B.nout = 0;
	advance(200000);
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.conns, 0, "%u connections leaked", st.conns);
	cr_assert_eq(st.listens, 0);
	cr_assert_eq(st.channels, 0);
	cr_assert_eq(B.deadline, 0);
}

/* A channel nobody reads: SRXE_CM_CHAN_QUEUE_MAX events wait, further
 * CONNECT_REQUESTs are REQs never received (no object kept). */
Test(cm, full_channel_drops_requests)
{
	struct srxe_cm_config cfg = { .node_guid = 2, .max_conns = 4096 };
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_stats st;
	const char *why;
	unsigned int i;
	int sv[2];

	/* B with room for more connections than a channel queues */
	srxe_cm_free(B.cm);
	cr_assert_eq(srxe_cm_create(&cfg, &ops, &B, &B.cm), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(srxe_cm_add_channel(B.cm, &owner_b, sv[1], &B.chan, &why),
		     0);
	close(sv[0]);
	listen_on(&B, &owner_b, SRXE_CM_PS_TCP, 7471, 5000);
	B.eagain = true;
	for (i = 0; i < 1500; i++) {
		forge_req(0x40000000 + i, 0x2000 + i, mad);
		deliver(&A, &B, mad);
	}
	srxe_cm_get_stats(B.cm, &st);
	cr_assert_eq(st.events_queued, SRXE_CM_CHAN_QUEUE_MAX);
	cr_assert_eq(st.conns, 1024);
	cr_assert_eq(st.reqs_dropped, 1500 - 1024);
	cr_assert_eq(st.events_dropped, 1500 - 1024, "dropped by the queue");
	B.eagain = false;
	srxe_cm_chan_writable(B.cm, B.chan);
	cr_assert_eq(B.nev, SRXE_CM_CHAN_QUEUE_MAX);
	cr_assert(!B.want_out);
}
