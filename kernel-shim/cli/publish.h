/* SPDX-License-Identifier: MIT */
/*
 * Makes a running device visible to unmodified libibverbs (DESIGN.md 3):
 * a private sysfs tree under <root>/sys that SYSFS_PATH points at, and a
 * /dev/infiniband/uverbsN symlink to /dev/full.  Also takes it all away.
 * The tree is laid out like kernel rxe's for the clients that read /sys
 * themselves (docs/architecture.md, "The sysfs view"):
 *
 *   <root>/sys/<x> -> /sys/<x>             everything but class
 *   <root>/sys/class/<c> -> /sys/class/<c>  every class but the RDMA ones
 *   <root>/sys/class/infiniband/            real directory:
 *     <dev>/  srxe's device (attributes, parent, ports/1/..., links
 *             device -> <root>/sys/srxe/<dev>,
 *             hw_counters and ports/1/hw_counters -> <devdir>/hw_counters)
 *     mlx5_0 -> /sys/devices/...  the host's own devices (hostrdma.h)
 *   <root>/sys/class/infiniband_verbs/     abi_version, uverbsN/ of srxe,
 *                                          links to the host's uverbsN
 *   <root>/sys/class/infiniband_mad/       links to the host's, if it has any
 *   <root>/sys/srxe/<dev>/  net/<netdev> -> /sys/devices/..., numa_node,
 *                           local_cpus
 *
 * Every link is absolute and none leads to /sys/class: `srxe exec`
 * bind-mounts the three RDMA classes over /sys/class/<same>.
 *
 * Order matters to concurrent scanners: a device's directories are built
 * under hidden names in <root>/sys/srxe and renamed into place, device
 * target first; class/infiniband/<dev> is complete before
 * class/infiniband_verbs/uverbsN appears (renamed into place from a
 * dot-directory libibverbs skips); on removal uverbsN disappears first and
 * every directory leaves by one rename before it is deleted.
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

/* Number of srxe devices published under r->sys (the directories of
 * class/infiniband; the host's devices there are links). */
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
