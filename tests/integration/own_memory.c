// SPDX-License-Identifier: MIT
/*
 * Issue #12, must-show 5: a client cannot register another process's
 * memory through srxed (srxed/peer_mem.h).  Every refusal must come with
 * the documented errno and leave srxed's own address space without a new
 * mapping of a client object (its /proc/PID/maps, shared mappings other
 * than its slabs and rings, before and after; a legitimate shared
 * registration first shows that such a mapping would be seen).
 *
 *   own  - an unmapped range, a range mapped only in part: EFAULT;
 *          a read-only private mapping and a read-only shared mapping
 *          registered with LOCAL_WRITE: EFAULT (both may be registered
 *          for REMOTE_READ, as on rxe)
 *   uid  - as uid 65534: an address where root's process (only) maps a
 *          memfd: EFAULT; its own memfd and shared memory: registered;
 *          root's 0644 file on tmpfs mapped read-only,
 *          registered writable: EACCES; registered for REMOTE_READ: fine;
 *          root's file mapped read-write through a descriptor root opened
 *          (the mapping is writable, the client's own rights are not):
 *          EACCES
 *   fork - a forked child sends REG_MR of its own memory over its
 *          parent's inherited socket: EACCES, and the parent's context
 *          keeps working (ibv_reg_mr, an RDMA WRITE to itself)
 *   exit - the owner exits, a grandchild that inherited the socket sends:
 *          EACCES
 *   pid  - the owner exits and a process with the very same pid (clone3
 *          set_tid) sends on the socket: EACCES (pid reuse)
 *
 * usage: own_memory DEVICE SRXED_SOCKET SRXED_PID
 * Prints "ok: CASE" lines and "own_memory: OK", or the failed checks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "srxe/proto.h"

static const char *who = "own_memory";
static int failures;

#include "itest.h"

#define LEN    (64 * 1024)
#define NOBODY 65534
#define RW     (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

static const char *dev_name, *sock_path;
static pid_t srxed_pid;

/*
 * srxed's shared mappings other than its own memfds (slabs, rings): where
 * a client object it mapped would show.  One string, lines sorted as the
 * kernel lists them.
 */
static char *srxed_foreign_maps(void)
{
	char path[64], line[4096];
	size_t cap = 1, len = 0;
	char *out = calloc(1, 1);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)srxed_pid);
	f = fopen(path, "re");
	if (!f || !out)
		die("cannot read %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char perms[5];
		size_t n = strlen(line);

		if (sscanf(line, "%*x-%*x %4s", perms) != 1 ||
		    perms[3] != 's' || strstr(line, "/memfd:srxe-"))
			continue;
		out = realloc(out, cap += n);
		if (!out)
			die("out of memory");
		memcpy(out + len, line, n + 1);
		len += n;
	}
	fclose(f);
	return out;
}

/* Compares srxed's foreign mappings with @before (freed). */
static void expect_no_new_mapping(char *before, const char *what)
{
	char *after = srxed_foreign_maps();

	EXPECT(!strcmp(before, after),
	       "%s: srxed's shared mappings changed:\nbefore:\n%safter:\n%s",
	       what, before, after);
	free(before);
	free(after);
}

/* ibv_reg_mr must fail with errno @want (an MR it made is deregistered). */
static void expect_reg_errno(struct ibv_pd *pd, void *buf, size_t len,
			     int access, int want, const char *what)
{
	struct ibv_mr *mr;

	errno = 0;
	mr = ibv_reg_mr(pd, buf, len, access);
	EXPECT(!mr && errno == want, "%s: %s (errno %d, want %d)", what,
	       mr ? "registered" : strerror(errno), errno, want);
	if (mr)
		ibv_dereg_mr(mr);
}

/* ibv_reg_mr must fail with @want (and nothing mapped in srxed). */
static void expect_refused(struct ibv_pd *pd, void *buf, size_t len, int access,
			   int want, const char *what)
{
	char *before = srxed_foreign_maps();

	expect_reg_errno(pd, buf, len, access, want, what);
	expect_no_new_mapping(before, what);
}

static void expect_registered(struct ibv_pd *pd, void *buf, size_t len,
			      int access, const char *what)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, buf, len, access);

	EXPECT(mr, "%s: %s", what, strerror(errno));
	if (mr)
		EXPECT(!ibv_dereg_mr(mr), "%s: dereg", what);
}

static void *map_memfd(int prot, int *fd_out)
{
	int fd = memfd_create("own-memory-test", MFD_CLOEXEC);
	void *p;

	if (fd < 0 || ftruncate(fd, LEN))
		die("memfd: %s", strerror(errno));
	p = mmap(NULL, LEN, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd: %s", strerror(errno));
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return p;
}

static void case_own(struct ibv_pd *pd)
{
	char *before, *mid;
	uint8_t *hole, *half, *ro, *shro, *sh;
	struct ibv_mr *mr;
	int fd;

	/* The detector works: a memfd the client may write is mapped. */
	sh = map_memfd(PROT_READ | PROT_WRITE, NULL);
	before = srxed_foreign_maps();
	mr = ibv_reg_mr(pd, sh, LEN, RW);
	EXPECT(mr, "own memfd: %s", strerror(errno));
	mid = srxed_foreign_maps();
	EXPECT(strcmp(before, mid), "own memfd registered, but srxed's maps "
				    "show no new shared mapping");
	free(mid);
	if (mr)
		EXPECT(!ibv_dereg_mr(mr), "own memfd: dereg");
	expect_no_new_mapping(before, "own memfd after dereg");
	munmap(sh, LEN);

	hole = mmap(NULL, 2 * LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED || munmap(hole, 2 * LEN))
		die("hole: %s", strerror(errno));
	expect_refused(pd, hole, LEN, RW, EFAULT, "unmapped range");
	expect_refused(pd, hole, LEN, IBV_ACCESS_REMOTE_READ, EFAULT,
		       "unmapped range, read only");
	half = mmap(hole, LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (half != hole)
		die("half: %s", strerror(errno));
	expect_refused(pd, half, 2 * LEN, RW, EFAULT,
		       "range mapped only in its first half");
	munmap(half, LEN);
	printf("ok: own: unmapped\n");

	ro = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED)
		die("ro: %s", strerror(errno));
	expect_refused(pd, ro, LEN, IBV_ACCESS_LOCAL_WRITE, EFAULT,
		       "read-only private mapping, LOCAL_WRITE");
	expect_refused(pd, ro, LEN, RW | IBV_ACCESS_REMOTE_ATOMIC, EFAULT,
		       "read-only private mapping, remote write");
	expect_registered(pd, ro, LEN, IBV_ACCESS_REMOTE_READ,
			  "read-only private mapping, REMOTE_READ");
	munmap(ro, LEN);

	shro = map_memfd(PROT_READ, &fd);
	expect_refused(pd, shro, LEN, IBV_ACCESS_LOCAL_WRITE, EFAULT,
		       "read-only shared mapping, LOCAL_WRITE");
	expect_registered(pd, shro, LEN, IBV_ACCESS_REMOTE_READ,
			  "read-only shared mapping, REMOTE_READ");
	munmap(shro, LEN);
	close(fd);
	printf("ok: own: read-only\n");
}

/* Child <-> parent: the child asks the root parent to compare srxed's
 * maps around each refusal it gets. */
struct sync {
	int ask, answer; /* child's ends */
};

static void sync_snapshot(struct sync *s)
{
	char c = 's';

	if (write(s->ask, &c, 1) != 1 || read(s->answer, &c, 1) != 1)
		die("sync");
}

static void sync_compare(struct sync *s, const char *what)
{
	char c = 'c', ok = 0;

	if (write(s->ask, &c, 1) != 1 || read(s->answer, &ok, 1) != 1)
		die("sync");
	EXPECT(ok, "%s: srxed gained a mapping (see the parent's report)",
	       what);
}

/* Parent side: serve snapshot/compare requests until the child is done. */
static void serve_sync(int ask, int answer, const char *what)
{
	char c, ok;
	char *before = NULL;

	while (read(ask, &c, 1) == 1) {
		if (c == 's') {
			free(before);
			before = srxed_foreign_maps();
			ok = 1;
		} else {
			int was = failures;

			expect_no_new_mapping(before, what);
			before = NULL;
			ok = failures == was;
		}
		if (write(answer, &ok, 1) != 1)
			break;
	}
	free(before);
}

static void refused_synced(struct sync *s, struct ibv_pd *pd, void *buf,
			   int access, int want, const char *what)
{
	sync_snapshot(s);
	expect_reg_errno(pd, buf, LEN, access, want, what);
	sync_compare(s, what);
}

static void drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		die("cannot become uid %d: %s", NOBODY, strerror(errno));
}

static int uid_child(const char *ro_path, int rw_fd, uint8_t *roots,
		     struct sync *s)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	uint8_t *ro, *rw, *own;
	int fd;

	who = "own_memory uid 65534";
	failures = 0; /* the parent's count came along */
	drop_to_nobody();
	fd = open(ro_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s as uid %d: %s", ro_path, NOBODY, strerror(errno));
	EXPECT(open(ro_path, O_RDWR | O_CLOEXEC) < 0 && errno == EACCES,
	       "uid %d may write %s: the case proves nothing", NOBODY, ro_path);
	ro = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	rw = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, rw_fd, 0);
	if (ro == MAP_FAILED || rw == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	ctx = itest_open_device(dev_name);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("alloc_pd: %s", strerror(errno));
	/* Root's memfd stays mapped at @roots in root's process only.  Unmapped
	 * after the device's own mappings are made, so that none of them
	 * lands there (it would be srxe's, refused with EACCES instead). */
	if (munmap(roots, LEN))
		die("munmap: %s", strerror(errno));
	refused_synced(s, pd, roots, IBV_ACCESS_REMOTE_READ, EFAULT,
		       "an address where root's process maps its memfd");
	/* Its own shared objects register as before. */
	own = map_memfd(PROT_READ | PROT_WRITE, NULL);
	expect_registered(pd, own, LEN, RW, "uid 65534's own memfd");
	munmap(own, LEN);
	own = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (own == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	expect_registered(pd, own, LEN, RW, "uid 65534's own shared memory");
	munmap(own, LEN);
	refused_synced(
		s, pd, ro, RW, EACCES,
		"root's 0644 file mapped read-only, registered writable");
	refused_synced(s, pd, ro, IBV_ACCESS_LOCAL_WRITE, EACCES,
		       "root's 0644 file mapped read-only, LOCAL_WRITE");
	expect_registered(pd, ro, LEN, IBV_ACCESS_REMOTE_READ,
			  "root's 0644 file mapped read-only, REMOTE_READ");
	refused_synced(s, pd, rw, RW, EACCES,
		       "root's 0644 file mapped read-write through root's "
		       "descriptor, registered writable");
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return failures ? 1 : 0;
}

static void case_uid(void)
{
	char dir[64], ro_path[96], rw_path[96];
	int ask[2], answer[2], fd, rw_fd, status;
	uint8_t *roots = map_memfd(PROT_READ | PROT_WRITE, NULL);
	struct sync s;
	pid_t child;

	snprintf(dir, sizeof(dir), "/dev/shm/srxe-own.%d", (int)getpid());
	snprintf(ro_path, sizeof(ro_path), "%s/ro", dir);
	snprintf(rw_path, sizeof(rw_path), "%s/rw", dir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		die("mkdir %s: %s", dir, strerror(errno));
	fd = open(ro_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	rw_fd = open(rw_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || rw_fd < 0 || ftruncate(fd, LEN) ||
	    ftruncate(rw_fd, LEN) || fchmod(fd, 0644) || fchmod(rw_fd, 0644))
		die("files in %s: %s", dir, strerror(errno));
	close(fd);
	if (pipe2(ask, O_CLOEXEC) || pipe2(answer, O_CLOEXEC))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		close(ask[0]);
		close(answer[1]);
		s.ask = ask[1];
		s.answer = answer[0];
		_exit(uid_child(ro_path, rw_fd, roots, &s));
	}
	close(ask[1]);
	close(answer[0]);
	close(rw_fd);
	serve_sync(ask[0], answer[1], "uid 65534");
	close(ask[0]);
	close(answer[1]);
	EXPECT(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		       !WEXITSTATUS(status),
	       "uid 65534 child failed (status 0x%x)", status);
	unlink(ro_path);
	unlink(rw_path);
	rmdir(dir);
	munmap(roots, LEN);
	printf("ok: uid: another user's file\n");
}

/* The descriptors of this process connected to srxed's socket. */
static int srxed_sockets(int *fds, int cap)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		die("opendir /proc/self/fd");
	while ((e = readdir(d)) && n < cap) {
		struct sockaddr_un a;
		socklen_t len = sizeof(a);
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		memset(&a, 0, sizeof(a));
		if (!getpeername(fd, (struct sockaddr *)&a, &len) &&
		    a.sun_family == AF_UNIX && !strcmp(a.sun_path, sock_path))
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

/*
 * REG_MR of a memfd mapping of this process, sent raw on @sock (a socket
 * another process opened).  Returns srxed's errno with its reason.
 */
static int raw_reg_own_memfd(int sock, uint32_t pd, char *reason)
{
	static uint64_t req_id = 1u << 30;
	uint8_t *buf = map_memfd(PROT_READ | PROT_WRITE, NULL);
	struct srxe_reg_mr_req req = { .pd_handle = pd,
				       .access = RW,
				       .va = (uintptr_t)buf,
				       .length = LEN,
				       .iova = (uintptr_t)buf };
	char msg[SRXE_MSG_MAX];
	const void *body;
	int n, ret;

	reason[0] = '\0';
	n = srxe_msg_request(msg, sizeof(msg), SRXE_OP_REG_MR, ++req_id, &req,
			     sizeof(req));
	if (n < 0 || send(sock, msg, (size_t)n, MSG_NOSIGNAL) != n)
		die("sending REG_MR: %s", strerror(errno));
	n = (int)recv(sock, msg, sizeof(msg), 0);
	if (n <= 0)
		die("no reply to REG_MR: %s", n ? strerror(errno) : "EOF");
	ret = srxe_msg_check_reply(msg, (size_t)n, SRXE_OP_REG_MR, req_id,
				   &body, reason, SRXE_REASON_MAX + 1);
	munmap(buf, LEN);
	return ret;
}

/*
 * Copies of this process's srxed sockets under other descriptor numbers:
 * after fork() the provider closes its own copies in the child (inherited
 * contexts are dead there, srxe_fork.h), so these stand for a child that
 * kept one anyway and talks to srxed directly.  Returns their number.
 */
static int keep_socket_copies(int *copies, int cap)
{
	int n = srxed_sockets(copies, cap);

	for (int i = 0; i < n; i++) {
		copies[i] = dup(copies[i]);
		if (copies[i] < 0)
			die("dup: %s", strerror(errno));
	}
	return n;
}

static void close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Every srxed socket this process holds refuses its REG_MR: EACCES. */
static int send_on_inherited(uint32_t pd, const char *what)
{
	char reason[SRXE_REASON_MAX + 1];
	int fds[8], n = srxed_sockets(fds, 8);

	EXPECT(n > 0, "%s: no socket to srxed found", what);
	for (int i = 0; i < n; i++) {
		int ret = raw_reg_own_memfd(fds[i], pd, reason);

		EXPECT(ret == EACCES, "%s: socket %d: REG_MR answered %d (%s)",
		       what, fds[i], ret, reason);
		if (i == 0)
			printf("  %s: %s\n", what, reason);
	}
	return failures ? 1 : 0;
}

/* The parent's context still works: register, RDMA WRITE to itself. */
static void parent_still_served(struct ibv_context *ctx, struct ibv_pd *pd)
{
	/* Remote WRITE only, MTU 1024, one READ in flight each way. */
	static const struct itest_rc_opts self = {
		.access = IBV_ACCESS_REMOTE_WRITE,
		.mtu = IBV_MTU_1024,
		.rd_atomic = 1,
	};
	uint8_t *src = aligned_alloc(4096, LEN),
		*dst = aligned_alloc(4096, LEN);
	struct ibv_cq *cq = ibv_create_cq(ctx, 4, NULL, NULL, 0);
	struct ibv_mr *smr, *dmr;
	struct ibv_wc wc;
	union ibv_gid gid;
	struct ibv_qp *qp;
	int n;

	if (!src || !dst || !cq)
		die("parent: buffers/CQ: %s", strerror(errno));
	memset(src, 0xa5, LEN);
	memset(dst, 0, LEN);
	smr = ibv_reg_mr(pd, src, LEN, IBV_ACCESS_LOCAL_WRITE);
	dmr = ibv_reg_mr(pd, dst, LEN, RW);
	EXPECT(smr && dmr, "parent's ibv_reg_mr after the child's refusal: %s",
	       strerror(errno));
	qp = itest_rc_qp(pd, cq, 1);
	if (smr && dmr && qp && !ibv_query_gid(ctx, 1, 1, &gid)) {
		itest_rc_connect_with(qp, qp->qp_num, &gid, &self);
		EXPECT(!itest_post_rdma(qp, IBV_WR_RDMA_WRITE, src, smr->lkey,
					(uintptr_t)dst, dmr->rkey, LEN),
		       "parent: post_send");
		n = itest_poll_one(cq, &wc, 10000);
		EXPECT(n == 1 && wc.status == IBV_WC_SUCCESS &&
			       dst[0] == 0xa5 && dst[LEN - 1] == 0xa5,
		       "parent's RDMA WRITE after the child's refusal: %d %d",
		       n, n == 1 ? (int)wc.status : -1);
	} else {
		EXPECT(false, "parent: QP/GID: %s", strerror(errno));
	}
	if (qp)
		ibv_destroy_qp(qp);
	if (smr)
		ibv_dereg_mr(smr);
	if (dmr)
		ibv_dereg_mr(dmr);
	ibv_destroy_cq(cq);
	free(src);
	free(dst);
}

static int wait_child(pid_t child)
{
	int status = -1;

	if (waitpid(child, &status, 0) != child)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void case_fork(void)
{
	struct ibv_context *ctx = itest_open_device(dev_name);
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	char *before;
	int copies[8], ncopies;
	pid_t child;
	int rc;

	if (!pd)
		die("alloc_pd: %s", strerror(errno));
	before = srxed_foreign_maps();
	ncopies = keep_socket_copies(copies, 8);
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		struct ibv_pd *cpd;

		who = "own_memory forked child";
		failures = 0;
		send_on_inherited(pd->handle, "child on its parent's socket");
		/* Through the provider too (it must not hang or succeed). */
		errno = 0;
		cpd = ibv_alloc_pd(ctx);
		EXPECT(!cpd, "child allocated a PD in its parent's context");
		printf("  child's ibv_alloc_pd on the parent's context: %s\n",
		       strerror(errno));
		_exit(failures ? 1 : 0);
	}
	rc = wait_child(child);
	close_all(copies, ncopies);
	EXPECT(rc == 0, "forked child failed (%d)", rc);
	expect_no_new_mapping(before, "child on its parent's socket");
	parent_still_served(ctx, pd);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("ok: fork: child refused, parent served\n");
}

/* The owner opens the device, hands its srxed sockets and PD handle over
 * @chan, waits for a byte, exits. */
static void owner(int chan)
{
	struct ibv_context *ctx = itest_open_device(dev_name);
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	union {
		char space[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	int fds[8], n = srxed_sockets(fds, 8);
	uint32_t handle = pd ? pd->handle : 0;
	struct iovec iov = { &handle, sizeof(handle) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	char c;

	if (!pd || n <= 0)
		_exit(2);
	msg.msg_control = ctl.space;
	msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	if (sendmsg(chan, &msg, 0) < 0 || read(chan, &c, 1) < 0)
		_exit(3);
	_exit(0); /* without closing: the sockets live on elsewhere */
}

/* Receive the owner's sockets (installed in this process). */
static int take_sockets(int chan, uint32_t *pd)
{
	union {
		char space[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { pd, sizeof(*pd) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.space,
			      .msg_controllen = sizeof(ctl.space) };

	if (recvmsg(chan, &msg, MSG_CMSG_CLOEXEC) != sizeof(*pd) ||
	    !CMSG_FIRSTHDR(&msg))
		die("the owner sent no sockets");
	return (int)((CMSG_FIRSTHDR(&msg)->cmsg_len - CMSG_LEN(0)) /
		     sizeof(int));
}

/* exit: the owner exits; its child, holding the socket, sends. */
static void case_exit(void)
{
	char *before = srxed_foreign_maps();
	int sp[2], rc;
	pid_t owner_pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		die("socketpair");
	owner_pid = fork();
	if (owner_pid < 0)
		die("fork");
	if (!owner_pid) {
		struct ibv_context *ctx = itest_open_device(dev_name);
		struct ibv_pd *pd = ibv_alloc_pd(ctx);
		pid_t g;

		if (!pd)
			_exit(2);
		keep_socket_copies((int[8]){ 0 }, 8);
		g = fork();
		if (g < 0)
			_exit(3);
		if (!g) {
			char res;

			who = "own_memory orphan";
			failures = 0;
			/* Until the owner is gone (we are reparented). */
			while (getppid() == owner_pid)
				usleep(1000);
			res = (char)send_on_inherited(pd->handle,
						      "orphan after its parent "
						      "(the owner) exited");
			_exit(write(sp[1], &res, 1) == 1 ? 0 : 1);
		}
		/* Report the grandchild, then exit without closing. */
		if (write(sp[1], &g, sizeof(g)) != sizeof(g))
			_exit(4);
		_exit(0);
	}
	{
		pid_t g = 0;
		char result = -1;

		close(sp[1]);
		if (read(sp[0], &g, sizeof(g)) != sizeof(g))
			die("owner did not report its child");
		rc = wait_child(owner_pid);
		EXPECT(rc == 0, "owner failed (%d)", rc);
		/* The orphan's result (it is init's child now); EOF if it
		 * died without one. */
		EXPECT(read(sp[0], &result, 1) == 1 && result == 0,
		       "orphan %d failed (%d)", (int)g, result);
		close(sp[0]);
	}
	expect_no_new_mapping(before, "orphan after the owner exited");
	printf("ok: exit: orphan refused\n");
}

/* pid: a process with the owner's very pid (clone3 set_tid) sends. */
static void case_pid(void)
{
	char *before = srxed_foreign_maps();
	struct clone_args ca = { .exit_signal = SIGCHLD };
	int sp[2], rc, nfds;
	pid_t owner_pid, reborn, tid;
	uint32_t pd = 0;
	char c = 1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		die("socketpair");
	owner_pid = fork();
	if (owner_pid < 0)
		die("fork");
	if (!owner_pid) {
		close(sp[0]);
		owner(sp[1]);
	}
	close(sp[1]);
	nfds = take_sockets(sp[0], &pd);
	EXPECT(nfds > 0, "no sockets from the owner");
	if (write(sp[0], &c, 1) != 1)
		die("to owner");
	rc = wait_child(owner_pid);
	EXPECT(rc == 0, "owner failed (%d)", rc);
	close(sp[0]);
	/* The owner is reaped: its pid is free.  Take it. */
	tid = owner_pid;
	ca.set_tid = (uintptr_t)&tid;
	ca.set_tid_size = 1;
	reborn = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (reborn < 0) {
		printf("SKIP: pid: clone3(set_tid=%d): %s: pid reuse not "
		       "simulated\n",
		       (int)owner_pid, strerror(errno));
	} else if (!reborn) {
		who = "own_memory reborn pid";
		failures = 0;
		_exit(send_on_inherited(pd, "a new process with the owner's "
					    "pid"));
	} else {
		EXPECT(reborn == owner_pid, "clone3 gave pid %d, not %d",
		       (int)reborn, (int)owner_pid);
		rc = wait_child(reborn);
		EXPECT(rc == 0, "process with the reused pid failed (%d)", rc);
		printf("ok: pid: reused pid %d refused\n", (int)reborn);
	}
	/* Drop the inherited sockets: srxed closes the dead owner's
	 * sessions. */
	{
		int fds[8], n = srxed_sockets(fds, 8);

		for (int i = 0; i < n; i++)
			close(fds[i]);
	}
	expect_no_new_mapping(before, "reused pid");
}

/*
 * stale: the application unmaps a registered buffer and maps new memory
 * at the same address while the MR lives.  A new registration there would
 * get the old frames, which the application no longer sees: EBUSY until
 * the old MR is gone, then it registers and the new memory is what an
 * RDMA READ of it returns.
 */
static void case_stale(struct ibv_pd *pd)
{
	uint8_t *buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ibv_mr *old, *fresh;

	if (buf == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(buf, 0x11, LEN);
	old = ibv_reg_mr(pd, buf, LEN, RW);
	if (!old)
		die("reg_mr: %s", strerror(errno));
	if (mmap(buf, LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf)
		die("mmap over the buffer: %s", strerror(errno));
	memset(buf, 0x22, LEN);
	errno = 0;
	fresh = ibv_reg_mr(pd, buf, LEN, RW);
	EXPECT(!fresh && errno == EBUSY,
	       "stale: registered over a live MR's remapped pages: %p errno "
	       "%d (want EBUSY)",
	       (void *)fresh, errno);
	if (fresh)
		ibv_dereg_mr(fresh);
	EXPECT(!ibv_dereg_mr(old), "stale: dereg of the old MR: %s",
	       strerror(errno));
	EXPECT(buf[0] == 0x22 && buf[LEN - 1] == 0x22,
	       "stale: the old MR's dereg changed the new memory");
	fresh = ibv_reg_mr(pd, buf, LEN, RW);
	EXPECT(fresh, "stale: register after the old MR is gone: %s",
	       strerror(errno));
	EXPECT(buf[0] == 0x22 && buf[LEN - 1] == 0x22,
	       "stale: registration changed the new memory");
	if (fresh)
		ibv_dereg_mr(fresh);
	munmap(buf, LEN);
	printf("ok: stale: remapped pages under a live MR refused\n");
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;

	if (argc != 4)
		die("usage: own_memory DEVICE SRXED_SOCKET SRXED_PID");
	dev_name = argv[1];
	sock_path = argv[2];
	srxed_pid = (pid_t)atoi(argv[3]);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (getuid() != 0)
		die("run as root (the test drops to uid %d itself)", NOBODY);

	ctx = itest_open_device(dev_name);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("alloc_pd: %s", strerror(errno));
	case_own(pd);
	case_stale(pd);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);

	case_uid();
	case_fork();
	case_exit();
	case_pid();
	if (failures) {
		fprintf(stderr, "own_memory: %d checks failed\n", failures);
		return 1;
	}
	printf("own_memory: OK\n");
	return 0;
}
