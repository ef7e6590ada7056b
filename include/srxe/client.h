/* SPDX-License-Identifier: MIT */
/*
 * Synchronous client side of the control protocol (include/srxe/proto.h),
 * shared by the provider and the srxe CLI.  One connection = one socket;
 * calls on one connection are serialized by its mutex, so a verbs context
 * may be used from several threads.
 */
#ifndef SRXE_CLIENT_H
#define SRXE_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "srxe/proto.h"

struct srxe_conn {
	int fd;
	uint64_t next_req_id;
	pthread_mutex_t lock;
	char reason[SRXE_REASON_MAX + 1]; /* last error text */
};

/*
 * Connect to the SOCK_SEQPACKET socket at path.  Returns 0 or a negative
 * errno (-ENOENT / -ECONNREFUSED mean "srxed is not running").
 */
int srxe_conn_open(struct srxe_conn *c, const char *path);
void srxe_conn_close(struct srxe_conn *c);

/*
 * Send one request and wait for its reply.
 *   send_fd: fd to pass with the request, or -1.
 *   reply:   receives exactly srxe_op_info(op)->reply_body bytes on success.
 *   recv_fd: if non-NULL, receives an fd passed with the reply, or -1.
 * Returns 0 on success; a positive errno answered by srxed (c->reason holds
 * its text); or a negative errno when the transport or reply is broken
 * (c->reason says what).
 */
int srxe_call(struct srxe_conn *c, uint16_t op, const void *req,
	      size_t req_len, int send_fd, void *reply, size_t reply_len,
	      int *recv_fd);

/*
 * The path of srxed's socket that `srxe up` published in sysfs next to
 * the device (SRXE_IBDEV_SOCKET_ATTR), so whatever SYSFS_PATH found the
 * device also finds its daemon.  Used by the provider and by srxe's
 * librdmacm.  Returns 0 or a positive errno (EINVAL: not an absolute
 * path, or longer than @cap).
 */
int srxe_read_socket_path(const struct ibv_device *ibdev, char *path,
			  size_t cap);

#endif /* SRXE_CLIENT_H */
