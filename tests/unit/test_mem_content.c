// SPDX-License-Identifier: MIT
/*
 * Issue #3, "Must show" 3: heap, mmap and stack buffers with known
 * patterns are registered and deregistered while the application keeps
 * reading and writing them, and the daemon's view through translate()
 * matches byte for byte.
 *
 * One process plays both sides with the real pieces: a 4 GiB sparse memfd
 * slab mapped once MAP_SHARED as the "daemon view", an srxe_mem client over
 * that view (shortcut and MTT), and the provider's page mover.  The
 * registration flow is the daemon's and the provider's: srxe_mem_reg() ->
 * srxe_move_to_slab() for every new run; srxe_mem_dereg() ->
 * srxe_move_to_private() for every freed run -> punch the freed frames.
 *
 * Beside the bytes, a model of (page -> frame, pin count) checks that new
 * runs are exactly the pages that were absent, freed runs exactly the pages
 * nobody pins any more, and that every daemon pointer translate() returns
 * is the frame the page was moved onto.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem/translate.h"
#include "srxe_move.h"

#define PAGE	      4096ull
#define SLAB_BYTES    (4ull << 30)
#define SLAB_FRAMES   ((uint32_t)(SLAB_BYTES / PAGE))
#define PD	      5u
#define SG_MAX	      8192
#define NO_FRAME      UINT32_MAX
#define MAX_AREAS     8
#define MAX_BUFS      8
#define REMOTE_RW     (IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE)
#define ALL_RW	      (IBV_ACCESS_LOCAL_WRITE | REMOTE_RW)
#define SUBRANGES     300
#define APP_WRITES    200
#define DAEMON_WRITES 40

_Static_assert(PAGE == SRXE_MOVE_PAGE_SIZE && PAGE == SRXE_FRAME_SIZE,
	       "mover and memory core must agree on the frame size");

/* A page-aligned span of application memory the model tracks. */
struct area {
	uintptr_t lo;
	size_t npages;
	uint32_t *frame; /* NO_FRAME when not on the slab */
	uint32_t *pins;
	uint8_t *pending; /* scratch of one reg/dereg */
};

/* Application bytes with a reference copy of what they must hold. */
struct buf {
	uint8_t *p;
	size_t len;
	uint8_t *ref;
	const char *name;
};

struct mr {
	uint64_t va, len;
	unsigned access;
	struct srxe_mr_keys keys;
	bool live;
};

static struct {
	enum srxe_mem_mode mode;
	int fd;
	uint8_t *view; /* the daemon's mapping of the whole slab */
	uint32_t frames;
	struct srxe_mem_client *c;
	uint64_t *frame_used; /* model: frames backing some page */
	struct area area[MAX_AREAS];
	int nareas;
	struct buf *buf[MAX_BUFS];
	int nbufs;
	uint64_t rng;
} w;

static struct srxe_sg sg[SG_MAX];

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (w.rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uintptr_t page_down(uintptr_t a)
{
	return a & ~(uintptr_t)(PAGE - 1);
}

static uintptr_t page_up(uintptr_t a)
{
	return (a + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
}

static const char *mode_name(void)
{
	return w.mode == SRXE_MEM_SHORTCUT ? "shortcut" : "mtt";
}

/* ---- the two sides ---------------------------------------------------- */

/* Slab and client; the client manages frames [0, frames) of the slab. */
static void world_up(enum srxe_mem_mode mode, uint32_t frames, uint64_t seed)
{
	struct srxe_mem_config cfg = {
		.mode = mode,
		.client_id = 11,
		.slab_frames = frames,
	};

	memset(&w, 0, sizeof(w));
	w.mode = mode;
	w.frames = frames;
	w.rng = seed;
	w.fd = memfd_create("srxe-test-content-slab", MFD_CLOEXEC);
	cr_assert(w.fd >= 0);
	cr_assert(!ftruncate(w.fd, (off_t)SLAB_BYTES));
	w.view = mmap(NULL, SLAB_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		      w.fd, 0);
	cr_assert(w.view != MAP_FAILED);
	cfg.slab = w.view;
	cr_assert_eq(srxe_mem_client_create(&cfg, &w.c), 0);
	cr_assert_eq(srxe_mem_mode(w.c), mode);
	w.frame_used = calloc(frames / 64 + 1, sizeof(uint64_t));
	cr_assert(w.frame_used);
}

static void world_down(void)
{
	struct srxe_mem_stats st;

	srxe_mem_stats(w.c, &st);
	cr_assert_eq(st.mrs, 0, "test left MRs registered");
	cr_assert_eq(st.frames_in_use, 0);
	srxe_mem_client_destroy(w.c);
	munmap(w.view, SLAB_BYTES);
	close(w.fd);
	for (int i = 0; i < w.nareas; i++) {
		free(w.area[i].frame);
		free(w.area[i].pins);
		free(w.area[i].pending);
	}
	free(w.frame_used);
}

static uint64_t slab_bytes_allocated(void)
{
	struct stat st;

	cr_assert(!fstat(w.fd, &st));
	return (uint64_t)st.st_blocks * 512;
}

/* No data in [off, off + len) of the memfd: all holes. */
static void assert_holes(uint64_t off, uint64_t len)
{
	off_t data = lseek(w.fd, (off_t)off, SEEK_DATA);

	if (data < 0)
		cr_assert_eq(errno, ENXIO);
	else
		cr_assert_geq((uint64_t)data, off + len,
			      "frame data at %jd after punching [%ju, %ju)",
			      (intmax_t)data, (uintmax_t)off,
			      (uintmax_t)(off + len));
}

/* ---- model of the table: page -> frame, pins -------------------------- */

/*
 * Track the pages of [lo, hi).  Before any registration only: an area that
 * overlaps an existing one (malloc neighbours in the same pages) is merged
 * with it.
 */
static void track_area(uintptr_t lo, uintptr_t hi)
{
	struct area *a;

	lo = page_down(lo);
	hi = page_up(hi);
	for (int i = 0; i < w.nareas; i++) {
		a = &w.area[i];
		if (lo > a->lo + a->npages * PAGE || hi < a->lo)
			continue;
		for (size_t k = 0; k < a->npages; k++)
			cr_assert_eq(a->pins[k], 0);
		lo = lo < a->lo ? lo : a->lo;
		hi = hi > a->lo + a->npages * PAGE ? hi
						   : a->lo + a->npages * PAGE;
		free(a->frame);
		free(a->pins);
		free(a->pending);
		*a = w.area[--w.nareas];
		track_area(lo, hi);
		return;
	}
	cr_assert_lt(w.nareas, MAX_AREAS);
	a = &w.area[w.nareas++];
	a->lo = lo;
	a->npages = (hi - lo) / PAGE;
	a->frame = malloc(a->npages * sizeof(*a->frame));
	a->pins = calloc(a->npages, sizeof(*a->pins));
	a->pending = calloc(a->npages, 1);
	cr_assert(a->frame && a->pins && a->pending);
	for (size_t i = 0; i < a->npages; i++)
		a->frame[i] = NO_FRAME;
}

static struct area *area_of(uintptr_t page, size_t *idx)
{
	for (int i = 0; i < w.nareas; i++) {
		struct area *a = &w.area[i];

		if (page >= a->lo && page < a->lo + a->npages * PAGE) {
			*idx = (page - a->lo) / PAGE;
			return a;
		}
	}
	cr_assert_fail("page %#jx is in no tracked area", (uintmax_t)page);
	return NULL;
}

static uint32_t frame_of(uintptr_t addr)
{
	size_t i;
	struct area *a = area_of(page_down(addr), &i);

	return a->frame[i];
}

static bool frame_is_used(uint32_t f)
{
	return (w.frame_used[f / 64] >> (f % 64)) & 1;
}

static void frame_set_used(uint32_t f, bool used)
{
	if (used)
		w.frame_used[f / 64] |= 1ull << (f % 64);
	else
		w.frame_used[f / 64] &= ~(1ull << (f % 64));
}

/* Runs are maximally merged: one entry = one mmap / one hole. */
static void assert_runs_merged(const struct srxe_runs *runs)
{
	for (size_t k = 0; k + 1 < runs->n; k++) {
		const struct srxe_run *r = &runs->v[k], *s = &runs->v[k + 1];

		cr_assert(!(r->va + r->npages * PAGE == s->va &&
			    r->frame + r->npages == s->frame),
			  "runs %zu and %zu could have been one", k, k + 1);
	}
}

/*
 * Apply one registration's pins to the model; new_runs must be exactly the
 * pages whose pin count went from 0 to 1, each on a frame nobody else has.
 * Returns the number of new pages.
 */
static size_t model_pin(uint64_t va, uint64_t len,
			const struct srxe_runs *new_runs)
{
	size_t expect = 0, got = 0;

	for (uintptr_t p = page_down(va); p < page_up(va + len); p += PAGE) {
		size_t i;
		struct area *a = area_of(p, &i);

		if (a->pins[i]++ == 0) {
			cr_assert_eq(a->frame[i], NO_FRAME);
			a->pending[i] = 1;
			expect++;
		}
	}
	for (size_t k = 0; k < new_runs->n; k++) {
		const struct srxe_run *r = &new_runs->v[k];

		cr_assert(r->npages > 0 && r->va % PAGE == 0);
		cr_assert_leq((uint64_t)r->frame + r->npages, w.frames);
		for (uint32_t j = 0; j < r->npages; j++) {
			size_t i;
			struct area *a = area_of(r->va + j * PAGE, &i);

			cr_assert(a->pending[i],
				  "new run page %#jx was already present or "
				  "is listed twice",
				  (uintmax_t)(r->va + j * PAGE));
			a->pending[i] = 0;
			cr_assert(!frame_is_used(r->frame + j),
				  "frame %u handed out twice", r->frame + j);
			frame_set_used(r->frame + j, true);
			a->frame[i] = r->frame + j;
			got++;
		}
	}
	cr_assert_eq(got, expect, "new runs cover %zu pages, %zu were absent",
		     got, expect);
	assert_runs_merged(new_runs);
	return got;
}

/* The inverse: freed must be exactly the pages nobody pins any more. */
static size_t model_unpin(uint64_t va, uint64_t len,
			  const struct srxe_runs *freed)
{
	size_t expect = 0, got = 0;

	for (uintptr_t p = page_down(va); p < page_up(va + len); p += PAGE) {
		size_t i;
		struct area *a = area_of(p, &i);

		cr_assert_gt(a->pins[i], 0);
		if (--a->pins[i] == 0) {
			a->pending[i] = 1;
			expect++;
		}
	}
	for (size_t k = 0; k < freed->n; k++) {
		const struct srxe_run *r = &freed->v[k];

		for (uint32_t j = 0; j < r->npages; j++) {
			size_t i;
			struct area *a = area_of(r->va + j * PAGE, &i);

			cr_assert(a->pending[i],
				  "freed page %#jx is still pinned or is "
				  "listed twice",
				  (uintmax_t)(r->va + j * PAGE));
			a->pending[i] = 0;
			cr_assert_eq(a->frame[i], r->frame + j,
				     "freed frame is not the page's frame");
			frame_set_used(r->frame + j, false);
			a->frame[i] = NO_FRAME;
			got++;
		}
	}
	cr_assert_eq(got, expect, "freed runs cover %zu pages, %zu unpinned",
		     got, expect);
	assert_runs_merged(freed);
	return got;
}

/* ---- application buffers and their reference copies ------------------- */

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(((i + 1) * 2654435761u >> 11) ^ seed);
}

/*
 * Track b.  copy: its current bytes become the reference; else it is
 * memory never touched (reference all zero), which must not be read here:
 * even a read maps a page that the mover would then count as touched.
 */
static void track_buf(struct buf *b, void *p, size_t len, const char *name,
		      bool copy)
{
	b->p = p;
	b->len = len;
	b->name = name;
	b->ref = copy ? malloc(len) : calloc(1, len);
	cr_assert(b->ref);
	if (copy)
		memcpy(b->ref, p, len);
	cr_assert_lt(w.nbufs, MAX_BUFS);
	w.buf[w.nbufs++] = b;
}

/* Known pattern into the application's bytes and the reference. */
static void buf_fill(struct buf *b, size_t off, size_t n, unsigned seed)
{
	cr_assert_leq(off + n, b->len);
	fill_pattern(b->p + off, n, seed);
	fill_pattern(b->ref + off, n, seed);
}

static void untrack_bufs(void)
{
	for (int i = 0; i < w.nbufs; i++)
		free(w.buf[i]->ref);
	w.nbufs = 0;
}

/* Reference byte of application address a (must be in a tracked buffer). */
static uint8_t *ref_of(uintptr_t a)
{
	for (int i = 0; i < w.nbufs; i++) {
		struct buf *b = w.buf[i];

		if (a >= (uintptr_t)b->p && a < (uintptr_t)b->p + b->len)
			return b->ref + (a - (uintptr_t)b->p);
	}
	cr_assert_fail("%#jx is in no tracked buffer", (uintmax_t)a);
	return NULL;
}

static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* The application still holds exactly what it wrote (every buffer). */
static void check_app(const char *when)
{
	for (int i = 0; i < w.nbufs; i++) {
		struct buf *b = w.buf[i];
		long d = first_diff(b->p, b->ref, b->len);

		cr_assert_eq(d, -1, "%s: %s: app byte %ld is %#x, wrote %#x",
			     when, b->name, d, d < 0 ? 0 : b->p[d],
			     d < 0 ? 0 : b->ref[d]);
	}
}

/* The application writes random bytes at random offsets of b. */
static void app_writes(struct buf *b, int n)
{
	for (int k = 0; k < n; k++) {
		size_t off = rnd() % b->len;
		size_t len = 1 + rnd() % 512;

		if (len > b->len - off)
			len = b->len - off;
		for (size_t i = 0; i < len; i++) {
			uint8_t v = (uint8_t)rnd();

			b->p[off + i] = v;
			b->ref[off + i] = v;
		}
	}
}

/* ---- registration the way srxed + the provider do it ------------------ */

/*
 * srxe_mem_reg() + srxe_move_to_slab() of every new run.  Returns the
 * number of pages that got new frames.
 */
static size_t reg_mr(struct mr *mr, uint64_t va, uint64_t len, unsigned access)
{
	struct srxe_runs runs = { 0 };
	size_t fresh;
	int ret;

	*mr = (struct mr){ .va = va, .len = len, .access = access };
	ret = srxe_mem_reg(w.c, PD, va, len, va, access, &mr->keys, &runs);
	cr_assert_eq(ret, 0, "%s: reg [%#jx, +%ju): %d", mode_name(),
		     (uintmax_t)va, (uintmax_t)len, ret);
	fresh = model_pin(va, len, &runs);
	for (size_t k = 0; k < runs.n; k++) {
		const struct srxe_run *r = &runs.v[k];

		ret = srxe_move_to_slab((void *)(uintptr_t)r->va,
					r->npages * PAGE, w.fd,
					(uint64_t)r->frame * PAGE);
		cr_assert_eq(ret, 0, "move_to_slab run %zu: %d", k, ret);
	}
	srxe_runs_free(&runs);
	mr->live = true;

	cr_assert_neq(mr->keys.lkey, 0);
	cr_assert_neq(mr->keys.rkey, 0); /* always issued (rereg, rxe) */
	if (w.mode == SRXE_MEM_SHORTCUT)
		cr_assert_neq(mr->keys.lkey, mr->keys.rkey);
	return fresh;
}

/*
 * After a dereg the application must no longer write to the frame: probe
 * one byte of each freed run that belongs to a tracked buffer.
 */
static void assert_run_private(const struct srxe_run *r)
{
	uintptr_t lo = r->va, hi = r->va + r->npages * PAGE;

	for (int i = 0; i < w.nbufs; i++) {
		struct buf *b = w.buf[i];
		uintptr_t a = (uintptr_t)b->p > lo ? (uintptr_t)b->p : lo;
		volatile uint8_t *app = (volatile uint8_t *)a;
		volatile uint8_t *frame;
		uint8_t before;

		if (a >= hi || a >= (uintptr_t)b->p + b->len)
			continue;
		frame = w.view + (uint64_t)r->frame * PAGE + (a - lo);
		before = *frame;
		cr_assert_eq(
			before, *app,
			"app and its freed frame differ after the move back");
		*app = (uint8_t)~before;
		cr_assert_eq(*frame, before, "app write reached a freed frame");
		*app = before;
		return;
	}
}

/*
 * srxe_mem_dereg() + srxe_move_to_private() of every freed run, then, if
 * punch, fallocate(PUNCH_HOLE) of the freed frames as srxed does.  Returns
 * the number of pages freed.
 */
static size_t dereg_mr(struct mr *mr, bool punch)
{
	struct srxe_runs freed = { 0 };
	size_t n;
	int ret;

	cr_assert(mr->live);
	ret = srxe_mem_dereg(w.c, mr->keys.lkey, &freed);
	cr_assert_eq(ret, 0, "%s: dereg: %d", mode_name(), ret);
	mr->live = false;
	n = model_unpin(mr->va, mr->len, &freed);
	for (size_t k = 0; k < freed.n; k++) {
		const struct srxe_run *r = &freed.v[k];

		ret = srxe_move_to_private((void *)(uintptr_t)r->va,
					   r->npages * PAGE, w.fd,
					   (uint64_t)r->frame * PAGE);
		cr_assert_eq(ret, 0, "move_to_private run %zu: %d", k, ret);
		assert_run_private(r);
	}
	check_app("after moving freed runs back");
	for (size_t k = 0; punch && k < freed.n; k++) {
		const struct srxe_run *r = &freed.v[k];
		uint64_t off = (uint64_t)r->frame * PAGE;

		cr_assert(!fallocate(w.fd,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     (off_t)off, (off_t)(r->npages * PAGE)));
		assert_holes(off, r->npages * PAGE);
	}
	if (punch)
		check_app("after punching the freed frames");
	srxe_runs_free(&freed);
	return n;
}

/* ---- the daemon's view through translate() ---------------------------- */

static int xlate(const struct mr *mr, bool rkey, uint64_t off, uint64_t len,
		 unsigned access)
{
	struct srxe_xlate_req req = {
		.key = rkey ? mr->keys.rkey : mr->keys.lkey,
		.is_rkey = rkey,
		.addr = mr->va + off, /* iova == va, as ibv_reg_mr */
		.len = len,
		.access = access,
		.pd = PD,
	};

	return srxe_mem_translate(w.c, &req, sg, SG_MAX);
}

/*
 * Walk the scatter list of [va, va + len): each piece must point at the
 * frame the model says backs the page, chunks must be maximally merged,
 * and the lengths must add up.  visit(daemon, app, n) sees every piece.
 */
static void walk_sg(int n, uintptr_t va, uint64_t len,
		    void (*visit)(uint8_t *daemon, uintptr_t app, size_t n))
{
	uintptr_t cur = va;

	cr_assert_gt(n, 0);
	for (int k = 0; k < n; k++) {
		uint8_t *d = sg[k].addr;
		uint64_t left = sg[k].len;

		cr_assert_gt(left, 0, "empty chunk %d", k);
		cr_assert(k == 0 || (uint8_t *)sg[k - 1].addr + sg[k - 1].len !=
					    d,
			  "chunks %d and %d are contiguous but not merged",
			  k - 1, k);
		while (left) {
			uint64_t piece = PAGE - (cur & (PAGE - 1));
			uint32_t f = frame_of(cur);

			if (piece > left)
				piece = left;
			cr_assert_neq(f, NO_FRAME);
			cr_assert_eq(d,
				     w.view + (uint64_t)f * PAGE +
					     (cur & (PAGE - 1)),
				     "daemon pointer for %#jx is not its frame",
				     (uintmax_t)cur);
			visit(d, cur, piece);
			d += piece;
			cur += piece;
			left -= piece;
		}
	}
	cr_assert_eq(cur, va + len, "scatter list covers %ju of %ju bytes",
		     (uintmax_t)(cur - va), (uintmax_t)len);
}

static void visit_compare(uint8_t *daemon, uintptr_t app, size_t n)
{
	long d = first_diff(daemon, (const uint8_t *)app, n);
	long r = first_diff((const uint8_t *)app, ref_of(app), n);

	cr_assert_eq(d, -1, "daemon sees %#x at %#jx, app has %#x",
		     d < 0 ? 0 : daemon[d], (uintmax_t)(app + (d < 0 ? 0 : d)),
		     d < 0 ? 0 : ((uint8_t *)app)[d]);
	cr_assert_eq(r, -1, "app byte at %#jx changed behind its back",
		     (uintmax_t)(app + (r < 0 ? 0 : r)));
}

/* The daemon writes random bytes; the application must see them. */
static void visit_write(uint8_t *daemon, uintptr_t app, size_t n)
{
	uint8_t *ref = ref_of(app);

	for (size_t i = 0; i < n; i++) {
		uint8_t v = (uint8_t)rnd();

		daemon[i] = v;
		ref[i] = v;
	}
}

/* Daemon view of [off, off + len) of mr through key kind == app bytes. */
static void check_range(const struct mr *mr, bool rkey, uint64_t off,
			uint64_t len)
{
	int n = xlate(mr, rkey, off, len, rkey ? IBV_ACCESS_REMOTE_READ : 0);

	cr_assert_gt(n, 0, "%s: translate %s [%ju, +%ju): %s", mode_name(),
		     rkey ? "rkey" : "lkey", (uintmax_t)off, (uintmax_t)len,
		     srxe_xlate_err_name(n));
	walk_sg(n, mr->va + off, len, visit_compare);
}

/* The whole MR and random sub-ranges, through the lkey and the rkey. */
static void check_mr(const struct mr *mr, int subranges)
{
	const bool remote = mr->access & IBV_ACCESS_REMOTE_READ;

	check_range(mr, false, 0, mr->len);
	if (remote)
		check_range(mr, true, 0, mr->len);
	check_range(mr, false, 0, 1);
	check_range(mr, false, mr->len - 1, 1);
	for (int k = 0; k < subranges; k++) {
		uint64_t off = rnd() % mr->len;
		uint64_t max = mr->len - off, len;

		/* mostly packet-sized, sometimes up to the end */
		len = 1 + rnd() % (k % 8 ? (max < 9000 ? max : 9000) : max);
		check_range(mr, remote && (k & 1), off, len);
	}
	/* The translation must be able to say no. */
	cr_assert_eq(xlate(mr, false, mr->len - 1, 2, 0),
		     -SRXE_XLATE_OUT_OF_BOUNDS);
}

/* Daemon writes through the MR at random places; the app must see them. */
static void daemon_writes(const struct mr *mr, int count)
{
	const bool remote = mr->access & IBV_ACCESS_REMOTE_WRITE;

	cr_assert(mr->access & IBV_ACCESS_LOCAL_WRITE);
	for (int k = 0; k < count; k++) {
		uint64_t off = rnd() % mr->len;
		uint64_t max = mr->len - off;
		uint64_t len = 1 + rnd() % (max < 3 * PAGE ? max : 3 * PAGE);
		bool rkey = remote && (k & 1);
		int n = xlate(mr, rkey, off, len,
			      rkey ? IBV_ACCESS_REMOTE_WRITE
				   : IBV_ACCESS_LOCAL_WRITE);

		cr_assert_gt(n, 0, "write translate: %s",
			     srxe_xlate_err_name(n));
		walk_sg(n, mr->va + off, len, visit_write);
	}
	check_app("after daemon writes");
}

/* ---- dead keys --------------------------------------------------------- */

/* Shortcut key's table node: (level, index of the node at that level). */
static void covering_node(const struct mr *mr, unsigned *level, uint64_t *index)
{
	uint64_t last = mr->va + mr->len - 1;

	for (unsigned l = 1; l <= 4; l++) {
		unsigned shift = SRXE_FRAME_SHIFT + 9 * l;

		if (l == 4 || (mr->va >> shift) == (last >> shift)) {
			*level = l;
			*index = mr->va >> shift;
			return;
		}
	}
}

/*
 * Why a deregistered MR's keys must fail, as long as no registration
 * happened since (docs/translation.md): MTT: the index's key byte moved on
 * (STALE).  Shortcut: the slot is free (STALE) if its descriptor is still
 * active, i.e. another live MR has the same covering table page; else the
 * descriptor is inactive (BAD_KEY).
 */
static int dead_reason(const struct mr *dead, const struct mr *const *live,
		       int nlive)
{
	unsigned level, l;
	uint64_t index, i;

	if (w.mode == SRXE_MEM_MTT)
		return SRXE_XLATE_STALE;
	covering_node(dead, &level, &index);
	for (int k = 0; k < nlive; k++) {
		if (!live[k]->live)
			continue;
		covering_node(live[k], &l, &i);
		if (l == level && i == index)
			return SRXE_XLATE_STALE;
	}
	return SRXE_XLATE_BAD_KEY;
}

#define assert_reason(got, want)                                               \
	cr_assert_eq((got), -(want), "%s: got %s (%d), want %s", mode_name(),  \
		     srxe_xlate_err_name(got), (got),                          \
		     srxe_xlate_err_name(want))

/* Every use of a dead MR's keys fails with reason want (0: any refusal). */
static void assert_keys_dead(const struct mr *mr, int want)
{
	const int uses[][2] = { { 0, 0 },
				{ 0, IBV_ACCESS_LOCAL_WRITE },
				{ 1, IBV_ACCESS_REMOTE_READ },
				{ 1, IBV_ACCESS_REMOTE_WRITE } };

	cr_assert(!mr->live);
	for (size_t u = 0; u < sizeof(uses) / sizeof(uses[0]); u++) {
		bool rkey = uses[u][0];
		int got;

		if (rkey && !mr->keys.rkey)
			continue;
		got = xlate(mr, rkey, 0, mr->len, (unsigned)uses[u][1]);
		if (want) {
			assert_reason(got, want);
		} else {
			cr_assert(got == -SRXE_XLATE_STALE ||
					  got == -SRXE_XLATE_BAD_KEY,
				  "%s: old key gave %s (%d)", mode_name(),
				  srxe_xlate_err_name(got), got);
		}
	}
}

static void assert_new_keys(const struct mr *now, const struct mr *old)
{
	cr_assert_neq(now->keys.lkey, old->keys.lkey, "lkey reused");
	if (now->keys.rkey && old->keys.rkey)
		cr_assert_neq(now->keys.rkey, old->keys.rkey, "rkey reused");
}

/* Same address through two MRs: same daemon pointers. */
static void assert_same_frames(const struct mr *a, const struct mr *b,
			       uint64_t va, uint64_t len)
{
	static struct srxe_sg first[SG_MAX];
	int n = xlate(a, false, va - a->va, len, 0), m;

	cr_assert_gt(n, 0);
	memcpy(first, sg, (size_t)n * sizeof(sg[0]));
	m = xlate(b, false, va - b->va, len, 0);
	cr_assert_eq(m, n, "the two MRs translate to different chunks");
	for (int k = 0; k < n; k++) {
		cr_assert_eq(first[k].addr, sg[k].addr);
		cr_assert_eq(first[k].len, sg[k].len);
	}
}

static void assert_stats(uint64_t mrs)
{
	struct srxe_mem_stats st;
	uint64_t frames = 0;

	srxe_mem_stats(w.c, &st);
	for (uint32_t i = 0; i < w.frames / 64 + 1; i++)
		frames += (uint64_t)__builtin_popcountll(w.frame_used[i]);
	cr_assert_eq(st.mrs, mrs);
	cr_assert_eq(st.frames_in_use, frames,
		     "core pins %ju frames, the model %ju",
		     (uintmax_t)st.frames_in_use, (uintmax_t)frames);
}

/* ---- heap -------------------------------------------------------------- */

/*
 * A malloc'd buffer with unaligned start and length, neighbours in the
 * same pages (head and tail of its block, another small allocation), a
 * second MR over part of it and a 1-byte MR.
 */
static void heap_buffers(enum srxe_mem_mode mode)
{
	const size_t body = 5 * PAGE + 1234, size = body + 3 * PAGE;
	uint8_t *blk = malloc(size), *other = malloc(64), *tiny = malloc(1);
	uint8_t *p;
	struct buf whole, nb, tb;
	struct mr mr1, mr2, mr3, again;
	uint64_t va;

	world_up(mode, SLAB_FRAMES, 0x4ea9 + mode);
	cr_assert(blk && other && tiny);
	p = (uint8_t *)page_up((uintptr_t)blk) + 1000; /* page offset 1000 */
	va = (uintptr_t)p;
	cr_assert(va % PAGE && (va + body) % PAGE);
	fill_pattern(blk, size, 1);
	fill_pattern(other, 64, 2);
	*tiny = 0x5a;
	track_area((uintptr_t)blk, (uintptr_t)blk + size);
	track_area((uintptr_t)other, (uintptr_t)other + 64);
	track_area((uintptr_t)tiny, (uintptr_t)tiny + 1);
	track_buf(&whole, blk, size, "heap block", true); /* + neighbours */
	track_buf(&nb, other, 64, "heap neighbour", true);
	track_buf(&tb, tiny, 1, "heap 1-byte", true);

	cr_assert_eq(reg_mr(&mr1, va, body, ALL_RW), 6,
		     "unaligned 5 pages + 1234 B cover 6 pages");
	check_app("after reg");
	check_mr(&mr1, SUBRANGES);

	/* The application keeps writing; the daemon view follows. */
	app_writes(&whole, APP_WRITES);
	check_mr(&mr1, SUBRANGES);
	daemon_writes(&mr1, DAEMON_WRITES);
	check_mr(&mr1, 50);

	/* Overlap, reaching into the tail neighbour: no new frames. */
	cr_assert_eq(reg_mr(&mr2, va + 2 * PAGE + 5, body - 2 * PAGE + 700,
			    IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ),
		     0);
	check_mr(&mr2, SUBRANGES);
	assert_same_frames(&mr1, &mr2, va + 2 * PAGE + 5, body - 2 * PAGE - 5);
	daemon_writes(&mr2, DAEMON_WRITES);
	check_mr(&mr1, 50);

	/* 1 byte, wherever malloc put it (maybe a page already present). */
	reg_mr(&mr3, (uintptr_t)tiny, 1, IBV_ACCESS_LOCAL_WRITE);
	check_mr(&mr3, 4);
	daemon_writes(&mr3, 3);
	assert_stats(3);

	/* Dereg the overlap: mr1 still pins every page. */
	cr_assert_eq(dereg_mr(&mr2, true), 0);
	{
		const struct mr *live[] = { &mr1, &mr3 };

		assert_keys_dead(&mr2, dead_reason(&mr2, live, 2));
	}
	app_writes(&whole, APP_WRITES);
	check_mr(&mr1, SUBRANGES);

	dereg_mr(&mr3, true);
	cr_assert_eq(dereg_mr(&mr1, true), 6);
	assert_stats(0);
	{
		const struct mr *live[] = { &mr1, &mr2, &mr3 };

		assert_keys_dead(&mr1, dead_reason(&mr1, live, 3));
		assert_keys_dead(&mr3, dead_reason(&mr3, live, 3));
	}
	/* Private again, with its content, and writable. */
	app_writes(&whole, APP_WRITES);
	app_writes(&nb, 10);
	check_app("private again");

	/* A new registration: new keys, the app's current bytes. */
	cr_assert_eq(reg_mr(&again, va, body, ALL_RW), 6);
	assert_new_keys(&again, &mr1);
	assert_new_keys(&again, &mr2);
	assert_keys_dead(&mr1, 0);
	assert_keys_dead(&mr2, 0);
	check_mr(&again, SUBRANGES);
	daemon_writes(&again, DAEMON_WRITES);
	app_writes(&whole, APP_WRITES);
	check_mr(&again, SUBRANGES);
	dereg_mr(&again, true);
	check_app("end");

	untrack_bufs();
	free(tiny);
	free(other);
	free(blk);
	world_down();
}

/* ---- mmap -------------------------------------------------------------- */

/*
 * 12 MiB anonymous mmap (crosses 2 MiB table pages), partly untouched;
 * overlapping MRs: one extending past the first, one inside it.
 */
static void mmap_buffer(enum srxe_mem_mode mode)
{
	const size_t len = 12ull << 20, pages = len / PAGE;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const uint64_t mr1_end = (7ull << 20) + 5, mr2_off = (5ull << 20) + 77;
	struct buf b;
	struct mr mr1, mr2, mr3, again;

	world_up(mode, SLAB_FRAMES, 0x33a9 + mode);
	cr_assert(m != MAP_FAILED);
	cr_assert(!madvise(m, len, MADV_NOHUGEPAGE)); /* count 4 KiB pages */
	track_area((uintptr_t)m, (uintptr_t)m + len);
	track_buf(&b, m, len, "mmap", false);
	/* First MiB all written; then every 7th page a few bytes. */
	buf_fill(&b, 0, 1ull << 20, 3);
	for (size_t pg = 256; pg < pages; pg += 7)
		buf_fill(&b, pg * PAGE + pg % 3000, 100, (unsigned)pg);

	/* MR1 [100, 7 MiB + 5): untouched pages cost no slab memory. */
	cr_assert_eq(reg_mr(&mr1, (uintptr_t)m + 100, mr1_end - 100, ALL_RW),
		     page_up(mr1_end) / PAGE);
	{
		size_t t = 256 + (page_up(mr1_end) / PAGE - 256 + 6) / 7;

		cr_assert_eq(slab_bytes_allocated(), t * PAGE,
			     "only the %zu touched pages may be copied", t);
	}
	check_app("after reg");
	check_mr(&mr1, SUBRANGES);
	app_writes(&b, APP_WRITES);
	check_mr(&mr1, SUBRANGES);
	daemon_writes(&mr1, DAEMON_WRITES);

	/* MR2 overlaps MR1's tail and extends to the end: new frames only
	 * for the pages past MR1. */
	cr_assert_eq(reg_mr(&mr2, (uintptr_t)m + mr2_off, len - 3 - mr2_off,
			    IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ),
		     pages - page_up(mr1_end) / PAGE);
	check_mr(&mr2, SUBRANGES);
	assert_same_frames(&mr1, &mr2, (uintptr_t)m + mr2_off,
			   mr1_end - mr2_off);

	/* MR3 inside MR1, local read only: nothing new, same bytes. */
	cr_assert_eq(reg_mr(&mr3, (uintptr_t)m + (1ull << 20) + 1,
			    (1ull << 20) + PAGE, 0),
		     0);
	check_mr(&mr3, 50);
	assert_same_frames(&mr1, &mr3, mr3.va, mr3.len);
	assert_reason(xlate(&mr3, false, 0, 1, IBV_ACCESS_LOCAL_WRITE),
		      SRXE_XLATE_ACCESS_DENIED);
	assert_stats(3);

	app_writes(&b, APP_WRITES);
	daemon_writes(&mr2, DAEMON_WRITES);
	check_mr(&mr1, SUBRANGES);
	check_mr(&mr2, SUBRANGES);
	check_mr(&mr3, 50);

	cr_assert_eq(dereg_mr(&mr3, true), 0);
	/* MR1 goes: only the pages MR2 does not cover are freed. */
	cr_assert_eq(dereg_mr(&mr1, true), page_down(mr2_off) / PAGE);
	{
		const struct mr *live[] = { &mr2 };

		assert_keys_dead(&mr1, dead_reason(&mr1, live, 1));
		assert_keys_dead(&mr3, dead_reason(&mr3, live, 1));
	}
	app_writes(&b, APP_WRITES);
	check_mr(&mr2, SUBRANGES);
	daemon_writes(&mr2, DAEMON_WRITES);

	cr_assert_eq(dereg_mr(&mr2, true), pages - page_down(mr2_off) / PAGE);
	assert_keys_dead(&mr2, dead_reason(&mr2, NULL, 0));
	assert_keys_dead(&mr1, dead_reason(&mr1, NULL, 0));
	assert_stats(0);
	cr_assert_eq(slab_bytes_allocated(), 0, "every frame was punched");
	app_writes(&b, APP_WRITES);
	check_app("private again");

	/* Again, whole buffer: new keys, current bytes. */
	cr_assert_eq(reg_mr(&again, (uintptr_t)m, len, ALL_RW), pages);
	assert_new_keys(&again, &mr1);
	assert_new_keys(&again, &mr2);
	assert_new_keys(&again, &mr3);
	assert_keys_dead(&mr1, 0);
	assert_keys_dead(&mr2, 0);
	assert_keys_dead(&mr3, 0);
	check_mr(&again, SUBRANGES);
	app_writes(&b, APP_WRITES);
	daemon_writes(&again, DAEMON_WRITES);
	check_mr(&again, SUBRANGES);
	dereg_mr(&again, true);
	check_app("end");

	untrack_bufs();
	munmap(m, len);
	world_down();
}

/* ---- stack ------------------------------------------------------------- */

struct stack_arg {
	enum srxe_mem_mode mode;
};

/*
 * A buffer on this thread's stack, between live locals, its pages shared
 * with the frames of everything this function calls.  Not instrumented: a
 * sanitizer's fake stack would move s off the stack.
 */
__attribute__((noinline, no_sanitize_address)) static void *
stack_buffer(void *argp)
{
	const struct stack_arg *arg = argp;
	struct {
		uint64_t before[7];
		uint8_t buf[3 * PAGE + 321];
		uint64_t after[7];
	} s;
	volatile uint64_t live = 0x0123456789abcdefull ^ (uintptr_t)argp;
	const uint64_t live0 = live;
	struct buf b;
	struct mr mr1, mr2, again;
	uintptr_t va;

	world_up(arg->mode, SLAB_FRAMES, 0x57ac + arg->mode);
	fill_pattern((uint8_t *)&s, sizeof(s), 5);
	va = (uintptr_t)s.buf + 3; /* unaligned, whatever the frame */
	track_area((uintptr_t)&s, (uintptr_t)&s + sizeof(s));
	track_buf(&b, &s, sizeof(s), "stack", true);

	reg_mr(&mr1, va, sizeof(s.buf) - 10, ALL_RW);
	check_app("after reg");
	cr_assert_eq(live, live0);
	check_mr(&mr1, SUBRANGES);
	app_writes(&b, APP_WRITES);
	check_mr(&mr1, SUBRANGES);
	daemon_writes(&mr1, DAEMON_WRITES);

	/* The whole struct: at most its edge pages are new. */
	reg_mr(&mr2, (uintptr_t)&s, sizeof(s), ALL_RW);
	check_mr(&mr2, SUBRANGES);
	assert_same_frames(&mr1, &mr2, mr1.va, mr1.len);
	daemon_writes(&mr2, DAEMON_WRITES);
	app_writes(&b, APP_WRITES);
	check_mr(&mr1, SUBRANGES);
	assert_stats(2);

	dereg_mr(&mr1, true);
	{
		const struct mr *lv[] = { &mr2 };

		assert_keys_dead(&mr1, dead_reason(&mr1, lv, 1));
	}
	check_mr(&mr2, 50);
	dereg_mr(&mr2, true);
	assert_keys_dead(&mr2, dead_reason(&mr2, NULL, 0));
	assert_keys_dead(&mr1, dead_reason(&mr1, NULL, 0));
	cr_assert_eq(live, live0);
	app_writes(&b, APP_WRITES);
	check_app("private again");

	reg_mr(&again, va, sizeof(s.buf) - 10, ALL_RW);
	assert_new_keys(&again, &mr1);
	assert_new_keys(&again, &mr2);
	assert_keys_dead(&mr1, 0);
	assert_keys_dead(&mr2, 0);
	check_mr(&again, SUBRANGES);
	daemon_writes(&again, DAEMON_WRITES);
	dereg_mr(&again, true);
	check_app("end");
	cr_assert_eq(live, live0);

	untrack_bufs();
	world_down();
	return NULL;
}

static void stack_main_thread(enum srxe_mem_mode mode)
{
	struct stack_arg arg = { mode };

	stack_buffer(&arg);
}

static void stack_other_thread(enum srxe_mem_mode mode)
{
	struct stack_arg arg = { mode };
	pthread_t t;

	cr_assert(!pthread_create(&t, NULL, stack_buffer, &arg));
	cr_assert(!pthread_join(t, NULL));
}

/* ---- freed frames handed out again ------------------------------------ */

/*
 * A client that owns exactly 32 frames, so every registration reuses the
 * frames the previous one freed.  A, fully written, goes on and off the
 * slab; then B, mostly never touched, gets A's old frames: through
 * translate() B must read its own zeros, not A's stale bytes, whether srxed
 * punched the freed frames or not.  Then A again, after the application
 * changed it, gets B's old frames.
 */
static void frames_reused(enum srxe_mem_mode mode, bool punch)
{
	const uint32_t nframes = 32;
	const size_t len = nframes * PAGE;
	uint8_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *bm = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const size_t touched[] = { 0, 5, 17 };
	struct buf ba, bb;
	struct mr ma, mb, ma2, mb2;

	world_up(mode, nframes, 0xf4a3 + mode * 2 + punch);
	cr_assert(a != MAP_FAILED && bm != MAP_FAILED);
	cr_assert(!madvise(bm, len, MADV_NOHUGEPAGE));
	track_area((uintptr_t)a, (uintptr_t)a + len);
	track_buf(&ba, a, len, "A", false);
	buf_fill(&ba, 0, len, 7);

	cr_assert_eq(reg_mr(&ma, (uintptr_t)a, len, ALL_RW), nframes);
	cr_assert_eq(slab_bytes_allocated(), len);
	check_mr(&ma, 100);
	daemon_writes(&ma, DAEMON_WRITES);
	cr_assert_eq(dereg_mr(&ma, punch), nframes);
	cr_assert_eq(slab_bytes_allocated(), punch ? 0 : len);

	/*
	 * B is tracked only now: check_app() reads every tracked buffer, and
	 * reading B's untouched pages would map them.
	 */
	track_area((uintptr_t)bm, (uintptr_t)bm + len);
	track_buf(&bb, bm, len, "B", false);
	for (size_t i = 0; i < 3; i++)
		buf_fill(&bb, touched[i] * PAGE + 1000, 50, 8 + (unsigned)i);

	/* B: the slab has no other frames than A's old ones. */
	cr_assert_eq(reg_mr(&mb, (uintptr_t)bm + 1, len - 1, ALL_RW), nframes);
	cr_assert_eq(slab_bytes_allocated(), punch ? 3 * PAGE : len,
		     "%ju slab bytes; punched: only B's 3 touched pages are "
		     "copied; unpunched: the stale frames are overwritten",
		     (uintmax_t)slab_bytes_allocated());
	check_app("B after reg");
	check_mr(&mb, 100);
	{
		/* The untouched pages read as zero through the daemon. */
		static const uint8_t zero[PAGE];
		int n = xlate(&mb, false, PAGE - 1, PAGE, 0);

		cr_assert_eq(n, 1);
		cr_assert(!memcmp(sg[0].addr, zero, PAGE),
			  "stale frame content reached the daemon");
	}
	app_writes(&ba, APP_WRITES); /* A changes while private */
	app_writes(&bb, APP_WRITES);
	check_mr(&mb, 100);
	cr_assert_eq(dereg_mr(&mb, punch), nframes);
	assert_keys_dead(&mb, dead_reason(&mb, NULL, 0));

	/* A again, on B's old frames: A's current bytes. */
	cr_assert_eq(reg_mr(&ma2, (uintptr_t)a + 7, len - 9, ALL_RW), nframes);
	assert_new_keys(&ma2, &ma);
	assert_keys_dead(&ma, 0);
	check_mr(&ma2, 100);
	/* B again, overlapping in time with A: the slab is full. */
	{
		struct mr fail = { 0 };
		struct srxe_runs runs = { 0 };

		cr_assert_eq(srxe_mem_reg(w.c, PD, (uintptr_t)bm, 1,
					  (uintptr_t)bm, 0, &fail.keys, &runs),
			     -ENOMEM);
		cr_assert_eq(runs.n, 0);
	}
	cr_assert_eq(dereg_mr(&ma2, punch), nframes);
	cr_assert_eq(reg_mr(&mb2, (uintptr_t)bm, len,
			    IBV_ACCESS_REMOTE_READ | IBV_ACCESS_LOCAL_WRITE),
		     nframes);
	assert_new_keys(&mb2, &mb);
	check_mr(&mb2, 100);
	dereg_mr(&mb2, punch);
	check_app("end");

	untrack_bufs();
	munmap(a, len);
	munmap(bm, len);
	world_down();
}

static void frames_reused_punched(enum srxe_mem_mode mode)
{
	frames_reused(mode, true);
}

static void frames_reused_unpunched(enum srxe_mem_mode mode)
{
	frames_reused(mode, false);
}

TestSuite(content, .timeout = 120);

#define BOTH_MODES(fn)                                                         \
	Test(content, fn##_shortcut)                                           \
	{                                                                      \
		fn(SRXE_MEM_SHORTCUT);                                         \
	}                                                                      \
	Test(content, fn##_mtt)                                                \
	{                                                                      \
		fn(SRXE_MEM_MTT);                                              \
	}

BOTH_MODES(heap_buffers)
BOTH_MODES(mmap_buffer)
BOTH_MODES(stack_main_thread)
BOTH_MODES(stack_other_thread)
BOTH_MODES(frames_reused_punched)
BOTH_MODES(frames_reused_unpunched)
