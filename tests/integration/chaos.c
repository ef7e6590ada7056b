// SPDX-License-Identifier: MIT
/*
 * Chaos (issue #6, must-show 3): PAIRS pairs of client processes doing RC
 * WRITE + SEND ping-pong with data checks on one device; random clients
 * SIGKILLed over SECONDS; then srxed SIGKILLed under load.
 *
 * usage: chaos DEVICE SRXED_PID SECONDS PAIRS KILLS
 *
 * Parent: forks every client, kills KILLS clients (each of another pair)
 * at random times spread over SECONDS, and checks that
 *  - the partner of each killed client reports an error and exits cleanly
 *    within 10 s, and nobody else reports anything (data checks pass);
 *  - then prints "SURVIVORS N" and waits for a line on stdin (the caller
 *    checks `srxe status` meanwhile);
 *  - then SIGKILLs srxed: every survivor reports an error within 5 s and
 *    exits cleanly (its verbs teardown does not block) within 10 s.
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 * SRXE_CHAOS_SEED fixes the random choices (the seed is always printed).
 *
 * Client (one process of a pair): opens the device, exchanges QP number,
 * rkey and address with its partner over a socketpair, then loops: WRITE
 * a pattern of random length into the partner's buffer, SEND a header;
 * the partner checks every byte, answers the same way.  The first error
 * (error completion, failed post, IBV_EVENT_DEVICE_FATAL, partner gone,
 * no progress for 20 s) is reported to the parent as one line, then the
 * client tears down every verbs object and exits 0 (1 on a data mismatch
 * or a failed teardown).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "chaos";
static int failures;
#include "itest.h"

#define MAX_PAIRS 32
#define BUF_BYTES 65536
#define RX_AREA	  0 /* the partner WRITEs here */
#define TX_AREA	  32768
#define MSG_TX	  49152
#define MSG_RX	  57344 /* receive slots, 64 bytes each */
#define MAX_WRITE 16384
#define RECVS	  4
#define STALL_MS  20000
#define FATAL_MS  5000
#define EXIT_MS	  10000

/* ---------------- client ---------------- */

struct peer_info {
	uint32_t qpn, rkey;
	uint64_t addr;
};

struct msg {
	uint32_t iter, len;
	uint32_t sum, pad;
};

struct client {
	int idx, pair, role; /* role 0 starts the ping-pong */
	int sock, report_fd;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *buf;
	struct peer_info peer;
	union ibv_gid gid;
	uint64_t iters;
	int reported; /* __atomic */
	int stop;     /* __atomic: ends the event thread */
	pthread_t ev_thread;
};

static void report(struct client *c, const char *kind)
{
	char word[64], line[128];
	int n;

	if (__atomic_exchange_n(&c->reported, 1, __ATOMIC_ACQ_REL))
		return;
	/* one word for the parent's sscanf: a "post_send-Input/output error"
	 * once made it drop a survivor's report */
	snprintf(word, sizeof(word), "%s", kind);
	for (char *p = word; *p; p++)
		*p = *p == ' ' ? '-' : *p;
	n = snprintf(line, sizeof(line), "E %d %s %llu\n", c->idx, word,
		     (unsigned long long)c->iters);
	/* one short line: atomic on a pipe */
	if (write(c->report_fd, line, n) != n)
		_exit(3);
}

static uint8_t pattern(int pair, int dir, uint32_t iter, uint32_t j)
{
	uint32_t h = (uint32_t)pair * 2654435761u ^ iter * 40503u ^
		     (uint32_t)dir * 0x9e3779b9u;

	return (uint8_t)(h + j * 131u + (j >> 8));
}

static void *event_thread(void *arg)
{
	struct client *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = c->ctx->async_fd, .events = POLLIN };
		struct ibv_async_event ev;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (ibv_get_async_event(c->ctx, &ev))
			break; /* EOF after DEVICE_FATAL */
		if (ev.event_type == IBV_EVENT_DEVICE_FATAL)
			report(c, "device-fatal-event");
		ibv_ack_async_event(&ev);
	}
	return NULL;
}

static int qp_modify(struct client *c, struct ibv_qp_attr *a, int mask)
{
	return ibv_modify_qp(c->qp, a, mask);
}

static int connect_qp(struct client *c)
{
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE,
	};
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = c->peer.qpn,
		.rq_psn = 1,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 1,
		.ah_attr = { .is_global = 1,
			     .grh = { .dgid = c->gid,
				      .sgid_index = 1,
				      .hop_limit = 1 },
			     .port_num = 1 },
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = 1,
		.timeout = 12, /* 16 ms: a dead partner is found quickly */
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = 1,
	};

	return qp_modify(c, &init,
			 IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				 IBV_QP_ACCESS_FLAGS) ||
	       qp_modify(c, &rtr,
			 IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				 IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				 IBV_QP_MAX_DEST_RD_ATOMIC |
				 IBV_QP_MIN_RNR_TIMER) ||
	       qp_modify(c, &rts,
			 IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
				 IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				 IBV_QP_MAX_QP_RD_ATOMIC);
}

static int post_recv(struct client *c, int slot)
{
	struct ibv_sge sge = { (uintptr_t)c->buf + MSG_RX + slot * 64, 64,
			       c->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = (uint64_t)slot,
				  .sg_list = &sge,
				  .num_sge = 1 },
			   *bad;

	return ibv_post_recv(c->qp, &wr, &bad);
}

static int setup(struct client *c, const char *devname)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = 16,
			 .max_recv_wr = RECVS,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	struct peer_info me;

	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), devname))
			c->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!c->ctx || ibv_query_gid(c->ctx, 1, 1, &c->gid))
		return -1;
	c->buf = aligned_alloc(4096, BUF_BYTES);
	c->pd = ibv_alloc_pd(c->ctx);
	c->cq = ibv_create_cq(c->ctx, 64, NULL, NULL, 0);
	if (!c->buf || !c->pd || !c->cq)
		return -1;
	memset(c->buf, 0, BUF_BYTES);
	c->mr = ibv_reg_mr(c->pd, c->buf, BUF_BYTES,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	qa.send_cq = qa.recv_cq = c->cq;
	c->qp = c->mr ? ibv_create_qp(c->pd, &qa) : NULL;
	if (!c->qp)
		return -1;
	me = (struct peer_info){ c->qp->qp_num, c->mr->rkey,
				 (uintptr_t)c->buf };
	if (write(c->sock, &me, sizeof(me)) != sizeof(me) ||
	    read(c->sock, &c->peer, sizeof(c->peer)) != sizeof(c->peer))
		return -1;
	if (connect_qp(c))
		return -1;
	for (int i = 0; i < RECVS; i++)
		if (post_recv(c, i))
			return -1;
	/* both RTS before the first SEND: no RNR at the start */
	if (write(c->sock, &me, 1) != 1 || read(c->sock, &me, 1) != 1)
		return -1;
	return pthread_create(&c->ev_thread, NULL, event_thread, c) ? -1 : 0;
}

static bool peer_gone(struct client *c)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN | POLLRDHUP };
	char b;

	return poll(&p, 1, 0) > 0 &&
	       ((p.revents & (POLLHUP | POLLRDHUP | POLLERR)) ||
		read(c->sock, &b, 1) <= 0);
}

/* One WRITE of len bytes + one SEND of the header. 0 or -1 (reported). */
static int send_one(struct client *c, uint32_t iter, uint32_t len)
{
	struct msg *m = (struct msg *)(c->buf + MSG_TX);
	struct ibv_sge data = { (uintptr_t)c->buf + TX_AREA, len, c->mr->lkey };
	struct ibv_sge hdr = { (uintptr_t)m, sizeof(*m), c->mr->lkey };
	struct ibv_send_wr send = { .wr_id = iter,
				    .sg_list = &hdr,
				    .num_sge = 1,
				    .opcode = IBV_WR_SEND,
				    .send_flags = IBV_SEND_SIGNALED },
			   write_wr = { .wr_id = iter,
					.next = &send,
					.sg_list = &data,
					.num_sge = 1,
					.opcode = IBV_WR_RDMA_WRITE,
					.wr.rdma = { c->peer.addr + RX_AREA,
						     c->peer.rkey } },
			   *bad;
	uint32_t sum = 0;
	char kind[64];
	int ret;

	for (uint32_t j = 0; j < len; j++) {
		c->buf[TX_AREA + j] = pattern(c->pair, c->role, iter, j);
		sum = sum * 31 + c->buf[TX_AREA + j];
	}
	*m = (struct msg){ .iter = iter, .len = len, .sum = sum };
	ret = ibv_post_send(c->qp, &write_wr, &bad);
	if (ret) {
		snprintf(kind, sizeof(kind), "post_send-%s", strerror(ret));
		report(c, kind);
		return -1;
	}
	return 0;
}

/* The partner's bytes in our RX area must be its pattern for iter. */
static int check_data(struct client *c, const struct msg *m, uint32_t iter)
{
	if (m->iter != iter || m->len > MAX_WRITE)
		return -1;
	for (uint32_t j = 0; j < m->len; j++)
		if (c->buf[RX_AREA + j] != pattern(c->pair, !c->role, iter, j))
			return -1;
	return 0;
}

/*
 * Waits for the partner's message iter.  0, -1 (error reported) or -2
 * (data mismatch reported).
 */
static int wait_recv(struct client *c, uint32_t iter)
{
	uint64_t last = now_ms();
	struct timespec nap = { 0, 200000 };
	char kind[96];

	for (;;) {
		struct ibv_wc wc[8];
		int n = ibv_poll_cq(c->cq, 8, wc);

		if (n < 0) {
			report(c, "poll_cq-failed");
			return -1;
		}
		for (int i = 0; i < n; i++) {
			struct msg m;

			if (wc[i].status != IBV_WC_SUCCESS) {
				snprintf(kind, sizeof(kind), "wc-%s",
					 ibv_wc_status_str(wc[i].status));
				report(c, kind);
				return -1;
			}
			if (wc[i].opcode != IBV_WC_RECV)
				continue;
			memcpy(&m, c->buf + MSG_RX + wc[i].wr_id * 64,
			       sizeof(m));
			if (check_data(c, &m, iter)) {
				report(c, "DATA-MISMATCH");
				return -2;
			}
			if (post_recv(c, (int)wc[i].wr_id)) {
				report(c, "post_recv-failed");
				return -1;
			}
			return 0;
		}
		if (n)
			last = now_ms();
		if (__atomic_load_n(&c->reported, __ATOMIC_ACQUIRE))
			return -1; /* e.g. DEVICE_FATAL seen by the thread */
		if (peer_gone(c)) {
			report(c, "partner-gone");
			return -1;
		}
		if (now_ms() - last > STALL_MS) {
			report(c, "STALLED");
			return -1;
		}
		nanosleep(&nap, NULL);
	}
}

static int traffic(struct client *c)
{
	unsigned int seed = (unsigned int)(c->pair * 7919 + c->role);

	for (uint32_t iter = 0;; iter++) {
		uint32_t len = 1 + rand_r(&seed) % MAX_WRITE;
		int r;

		if (c->role == 0 && send_one(c, iter, len))
			return 0;
		r = wait_recv(c, iter);
		if (r)
			return r == -2;
		if (c->role == 1 && send_one(c, iter, len))
			return 0;
		c->iters++;
	}
}

static int teardown(struct client *c)
{
	int bad = 0;

	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	pthread_join(c->ev_thread, NULL);
	bad |= c->qp && ibv_destroy_qp(c->qp);
	bad |= c->mr && ibv_dereg_mr(c->mr);
	bad |= c->cq && ibv_destroy_cq(c->cq);
	bad |= c->pd && ibv_dealloc_pd(c->pd);
	bad |= c->ctx && ibv_close_device(c->ctx);
	free(c->buf);
	return bad;
}

static int client_main(struct client *c, const char *devname, int ready_fd)
{
	char line[32];
	int n, mismatch;

	if (setup(c, devname)) {
		fprintf(stderr, "client %d: setup failed: %s\n", c->idx,
			strerror(errno));
		return 1;
	}
	n = snprintf(line, sizeof(line), "R %d\n", c->idx);
	if (write(ready_fd, line, n) != n)
		return 1;
	mismatch = traffic(c);
	if (teardown(c)) {
		fprintf(stderr, "client %d: teardown failed\n", c->idx);
		return 1;
	}
	return mismatch ? 1 : 0;
}

/* ---------------- parent ---------------- */

struct child {
	pid_t pid;
	bool ready, killed, exited, reported;
	int status;
	uint64_t reported_ms, exited_ms;
	char report[96];
};

static struct child kids[2 * MAX_PAIRS];
static int nkids;
static char rbuf[8192];
static size_t rlen;

static void handle_line(char *line)
{
	int idx;
	char kind[64];
	unsigned long long iters;

	if (sscanf(line, "R %d", &idx) == 1 && idx >= 0 && idx < nkids) {
		kids[idx].ready = true;
		return;
	}
	if (sscanf(line, "E %d %63s %llu", &idx, kind, &iters) != 3 ||
	    idx < 0 || idx >= nkids) {
		EXPECT(false, "unreadable report line '%s'", line);
		return;
	}
	if (!kids[idx].reported) {
		kids[idx].reported = true;
		kids[idx].reported_ms = now_ms();
		snprintf(kids[idx].report, sizeof(kids[idx].report),
			 "%s after %llu iterations", kind, iters);
		printf("client %d: %s\n", idx, kids[idx].report);
		EXPECT(strcmp(kind, "DATA-MISMATCH") && strcmp(kind, "STALLED"),
		       "client %d: %s", idx, kind);
	}
}

/* Reads what the pipe holds now (or within @wait_ms) and handles it. */
static void read_reports(int fd, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, wait_ms) > 0) {
		ssize_t n = read(fd, rbuf + rlen, sizeof(rbuf) - 1 - rlen);
		char *nl;

		if (n <= 0)
			return;
		rlen += (size_t)n;
		rbuf[rlen] = 0;
		while ((nl = strchr(rbuf, '\n'))) {
			*nl = 0;
			handle_line(rbuf);
			rlen -= (size_t)(nl + 1 - rbuf);
			memmove(rbuf, nl + 1, rlen + 1);
		}
		wait_ms = 0;
	}
}

/*
 * Reaps exits and reads report lines for up to @ms.  Children first, then
 * the pipe: a client writes its report before it exits, so an exit seen
 * here has its report read in the same round (the other order could see
 * the exit last and end the wait with the report still unread).
 */
static void pump(int fd, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	do {
		int st;
		pid_t pid;

		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			for (int i = 0; i < nkids; i++)
				if (kids[i].pid == pid) {
					kids[i].exited = true;
					kids[i].status = st;
					kids[i].exited_ms = now_ms();
				}
		read_reports(fd, 20);
	} while (now_ms() < end);
}

static bool alive(int i)
{
	return !kids[i].killed && !kids[i].exited;
}

static void spawn(const char *dev, int pairs, int report_fd, int report_rd)
{
	nkids = 2 * pairs;
	for (int p = 0; p < pairs; p++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			die("socketpair: %s", strerror(errno));
		for (int r = 0; r < 2; r++) {
			struct client c = { .idx = 2 * p + r,
					    .pair = p,
					    .role = r,
					    .sock = sv[r],
					    .report_fd = report_fd };
			pid_t pid = fork();

			if (pid < 0)
				die("fork: %s", strerror(errno));
			if (pid == 0) {
				close(sv[!r]);
				close(report_rd);
				exit(client_main(&c, dev, report_fd));
			}
			kids[2 * p + r].pid = pid;
		}
		close(sv[0]);
		close(sv[1]);
	}
}

static int pick_victim(unsigned int *seed, int pairs)
{
	int cand[2 * MAX_PAIRS], n = 0;

	for (int p = 0; p < pairs; p++)
		if (alive(2 * p) && alive(2 * p + 1) && !kids[2 * p].reported &&
		    !kids[2 * p + 1].reported)
			for (int r = 0; r < 2; r++)
				cand[n++] = 2 * p + r;
	return n ? cand[rand_r(seed) % n] : -1;
}

/* Phase 1: kills spread over seconds; partners must report and exit. */
static void phase_kills(int fd, int seconds, int pairs, int kills,
			unsigned int *seed)
{
	uint64_t start = now_ms(), span = (uint64_t)seconds * 1000;

	for (int k = 0; k < kills; k++) {
		uint64_t at = start + span * (k + 1) / (kills + 1);
		int v;

		if (now_ms() < at)
			pump(fd, (int)(at - now_ms()));
		v = pick_victim(seed, pairs);
		if (v < 0)
			break;
		printf("t=%llus: SIGKILL client %d (pair %d)\n",
		       (unsigned long long)(now_ms() - start) / 1000, v, v / 2);
		kill(kids[v].pid, SIGKILL);
		kids[v].killed = true;
	}
	if (now_ms() < start + span)
		pump(fd, (int)(start + span - now_ms()));
	pump(fd, EXIT_MS / 2);
	for (int i = 0; i < nkids; i++) {
		int partner = i ^ 1;

		if (kids[i].killed)
			continue;
		if (kids[partner].killed) {
			EXPECT(kids[i].reported && kids[i].exited &&
				       WIFEXITED(kids[i].status) &&
				       !WEXITSTATUS(kids[i].status),
			       "partner %d of killed %d: reported %d, exited "
			       "%d (status 0x%x)",
			       i, partner, kids[i].reported, kids[i].exited,
			       kids[i].status);
		} else {
			EXPECT(!kids[i].reported && !kids[i].exited,
			       "client %d failed without cause: %s", i,
			       kids[i].reported ? kids[i].report : "exited");
		}
	}
}

/* Phase 2: srxed killed; every survivor reports within 5 s, exits. */
static void phase_fatal(int fd, pid_t srxed)
{
	uint64_t t0 = now_ms();
	bool surv[2 * MAX_PAIRS];

	for (int i = 0; i < nkids; i++)
		surv[i] = alive(i);
	printf("SIGKILL srxed %d\n", (int)srxed);
	if (kill(srxed, SIGKILL))
		die("kill srxed %d: %s", (int)srxed, strerror(errno));
	while (now_ms() - t0 < FATAL_MS + EXIT_MS) {
		bool done = true;

		pump(fd, 100);
		for (int i = 0; i < nkids; i++)
			done &= !surv[i] || kids[i].exited;
		if (done)
			break;
	}
	for (int i = 0; i < nkids; i++) {
		if (!surv[i])
			continue;
		if (EXPECT(kids[i].reported, "survivor %d reported nothing", i))
			EXPECT(kids[i].reported_ms - t0 <= FATAL_MS,
			       "survivor %d reported after %llu ms", i,
			       (unsigned long long)(kids[i].reported_ms - t0));
		EXPECT(kids[i].exited && WIFEXITED(kids[i].status) &&
			       !WEXITSTATUS(kids[i].status),
		       "survivor %d: exited %d status 0x%x", i, kids[i].exited,
		       kids[i].status);
		if (kids[i].reported)
			printf("survivor %d: error after %llu ms\n", i,
			       (unsigned long long)(kids[i].reported_ms - t0));
	}
}

static void wait_ready(int fd)
{
	uint64_t end = now_ms() + 60000;
	int ready;

	do {
		pump(fd, 100);
		ready = 0;
		for (int i = 0; i < nkids; i++)
			ready += kids[i].ready;
	} while (ready < nkids && now_ms() < end && !failures);
	if (ready < nkids)
		die("only %d of %d clients became ready", ready, nkids);
}

static void kill_all(void)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i].pid > 0 && !kids[i].exited)
			kill(kids[i].pid, SIGKILL);
}

int main(int argc, char **argv)
{
	const char *seed_env = getenv("SRXE_CHAOS_SEED");
	unsigned int seed;
	int rep[2], seconds, pairs, kills, survivors = 0;
	char go[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 6)
		die("usage: chaos DEVICE SRXED_PID SECONDS PAIRS KILLS");
	seconds = atoi(argv[3]);
	pairs = atoi(argv[4]);
	kills = atoi(argv[5]);
	if (pairs < 1 || pairs > MAX_PAIRS || kills >= pairs || seconds < 1)
		die("need 1 <= PAIRS <= %d, KILLS < PAIRS, SECONDS >= 1",
		    MAX_PAIRS);
	seed = seed_env ? (unsigned int)strtoul(seed_env, NULL, 0)
			: (unsigned int)time(NULL) ^ (unsigned int)getpid();
	printf("seed %u: %d pairs, %d kills over %d s\n", seed, pairs, kills,
	       seconds);
	if (pipe(rep))
		die("pipe: %s", strerror(errno));
	spawn(argv[1], pairs, rep[1], rep[0]);
	close(rep[1]);
	wait_ready(rep[0]);
	printf("all %d clients ready\n", nkids);
	phase_kills(rep[0], seconds, pairs, kills, &seed);
	for (int i = 0; i < nkids; i++)
		survivors += alive(i);
	printf("SURVIVORS %d\n", survivors);
	/* the caller checks srxe status, then says go */
	if (!fgets(go, sizeof(go), stdin))
		EXPECT(false, "no go from the caller");
	else
		phase_fatal(rep[0], (pid_t)atoi(argv[2]));
	kill_all();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
