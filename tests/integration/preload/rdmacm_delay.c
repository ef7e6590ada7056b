// SPDX-License-Identifier: MIT
/*
 * rdmacm_delay.so: LD_PRELOAD shim for perftest -R in the kernel-rxe
 * interop test (test_rxe_interop.sh, issue #11).
 *
 * perftest 4.5 makes two rdma_cm connections to the same port: one to
 * exchange parameters, then the test QP's.  Its server listens for the
 * second only after the exchange, while the client connects right after
 * it; a client that is quicker than the server gets REJECTED (no
 * listener), and Debian 12's perftest (4.5+0.17) then crashes or hangs
 * in its retry path (retry_rdma_connect) with either librdmacm.  On two
 * shared cores next to a TCG guest either side may be the slow one.
 * test_rdmacm_perftest.sh loads it too (srxe on both sides, where a busy
 * CI machine makes the same race).  This shim delays every rdma_connect
 * but the first of the process by SRXE_CONNECT_DELAY_MS (default 300) so
 * that the server is listening.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>

int rdma_connect(struct rdma_cm_id *id, struct rdma_conn_param *param)
{
	static int (*real)(struct rdma_cm_id *, struct rdma_conn_param *);
	static int calls;
	const char *ms = getenv("SRXE_CONNECT_DELAY_MS");

	if (!real)
		real = (int (*)(struct rdma_cm_id *,
				struct rdma_conn_param *))dlsym(RTLD_NEXT,
								"rdma_connect");
	if (!real)
		return -1;
	if (calls++ > 0)
		usleep((useconds_t)(ms ? atoi(ms) : 300) * 1000);
	return real(id, param);
}
