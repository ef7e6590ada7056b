// SPDX-License-Identifier: MIT
/*
 * An on-demand page fault that waits holds its own process, never the
 * engine (docs/odp.md "Page faults that wait").  Run by test_odp_stall.sh
 * on a device with one engine thread, over FILE on a FUSE mount whose
 * reads wait until the file GATE exists (tests/tools/gated_fuse.py, which
 * logs every read it is asked to LOG).
 *
 * usage: odp_stall DEVICE FILE GATE LOG
 *
 *  1. Process S maps FILE shared and registers it on demand.  Its QP a
 *     SENDs from the mapping (the requester's fault) and its QP b WRITEs
 *     into it (the responder's fault); both wait at the gate.  Meanwhile
 *     a bystander process, on the same engine thread, completes 200
 *     ping-pong rounds on pinned memory, byte-checked; S's operations
 *     have still not completed; then the gate opens and both complete:
 *     the SEND carried the file's bytes, the WRITE's bytes are in it.
 *  2. The gate closes; a process S2 SENDs from a part of FILE not read
 *     yet, and is SIGKILLed while its fault waits.  The bystander's
 *     rounds complete again; the gate opens and S2 is reaped (the shell
 *     then checks that srxed freed S2's helper: its threads and
 *     descriptors).
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *who = "odp_stall";
static int failures;
#include "itest.h"

#define FILE_BYTES (1u << 20)
#define MSG	   4096u
#define WRITE_OFF  (64u * 1024u)  /* phase 1's WRITE into the file */
#define KILLED_OFF (512u * 1024u) /* phase 2's SEND, far from phase 1 */
#define ROUNDS	   200
#define WAIT_MS	   60000u /* liveness bound: a stuck engine fails here */
#define ODP_RW                                                                 \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_ON_DEMAND)

static const char *dev_name, *file_path, *gate_path, *log_path;

struct side {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *a, *b;
	union ibv_gid gid;
};

static void side_open(struct side *s)
{
	s->ctx = itest_open_device(dev_name);
	s->pd = ibv_alloc_pd(s->ctx);
	s->cq = ibv_create_cq(s->ctx, 16, NULL, NULL, 0);
	if (!s->pd || !s->cq || ibv_query_gid(s->ctx, 1, 1, &s->gid))
		die("PD, CQ or GID: %s", strerror(errno));
	s->a = itest_rc_qp(s->pd, s->cq, 4);
	s->b = itest_rc_qp(s->pd, s->cq, 4);
	if (!s->a || !s->b)
		die("ibv_create_qp: %s", strerror(errno));
	itest_rc_connect_pair(s->a, s->b, &s->gid);
}

static void side_close(struct side *s)
{
	if (ibv_destroy_qp(s->a) || ibv_destroy_qp(s->b) ||
	    ibv_destroy_cq(s->cq) || ibv_dealloc_pd(s->pd) ||
	    ibv_close_device(s->ctx))
		die("tearing down: %s", strerror(errno));
}

static uint8_t file_byte(size_t off)
{
	return (uint8_t)(off * 7 + 3);
}

static struct ibv_mr *reg(struct side *s, void *p, size_t len, int access)
{
	struct ibv_mr *mr = ibv_reg_mr(s->pd, p, len, access);

	if (!mr)
		die("ibv_reg_mr: %s", strerror(errno));
	return mr;
}

static int post_recv(struct ibv_qp *qp, void *p, uint32_t len, uint32_t lkey)
{
	struct ibv_sge sge = { (uintptr_t)p, len, lkey };
	struct ibv_recv_wr wr = { .wr_id = 1, .sg_list = &sge, .num_sge = 1 },
			   *bad;

	return ibv_post_recv(qp, &wr, &bad);
}

static int post_send(struct ibv_qp *qp, void *p, uint32_t len, uint32_t lkey)
{
	struct ibv_sge sge = { (uintptr_t)p, len, lkey };
	struct ibv_send_wr wr = { .wr_id = 2,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;

	return ibv_post_send(qp, &wr, &bad);
}

static void *map_file(void)
{
	int fd = open(file_path, O_RDWR);
	void *p;

	if (fd < 0)
		die("open %s: %s", file_path, strerror(errno));
	p = mmap(NULL, FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		die("mmap %s: %s", file_path, strerror(errno));
	return p;
}

/* Whether gated_fuse.py was asked for a read at or past @from. */
static bool read_asked(unsigned long from)
{
	FILE *f = fopen(log_path, "r");
	unsigned long off;
	bool seen = false;

	if (!f)
		return false;
	while (!seen && fscanf(f, "read %lu\n", &off) == 1)
		seen = off >= from;
	fclose(f);
	return seen;
}

static void wait_read_asked(unsigned long from)
{
	uint64_t until = now_ms() + WAIT_MS;

	while (!read_asked(from)) {
		if (now_ms() > until)
			die("no read of the file at or past %lu was asked for",
			    from);
		usleep(10000);
	}
}

static void gate(bool open_it)
{
	if (!open_it) {
		unlink(gate_path);
		return;
	}
	int fd = open(gate_path, O_CREAT | O_WRONLY, 0644);

	if (fd < 0)
		die("create %s: %s", gate_path, strerror(errno));
	close(fd);
}

/* ---- the bystander: pinned ping-pong on the same engine thread ---- */

static bool round_trip(struct side *s, uint8_t *buf, struct ibv_mr *mr,
		       unsigned int round)
{
	uint8_t *out = buf, *in = buf + MSG;
	struct ibv_wc wc;
	int got = 0;

	for (unsigned int i = 0; i < MSG; i++)
		out[i] = (uint8_t)(i + round);
	memset(in, 0, MSG);
	if (post_recv(s->b, in, MSG, mr->lkey) ||
	    post_send(s->a, out, MSG, mr->lkey))
		return false;
	while (got < 2) {
		if (!itest_poll_one(s->cq, &wc, WAIT_MS) ||
		    wc.status != IBV_WC_SUCCESS)
			return false;
		got++;
	}
	for (unsigned int i = 0; i < MSG; i++)
		if (in[i] != (uint8_t)(i + round))
			return false;
	return true;
}

/* Serves 'g' (ROUNDS round trips, answers 'o' or 'f') until 'q'. */
static void bystander(int cmd, int reply)
{
	struct side s;
	uint8_t *buf;
	struct ibv_mr *mr;
	char c;

	side_open(&s);
	buf = calloc(2, MSG);
	if (!buf)
		die("calloc");
	mr = reg(&s, buf, 2 * MSG, IBV_ACCESS_LOCAL_WRITE);
	while (read(cmd, &c, 1) == 1 && c == 'g') {
		bool ok = true;

		for (unsigned int r = 0; r < ROUNDS && ok; r++)
			ok = round_trip(&s, buf, mr, r);
		if (write(reply, ok ? "o" : "f", 1) != 1)
			die("reply: %s", strerror(errno));
	}
	_exit(0);
}

struct helper_proc {
	pid_t pid;
	int cmd, reply;
};

static struct helper_proc start_bystander(void)
{
	int to[2], from[2];
	struct helper_proc h;

	if (pipe(to) || pipe(from))
		die("pipe: %s", strerror(errno));
	h.pid = fork();
	if (h.pid < 0)
		die("fork: %s", strerror(errno));
	if (!h.pid) {
		close(to[1]);
		close(from[0]);
		bystander(to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	h.cmd = to[1];
	h.reply = from[0];
	return h;
}

static bool bystander_rounds(struct helper_proc *h)
{
	char c = 0;

	if (write(h->cmd, "g", 1) != 1 || read(h->reply, &c, 1) != 1)
		return false;
	return c == 'o';
}

/* ---- phase 1: the stalled process S ---- */

static bool want_success(struct side *s, const char *what)
{
	struct ibv_wc wc;

	if (!itest_poll_one(s->cq, &wc, WAIT_MS))
		return EXPECT(false, "%s: no completion after the gate opened",
			      what);
	return EXPECT(wc.status == IBV_WC_SUCCESS, "%s: status %s", what,
		      ibv_wc_status_str(wc.status));
}

static void stalled_then_released(struct helper_proc *by)
{
	struct side s;
	uint8_t *file = map_file(), *local = calloc(2, MSG);
	struct ibv_mr *fmr, *lmr;
	struct ibv_wc wc;
	bool data_ok = true;

	if (!local)
		die("calloc");
	side_open(&s);
	fmr = reg(&s, file, FILE_BYTES, ODP_RW);
	lmr = reg(&s, local, 2 * MSG, IBV_ACCESS_LOCAL_WRITE);
	for (unsigned int i = 0; i < MSG; i++)
		local[MSG + i] = (uint8_t)(0xA5 ^ i);
	/* a SENDs from the file into b's pinned buffer */
	EXPECT(!post_recv(s.b, local, MSG, lmr->lkey), "post_recv");
	EXPECT(!post_send(s.a, file, MSG, fmr->lkey), "post SEND");
	/* b WRITEs pinned bytes into the file through a */
	EXPECT(!itest_post_rdma(s.b, IBV_WR_RDMA_WRITE, local + MSG, lmr->lkey,
				(uintptr_t)(file + WRITE_OFF), fmr->rkey, MSG),
	       "post WRITE");
	wait_read_asked(0);
	EXPECT(bystander_rounds(by),
	       "the bystander's pinned traffic did not move while another "
	       "process's on-demand fault waited");
	EXPECT(ibv_poll_cq(s.cq, 1, &wc) == 0,
	       "an operation on the gated file completed before the gate "
	       "opened (wr_id %llu, %s)",
	       (unsigned long long)wc.wr_id, ibv_wc_status_str(wc.status));
	gate(true);
	for (int i = 0; i < 3; i++)
		want_success(&s, "SEND, RECV and WRITE after the gate");
	for (unsigned int i = 0; i < MSG; i++)
		data_ok = data_ok && local[i] == file_byte(i);
	EXPECT(data_ok, "the SEND did not carry the file's bytes");
	EXPECT(!memcmp(file + WRITE_OFF, local + MSG, MSG),
	       "the WRITE's bytes are not in the file");
	if (ibv_dereg_mr(fmr) || ibv_dereg_mr(lmr))
		die("ibv_dereg_mr: %s", strerror(errno));
	side_close(&s);
	munmap(file, FILE_BYTES);
	free(local);
}

/* ---- phase 2: S2 killed while its fault waits ---- */

static void stall_forever(void)
{
	struct side s;
	uint8_t *file = map_file();
	struct ibv_mr *fmr;
	static uint8_t sink[MSG];
	struct ibv_mr *smr;

	side_open(&s);
	fmr = reg(&s, file, FILE_BYTES, ODP_RW);
	smr = reg(&s, sink, MSG, IBV_ACCESS_LOCAL_WRITE);
	if (post_recv(s.b, sink, MSG, smr->lkey) ||
	    post_send(s.a, file + KILLED_OFF, MSG, fmr->lkey))
		die("S2: post: %s", strerror(errno));
	for (;;)
		pause();
}

static void killed_while_stalled(struct helper_proc *by)
{
	pid_t s2;
	int status;

	gate(false);
	s2 = fork();
	if (s2 < 0)
		die("fork: %s", strerror(errno));
	if (!s2)
		stall_forever();
	wait_read_asked(KILLED_OFF - 128u * 1024u);
	kill(s2, SIGKILL);
	EXPECT(bystander_rounds(by),
	       "the bystander's traffic did not move after a process was "
	       "killed while its on-demand fault waited");
	/* S2's exit may need its mmap lock (its page mover's userfaultfd),
	 * which the fault holds until answered: reaped after the gate. */
	gate(true);
	EXPECT(waitpid(s2, &status, 0) == s2 && WIFSIGNALED(status),
	       "S2 was not reaped as killed");
}

int main(int argc, char **argv)
{
	struct helper_proc by;
	int status;

	if (argc != 5) {
		fprintf(stderr, "usage: %s DEVICE FILE GATE LOG\n", argv[0]);
		return 2;
	}
	dev_name = argv[1];
	file_path = argv[2];
	gate_path = argv[3];
	log_path = argv[4];
	gate(false);
	by = start_bystander();
	stalled_then_released(&by);
	killed_while_stalled(&by);
	if (write(by.cmd, "q", 1) != 1 || waitpid(by.pid, &status, 0) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status))
		EXPECT(false, "the bystander did not end cleanly");
	if (failures)
		return 1;
	printf("PASS\n");
	return 0;
}
