/* SPDX-License-Identifier: MIT */
/*
 * What a context does when srxed goes away (issue #6, "srxed gone"): the
 * user-space equivalent of a kernel device disassociation.
 *
 * Contract:
 *  - srxe_ctx_daemon_gone() may be called from any thread, any number of
 *    times; the first call marks the context dead, writes one
 *    IBV_EVENT_DEVICE_FATAL record (element 0) into the async pipe and
 *    closes the provider's write end, so ibv_get_async_event() returns the
 *    event and then fails instead of blocking.
 *  - Detection: a watcher thread per context polls the control socket for
 *    hang-up (POLLHUP/POLLRDHUP, no data is read), and srxe_ctx_call()
 *    reports a broken connection here too.  The completion-channel service
 *    thread (srxe_svc.c, issue #6 part 1) may call srxe_ctx_daemon_gone()
 *    as well; the watcher then becomes redundant.
 *  - On a dead context: every post (post_send, post_recv, post_srq_recv,
 *    wr_complete) fails with EIO; every control verb fails with EIO without
 *    touching the socket; destroy/dealloc/dereg verbs succeed and free the
 *    provider's memory, as libibverbs does for a disassociated kernel
 *    device (verbs_is_destroy_err()); poll_cq (and ibv_cq_ex polling)
 *    returns the CQEs srxed wrote before it died, then IBV_WC_WR_FLUSH_ERR
 *    for every WQE still on a QP's SQ or RQ, then nothing.  SRQ WQEs belong
 *    to no QP and are not flushed; a receive WQE srxed had already taken
 *    but not completed is lost.
 *  - No call blocks: nothing waits for srxed once the context is dead.
 */
#ifndef SRXE_PROVIDER_FATAL_H
#define SRXE_PROVIDER_FATAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

struct srxe_context;
struct srxe_qp;
struct srxe_cq;

void srxe_ctx_daemon_gone(struct srxe_context *ctx);

bool srxe_ctx_dead(const struct srxe_context *ctx);

/*
 * In a fork() child, for a context inherited from the parent (srxe_fork.h):
 * dead as above but without an event (the parent's device is fine), the
 * parent's watcher thread is not there to stop, the child's copy of the
 * async write end is closed and the locks are fresh (a parent thread may
 * have held them at fork).  Only from the child's atfork handler.
 */
void srxe_fatal_inherited(struct srxe_context *ctx);

/*
 * alloc_context: state + watcher (0 or a positive errno);
 * free_context: stop and free (safe on a context whose start failed).
 */
int srxe_fatal_start(struct srxe_context *ctx);
void srxe_fatal_stop(struct srxe_context *ctx);

/* true when a transport error from srxe_call() means srxed is gone. */
bool srxe_fatal_conn_lost(int err);

/*
 * The answer to a request on a dead context: 0 with a zeroed reply for
 * destroy-type opcodes, else EIO.  Sets errno.
 */
int srxe_fatal_answer(uint16_t op, void *reply, size_t reply_len);

/* QPs whose queues are flushed after death (0 or ENOMEM). */
int srxe_fatal_qp_add(struct srxe_context *ctx, struct srxe_qp *qp);
void srxe_fatal_qp_del(struct srxe_context *ctx, struct srxe_qp *qp);

/* poll_cq on a dead context: up to n flush completions for cq. */
int srxe_fatal_flush(struct srxe_context *ctx, struct srxe_cq *cq, int n,
		     struct ibv_wc *wc);

#endif /* SRXE_PROVIDER_FATAL_H */
