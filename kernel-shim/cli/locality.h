/* SPDX-License-Identifier: MIT */
/*
 * Where a netdev sits in the machine, as the kernel shows it for a device:
 * the NUMA node and the mask of CPUs local to it (<dev>/device/numa_node
 * and <dev>/device/local_cpus, which UCX reads to rank devices).  Read
 * from a sysfs root given by the caller ("/sys" in production) so tests can
 * feed a fabricated tree.
 */
#ifndef SRXE_CLI_LOCALITY_H
#define SRXE_CLI_LOCALITY_H

#include <stddef.h>

/* Room for the mask text of 16384 CPUs: 512 words of 8 digits and a comma. */
#define SRXE_CPUMASK_TEXT_MAX 4608

struct srxe_locality {
	int numa_node; /* -1, as the kernel prints it, when there is none */
	char local_cpus[SRXE_CPUMASK_TEXT_MAX];
};

/*
 * The cpumask of the CPU list text (sysfs's "0-3,8" format) over nbits
 * CPUs, printed the way the kernel prints a cpumask file: hexadecimal
 * 32-bit words, most significant first, separated by commas, every word
 * eight digits except the first, which has just the digits its nbits % 32
 * bits need.  Returns 0, -EINVAL for a malformed list or nbits 0, -ERANGE
 * for a CPU >= nbits, -ENOSPC when out[len] is too small.
 */
int srxe_cpumask_text(const char *list, unsigned int nbits, char *out,
		      size_t len);

/*
 * Locality of netdev under sysfs: numa_node and local_cpus of the nearest
 * device, from the netdev's own device up its parents, that has each
 * attribute (a virtio netdev's PCI function has them, the virtio device
 * has not).  A netdev without a device (lo, veth) or no such attribute:
 * node -1 and every online CPU local, in the format above over the
 * kernel's nr_cpu_ids (cpu/possible).  Returns 0 or a negative errno when
 * not even the CPU lists can be read.
 */
int srxe_netdev_locality(const char *sysfs, const char *netdev,
			 struct srxe_locality *loc);

#endif /* SRXE_CLI_LOCALITY_H */
