// SPDX-License-Identifier: MIT
/*
 * rsocket iomaps (riomap, riounmap, riowrite; rsocket_wire.h): a buffer
 * one side maps with PROT_WRITE is registered for remote writes and its
 * place written into one of the slots the peer offered (RDMA_IOMAPSIZE);
 * the peer's riowrite then RDMA-writes straight into it, with no receive
 * consumed and nothing for the mapping side to copy.  Slots are read only
 * after their IOMAP_SGL completion (as grants are, rsocket_stream.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <infiniband/verbs.h>

#include <rdma/rsocket.h>

#include "rsocket_int.h"

static bool slot_used(const struct rsock *rs, int slot)
{
	for (unsigned int i = 0; i < rs->nmaps; i++)
		if (rs->maps[i].slot == slot)
			return true;
	return false;
}

static int free_slot(const struct rsock *rs)
{
	for (unsigned int s = 0; s < rs->remote_iomap.length; s++)
		if (!slot_used(rs, (int)s))
			return (int)s;
	return -1;
}

static off_t add_map(struct rsock *rs, void *buf, size_t len, int prot,
		     off_t offset)
{
	int access = IBV_ACCESS_LOCAL_WRITE;
	struct rs_map m = { .buf = buf, .len = len, .slot = -1 };
	struct rs_map *grown;

	if (prot & PROT_WRITE) {
		m.slot = free_slot(rs);
		if (m.slot < 0)
			return rs_fail(ENOMEM); /* the peer's slots are taken */
		access |= IBV_ACCESS_REMOTE_WRITE;
	}
	grown = realloc(rs->maps, (rs->nmaps + 1) * sizeof(*rs->maps));
	if (!grown)
		return rs_fail(ENOMEM);
	rs->maps = grown;
	m.mr = ibv_reg_mr(rs->pd, buf, len, access);
	if (!m.mr)
		return -1;
	m.offset = offset == -1 ? (uintptr_t)buf : (uint64_t)offset;
	m.pending = m.slot >= 0;
	rs->maps[rs->nmaps++] = m;
	return (off_t)m.offset;
}

RSOCKET_EXPORT off_t riomap(int socket, void *buf, size_t len, int prot,
			    int flags, off_t offset)
{
	struct rsock *rs = rs_lock(socket);
	off_t ret;

	(void)flags;
	if (!rs)
		return -1;
	if (!rs->pd || (prot & ~(PROT_WRITE | PROT_NONE)) || !buf || !len)
		return rs_unlock_ret(rs, rs_fail(EINVAL));
	ret = add_map(rs, buf, len, prot, offset);
	rs_unlock(rs);
	return ret;
}

RSOCKET_EXPORT int riounmap(int socket, void *buf, size_t len)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	for (unsigned int i = 0; i < rs->nmaps; i++) {
		if (rs->maps[i].buf != buf || rs->maps[i].len != len)
			continue;
		ibv_dereg_mr(rs->maps[i].mr);
		rs->maps[i] = rs->maps[--rs->nmaps];
		return rs_unlock_ret(rs, 0);
	}
	return rs_unlock_ret(rs, rs_fail(EINVAL));
}

void rs_iomap_release(struct rsock *rs)
{
	for (unsigned int i = 0; i < rs->nmaps; i++)
		ibv_dereg_mr(rs->maps[i].mr);
	free(rs->maps);
	rs->maps = NULL;
	rs->nmaps = 0;
}

/* Our iomap @m as the peer reads it: in our byte order, as rdma-core. */
static struct rsw_iomap wire_iomap(const struct rsock *rs,
				   const struct rs_map *m)
{
	struct rsw_iomap w = {
		.offset = m->offset,
		.sge = { (uintptr_t)m->mr->addr, m->mr->rkey,
			 (uint32_t)m->mr->length },
	};

	if (rs->swap_sgl) {
		w.offset = __builtin_bswap64(w.offset);
		w.sge = rsw_sge_swap(w.sge);
	}
	return w;
}

int rs_iomap_flush(struct rsock *rs, bool nonblock)
{
	for (unsigned int i = 0; i < rs->nmaps; i++) {
		struct rs_map *m = &rs->maps[i];
		struct rsw_iomap w;

		if (!m->pending)
			continue;
		if (rs_wait(rs, rs_stream_send_ready, nonblock, -1))
			return -1;
		if (!rs->writable)
			return rs_fail(rs->err ? rs->err : ECONNRESET);
		w = wire_iomap(rs, m);
		if (rs_stream_post(rs, &w, sizeof(w),
				   rsw_imm(RSW_OP_IOMAP_SGL, (uint32_t)m->slot),
				   rs->remote_iomap.addr +
					   (uint64_t)m->slot * sizeof(w),
				   rs->remote_iomap.key))
			return -1;
		rs->sseq_no++; /* it takes one of the peer's receives */
		m->pending = false;
	}
	return 0;
}

/* The peer's iomap that holds @offset, copied out of its slot. */
static bool find_peer_map(const struct rsock *rs, uint64_t offset,
			  struct rsw_iomap *out)
{
	const volatile struct rsw_iomap *slots =
		(const volatile struct rsw_iomap *)(rs->tsgl + RSW_SGL_SIZE);

	for (unsigned int s = 0; s < rs->opt.iomap_size; s++) {
		struct rsw_iomap m;

		if (!rs->iomap_seen[s])
			continue;
		m.offset = slots[s].offset;
		m.sge = (struct rsw_sge){ slots[s].sge.addr, slots[s].sge.key,
					  slots[s].sge.length };
		if (rs->swap_sgl) {
			m.offset = __builtin_bswap64(m.offset);
			m.sge = rsw_sge_swap(m.sge);
		}
		if (offset >= m.offset && offset - m.offset < m.sge.length) {
			*out = m;
			return true;
		}
	}
	return false;
}

static bool can_write_or_closed(const struct rsock *rs)
{
	return (rs->sqe_avail > 0 && rs->sbuf_avail >= RS_SNDLOWAT) ||
	       !rs->writable;
}

static ssize_t iowrite(struct rsock *rs, const uint8_t *buf, size_t count,
		       uint64_t offset, bool nonblock)
{
	uint32_t olap = RS_OLAP_START, x;
	size_t left = count;
	struct rsw_iomap m;

	if (rs_iomap_flush(rs, nonblock))
		return -1;
	while (left) {
		if (rs_wait(rs, can_write_or_closed, nonblock, -1))
			break;
		if (!rs->writable) {
			errno = rs->err ? rs->err : ECONNRESET;
			break;
		}
		if (!find_peer_map(rs, offset, &m)) {
			errno = EINVAL; /* the peer mapped nothing there */
			break;
		}
		x = rs_stream_chunk(rs, &olap, left,
				    m.offset + m.sge.length - offset);
		if (rs_stream_post(rs, buf, x, rsw_imm(RSW_OP_WRITE, x),
				   m.sge.addr + (offset - m.offset), m.sge.key))
			break;
		buf += x;
		offset += x;
		left -= x;
	}
	return left == count ? -1 : (ssize_t)(count - left);
}

RSOCKET_EXPORT size_t riowrite(int socket, const void *buf, size_t count,
			       off_t offset, int flags)
{
	struct rsock *rs = rs_lock(socket);
	ssize_t ret;

	if (!rs)
		return (size_t)-1;
	if (rs_need_connected(rs))
		return (size_t)rs_unlock_ret(rs, -1);
	ret = iowrite(rs, buf, count, (uint64_t)offset,
		      (rs->fflags & O_NONBLOCK) || (flags & MSG_DONTWAIT));
	rs_unlock(rs);
	return (size_t)ret;
}
