// SPDX-License-Identifier: MIT
/*
 * fork() like a current kernel: the registry of moved runs and the atfork
 * handlers that give a child private copies of them (contract:
 * srxe_fork.h).
 *
 * Everything here lives in anonymous mmap()ed tables, not in the malloc
 * heap: the child handler must not depend on heap pages, which may be
 * registered ones, and it must not call malloc in a child of a
 * multithreaded parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <ucontext.h>
#include <unistd.h>

#include "srxe.h"
#include "srxe_sys.h"
#include "srxe_fatal.h"
#include "srxe_fork.h"

/* A slab the registry reads from: one per context, shared with its runs. */
struct fork_slab {
	struct srxe_context *ctx; /* NULL once the context is closed */
	int fd;			  /* our duplicate of ctx->slab_fd; -1: free */
	unsigned int refs;	  /* the open context + one per run */
	uint64_t dev, ino;	  /* to recognize its mappings in maps */
};

/* [va, va + len) maps frames [off, off + len) of slabs[slab]. */
struct fork_run {
	uintptr_t va;
	size_t len;
	uint64_t off;
	uint32_t slab;
};

/* What the child restores: computed by the prepare handler. */
struct fork_seg {
	uintptr_t va;
	size_t len;
	uint64_t off;
	int fd;
	int prot;
	bool done; /* restored in the child (by the fault handler) */
};

/* A growable array in anonymous memory. */
struct fork_vec {
	void *base;
	size_t n, cap, elem;
};

enum fork_mode {
	FORK_MODE_UNKNOWN, /* nothing registered yet */
	FORK_MODE_COPY,	   /* the child gets private copies */
	FORK_MODE_HOLES,   /* IBV_FORK_ENABLED: libibverbs' DONTFORK contract */
};

static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fork_vec slabs = { .elem = sizeof(struct fork_slab) };
static struct fork_vec runs = { .elem = sizeof(struct fork_run) }; /* by va */
static struct fork_vec segs = { .elem = sizeof(struct fork_seg) };
static struct fork_vec maps = { .elem = 1 }; /* /proc/self/maps text */
static enum fork_mode mode;
static bool plan_failed; /* prepare could not read the maps */

static int vec_reserve(struct fork_vec *v, size_t n)
{
	size_t page = SRXE_PAGE_SIZE, bytes;
	void *p;

	if (n <= v->cap)
		return 0;
	if (n < 2 * v->cap)
		n = 2 * v->cap;
	bytes = (n * v->elem + page - 1) / page * page;
	if (v->base)
		p = srxe_sys_mremap(v->base, v->cap * v->elem, bytes,
				    MREMAP_MAYMOVE, NULL);
	else
		p = srxe_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return ENOMEM;
	v->base = p;
	v->cap = bytes / v->elem;
	return 0;
}

static struct fork_slab *slab_at(size_t i)
{
	return (struct fork_slab *)slabs.base + i;
}

static struct fork_run *run_at(size_t i)
{
	return (struct fork_run *)runs.base + i;
}

static void slab_put(uint32_t i)
{
	struct fork_slab *s = slab_at(i);

	if (--s->refs)
		return;
	close(s->fd);
	s->fd = -1;
}

void srxe_fork_hold(void)
{
	pthread_mutex_lock(&fork_lock);
}

void srxe_fork_release(void)
{
	pthread_mutex_unlock(&fork_lock);
}

/* ---- contexts ---- */

int srxe_fork_ctx_add(struct srxe_context *ctx)
{
	struct fork_slab *s = NULL;
	struct stat st;
	int ret = 0, fd;

	if (fstat(ctx->slab_fd, &st))
		return errno;
	fd = fcntl(ctx->slab_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	pthread_mutex_lock(&fork_lock);
	for (size_t i = 0; i < slabs.n && !s; i++)
		if (slab_at(i)->fd < 0)
			s = slab_at(i);
	if (!s) {
		ret = vec_reserve(&slabs, slabs.n + 1);
		if (!ret)
			s = slab_at(slabs.n++);
	}
	if (s)
		*s = (struct fork_slab){ .ctx = ctx,
					 .fd = fd,
					 .refs = 1,
					 .dev = st.st_dev,
					 .ino = st.st_ino };
	pthread_mutex_unlock(&fork_lock);
	if (ret)
		close(fd);
	return ret;
}

void srxe_fork_ctx_del(struct srxe_context *ctx)
{
	pthread_mutex_lock(&fork_lock);
	for (size_t i = 0; i < slabs.n; i++) {
		if (slab_at(i)->fd >= 0 && slab_at(i)->ctx == ctx) {
			slab_at(i)->ctx = NULL;
			slab_put(i);
		}
	}
	pthread_mutex_unlock(&fork_lock);
}

/* ---- runs ---- */

/* Index of the first run that ends after va. */
static size_t run_search(uintptr_t va)
{
	size_t lo = 0, hi = runs.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (run_at(mid)->va + run_at(mid)->len <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int run_insert(const struct fork_run *r)
{
	size_t at;

	if (vec_reserve(&runs, runs.n + 1))
		return ENOMEM;
	at = run_search(r->va);
	memmove(run_at(at + 1), run_at(at), (runs.n - at) * runs.elem);
	*run_at(at) = *r;
	runs.n++;
	slab_at(r->slab)->refs++;
	return 0;
}

static void run_remove(size_t at)
{
	slab_put(run_at(at)->slab);
	memmove(run_at(at), run_at(at + 1), (runs.n - at - 1) * runs.elem);
	runs.n--;
}

/*
 * Drop the records of [a, b); with want (not NULL) only those of runs that
 * map their pages to the same frames as want does: a deregistration must
 * not forget a newer registration of the same addresses.
 */
static void forget(uintptr_t a, uintptr_t b, const struct fork_run *want)
{
	size_t i = run_search(a);

	while (i < runs.n && run_at(i)->va < b) {
		struct fork_run *r = run_at(i);
		uintptr_t end = r->va + r->len;

		if (want && (r->slab != want->slab ||
			     r->off - r->va != want->off - want->va)) {
			i++;
			continue;
		}
		if (r->va < a && end > b) { /* a hole in the middle: split */
			struct fork_run tail = *r;

			tail.off += b - r->va;
			tail.va = b;
			tail.len = end - b;
			r->len = a - r->va;
			run_insert(&tail); /* no room: a hole in the child */
			return;
		}
		if (r->va < a) { /* keep the head */
			r->len = a - r->va;
			i++;
		} else if (end > b) { /* keep the tail */
			r->off += b - r->va;
			r->len = end - b;
			r->va = b;
			i++;
		} else {
			run_remove(i);
		}
	}
}

static int slab_of(const struct srxe_context *ctx)
{
	for (size_t i = 0; i < slabs.n; i++)
		if (slab_at(i)->fd >= 0 && slab_at(i)->ctx == ctx)
			return (int)i;
	return -1;
}

void srxe_fork_untrack(struct srxe_context *ctx, void *va, size_t len,
		       uint64_t slab_off)
{
	struct fork_run want = { .va = (uintptr_t)va, .off = slab_off };
	int slab = slab_of(ctx);

	if (slab < 0)
		return;
	want.slab = (uint32_t)slab;
	forget(want.va, want.va + len, &want);
}

/*
 * Decided once: libibverbs refuses ibv_fork_init() after the first
 * registration, which precedes our first track.
 */
static void decide_mode(void)
{
	if (mode == FORK_MODE_UNKNOWN)
		mode = ibv_is_fork_initialized() == IBV_FORK_ENABLED
			       ? FORK_MODE_HOLES
			       : FORK_MODE_COPY;
}

int srxe_fork_track(struct srxe_context *ctx, void *va, size_t len,
		    uint64_t slab_off)
{
	struct fork_run r = { .va = (uintptr_t)va,
			      .len = len,
			      .off = slab_off };
	int slab = slab_of(ctx);

	if (slab < 0)
		return EINVAL; /* srxe_fork_ctx_add() was not called */
	r.slab = (uint32_t)slab;
	decide_mode();
	/*
	 * Never let a child inherit the shared frames: under fork_init this
	 * is libibverbs' contract (its own madvise went to the VMA the move
	 * replaced), otherwise the child handler fills the hole.
	 */
	if (srxe_sys_madvise(va, len, MADV_DONTFORK))
		return errno;
	/* records of a range the application unmapped without dereg */
	forget(r.va, r.va + len, NULL);
	return run_insert(&r);
}

/* ---- prepare: what the child must restore ---- */

/* /proc/self/maps, whole, into maps (NUL-terminated).  0 or an errno. */
static int read_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return errno;
	maps.n = 0;
	do {
		if (vec_reserve(&maps, maps.n + SRXE_PAGE_SIZE + 1)) {
			close(fd);
			return ENOMEM;
		}
		got = read(fd, (char *)maps.base + maps.n,
			   maps.cap - maps.n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got > 0)
			maps.n += (size_t)got;
	} while (got > 0 || (got < 0 && errno == EINTR));
	close(fd);
	if (got < 0)
		return errno;
	((char *)maps.base)[maps.n] = '\0';
	return 0;
}

struct maps_line {
	uintptr_t start, end;
	uint64_t off, dev, ino;
	int prot;
};

/* One line of maps; returns the next line or NULL at the end. */
static const char *parse_line(const char *p, struct maps_line *l)
{
	char *e;
	unsigned long maj, min;

	l->start = strtoull(p, &e, 16);
	l->end = strtoull(e + 1, &e, 16);
	e++;
	l->prot = (e[0] == 'r' ? PROT_READ : 0) |
		  (e[1] == 'w' ? PROT_WRITE : 0) |
		  (e[2] == 'x' ? PROT_EXEC : 0);
	l->off = strtoull(e + 5, &e, 16);
	maj = strtoul(e + 1, &e, 16);
	min = strtoul(e + 1, &e, 16);
	l->dev = makedev(maj, min);
	l->ino = strtoull(e + 1, &e, 10);
	e = strchr(e, '\n');
	return e ? e + 1 : NULL;
}

static int add_seg(const struct fork_run *r, const struct maps_line *l)
{
	uintptr_t a = r->va > l->start ? r->va : l->start;
	uintptr_t b = r->va + r->len < l->end ? r->va + r->len : l->end;
	uint64_t off = r->off + (a - r->va);
	struct fork_seg *sg;

	/* the page must still map the very frame we recorded */
	if (a >= b || l->off + (a - l->start) != off)
		return 0;
	if (vec_reserve(&segs, segs.n + 1))
		return ENOMEM;
	sg = (struct fork_seg *)segs.base + segs.n++;
	*sg = (struct fork_seg){ .va = a,
				 .len = b - a,
				 .off = off,
				 .fd = slab_at(r->slab)->fd,
				 .prot = l->prot };
	return 0;
}

/*
 * Intersect the recorded runs with what the parent maps right now: only
 * pages still mapping their recorded frame are restored (the application
 * may have unmapped a registered buffer and put something else there),
 * with the protection they have now.
 */
static int make_plan(void)
{
	struct maps_line l;
	const char *p;
	int ret;

	segs.n = 0;
	ret = read_maps();
	for (p = maps.base; !ret && p && *p;) {
		p = parse_line(p, &l);
		for (size_t i = run_search(l.start);
		     !ret && i < runs.n && run_at(i)->va < l.end; i++) {
			const struct fork_slab *s = slab_at(run_at(i)->slab);

			if (s->dev == l.dev && s->ino == l.ino)
				ret = add_seg(run_at(i), &l);
		}
	}
	return ret;
}

/* ---- child ---- */

static void say(const char *what)
{
	static const char pre[] = "srxe: fork child: ";

	/* stdio may not be usable yet in the child of a threaded parent */
	if (write(2, pre, sizeof(pre) - 1) < 0 ||
	    write(2, what, strlen(what)) < 0 || write(2, "\n", 1) < 0)
		return;
}

/* Copy frames [off, off + len) into va, skipping the memfd's holes. */
static int fill(int fd, char *va, size_t len, uint64_t off)
{
	off_t pos = (off_t)off, end = (off_t)(off + len);

	while (pos < end) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			return 0; /* only holes from here on */
		if (data < 0)
			data = pos; /* no SEEK_DATA: read everything */
		if (data >= end)
			return 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || hole > end)
			hole = end;
		for (pos = data; pos < hole;) {
			/* the raw call: a sanitizer's pread would judge the
			 * whole page by the heap object that shares it */
			ssize_t got = syscall(SYS_pread64, fd,
					      va + (pos - (off_t)off),
					      (size_t)(hole - pos), pos);

			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				return got ? errno : EIO;
			pos += got;
		}
	}
	return 0;
}

static void restore(struct fork_seg *sg)
{
	void *va = (void *)sg->va;

	if (sg->done)
		return;
	sg->done = true;
	if (srxe_sys_mmap(va, sg->len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			  0) == MAP_FAILED) {
		say("cannot map a private copy of registered memory");
		return;
	}
	if (fill(sg->fd, va, sg->len, sg->off))
		say("cannot read registered memory from the slab");
	if (sg->prot != (PROT_READ | PROT_WRITE) &&
	    srxe_sys_mprotect(va, sg->len, sg->prot))
		say("cannot restore the protection of registered memory");
}

/*
 * Copy the pages of a shared mapping that exist (mincore: in the page
 * cache or swap of the memfd); the arena is large (hundreds of MiB) and
 * sparse, its untouched pages read as zero anyway.
 */
static int copy_present(char *dst, const char *src, size_t bytes)
{
	unsigned char vec[1024];
	size_t page = SRXE_PAGE_SIZE;

	for (size_t off = 0; off < bytes; off += sizeof(vec) * page) {
		size_t n = bytes - off < sizeof(vec) * page
				   ? bytes - off
				   : sizeof(vec) * page;

		if (mincore((void *)(src + off), n, vec))
			return -1;
		for (size_t i = 0; i < (n + page - 1) / page; i++)
			if (vec[i] & 1)
				memcpy(dst + off + i * page,
				       src + off + i * page, page);
	}
	return 0;
}

/* The child's ring arena: a private snapshot instead of the live rings. */
static void privatize_arena(struct srxe_arena *arena)
{
	void *copy;

	if (!arena->base)
		return;
	copy = srxe_sys_mmap(NULL, arena->bytes, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED)
		goto fail;
	if (copy_present(copy, arena->base, arena->bytes))
		memcpy(copy, arena->base, arena->bytes);
	if (srxe_sys_mremap(copy, arena->bytes, arena->bytes,
			    MREMAP_MAYMOVE | MREMAP_FIXED,
			    arena->base) != MAP_FAILED)
		return;
	srxe_sys_munmap(copy, arena->bytes);
fail:
	/* nothing reads the rings of a dead context but poll_cq: */
	say("cannot copy an inherited context's rings");
}

/* An inherited context: dead, and nothing of it reaches the parent's. */
static void inherit(struct srxe_context *ctx)
{
	srxe_fatal_inherited(ctx);
	/* the service thread is the parent's: nothing to stop or join */
	ctx->svc.running = false;
	if (ctx->svc.fd >= 0)
		close(ctx->svc.fd);
	ctx->svc.fd = -1;
	/* our copy of srxed's socket: srxed sees the parent's close alone */
	if (ctx->conn.fd >= 0)
		close(ctx->conn.fd);
	ctx->conn.fd = -1;
	privatize_arena(&ctx->arena);
}

/*
 * ---- repair on fault ----
 *
 * In a multithreaded parent glibc's fork writes malloc arena headers and
 * FILE locks in the child before any atfork child handler runs: such a
 * touch of a hole would be SIGSEGV.  For the duration of fork() a SIGSEGV
 * handler (on an alternate stack, in case the stack itself is the hole)
 * restores, in the child, the segment that holds the faulting address and
 * lets the access retry.  Any other fault, or any fault in the parent,
 * puts the application's handler back and retries, so it meets that
 * handler (or the default action) as if we had never been there.
 */
#define FORK_ALTSTACK_SIZE (64 * 1024)

static struct sigaction app_segv;
static bool altstack_set; /* ours, on the forking thread */
static void *our_altstack;
static pid_t forking_pid;
static bool repairing; /* our handler is installed */

static void give_back_segv(void)
{
	sigaction(SIGSEGV, &app_segv, NULL);
	repairing = false;
}

/*
 * A fault on the running stack is not repaired: the pages fork()'s own
 * frames use were written by the parent after fork (it returned from the
 * same calls with other values), so the child would run on the parent's
 * frames.  Dying with SIGSEGV is the honest outcome there.
 */
static bool on_running_stack(uintptr_t a, const void *uc)
{
#if defined(__x86_64__)
	uintptr_t sp =
		(uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RSP];

	return a + 2 * SRXE_PAGE_SIZE > sp && a < sp + 64 * 1024;
#else
	(void)a;
	(void)uc;
	return true; /* no way to tell: never repair */
#endif
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int saved = errno;

	(void)sig;
	if (si->si_code == SEGV_MAPERR && getpid() != forking_pid &&
	    !on_running_stack(a, uc)) {
		for (size_t i = 0; i < segs.n; i++) {
			struct fork_seg *sg = (struct fork_seg *)segs.base + i;

			if (!sg->done && a - sg->va < sg->len) {
				restore(sg);
				errno = saved;
				return;
			}
		}
	}
	give_back_segv();
	errno = saved;
}

static void install_repair(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv,
				.sa_flags = SA_SIGINFO | SA_ONSTACK };
	stack_t ss = { .ss_size = FORK_ALTSTACK_SIZE }, cur;

	forking_pid = getpid();
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &app_segv))
		return;
	repairing = true;
	/* a thread with an alternate stack of its own keeps it */
	if (sigaltstack(NULL, &cur) || !(cur.ss_flags & SS_DISABLE))
		return;
	if (!our_altstack) {
		our_altstack = srxe_sys_mmap(
			NULL, FORK_ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (our_altstack == MAP_FAILED)
			our_altstack = NULL;
	}
	ss.ss_sp = our_altstack;
	altstack_set = our_altstack && !sigaltstack(&ss, NULL);
}

static void remove_repair(void)
{
	stack_t off = { .ss_flags = SS_DISABLE };

	if (repairing)
		give_back_segv();
	if (altstack_set)
		sigaltstack(&off, NULL);
	altstack_set = false;
}

/*
 * ---- the parent waits for the child's copy ----
 *
 * The forking thread does not return from fork() in the parent until the
 * child has copied the registered memory (or died, or 30 s passed): what
 * the parent writes after fork() returns never reaches the child, as with
 * the kernel's copy at fork.  Other parent threads and srxed's engine are
 * not held back.  A pipe: the child writes one byte, or its death closes
 * the write end.
 */
#define FORK_COPY_WAIT_MS (30 * 1000)

static int copied_pipe[2] = { -1, -1 };

static void wait_for_copy(void)
{
	struct pollfd p = { .fd = copied_pipe[0], .events = POLLIN };

	if (copied_pipe[0] < 0)
		return;
	close(copied_pipe[1]);
	while (poll(&p, 1, FORK_COPY_WAIT_MS) < 0 && errno == EINTR)
		;
	close(copied_pipe[0]);
	copied_pipe[0] = copied_pipe[1] = -1;
}

static void tell_copied(void)
{
	if (copied_pipe[0] < 0)
		return;
	close(copied_pipe[0]);
	if (write(copied_pipe[1], "", 1) < 0)
		say("cannot tell the parent that the copy is done");
	close(copied_pipe[1]);
	copied_pipe[0] = copied_pipe[1] = -1;
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&fork_lock);
	plan_failed = false;
	segs.n = 0;
	if (runs.n && mode == FORK_MODE_COPY)
		plan_failed = make_plan() != 0;
	if (!segs.n)
		return;
	install_repair();
	if (pipe2(copied_pipe, O_CLOEXEC))
		copied_pipe[0] = copied_pipe[1] = -1;
}

static void fork_parent(void)
{
	remove_repair();
	wait_for_copy(); /* also when fork() failed: nobody else writes */
	pthread_mutex_unlock(&fork_lock);
}

static void fork_child(void)
{
	bool copied = !plan_failed;

	if (plan_failed)
		say("cannot read /proc/self/maps in the parent; registered "
		    "memory is not mapped in this process");
	for (size_t i = 0; copied && i < segs.n; i++)
		restore((struct fork_seg *)segs.base + i);
	remove_repair();
	tell_copied();
	for (size_t i = 0; i < slabs.n; i++) {
		struct fork_slab *s = slab_at(i);

		if (s->fd < 0)
			continue;
		if (s->ctx)
			inherit(s->ctx);
		close(s->fd);
		s->fd = -1;
	}
	/* the child starts with nothing registered and no context */
	slabs.n = runs.n = segs.n = 0;
	pthread_mutex_init(&fork_lock, NULL);
}

/*
 * From the library's constructor: child handlers run in registration
 * order, so ours runs before those of libraries loaded after libsrxe.
 */
__attribute__((constructor)) static void srxe_fork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
