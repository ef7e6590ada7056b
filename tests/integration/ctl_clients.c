// SPDX-License-Identifier: MIT
/*
 * Control-plane client driver for test_ctl_clients.sh.  Talks to a real
 * srxed over its real socket.  Each mode exits 0 when every expectation
 * held and prints what went wrong otherwise.
 *
 *   ctl_clients SOCK status             print STATUS counters
 *   ctl_clients SOCK expect-idle        wait until 0 clients, 0 PDs, 1 conn
 *   ctl_clients SOCK semantics          per-opcode answers and error codes
 *   ctl_clients SOCK storm N            N concurrent forked clients, one
 *                                       SIGKILLed while holding PDs
 *   ctl_clients SOCK fuzz N SEED        N malformed datagrams
 *   ctl_clients SOCK pd-limit           allocate PDs until ENOMEM
 *   ctl_clients SOCK refused            expect EUSERS past --max-clients 2
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srxe/client.h"
#include "srxe/device.h"
#include "srxe/proto.h"

#define DEVICE		 "srxe0"
#define REPLY_TIMEOUT_MS 5000
#define HDR_LEN		 sizeof(struct srxe_msg_hdr)
#define PREFIX_LEN	 (HDR_LEN + sizeof(struct srxe_reply_status))

static const char *sock_path;
static int failures;

#define EXPECT(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			failures++;                                            \
		}                                                              \
	} while (0)

/* ---- well-behaved calls through the shared client library ---- */

static void must_open(struct srxe_conn *c)
{
	if (srxe_conn_open(c, sock_path)) {
		fprintf(stderr, "connect %s: %s\n", sock_path, c->reason);
		exit(1);
	}
}

static int open_ctx(struct srxe_conn *c, const char *dev, uint32_t version,
		    int fd)
{
	struct srxe_open_ctx_req req = { .client_version = version };
	struct srxe_open_ctx_resp resp;

	snprintf(req.device, sizeof(req.device), "%s", dev);
	return srxe_call(c, SRXE_OP_OPEN_CTX, &req, sizeof(req), fd, &resp,
			 sizeof(resp), NULL);
}

static int alloc_pd(struct srxe_conn *c, uint32_t *handle)
{
	struct srxe_alloc_pd_resp resp = { 0 };
	int ret = srxe_call(c, SRXE_OP_ALLOC_PD, NULL, 0, -1, &resp,
			    sizeof(resp), NULL);

	*handle = resp.pd_handle;
	return ret;
}

static int dealloc_pd(struct srxe_conn *c, uint32_t handle)
{
	struct srxe_dealloc_pd_req req = { .pd_handle = handle };

	return srxe_call(c, SRXE_OP_DEALLOC_PD, &req, sizeof(req), -1, NULL, 0,
			 NULL);
}

static int query_port(struct srxe_conn *c, uint32_t port,
		      struct ibv_port_attr *attr)
{
	struct srxe_query_port_req req = { .port_num = port };

	return srxe_call(c, SRXE_OP_QUERY_PORT, &req, sizeof(req), -1, attr,
			 sizeof(*attr), NULL);
}

static int get_status(struct srxe_status_resp *st)
{
	struct srxe_conn c;
	int ret;

	must_open(&c);
	ret = srxe_call(&c, SRXE_OP_STATUS, NULL, 0, -1, st, sizeof(*st), NULL);
	srxe_conn_close(&c);
	return ret;
}

static void expect_err(struct srxe_conn *c, int got, int want, const char *what)
{
	EXPECT(got == want, "%s: got %d (%s), want %d (%s)", what, got,
	       c->reason, want, strerror(want));
	EXPECT(want == 0 || c->reason[0], "%s: error without a reason", what);
}

/* ---- raw datagrams, for what the client library refuses to send ---- */

static int raw_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("raw connect");
		exit(1);
	}
	return fd;
}

static int raw_send(int sock, const void *buf, size_t len, const int *fds,
		    int nfds)
{
	char ctl[CMSG_SPACE(8 * sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds > 0) {
		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Returns the reply length, 0 when srxed closed, -ETIMEDOUT or -errno. */
static ssize_t raw_recv(int sock, void *buf, size_t cap)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, REPLY_TIMEOUT_MS) == 0)
		return -ETIMEDOUT;
	n = recv(sock, buf, cap, 0);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -errno;
	return n;
}

static void fill_hdr(void *buf, uint16_t op, uint32_t len, uint64_t req_id)
{
	struct srxe_msg_hdr h = { .magic = SRXE_PROTO_MAGIC,
				  .version = SRXE_PROTO_VERSION,
				  .opcode = op,
				  .length = len,
				  .req_id = req_id };

	memcpy(buf, &h, sizeof(h));
}

/* Reply err of a raw request, or -1 with a failure recorded. */
static int raw_call_err(int sock, const void *buf, size_t len, const int *fds,
			int nfds, uint64_t req_id)
{
	char reply[SRXE_MSG_MAX];
	struct srxe_reply_status st;
	struct srxe_msg_hdr h;
	ssize_t n;

	EXPECT(raw_send(sock, buf, len, fds, nfds) == 0, "raw send failed");
	n = raw_recv(sock, reply, sizeof(reply));
	if (n < (ssize_t)PREFIX_LEN) {
		EXPECT(0, "no reply (%zd)", n);
		return -1;
	}
	memcpy(&h, reply, sizeof(h));
	memcpy(&st, reply + HDR_LEN, sizeof(st));
	EXPECT(h.req_id == req_id, "req_id not echoed");
	EXPECT(h.flags == SRXE_MSG_REPLY && h.length == n, "bad reply header");
	return st.err;
}

static int open_fd_count(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* True when the peer of fd (a pipe read end) is gone within the timeout. */
static bool peer_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b;

	return poll(&p, 1, REPLY_TIMEOUT_MS) == 1 && read(fd, &b, 1) == 0;
}

/* ---- modes ---- */

static int mode_status(void)
{
	struct srxe_status_resp st;

	if (get_status(&st))
		return 1;
	printf("device=%s pid=%u clients=%u connections=%u pds=%u "
	       "requests=%llu rejected=%llu\n",
	       st.device, st.daemon_pid, st.clients, st.connections, st.pds,
	       (unsigned long long)st.requests,
	       (unsigned long long)st.rejected);
	return 0;
}

/* Client death is noticed asynchronously: poll STATUS for a while. */
static int mode_expect_idle(void)
{
	struct srxe_status_resp st = { 0 };
	int i;

	for (i = 0; i < 100; i++) {
		if (get_status(&st) == 0 && st.clients == 0 && st.pds == 0 &&
		    st.connections == 1)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "FAIL: srxed not idle: clients=%u pds=%u conns=%u\n",
		st.clients, st.pds, st.connections);
	return 1;
}

/* One full client life; returns the number of failed expectations. */
static int well_behaved_client(int pds, bool with_async_pipe)
{
	struct srxe_query_device_resp dev;
	struct ibv_port_attr port;
	struct srxe_conn c;
	uint32_t h[64];
	int pipefd[2] = { -1, -1 }, i, before = failures;

	if (pds > 64)
		pds = 64;
	must_open(&c);
	if (with_async_pipe && pipe2(pipefd, O_CLOEXEC))
		EXPECT(0, "pipe2: %s", strerror(errno));
	EXPECT(open_ctx(&c, DEVICE, SRXE_PROTO_VERSION, pipefd[1]) == 0,
	       "OPEN_CTX: %s", c.reason);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	EXPECT(srxe_call(&c, SRXE_OP_QUERY_DEVICE, NULL, 0, -1, &dev,
			 sizeof(dev), NULL) == 0,
	       "QUERY_DEVICE: %s", c.reason);
	EXPECT(query_port(&c, 1, &port) == 0, "QUERY_PORT: %s", c.reason);
	for (i = 0; i < pds; i++)
		EXPECT(alloc_pd(&c, &h[i]) == 0, "ALLOC_PD: %s", c.reason);
	for (i = 0; i < pds; i += 2)
		EXPECT(dealloc_pd(&c, h[i]) == 0, "DEALLOC_PD: %s", c.reason);
	if (pds > 0)
		EXPECT(dealloc_pd(&c, h[0]) == EINVAL,
		       "stale PD handle accepted");
	EXPECT(srxe_call(&c, SRXE_OP_CLOSE_CTX, NULL, 0, -1, NULL, 0, NULL) ==
		       0,
	       "CLOSE_CTX: %s", c.reason);
	srxe_conn_close(&c);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	return failures - before;
}

static void semantics_before_open(struct srxe_conn *c)
{
	struct srxe_status_resp st;
	int pipefd[2], memfd = memfd_create("not-a-pipe", MFD_CLOEXEC);
	uint32_t h;

	expect_err(c,
		   srxe_call(c, SRXE_OP_STATUS, NULL, 0, -1, &st, sizeof(st),
			     NULL),
		   0, "STATUS without context");
	EXPECT(!strcmp(st.device, DEVICE) && st.daemon_pid > 0,
	       "STATUS device %s pid %u", st.device, st.daemon_pid);
	expect_err(c, alloc_pd(c, &h), ENOTCONN, "ALLOC_PD before OPEN_CTX");
	expect_err(c,
		   srxe_call(c, SRXE_OP_CLOSE_CTX, NULL, 0, -1, NULL, 0, NULL),
		   ENOTCONN, "CLOSE_CTX before OPEN_CTX");
	expect_err(c, open_ctx(c, "nosuch0", SRXE_PROTO_VERSION, -1), ENODEV,
		   "OPEN_CTX wrong device");
	expect_err(c, open_ctx(c, DEVICE, 99, -1), EPROTONOSUPPORT,
		   "OPEN_CTX wrong client version");
	expect_err(c, open_ctx(c, DEVICE, SRXE_PROTO_VERSION, memfd), EINVAL,
		   "OPEN_CTX with a memfd as event channel");
	if (pipe2(pipefd, O_CLOEXEC) == 0) {
		expect_err(c,
			   open_ctx(c, DEVICE, SRXE_PROTO_VERSION, pipefd[0]),
			   EBADF, "OPEN_CTX with a pipe read end");
		close(pipefd[0]);
		close(pipefd[1]);
	}
	close(memfd);
}

static void semantics_raw(void)
{
	struct srxe_open_ctx_req req = { .client_version = SRXE_PROTO_VERSION };
	char buf[256];
	int sock = raw_connect(), fds[2], pipefd[2];
	struct srxe_msg_hdr h;

	fill_hdr(buf, SRXE_OP_MAX, HDR_LEN, 11);
	EXPECT(raw_call_err(sock, buf, HDR_LEN, NULL, 0, 11) == EOPNOTSUPP,
	       "unknown opcode not EOPNOTSUPP");
	fill_hdr(buf, SRXE_OP_REG_MR, HDR_LEN, 11);
	EXPECT(raw_call_err(sock, buf, HDR_LEN, NULL, 0, 11) == EINVAL,
	       "REG_MR without a body not EINVAL");
	fill_hdr(buf, SRXE_OP_STATUS, HDR_LEN, 12);
	memcpy(&h, buf, sizeof(h));
	h.version = SRXE_PROTO_VERSION + 1;
	memcpy(buf, &h, sizeof(h));
	EXPECT(raw_call_err(sock, buf, HDR_LEN, NULL, 0, 12) == EPROTONOSUPPORT,
	       "future header version not EPROTONOSUPPORT");

	memset(req.device, 'x', sizeof(req.device)); /* no NUL */
	fill_hdr(buf, SRXE_OP_OPEN_CTX, HDR_LEN + sizeof(req), 13);
	memcpy(buf + HDR_LEN, &req, sizeof(req));
	EXPECT(raw_call_err(sock, buf, HDR_LEN + sizeof(req), NULL, 0, 13) ==
		       EINVAL,
	       "unterminated device name accepted");

	snprintf(req.device, sizeof(req.device), DEVICE);
	memcpy(buf + HDR_LEN, &req, sizeof(req));
	fill_hdr(buf, SRXE_OP_OPEN_CTX, HDR_LEN + sizeof(req), 14);
	if (pipe2(pipefd, O_CLOEXEC) == 0 && pipe2(fds, O_CLOEXEC) == 0) {
		int two[2] = { pipefd[1], fds[1] };

		EXPECT(raw_call_err(sock, buf, HDR_LEN + sizeof(req), two, 2,
				    14) == EINVAL,
		       "two fds on OPEN_CTX accepted");
		close(pipefd[1]);
		close(fds[1]);
		/* srxed must have closed its copies: both read ends see EOF. */
		EXPECT(peer_closed(pipefd[0]) && peer_closed(fds[0]),
		       "srxed kept a rejected fd");
		close(pipefd[0]);
		close(fds[0]);
	}
	close(sock);
}

static void check_device_attrs(struct srxe_conn *c)
{
	struct srxe_query_device_resp dev;
	struct ibv_port_attr port;

	expect_err(c,
		   srxe_call(c, SRXE_OP_QUERY_DEVICE, NULL, 0, -1, &dev,
			     sizeof(dev), NULL),
		   0, "QUERY_DEVICE");
	EXPECT(!strcmp(dev.attr.fw_ver, "srxe-0.1"), "fw_ver %s",
	       dev.attr.fw_ver);
	EXPECT(dev.attr.node_guid != 0 &&
		       dev.attr.node_guid == dev.attr.sys_image_guid,
	       "node guid");
	EXPECT(dev.attr.max_mr >= 65536 && dev.attr.max_qp > 0 &&
		       dev.attr.max_cq > 0 && dev.attr.max_pd > 0 &&
		       dev.attr.max_sge > 0 && dev.attr.phys_port_cnt == 1,
	       "device limits");
	EXPECT(dev.attr.max_mr_size == 8ull << 30, "max_mr_size %llu",
	       (unsigned long long)dev.attr.max_mr_size);
	EXPECT(dev.attr.atomic_cap == IBV_ATOMIC_HCA, "atomic_cap");
	expect_err(c, query_port(c, 1, &port), 0, "QUERY_PORT 1");
	EXPECT(port.state == IBV_PORT_ACTIVE && port.phys_state == 5 &&
		       port.link_layer == IBV_LINK_LAYER_ETHERNET &&
		       port.max_mtu == IBV_MTU_4096 &&
		       port.gid_tbl_len == SRXE_GID_TBL_LEN &&
		       port.pkey_tbl_len == 1 && port.max_msg_sz == 1u << 31,
	       "port attributes");
	EXPECT(port.active_mtu >= IBV_MTU_256 &&
		       port.active_mtu <= IBV_MTU_4096,
	       "active_mtu %d", port.active_mtu);
	expect_err(c, query_port(c, 2, &port), EINVAL, "QUERY_PORT 2");
}

static void semantics_pds(struct srxe_conn *c)
{
	struct srxe_alloc_pd_resp resp;
	uint32_t h1, h2;

	expect_err(c, alloc_pd(c, &h1), 0, "ALLOC_PD");
	expect_err(c, alloc_pd(c, &h2), 0, "ALLOC_PD");
	EXPECT(h1 != h2, "duplicate PD handles");
	expect_err(c, dealloc_pd(c, h1 ^ 0x5a5a0000), EINVAL,
		   "DEALLOC_PD forged handle");
	EXPECT(strstr(c->reason, "no such PD"), "reason '%s'", c->reason);
	expect_err(c, dealloc_pd(c, h1), 0, "DEALLOC_PD");
	expect_err(c, dealloc_pd(c, h1), EINVAL, "DEALLOC_PD twice");
	expect_err(c,
		   srxe_call(c, SRXE_OP_ALLOC_PD, NULL, 0, STDERR_FILENO, &resp,
			     sizeof(resp), NULL),
		   EINVAL, "ALLOC_PD with an fd attached");
}

/* srxed closes the async pipe when the client goes: the read end sees EOF. */
static void semantics_async_pipe_closed(void)
{
	struct pollfd p;
	struct srxe_conn c;
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC))
		return;
	must_open(&c);
	expect_err(&c, open_ctx(&c, DEVICE, SRXE_PROTO_VERSION, pipefd[1]), 0,
		   "OPEN_CTX with event pipe");
	close(pipefd[1]);
	p = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	EXPECT(poll(&p, 1, 100) == 0, "event pipe closed while client alive");
	srxe_conn_close(&c);
	EXPECT(peer_closed(pipefd[0]),
	       "srxed kept the event pipe of a gone client");
	close(pipefd[0]);
}

static int mode_semantics(void)
{
	int fds_before = open_fd_count();
	struct srxe_conn c;

	must_open(&c);
	semantics_before_open(&c);
	expect_err(&c, open_ctx(&c, DEVICE, SRXE_PROTO_VERSION, -1), 0,
		   "OPEN_CTX");
	expect_err(&c, open_ctx(&c, DEVICE, SRXE_PROTO_VERSION, -1), EBUSY,
		   "second OPEN_CTX");
	check_device_attrs(&c);
	semantics_pds(&c);
	expect_err(&c,
		   srxe_call(&c, SRXE_OP_CLOSE_CTX, NULL, 0, -1, NULL, 0, NULL),
		   0, "CLOSE_CTX");
	expect_err(&c,
		   srxe_call(&c, SRXE_OP_QUERY_DEVICE, NULL, 0, -1,
			     &(struct srxe_query_device_resp){ 0 },
			     sizeof(struct srxe_query_device_resp), NULL),
		   ENOTCONN, "QUERY_DEVICE after CLOSE_CTX");
	expect_err(&c, open_ctx(&c, DEVICE, SRXE_PROTO_VERSION, -1), 0,
		   "OPEN_CTX again after CLOSE_CTX");
	srxe_conn_close(&c);
	semantics_raw();
	semantics_async_pipe_closed();
	EXPECT(open_fd_count() == fds_before, "client leaked fds: %d -> %d",
	       fds_before, open_fd_count());
	return failures ? 1 : 0;
}

/*
 * In a child: wait until the parent closes the start pipe, so that all
 * clients hit srxed at once.  The alarm bounds a child's life should the
 * parent die, so that a failing test never leaves processes behind.
 */
static void wait_for_start(const int start[2])
{
	char b;

	alarm(120);
	close(start[1]);
	(void)!read(start[0], &b, 1);
	close(start[0]);
}

static pid_t spawn_victim(const int start[2], int ready_fd)
{
	pid_t pid = fork();
	struct srxe_conn c;
	uint32_t h;
	int i;

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid)
		return pid;
	wait_for_start(start);
	must_open(&c);
	if (open_ctx(&c, DEVICE, SRXE_PROTO_VERSION, -1))
		_exit(1);
	for (i = 0; i < 10; i++)
		if (alloc_pd(&c, &h))
			_exit(1);
	(void)!write(ready_fd, "r", 1);
	for (;;)
		pause();
}

static pid_t spawn_client(int i, const int start[2])
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid)
		return pid;
	wait_for_start(start);
	_exit(well_behaved_client(1 + i % 8, i % 2) ? 1 : 0);
}

static int mode_storm(int n)
{
	struct srxe_status_resp st;
	int start[2], ready[2], i, status, bad = 0;
	pid_t victim, *pids = calloc(n, sizeof(*pids));
	char b;

	if (!pids || pipe(start) || pipe(ready))
		return 1;
	victim = spawn_victim(start, ready[1]);
	for (i = 0; i < n; i++)
		pids[i] = spawn_client(i, start);
	/* Everyone is forked: closing the write end releases them at once. */
	close(start[1]);
	close(start[0]);
	close(ready[1]);
	EXPECT(read(ready[0], &b, 1) == 1, "victim never got its PDs");
	EXPECT(get_status(&st) == 0 && st.pds >= 10 && st.clients >= 1,
	       "victim's PDs not visible: pds=%u clients=%u", st.pds,
	       st.clients);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	close(ready[0]);
	for (i = 0; i < n; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad++;
	}
	EXPECT(bad == 0, "%d of %d clients failed", bad, n);
	free(pids);
	if (mode_expect_idle())
		failures++;
	EXPECT(well_behaved_client(4, true) == 0, "client after storm");
	printf("storm: %d clients + 1 killed, %d failed\n", n, bad);
	return failures ? 1 : 0;
}

/* ---- fuzzing ---- */

enum fuzz_kind {
	FUZZ_RANDOM,
	FUZZ_WRONG_SIZE,
	FUZZ_BAD_HEADER,
	FUZZ_TRUNCATED,
	FUZZ_OVERSIZE,
	FUZZ_WITH_FDS,
	FUZZ_VALID,
	FUZZ_KINDS,
};

struct fuzz_msg {
	char *buf;
	size_t len;
	bool valid_header; /* req_id must be echoed */
	bool may_succeed;
	uint64_t req_id;
};

static void random_bytes(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = lrand48();
}

static uint16_t random_known_op(void)
{
	static const uint16_t ops[] = {
		SRXE_OP_OPEN_CTX,   SRXE_OP_CLOSE_CTX, SRXE_OP_QUERY_DEVICE,
		SRXE_OP_QUERY_PORT, SRXE_OP_ALLOC_PD,  SRXE_OP_DEALLOC_PD,
		SRXE_OP_STATUS,
	};

	return ops[lrand48() % (sizeof(ops) / sizeof(ops[0]))];
}

static void corrupt_header(struct fuzz_msg *m)
{
	struct srxe_msg_hdr h;

	memcpy(&h, m->buf, sizeof(h));
	switch (lrand48() % 5) {
	case 0:
		h.magic ^= 1u << (lrand48() % 32);
		break;
	case 1:
		h.version = 2 + lrand48() % 1000;
		break;
	case 2:
		h.flags = 1 + lrand48() % 0xffff;
		break;
	case 3:
		h.length += 1 + lrand48() % 100;
		break;
	default:
		/* An opcode srxed does not know: SRXE_OP_MAX is only the
		 * end of the first block, opcodes 16 and up are assigned
		 * too (seed 9573 drew 17, GET_DOORBELL, which succeeds). */
		do
			h.opcode = (uint16_t)(SRXE_OP_MAX + lrand48() % 60000);
		while (srxe_op_info(h.opcode));
		break;
	}
	memcpy(m->buf, &h, sizeof(h));
}

static void make_valid(struct fuzz_msg *m)
{
	uint16_t op = random_known_op();
	uint32_t body = srxe_op_info(op)->req_body;

	m->len = HDR_LEN + body;
	random_bytes(m->buf + HDR_LEN, body);
	if (op == SRXE_OP_OPEN_CTX) {
		struct srxe_open_ctx_req r = { .device = DEVICE,
					       .client_version = 1 };

		memcpy(m->buf + HDR_LEN, &r, sizeof(r));
	}
	fill_hdr(m->buf, op, m->len, m->req_id);
	m->valid_header = true;
	m->may_succeed = true;
}

static void make_fuzz(struct fuzz_msg *m, enum fuzz_kind kind)
{
	m->valid_header = false;
	m->may_succeed = false;
	switch (kind) {
	case FUZZ_RANDOM:
		m->len = 1 + lrand48() % 300;
		random_bytes(m->buf, m->len);
		break;
	case FUZZ_WRONG_SIZE: {
		uint16_t op = random_known_op();
		uint32_t body = srxe_op_info(op)->req_body;

		do
			m->len = HDR_LEN + lrand48() % 200;
		while (m->len == HDR_LEN + body);
		random_bytes(m->buf, m->len);
		fill_hdr(m->buf, op, m->len, m->req_id);
		m->valid_header = true;
		break;
	}
	case FUZZ_BAD_HEADER:
		make_valid(m);
		m->may_succeed = false;
		corrupt_header(m);
		break;
	case FUZZ_TRUNCATED:
		m->len = 1 + lrand48() % (HDR_LEN - 1);
		fill_hdr(m->buf, random_known_op(), HDR_LEN, m->req_id);
		break;
	case FUZZ_OVERSIZE:
		m->len = SRXE_MSG_MAX + 1 + lrand48() % (65536 - SRXE_MSG_MAX);
		random_bytes(m->buf, m->len);
		fill_hdr(m->buf, random_known_op(), m->len, m->req_id);
		m->valid_header = true;
		break;
	case FUZZ_WITH_FDS:
	case FUZZ_VALID:
	case FUZZ_KINDS:
		make_valid(m);
		break;
	}
}

/* A few descriptors of different kinds; the caller closes them. */
static int make_fds(int *fds)
{
	int n = 1 + lrand48() % 4, i, p[2];

	for (i = 0; i < n; i++) {
		if (lrand48() % 2 && pipe2(p, O_CLOEXEC) == 0) {
			fds[i] = p[1];
			close(p[0]);
		} else {
			fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		}
	}
	return n;
}

struct fuzz_tally {
	long errors, successes, closes;
};

static void check_fuzz_reply(const struct fuzz_msg *m, const char *r, ssize_t n,
			     struct fuzz_tally *t)
{
	struct srxe_reply_status st;
	struct srxe_msg_hdr h;

	if (n < (ssize_t)PREFIX_LEN) {
		EXPECT(0, "short reply %zd", n);
		return;
	}
	memcpy(&h, r, sizeof(h));
	memcpy(&st, r + HDR_LEN, sizeof(st));
	EXPECT(h.magic == SRXE_PROTO_MAGIC && h.flags == SRXE_MSG_REPLY &&
		       h.length == n,
	       "malformed reply");
	EXPECT(!m->valid_header || h.req_id == m->req_id, "req_id not echoed");
	if (st.err == 0) {
		EXPECT(m->may_succeed, "garbage accepted (op %u)", h.opcode);
		t->successes++;
		return;
	}
	EXPECT(st.err > 0 && st.reason_len > 0 &&
		       st.reason_len <= SRXE_REASON_MAX &&
		       n == (ssize_t)(PREFIX_LEN + st.reason_len),
	       "error reply without a proper reason");
	t->errors++;
}

static void fuzz_one(int *sock, struct fuzz_msg *m, struct fuzz_tally *t)
{
	char reply[SRXE_MSG_MAX];
	enum fuzz_kind kind = lrand48() % FUZZ_KINDS;
	int fds[4], nfds = 0, ret;
	ssize_t n;

	if (*sock < 0)
		*sock = raw_connect();
	make_fuzz(m, kind);
	if (kind == FUZZ_WITH_FDS || lrand48() % 16 == 0)
		nfds = make_fds(fds);
	ret = raw_send(*sock, m->buf, m->len, fds, nfds);
	while (nfds > 0)
		close(fds[--nfds]);
	if (ret == -EPIPE || ret == -ECONNRESET) {
		t->closes++; /* closed after an earlier reply */
		close(*sock);
		*sock = -1;
		return;
	}
	EXPECT(ret == 0, "send: %s", strerror(-ret));
	n = raw_recv(*sock, reply, sizeof(reply));
	if (n == -ETIMEDOUT) {
		fprintf(stderr, "FAIL: no answer within %d ms\n",
			REPLY_TIMEOUT_MS);
		exit(1);
	}
	if (n <= 0) {
		t->closes++;
		close(*sock);
		*sock = -1;
		return;
	}
	check_fuzz_reply(m, reply, n, t);
}

/*
 * A client that only sends garbage is answered SRXED_MAX_PROTO_ERRORS (64)
 * times and then dropped; an empty datagram ends the connection at once.
 */
static void fuzz_garbage_streak(void)
{
	char junk[64], reply[SRXE_MSG_MAX];
	int sock = raw_connect(), answered = 0;
	ssize_t n;

	for (int i = 0; i < 100; i++) {
		random_bytes(junk, sizeof(junk));
		if (raw_send(sock, junk, sizeof(junk), NULL, 0))
			break;
		n = raw_recv(sock, reply, sizeof(reply));
		if (n <= 0)
			break;
		answered++;
	}
	EXPECT(answered == 64, "garbage streak answered %d times", answered);
	close(sock);

	sock = raw_connect();
	EXPECT(raw_send(sock, junk, 0, NULL, 0) == 0, "empty send");
	EXPECT(raw_recv(sock, reply, sizeof(reply)) == 0,
	       "empty datagram did not end the connection");
	close(sock);
}

static int mode_fuzz(long count, long seed)
{
	enum { CONNS = 8 };
	int socks[CONNS], i, fds_before = open_fd_count();
	struct fuzz_tally t = { 0 };
	struct fuzz_msg m = { .buf = malloc(65536) };
	long k;

	if (!m.buf)
		return 1;
	srand48(seed);
	for (i = 0; i < CONNS; i++)
		socks[i] = -1;
	for (k = 0; k < count; k++) {
		m.req_id = 1000 + k;
		fuzz_one(&socks[k % CONNS], &m, &t);
	}
	for (i = 0; i < CONNS; i++)
		if (socks[i] >= 0)
			close(socks[i]);
	free(m.buf);
	fuzz_garbage_streak();
	printf("fuzz: %ld datagrams (seed %ld): %ld errors, %ld successes, "
	       "%ld connections closed by srxed\n",
	       count, seed, t.errors, t.successes, t.closes);
	EXPECT(t.errors > count / 2, "too few error replies");
	EXPECT(open_fd_count() == fds_before, "fuzzer leaked fds");
	EXPECT(well_behaved_client(8, true) == 0, "client after fuzz");
	return failures ? 1 : 0;
}

static int mode_pd_limit(void)
{
	struct srxe_query_device_resp dev;
	struct srxe_conn c;
	uint32_t h;
	long n = 0;
	int ret;

	must_open(&c);
	EXPECT(open_ctx(&c, DEVICE, SRXE_PROTO_VERSION, -1) == 0, "OPEN_CTX");
	EXPECT(srxe_call(&c, SRXE_OP_QUERY_DEVICE, NULL, 0, -1, &dev,
			 sizeof(dev), NULL) == 0,
	       "QUERY_DEVICE");
	while ((ret = alloc_pd(&c, &h)) == 0 && n <= dev.attr.max_pd)
		n++;
	EXPECT(n == dev.attr.max_pd, "got %ld PDs, max_pd is %d", n,
	       dev.attr.max_pd);
	expect_err(&c, ret, ENOMEM, "ALLOC_PD past max_pd");
	printf("pd-limit: %ld PDs, then '%s'\n", n, c.reason);
	srxe_conn_close(&c);
	return failures ? 1 : 0;
}

/* For an srxed started with --max-clients 2. */
static int mode_refused(void)
{
	struct srxe_status_resp st;
	struct srxe_conn a, b, c;
	int i, ret = -1;

	must_open(&a);
	must_open(&b);
	EXPECT(open_ctx(&a, DEVICE, SRXE_PROTO_VERSION, -1) == 0, "a");
	EXPECT(open_ctx(&b, DEVICE, SRXE_PROTO_VERSION, -1) == 0, "b");
	must_open(&c);
	expect_err(&c,
		   srxe_call(&c, SRXE_OP_STATUS, NULL, 0, -1, &st, sizeof(st),
			     NULL),
		   EUSERS, "third client");
	srxe_conn_close(&c);
	srxe_conn_close(&a);
	for (i = 0; i < 100 && ret; i++) {
		usleep(20000);
		must_open(&c);
		ret = open_ctx(&c, DEVICE, SRXE_PROTO_VERSION, -1);
		srxe_conn_close(&c);
	}
	EXPECT(ret == 0, "no room after a client left: %d", ret);
	srxe_conn_close(&b);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode;

	if (argc < 3) {
		fprintf(stderr, "usage: %s SOCKET MODE [ARGS]\n", argv[0]);
		return 2;
	}
	sock_path = argv[1];
	mode = argv[2];
	if (!strcmp(mode, "status"))
		return mode_status();
	if (!strcmp(mode, "expect-idle"))
		return mode_expect_idle();
	if (!strcmp(mode, "semantics"))
		return mode_semantics();
	if (!strcmp(mode, "storm") && argc == 4)
		return mode_storm(atoi(argv[3]));
	if (!strcmp(mode, "fuzz") && argc == 5)
		return mode_fuzz(atol(argv[3]), atol(argv[4]));
	if (!strcmp(mode, "pd-limit"))
		return mode_pd_limit();
	if (!strcmp(mode, "refused"))
		return mode_refused();
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
