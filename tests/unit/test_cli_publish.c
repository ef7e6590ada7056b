// SPDX-License-Identifier: MIT
/*
 * The sysfs tree and /dev/infiniband node that `srxe up` publishes
 * (kernel-shim/cli/publish.h), checked on the real file system.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/fsutil.h"
#include "cli/locality.h"
#include "cli/netinfo.h"
#include "cli/publish.h"
#include "cli/rundir.h"
#include "srxe/device.h"

static char root[] = "/tmp/srxe-publish.XXXXXX";
static struct srxe_rundir rd;
static struct srxe_netinfo ni;
static char why[512];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(root));
	setenv("SRXE_RUNDIR", root, 1);
	cr_assert_eq(srxe_rundir_init(&rd, "srxeu0"), 0);
	cr_assert_eq(srxe_netinfo_resolve(NULL, NULL, &ni, why, sizeof(why)), 0,
		     "%s", why);
}

static void teardown(void)
{
	srxe_unpublish_device(&rd, "srxeu0");
	srxe_unpublish_root_if_unused(&rd);
	srxe_remove_tree(root);
}

static void require_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("creating /dev/infiniband/uverbsN needs root");
}

static void read_ibdev(const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/class/infiniband/srxeu0/%s", rd.sys,
		 attr);
	cr_assert_eq(srxe_read_attr(path, buf, len), 0, "cannot read %s", path);
}

static int published_index(void)
{
	char buf[16];

	cr_assert_eq(srxe_read_attr(rd.uverbs_file, buf, sizeof(buf)), 0);
	return atoi(buf);
}

TestSuite(cli_publish, .init = setup, .fini = teardown);

Test(cli_publish, default_netdev_is_loopback)
{
	cr_assert_str_eq(ni.netdev, "lo");
	cr_assert_eq(ni.ipv4_be, htonl(INADDR_LOOPBACK));
	cr_assert_gt(ni.mtu, 0);
}

/* A netdev with an IPv6 link-local address: it is GID 0, on that netdev,
 * and GID 1 is still the IPv4 one. */
Test(cli_publish, ipv6_link_local_is_gid0)
{
	static const uint8_t ll[16] = { 0xfe, 0x80, 0,	  0,	0,    0,
					0,    0,    0x10, 0x36, 0xe0, 0xff,
					0xfe, 0xb7, 0xd3, 0x48 };
	struct srxe_netinfo n6 = ni;
	char buf[128];

	require_root();
	n6.has_ipv6_ll = true;
	memcpy(n6.ipv6_ll, ll, sizeof(ll));
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &n6, why, sizeof(why)),
		     0, "%s", why);
	read_ibdev("ports/1/gids/0", buf, sizeof(buf));
	cr_assert_str_eq(buf, "fe80:0000:0000:0000:1036:e0ff:feb7:d348");
	read_ibdev("ports/1/gid_attrs/types/0", buf, sizeof(buf));
	cr_assert_str_eq(buf, "RoCE v2");
	read_ibdev("ports/1/gid_attrs/ndevs/0", buf, sizeof(buf));
	cr_assert_str_eq(buf, "lo");
	read_ibdev("ports/1/gids/1", buf, sizeof(buf));
	cr_assert_str_eq(buf, "0000:0000:0000:0000:0000:ffff:7f00:0001");
}

Test(cli_publish, tree_has_what_libibverbs_reads)
{
	char buf[128], path[PATH_MAX + 64], expect[64];
	uint64_t guid = srxe_node_guid("srxeu0", ni.mac, ni.ipv4_be);
	int n;

	require_root();
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &ni, why, sizeof(why)),
		     0, "%s", why);
	n = published_index();

	snprintf(path, sizeof(path), "%s/class/infiniband_verbs/uverbs%d/ibdev",
		 rd.sys, n);
	cr_assert_eq(srxe_read_attr(path, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "srxeu0");
	snprintf(path, sizeof(path), "%s/class/infiniband_verbs/uverbs%d/dev",
		 rd.sys, n);
	cr_assert_eq(srxe_read_attr(path, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "1:7");
	snprintf(path, sizeof(path), "%s/class/infiniband_verbs/abi_version",
		 rd.sys);
	cr_assert_eq(srxe_read_attr(path, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "6");

	read_ibdev("node_type", buf, sizeof(buf));
	cr_assert_str_eq(buf, "1: CA");
	read_ibdev("node_guid", buf, sizeof(buf));
	snprintf(expect, sizeof(expect), "%04x:%04x:%04x:%04x",
		 (unsigned)(guid >> 48) & 0xffff,
		 (unsigned)(guid >> 32) & 0xffff,
		 (unsigned)(guid >> 16) & 0xffff, (unsigned)guid & 0xffff);
	cr_assert_str_eq(buf, expect);
	read_ibdev("ports/1/gids/1", buf, sizeof(buf));
	cr_assert_str_eq(buf, "0000:0000:0000:0000:0000:ffff:7f00:0001");
	/* lo has no IPv6 link-local address: GID 0 is the IPv4-mapped GID
	 * as well (it carries traffic; an fe80:: one would not). */
	cr_assert(!ni.has_ipv6_ll);
	read_ibdev("ports/1/gids/0", buf, sizeof(buf));
	cr_assert_str_eq(buf, "0000:0000:0000:0000:0000:ffff:7f00:0001");
	read_ibdev("ports/1/gid_attrs/types/0", buf, sizeof(buf));
	cr_assert_str_eq(buf, "RoCE v2");
	read_ibdev("ports/1/gid_attrs/ndevs/0", buf, sizeof(buf));
	cr_assert_str_eq(buf, "lo");
	read_ibdev("ports/1/gid_attrs/types/1", buf, sizeof(buf));
	cr_assert_str_eq(buf, "RoCE v2");
	read_ibdev("ports/1/gid_attrs/ndevs/1", buf, sizeof(buf));
	cr_assert_str_eq(buf, "lo");
	read_ibdev("ports/1/state", buf, sizeof(buf));
	cr_assert_str_eq(buf, "4: ACTIVE");
	read_ibdev("srxe_socket", buf, sizeof(buf));
	cr_assert_str_eq(buf, rd.sock);

	/* libibverbs would match providers against a modalias. */
	snprintf(path, sizeof(path),
		 "%s/class/infiniband/srxeu0/device/modalias", rd.sys);
	cr_assert_neq(access(path, F_OK), 0, "device/modalias must not exist");
	snprintf(path, sizeof(path), "/dev/infiniband/uverbs%d", n);
	cr_assert_eq(readlink(path, buf, sizeof(buf)), 9);
	cr_assert(!strncmp(buf, "/dev/full", 9));
}

Test(cli_publish, rest_of_sys_stays_reachable)
{
	char path[PATH_MAX + 64];

	require_root();
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &ni, why, sizeof(why)),
		     0, "%s", why);
	snprintf(path, sizeof(path), "%s/class/net/lo/mtu", rd.sys);
	cr_assert_eq(access(path, R_OK), 0, "%s", path);
	snprintf(path, sizeof(path), "%s/devices", rd.sys);
	cr_assert_eq(access(path, R_OK), 0, "%s", path);
}

Test(cli_publish, unpublish_removes_everything)
{
	char path[PATH_MAX + 64];
	struct stat st;
	int n;

	require_root();
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &ni, why, sizeof(why)),
		     0, "%s", why);
	n = published_index();
	cr_assert_eq(srxe_published_count(&rd), 1);
	srxe_unpublish_device(&rd, "srxeu0");
	cr_assert_eq(srxe_published_count(&rd), 0);
	snprintf(path, sizeof(path), "/dev/infiniband/uverbs%d", n);
	cr_assert_neq(lstat(path, &st), 0, "%s left behind", path);
	snprintf(path, sizeof(path), "%s/class/infiniband_verbs/uverbs%d",
		 rd.sys, n);
	cr_assert_neq(lstat(path, &st), 0, "%s left behind", path);
	srxe_unpublish_root_if_unused(&rd);
	cr_assert_neq(lstat(rd.sys, &st), 0, "%s left behind", rd.sys);
	/* The /sys links were removed, not followed. */
	cr_assert_eq(access("/sys/class/net/lo", F_OK), 0);
}

Test(cli_publish, two_devices_get_distinct_nodes)
{
	struct srxe_rundir other;
	char buf[16];
	int a;

	require_root();
	cr_assert_eq(srxe_rundir_init(&other, "srxeu1"), 0);
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &ni, why, sizeof(why)),
		     0, "%s", why);
	cr_assert_eq(
		srxe_publish_device(&other, "srxeu1", &ni, why, sizeof(why)), 0,
		"%s", why);
	a = published_index();
	cr_assert_eq(srxe_read_attr(other.uverbs_file, buf, sizeof(buf)), 0);
	cr_assert_neq(a, atoi(buf));
	cr_assert_eq(srxe_published_count(&rd), 2);
	srxe_unpublish_device(&other, "srxeu1");
	cr_assert_eq(srxe_published_count(&rd), 1);
}

static void expect_link(const char *attr, const char *want)
{
	char path[PATH_MAX + 64], got[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/class/infiniband/srxeu0/%s", rd.sys,
		 attr);
	n = readlink(path, got, sizeof(got) - 1);
	cr_assert_gt(n, 0, "%s is not a link", attr);
	got[n] = 0;
	cr_assert_str_eq(got, want, "%s", attr);
}

/* rxe's parent, device/{net,numa_node,local_cpus} and hw_counters. */
Test(cli_publish, rxe_like_attributes)
{
	char buf[SRXE_CPUMASK_TEXT_MAX], want[PATH_MAX + 32], dev[PATH_MAX];
	struct srxe_locality loc;

	require_root();
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &ni, why, sizeof(why)),
		     0, "%s", why);
	read_ibdev("parent", buf, sizeof(buf));
	cr_assert_str_eq(buf, "lo");
	/* Absolute links that stay inside <root>/sys or leave for
	 * /sys/devices, never /sys/class (srxe exec mounts the view there). */
	snprintf(dev, sizeof(dev), "%s/srxe/srxeu0", rd.sys);
	expect_link("device", dev);
	expect_link("device/net/lo", "/sys/devices/virtual/net/lo");
	snprintf(want, sizeof(want), "%s/hw_counters", rd.devdir);
	expect_link("hw_counters", want);
	expect_link("ports/1/hw_counters", want);
	cr_assert_eq(srxe_netdev_locality("/sys", "lo", &loc), 0);
	read_ibdev("device/numa_node", buf, sizeof(buf));
	cr_assert_str_eq(buf, "-1");
	read_ibdev("device/local_cpus", buf, sizeof(buf));
	cr_assert_str_eq(buf, loc.local_cpus);
	cr_assert_neq(buf[0], 0);
}

/* No staging or removal names are left behind, and no entry of srxeu0. */
static void expect_no_hidden(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)))
		cr_assert(e->d_name[0] != '.' || !strcmp(e->d_name, ".") ||
				  !strcmp(e->d_name, ".."),
			  "%s/%s left behind", dir, e->d_name);
	closedir(d);
}

Test(cli_publish, staging_leaves_nothing)
{
	char dir[PATH_MAX + 64];
	struct stat st;

	require_root();
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &ni, why, sizeof(why)),
		     0, "%s", why);
	/* Again over the published one (a stale tree after a crash). */
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &ni, why, sizeof(why)),
		     0, "%s", why);
	snprintf(dir, sizeof(dir), "%s/srxe", rd.sys);
	expect_no_hidden(dir);
	snprintf(dir, sizeof(dir), "%s/class/infiniband", rd.sys);
	expect_no_hidden(dir);
	snprintf(dir, sizeof(dir), "%s/class/infiniband_verbs", rd.sys);
	expect_no_hidden(dir);
	srxe_unpublish_device(&rd, "srxeu0");
	snprintf(dir, sizeof(dir), "%s/srxe", rd.sys);
	cr_assert_eq(srxe_dir_entry_count(dir), 0);
	snprintf(dir, sizeof(dir), "%s/class/infiniband/srxeu0", rd.sys);
	cr_assert_neq(lstat(dir, &st), 0);
}

/* A host device's link in class/infiniband is not an srxe device: the
 * last srxe device still takes <root>/sys away. */
Test(cli_publish, host_links_do_not_count)
{
	char link[PATH_MAX + 64];
	struct stat st;

	require_root();
	cr_assert_eq(srxe_publish_device(&rd, "srxeu0", &ni, why, sizeof(why)),
		     0, "%s", why);
	snprintf(link, sizeof(link), "%s/class/infiniband/mlx5_9", rd.sys);
	cr_assert_eq(symlink("/sys/devices/virtual/net/lo", link), 0);
	cr_assert_eq(srxe_published_count(&rd), 1);
	srxe_unpublish_device(&rd, "srxeu0");
	cr_assert_eq(lstat(link, &st), 0, "a host link was removed");
	cr_assert_eq(srxe_published_count(&rd), 0);
	srxe_unpublish_root_if_unused(&rd);
	cr_assert_neq(lstat(rd.sys, &st), 0, "%s left behind", rd.sys);
	cr_assert_eq(access("/sys/devices/virtual/net/lo", F_OK), 0);
}
