// SPDX-License-Identifier: MIT
/*
 * Registration of the srxe provider with libibverbs and the per-device
 * objects libibverbs asks for while it scans sysfs.
 */
#include <stdlib.h>

#include "srxe.h"
#include "srxe/device.h"

/*
 * srxe devices have no device/modalias file (a fake one would make
 * perftest's built-in mlx5/efa providers probe them first), so libibverbs
 * matches us by device name: "rdma_device:N<name>".
 */
static const struct verbs_match_ent srxe_match_table[] = {
	{ .u.modalias = "rdma_device:*Nsrxe*", .kind = VERBS_MATCH_MODALIAS },
	{ .kind = VERBS_MATCH_SENTINEL },
};

static struct verbs_device *srxe_alloc_device(struct verbs_sysfs_dev *sysfs)
{
	struct srxe_device *dev = calloc(1, sizeof(*dev));

	return dev ? &dev->vdev : NULL;
}

static void srxe_uninit_device(struct verbs_device *vdev)
{
	free(srxe_container_of(vdev, struct srxe_device, vdev));
}

static const struct verbs_device_ops srxe_device_ops = {
	.name = "srxe",
	.match_min_abi_version = SRXE_ABI_VERSION,
	.match_max_abi_version = SRXE_ABI_VERSION,
	.match_table = srxe_match_table,
	.alloc_device = srxe_alloc_device,
	.uninit_device = srxe_uninit_device,
	.alloc_context = srxe_alloc_context,
};

/* dlopen() runs this; the library exports no symbols at all. */
__attribute__((constructor)) static void srxe_register(void)
{
	verbs_register_driver_34(&srxe_device_ops);
}
