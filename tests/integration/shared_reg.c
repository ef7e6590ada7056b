// SPDX-License-Identifier: MIT
/*
 * Issue #12: shareable memory registered in place (srxed/shmreg.h) --
 * MAP_SHARED|MAP_ANONYMOUS, memfd, a file on tmpfs (/dev/shm) and a file
 * on disk (/var/tmp).  For each: a child process forked before the device
 * is opened keeps its own mapping of the object; the buffer is registered;
 * an RC QP connected to itself RDMA-WRITEs into it (the application sees
 * the bytes through its pointer, the child through its mapping), the child
 * writes new bytes that an RDMA READ must return.  Refusals: a read-only
 * shared mapping may be registered for REMOTE_READ (a READ returns the
 * file's bytes) but not with write access (EFAULT, as rxe); an unmapped
 * range gives EFAULT.
 *
 * usage: shared_reg DEVICE   prints "shared_reg: OK" or the failed check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "shared_reg";
static int failures __attribute__((unused)); /* CHECK() exits instead */

#include "itest.h"

#define LEN   (64 * 1024)
#define NKIND 4

#define CHECK(c, ...)                                                          \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "FAIL (shared_reg.c:%d): ", __LINE__); \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

static void rdma(struct ibv_qp *qp, struct ibv_cq *cq, enum ibv_wr_opcode op,
		 void *local, uint32_t lkey, void *remote, uint32_t rkey)
{
	struct ibv_sge s = { (uintptr_t)local, LEN, lkey };
	struct ibv_send_wr wr = { .sg_list = &s,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	struct ibv_wc wc;
	int n = 0;

	wr.wr.rdma.remote_addr = (uintptr_t)remote;
	wr.wr.rdma.rkey = rkey;
	CHECK(!ibv_post_send(qp, &wr, &bad), "post_send");
	for (long t = 0; t < 100000000 && !n; t++)
		n = ibv_poll_cq(cq, 1, &wc);
	CHECK(n == 1 && wc.status == IBV_WC_SUCCESS, "%s: status %d",
	      op == IBV_WR_RDMA_WRITE ? "WRITE" : "READ",
	      n ? (int)wc.status : -1);
}

static const char *const kind_name[NKIND] = { "anon-shared", "memfd",
					      "tmpfs-file", "disk-file" };

static int kind_fd(int k, char *path, size_t plen)
{
	int fd = -1;

	path[0] = '\0';
	if (k == 1)
		fd = memfd_create("shared-reg-test", MFD_CLOEXEC);
	if (k == 2)
		snprintf(path, plen, "/dev/shm/srxe-shared-reg.%d", getpid());
	if (k == 3)
		snprintf(path, plen, "/var/tmp/srxe-shared-reg.%d", getpid());
	if (path[0])
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		CHECK(!ftruncate(fd, LEN), "ftruncate: %s", strerror(errno));
	return fd;
}

/* The child: on each byte from cmd, check pattern 1, write pattern 2. */
static void child_loop(const uint8_t *map, int cmd, int ack)
{
	char c;

	while (read(cmd, &c, 1) == 1) {
		char ok = 1;

		if (!c) /* done (other children hold this pipe too: no EOF) */
			break;
		for (int i = 0; i < LEN; i++)
			if (map[i] != (uint8_t)(i * 7 + c))
				ok = 0;
		for (int i = 0; i < LEN && ok; i++)
			((uint8_t *)map)[i] = (uint8_t)(i * 3 + c);
		if (write(ack, &ok, 1) != 1)
			break;
	}
	_exit(0);
}

struct kind {
	uint8_t *buf;
	int cmd, ack;
	pid_t child;
	char path[64];
};

static void setup_kind(int k, struct kind *kd)
{
	int fd = kind_fd(k, kd->path, sizeof(kd->path));
	int c[2], a[2];

	kd->buf =
		mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		     MAP_SHARED | (k == 0 ? MAP_ANONYMOUS : 0), k ? fd : -1, 0);
	CHECK(kd->buf != MAP_FAILED, "%s: mmap: %s", kind_name[k],
	      strerror(errno));
	CHECK(!pipe(c) && !pipe(a), "pipe");
	kd->child = fork();
	CHECK(kd->child >= 0, "fork");
	if (!kd->child) {
		uint8_t *own = kd->buf;

		close(c[1]);
		close(a[0]);
		if (k) /* a mapping of its own, not just the inherited one */
			own = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0);
		if (own == MAP_FAILED)
			_exit(2);
		child_loop(own, c[0], a[1]);
	}
	close(c[0]);
	close(a[1]);
	kd->cmd = c[1];
	kd->ack = a[0];
	if (fd >= 0)
		close(fd);
}

static int ask_child(struct kind *kd, char c)
{
	char ok = 0;

	CHECK(write(kd->cmd, &c, 1) == 1, "to child");
	CHECK(read(kd->ack, &ok, 1) == 1, "from child");
	return ok;
}

int main(int argc, char **argv)
{
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = 4,
			 .max_recv_wr = 1,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	struct kind kinds[NKIND];
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *pmr, *mr;
	union ibv_gid gid;
	uint8_t *priv, *ro, *hole;
	char ropath[64];
	int fd;

	CHECK(argc == 2, "usage: shared_reg DEVICE");
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int k = 0; k < NKIND; k++)
		setup_kind(k, &kinds[k]);

	ctx = itest_open_device(argv[1]);
	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 8, NULL, NULL, 0);
	CHECK(pd && cq, "pd/cq");
	qa.send_cq = qa.recv_cq = cq;
	qp = ibv_create_qp(pd, &qa);
	CHECK(qp && !ibv_query_gid(ctx, 1, 1, &gid), "qp/gid");
	itest_rc_connect(qp, qp->qp_num, &gid);
	priv = aligned_alloc(4096, LEN);
	CHECK(priv, "alloc");
	pmr = ibv_reg_mr(pd, priv, LEN, access);
	CHECK(pmr, "ibv_reg_mr (private): %s", strerror(errno));

	for (int k = 0; k < NKIND; k++) {
		struct kind *kd = &kinds[k];
		const char *n = kind_name[k];
		char c = (char)(k + 1);

		memset(kd->buf, 0x5a, LEN);
		mr = ibv_reg_mr(pd, kd->buf, LEN, access);
		CHECK(mr, "%s: ibv_reg_mr: %s", n, strerror(errno));
		CHECK(kd->buf[100] == 0x5a, "%s: contents kept", n);
		for (int i = 0; i < LEN; i++)
			priv[i] = (uint8_t)(i * 7 + c);
		rdma(qp, cq, IBV_WR_RDMA_WRITE, priv, pmr->lkey, kd->buf,
		     mr->rkey);
		for (int i = 0; i < LEN; i++)
			CHECK(kd->buf[i] == (uint8_t)(i * 7 + c),
			      "%s: byte %d after WRITE: %u", n, i, kd->buf[i]);
		CHECK(ask_child(kd, c),
		      "%s: the other process did not see "
		      "the WRITE",
		      n);
		rdma(qp, cq, IBV_WR_RDMA_READ, priv, pmr->lkey, kd->buf,
		     mr->rkey);
		for (int i = 0; i < LEN; i++)
			CHECK(priv[i] == (uint8_t)(i * 3 + c) &&
				      kd->buf[i] == priv[i],
			      "%s: byte %d after READ: %u (own view %u)", n, i,
			      priv[i], kd->buf[i]);
		CHECK(!ibv_dereg_mr(mr), "%s: dereg", n);
		kd->buf[0] = 0x11; /* still shared after dereg */
		c = 0;
		CHECK(write(kd->cmd, &c, 1) == 1, "%s: child", n);
		close(kd->cmd);
		close(kd->ack);
		CHECK(waitpid(kd->child, NULL, 0) == kd->child, "wait");
		CHECK(kd->buf[0] == 0x11, "%s: still mapped", n);
		munmap(kd->buf, LEN);
		if (kd->path[0])
			unlink(kd->path);
		printf("ok: %s\n", n);
	}

	/* A read-only shared file mapping: read access only, as rxe. */
	snprintf(ropath, sizeof(ropath), "/var/tmp/srxe-shared-ro.%d",
		 getpid());
	fd = open(ropath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && !ftruncate(fd, LEN), "ro file");
	for (int i = 0; i < LEN; i++)
		priv[i] = (uint8_t)(i * 5 + 9);
	CHECK(pwrite(fd, priv, LEN, 0) == LEN, "pwrite");
	ro = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(ro != MAP_FAILED, "ro mmap");
	errno = 0;
	mr = ibv_reg_mr(pd, ro, LEN, access);
	CHECK(!mr && errno == EFAULT,
	      "read-only mapping with write access: %p errno %d (want EFAULT)",
	      (void *)mr, errno);
	mr = ibv_reg_mr(pd, ro, LEN, IBV_ACCESS_REMOTE_READ);
	CHECK(mr, "read-only mapping, REMOTE_READ: %s", strerror(errno));
	memset(priv, 0, LEN);
	rdma(qp, cq, IBV_WR_RDMA_READ, priv, pmr->lkey, ro, mr->rkey);
	for (int i = 0; i < LEN; i++)
		CHECK(priv[i] == (uint8_t)(i * 5 + 9) && ro[i] == priv[i],
		      "read-only: byte %d: %u", i, priv[i]);
	CHECK(!ibv_dereg_mr(mr), "ro dereg");
	munmap(ro, LEN);
	close(fd);
	unlink(ropath);
	printf("ok: read-only\n");

	/* An unmapped range. */
	hole = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(hole != MAP_FAILED && !munmap(hole, LEN), "hole");
	errno = 0;
	mr = ibv_reg_mr(pd, hole, LEN, access);
	CHECK(!mr && errno == EFAULT, "unmapped: %p errno %d (want EFAULT)",
	      (void *)mr, errno);
	printf("ok: unmapped\n");

	CHECK(!ibv_dereg_mr(pmr), "dereg MR");
	free(priv);
	ibv_destroy_qp(qp);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("shared_reg: OK\n");
	return 0;
}
