/* SPDX-License-Identifier: MIT */
/*
 * The context's service thread and command file (issue #6,
 * docs/events.md): what lets unmodified libibverbs create completion
 * channels through cmd_fd.
 *
 * Contract:
 *  - srxe_cmdfile_adopt() runs in alloc_context *before*
 *    verbs_init_and_alloc_context(): if <devdir>/cmd (next to srxed's
 *    socket) is srxed's FUSE file it is dup3()-ed over cmd_fd, so that
 *    libibverbs' ioctl probe gets ENOTTY and every kernel command goes
 *    to srxed as a write().  It returns a copy of the original cmd_fd
 *    (/dev/full) to put back if binding fails, or -1 (nothing adopted).
 *  - srxe_svc_start() sends CHAN_OPEN, binds cmd_fd to the context with
 *    the token and starts the thread.  Whatever fails, the context stays
 *    usable: cmd_fd is the original /dev/full again, and
 *    ibv_create_comp_channel fails cleanly with ENOSPC.  Always consumes
 *    saved_cmd_fd.
 *  - The thread serves SVC_MAKE_CHANNEL: creates an O_CLOEXEC pipe (the
 *    read end blocking, like the kernel's event fd), stores the read
 *    end's number where libibverbs waits for it (EFAULT, not a crash, for
 *    a bad pointer), and hands srxed the write end.  It blocks every
 *    signal.
 *  - srxe_svc_stop() (free_context) stops and joins the thread.
 *
 * Hook for srxed's death: when srxed's side of the service socket hangs
 * up while the context is open (srxed exited or was killed), the thread
 * calls srxe_svc_on_hangup(ctx) once, on the service thread, and then
 * exits.  It records ctx->svc.srxed_gone and calls
 * srxe_ctx_daemon_gone() (srxe_fatal.h: IBV_EVENT_DEVICE_FATAL, dead
 * context).  A hang-up during free_context (srxe_svc_stop) is not one.
 */
#ifndef SRXE_SVC_H
#define SRXE_SVC_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>

struct ibv_device;
struct srxe_context;

struct srxe_svc {
	pthread_t thread;
	bool running;	 /* thread created, to be joined */
	bool stopping;	 /* __atomic: free_context is stopping it */
	bool srxed_gone; /* __atomic: set by srxe_svc_on_hangup() */
	int fd;		 /* service socket, -1 when none */
	int tid;	 /* the thread's id, for srxed's liveness check */
	sem_t ready;	 /* thread -> opener: tid is known */
	sem_t go;	 /* opener -> thread: fd is set (or -1: exit) */
};

int srxe_cmdfile_adopt(struct ibv_device *ibdev, int cmd_fd);
void srxe_svc_start(struct srxe_context *ctx, int saved_cmd_fd);
void srxe_svc_stop(struct srxe_context *ctx);

/* Called on the service thread when srxed hangs up (see above). */
void srxe_svc_on_hangup(struct srxe_context *ctx);

#endif /* SRXE_SVC_H */
