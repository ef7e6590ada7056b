// SPDX-License-Identifier: MIT
/*
 * The srxe devices the library serves: found through libibverbs (the
 * devices whose sysfs directory publishes srxed's socket), opened once and
 * kept open while the library is loaded, as librdmacm does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "rdmacm_int.h"
#include "srxe/client.h"
#include "srxe/paths.h"

pthread_mutex_t rcm_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t rcm_once = PTHREAD_ONCE_INIT;
static struct rcm_dev rcm_devs[RCM_MAX_DEVS];
static int rcm_ndevs;
static int rcm_init_err;
/* The device list, kept for the life of the process (rcm_do_init). */
static struct ibv_device **rcm_dev_list;

static void rcm_do_init(void)
{
	struct ibv_device **list;
	char path[IBV_SYSFS_PATH_MAX];
	int n, i;

	list = ibv_get_device_list(&n);
	if (!list) {
		rcm_init_err = errno ? errno : ENODEV;
		return;
	}
	/* The list stays allocated: the ibv_device pointers must live as
	 * long as the contexts opened on them.  Kept in a static, so that
	 * LeakSanitizer in an instrumented program sees it reachable. */
	rcm_dev_list = list;
	for (i = 0; i < n && rcm_ndevs < RCM_MAX_DEVS; i++) {
		if (srxe_read_socket_path(list[i], path, sizeof(path)))
			continue; /* not an srxe device */
		rcm_devs[rcm_ndevs].index = rcm_ndevs;
		rcm_devs[rcm_ndevs].ibdev = list[i];
		rcm_ndevs++;
	}
}

int rcm_init(void)
{
	pthread_once(&rcm_once, rcm_do_init);
	return rcm_init_err;
}

int rcm_dev_count(void)
{
	return rcm_ndevs;
}

struct rcm_dev *rcm_dev_at(int i)
{
	return i >= 0 && i < rcm_ndevs ? &rcm_devs[i] : NULL;
}

static int conn_locked(struct rcm_dev *dev)
{
	char path[IBV_SYSFS_PATH_MAX];
	int ret;

	if (dev->dead)
		return ENODEV;
	if (dev->conn_open)
		return 0;
	ret = srxe_read_socket_path(dev->ibdev, path, sizeof(path));
	if (ret)
		return ret == ENOENT ? ENODEV : ret;
	ret = srxe_conn_open(&dev->conn, path);
	if (ret) {
		fprintf(stderr, "librdmacm (srxe): %s: %s\n", dev->ibdev->name,
			dev->conn.reason);
		return ENODEV;
	}
	dev->conn_open = true;
	return 0;
}

static int open_locked(struct rcm_dev *dev)
{
	struct ibv_device_attr attr;
	int ret;

	ret = conn_locked(dev);
	if (ret)
		return ret;
	if (!dev->verbs) {
		dev->verbs = ibv_open_device(dev->ibdev);
		if (!dev->verbs)
			return errno ? errno : ENODEV;
		if (!ibv_query_device(dev->verbs, &attr)) {
			dev->max_initiator_depth =
				attr.max_qp_init_rd_atom > 255
					? 255
					: attr.max_qp_init_rd_atom;
			dev->max_responder_resources =
				attr.max_qp_rd_atom > 255 ? 255
							  : attr.max_qp_rd_atom;
		}
	}
	if (!dev->pd) {
		dev->pd = ibv_alloc_pd(dev->verbs);
		if (!dev->pd)
			return errno ? errno : ENOMEM;
	}
	return 0;
}

int rcm_dev_open(struct rcm_dev *dev)
{
	int ret;

	pthread_mutex_lock(&rcm_lock);
	ret = open_locked(dev);
	pthread_mutex_unlock(&rcm_lock);
	return ret;
}

int rcm_dev_conn(struct rcm_dev *dev)
{
	int ret;

	pthread_mutex_lock(&rcm_lock);
	ret = conn_locked(dev);
	pthread_mutex_unlock(&rcm_lock);
	return ret;
}

/* GID index i of port 1 from sysfs: no verbs context needed, so finding
 * the device of an address opens nothing.  0 or a positive errno. */
static int sysfs_gid(const struct rcm_dev *dev, int i, union ibv_gid *gid)
{
	char attr[IBV_SYSFS_PATH_MAX + 32], buf[64];
	unsigned v[8];
	ssize_t len;
	int fd, k;

	snprintf(attr, sizeof(attr), "%s/ports/1/gids/%d",
		 dev->ibdev->ibdev_path, i);
	fd = open(attr, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return EINVAL;
	buf[len] = '\0';
	if (sscanf(buf, "%x:%x:%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) != 8)
		return EINVAL;
	for (k = 0; k < 8; k++) {
		gid->raw[2 * k] = (uint8_t)(v[k] >> 8);
		gid->raw[2 * k + 1] = (uint8_t)v[k];
	}
	return 0;
}

struct rcm_dev *rcm_dev_by_gid(const union ibv_gid *gid, int *sgid_index)
{
	static const union ibv_gid zero;
	union ibv_gid g;
	int i, j;

	if (!memcmp(gid, &zero, sizeof(zero)))
		return NULL;
	for (i = 0; i < rcm_ndevs; i++) {
		struct rcm_dev *dev = &rcm_devs[i];

		if (dev->dead)
			continue;
		for (j = 0; !sysfs_gid(dev, j, &g); j++) {
			if (!memcmp(&g, gid, sizeof(g))) {
				if (sgid_index)
					*sgid_index = j;
				return dev;
			}
		}
	}
	return NULL;
}

int rcm_dev_call(struct rcm_dev *dev, uint16_t op, const void *req,
		 size_t req_len, int send_fd, void *reply, size_t reply_len)
{
	int ret;

	if (!dev->conn_open || dev->dead)
		return ENODEV;
	ret = srxe_call(&dev->conn, op, req, req_len, send_fd, reply, reply_len,
			NULL);
	if (ret < 0) {
		/* The transport broke: srxed is gone.  The channels learn it
		 * from their epoll (EPOLLRDHUP) and report DEVICE_REMOVAL. */
		if (getenv("SRXE_RDMACM_DEBUG"))
			fprintf(stderr, "librdmacm (srxe): %s: %s\n",
				dev->ibdev->name, dev->conn.reason);
		return ENODEV;
	}
	if (ret > 0 && getenv("SRXE_RDMACM_DEBUG"))
		fprintf(stderr, "librdmacm (srxe): %s: request %u: %s\n",
			dev->ibdev->name, op, dev->conn.reason);
	return ret;
}

int rcm_dev_active_mtu(struct rcm_dev *dev, enum ibv_mtu *mtu)
{
	struct ibv_port_attr pattr;
	int ret;

	ret = ibv_query_port(dev->verbs, 1, &pattr);
	if (ret)
		return ret;
	*mtu = pattr.active_mtu;
	return 0;
}

RCM_EXPORT struct ibv_context **rdma_get_devices(int *num_devices)
{
	struct ibv_context **list;
	int i, n = 0;

	if (num_devices)
		*num_devices = 0;
	if (rcm_init())
		return NULL;
	list = calloc(rcm_ndevs + 1, sizeof(*list));
	if (!list)
		return NULL;
	for (i = 0; i < rcm_ndevs; i++)
		if (!rcm_dev_open(&rcm_devs[i]))
			list[n++] = rcm_devs[i].verbs;
	if (num_devices)
		*num_devices = n;
	return list;
}

RCM_EXPORT void rdma_free_devices(struct ibv_context **list)
{
	/* The contexts stay open while the library is loaded. */
	free(list);
}
