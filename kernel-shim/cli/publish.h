/* SPDX-License-Identifier: MIT */
/*
 * Makes a running device visible to unmodified libibverbs (DESIGN.md 3):
 * a private sysfs tree under <root>/sys that SYSFS_PATH points at, and a
 * /dev/infiniband/uverbsN symlink to /dev/full.  Also takes it all away.
 *
 * Order matters to concurrent scanners: class/infiniband/<dev> is complete
 * before class/infiniband_verbs/uverbsN appears (renamed into place from a
 * dot-directory libibverbs skips), and uverbsN disappears first on removal.
 */
#ifndef SRXE_CLI_PUBLISH_H
#define SRXE_CLI_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "netinfo.h"
#include "rundir.h"

/*
 * Publish device name.  Returns 0, or a negative errno with a complete
 * "<what failed>: <reason>" message in why[len].  On failure everything
 * this call created for the device is removed again.
 */
int srxe_publish_device(const struct srxe_rundir *r, const char *name,
			const struct srxe_netinfo *ni, char *why, size_t len);

/*
 * Remove what srxe_publish_device created for name (also partial or stale
 * leftovers).  Never touches other devices or real kernel nodes.
 */
void srxe_unpublish_device(const struct srxe_rundir *r, const char *name);

/* Number of devices published under r->sys (entries of class/infiniband). */
int srxe_published_count(const struct srxe_rundir *r);

/*
 * When no device is published any more: remove <root>/sys, then <root>
 * itself if it is empty.
 */
void srxe_unpublish_root_if_unused(const struct srxe_rundir *r);

/*
 * True when the kernel answers RDMA netlink: libibverbs then enumerates
 * through netlink and never reads SYSFS_PATH, so srxe devices stay hidden.
 */
bool srxe_kernel_has_rdma_netlink(void);

#endif /* SRXE_CLI_PUBLISH_H */
