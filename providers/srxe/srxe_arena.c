// SPDX-License-Identifier: MIT
/*
 * Fetching a context's ring arena (MAP_RINGS) and doorbell (GET_DOORBELL)
 * from srxed; srxe_rings.c does the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srxe.h"

/* An srxed built before issue #4 does not know the opcode. */
static bool srxe_no_data_path(int err)
{
	return err == EOPNOTSUPP || err == ENOSYS;
}

/* The memfd must really be as large as srxed says, or touching it faults. */
static int srxe_arena_map(struct srxe_arena *arena, int fd, uint64_t bytes)
{
	struct stat st;
	void *base;

	if (bytes < SRXE_PAGE_SIZE || bytes % SRXE_PAGE_SIZE ||
	    fstat(fd, &st) || (uint64_t)st.st_size < bytes)
		return EPROTO;
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return errno;
	arena->base = base;
	arena->bytes = bytes;
	return 0;
}

static int srxe_map_rings(struct srxe_context *ctx)
{
	struct srxe_map_rings_resp resp;
	int fd = -1, ret;

	ret = srxe_call(&ctx->conn, SRXE_OP_MAP_RINGS, NULL, 0, -1, &resp,
			sizeof(resp), &fd);
	if (ret < 0 && !srxe_op_info(SRXE_OP_MAP_RINGS))
		return EOPNOTSUPP; /* not even our codec knows it yet */
	if (ret < 0) {
		fprintf(stderr, "%s: connection to srxed failed: %s\n",
			srxe_devname(ctx), ctx->conn.reason);
		return -ret;
	}
	if (ret)
		return ret;
	if (fd < 0)
		return EPROTO;
	ret = srxe_arena_map(&ctx->arena, fd, resp.arena_bytes);
	close(fd); /* the mapping keeps the memfd alive */
	return ret;
}

static int srxe_get_doorbell(struct srxe_context *ctx)
{
	int fd = -1, ret;

	ret = srxe_call(&ctx->conn, SRXE_OP_GET_DOORBELL, NULL, 0, -1, NULL, 0,
			&fd);
	if (ret)
		return ret < 0 ? -ret : ret;
	if (fd < 0)
		return EPROTO;
	ctx->arena.doorbell_fd = fd;
	return 0;
}

int srxe_arena_open(struct srxe_context *ctx)
{
	struct srxe_arena *arena = &ctx->arena;
	int ret;

	arena->base = NULL;
	arena->doorbell_fd = -1;
	ret = srxe_map_rings(ctx);
	if (!ret)
		ret = srxe_get_doorbell(ctx);
	if (!ret) {
		arena->unavailable = 0;
		return 0;
	}
	srxe_arena_close(arena);
	arena->unavailable = ret;
	if (srxe_no_data_path(ret))
		return 0;
	fprintf(stderr, "%s: cannot set up the work rings: %s\n",
		srxe_devname(ctx), strerror(ret));
	return ret;
}
