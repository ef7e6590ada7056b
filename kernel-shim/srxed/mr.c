// SPDX-License-Identifier: MIT
/*
 * Memory registration in srxed (contract in mr.h): validation with reasons
 * a person understands, the MR handle table, the quarantine of released
 * frames and the daemon-wide memory statistics.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "objects/proc_io.h"
#include "mr.h"
#include "pagetable.h"
#include "peer_mem.h"
#include "proc.h"
#include "prot.h"
#include "shmreg.h"
#include "slab.h"
#include "translate.h"

#define say srxed_say

struct srxed_mem {
	struct srxed_proc *proc;	/* slab, in-place shm, frames + table */
	struct srxe_mem_client *client; /* keys of this context, in proc */
	struct srxed_handles mrs;
	struct srxed_handles mws;   /* memory windows */
	struct srxe_mem_stats seen; /* this context's share of d->stats.mem */
};

struct srxed_mw {
	uint32_t id; /* the window in the srxe_mem client */
	struct srxed_pd *pd;
};

struct srxed_mr {
	uint32_t handle;
	uint32_t lkey;
	struct srxed_pd *pd;	   /* NULL once DYING */
	struct srxe_runs released; /* quarantined frames while DYING */
	bool held;		   /* released frames are in quarantine */
	uint64_t va, len;	   /* kinds: its huge pages (shmreg.h) */
	bool huge;		   /* huge_get() ran: put them at dereg */
};

static void stats_move(struct srxe_mem_stats *sum,
		       const struct srxe_mem_stats *x, bool add)
{
	uint64_t *a = (uint64_t *)sum;
	const uint64_t *b = (const uint64_t *)x;

	_Static_assert(sizeof(*sum) % sizeof(uint64_t) == 0,
		       "srxe_mem_stats holds only uint64_t counters");
	for (size_t i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
		a[i] = add ? a[i] + b[i] : a[i] - b[i];
}

/*
 * Engine threads translate through the clients' tables, the process's page
 * table among them: every change to
 * them happens under the engine lock (engine.h).
 */
static void tables_lock(struct srxed *d)
{
	if (d->engine)
		srxe_engine_lock(d->engine);
}

static void tables_unlock(struct srxed *d)
{
	if (d->engine)
		srxe_engine_unlock(d->engine);
}

/*
 * Refresh this context's share of the daemon-wide statistics and its
 * process's (the frames and the table are counted once per process).
 */
static void account(struct srxed *d, struct srxed_mem *m)
{
	struct srxed_proc *p = m->proc;

	stats_move(&d->stats.mem, &m->seen, false);
	srxe_mem_client_stats(m->client, &m->seen);
	stats_move(&d->stats.mem, &m->seen, true);
	stats_move(&d->stats.mem, &p->seen, false);
	srxe_mem_space_stats(p->space, &p->seen);
	stats_move(&d->stats.mem, &p->seen, true);
}

static int create_client(struct srxed *d, struct srxed_session *s,
			 struct srxed_mem *m, char *why)
{
	struct srxe_mem_config cfg = {
		.mode = d->cfg.translation == SRXE_TRANSLATION_MTT
				? SRXE_MEM_MTT
				: SRXE_MEM_SHORTCUT,
		.client_id = (uint32_t)s->id,
		.max_mrs = d->cfg.max_mrs,
	};
	int ret = srxe_mem_client_join(&cfg, m->proc->space, &m->client);

	if (ret)
		return say(why, -ret, "cannot create the translation state: %s",
			   strerror(-ret));
	return 0;
}

int srxed_mem_open(struct srxed *d, struct srxed_session *s, char *why)
{
	uint32_t cap = d->cfg.max_mrs < SRXED_HANDLES_MAX ? d->cfg.max_mrs
							  : SRXED_HANDLES_MAX;
	struct srxed_mem *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return say(why, ENOMEM, "srxed is out of memory");
	ret = srxed_proc_get(d, s, &m->proc, why);
	if (ret) {
		free(m);
		return ret;
	}
	ret = create_client(d, s, m, why);
	if (!ret && srxed_handles_init(&m->mrs, cap))
		ret = say(why, EINVAL, "bad MR handle capacity %u", cap);
	if (!ret && srxed_handles_init(&m->mws, SRXED_HANDLES_MAX)) {
		srxed_handles_destroy(&m->mrs);
		ret = say(why, EINVAL, "bad MW handle capacity");
	}
	if (ret) {
		srxe_mem_client_destroy(m->client);
		srxed_proc_put(d, m->proc);
		free(m);
		return ret;
	}
	s->mem = m;
	s->proc = m->proc;
	account(d, m);
	return 0;
}

static void release_mr(void *obj, uint32_t handle, void *arg)
{
	struct srxed *d = arg;
	struct srxed_mr *mr = obj;

	if (mr->pd)
		mr->pd->users--;
	srxe_runs_free(&mr->released);
	free(mr);
	d->stats.mr_handles--;
}

/*
 * The live MR's keys die and its pages leave the page table; the frames
 * no other MR pins go to mr->released and are held, not reused: the
 * application maps them until it moved them back (DEREG_DONE), or for good
 * if its context closes first.  *hold: the hold's error.  Under
 * tables_lock.  0, or srxe_mem_dereg's -EBUSY (windows bound) / -EINVAL.
 */
static int unpin_mr(struct srxed_mem *m, struct srxed_mr *mr, int *hold)
{
	int ret = srxe_mem_dereg(m->client, mr->lkey, &mr->released);

	*hold = 0;
	if (ret)
		return ret;
	/* shared frames: srxed's own mapping, nothing to move back */
	srxed_shmreg_release(&m->proc->shm, &m->proc->slab, &mr->released);
	if (mr->huge)
		srxed_shmreg_huge_put(&m->proc->shm, &m->proc->slab,
				      srxe_mem_client_pt(m->client), mr->va,
				      mr->len);
	*hold = srxe_mem_hold_frames(m->client, &mr->released);
	return 0;
}

struct closing {
	struct srxed *d;
	struct srxed_mem *m;
};

/* A closing context's MR (srxed_mem_close, under tables_lock). */
static void close_mr(void *obj, uint32_t handle, void *arg)
{
	struct closing *c = arg;
	struct srxed_mr *mr = obj;
	int hold;

	if (mr->pd && !unpin_mr(c->m, mr, &hold) && hold)
		log_err("cannot hold the frames of a closed context's MR 0x%x "
			"(%d): the application may see them reused",
			handle, hold);
	release_mr(mr, handle, c->d);
}

static void release_mw(void *obj, uint32_t handle, void *arg)
{
	struct srxed_mw *mw = obj;

	(void)handle;
	(void)arg;
	mw->pd->users--;
	free(mw);
}

void srxed_mem_close(struct srxed *d, struct srxed_session *s)
{
	struct srxed_mem *m = s->mem;

	if (!m)
		return;
	srxed_handles_drain(&m->mws, release_mw, NULL);
	srxed_handles_destroy(&m->mws);
	/*
	 * MRs still live are unpinned, so that the application may register
	 * those addresses again (once it unmapped them, new memory there is
	 * new pages), and their frames are held like those in quarantine:
	 * the application may still map them, so no context of the process
	 * gets them again.  The last context of the process frees it all.
	 * An MR with windows bound stays pinned (translate.h: orphaned).
	 */
	tables_lock(d);
	srxed_handles_drain(&m->mrs, close_mr, &(struct closing){ d, m });
	srxe_mem_client_destroy(m->client);
	tables_unlock(d);
	srxed_handles_destroy(&m->mrs);
	stats_move(&d->stats.mem, &m->seen, false);
	stats_move(&d->stats.mem, &m->proc->seen, false);
	if (m->proc->refs > 1) {
		srxe_mem_space_stats(m->proc->space, &m->proc->seen);
		stats_move(&d->stats.mem, &m->proc->seen, true);
	}
	srxed_proc_put(d, m->proc);
	free(m);
	s->mem = NULL;
	s->proc = NULL;
}

struct srxe_mem_client *srxed_mem_client(const struct srxed_session *s)
{
	return s->mem ? s->mem->client : NULL;
}

int srxed_mem_slab_fd(const struct srxed_session *s)
{
	return s->mem ? s->mem->proc->slab.fd : -1;
}

uint64_t srxed_mem_slab_bytes(const struct srxed_session *s)
{
	return s->mem ? s->mem->proc->slab.bytes : 0;
}

/*
 * Access bits this device refuses as "not supported", as the kernel does:
 * ib_check_mr_access() answers EOPNOTSUPP for a FLUSH type the device
 * lacks, rxe (since 6.4) for ZERO_BASED and HUGETLB.  srxe has no
 * persistence domain and does not implement zero-based MRs (rxe 6.1
 * accepted ZERO_BASED and ignored it).  ON_DEMAND is supported
 * (docs/odp.md).
 */
#define MR_ACCESS_NOT_SUPPORTED                                                \
	(IBV_ACCESS_ZERO_BASED | IBV_ACCESS_HUGETLB |                          \
	 SRXE_ACCESS_FLUSH_PERSISTENT)

/*
 * The access checks of the kernel's REG_MR / REREG_MR, in its order
 * (docs/compat.md): local write needed for remote write or atomic
 * (EINVAL), bits no device knows (EINVAL), bits this one lacks
 * (EOPNOTSUPP).
 */
static int check_access(uint32_t access, char *why)
{
	unsigned known = SRXE_ACCESS_SUPPORTED | SRXE_ACCESS_IGNORED |
			 MR_ACCESS_NOT_SUPPORTED;

	/* for on-demand MRs HUGETLB is only a hint (verbs.h): no page of
	 * theirs is pinned, huge or not */
	if (access & IBV_ACCESS_ON_DEMAND)
		access &= ~IBV_ACCESS_HUGETLB;

	if ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & IBV_ACCESS_LOCAL_WRITE))
		return say(why, EINVAL,
			   "access flags 0x%x: REMOTE_WRITE and REMOTE_ATOMIC "
			   "require LOCAL_WRITE",
			   access);
	if (access & ~known)
		return say(why, EINVAL,
			   "access flags 0x%x: bits 0x%x are not IBV_ACCESS_* "
			   "flags",
			   access, access & ~known);
	if (access & MR_ACCESS_NOT_SUPPORTED)
		return say(why, EOPNOTSUPP,
			   "access flags 0x%x: 0x%x not supported (srxe has "
			   "no ZERO_BASED MRs, no HUGETLB hint, no "
			   "FLUSH_PERSISTENT: its memory is DRAM; it grants "
			   "LOCAL_WRITE, REMOTE_READ, REMOTE_WRITE, "
			   "REMOTE_ATOMIC, MW_BIND, FLUSH_GLOBAL, and "
			   "registers ON_DEMAND)",
			   access, access & MR_ACCESS_NOT_SUPPORTED);
	return 0;
}

/*
 * ib_uverbs_reg_mr() first: the buffer and the iova must have the same
 * offset in their page (the device maps whole pages); then the access;
 * then ib_umem_get(): a range of 0 bytes or one that wraps is EINVAL, one
 * outside the user address space EFAULT.  srxe also refuses an iova range
 * that wraps (EINVAL; rxe accepts it and can never reach its end).
 */
static int check_args(const struct srxe_reg_mr_req *r, char *why)
{
	int ret;

	if ((r->va ^ r->iova) & (SRXE_FRAME_SIZE - 1))
		return say(why, EINVAL,
			   "buffer 0x%llx and iova 0x%llx are at different "
			   "offsets in their page",
			   (unsigned long long)r->va,
			   (unsigned long long)r->iova);
	ret = check_access(r->access, why);
	if (ret)
		return ret;
	if (!r->length)
		return say(why, EINVAL, "MR length is 0");
	if (r->va + r->length < r->va || r->iova + r->length < r->iova)
		return say(why, EINVAL,
			   "buffer 0x%llx or iova 0x%llx + %llu bytes wraps",
			   (unsigned long long)r->va,
			   (unsigned long long)r->iova,
			   (unsigned long long)r->length);
	return 0;
}

static int check_request(const struct srxed *d, const struct srxed_mem *m,
			 const struct srxe_reg_mr_req *r, char *why)
{
	uint64_t max = d->cfg.max_reg_bytes;
	uint64_t used = srxe_mem_space_reg_bytes(m->proc->space);
	int ret = check_args(r, why);

	if (ret)
		return ret;
	ret = srxe_prot_validate(r->va, r->length, r->iova, r->access);
	if (ret == -EINVAL) /* check_args() let through what prot refuses */
		return say(why, EINVAL, "access flags 0x%x refused", r->access);
	if (ret)
		return say(why, EFAULT,
			   "buffer 0x%llx + %llu (iova 0x%llx) leaves the user "
			   "address space",
			   (unsigned long long)r->va,
			   (unsigned long long)r->length,
			   (unsigned long long)r->iova);
	if (srxed_handles_count(&m->mrs) >= d->cfg.max_mr)
		return say(why, ENOMEM,
			   "client MR limit (max_mr %u, srxe up --max-mr) "
			   "reached",
			   d->cfg.max_mr);
	if (d->stats.mr_handles >= d->cfg.max_mrs)
		return say(why, ENOMEM, "device MR limit (max_mr %u) reached",
			   d->cfg.max_mrs);
	if (!(r->access & IBV_ACCESS_ON_DEMAND) && r->length > max - used)
		return say(why, ENOMEM,
			   "registration limit of %llu bytes reached (%llu "
			   "registered by this process's contexts, %llu more "
			   "asked; see srxe up --max-reg-bytes)",
			   (unsigned long long)max, (unsigned long long)used,
			   (unsigned long long)r->length);
	return 0;
}

static int explain_nomem(const struct srxed_mem *m,
			 const struct srxe_reg_mr_req *r, char *why)
{
	uint64_t first = r->va >> SRXE_FRAME_SHIFT;
	uint64_t pages =
		((r->va + r->length - 1) >> SRXE_FRAME_SHIFT) - first + 1;
	const struct srxed_slab *slab = &m->proc->slab;
	uint64_t free_frames =
		(slab->bytes >> SRXE_FRAME_SHIFT) - m->proc->seen.frames_in_use;

	if (pages > free_frames)
		return say(why, ENOMEM,
			   "memory slab of %llu bytes is full (%llu free "
			   "frames, up to %llu needed)",
			   (unsigned long long)slab->bytes,
			   (unsigned long long)free_frames,
			   (unsigned long long)pages);
	return say(why, ENOMEM,
		   "translation state exhausted or srxed out of memory");
}

static void put_runs(struct srxe_mr_run *out, const struct srxe_runs *runs,
		     size_t first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct srxe_run *r = &runs->v[first + i];

		out[i].va = r->va;
		out[i].slab_off = (uint64_t)r->frame << SRXE_FRAME_SHIFT;
		out[i].len = (uint64_t)r->npages << SRXE_FRAME_SHIFT;
	}
}

/* srxe_mem_reg() with the reply-size rule: all or nothing. */
static int pin(struct srxed_mem *m, const struct srxe_reg_mr_req *r,
	       struct srxe_mr_keys *keys, struct srxe_runs *runs, char *why)
{
	int ret = srxe_mem_reg(m->client, r->pd_handle, r->va, r->length,
			       r->iova, r->access, keys, runs);

	if (ret == -ENOMEM)
		return explain_nomem(m, r, why);
	if (ret)
		return say(why, -ret, "registration refused: %s",
			   strerror(-ret));
	if (runs->n <= SRXE_MR_RUNS_MAX)
		return 0;
	/* The new frames were never written: they go back as holes. */
	srxe_mem_dereg(m->client, keys->lkey, NULL);
	return say(why, ENOMEM,
		   "the buffer would need %zu separate frame runs, more than "
		   "%d per registration (slab fragmented): register it in "
		   "smaller pieces",
		   runs->n, SRXE_MR_RUNS_MAX);
}

/* The new run holding page @va, or NULL. */
static const struct srxe_run *run_at(const struct srxe_runs *runs, uint64_t va)
{
	for (size_t i = 0; i < runs->n; i++)
		if (va >= runs->v[i].va &&
		    va - runs->v[i].va <
			    (uint64_t)runs->v[i].npages * SRXE_FRAME_SIZE)
			return &runs->v[i];
	return NULL;
}

/*
 * Every page in a private mapping must be new to the page table: a page
 * pinned earlier was moved onto the slab, so private memory there means
 * the application unmapped or remapped it under a live MR.  Registering it
 * again would hand the new MR the old frames, which the application no
 * longer sees (kernel rxe would pin the new pages; srxe has one frame per
 * address and process).  EBUSY, undone.
 */
static int check_private_new(struct srxed_mem *m,
			     const struct srxe_mr_keys *keys,
			     const struct srxed_peer_ranges *priv,
			     const struct srxe_runs *runs, char *why)
{
	for (unsigned int i = 0; i < priv->n; i++) {
		uint64_t va = priv->v[i].start;
		const struct srxe_run *r;

		for (; va < priv->v[i].end;
		     va = r->va + (uint64_t)r->npages * SRXE_FRAME_SIZE) {
			r = run_at(runs, va);
			if (r)
				continue;
			srxe_mem_dereg(m->client, keys->lkey, NULL);
			return say(why, EBUSY,
				   "an MR still registers the page at 0x%llx, "
				   "but the application has unmapped or "
				   "remapped it since: deregister that MR "
				   "before registering the new memory",
				   (unsigned long long)va);
		}
	}
	return 0;
}

/*
 * Shareable pages of the new runs (SysV, shmem, memfd, files) are mapped by
 * srxed in place (shmreg.h) and leave the runs; a failure leaves them in,
 * and the provider refuses them (EOPNOTSUPP).  A read-only shared mapping
 * registered with write access fails the registration with EFAULT.
 */
static int adopt_shm(struct srxed_mem *m, const struct srxed_session *s,
		     const struct srxe_reg_mr_req *req,
		     const struct srxe_mr_keys *keys, struct srxe_runs *runs,
		     char *why)
{
	struct srxed_proc *p = m->proc;
	long n = srxed_shmreg_adopt(&p->shm, &p->slab, &s->cred, s->pidfd,
				    req->access, runs);
	struct srxe_runs freed = { 0 };
	bool fatal = n == -EFAULT || n == -EACCES || n == -ESRCH;

	if (n < 0 && !fatal)
		log_warn("client %llu: shared memory not registered in place: "
			 "%s",
			 (unsigned long long)s->id, strerror((int)-n));
	if (!fatal && runs->n <= SRXE_MR_RUNS_MAX)
		return 0;
	srxe_mem_dereg(m->client, keys->lkey, &freed);
	srxed_shmreg_release(&p->shm, &p->slab, &freed);
	srxe_runs_free(&freed);
	if (n == -EFAULT)
		return say(why, EFAULT,
			   "the buffer lies in a read-only shared mapping: it "
			   "may be registered for read access only (no "
			   "LOCAL_WRITE, REMOTE_WRITE or REMOTE_ATOMIC)");
	if (fatal) /* peer_mem.h: not the client's to map so, or it exited */
		return say(why, (int)-n,
			   "the client %s the shared object it maps there",
			   n == -ESRCH ? "exited while registering"
				       : "may not open");
	/* Split around shared parts into more runs than a reply holds. */
	return say(why, ENOMEM,
		   "the buffer would need %zu separate frame runs, more than "
		   "%d per registration: register it in smaller pieces",
		   runs->n, SRXE_MR_RUNS_MAX);
}

/* Huge pages of shared hugetlbfs mappings, placed whole (shmreg.h). */
static int huge_get(struct srxed_mem *m, const struct srxed_session *s,
		    const struct srxe_reg_mr_req *req, char *why)
{
	const char *reason = "";
	int ret = srxed_shmreg_huge_get(
		&m->proc->shm, &m->proc->slab, srxe_mem_client_pt(m->client),
		&s->cred, s->pidfd, req->va, req->length, req->access, &reason);

	return ret ? say(why, -ret, "%s", reason) : 0;
}

/* A new, not yet published MR record with a handle; NULL with why. */
static struct srxed_mr *mr_new(struct srxed *d, struct srxed_mem *m, char *why)
{
	struct srxed_mr *mr = calloc(1, sizeof(*mr));

	if (!mr) {
		say(why, ENOMEM, "srxed is out of memory");
		return NULL;
	}
	if (srxed_handle_alloc(&m->mrs, mr, &mr->handle)) {
		free(mr);
		say(why, ENOMEM, "context MR limit (%u) reached",
		    d->cfg.max_mrs);
		return NULL;
	}
	return mr;
}

static void mr_drop(struct srxed_mem *m, struct srxed_mr *mr)
{
	srxed_handle_free(&m->mrs, mr->handle);
	free(mr);
}

/* The registration is done: the record and the reply's keys. */
static void mr_publish(struct srxed *d, struct srxed_mem *m,
		       struct srxed_mr *mr, struct srxed_pd *pd,
		       const struct srxe_reg_mr_req *req,
		       const struct srxe_mr_keys *keys,
		       struct srxe_reg_mr_resp *resp)
{
	mr->lkey = keys->lkey;
	mr->va = req->va;
	mr->len = req->length;
	mr->pd = pd;
	pd->users++;
	d->stats.mr_handles++;
	resp->lkey = keys->lkey;
	resp->rkey = keys->rkey;
	resp->mr_handle = mr->handle;
	account(d, m);
}

/*
 * The process's memory for the engine, at its first on-demand MR
 * (peer_mem.h: its own memory only, and only while it lives).
 */
static int open_proc_mem(struct srxed_mem *m, const struct srxed_session *s,
			 char *why)
{
	struct srxe_proc_io *io;
	int fd;

	if (m->proc->mem_io)
		return 0;
	fd = srxed_peer_open_mem(s->cred.pid, s->pidfd);
	if (fd == -ESRCH)
		return say(why, EACCES, "the client process has exited");
	if (fd < 0)
		return say(why, EOPNOTSUPP,
			   "on-demand MRs need srxed to open /proc/%d/mem: %s",
			   (int)s->cred.pid, strerror(-fd));
	io = srxe_proc_io_open(fd);
	if (!io) {
		close(fd);
		return say(why, ENOMEM,
			   "cannot start the helper thread of on-demand MRs");
	}
	m->proc->mem_io = io;
	srxe_mem_space_set_proc_io(m->proc->space, io);
	return 0;
}

/*
 * ON_DEMAND (docs/odp.md): nothing is pinned, moved or checked against
 * the process's mappings now (the process may map the range later); the
 * engine reaches the bytes at each access.  The implicit MR (va 0,
 * length UINT64_MAX, as ibv_reg_mr(pd, NULL, SIZE_MAX, ...) passes it)
 * covers the whole user address space at iova 0.
 */
static int reg_on_demand(struct srxed *d, struct srxed_session *s,
			 struct srxed_pd *pd,
			 const struct srxe_reg_mr_req *asked,
			 struct srxe_reg_mr_resp *resp, char *why)
{
	struct srxed_mem *m = s->mem;
	struct srxe_reg_mr_req req = *asked;
	struct srxe_mr_keys keys;
	struct srxed_mr *mr;
	int ret;

	if (!req.va && req.length == UINT64_MAX) {
		if (req.iova)
			return say(why, EINVAL,
				   "an implicit on-demand MR has iova 0");
		req.length = SRXE_PT_USER_TOP;
	}
	ret = check_request(d, m, &req, why);
	if (!ret)
		ret = open_proc_mem(m, s, why);
	if (ret)
		return ret;
	mr = mr_new(d, m, why);
	if (!mr)
		return ENOMEM;
	tables_lock(d);
	ret = srxe_mem_reg(m->client, req.pd_handle, req.va, req.length,
			   req.iova, req.access, &keys, NULL);
	tables_unlock(d);
	if (ret) {
		mr_drop(m, mr);
		return say(why, -ret, "registration refused: %s",
			   strerror(-ret));
	}
	mr_publish(d, m, mr, pd, &req, &keys, resp);
	resp->nruns = 0;
	return 0;
}

int srxed_mr_reg(struct srxed *d, struct srxed_session *s,
		 const struct srxe_reg_mr_req *req,
		 struct srxe_reg_mr_resp *resp, char *why)
{
	struct srxed_pd *pd = srxed_handle_lookup(&s->pds, req->pd_handle);
	struct srxed_mem *m = s->mem;
	struct srxe_runs runs = { 0 };
	struct srxe_mr_keys keys;
	struct srxed_mr *mr;
	struct srxed_peer_ranges priv;
	bool shared = false, huge;
	int ret;

	if (!pd)
		return say(why, EINVAL, "no such PD 0x%x in this context",
			   req->pd_handle);
	if (req->access & IBV_ACCESS_ON_DEMAND)
		return reg_on_demand(d, s, pd, req, resp, why);
	ret = check_request(d, m, req, why);
	/* Only the client's own mapped memory, with its rights (peer_mem.h). */
	if (!ret)
		ret = srxed_peer_check_reg(s, req->va, req->length, req->access,
					   m->proc->slab.fd, &shared, &priv,
					   why);
	if (ret)
		return ret;
	mr = mr_new(d, m, why);
	if (!mr)
		return ENOMEM;
	tables_lock(d);
	/* Huge pages are file-backed mappings (hugetlbfs): shared ones are
	 * placed whole, private ones refused.  Anonymous memory needs no
	 * second look at the client's maps. */
	huge = shared || priv.file_backed || priv.overflow;
	if (huge)
		ret = huge_get(m, s, req, why);
	if (!ret) {
		ret = pin(m, req, &keys, &runs, why);
		if (!ret && !priv.overflow)
			ret = check_private_new(m, &keys, &priv, &runs, why);
		if (!ret && shared) /* else nothing to map in place */
			ret = adopt_shm(m, s, req, &keys, &runs, why);
		if (ret && huge)
			srxed_shmreg_huge_put(&m->proc->shm, &m->proc->slab,
					      srxe_mem_client_pt(m->client),
					      req->va, req->length);
	}
	tables_unlock(d);
	if (ret) {
		mr_drop(m, mr);
		srxe_runs_free(&runs);
		return ret;
	}
	mr->huge = huge;
	mr_publish(d, m, mr, pd, req, &keys, resp);
	resp->nruns = runs.n;
	put_runs(resp->runs, &runs, 0, runs.n);
	srxe_runs_free(&runs);
	return 0;
}

static void put_released(const struct srxed_mr *mr, uint32_t first,
			 struct srxe_dereg_mr_resp *resp)
{
	size_t left = mr->released.n - first;

	resp->nruns_total = mr->released.n;
	resp->nruns = left < SRXE_MR_RUNS_MAX ? left : SRXE_MR_RUNS_MAX;
	put_runs(resp->runs, &mr->released, first, resp->nruns);
}

int srxed_mr_dereg(struct srxed *d, struct srxed_session *s, uint32_t handle,
		   struct srxe_dereg_mr_resp *resp, char *why)
{
	struct srxed_mem *m = s->mem;
	struct srxed_mr *mr = srxed_handle_lookup(&m->mrs, handle);
	int ret, hold;

	if (!mr)
		return say(why, EINVAL, "no such MR 0x%x in this context",
			   handle);
	if (!mr->pd)
		return say(why, EINVAL,
			   "MR 0x%x is already deregistered (DEREG_DONE "
			   "pending)",
			   handle);
	tables_lock(d);
	ret = unpin_mr(m, mr, &hold);
	tables_unlock(d);
	if (ret == -EBUSY)
		return say(why, EBUSY,
			   "MR 0x%x has memory windows bound to it: "
			   "invalidate or deallocate them first",
			   handle);
	if (ret)
		return say(why, EIO,
			   "srxed internal error: MR 0x%x has no "
			   "live key (%d)",
			   handle, ret);
	mr->held = !hold;
	if (hold)
		log_err("client %llu: cannot quarantine frames of MR 0x%x (%d)",
			(unsigned long long)s->id, handle, hold);
	mr->pd->users--;
	mr->pd = NULL;
	put_released(mr, 0, resp);
	account(d, m);
	return 0;
}

static struct srxed_mr *dying_mr(struct srxed_mem *m, uint32_t handle,
				 char *why, int *err)
{
	struct srxed_mr *mr = srxed_handle_lookup(&m->mrs, handle);

	*err = 0;
	if (!mr)
		*err = say(why, EINVAL, "no such MR 0x%x in this context",
			   handle);
	else if (mr->pd)
		*err = say(why, EINVAL, "MR 0x%x is live: send DEREG_MR first",
			   handle);
	return *err ? NULL : mr;
}

int srxed_mr_dereg_runs(struct srxed_session *s,
			const struct srxe_dereg_runs_req *req,
			struct srxe_dereg_mr_resp *resp, char *why)
{
	int err;
	struct srxed_mr *mr = dying_mr(s->mem, req->mr_handle, why, &err);

	if (!mr)
		return err;
	if (req->first >= mr->released.n)
		return say(why, EINVAL,
			   "run %u requested, MR 0x%x released %zu", req->first,
			   req->mr_handle, mr->released.n);
	put_released(mr, req->first, resp);
	return 0;
}

int srxed_mr_dereg_done(struct srxed *d, struct srxed_session *s,
			uint32_t handle, char *why)
{
	struct srxed_mem *m = s->mem;
	int err;
	struct srxed_mr *mr = dying_mr(m, handle, why, &err);

	if (!mr)
		return err;
	for (size_t i = 0; i < mr->released.n; i++) {
		const struct srxe_run *r = &mr->released.v[i];

		err = srxed_slab_punch(&m->proc->slab,
				       (uint64_t)r->frame << SRXE_FRAME_SHIFT,
				       (uint64_t)r->npages << SRXE_FRAME_SHIFT);
		if (err)
			log_err("client %llu: punching frames %u+%u: %s",
				(unsigned long long)s->id, r->frame, r->npages,
				strerror(-err));
	}
	if (mr->held) {
		tables_lock(d);
		srxe_mem_unhold_frames(m->client, &mr->released);
		tables_unlock(d);
	}
	srxed_handle_free(&m->mrs, handle);
	release_mr(mr, handle, d);
	account(d, m);
	return 0;
}

int srxed_mw_alloc(struct srxed *d, struct srxed_session *s,
		   const struct srxe_alloc_mw_req *req,
		   struct srxe_alloc_mw_resp *resp, char *why)
{
	struct srxed_pd *pd = srxed_handle_lookup(&s->pds, req->pd_handle);
	struct srxed_mem *m = s->mem;
	struct srxed_mw *mw;
	int ret;

	if (!pd)
		return say(why, EINVAL, "no such PD 0x%x in this context",
			   req->pd_handle);
	if (req->type != IBV_MW_TYPE_1 && req->type != IBV_MW_TYPE_2)
		return say(why, EINVAL,
			   "memory window type %u: srxe has types 1 and 2",
			   req->type);
	mw = calloc(1, sizeof(*mw));
	if (!mw)
		return say(why, ENOMEM, "srxed is out of memory");
	if (srxed_handle_alloc(&m->mws, mw, &resp->mw_handle)) {
		free(mw);
		return say(why, ENOMEM, "context memory window limit reached");
	}
	tables_lock(d);
	ret = srxe_mem_mw_alloc(m->client, req->pd_handle, req->type, &mw->id,
				&resp->rkey);
	tables_unlock(d);
	if (ret) {
		srxed_handle_free(&m->mws, resp->mw_handle);
		free(mw);
		return say(why, -ret,
			   ret == -ENOMEM ? "memory window limit (max_mw %u) "
					    "reached"
					  : "memory window refused (%u)",
			   SRXE_MEM_MAX_MWS);
	}
	mw->pd = pd;
	pd->users++;
	return 0;
}

int srxed_mw_dealloc(struct srxed *d, struct srxed_session *s, uint32_t handle,
		     char *why)
{
	struct srxed_mem *m = s->mem;
	struct srxed_mw *mw = srxed_handle_lookup(&m->mws, handle);

	if (!mw)
		return say(why, EINVAL,
			   "no such memory window 0x%x in this context",
			   handle);
	tables_lock(d);
	srxe_mem_mw_dealloc(m->client, mw->id);
	tables_unlock(d);
	srxed_handle_free(&m->mws, handle);
	release_mw(mw, handle, NULL);
	return 0;
}

int srxed_mr_rereg(struct srxed *d, struct srxed_session *s,
		   const struct srxe_rereg_mr_req *req,
		   struct srxe_rereg_mr_resp *resp, char *why)
{
	struct srxed_mem *m = s->mem;
	struct srxed_mr *mr = srxed_handle_lookup(&m->mrs, req->mr_handle);
	struct srxed_pd *pd = srxed_handle_lookup(&s->pds, req->pd_handle);
	struct srxe_mr_keys keys;
	int ret;

	if (!mr || !mr->pd)
		return say(why, EINVAL, "no such MR 0x%x in this context",
			   req->mr_handle);
	if (!pd)
		return say(why, EINVAL, "no such PD 0x%x in this context",
			   req->pd_handle);
	if (req->flags & ~(IBV_REREG_MR_CHANGE_PD | IBV_REREG_MR_CHANGE_ACCESS))
		return say(why, EINVAL,
			   "REREG_MR flags 0x%x: only CHANGE_PD and "
			   "CHANGE_ACCESS (a new translation is a new "
			   "registration)",
			   req->flags);
	if (req->flags & IBV_REREG_MR_CHANGE_ACCESS) {
		ret = check_access(req->access, why);
		if (ret)
			return ret;
	}
	tables_lock(d);
	ret = srxe_mem_rereg(m->client, mr->lkey, req->pd_handle, req->access,
			     &keys);
	tables_unlock(d);
	if (ret == -EBUSY)
		return say(why, EBUSY, "MR 0x%x has memory windows bound to it",
			   req->mr_handle);
	if (ret == -EAGAIN)
		return say(why, EAGAIN,
			   "MR 0x%x cannot keep its keys with these rights: "
			   "register it anew",
			   req->mr_handle);
	if (ret)
		return say(why, EINVAL,
			   "access flags 0x%x refused (see REG_MR)",
			   req->access);
	mr->pd->users--;
	mr->pd = pd;
	pd->users++;
	resp->lkey = keys.lkey;
	resp->rkey = keys.rkey;
	return 0;
}
