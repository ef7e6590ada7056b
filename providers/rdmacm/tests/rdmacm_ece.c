// SPDX-License-Identifier: MIT
/*
 * ECE (rdma_set_local_ece, rdma_get_remote_ece, rdma_reject_ece; librdmacm
 * RDMACM_1.3) end to end through srxed's CM, one process playing both
 * sides on one host (tests/integration/test_rdmacm_ece.sh):
 *   rdmacm_ece IP
 *  1. QP-less ids (the way ECE is used: UCX, DC): the client's ECE reaches
 *     the server in the CONNECT_REQUEST, the server's options come back
 *     with the client's vendor id in the CONNECT_RESPONSE;
 *  2. the server refuses the options: rdma_reject_ece, the client gets
 *     REJECTED with status 35 (vendor option not supported);
 *  3. an id with a QP sends the QP's ECE, which srxe's provider (like
 *     kernel rxe) does not have: the server sees none, the connection is
 *     established, and rdma_get_remote_ece refuses an id with a QP;
 *  4. a server accepting with a QP echoes the REQ's vendor id with the
 *     QP's options (none).
 * Only the public API (<rdma/rdma_cma.h>): it runs the same against
 * rdma-core's librdmacm on a kernel device.  Prints one line per step.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rdma/rdma_cma.h>

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fprintf(stderr, "\n");                                 \
			exit(1);                                               \
		}                                                              \
	} while (0)

#define VENDOR 0x02c9 /* any 24-bit IEEE OUI */

static struct rdma_event_channel *sch, *cch; /* server, client */

static struct rdma_cm_event *wait_event(struct rdma_event_channel *ch,
					enum rdma_cm_event_type want)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	CHECK(poll(&pfd, 1, 10000) == 1, "no %s within 10 s",
	      rdma_event_str(want));
	CHECK(!rdma_get_cm_event(ch, &ev), "rdma_get_cm_event: %s",
	      strerror(errno));
	CHECK(ev->event == want, "got %s (status %d), want %s",
	      rdma_event_str(ev->event), ev->status, rdma_event_str(want));
	return ev;
}

static void wait_ack(struct rdma_event_channel *ch,
		     enum rdma_cm_event_type want)
{
	rdma_ack_cm_event(wait_event(ch, want));
}

static struct ibv_ece remote_ece(struct rdma_cm_id *id)
{
	struct ibv_ece e = { .comp_mask = 0xdead };

	CHECK(!rdma_get_remote_ece(id, &e), "rdma_get_remote_ece: %s",
	      strerror(errno));
	CHECK(!e.comp_mask, "comp_mask %#x", e.comp_mask);
	return e;
}

static struct rdma_conn_param conn_param(uint32_t qpn)
{
	return (struct rdma_conn_param){ .qp_num = qpn,
					 .responder_resources = 1,
					 .initiator_depth = 1,
					 .retry_count = 7,
					 .rnr_retry_count = 7 };
}

/* A client id resolved to ip:port, its ECE set if ece is not NULL. */
static struct rdma_cm_id *client(const char *ip, uint16_t port,
				 const struct ibv_ece *ece)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	struct rdma_cm_id *id;

	CHECK(inet_pton(AF_INET, ip, &dst.sin_addr) == 1, "bad address %s", ip);
	CHECK(!rdma_create_id(cch, &id, NULL, RDMA_PS_TCP), "create_id: %s",
	      strerror(errno));
	if (ece)
		CHECK(!rdma_set_local_ece(id, (struct ibv_ece *)ece),
		      "rdma_set_local_ece: %s", strerror(errno));
	CHECK(!rdma_resolve_addr(id, NULL, (struct sockaddr *)&dst, 2000),
	      "resolve_addr: %s", strerror(errno));
	wait_ack(cch, RDMA_CM_EVENT_ADDR_RESOLVED);
	CHECK(!rdma_resolve_route(id, 2000), "resolve_route: %s",
	      strerror(errno));
	wait_ack(cch, RDMA_CM_EVENT_ROUTE_RESOLVED);
	return id;
}

/* The server's side of a connect: the new id, its REQ's ECE in *ece. */
static struct rdma_cm_id *request(struct ibv_ece *ece)
{
	struct rdma_cm_event *ev =
		wait_event(sch, RDMA_CM_EVENT_CONNECT_REQUEST);
	struct rdma_cm_id *id = ev->id;

	*ece = remote_ece(id);
	rdma_ack_cm_event(ev);
	return id;
}

static void bad_args(void)
{
	struct ibv_ece zero = { 0 },
		       mask = { .vendor_id = VENDOR, .comp_mask = 1 };
	struct rdma_cm_id *id;

	CHECK(!rdma_create_id(cch, &id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(rdma_set_local_ece(id, &zero) && errno == EINVAL,
	      "vendor id 0 accepted");
	CHECK(rdma_set_local_ece(id, &mask) && errno == EINVAL,
	      "comp_mask accepted");
	CHECK(rdma_set_local_ece(id, NULL) && errno == EINVAL, "NULL accepted");
	CHECK(rdma_get_remote_ece(id, NULL) && errno == EINVAL,
	      "NULL accepted");
	CHECK(!remote_ece(id).vendor_id, "remote ECE before any connect");
	rdma_destroy_id(id);
	printf("bad arguments: EINVAL\n");
}

/* 1: QP-less both sides, ECE both ways. */
static void qpless(const char *ip, uint16_t port)
{
	struct ibv_ece ce = { .vendor_id = VENDOR, .options = 0x80000005 };
	struct ibv_ece se = { .vendor_id = VENDOR, .options = 0x1 }, got;
	struct rdma_conn_param cp = conn_param(0x1234), sp = conn_param(0x4321);
	struct rdma_cm_id *cid = client(ip, port, &ce), *sid;
	struct rdma_cm_event *ev;

	CHECK(!rdma_connect(cid, &cp), "connect: %s", strerror(errno));
	sid = request(&got);
	printf("server got REQ ECE vendor %#x options %#x\n", got.vendor_id,
	       got.options);
	CHECK(got.vendor_id == VENDOR && got.options == 0x80000005,
	      "REQ's ECE lost");
	CHECK(!rdma_set_local_ece(sid, &se), "set_local_ece: %s",
	      strerror(errno));
	CHECK(!rdma_accept(sid, &sp), "accept: %s", strerror(errno));
	ev = wait_event(cch, RDMA_CM_EVENT_CONNECT_RESPONSE);
	CHECK(ev->param.conn.qp_num == 0x4321, "REP QPN %#x",
	      ev->param.conn.qp_num);
	got = remote_ece(cid);
	rdma_ack_cm_event(ev);
	printf("client got REP ECE vendor %#x options %#x\n", got.vendor_id,
	       got.options);
	CHECK(got.vendor_id == VENDOR && got.options == 0x1, "REP's ECE lost");
	CHECK(!rdma_establish(cid), "establish: %s", strerror(errno));
	wait_ack(sch, RDMA_CM_EVENT_ESTABLISHED);
	CHECK(!rdma_disconnect(cid), "disconnect: %s", strerror(errno));
	wait_ack(sch, RDMA_CM_EVENT_DISCONNECTED);
	CHECK(!rdma_disconnect(sid), "disconnect: %s", strerror(errno));
	wait_ack(cch, RDMA_CM_EVENT_DISCONNECTED);
	rdma_destroy_id(sid);
	rdma_destroy_id(cid);
	printf("QP-less connection with ECE: established\n");
}

/* 2: the server cannot take the options. */
static void reject(const char *ip, uint16_t port)
{
	struct ibv_ece ce = { .vendor_id = VENDOR, .options = 0x7 }, got;
	struct rdma_conn_param cp = conn_param(0x1235);
	struct rdma_cm_id *cid = client(ip, port, &ce), *sid;
	struct rdma_cm_event *ev;

	CHECK(!rdma_connect(cid, &cp), "connect: %s", strerror(errno));
	sid = request(&got);
	CHECK(got.vendor_id == VENDOR && got.options == 0x7, "REQ's ECE lost");
	CHECK(!rdma_reject_ece(sid, "ece", 3), "reject_ece: %s",
	      strerror(errno));
	ev = wait_event(cch, RDMA_CM_EVENT_REJECTED);
	printf("rdma_reject_ece: client REJECTED status %d\n", ev->status);
	CHECK(ev->status == 35, "status %d, want 35", ev->status);
	CHECK(ev->param.conn.private_data &&
		      !memcmp(ev->param.conn.private_data, "ece", 3),
	      "REJ private data lost");
	rdma_ack_cm_event(ev);
	rdma_destroy_id(sid);
	rdma_destroy_id(cid);
}

/* 3: a QP's ECE replaces the id's (librdmacm); srxe's QPs have none. */
static void with_qp(const char *ip, uint16_t port)
{
	struct ibv_ece ce = { .vendor_id = VENDOR, .options = 0x9 }, got;
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC,
				       .cap = { .max_send_wr = 4,
						.max_recv_wr = 4,
						.max_send_sge = 1,
						.max_recv_sge = 1 } };
	struct rdma_conn_param cp = conn_param(0), sp = conn_param(0x4322);
	struct rdma_cm_id *cid = client(ip, port, &ce), *sid;

	CHECK(!rdma_create_qp(cid, NULL, &qa), "create_qp: %s",
	      strerror(errno));
	CHECK(rdma_set_local_ece(cid, &ce) && errno == EINVAL,
	      "set_local_ece on an id with a QP");
	CHECK(rdma_get_remote_ece(cid, &got) && errno == EINVAL,
	      "get_remote_ece on an id with a QP");
	CHECK(!rdma_connect(cid, &cp), "connect: %s", strerror(errno));
	sid = request(&got);
	printf("id with a QP: server got REQ ECE vendor %#x options %#x\n",
	       got.vendor_id, got.options);
	CHECK(!got.vendor_id && !got.options, "the QP has no ECE here");
	CHECK(!rdma_accept(sid, &sp), "accept: %s", strerror(errno));
	wait_ack(cch, RDMA_CM_EVENT_ESTABLISHED);
	wait_ack(sch, RDMA_CM_EVENT_ESTABLISHED);
	CHECK(!rdma_disconnect(cid), "disconnect: %s", strerror(errno));
	wait_ack(sch, RDMA_CM_EVENT_DISCONNECTED);
	CHECK(!rdma_disconnect(sid), "disconnect: %s", strerror(errno));
	wait_ack(cch, RDMA_CM_EVENT_DISCONNECTED);
	rdma_destroy_qp(cid);
	rdma_destroy_id(sid);
	rdma_destroy_id(cid);
	printf("id with a QP: established without ECE\n");
}

/* 4: the server accepts on an id with a QP: the REP echoes the REQ's
 * vendor id with the QP's options (none), as librdmacm's accept. */
static void server_qp(const char *ip, uint16_t port)
{
	struct ibv_ece ce = { .vendor_id = VENDOR, .options = 0x3 }, got;
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC,
				       .cap = { .max_send_wr = 4,
						.max_recv_wr = 4,
						.max_send_sge = 1,
						.max_recv_sge = 1 } };
	struct rdma_conn_param cp = conn_param(0x1236), sp = conn_param(0);
	struct rdma_cm_id *cid = client(ip, port, &ce), *sid;

	CHECK(!rdma_connect(cid, &cp), "connect: %s", strerror(errno));
	sid = request(&got);
	CHECK(got.vendor_id == VENDOR && got.options == 0x3, "REQ's ECE lost");
	CHECK(!rdma_create_qp(sid, NULL, &qa), "create_qp: %s",
	      strerror(errno));
	CHECK(!rdma_accept(sid, &sp), "accept: %s", strerror(errno));
	rdma_ack_cm_event(wait_event(cch, RDMA_CM_EVENT_CONNECT_RESPONSE));
	got = remote_ece(cid);
	printf("server with a QP: client got REP ECE vendor %#x options %#x\n",
	       got.vendor_id, got.options);
	CHECK(got.vendor_id == VENDOR && !got.options, "REP's ECE");
	CHECK(!rdma_establish(cid), "establish: %s", strerror(errno));
	wait_ack(sch, RDMA_CM_EVENT_ESTABLISHED);
	CHECK(!rdma_disconnect(cid), "disconnect: %s", strerror(errno));
	wait_ack(sch, RDMA_CM_EVENT_DISCONNECTED);
	CHECK(!rdma_disconnect(sid), "disconnect: %s", strerror(errno));
	wait_ack(cch, RDMA_CM_EVENT_DISCONNECTED);
	rdma_destroy_qp(sid);
	rdma_destroy_id(sid);
	rdma_destroy_id(cid);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct rdma_cm_id *listen_id;
	uint16_t port;

	CHECK(argc == 2, "usage: rdmacm_ece IPV4");
	CHECK(inet_pton(AF_INET, argv[1], &sa.sin_addr) == 1, "bad address");
	sch = rdma_create_event_channel();
	cch = rdma_create_event_channel();
	CHECK(sch && cch, "rdma_create_event_channel: %s", strerror(errno));
	bad_args();
	CHECK(!rdma_create_id(sch, &listen_id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_bind_addr(listen_id, (struct sockaddr *)&sa), "bind: %s",
	      strerror(errno));
	CHECK(!rdma_listen(listen_id, 8), "listen: %s", strerror(errno));
	port = ntohs(rdma_get_src_port(listen_id));
	qpless(argv[1], port);
	reject(argv[1], port);
	with_qp(argv[1], port);
	server_qp(argv[1], port);
	rdma_destroy_id(listen_id);
	rdma_destroy_event_channel(cch);
	rdma_destroy_event_channel(sch);
	printf("PASS\n");
	return 0;
}
