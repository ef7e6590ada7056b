// SPDX-License-Identifier: MIT
/*
 * Opening and closing a verbs context: find srxed through sysfs, bind a
 * connection to the device, and hand srxed the write end of the pipe that
 * libibverbs reads asynchronous events from.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srxe.h"
#include "srxe_fatal.h"
#include "srxe_fork.h"
#include "srxe_proc.h"
#include "srxe_verbs.h"
#include "srxe/paths.h"

/* We are not a kernel driver; libibverbs only uses this for ioctls. */
#define SRXE_DRIVER_ID 0 /* RDMA_DRIVER_UNKNOWN */

static const struct verbs_context_ops srxe_ctx_ops;

static bool srxe_debug(void)
{
	return getenv("SRXE_DEBUG") != NULL;
}

static void srxe_say_not_running(const char *devname)
{
	fprintf(stderr, "%s: srxed is not running; run `srxe up`\n", devname);
}

int srxe_ctx_call(struct srxe_context *ctx, uint16_t op, const void *req,
		  size_t req_len, void *reply, size_t reply_len)
{
	return srxe_ctx_call_fd(ctx, op, req, req_len, -1, reply, reply_len);
}

int srxe_ctx_call_fd(struct srxe_context *ctx, uint16_t op, const void *req,
		     size_t req_len, int fd, void *reply, size_t reply_len)
{
	int ret;

	if (srxe_ctx_dead(ctx))
		return srxe_fatal_answer(op, reply, reply_len);
	ret = srxe_call(&ctx->conn, op, req, req_len, fd, reply, reply_len,
			NULL);
	if (ret < 0 && srxe_fatal_conn_lost(-ret)) {
		srxe_ctx_daemon_gone(ctx);
		return srxe_fatal_answer(op, reply, reply_len);
	}
	if (ret < 0) {
		fprintf(stderr, "%s: connection to srxed failed: %s\n",
			srxe_devname(ctx), ctx->conn.reason);
		ret = -ret;
	} else if (ret > 0 && srxe_debug()) {
		fprintf(stderr, "%s: %s refused: %s\n", srxe_devname(ctx),
			srxe_op_info(op) ? srxe_op_info(op)->name : "request",
			ctx->conn.reason);
	}
	errno = ret;
	return ret;
}

static bool srxe_means_not_running(int err)
{
	return err == ENOENT || err == ECONNREFUSED;
}

static int srxe_connect(struct srxe_context *ctx)
{
	const char *devname = srxe_devname(ctx);
	char path[IBV_SYSFS_PATH_MAX];
	int ret;

	ret = srxe_read_socket_path(ctx->vctx.context.device, path,
				    sizeof(path));
	if (ret == ENOENT) {
		srxe_say_not_running(devname);
		return ret;
	}
	if (ret == EINVAL) {
		fprintf(stderr,
			"%s: %s/%s does not hold an absolute socket path\n",
			devname, ctx->vctx.context.device->ibdev_path,
			SRXE_IBDEV_SOCKET_ATTR);
		return ret;
	}
	if (ret) {
		fprintf(stderr, "%s: cannot read %s/%s: %s\n", devname,
			ctx->vctx.context.device->ibdev_path,
			SRXE_IBDEV_SOCKET_ATTR, strerror(ret));
		return ret;
	}

	ret = -srxe_conn_open(&ctx->conn, path);
	if (srxe_means_not_running(ret))
		srxe_say_not_running(devname);
	else if (ret)
		fprintf(stderr, "%s: cannot connect to srxed at %s: %s\n",
			devname, path, strerror(ret));
	return ret;
}

/* The slab srxed sent must be the memfd it describes.  0 or EPROTO. */
static int srxe_check_slab(struct srxe_context *ctx, int fd, uint64_t bytes)
{
	struct stat st;

	if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == bytes && bytes)
		return 0;
	fprintf(stderr, "%s: srxed sent no usable memory slab\n",
		srxe_devname(ctx));
	return EPROTO;
}

/*
 * Binds the connection to the device, installs the async event pipe and
 * takes the memory slab.  Returns 0 or a positive errno.
 */
static int srxe_open_ctx(struct srxe_context *ctx)
{
	struct srxe_open_ctx_req req = { .client_version = SRXE_PROTO_VERSION };
	struct srxe_open_ctx_resp resp;
	int pipefd[2], slab_fd;
	int ret;

	snprintf(req.device, sizeof(req.device), "%s", srxe_devname(ctx));
	if (pipe2(pipefd, O_CLOEXEC)) {
		ret = errno;
		fprintf(stderr, "%s: cannot create async event pipe: %s\n",
			srxe_devname(ctx), strerror(ret));
		return ret;
	}

	ret = srxe_call(&ctx->conn, SRXE_OP_OPEN_CTX, &req, sizeof(req),
			pipefd[1], &resp, sizeof(resp), &slab_fd);
	if (ret) {
		close(pipefd[1]);
		close(pipefd[0]);
		fprintf(stderr, "%s: %s\n", srxe_devname(ctx),
			ctx->conn.reason);
		return ret < 0 ? -ret : ret;
	}
	ret = srxe_check_slab(ctx, slab_fd, resp.slab_bytes);
	if (ret) {
		if (slab_fd >= 0)
			close(slab_fd);
		close(pipefd[1]);
		close(pipefd[0]);
		return ret;
	}

	/* srxed hands every context of this process the same memfd */
	ctx->slab_fd = srxe_proc_get_slab(slab_fd);
	if (ctx->slab_fd < 0) {
		ret = errno;
		close(pipefd[1]);
		close(pipefd[0]);
		return ret;
	}
	ctx->slab_bytes = resp.slab_bytes;
	ctx->ctx_handle = resp.ctx_handle;
	ctx->translation = resp.translation;
	ctx->vctx.context.async_fd = pipefd[0];
	/* kept for IBV_EVENT_DEVICE_FATAL when srxed dies (srxe_fatal.h) */
	ctx->async_wfd = pipefd[1];
	/* as kernel rxe: one vector, so comp_vector 0 is valid */
	ctx->vctx.context.num_comp_vectors = 1;
	return 0;
}

struct verbs_context *srxe_alloc_context(struct ibv_device *ibdev, int cmd_fd,
					 void *private_data)
{
	struct srxe_context *ctx;
	int ret, saved_cmd_fd;

	/* Before libibverbs probes cmd_fd (srxe_svc.h). */
	saved_cmd_fd = srxe_cmdfile_adopt(ibdev, cmd_fd);
	/* Takes cmd_fd: from here verbs_uninit_context() closes it. */
	ctx = srxe_verbs_init_and_alloc_context(ibdev, cmd_fd, ctx, vctx,
						SRXE_DRIVER_ID);
	if (!ctx) {
		if (saved_cmd_fd >= 0)
			close(saved_cmd_fd);
		return NULL;
	}
	ctx->svc.fd = -1;
	pthread_mutex_init(&ctx->odp_lock, NULL);

	ctx->conn.fd = -1;
	ctx->slab_fd = -1;
	ctx->async_wfd = -1;
	ret = srxe_connect(ctx);
	if (ret)
		goto err_uninit;
	ret = srxe_open_ctx(ctx);
	if (ret)
		goto err_close;
	ret = srxe_arena_open(ctx);
	if (ret)
		goto err_slab;
	srxe_svc_start(ctx, saved_cmd_fd); /* takes saved_cmd_fd */
	saved_cmd_fd = -1;
	ret = srxe_fork_ctx_add(ctx); /* dead in fork children */
	if (!ret)
		ret = srxe_fatal_start(ctx);
	if (ret)
		goto err_arena;

	verbs_set_ops(&ctx->vctx, &srxe_ctx_ops);
	return &ctx->vctx;

err_arena:
	srxe_fork_ctx_del(ctx);
	srxe_svc_stop(ctx);
	srxe_arena_close(&ctx->arena);
err_slab:
	srxe_proc_put_slab(ctx->slab_fd);
	close(ctx->async_wfd);
err_close:
	srxe_conn_close(&ctx->conn);
err_uninit:
	if (saved_cmd_fd >= 0)
		close(saved_cmd_fd);
	srxe_odp_fini(ctx);
	verbs_uninit_context(&ctx->vctx);
	free(ctx);
	errno = ret;
	return NULL;
}

static void srxe_free_context(struct ibv_context *ibctx)
{
	struct srxe_context *ctx = to_srxe_context(ibctx);

	srxe_fork_ctx_del(ctx);
	srxe_svc_stop(ctx);
	srxe_fatal_stop(ctx);
	/* srxed also cleans up when the socket closes; this is the polite way
	 */
	if (!srxe_ctx_dead(ctx))
		srxe_call(&ctx->conn, SRXE_OP_CLOSE_CTX, NULL, 0, -1, NULL, 0,
			  NULL);
	srxe_conn_close(&ctx->conn);
	if (ctx->async_wfd >= 0)
		close(ctx->async_wfd);
	srxe_arena_close(&ctx->arena);
	/* MRs the application did not deregister keep their pages: each
	 * mapping holds its own reference to the memfd.
	 */
	srxe_proc_put_slab(ctx->slab_fd);
	srxe_odp_fini(ctx);
	verbs_uninit_context(&ctx->vctx);
	free(ctx);
}

static const struct verbs_context_ops srxe_ctx_ops = {
	/* data path (issue #4): srxe_cq*.c, srxe_qp*.c, srxe_post.c ... */
	.attach_mcast = srxe_attach_mcast,
	.create_ah = srxe_create_ah,
	.create_cq = srxe_create_cq,
	.create_cq_ex = srxe_create_cq_ex,
	.create_qp = srxe_create_qp,
	.create_qp_ex = srxe_create_qp_ex,
	.create_srq = srxe_create_srq,
	/* issue #10: srxe_xrc.c */
	.open_xrcd = srxe_open_xrcd,
	.close_xrcd = srxe_close_xrcd,
	.create_srq_ex = srxe_create_srq_ex,
	.get_srq_num = srxe_get_srq_num,
	.destroy_ah = srxe_destroy_ah,
	.destroy_cq = srxe_destroy_cq,
	.destroy_qp = srxe_destroy_qp,
	.destroy_srq = srxe_destroy_srq,
	.detach_mcast = srxe_detach_mcast,
	.modify_qp = srxe_modify_qp,
	.modify_srq = srxe_modify_srq,
	.poll_cq = srxe_poll_cq,
	.post_recv = srxe_post_recv,
	.post_send = srxe_post_send,
	.post_srq_recv = srxe_post_srq_recv,
	.query_qp = srxe_query_qp,
	.query_srq = srxe_query_srq,
	.req_notify_cq = srxe_req_notify_cq,
	.resize_cq = srxe_resize_cq,

	.advise_mr = srxe_advise_mr,
	.alloc_dm = srxe_alloc_dm,
	.free_dm = srxe_free_dm,
	.reg_dm_mr = srxe_reg_dm_mr,
	.alloc_parent_domain = srxe_alloc_parent_domain,
	.alloc_pd = srxe_alloc_pd,
	.alloc_td = srxe_alloc_td,
	.dealloc_td = srxe_dealloc_td,
	.dealloc_pd = srxe_dealloc_pd,
	.alloc_mw = srxe_alloc_mw,
	.dealloc_mw = srxe_dealloc_mw,
	.bind_mw = srxe_bind_mw,
	.rereg_mr = srxe_rereg_mr,
	.dereg_mr = srxe_dereg_mr,
	.free_context = srxe_free_context,
	.query_device_ex = srxe_query_device_ex,
	.query_port = srxe_query_port,
	.query_rt_values = srxe_query_rt_values,
	.reg_mr = srxe_reg_mr,
};
