// SPDX-License-Identifier: MIT
#include "frames.h"

#include <errno.h>
#include <stdlib.h>

static size_t bitmap_words(uint32_t nframes)
{
	return ((size_t)nframes + 63) / 64;
}

int srxe_frames_init(struct srxe_frames *fa, uint32_t nframes)
{
	fa->bitmap = calloc(bitmap_words(nframes) + 1, sizeof(uint64_t));
	if (!fa->bitmap)
		return -ENOMEM;
	fa->nframes = nframes;
	fa->cursor = 0;
	fa->in_use = 0;
	return 0;
}

void srxe_frames_destroy(struct srxe_frames *fa)
{
	free(fa->bitmap);
	fa->bitmap = NULL;
	fa->nframes = 0;
}

/* First frame >= from whose bit equals used (or limit if none before it). */
static uint32_t find_bit(const struct srxe_frames *fa, uint32_t from,
			 uint32_t limit, int used)
{
	while (from < limit) {
		uint64_t word = fa->bitmap[from / 64];

		if (!used)
			word = ~word;
		word &= ~0ull << (from % 64);
		if (word) {
			uint32_t hit = (from & ~63u) + __builtin_ctzll(word);

			return hit < limit ? hit : limit;
		}
		from = (from & ~63u) + 64;
	}
	return limit;
}

struct run_choice {
	uint32_t first;
	uint32_t len;
};

/* Scan [from, limit) for free runs; stop early at a run of length want. */
static void scan_free_runs(const struct srxe_frames *fa, uint32_t from,
			   uint32_t limit, uint32_t want,
			   struct run_choice *best)
{
	while (from < limit && best->len < want) {
		uint32_t start = find_bit(fa, from, limit, 0);
		uint32_t stop_at = start + want < limit ? start + want : limit;
		uint32_t end;

		if (start >= limit)
			return;
		end = find_bit(fa, start, stop_at, 1);
		if (end - start > best->len) {
			best->first = start;
			best->len = end - start;
		}
		from = end;
	}
}

static void mark(struct srxe_frames *fa, uint32_t first, uint32_t n, int used)
{
	for (uint32_t f = first; f < first + n; f++) {
		uint64_t bit = 1ull << (f % 64);

		if (used)
			fa->bitmap[f / 64] |= bit;
		else
			fa->bitmap[f / 64] &= ~bit;
	}
}

uint32_t srxe_frames_alloc(struct srxe_frames *fa, uint32_t want,
			   uint32_t *first)
{
	struct run_choice best = { 0, 0 };

	if (want == 0 || fa->in_use == fa->nframes)
		return 0;
	scan_free_runs(fa, fa->cursor, fa->nframes, want, &best);
	if (best.len < want)
		scan_free_runs(fa, 0, fa->cursor, want, &best);
	if (best.len == 0)
		return 0;
	mark(fa, best.first, best.len, 1);
	fa->in_use += best.len;
	fa->cursor = best.first + best.len;
	if (fa->cursor >= fa->nframes)
		fa->cursor = 0;
	*first = best.first;
	return best.len;
}

int srxe_frames_aim_aligned(struct srxe_frames *fa, uint32_t want,
			    uint32_t align, uint32_t phase)
{
	if (!want || !align || phase >= align || want > fa->nframes)
		return -ENOMEM;
	for (uint64_t f = phase; f + want <= fa->nframes; f += align) {
		uint32_t used =
			find_bit(fa, (uint32_t)f, (uint32_t)f + want, 1);

		if (used == f + want) {
			fa->cursor = (uint32_t)f;
			return 0;
		}
		/* Skip every candidate that would still cover that frame. */
		if (used >= f + align)
			f += (used - f) / align * align;
	}
	return -ENOMEM;
}

int srxe_frames_claim(struct srxe_frames *fa, uint32_t first, uint32_t n)
{
	if (first > fa->nframes || n > fa->nframes - first)
		return -EINVAL;
	if (find_bit(fa, first, first + n, 1) != first + n)
		return -EBUSY;
	mark(fa, first, n, 1);
	fa->in_use += n;
	return 0;
}

void srxe_frames_free(struct srxe_frames *fa, uint32_t first, uint32_t n)
{
	mark(fa, first, n, 0);
	fa->in_use -= n;
}

int srxe_runs_add_page(struct srxe_runs *runs, uint64_t va, uint32_t frame)
{
	struct srxe_run *last = runs->n ? &runs->v[runs->n - 1] : NULL;

	if (last &&
	    last->va + ((uint64_t)last->npages << SRXE_FRAME_SHIFT) == va &&
	    last->frame + last->npages == frame) {
		last->npages++;
		return 0;
	}
	if (runs->n == runs->cap) {
		size_t cap = runs->cap ? runs->cap * 2 : 8;
		struct srxe_run *v = realloc(runs->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		runs->v = v;
		runs->cap = cap;
	}
	runs->v[runs->n++] = (struct srxe_run){ va, frame, 1 };
	return 0;
}

void srxe_runs_free(struct srxe_runs *runs)
{
	free(runs->v);
	runs->v = NULL;
	runs->n = runs->cap = 0;
}
