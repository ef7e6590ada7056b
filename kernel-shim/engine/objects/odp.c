// SPDX-License-Identifier: MIT
/*
 * On-demand MRs in the engine (contract in objects.h, design in
 * docs/odp.md).  The bytes are read and written through the process's
 * /proc/PID/mem, which srxed opened race-free for that very process
 * (srxed_peer_open_mem(), srxed/peer_mem.h; at its first on-demand MR,
 * srxed/mr.c), by that process's helper thread (proc_io.h): the kernel
 * resolves the address at each access, faulting pages in as the process
 * itself would, so the engine sees whatever the process maps there now,
 * and a fault that waits holds the helper, not this engine thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "objects.h"
#include "proc_io.h"
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

/* A transfer by the process's helper, as srxe_xlate_err: 0, NOT_PRESENT
 * (a hole, or the process is gone), FAULT_PENDING (not done in time). */
static int proc_io(struct srxe_engine *eng, struct srxe_proc_io *io, void *buf,
		   uint32_t len, uint64_t va, bool write)
{
	int r = srxe_proc_io_rw(io, buf, len, va, write, SRXE_ODP_WAIT_NS);

	if (r == -EAGAIN) {
		eng->stats.odp_deferred++;
		return -SRXE_XLATE_FAULT_PENDING;
	}
	if (r) {
		eng->stats.odp_faults++;
		return -SRXE_XLATE_NOT_PRESENT;
	}
	return 0;
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
	struct srxe_proc_io *io;
	uint64_t va;
	void *buf;
	int err = srxe_mem_odp_va(mem, req, &va, &io);

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
	/* A write replaces every byte of its access and reaches the
	 * process at the commit alone (one trip to the helper, not two);
	 * an atomic reads the old value first. */
	if (!writes || atomic) {
		err = proc_io(eng, io, buf, len, va, false);
		if (err) {
			atomic_unlock(o);
			return err;
		}
		eng->stats.odp_reads++;
		eng->stats.odp_bytes_read += len;
	}
	if (writes)
		o->pending[o->npending++] =
			(struct srxe_odp_write){ io, len, va, buf };
	out[0] = (struct srxe_sg){ buf, len };
	return 1;
}

int srxe_odp_flush(struct srxe_engine *eng)
{
	struct srxe_odp_state *o = &eng->odp;
	int err = 0;

	for (uint32_t i = 0; i < o->npending; i++) {
		const struct srxe_odp_write *w = &o->pending[i];
		int r = proc_io(eng, w->io, w->buf, w->len, w->va, true);

		if (r == -SRXE_XLATE_FAULT_PENDING) {
			/* The rest would only wait behind it: the caller
			 * tries the whole access again later. */
			err = err ? err : r;
			break;
		}
		if (r) {
			err = r; /* a hole: the access failed */
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
