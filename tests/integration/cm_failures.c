// SPDX-License-Identifier: MIT
/*
 * rdma_cm failure semantics (issue #11, must-show 5), through the public
 * librdmacm API only, so that the same program runs against srxe's
 * librdmacm (under `srxe exec`) and against kernel rdma_cm.
 *
 *   cm_failures no-listener ADDR PORT
 *	connect to a port nobody listens on: RDMA_CM_EVENT_REJECTED with
 *	status 8.  Kernel rdma_cm: the passive IB CM finds no listen for the
 *	REQ's service id and answers REJ reason IB_CM_REJ_INVALID_SERVICE_ID
 *	(= 8; Linux drivers/infiniband/core/cm.c, cm_match_req():
 *	"cm_issue_rej(..., IB_CM_REJ_INVALID_SERVICE_ID, CM_MSG_RESPONSE_REQ")
 *	and the active rdma_cm reports the REJ's reason as the status
 *	(drivers/infiniband/core/cma.c, cma_ib_handler(), case
 *	IB_CM_REJ_RECEIVED: "event.status = ib_event->param.rej_rcvd.reason;
 *	event.event = RDMA_CM_EVENT_REJECTED").
 *   cm_failures reject ADDR PORT
 *	a server (child process) rejects with private data: REJECTED with
 *	status 28 (IB_CM_REJ_CONSUMER_DEFINED, what rdma_reject() sends) and
 *	the private data delivered.
 *   cm_failures addr-in-use ADDR PORT
 *	in one process: a second id binding/listening on a listened port gets
 *	EADDRINUSE (rdma_bind_addr or rdma_listen; kernel: cma_use_port() ->
 *	cma_check_port() at bind time), the wildcard address on that port
 *	fails too (kernel: EADDRNOTAVAIL, also accepted: EADDRINUSE), and once
 *	the listener is destroyed the port can be bound and listened on again.
 *   cm_failures listen ADDR PORT SECONDS
 *	holds a listen for SECONDS (another process's EADDRINUSE check).
 *   cm_failures bind-expect ADDR PORT ok|EADDRINUSE|EACCES
 *	rdma_bind_addr + rdma_listen must succeed, or one of them fail with
 *	that errno.  Kernel rdma_cm refuses ports < 1024 without
 *	CAP_NET_BIND_SERVICE at bind (cma.c, cma_use_port(): "if (snum <
 *	PROT_SOCK && !capable(CAP_NET_BIND_SERVICE)) return -EACCES;").
 *   cm_failures peer-killed ADDR PORT client|server
 *	a connected peer (a child process, the client or the server side)
 *	is SIGKILLed: the survivor must get DISCONNECTED (or a timeout
 *	event) within PEER_KILL_BOUND_MS.  Prints the time it took.
 *   cm_failures serve ADDR PORT BACKLOG GATEFILE
 *	listens with BACKLOG and reads no event until GATEFILE exists (a flood
 *	hits the listen meanwhile); then rejects every request whose private
 *	data is not REAL_CLIENT_TAG (printing "drained after N requests" once
 *	no event came for 300 ms), accepts the real client, waits for its
 *	disconnect and prints "flood requests delivered: N" (the script
 *	compares N with BACKLOG).
 *   cm_failures connect ADDR PORT
 *	the real client: connects with REAL_CLIENT_TAG as private data
 *	(retried while REJECTED, up to 10 s), ESTABLISHED, disconnects.
 *   cm_failures no-route ADDR
 *	rdma_resolve_addr to an address without a route fails at once or
 *	gives ADDR_ERROR, within the resolve timeout (no hang).
 *   cm_failures disconnect-after-data ADDR PORT polled|unpolled
 *	in one process: a client sends one message to the server and, once
 *	its send completed (the receive is in the server's CQ), disconnects.
 *	The server gets DISCONNECTED and, polled or not before, finds the
 *	receive intact in its CQ.  srxe holds the event while such a
 *	completion is unpolled (docs/rdmacm.md): the script checks srxed's
 *	count of held disconnects moves for "unpolled" only.
 *   cm_failures device-removal ADDR PORT SRXED_PID
 *	a listen and a resolved id on the device; a thread kills srxed
 *	(SIGKILL) while the main thread blocks in rdma_get_cm_event: it must
 *	return RDMA_CM_EVENT_DEVICE_REMOVAL for both ids within
 *	REMOVAL_BOUND_MS, and the ids can then be destroyed (no hang).
 *
 * Prints one "ok: ..." line per passed check; exits 0, or prints
 * "FAIL (...)" lines naming what was seen instead and exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>

static const char *who = "cm_failures";
static int failures;

#include "itest.h"

extern char **environ;

#define IB_CM_REJ_INVALID_SERVICE_ID 8
#define IB_CM_REJ_CONSUMER_DEFINED   28
#define EVENT_WAIT_MS		     10000
#define PEER_KILL_BOUND_MS	     10000
#define REMOVAL_BOUND_MS	     5000
#define REAL_CLIENT_TAG		     "srxe-real-client"
#define REJECT_TAG		     "cm_failures says no"

/* An event, copied out of the library's struct, then acked. */
struct got {
	enum rdma_cm_event_type type;
	int status;
	struct rdma_cm_id *id, *listen_id;
	uint8_t pdata_len;
	uint8_t pdata[256];
};

/* Verbs objects of every id with a QP; kept reachable until exit. */
struct qp_res {
	struct ibv_pd *pd;
	struct ibv_cq *cq;
};
static struct qp_res qp_res[64];
static int nr_qp_res;

static const char *ev_name(enum rdma_cm_event_type t)
{
	return rdma_event_str(t);
}

static struct sockaddr_in ipv4(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		die("not an IPv4 address: %s", addr);
	return sin;
}

/*
 * Next event within @timeout_ms (-1: block in rdma_get_cm_event without
 * polling first).  0, -ETIMEDOUT, or -errno of rdma_get_cm_event.
 */
static int next_event(struct rdma_event_channel *ch, int timeout_ms,
		      struct got *g)
{
	struct rdma_cm_event *ev;

	if (timeout_ms >= 0) {
		struct pollfd p = { .fd = ch->fd, .events = POLLIN };
		int n;

		do {
			n = poll(&p, 1, timeout_ms);
		} while (n < 0 && errno == EINTR);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0)
			return -errno;
	}
	if (rdma_get_cm_event(ch, &ev))
		return -errno;
	memset(g, 0, sizeof(*g));
	g->type = ev->event;
	g->status = ev->status;
	g->id = ev->id;
	g->listen_id = ev->listen_id;
	if (ev->param.conn.private_data && ev->param.conn.private_data_len) {
		g->pdata_len = ev->param.conn.private_data_len;
		memcpy(g->pdata, ev->param.conn.private_data, g->pdata_len);
	}
	rdma_ack_cm_event(ev);
	return 0;
}

/* Waits for one event of type @want; dies naming what came instead. */
static void expect_event(struct rdma_event_channel *ch,
			 enum rdma_cm_event_type want, struct got *g,
			 const char *step)
{
	int ret = next_event(ch, EVENT_WAIT_MS, g);

	if (ret)
		die("%s: no %s within %d ms: %s", step, ev_name(want),
		    EVENT_WAIT_MS, strerror(-ret));
	if (g->type != want)
		die("%s: got %s (status %d), expected %s", step,
		    ev_name(g->type), g->status, ev_name(want));
}

static void make_qp(struct rdma_cm_id *id)
{
	struct ibv_qp_init_attr attr = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4,
			 .max_recv_wr = 4,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	struct qp_res *r;

	if (nr_qp_res == (int)(sizeof(qp_res) / sizeof(qp_res[0])))
		die("too many QPs");
	if (!id->verbs)
		die("id has no verbs context after route resolution");
	r = &qp_res[nr_qp_res++];
	r->pd = ibv_alloc_pd(id->verbs);
	if (!r->pd)
		die("ibv_alloc_pd: %s", strerror(errno));
	r->cq = ibv_create_cq(id->verbs, 8, NULL, NULL, 0);
	if (!r->cq)
		die("ibv_create_cq: %s", strerror(errno));
	attr.send_cq = attr.recv_cq = r->cq;
	if (rdma_create_qp(id, r->pd, &attr))
		die("rdma_create_qp: %s", strerror(errno));
}

static struct rdma_event_channel *channel(void)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();

	if (!ch)
		die("rdma_create_event_channel: %s", strerror(errno));
	return ch;
}

static struct rdma_cm_id *new_id(struct rdma_event_channel *ch)
{
	struct rdma_cm_id *id;

	if (rdma_create_id(ch, &id, NULL, RDMA_PS_TCP))
		die("rdma_create_id: %s", strerror(errno));
	return id;
}

/*
 * Active side up to rdma_connect: resolve address and route, QP, connect
 * with @pdata.  Returns the id; the caller reads the outcome event.
 */
static struct rdma_cm_id *start_connect(struct rdma_event_channel *ch,
					const char *addr, int port,
					const char *pdata)
{
	struct sockaddr_in dst = ipv4(addr, port);
	struct rdma_conn_param param = {
		.responder_resources = 1,
		.initiator_depth = 1,
		.retry_count = 7,
		.rnr_retry_count = 7,
	};
	struct rdma_cm_id *id = new_id(ch);
	struct got g;

	if (rdma_resolve_addr(id, NULL, (struct sockaddr *)&dst, 2000))
		die("rdma_resolve_addr %s: %s", addr, strerror(errno));
	expect_event(ch, RDMA_CM_EVENT_ADDR_RESOLVED, &g, "resolve_addr");
	if (rdma_resolve_route(id, 2000))
		die("rdma_resolve_route: %s", strerror(errno));
	expect_event(ch, RDMA_CM_EVENT_ROUTE_RESOLVED, &g, "resolve_route");
	make_qp(id);
	if (pdata) {
		param.private_data = pdata;
		param.private_data_len = (uint8_t)(strlen(pdata) + 1);
	}
	if (rdma_connect(id, &param))
		die("rdma_connect: %s", strerror(errno));
	return id;
}

static void destroy(struct rdma_cm_id *id)
{
	if (id->qp)
		rdma_destroy_qp(id);
	if (rdma_destroy_id(id))
		die("rdma_destroy_id: %s", strerror(errno));
}

/* rdma_bind_addr then rdma_listen: 0 or the errno of the failing call,
 * whose name goes to *@where. */
static int bind_listen(struct rdma_cm_id *id, const char *addr, int port,
		       const char **where)
{
	struct sockaddr_in sin = ipv4(addr, port);

	*where = "rdma_bind_addr";
	if (rdma_bind_addr(id, (struct sockaddr *)&sin))
		return errno;
	*where = "rdma_listen";
	if (rdma_listen(id, 8))
		return errno;
	*where = NULL;
	return 0;
}

static int cmd_no_listener(const char *addr, int port)
{
	struct rdma_event_channel *ch = channel();
	uint64_t t0 = now_ms();
	struct rdma_cm_id *id = start_connect(ch, addr, port, NULL);
	struct got g;
	int ret = next_event(ch, EVENT_WAIT_MS, &g);

	if (ret)
		die("connect to %s:%d (no listener): no event within %d ms "
		    "(expected REJECTED status %d)",
		    addr, port, EVENT_WAIT_MS, IB_CM_REJ_INVALID_SERVICE_ID);
	if (EXPECT(g.type == RDMA_CM_EVENT_REJECTED &&
			   g.status == IB_CM_REJ_INVALID_SERVICE_ID,
		   "connect to %s:%d (no listener): got %s status %d, "
		   "expected REJECTED status %d (IB_CM_REJ_INVALID_SERVICE_ID)",
		   addr, port, ev_name(g.type), g.status,
		   IB_CM_REJ_INVALID_SERVICE_ID))
		printf("ok: no listener: REJECTED status %d after %llu ms\n",
		       g.status, (unsigned long long)(now_ms() - t0));
	destroy(id);
	rdma_destroy_event_channel(ch);
	return failures ? 1 : 0;
}

static pid_t spawn_self(const char *role, const char *addr, int port)
{
	char portstr[16];
	char *argv[] = { "cm_failures", (char *)role, (char *)addr, portstr,
			 NULL };
	pid_t pid;
	int ret;

	snprintf(portstr, sizeof(portstr), "%d", port);
	ret = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
	if (ret)
		die("posix_spawn %s: %s", role, strerror(ret));
	return pid;
}

/*
 * Connects to a server that a child process is starting: REJECTED (no
 * listen yet) is retried for up to 10 s.  Returns the connected id with
 * the final event in *@g (ESTABLISHED, or what came instead).
 */
static struct rdma_cm_id *connect_retry(struct rdma_event_channel *ch,
					const char *addr, int port,
					const char *pdata, struct got *g)
{
	uint64_t until = now_ms() + 10000;

	for (;;) {
		struct rdma_cm_id *id = start_connect(ch, addr, port, pdata);
		int ret = next_event(ch, EVENT_WAIT_MS, g);

		if (ret)
			die("connect to %s:%d: no event within %d ms", addr,
			    port, EVENT_WAIT_MS);
		if (g->type != RDMA_CM_EVENT_REJECTED ||
		    g->status != IB_CM_REJ_INVALID_SERVICE_ID ||
		    now_ms() > until)
			return id;
		destroy(id);
		usleep(100 * 1000);
	}
}

/* Child of `reject`: listen, reject the first request with REJECT_TAG. */
static int role_reject_server(const char *addr, int port)
{
	struct rdma_event_channel *ch = channel();
	struct rdma_cm_id *lid = new_id(ch);
	const char *where;
	struct got g;
	int ret = bind_listen(lid, addr, port, &where);

	if (ret)
		die("%s: %s", where, strerror(ret));
	expect_event(ch, RDMA_CM_EVENT_CONNECT_REQUEST, &g, "reject server");
	if (rdma_reject(g.id, REJECT_TAG, sizeof(REJECT_TAG)))
		die("rdma_reject: %s", strerror(errno));
	destroy(g.id);
	destroy(lid);
	rdma_destroy_event_channel(ch);
	return 0;
}

static int reap(pid_t pid, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		die("waitpid %s: %s", what, strerror(errno));
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

static int cmd_reject(const char *addr, int port)
{
	pid_t srv = spawn_self("role-reject-server", addr, port);
	struct rdma_event_channel *ch = channel();
	struct got g;
	struct rdma_cm_id *id = connect_retry(ch, addr, port, NULL, &g);
	int rc;

	if (EXPECT(g.type == RDMA_CM_EVENT_REJECTED &&
			   g.status == IB_CM_REJ_CONSUMER_DEFINED,
		   "rejected by the server: got %s status %d, expected "
		   "REJECTED status %d",
		   ev_name(g.type), g.status, IB_CM_REJ_CONSUMER_DEFINED) &&
	    EXPECT(g.pdata_len >= sizeof(REJECT_TAG) &&
			   !memcmp(g.pdata, REJECT_TAG, sizeof(REJECT_TAG)),
		   "REJECTED carries %u bytes of private data, not the "
		   "server's \"%s\"",
		   g.pdata_len, REJECT_TAG))
		printf("ok: rdma_reject: REJECTED status %d with the server's "
		       "private data (%u bytes)\n",
		       g.status, g.pdata_len);
	destroy(id);
	rdma_destroy_event_channel(ch);
	rc = reap(srv, "reject server");
	EXPECT(rc == 0, "reject server exited with %d", rc);
	return failures ? 1 : 0;
}

static bool err_is(int got, int want, int alt)
{
	return got == want || (alt && got == alt);
}

static int cmd_addr_in_use(const char *addr, int port)
{
	struct rdma_event_channel *ch = channel();
	struct rdma_cm_id *a = new_id(ch), *b = new_id(ch), *c = new_id(ch);
	struct rdma_cm_id *d;
	const char *where;
	int ret;

	ret = bind_listen(a, addr, port, &where);
	if (ret)
		die("first listener on %s:%d: %s: %s", addr, port, where,
		    strerror(ret));
	ret = bind_listen(b, addr, port, &where);
	if (EXPECT(ret == EADDRINUSE,
		   "second listener on %s:%d (same process): %s, expected "
		   "EADDRINUSE",
		   addr, port, ret ? strerror(ret) : "succeeded"))
		printf("ok: same-process second listener: %s gave "
		       "EADDRINUSE\n",
		       where);
	ret = bind_listen(c, "0.0.0.0", port, &where);
	if (EXPECT(err_is(ret, EADDRNOTAVAIL, EADDRINUSE),
		   "wildcard listener on taken port %d: %s, expected "
		   "EADDRNOTAVAIL (kernel) or EADDRINUSE",
		   port, ret ? strerror(ret) : "succeeded"))
		printf("ok: wildcard listener on the taken port: %s gave %s\n",
		       where, strerror(ret));
	destroy(b);
	destroy(c);
	destroy(a);
	/* The port is free again once its listener is gone. */
	d = new_id(ch);
	ret = bind_listen(d, addr, port, &where);
	if (EXPECT(ret == 0,
		   "listen on %s:%d after its listener was destroyed: %s: %s",
		   addr, port, where ? where : "", strerror(ret)))
		printf("ok: port free again after rdma_destroy_id\n");
	destroy(d);
	rdma_destroy_event_channel(ch);
	return failures ? 1 : 0;
}

static int cmd_listen(const char *addr, int port, int seconds)
{
	struct rdma_event_channel *ch = channel();
	struct rdma_cm_id *id = new_id(ch);
	const char *where;
	int ret = bind_listen(id, addr, port, &where);

	if (ret)
		die("listen on %s:%d: %s: %s", addr, port, where,
		    strerror(ret));
	printf("listening on %s:%d\n", addr, port);
	fflush(stdout);
	sleep((unsigned int)seconds);
	destroy(id);
	rdma_destroy_event_channel(ch);
	return 0;
}

static int cmd_bind_expect(const char *addr, int port, const char *want)
{
	struct rdma_event_channel *ch = channel();
	struct rdma_cm_id *id = new_id(ch);
	const char *where;
	int ret = bind_listen(id, addr, port, &where);
	int want_err = !strcmp(want, "ok")	     ? 0
		       : !strcmp(want, "EADDRINUSE") ? EADDRINUSE
		       : !strcmp(want, "EACCES")     ? EACCES
						     : -1;

	if (want_err < 0)
		die("unknown expectation %s", want);
	if (EXPECT(ret == want_err,
		   "bind+listen %s:%d as uid %u: %s%s%s, expected %s", addr,
		   port, (unsigned int)getuid(), where ? where : "",
		   where ? ": " : "", ret ? strerror(ret) : "succeeded", want))
		printf("ok: bind+listen %s:%d as uid %u: %s%s%s\n", addr, port,
		       (unsigned int)getuid(), where ? where : "",
		       where ? " gave " : "", ret ? strerror(ret) : "ok");
	destroy(id);
	rdma_destroy_event_channel(ch);
	return failures ? 1 : 0;
}

/* Child roles of peer-killed: connect/accept, then wait to be killed. */
static int role_peer(const char *addr, int port, bool server)
{
	struct rdma_event_channel *ch = channel();
	struct rdma_conn_param param = { .responder_resources = 1,
					 .initiator_depth = 1,
					 .rnr_retry_count = 7 };
	struct got g;

	if (server) {
		struct rdma_cm_id *lid = new_id(ch);
		const char *where;
		int ret = bind_listen(lid, addr, port, &where);

		if (ret)
			die("%s: %s", where, strerror(ret));
		expect_event(ch, RDMA_CM_EVENT_CONNECT_REQUEST, &g,
			     "peer server");
		make_qp(g.id);
		if (rdma_accept(g.id, &param))
			die("rdma_accept: %s", strerror(errno));
		expect_event(ch, RDMA_CM_EVENT_ESTABLISHED, &g, "peer server");
	} else {
		connect_retry(ch, addr, port, NULL, &g);
		if (g.type != RDMA_CM_EVENT_ESTABLISHED)
			die("peer client: got %s status %d", ev_name(g.type),
			    g.status);
	}
	for (;;)
		pause(); /* until SIGKILL */
}

static int cmd_peer_killed(const char *addr, int port, const char *victim)
{
	bool kill_client = !strcmp(victim, "client");
	struct rdma_event_channel *ch = channel();
	struct rdma_conn_param param = { .responder_resources = 1,
					 .initiator_depth = 1,
					 .rnr_retry_count = 7 };
	struct rdma_cm_id *conn, *lid = NULL;
	uint64_t t0, dt;
	struct got g;
	pid_t child;
	int ret;

	if (kill_client) {
		const char *where;

		lid = new_id(ch);
		ret = bind_listen(lid, addr, port, &where);
		if (ret)
			die("%s: %s", where, strerror(ret));
		child = spawn_self("role-peer-client", addr, port);
		expect_event(ch, RDMA_CM_EVENT_CONNECT_REQUEST, &g,
			     "survivor server");
		conn = g.id;
		make_qp(conn);
		if (rdma_accept(conn, &param))
			die("rdma_accept: %s", strerror(errno));
		expect_event(ch, RDMA_CM_EVENT_ESTABLISHED, &g,
			     "survivor server");
	} else {
		child = spawn_self("role-peer-server", addr, port);
		conn = connect_retry(ch, addr, port, NULL, &g);
		if (g.type != RDMA_CM_EVENT_ESTABLISHED)
			die("survivor client: got %s status %d, expected "
			    "ESTABLISHED",
			    ev_name(g.type), g.status);
	}
	/* Let the peer see its own ESTABLISHED before it dies. */
	usleep(200 * 1000);
	t0 = now_ms();
	kill(child, SIGKILL);
	ret = next_event(ch, PEER_KILL_BOUND_MS, &g);
	dt = now_ms() - t0;
	reap(child, "killed peer");
	if (ret) {
		EXPECT(false,
		       "%s killed: the survivor got no event within %d ms",
		       victim, PEER_KILL_BOUND_MS);
	} else if (EXPECT(g.type == RDMA_CM_EVENT_DISCONNECTED ||
				  ((g.type == RDMA_CM_EVENT_CONNECT_ERROR ||
				    g.type == RDMA_CM_EVENT_UNREACHABLE) &&
				   g.status == -ETIMEDOUT),
			  "%s killed: the survivor got %s status %d, expected "
			  "DISCONNECTED (or a timeout event)",
			  victim, ev_name(g.type), g.status)) {
		printf("ok: %s killed mid-connection: survivor got %s "
		       "(status %d) after %llu ms (bound %d ms)\n",
		       victim, ev_name(g.type), g.status,
		       (unsigned long long)dt, PEER_KILL_BOUND_MS);
	}
	rdma_disconnect(conn); /* DREP, or nothing: either is fine */
	destroy(conn);
	if (lid)
		destroy(lid);
	rdma_destroy_event_channel(ch);
	return failures ? 1 : 0;
}

static bool gate_open(const char *path)
{
	return access(path, F_OK) == 0;
}

static int cmd_serve(const char *addr, int port, int backlog, const char *gate)
{
	struct rdma_event_channel *ch = channel();
	struct rdma_conn_param param = { .responder_resources = 1,
					 .initiator_depth = 1,
					 .rnr_retry_count = 7 };
	struct rdma_cm_id *lid = new_id(ch);
	struct sockaddr_in sin = ipv4(addr, port);
	unsigned long flood = 0, other = 0;
	bool real_done = false, drained = false;
	uint64_t until;
	struct got g;

	if (rdma_bind_addr(lid, (struct sockaddr *)&sin) ||
	    rdma_listen(lid, backlog))
		die("listen on %s:%d: %s", addr, port, strerror(errno));
	printf("listening on %s:%d backlog %d\n", addr, port, backlog);
	fflush(stdout);
	while (!gate_open(gate))
		usleep(50 * 1000);
	until = now_ms() + 60000;
	while (!real_done && now_ms() < until) {
		int ret = next_event(ch, 300, &g);

		if (ret == -ETIMEDOUT) {
			/* The backlog is empty now: a client's REQ cannot
			 * be dropped for it any more. */
			if (!drained)
				printf("drained after %lu requests\n", flood);
			drained = true;
			continue;
		}
		if (ret)
			die("rdma_get_cm_event: %s", strerror(-ret));
		switch (g.type) {
		case RDMA_CM_EVENT_CONNECT_REQUEST:
			if (g.pdata_len >= sizeof(REAL_CLIENT_TAG) &&
			    !memcmp(g.pdata, REAL_CLIENT_TAG,
				    sizeof(REAL_CLIENT_TAG))) {
				make_qp(g.id);
				if (rdma_accept(g.id, &param))
					die("rdma_accept: %s", strerror(errno));
				printf("real client: accepted (after %lu "
				       "flood requests)\n",
				       flood);
				fflush(stdout);
				break;
			}
			flood++;
			if (rdma_reject(g.id, NULL, 0))
				die("rdma_reject: %s", strerror(errno));
			destroy(g.id);
			break;
		case RDMA_CM_EVENT_ESTABLISHED:
			printf("real client: established\n");
			fflush(stdout);
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
			printf("real client: disconnected\n");
			rdma_disconnect(g.id);
			destroy(g.id);
			real_done = true;
			break;
		default:
			other++;
			printf("event %s status %d\n", ev_name(g.type),
			       g.status);
			break;
		}
	}
	printf("flood requests delivered: %lu, other events %lu\n", flood,
	       other);
	EXPECT(real_done, "the real client did not connect and disconnect "
			  "within 60 s");
	destroy(lid);
	rdma_destroy_event_channel(ch);
	return failures ? 1 : 0;
}

static int cmd_connect(const char *addr, int port)
{
	struct rdma_event_channel *ch = channel();
	uint64_t t0 = now_ms();
	struct got g;
	struct rdma_cm_id *id =
		connect_retry(ch, addr, port, REAL_CLIENT_TAG, &g);

	if (!EXPECT(g.type == RDMA_CM_EVENT_ESTABLISHED,
		    "real client: got %s status %d, expected ESTABLISHED",
		    ev_name(g.type), g.status))
		return 1;
	printf("ok: real client connected in %llu ms\n",
	       (unsigned long long)(now_ms() - t0));
	if (rdma_disconnect(id))
		die("rdma_disconnect: %s", strerror(errno));
	expect_event(ch, RDMA_CM_EVENT_DISCONNECTED, &g, "real client");
	destroy(id);
	rdma_destroy_event_channel(ch);
	return failures ? 1 : 0;
}

static int cmd_no_route(const char *addr)
{
	struct rdma_event_channel *ch = channel();
	struct rdma_cm_id *id = new_id(ch);
	struct sockaddr_in dst = ipv4(addr, 7471);
	uint64_t t0 = now_ms();
	struct got g;
	int ret;

	if (rdma_resolve_addr(id, NULL, (struct sockaddr *)&dst, 2000)) {
		printf("ok: rdma_resolve_addr %s without a route failed at "
		       "once: %s\n",
		       addr, strerror(errno));
	} else {
		ret = next_event(ch, 2000 + EVENT_WAIT_MS, &g);
		if (EXPECT(!ret, "rdma_resolve_addr %s: no event within %d ms",
			   addr, 2000 + EVENT_WAIT_MS) &&
		    EXPECT(g.type == RDMA_CM_EVENT_ADDR_ERROR,
			   "rdma_resolve_addr %s (no route): got %s status %d, "
			   "expected ADDR_ERROR",
			   addr, ev_name(g.type), g.status))
			printf("ok: rdma_resolve_addr %s without a route: "
			       "ADDR_ERROR status %d after %llu ms\n",
			       addr, g.status,
			       (unsigned long long)(now_ms() - t0));
	}
	destroy(id);
	rdma_destroy_event_channel(ch);
	return failures ? 1 : 0;
}

struct killer {
	pid_t pid;
	uint64_t at;
};

static void *kill_later(void *arg)
{
	struct killer *k = arg;

	usleep(500 * 1000);
	k->at = now_ms();
	if (kill(k->pid, SIGKILL))
		fprintf(stderr, "kill %d: %s\n", (int)k->pid, strerror(errno));
	return NULL;
}

static void *watchdog(void *arg)
{
	(void)arg;
	sleep(30);
	fprintf(stderr, "FAIL (cm_failures): device-removal hangs (30 s)\n");
	_exit(2);
}

static int cmd_device_removal(const char *addr, int port, int srxed_pid)
{
	struct rdma_event_channel *ch = channel();
	struct rdma_cm_id *lid = new_id(ch), *cid = new_id(ch);
	struct sockaddr_in dst = ipv4(addr, port + 1);
	struct killer k = { .pid = srxed_pid };
	pthread_t killer_thr, dog;
	bool removed_l = false, removed_c = false;
	const char *where;
	struct got g;
	int ret;

	ret = bind_listen(lid, addr, port, &where);
	if (ret)
		die("%s: %s", where, strerror(ret));
	if (rdma_resolve_addr(cid, NULL, (struct sockaddr *)&dst, 2000))
		die("rdma_resolve_addr: %s", strerror(errno));
	expect_event(ch, RDMA_CM_EVENT_ADDR_RESOLVED, &g, "resolve_addr");
	if (pthread_create(&dog, NULL, watchdog, NULL) ||
	    pthread_create(&killer_thr, NULL, kill_later, &k))
		die("pthread_create failed");
	/* Blocking calls: the kill happens while the first one waits. */
	while (!(removed_l && removed_c)) {
		ret = next_event(ch, -1, &g);
		if (ret) {
			EXPECT(false, "rdma_get_cm_event after srxed died: %s",
			       strerror(-ret));
			break;
		}
		if (!EXPECT(g.type == RDMA_CM_EVENT_DEVICE_REMOVAL,
			    "srxed killed: got %s status %d, expected "
			    "DEVICE_REMOVAL",
			    ev_name(g.type), g.status))
			break;
		if (g.id == lid)
			removed_l = true;
		else if (g.id == cid)
			removed_c = true;
		else
			EXPECT(false, "DEVICE_REMOVAL for an unknown id %p",
			       (void *)g.id);
	}
	pthread_join(killer_thr, NULL);
	if (removed_l && removed_c) {
		uint64_t dt = now_ms() - k.at;

		if (EXPECT(dt <= REMOVAL_BOUND_MS,
			   "DEVICE_REMOVAL came %llu ms after the kill, bound "
			   "%d ms",
			   (unsigned long long)dt, REMOVAL_BOUND_MS))
			printf("ok: srxed killed: DEVICE_REMOVAL for the "
			       "listen and the resolved id within %llu ms\n",
			       (unsigned long long)dt);
	}
	/* Tearing down after the device is gone must not hang either. */
	rdma_destroy_id(lid);
	rdma_destroy_id(cid);
	rdma_destroy_event_channel(ch);
	printf("ok: ids and channel destroyed after the removal\n");
	return failures ? 1 : 0;
}

/* A registered buffer on the PD of the id's QP (make_qp's last). */
static struct ibv_mr *reg_last_pd(void *buf, size_t len)
{
	struct ibv_mr *mr = ibv_reg_mr(qp_res[nr_qp_res - 1].pd, buf, len,
				       IBV_ACCESS_LOCAL_WRITE);

	if (!mr)
		die("ibv_reg_mr: %s", strerror(errno));
	return mr;
}

static void expect_recv(struct ibv_cq *cq, const char *buf, const char *msg,
			const char *when)
{
	struct ibv_wc wc;

	if (itest_poll_one(cq, &wc, EVENT_WAIT_MS) != 1)
		die("%s: the server's receive is not in its CQ", when);
	EXPECT(wc.status == IBV_WC_SUCCESS && wc.opcode == IBV_WC_RECV &&
		       !strcmp(buf, msg),
	       "%s: receive %s, opcode %d, data \"%.32s\"", when,
	       ibv_wc_status_str(wc.status), wc.opcode, buf);
}

static int cmd_disconnect_after_data(const char *addr, int port,
				     const char *mode)
{
	static const char msg[] = "sent before the disconnect";
	static char sbuf[64], rbuf[64];
	bool polled = !strcmp(mode, "polled");
	struct rdma_event_channel *sch = channel(), *cch = channel();
	struct rdma_conn_param param = { .responder_resources = 1,
					 .initiator_depth = 1,
					 .rnr_retry_count = 7 };
	struct rdma_cm_id *lid = new_id(sch), *cid, *sid;
	struct ibv_cq *scq, *ccq;
	struct ibv_mr *smr, *rmr;
	struct ibv_sge sge;
	struct ibv_recv_wr rwr = { .sg_list = &sge, .num_sge = 1 }, *rbad;
	struct ibv_send_wr swr = { .sg_list = &sge,
				   .num_sge = 1,
				   .opcode = IBV_WR_SEND,
				   .send_flags = IBV_SEND_SIGNALED },
			   *sbad;
	const char *where;
	struct ibv_wc wc;
	struct got g;
	int ret = bind_listen(lid, addr, port, &where);

	if (ret)
		die("%s: %s", where, strerror(ret));
	cid = start_connect(cch, addr, port, NULL);
	ccq = qp_res[nr_qp_res - 1].cq;
	smr = reg_last_pd(sbuf, sizeof(sbuf));
	expect_event(sch, RDMA_CM_EVENT_CONNECT_REQUEST, &g, "server");
	sid = g.id;
	make_qp(sid);
	scq = qp_res[nr_qp_res - 1].cq;
	rmr = reg_last_pd(rbuf, sizeof(rbuf));
	sge = (struct ibv_sge){ (uintptr_t)rbuf, sizeof(rbuf), rmr->lkey };
	if (ibv_post_recv(sid->qp, &rwr, &rbad))
		die("ibv_post_recv: %s", strerror(errno));
	if (rdma_accept(sid, &param))
		die("rdma_accept: %s", strerror(errno));
	expect_event(cch, RDMA_CM_EVENT_ESTABLISHED, &g, "client");
	expect_event(sch, RDMA_CM_EVENT_ESTABLISHED, &g, "server");
	memcpy(sbuf, msg, sizeof(msg));
	sge = (struct ibv_sge){ (uintptr_t)sbuf, sizeof(msg), smr->lkey };
	if (ibv_post_send(cid->qp, &swr, &sbad))
		die("ibv_post_send: %s", strerror(errno));
	if (itest_poll_one(ccq, &wc, EVENT_WAIT_MS) != 1 ||
	    wc.status != IBV_WC_SUCCESS)
		die("the client's send did not complete");
	if (polled)
		expect_recv(scq, rbuf, msg, "polled before the disconnect");
	if (rdma_disconnect(cid))
		die("rdma_disconnect (client): %s", strerror(errno));
	expect_event(sch, RDMA_CM_EVENT_DISCONNECTED, &g, "server");
	if (!polled)
		expect_recv(scq, rbuf, msg, "polled after DISCONNECTED");
	if (rdma_disconnect(sid))
		die("rdma_disconnect (server): %s", strerror(errno));
	expect_event(cch, RDMA_CM_EVENT_DISCONNECTED, &g, "client");
	ibv_dereg_mr(smr);
	ibv_dereg_mr(rmr);
	if (!failures)
		printf("ok: disconnect after data (%s): DISCONNECTED, the "
		       "receive intact\n",
		       mode);
	return failures ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: cm_failures no-listener|reject|addr-in-use|connect "
		"ADDR PORT\n"
		"       cm_failures listen ADDR PORT SECONDS\n"
		"       cm_failures bind-expect ADDR PORT "
		"ok|EADDRINUSE|EACCES\n"
		"       cm_failures peer-killed ADDR PORT client|server\n"
		"       cm_failures serve ADDR PORT BACKLOG GATEFILE\n"
		"       cm_failures no-route ADDR\n"
		"       cm_failures device-removal ADDR PORT SRXED_PID\n"
		"       cm_failures disconnect-after-data ADDR PORT "
		"polled|unpolled\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd, *addr;
	int port;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	cmd = argv[1];
	addr = argv[2];
	if (!strcmp(cmd, "no-route"))
		return cmd_no_route(addr);
	if (argc < 4)
		usage();
	port = atoi(argv[3]);
	if (!strcmp(cmd, "no-listener"))
		return cmd_no_listener(addr, port);
	if (!strcmp(cmd, "reject"))
		return cmd_reject(addr, port);
	if (!strcmp(cmd, "role-reject-server"))
		return role_reject_server(addr, port);
	if (!strcmp(cmd, "addr-in-use"))
		return cmd_addr_in_use(addr, port);
	if (!strcmp(cmd, "connect"))
		return cmd_connect(addr, port);
	if (!strcmp(cmd, "role-peer-server"))
		return role_peer(addr, port, true);
	if (!strcmp(cmd, "role-peer-client"))
		return role_peer(addr, port, false);
	if (argc < 5)
		usage();
	if (!strcmp(cmd, "listen"))
		return cmd_listen(addr, port, atoi(argv[4]));
	if (!strcmp(cmd, "bind-expect"))
		return cmd_bind_expect(addr, port, argv[4]);
	if (!strcmp(cmd, "peer-killed"))
		return cmd_peer_killed(addr, port, argv[4]);
	if (!strcmp(cmd, "device-removal"))
		return cmd_device_removal(addr, port, atoi(argv[4]));
	if (!strcmp(cmd, "disconnect-after-data"))
		return cmd_disconnect_after_data(addr, port, argv[4]);
	if (argc < 6)
		usage();
	if (!strcmp(cmd, "serve"))
		return cmd_serve(addr, port, atoi(argv[4]), argv[5]);
	usage();
}
