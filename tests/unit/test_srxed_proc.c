// SPDX-License-Identifier: MIT
/*
 * srxed's client processes (srxed/proc.h, issue #12): sessions of one
 * process share one slab and memory space, a child process gets its own,
 * a session without a pidfd gets its own; REG_MR of the same pages in a
 * second context moves nothing, DEREG_MR frees only what no context pins,
 * a context closed with a live MR leaves its pages pinned for the others,
 * and the daemon-wide statistics return to zero when every context is
 * gone.  No engine: srxed's control plane only.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srxed/mr.h"
#include "srxed/options.h"
#include "srxed/proc.h"
#include "srxed/session.h"
#include "srxed/srxed.h"

#define PAGE	4096ull
#define VA	0x7f5500000000ull
#define VA_SPAN (4ull << 20)
#define RW                                                                     \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ)

static struct srxed d;
static int peers[8];
static int npeers;

static void teardown(void)
{
	munmap((void *)VA, VA_SPAN);
}

static void setup(void)
{
	char *argv[] = { "srxed",
			 "--name",
			 "srxeproc",
			 "--rundir",
			 "/nonexistent/proc",
			 "--ip",
			 "127.0.0.1",
			 "--netdev",
			 "lo",
			 "--max-reg-bytes",
			 "1M",
			 NULL };
	char err[256];

	memset(&d, 0, sizeof(d));
	cr_assert_eq(srxed_parse_options(11, argv, &d.cfg, err, sizeof(err)),
		     SRXED_PARSE_OK, "%s", err);
	npeers = 0;
	/* srxed registers only memory its client maps (peer_mem.h): map the
	 * addresses the tests name, in this process, the sessions' peer. */
	cr_assert_neq(mmap((void *)VA, VA_SPAN, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			   -1, 0),
		      MAP_FAILED, "mmap at 0x%llx: %s", VA, strerror(errno));
}

/* A session whose peer is this process. */
static struct srxed_session *own_session(uint64_t id)
{
	int sp[2];
	struct srxed_session *s;
	char why[SRXE_REASON_MAX + 1];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	s = srxed_session_new(id, sp[0]);
	cr_assert(s);
	peers[npeers++] = sp[0];
	peers[npeers++] = sp[1];
	cr_assert_eq(srxed_session_open_ctx(&d, s, -1, why), 0, "%s", why);
	return s;
}

static void drop(struct srxed_session *s)
{
	srxed_session_destroy(&d, s);
}

static void close_peers(void)
{
	for (int i = 0; i < npeers; i++)
		close(peers[i]);
	npeers = 0;
}

static void stats_zero(void)
{
	const struct srxe_mem_stats *m = &d.stats.mem;

	cr_assert(!m->mrs && !m->reg_bytes && !m->frames_in_use &&
			  !m->table_pages && !m->table_bytes &&
			  !m->key_state_bytes && !m->translation_bytes,
		  "memory statistics left: mrs %lu reg %lu frames %lu",
		  (unsigned long)m->mrs, (unsigned long)m->reg_bytes,
		  (unsigned long)m->frames_in_use);
	cr_assert_eq(srxed_proc_count(&d), 0);
}

static uint32_t pd_of(struct srxed_session *s)
{
	const char *why;
	uint32_t pd;

	cr_assert_eq(srxed_session_alloc_pd(&d, s, &pd, &why), 0);
	return pd;
}

static int reg(struct srxed_session *s, uint32_t pd, uint64_t va, uint64_t len,
	       struct srxe_reg_mr_resp *r)
{
	struct srxe_reg_mr_req req = { .pd_handle = pd,
				       .access = RW,
				       .va = va,
				       .length = len,
				       .iova = va };
	char why[SRXE_REASON_MAX + 1];
	int ret = srxed_mr_reg(&d, s, &req, r, why);

	/* The provider's part: the new runs' pages go onto the slab (srxed
	 * checks at the next registration that pinned pages are there). */
	for (uint32_t i = 0; !ret && i < r->nruns; i++)
		cr_assert_neq(mmap((void *)(uintptr_t)r->runs[i].va,
				   r->runs[i].len, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, srxed_mem_slab_fd(s),
				   (off_t)r->runs[i].slab_off),
			      MAP_FAILED);
	return ret;
}

static int dereg(struct srxed_session *s, uint32_t handle,
		 struct srxe_dereg_mr_resp *r)
{
	char why[SRXE_REASON_MAX + 1];
	int ret = srxed_mr_dereg(&d, s, handle, r, why);

	/* The provider's part: released runs become private again. */
	cr_assert(ret || r->nruns == r->nruns_total);
	for (uint32_t i = 0; !ret && i < r->nruns; i++)
		cr_assert_neq(mmap((void *)(uintptr_t)r->runs[i].va,
				   r->runs[i].len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
				   0),
			      MAP_FAILED);
	if (!ret)
		ret = srxed_mr_dereg_done(&d, s, handle, why);
	return ret;
}

Test(srxed_proc, contexts_of_one_process_share_memory, .init = setup,
     .fini = teardown)
{
	static struct srxe_reg_mr_resp ra, rb;
	static struct srxe_dereg_mr_resp da;
	struct srxed_session *a = own_session(1), *b = own_session(2);
	uint64_t old_off;
	uint32_t pa = pd_of(a), pb = pd_of(b);

	cr_assert_not_null(a->proc);
	cr_assert_eq(a->proc, b->proc, "two contexts, two processes");
	cr_assert_eq(srxed_proc_count(&d), 1);
	cr_assert_eq(srxed_mem_slab_fd(a), srxed_mem_slab_fd(b));
	cr_assert_eq(reg(a, pa, VA + 10, 8 * PAGE, &ra), 0);
	cr_assert_eq(ra.nruns, 1);
	cr_assert_eq(reg(b, pb, VA, 4 * PAGE, &rb), 0);
	cr_assert_eq(rb.nruns, 0, "B moved pages A had pinned");
	cr_assert_neq(ra.lkey, rb.lkey);
	cr_assert_eq(d.stats.mem.frames_in_use, 9);
	cr_assert_eq(d.stats.mem.mrs, 2);
	cr_assert_eq(d.stats.mem.reg_bytes, 12 * PAGE);
	cr_assert_eq(dereg(a, ra.mr_handle, &da), 0);
	cr_assert(da.nruns_total == 1 && da.runs[0].va == VA + 4 * PAGE &&
			  da.runs[0].len == 5 * PAGE,
		  "A's dereg released %u runs", da.nruns_total);
	cr_assert_eq(d.stats.mem.frames_in_use, 4);
	/* the byte limit (1M) is the process's */
	cr_assert_eq(reg(a, pa, VA + (1 << 20), 200 * PAGE, &ra), 0);
	cr_assert_eq(reg(b, pb, VA + (2 << 20), 60 * PAGE, &rb), ENOMEM);
	old_off = ra.runs[0].slab_off;
	drop(a); /* with a live MR: unpinned, its frames held */
	cr_assert_eq(srxed_proc_count(&d), 1);
	cr_assert_eq(d.stats.mem.frames_in_use, 204);
	/* the address may be registered anew (the application mapped new
	 * memory there), on a new frame: A's stay with the application */
	cr_assert_eq(mmap((void *)(VA + (1 << 20)), PAGE,
			  PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		     (void *)(VA + (1 << 20)));
	cr_assert_eq(reg(b, pb, VA + (1 << 20), PAGE, &rb), 0);
	cr_assert_eq(rb.nruns, 1);
	cr_assert(rb.runs[0].slab_off < old_off ||
			  rb.runs[0].slab_off >= old_off + 200 * PAGE,
		  "a frame of the closed context's MR was handed out anew");
	cr_assert_eq(d.stats.mem.frames_in_use, 205);
	drop(b);
	close_peers();
	stats_zero();
}

/* A child is another process: its own slab and space. */
Test(srxed_proc, child_process_is_another_process, .init = setup,
     .fini = teardown)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct srxed_session *own = own_session(1), *kid;
	char why[SRXE_REASON_MAX + 1], c;
	int l, conn, go[2];
	pid_t pid;

	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "srxed-proc-%d",
		 getpid());
	l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	cr_assert(l >= 0 && !bind(l, (struct sockaddr *)&sa, sizeof(sa)) &&
		  !listen(l, 1) && !pipe(go));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(1);
		close(go[1]);
		(void)!read(go[0], &c, 1); /* until the parent is done */
		_exit(0);
	}
	close(go[0]);
	conn = accept(l, NULL, NULL);
	cr_assert_geq(conn, 0);
	kid = srxed_session_new(2, conn);
	cr_assert(kid && kid->cred.pid == pid);
	cr_assert_eq(srxed_session_open_ctx(&d, kid, -1, why), 0, "%s", why);
	cr_assert_neq(kid->proc, own->proc, "the child joined its parent");
	cr_assert_eq(srxed_proc_count(&d), 2);
	cr_assert_neq(srxed_mem_slab_fd(kid), srxed_mem_slab_fd(own));
	drop(kid);
	close(go[1]);
	waitpid(pid, NULL, 0);
	close(conn);
	close(l);
	drop(own);
	close_peers();
	stats_zero();
}

/* Without a pidfd nobody can tell the process: no sharing. */
Test(srxed_proc, no_pidfd_no_sharing, .init = setup, .fini = teardown)
{
	struct srxed_session *a = own_session(1), *b = own_session(2);
	struct srxed_session *c;
	char why[SRXE_REASON_MAX + 1];
	int sp[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	c = srxed_session_new(3, sp[0]);
	cr_assert(c);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
	cr_assert_eq(srxed_session_open_ctx(&d, c, -1, why), 0, "%s", why);
	cr_assert_eq(a->proc, b->proc);
	cr_assert_neq(c->proc, a->proc);
	cr_assert_eq(srxed_proc_count(&d), 2);
	drop(c);
	drop(a);
	drop(b);
	close(sp[0]);
	close(sp[1]);
	close_peers();
	stats_zero();
}

/*
 * execve() keeps the pid and the pidfd's inode but starts a new address
 * space: a context opened by the new image (python3 here) must not join
 * the process object of a context the old image left open.
 */
Test(srxed_proc, exec_starts_another_process, .init = setup, .fini = teardown)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char why[SRXE_REASON_MAX + 1], name[64], c = 1;
	struct srxed_session *old, *new;
	int l, c1, c2, go[2];
	socklen_t salen;
	pid_t pid;

	if (access("/usr/bin/python3", X_OK))
		cr_skip_test("no /usr/bin/python3 to exec");
	snprintf(name, sizeof(name), "srxed-exec-%d", getpid());
	memcpy(sa.sun_path + 1, name, strlen(name));
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			    strlen(name));
	l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	cr_assert(l >= 0 && !bind(l, (struct sockaddr *)&sa, salen) &&
		  !listen(l, 2) && !pipe(go));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		/* no CLOEXEC: the old image's connection survives exec */
		int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		char arg[80];

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, salen))
			_exit(1);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		snprintf(arg, sizeof(arg), "%s", name);
		execl("/usr/bin/python3", "python3", "-c",
		      "import socket,sys\n"
		      "s=socket.socket(socket.AF_UNIX,socket.SOCK_SEQPACKET)\n"
		      "s.connect('\\0'+sys.argv[1])\n"
		      "s.recv(1)\n",
		      arg, (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	c1 = accept(l, NULL, NULL);
	cr_assert_geq(c1, 0);
	old = srxed_session_new(1, c1);
	cr_assert(old && old->cred.pid == pid);
	cr_assert_eq(srxed_session_open_ctx(&d, old, -1, why), 0, "%s", why);
	cr_assert_eq(write(go[1], &c, 1), 1);
	c2 = accept(l, NULL, NULL);
	cr_assert_geq(c2, 0);
	new = srxed_session_new(2, c2);
	cr_assert(new &&new->cred.pid == pid);
	cr_assert_eq(srxed_session_open_ctx(&d, new, -1, why), 0, "%s", why);
	cr_assert_neq(new->proc, old->proc,
		      "the new image joined the old image's memory");
	cr_assert_eq(srxed_proc_count(&d), 2);
	drop(new);
	drop(old);
	close(c2); /* python3 returns from recv and exits */
	close(c1);
	close(go[1]);
	waitpid(pid, NULL, 0);
	close(l);
	stats_zero();
}
