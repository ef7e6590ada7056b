// SPDX-License-Identifier: MIT
/*
 * srxed's CM end to end through the control protocol (proto_cm.h), two
 * clients of one srxed connecting over the device's own GID (QP 1 MADs
 * go through the engine's same-host path):
 *   cm_e2e SOCK IPV4 basic   listen/connect/accept/establish/disconnect
 *                            both ways, TimeWait exit, no listener (REJ
 *                            8), EADDRINUSE, SIDR, client death
 *   cm_e2e SOCK IPV4 flood   N CONNECTs to a listener with backlog 16:
 *                            the connection cap answers ENOMEM, srxed
 *                            stays up, and after the flooding client
 *                            exits a real client connects
 * Prints one line per step; exit 0 when every step held.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <rdma/rdma_cma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srxe/client.h"
#include "srxe/proto.h"
#include "srxe/proto_cm.h"

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fprintf(stderr, "\n");                                 \
			exit(1);                                               \
		}                                                              \
	} while (0)

struct client {
	struct srxe_conn conn;
	int rfd; /* channel read end */
	uint32_t chan;
};

static const char *sock_path;

/* No librdmacm here: the names of the events srxed sends. */
static const char *ev_name(uint32_t e)
{
	static const char *const names[] = {
		[RDMA_CM_EVENT_CONNECT_REQUEST] = "CONNECT_REQUEST",
		[RDMA_CM_EVENT_CONNECT_RESPONSE] = "CONNECT_RESPONSE",
		[RDMA_CM_EVENT_UNREACHABLE] = "UNREACHABLE",
		[RDMA_CM_EVENT_REJECTED] = "REJECTED",
		[RDMA_CM_EVENT_ESTABLISHED] = "ESTABLISHED",
		[RDMA_CM_EVENT_DISCONNECTED] = "DISCONNECTED",
		[RDMA_CM_EVENT_TIMEWAIT_EXIT] = "TIMEWAIT_EXIT",
	};

	return e < sizeof(names) / sizeof(names[0]) && names[e] ? names[e]
								: "?";
}
static uint8_t ip4[4], gid[16];

static void client_open(struct client *c)
{
	struct srxe_cm_add_channel_resp resp;
	int sv[2], ret;

	CHECK(srxe_conn_open(&c->conn, sock_path) == 0, "connect %s",
	      sock_path);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0,
	      "socketpair");
	ret = srxe_call(&c->conn, SRXE_OP_CM_ADD_CHANNEL, NULL, 0, sv[1], &resp,
			sizeof(resp), NULL);
	CHECK(ret == 0, "CM_ADD_CHANNEL: %d %s", ret, c->conn.reason);
	close(sv[1]);
	c->rfd = sv[0];
	c->chan = resp.chan_handle;
}

static void client_close(struct client *c)
{
	srxe_conn_close(&c->conn);
	close(c->rfd);
}

static int call(struct client *c, uint16_t op, const void *req, size_t len,
		void *resp, size_t rlen)
{
	return srxe_call(&c->conn, op, req, len, -1, resp, rlen, NULL);
}

static int handle_op(struct client *c, uint16_t op, uint32_t h)
{
	struct srxe_cm_handle_req r = { .handle = h };

	return call(c, op, &r, sizeof(r), NULL, 0);
}

static int wait_event(struct client *c, struct srxe_cm_event *ev, int ms)
{
	struct pollfd p = { .fd = c->rfd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -ETIMEDOUT;
	n = recv(c->rfd, ev, sizeof(*ev), 0);
	CHECK(n == (ssize_t)sizeof(*ev), "event of %zd bytes", n);
	return 0;
}

static void expect(struct client *c, uint32_t event, int32_t status,
		   struct srxe_cm_event *ev, int ms)
{
	struct srxe_cm_event tmp;

	if (!ev)
		ev = &tmp;
	CHECK(wait_event(c, ev, ms) == 0, "no %s within %d ms", ev_name(event),
	      ms);
	CHECK(ev->event == event && ev->status == status,
	      "got %s status %d, expected %s status %d", ev_name(ev->event),
	      ev->status, ev_name(event), status);
}

static uint32_t listen_port(struct client *c, uint16_t ps, uint16_t port,
			    int backlog, int *err)
{
	struct srxe_cm_listen_req r = { .cookie = 0x11,
					.chan_handle = c->chan,
					.port_space = ps,
					.backlog = backlog };
	struct srxe_cm_handle_resp resp = { 0 };

	r.addr.family = AF_INET;
	r.addr.port = port;
	*err = call(c, SRXE_OP_CM_LISTEN, &r, sizeof(r), &resp, sizeof(resp));
	return resp.handle;
}

static int connect_port(struct client *c, uint16_t ps, uint16_t port,
			uint32_t qpn, uint32_t *h)
{
	struct srxe_cm_connect_req r = { .cookie = 0x22,
					 .chan_handle = c->chan,
					 .port_space = ps };
	struct srxe_cm_handle_resp resp = { 0 };
	int ret;

	r.src.family = r.dst.family = AF_INET;
	memcpy(r.src.addr, ip4, 4);
	memcpy(r.dst.addr, ip4, 4);
	r.src.port = 50000;
	r.dst.port = port;
	memcpy(r.path.sgid, gid, 16);
	memcpy(r.path.dgid, gid, 16);
	r.path.hop_limit = 64;
	r.path.mtu = IBV_MTU_1024;
	r.param.qp_type = ps == SRXE_CM_PS_UDP ? IBV_QPT_UD : IBV_QPT_RC;
	r.param.qp_num = qpn;
	r.param.starting_psn = 0x100;
	r.param.retry_count = 7;
	r.param.rnr_retry_count = 7;
	r.private_data_len = 4;
	memcpy(r.private_data, "ping", 4);
	ret = call(c, SRXE_OP_CM_CONNECT, &r, sizeof(r), &resp, sizeof(resp));
	*h = resp.handle;
	return ret;
}

static int accept_conn(struct client *c, uint32_t h, uint8_t qpt)
{
	struct srxe_cm_accept_req r = { .cookie = 0x33, .conn_handle = h };

	r.param.qp_type = qpt;
	r.param.qp_num = 0x4242;
	r.param.qkey = 0x01234567;
	r.param.starting_psn = 0x200;
	r.private_data_len = 4;
	memcpy(r.private_data, "pong", 4);
	return call(c, SRXE_OP_CM_ACCEPT, &r, sizeof(r), NULL, 0);
}

/* Passive L, active A: a whole RC connection; returns the handles. */
static void connect_rc(struct client *l, struct client *a, uint16_t port,
		       uint32_t qpn, uint32_t *hl, uint32_t *ha)
{
	struct srxe_cm_event ev;

	CHECK(connect_port(a, SRXE_CM_PS_TCP, port, qpn, ha) == 0,
	      "CM_CONNECT: %s", a->conn.reason);
	expect(l, RDMA_CM_EVENT_CONNECT_REQUEST, 0, &ev, 3000);
	CHECK(ev.cookie == 0x11 && ev.param.qp_num == qpn &&
		      !memcmp(ev.private_data, "ping", 4) &&
		      ev.dst.port == 50000 && ev.src.port == port,
	      "CONNECT_REQUEST fields");
	*hl = ev.handle;
	CHECK(accept_conn(l, *hl, IBV_QPT_RC) == 0, "CM_ACCEPT: %s",
	      l->conn.reason);
	expect(a, RDMA_CM_EVENT_CONNECT_RESPONSE, 0, &ev, 3000);
	CHECK(ev.param.qp_num == 0x4242 && ev.handle == *ha &&
		      !memcmp(ev.private_data, "pong", 4),
	      "CONNECT_RESPONSE fields");
	CHECK(handle_op(a, SRXE_OP_CM_ESTABLISH, *ha) == 0, "CM_ESTABLISH: %s",
	      a->conn.reason);
	expect(l, RDMA_CM_EVENT_ESTABLISHED, 0, &ev, 3000);
	CHECK(ev.cookie == 0x33, "ESTABLISHED cookie");
}

static void basic(void)
{
	struct client l, a;
	struct srxe_cm_event ev;
	uint32_t hl, ha, h2;
	int err;

	client_open(&l);
	client_open(&a);
	listen_port(&l, SRXE_CM_PS_TCP, 7471, 8, &err);
	CHECK(err == 0, "CM_LISTEN: %s", l.conn.reason);
	listen_port(&a, SRXE_CM_PS_TCP, 7471, 8, &err);
	CHECK(err == EADDRINUSE, "second listen: %d", err);
	printf("listen, EADDRINUSE: ok\n");

	connect_rc(&l, &a, 7471, 0x51, &hl, &ha);
	printf("connect (REQ, REP, RTU): ok\n");
	CHECK(handle_op(&a, SRXE_OP_CM_DISCONNECT, ha) == 0, "disconnect");
	expect(&l, RDMA_CM_EVENT_DISCONNECTED, 0, NULL, 3000);
	CHECK(handle_op(&l, SRXE_OP_CM_DISCONNECT, hl) == 0, "disconnect");
	expect(&a, RDMA_CM_EVENT_DISCONNECTED, 0, NULL, 3000);
	expect(&a, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0, NULL, 3000);
	expect(&l, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0, NULL, 3000);
	CHECK(handle_op(&a, SRXE_OP_CM_DESTROY, ha) == 0, "destroy");
	CHECK(handle_op(&l, SRXE_OP_CM_DESTROY, hl) == 0, "destroy");
	printf("disconnect (DREQ, DREP), TimeWait exit: ok\n");

	CHECK(connect_port(&a, SRXE_CM_PS_TCP, 7999, 0x52, &h2) == 0,
	      "connect");
	expect(&a, RDMA_CM_EVENT_REJECTED, 8, NULL, 3000);
	printf("no listener: REJECTED 8: ok\n");

	listen_port(&l, SRXE_CM_PS_UDP, 7174, 8, &err);
	CHECK(err == 0, "UDP listen: %s", l.conn.reason);
	CHECK(connect_port(&a, SRXE_CM_PS_UDP, 7174, 0x53, &h2) == 0,
	      "SIDR connect");
	expect(&l, RDMA_CM_EVENT_CONNECT_REQUEST, 0, &ev, 3000);
	CHECK(accept_conn(&l, ev.handle, IBV_QPT_UD) == 0, "SIDR accept: %s",
	      l.conn.reason);
	expect(&a, RDMA_CM_EVENT_ESTABLISHED, 0, &ev, 3000);
	CHECK(ev.param.qp_num == 0x4242 && ev.param.qkey == 0x01234567,
	      "SIDR_REP qpn/qkey");
	printf("SIDR: ok\n");

	/* Client death: established -> DREQ, pending -> REJ 28. */
	connect_rc(&l, &a, 7471, 0x54, &hl, &ha);
	CHECK(connect_port(&a, SRXE_CM_PS_TCP, 7471, 0x55, &h2) == 0,
	      "connect");
	expect(&l, RDMA_CM_EVENT_CONNECT_REQUEST, 0, NULL, 3000);
	client_close(&l);
	for (int i = 0; i < 2; i++) {
		CHECK(wait_event(&a, &ev, 3000) == 0, "no event after death");
		if (ev.handle == ha)
			CHECK(ev.event == RDMA_CM_EVENT_DISCONNECTED,
			      "established: %s", ev_name(ev.event));
		else
			CHECK(ev.handle == h2 &&
				      ev.event == RDMA_CM_EVENT_REJECTED &&
				      ev.status == 28,
			      "pending: %s %d", ev_name(ev.event), ev.status);
	}
	printf("client death: ok\n");
	client_close(&a);
}

/*
 * One client floods a listener (backlog 16) with CONNECTs: srxed answers
 * ENOMEM at its connection cap and stays responsive; when the flooding
 * client exits, everything it held goes and a real client connects.
 */
static void flood(unsigned int n)
{
	struct client l, f, a;
	struct srxe_cm_event ev;
	unsigned int ok = 0, nomem = 0, reqs = 0;
	uint32_t h, hl, ha;
	int err, ret;

	client_open(&l);
	client_open(&f);
	listen_port(&l, SRXE_CM_PS_TCP, 7472, 16, &err);
	CHECK(err == 0, "CM_LISTEN: %s", l.conn.reason);
	for (unsigned int i = 0; i < n; i++) {
		ret = connect_port(&f, SRXE_CM_PS_TCP, 7472, 0x1000 + i, &h);
		if (ret == ENOMEM)
			nomem++;
		else
			CHECK(ret == 0, "CONNECT %u: %d %s", i, ret,
			      f.conn.reason);
		ok += !ret;
		/* the listener reads but never answers */
		while (wait_event(&l, &ev, 0) == 0)
			reqs++;
	}
	while (wait_event(&l, &ev, 200) == 0)
		reqs++;
	printf("flood: %u CONNECTs accepted by srxed, %u ENOMEM, %u "
	       "CONNECT_REQUESTs delivered (backlog 16)\n",
	       ok, nomem, reqs);
	CHECK(reqs == 16, "backlog not honoured: %u requests", reqs);
	CHECK(nomem > 0, "no connection cap");
	client_close(&f);
	client_close(&l);
	client_open(&l);
	client_open(&a);
	listen_port(&l, SRXE_CM_PS_TCP, 7472, 16, &err);
	CHECK(err == 0, "CM_LISTEN after the flood: %d %s", err, l.conn.reason);
	connect_rc(&l, &a, 7472, 0x99, &hl, &ha);
	printf("flood: real client connected afterwards: ok\n");
	client_close(&a);
	client_close(&l);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: cm_e2e SOCK IPV4 basic|flood\n");
		return 2;
	}
	sock_path = argv[1];
	CHECK(inet_pton(AF_INET, argv[2], ip4) == 1, "bad IPv4 %s", argv[2]);
	gid[10] = gid[11] = 0xff;
	memcpy(gid + 12, ip4, 4);
	if (!strcmp(argv[3], "basic"))
		basic();
	else if (!strcmp(argv[3], "flood"))
		flood(20000);
	else
		return 2;
	return 0;
}
