// SPDX-License-Identifier: MIT
/*
 * On-demand MRs in the engine (contract in objects.h, design in
 * docs/odp.md).  The bytes are read and written through the process's
 * /proc/PID/mem descriptor, which srxed opened race-free for that very
 * process (srxed_peer_open_mem(), srxed/peer_mem.h; at its first
 * on-demand MR, srxed/mr.c): the kernel resolves the address at each access,
 * faulting pages in as the process itself would, so the engine sees
 * whatever the process maps there now.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "objects.h"
#include "prot.h"

/*
 * An RDMA atomic on on-demand memory is a read, the operation on the
 * bounce copy and a write back: one at a time over all engine threads,
 * so such atomics are atomic with respect to each other (IBV_ATOMIC_HCA),
 * as kernel rxe's one atomic lock makes its own.
 */
static pthread_mutex_t odp_atomic_lock = PTHREAD_MUTEX_INITIALIZER;

static void *bounce_take(struct srxe_odp_state *o, uint32_t len)
{
	uint32_t need = (len + 63u) & ~63u;
	uint8_t *p;

	if (!o->bounce) {
		o->bounce = aligned_alloc(64, SRXE_ODP_BOUNCE_BYTES);
		if (!o->bounce)
			return NULL;
	}
	if (need > SRXE_ODP_BOUNCE_BYTES - o->head)
		o->head = 0;
	p = o->bounce + o->head;
	o->head += need;
	return p;
}

/* One whole transfer to or from the process: a short one means a hole
 * in the mapping. */
static bool proc_io(int fd, void *buf, uint64_t len, uint64_t va, bool write)
{
	while (len) {
		ssize_t n = write ? pwrite(fd, buf, len, (off_t)va)
				  : pread(fd, buf, len, (off_t)va);

		if (n <= 0)
			return false;
		buf = (uint8_t *)buf + n;
		va += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return true;
}

static void atomic_unlock(struct srxe_odp_state *o)
{
	if (o->atomic_locked) {
		o->atomic_locked = false;
		pthread_mutex_unlock(&odp_atomic_lock);
	}
}

int srxe_odp_map(struct srxe_engine *eng, const struct srxe_mem_client *mem,
		 const struct srxe_xlate_req *req, struct srxe_sg *out, int max)
{
	struct srxe_odp_state *o = &eng->odp;
	bool writes = srxe_access_writes(req->access);
	bool atomic = req->access & IBV_ACCESS_REMOTE_ATOMIC;
	uint32_t len = (uint32_t)req->len;
	uint64_t va;
	void *buf;
	int fd, err = srxe_mem_odp_va(mem, req, &va, &fd);

	if (err)
		return err;
	if (!req->len)
		return 0;
	if (max < 1 || req->len > SRXE_ODP_MAX_ACCESS ||
	    (writes && o->npending == SRXE_ODP_PENDING_MAX) ||
	    (atomic && o->atomic_locked))
		return -SRXE_XLATE_SG_OVERFLOW;
	buf = bounce_take(o, len);
	if (!buf)
		return -SRXE_XLATE_NOT_PRESENT;
	if (atomic) {
		pthread_mutex_lock(&odp_atomic_lock);
		o->atomic_locked = true;
	}
	/* Writes read first too: a hole refuses the access before any
	 * byte of it is written, and an atomic needs the old value. */
	if (!proc_io(fd, buf, len, va, false)) {
		eng->stats.odp_faults++;
		atomic_unlock(o);
		return -SRXE_XLATE_NOT_PRESENT;
	}
	eng->stats.odp_reads++;
	eng->stats.odp_bytes_read += len;
	if (writes)
		o->pending[o->npending++] =
			(struct srxe_odp_write){ fd, len, va, buf };
	out[0] = (struct srxe_sg){ buf, len };
	return 1;
}

int srxe_odp_flush(struct srxe_engine *eng)
{
	struct srxe_odp_state *o = &eng->odp;
	int err = 0;

	for (uint32_t i = 0; i < o->npending; i++) {
		const struct srxe_odp_write *w = &o->pending[i];

		if (!proc_io(w->fd, w->buf, w->len, w->va, true)) {
			eng->stats.odp_faults++;
			err = -SRXE_XLATE_NOT_PRESENT;
			continue;
		}
		eng->stats.odp_writes++;
		eng->stats.odp_bytes_written += w->len;
	}
	o->npending = 0;
	atomic_unlock(o);
	return err;
}

void srxe_odp_abort(struct srxe_engine *eng)
{
	eng->odp.npending = 0;
	atomic_unlock(&eng->odp);
}

void srxe_odp_fini(struct srxe_engine *eng)
{
	srxe_odp_abort(eng);
	free(eng->odp.bounce);
	eng->odp.bounce = NULL;
}
