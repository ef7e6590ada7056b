// SPDX-License-Identifier: MIT
/*
 * The parts of srxe's sysfs view that read the host's sysfs, fed a
 * fabricated tree in a temporary directory (this machine has no RDMA
 * kernel devices): the cpumask text of local_cpus
 * (kernel-shim/cli/locality.h), a netdev's locality, and the mirror of
 * the host's RDMA classes (kernel-shim/cli/hostrdma.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli/fsutil.h"
#include "cli/hostrdma.h"
#include "cli/locality.h"

static void expect_mask(const char *list, unsigned int nbits, const char *want)
{
	char out[SRXE_CPUMASK_TEXT_MAX];
	int ret = srxe_cpumask_text(list, nbits, out, sizeof(out));

	cr_assert_eq(ret, 0, "\"%s\" over %u: %s", list, nbits, strerror(-ret));
	cr_assert_str_eq(out, want, "\"%s\" over %u bits", list, nbits);
}

/* Values as the kernel prints local_cpus for these nr_cpu_ids. */
Test(cli_cpumask, kernel_format)
{
	expect_mask("0-1", 2, "3");
	expect_mask("0-7", 8, "ff");
	expect_mask("0-3", 16, "000f");
	expect_mask("0", 32, "00000001");
	expect_mask("0-35", 36, "f,ffffffff");
	expect_mask("0,39", 40, "80,00000001");
	expect_mask("0-63", 64, "ffffffff,ffffffff");
	expect_mask("8-15,32", 64, "00000001,0000ff00");
	expect_mask("0-3,96-127", 128, "ffffffff,00000000,00000000,0000000f");
	expect_mask("", 4, "0");
	expect_mask("0-1\n", 2, "3"); /* as read from cpu/online */
	expect_mask("5", 6, "20");
}

Test(cli_cpumask, rejects_bad_input)
{
	char out[SRXE_CPUMASK_TEXT_MAX];

	cr_assert_eq(srxe_cpumask_text("0-2", 2, out, sizeof(out)), -ERANGE);
	cr_assert_eq(srxe_cpumask_text("4", 4, out, sizeof(out)), -ERANGE);
	cr_assert_eq(srxe_cpumask_text("3-1", 8, out, sizeof(out)), -EINVAL);
	cr_assert_eq(srxe_cpumask_text("a", 8, out, sizeof(out)), -EINVAL);
	cr_assert_eq(srxe_cpumask_text("1-", 8, out, sizeof(out)), -EINVAL);
	cr_assert_eq(srxe_cpumask_text("1;2", 8, out, sizeof(out)), -EINVAL);
	cr_assert_eq(srxe_cpumask_text("0", 0, out, sizeof(out)), -EINVAL);
	cr_assert_eq(srxe_cpumask_text("0-63", 64, out, 17), -ENOSPC);
	cr_assert_eq(srxe_cpumask_text("0-63", 64, out, 18), 0);
}

/* ---- fabricated sysfs ---- */

static char tmp[] = "/tmp/srxe-sysview.XXXXXX";
static char sys[PATH_MAX];

static void at(char out[PATH_MAX], const char *rel)
{
	cr_assert_lt(snprintf(out, PATH_MAX, "%s/%s", tmp, rel), PATH_MAX);
}

static void mkdirs(const char *rel)
{
	char p[PATH_MAX];

	at(p, rel);
	cr_assert_eq(srxe_mkdir_p(p), 0, "mkdir %s", p);
}

static void put_file(const char *rel, const char *value)
{
	char p[PATH_MAX], *slash;

	at(p, rel);
	slash = strrchr(p, '/');
	*slash = 0;
	cr_assert_eq(srxe_mkdir_p(p), 0, "mkdir %s", p);
	cr_assert_eq(srxe_write_attr(p, slash + 1, value), 0, "%s", rel);
}

static void put_link(const char *rel, const char *target)
{
	char p[PATH_MAX], dir[PATH_MAX];

	at(p, rel);
	strcpy(dir, p);
	*strrchr(dir, '/') = 0;
	cr_assert_eq(srxe_mkdir_p(dir), 0, "mkdir %s", dir);
	unlink(p);
	cr_assert_eq(symlink(target, p), 0, "symlink %s", p);
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(tmp));
	at(sys, "sys");
	put_file("sys/devices/system/cpu/possible", "0-7");
	put_file("sys/devices/system/cpu/online", "0-5");
}

static void teardown(void)
{
	srxe_remove_tree(tmp);
}

TestSuite(cli_locality, .init = setup, .fini = teardown);

/* lo, veth: no device, so no node and every online CPU local. */
Test(cli_locality, netdev_without_device)
{
	struct srxe_locality loc;

	mkdirs("sys/devices/virtual/net/lo");
	put_link("sys/class/net/lo", "../../devices/virtual/net/lo");
	cr_assert_eq(srxe_netdev_locality(sys, "lo", &loc), 0);
	cr_assert_eq(loc.numa_node, -1);
	cr_assert_str_eq(loc.local_cpus, "3f");
}

/* virtio-net: the PCI function above the virtio device has both. */
Test(cli_locality, nearest_parent_gives_each_attribute)
{
	struct srxe_locality loc;

	put_file("sys/devices/pci0000:00/0000:00:03.0/numa_node", "1");
	put_file("sys/devices/pci0000:00/0000:00:03.0/local_cpus",
		 "00000000,0000ff00");
	mkdirs("sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0");
	put_link("sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0/device",
		 "../../../virtio2");
	put_link("sys/class/net/eth0",
		 "../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0");
	cr_assert_eq(srxe_netdev_locality(sys, "eth0", &loc), 0);
	cr_assert_eq(loc.numa_node, 1);
	cr_assert_str_eq(loc.local_cpus, "00000000,0000ff00");
}

/* The device's own node wins over its parent's; no local_cpus anywhere
 * falls back to the online CPUs. */
Test(cli_locality, own_device_first_and_fallback)
{
	struct srxe_locality loc;

	put_file("sys/devices/pci0000:00/numa_node", "3");
	put_file("sys/devices/pci0000:00/0000:00:05.0/numa_node", "0");
	mkdirs("sys/devices/pci0000:00/0000:00:05.0/net/ens5");
	put_link("sys/devices/pci0000:00/0000:00:05.0/net/ens5/device",
		 "../../../0000:00:05.0");
	put_link("sys/class/net/ens5",
		 "../../devices/pci0000:00/0000:00:05.0/net/ens5");
	cr_assert_eq(srxe_netdev_locality(sys, "ens5", &loc), 0);
	cr_assert_eq(loc.numa_node, 0);
	cr_assert_str_eq(loc.local_cpus, "3f");
}

/* ---- host RDMA devices ---- */

TestSuite(cli_hostrdma, .init = setup, .fini = teardown);

#define PCI4 "devices/pci0000:00/0000:00:04.0"

static char host_class[PATH_MAX], view_class[PATH_MAX];

/* A host with one mlx5 device in all three classes. */
static void fabricate_host(void)
{
	mkdirs("sys/" PCI4 "/infiniband/mlx5_0/ports/1");
	mkdirs("sys/" PCI4 "/infiniband_verbs/uverbs0");
	mkdirs("sys/" PCI4 "/infiniband_mad/umad0");
	mkdirs("sys/" PCI4 "/infiniband_mad/issm0");
	put_link("sys/class/infiniband/mlx5_0",
		 "../../" PCI4 "/infiniband/mlx5_0");
	put_file("sys/class/infiniband_verbs/abi_version", "6");
	put_link("sys/class/infiniband_verbs/uverbs0",
		 "../../" PCI4 "/infiniband_verbs/uverbs0");
	put_file("sys/class/infiniband_mad/abi_version", "5");
	put_link("sys/class/infiniband_mad/umad0",
		 "../../" PCI4 "/infiniband_mad/umad0");
	put_link("sys/class/infiniband_mad/issm0",
		 "../../" PCI4 "/infiniband_mad/issm0");
	at(host_class, "sys/class");
	at(view_class, "view/class");
	/* srxe's own device and uverbs entry, and its abi_version. */
	mkdirs("view/class/infiniband/srxe0/ports/1");
	mkdirs("view/class/infiniband_verbs/uverbs1");
	put_file("view/class/infiniband_verbs/abi_version", "6");
}

/* view/class/<rel> is an absolute link to tmp/sys/<target>. */
static void expect_view_link(const char *rel, const char *target)
{
	char p[PATH_MAX], got[PATH_MAX], want[PATH_MAX];
	struct stat st;
	ssize_t n;

	at(p, "view/class");
	strcat(p, "/");
	strcat(p, rel);
	cr_assert_eq(lstat(p, &st), 0, "%s missing", rel);
	cr_assert(S_ISLNK(st.st_mode), "%s is not a link", rel);
	n = readlink(p, got, sizeof(got) - 1);
	cr_assert_gt(n, 0);
	got[n] = 0;
	at(want, "sys/");
	strcat(want, target);
	cr_assert_str_eq(got, want, "%s", rel);
	cr_assert_eq(stat(p, &st), 0, "%s does not resolve", rel);
}

static bool view_has(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	at(p, "view/class");
	strcat(p, "/");
	strcat(p, rel);
	return !lstat(p, &st);
}

static void read_view(const char *rel, char *buf, size_t len)
{
	char p[PATH_MAX];

	at(p, "view/class");
	strcat(p, "/");
	strcat(p, rel);
	cr_assert_eq(srxe_read_attr(p, buf, len), 0, "%s", rel);
}

/* Nothing but the entries this test names: no temporary names left. */
static void expect_entries(const char *cls, int n)
{
	char p[PATH_MAX];

	at(p, "view/class");
	strcat(p, "/");
	strcat(p, cls);
	cr_assert_eq(srxe_dir_entry_count(p), n, "entries of %s", cls);
}

Test(cli_hostrdma, mirrors_every_class_with_absolute_links)
{
	char buf[16];

	fabricate_host();
	cr_assert_eq(srxe_mirror_host_rdma(host_class, view_class), 0);
	expect_view_link("infiniband/mlx5_0", PCI4 "/infiniband/mlx5_0");
	expect_view_link("infiniband_verbs/uverbs0",
			 PCI4 "/infiniband_verbs/uverbs0");
	expect_view_link("infiniband_mad/umad0", PCI4 "/infiniband_mad/umad0");
	expect_view_link("infiniband_mad/issm0", PCI4 "/infiniband_mad/issm0");
	read_view("infiniband_mad/abi_version", buf, sizeof(buf));
	cr_assert_str_eq(buf, "5");
	/* srxe's own entries are kept as they are. */
	cr_assert(view_has("infiniband/srxe0/ports/1"));
	cr_assert(view_has("infiniband_verbs/uverbs1"));
	expect_entries("infiniband", 2);
	expect_entries("infiniband_verbs", 3);
	expect_entries("infiniband_mad", 3);
}

/* infiniband_verbs/abi_version is srxe's to write: never the host's. */
Test(cli_hostrdma, verbs_abi_version_is_not_copied)
{
	char buf[16];

	fabricate_host();
	put_file("sys/class/infiniband_verbs/abi_version", "7");
	cr_assert_eq(srxe_mirror_host_rdma(host_class, view_class), 0);
	read_view("infiniband_verbs/abi_version", buf, sizeof(buf));
	cr_assert_str_eq(buf, "6");
}

/* A second `srxe up`: devices the host gained appear, changed links are
 * replaced, links of devices it lost go; srxe's own entries stay. */
Test(cli_hostrdma, refresh_follows_the_host)
{
	char p[PATH_MAX];

	fabricate_host();
	cr_assert_eq(srxe_mirror_host_rdma(host_class, view_class), 0);
	mkdirs("sys/devices/pci0000:00/0000:00:06.0/infiniband/mlx5_1");
	put_link("sys/class/infiniband/mlx5_1",
		 "../../devices/pci0000:00/0000:00:06.0/infiniband/mlx5_1");
	mkdirs("sys/devices/pci0000:00/0000:00:06.0/infiniband_verbs/uverbs0");
	put_link("sys/class/infiniband_verbs/uverbs0",
		 "../../devices/pci0000:00/0000:00:06.0/infiniband_verbs/"
		 "uverbs0");
	at(p, "sys/class/infiniband/mlx5_0");
	cr_assert_eq(unlink(p), 0);
	at(p, "sys/class/infiniband_mad/issm0");
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(srxe_mirror_host_rdma(host_class, view_class), 0);
	cr_assert(!view_has("infiniband/mlx5_0"));
	cr_assert(!view_has("infiniband_mad/issm0"));
	expect_view_link("infiniband/mlx5_1",
			 "devices/pci0000:00/0000:00:06.0/infiniband/mlx5_1");
	expect_view_link("infiniband_verbs/uverbs0",
			 "devices/pci0000:00/0000:00:06.0/infiniband_verbs/"
			 "uverbs0");
	cr_assert(view_has("infiniband/srxe0/ports/1"));
	cr_assert(view_has("infiniband_verbs/uverbs1"));
	expect_entries("infiniband", 2);
	expect_entries("infiniband_verbs", 3);
	expect_entries("infiniband_mad", 2);
}

/* A host device named like an srxe device does not displace it. */
Test(cli_hostrdma, srxe_device_keeps_its_name)
{
	fabricate_host();
	mkdirs("sys/" PCI4 "/infiniband/srxe0");
	put_link("sys/class/infiniband/srxe0",
		 "../../" PCI4 "/infiniband/srxe0");
	cr_assert_eq(srxe_mirror_host_rdma(host_class, view_class), 0);
	cr_assert(view_has("infiniband/srxe0/ports/1"));
	expect_entries("infiniband", 2);
}

/* No RDMA in the kernel: no infiniband_mad in the view, no links; the
 * view's directories themselves stay. */
Test(cli_hostrdma, host_without_rdma)
{
	char empty_class[PATH_MAX];

	fabricate_host();
	cr_assert_eq(srxe_mirror_host_rdma(host_class, view_class), 0);
	mkdirs("bare/class/net");
	at(empty_class, "bare/class");
	cr_assert_eq(srxe_mirror_host_rdma(empty_class, view_class), 0);
	cr_assert(!view_has("infiniband/mlx5_0"));
	cr_assert(!view_has("infiniband_verbs/uverbs0"));
	cr_assert(!view_has("infiniband_mad/umad0"));
	cr_assert(view_has("infiniband/srxe0"));
	cr_assert(view_has("infiniband_verbs/abi_version"));

	mkdirs("view2/class");
	at(view_class, "view2/class");
	cr_assert_eq(srxe_mirror_host_rdma(empty_class, view_class), 0);
	cr_assert_eq(srxe_dir_entry_count(view_class), 0);
}

/* Directories (an srxe view already mounted over /sys/class) and links
 * that lead nowhere are not host devices. */
Test(cli_hostrdma, skips_directories_and_dangling_links)
{
	fabricate_host();
	mkdirs("sys/class/infiniband/srxe7/ports/1");
	put_link("sys/class/infiniband/gone0", "../../devices/nowhere/gone0");
	cr_assert_eq(srxe_mirror_host_rdma(host_class, view_class), 0);
	cr_assert(!view_has("infiniband/srxe7"));
	cr_assert(!view_has("infiniband/gone0"));
	expect_view_link("infiniband/mlx5_0", PCI4 "/infiniband/mlx5_0");
}

Test(cli_hostrdma, host_uverbs_indexes_are_taken)
{
	char dev[PATH_MAX], node[PATH_MAX];

	fabricate_host();
	mkdirs("dev/infiniband");
	at(dev, "dev/infiniband");
	cr_assert(srxe_host_has_uverbs(host_class, dev, 0));
	cr_assert(!srxe_host_has_uverbs(host_class, dev, 1));
	/* srxe's own /dev node is a link to /dev/full: not a host device. */
	put_link("dev/infiniband/uverbs1", "/dev/full");
	cr_assert(!srxe_host_has_uverbs(host_class, dev, 1));
	at(node, "dev/infiniband/uverbs2");
	if (mknod(node, S_IFCHR | 0600, makedev(231, 194)))
		cr_skip_test("cannot make a character device here: %s",
			     strerror(errno));
	cr_assert(srxe_host_has_uverbs(host_class, dev, 2));
}
