// SPDX-License-Identifier: MIT
#include "publish.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devnode.h"
#include "fsutil.h"
#include "hostrdma.h"
#include "locality.h"
#include "srxe/device.h"
#include "srxe/paths.h"

#ifndef NETLINK_RDMA
#define NETLINK_RDMA 20
#endif

#define UVERBS_ABI_CLASS_VERSION "6"
/* The host's sysfs: where netdevs, CPUs and real RDMA devices are read. */
#define HOST_SYSFS "/sys"
/*
 * <root>/sys/srxe/<dev>: the directory class/infiniband/<dev>/device links
 * to (net/<netdev>, numa_node, local_cpus).  Not under <root>/sys/devices,
 * which is a link to the real /sys/devices.  Also where a device's trees
 * are staged (dot names) before rename() puts them into place.
 */
#define VIEW_DEVICES_SUBDIR "srxe"

/* Everything one device's attributes are made of. */
struct device_facts {
	const char *name;
	const char *netdev;
	const char *sock;
	char node_guid[20];
	char gids[SRXE_GID_TBL_LEN][40];
	bool gid_empty[SRXE_GID_TBL_LEN];
	char rate[40];		   /* what query_port's width and speed mean */
	char netdev_dir[PATH_MAX]; /* /sys/devices/.../net/<netdev> */
	char counters[PATH_MAX];   /* <devdir>/hw_counters */
	char device_dir[PATH_MAX]; /* <root>/sys/srxe/<dev> */
	struct srxe_locality loc;
};

__attribute__((format(printf, 4, 5))) static int
fail(char *why, size_t len, int err, const char *fmt, ...)
{
	char what[PATH_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(why, len, "%s: %s", what, strerror(-err));
	return err;
}

static void format_guid(uint64_t guid, char out[20])
{
	snprintf(out, 20, "%04x:%04x:%04x:%04x",
		 (unsigned int)(guid >> 48) & 0xffff,
		 (unsigned int)(guid >> 32) & 0xffff,
		 (unsigned int)(guid >> 16) & 0xffff,
		 (unsigned int)guid & 0xffff);
}

/* The kernel prints GIDs as eight full groups of four hex digits. */
static void format_gid(const uint8_t gid[16], char out[40])
{
	char *p = out;

	for (int i = 0; i < 16; i += 2)
		p += sprintf(p, "%s%02x%02x", i ? ":" : "", gid[i], gid[i + 1]);
}

static int derive_view_paths(struct device_facts *f,
			     const struct srxe_rundir *r, const char *name)
{
	char netdev_link[PATH_MAX];

	if (snprintf(netdev_link, sizeof(netdev_link),
		     HOST_SYSFS "/class/net/%s", f->netdev) >= PATH_MAX ||
	    snprintf(f->counters, sizeof(f->counters), "%s/%s", r->devdir,
		     SRXE_HW_COUNTERS_NAME) >= PATH_MAX ||
	    snprintf(f->device_dir, sizeof(f->device_dir), "%s/%s/%s", r->sys,
		     VIEW_DEVICES_SUBDIR, name) >= PATH_MAX)
		return -ENAMETOOLONG;
	/* The real directory, not /sys/class/net/...: inside `srxe exec`'s
	 * namespace /sys/class is rebuilt, /sys/devices is not. */
	if (!realpath(netdev_link, f->netdev_dir))
		return -errno;
	return srxe_netdev_locality(HOST_SYSFS, f->netdev, &f->loc);
}

static void derive_facts(struct device_facts *f, const char *name,
			 const struct srxe_netinfo *ni, const char *sock)
{
	uint64_t guid = srxe_node_guid(name, ni->mac, ni->ipv4_be);
	uint8_t gid[16];

	f->name = name;
	f->netdev = ni->netdev;
	f->sock = sock;
	format_guid(guid, f->node_guid);
	/* Entries past the two below (a longer SRXE_GID_TBL_LEN) are
	 * empty, as the kernel shows an unused GID: all zero, no netdev;
	 * ibv_query_gid_ex() answers ENODATA for them. */
	memset(gid, 0, sizeof(gid));
	for (int i = 0; i < SRXE_GID_TBL_LEN; i++) {
		format_gid(gid, f->gids[i]);
		f->gid_empty[i] = true;
	}
	/*
	 * GID 1: IPv4-mapped, where tools and tests expect it (-g 1, -x 1).
	 * GID 0: the netdev's own IPv6 link-local address, which srxed
	 * listens on (RoCEv2 over IPv6).  A netdev without one (lo) gets the
	 * IPv4-mapped GID there too rather than an fe80:: address nothing
	 * answers on: every advertised GID carries traffic, and GID 0, which
	 * many programs use by default (pyverbs' test_query_gid_ex,
	 * perftest, rdma-core's examples), exists (docs/ipv6.md).
	 */
	srxe_gid_ipv4(ni->ipv4_be, gid);
	format_gid(gid, f->gids[1]);
	f->gid_empty[1] = false;
	if (ni->has_ipv6_ll)
		memcpy(gid, ni->ipv6_ll, sizeof(gid));
	format_gid(gid, f->gids[0]);
	f->gid_empty[0] = false;
	srxe_port_rate_text(
		srxe_port_speed_from_mbps(srxe_netdev_speed_mbps(ni->netdev)),
		f->rate, sizeof(f->rate));
}

static int path_join(char out[PATH_MAX], const char *a, const char *b)
{
	return snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX
		       ? -ENAMETOOLONG
		       : 0;
}

/* Link every entry of src except the skipped ones into dst. */
static int link_entries(const char *src, const char *dst,
			int (*skip)(const char *))
{
	DIR *d = opendir(src);
	struct dirent *e;
	char from[PATH_MAX], to[PATH_MAX];
	int ret = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && !ret) {
		if (e->d_name[0] == '.' || skip(e->d_name))
			continue;
		if (path_join(from, src, e->d_name) ||
		    path_join(to, dst, e->d_name))
			ret = -ENAMETOOLONG;
		else if (symlink(from, to) && errno != EEXIST)
			ret = -errno;
	}
	closedir(d);
	return ret;
}

static int skip_class(const char *name)
{
	return !strcmp(name, "class");
}

/* The RDMA classes are the view's own directories (hostrdma.h). */
static int skip_rdma_classes(const char *name)
{
	return srxe_is_rdma_class(name);
}

/* dir/leaf = value, replaced by rename() so no reader sees it empty. */
static int write_attr_atomic(const char *dir, const char *leaf,
			     const char *value)
{
	char tmp_leaf[NAME_MAX], tmp[PATH_MAX], path[PATH_MAX];
	int ret;

	snprintf(tmp_leaf, sizeof(tmp_leaf), ".%s.%d.tmp", leaf, (int)getpid());
	if (path_join(tmp, dir, tmp_leaf) || path_join(path, dir, leaf))
		return -ENAMETOOLONG;
	ret = srxe_write_attr(dir, tmp_leaf, value);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

static int build_shared_tree(const char *sys, char *why, size_t len)
{
	char class[PATH_MAX], dir[PATH_MAX];
	int ret;

	if (path_join(class, sys, "class") ||
	    path_join(dir, sys, VIEW_DEVICES_SUBDIR))
		return fail(why, len, -ENAMETOOLONG, "%s", sys);
	ret = srxe_mkdir_p(class);
	if (!ret && (ret = srxe_mkdir_p(dir)))
		return fail(why, len, ret, "cannot create %s", dir);
	if (ret)
		return fail(why, len, ret, "cannot create %s", class);
	ret = link_entries(HOST_SYSFS, sys, skip_class)
		      ?: link_entries(HOST_SYSFS "/class", class,
				      skip_rdma_classes);
	if (ret)
		return fail(why, len, ret, "cannot link /sys into %s", sys);
	path_join(dir, class, SRXE_CLASS_IB);
	ret = srxe_mkdir_p(dir);
	if (ret)
		return fail(why, len, ret, "cannot create %s", dir);
	path_join(dir, class, SRXE_CLASS_IB_VERBS);
	ret = srxe_mkdir_p(dir)
		      ?: write_attr_atomic(dir, "abi_version",
					   UVERBS_ABI_CLASS_VERSION);
	if (ret)
		return fail(why, len, ret, "cannot create %s", dir);
	ret = srxe_mirror_host_rdma(HOST_SYSFS "/class", class);
	if (ret)
		return fail(why, len, ret,
			    "cannot link the host's RDMA devices into %s",
			    class);
	return 0;
}

/* dir/name -> target (absolute). */
static int put_link(const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX];

	if (path_join(path, dir, name))
		return -ENAMETOOLONG;
	return symlink(target, path) ? -errno : 0;
}

struct attr {
	const char *leaf;
	const char *value;
};

static int write_attrs(const char *dir, const struct attr *attrs, size_t n)
{
	int ret = srxe_mkdir_p(dir);

	for (size_t i = 0; i < n && !ret; i++)
		ret = srxe_write_attr(dir, attrs[i].leaf, attrs[i].value);
	return ret;
}

/* port/<subdir>/<index> = value, as the kernel lays out GID tables. */
static int write_indexed(const char *port, const char *subdir, int index,
			 const char *value)
{
	char dir[PATH_MAX + 32], leaf[16];

	snprintf(dir, sizeof(dir), "%s/%s", port, subdir);
	snprintf(leaf, sizeof(leaf), "%d", index);
	return srxe_mkdir_p(dir) ?: srxe_write_attr(dir, leaf, value);
}

static int write_gid_table(const char *port, const struct device_facts *f)
{
	int ret = 0;

	/*
	 * srxe speaks RoCE v2 only: every GID is a v2 GID.  An empty entry
	 * keeps a type (libibverbs reads it before it sees the zero GID and
	 * answers ENODATA) but has no netdev, as in the kernel.
	 */
	for (int i = 0; i < SRXE_GID_TBL_LEN && !ret; i++)
		ret = write_indexed(port, "gids", i, f->gids[i]) ?:
			      write_indexed(port, "gid_attrs/types", i,
					    "RoCE v2") ?:
			      (f->gid_empty[i]
				       ? 0
				       : write_indexed(port, "gid_attrs/ndevs",
						       i, f->netdev));
	return ret;
}

static int write_port(const char *ibdev, const struct device_facts *f)
{
	const struct attr port_attrs[] = {
		{ "state", "4: ACTIVE" },
		{ "phys_state", "5: LinkUp" },
		{ "link_layer", "Ethernet" },
		{ "rate", f->rate },
		{ "lid", "0x0" },
		{ "sm_lid", "0x0" },
		{ "lid_mask_count", "0" },
		{ "sm_sl", "0" },
		{ "cap_mask", "0x00010000" },
	};
	const struct attr pkey = { "0", "0xffff" };
	char port[PATH_MAX], pkeys[PATH_MAX];

	if (path_join(port, ibdev, "ports/1") ||
	    path_join(pkeys, port, "pkeys"))
		return -ENAMETOOLONG;
	return write_attrs(port, port_attrs,
			   sizeof(port_attrs) / sizeof(port_attrs[0])) ?:
		       write_attrs(pkeys, &pkey, 1) ?:
		       write_gid_table(port, f) ?:
		       put_link(port, SRXE_HW_COUNTERS_NAME, f->counters);
}

static int write_ibdev(const char *ibdev, const struct device_facts *f)
{
	const struct attr dev_attrs[] = {
		{ "node_type", "1: CA" },
		{ "node_guid", f->node_guid },
		{ "sys_image_guid", f->node_guid },
		{ "node_desc", f->name },
		{ "fw_ver", SRXE_FW_VER },
		{ "hca_type", "srxe" },
		{ "board_id", "srxe" },
		{ "hw_rev", "1" },
		{ SRXE_IBDEV_SOCKET_ATTR, f->sock },
		{ "parent", f->netdev }, /* as rxe: the netdev's name */
	};

	/*
	 * device and hw_counters are absolute links: they must resolve the
	 * same through SYSFS_PATH and where class/infiniband is bind-mounted
	 * over /sys/class/infiniband.  The device link leaves
	 * realpath(class/infiniband/<dev>) alone: UCX looks for a "device"
	 * two and three levels above it (a PCI function) and, finding one,
	 * warns about the vendor and device files it then expects.
	 */
	return write_attrs(ibdev, dev_attrs,
			   sizeof(dev_attrs) / sizeof(dev_attrs[0])) ?:
		       put_link(ibdev, "device", f->device_dir) ?:
		       put_link(ibdev, SRXE_HW_COUNTERS_NAME, f->counters) ?:
		       write_port(ibdev, f);
}

/*
 * What class/infiniband/<dev>/device shows, rxe-like: net/<netdev> (rdma-
 * core's tests and tools find the netdev there) and the netdev's locality
 * (UCX).  No modalias: libibverbs would match providers against it
 * (DESIGN.md 3).
 */
static int write_device_dir(const char *dir, const struct device_facts *f)
{
	char node[16], net[PATH_MAX];

	snprintf(node, sizeof(node), "%d", f->loc.numa_node);
	if (path_join(net, dir, "net"))
		return -ENAMETOOLONG;
	return srxe_mkdir_p(net) ?: put_link(net, f->netdev, f->netdev_dir) ?:
		       srxe_write_attr(dir, "numa_node", node) ?:
		       srxe_write_attr(dir, "local_cpus", f->loc.local_cpus);
}

static int ibdev_dir(char out[PATH_MAX], const struct srxe_rundir *r,
		     const char *name)
{
	return snprintf(out, PATH_MAX, "%s/class/infiniband/%s", r->sys,
			name) >= PATH_MAX
		       ? -ENAMETOOLONG
		       : 0;
}

static int uverbs_dir(char out[PATH_MAX], const struct srxe_rundir *r,
		      const char *entry)
{
	return snprintf(out, PATH_MAX, "%s/class/infiniband_verbs/%s", r->sys,
			entry) >= PATH_MAX
		       ? -ENAMETOOLONG
		       : 0;
}

static int cdev_text(char out[32])
{
	struct stat st;

	if (stat(SRXE_UVERBS_TARGET, &st))
		return -errno;
	snprintf(out, 32, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

/* Fill a dot-directory libibverbs skips, then rename it into place. */
static int write_uverbs(const struct srxe_rundir *r, const char *name,
			int index)
{
	char entry[32], tmp_entry[40], dir[PATH_MAX], tmp[PATH_MAX];
	char abi[16], cdev[32];
	int ret = cdev_text(cdev);
	const struct attr attrs[] = {
		{ "ibdev", name },
		{ "dev", cdev },
		{ "abi_version", abi },
	};

	if (ret)
		return ret;
	snprintf(abi, sizeof(abi), "%d", SRXE_ABI_VERSION);
	snprintf(entry, sizeof(entry), "uverbs%d", index);
	snprintf(tmp_entry, sizeof(tmp_entry), ".%s.tmp", entry);
	if (uverbs_dir(dir, r, entry) || uverbs_dir(tmp, r, tmp_entry))
		return -ENAMETOOLONG;
	srxe_remove_tree(tmp);
	srxe_remove_tree(dir);
	ret = write_attrs(tmp, attrs, sizeof(attrs) / sizeof(attrs[0]));
	if (!ret && rename(tmp, dir))
		ret = -errno;
	if (ret)
		srxe_remove_tree(tmp);
	return ret;
}

/*
 * An index is free for us unless our tree already has uverbsN (an srxe
 * device or a host device's link) or the host has that device: its sysfs
 * entry (even where its /dev node is missing, as in a container) or a
 * character device at /dev/infiniband/uverbsN (srxe_devnode_claim would
 * not replace it either).
 */
static bool uverbs_index_free(int index, void *rundir)
{
	char entry[32], dir[PATH_MAX];
	struct stat st;

	snprintf(entry, sizeof(entry), "uverbs%d", index);
	if (uverbs_dir(dir, rundir, entry) || !lstat(dir, &st))
		return false;
	return !srxe_host_has_uverbs(HOST_SYSFS "/class", SRXE_DEV_DIR, index);
}

static int read_index_file(const struct srxe_rundir *r)
{
	char buf[32];

	if (srxe_read_attr(r->uverbs_file, buf, sizeof(buf)))
		return -1;
	return atoi(buf);
}

/* A hidden name under <root>/sys/srxe for one of name's trees. */
static int staging_dir(char out[PATH_MAX], const struct srxe_rundir *r,
		       const char *name, const char *what)
{
	return snprintf(out, PATH_MAX, "%s/" VIEW_DEVICES_SUBDIR "/.%s.%s.%d",
			r->sys, name, what, (int)getpid()) >= PATH_MAX
		       ? -ENAMETOOLONG
		       : 0;
}

static bool is_real_dir(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

/*
 * Take the directory at path away in one step, then delete it: a
 * concurrent scanner sees it whole or not at all.  Links (host devices)
 * are not ours to remove.
 */
static void retire_tree(const struct srxe_rundir *r, const char *name,
			const char *path)
{
	char gone[PATH_MAX];

	if (!is_real_dir(path))
		return;
	if (!staging_dir(gone, r, name, "gone")) {
		srxe_remove_tree(gone);
		if (!rename(path, gone))
			path = gone;
	}
	srxe_remove_tree(path);
}

/* Fill a staging directory with fill(), then rename() it to dest. */
static int
build_and_place(const struct srxe_rundir *r, const char *what, const char *dest,
		int (*fill)(const char *, const struct device_facts *),
		const struct device_facts *f)
{
	char tmp[PATH_MAX];
	int ret;

	if (staging_dir(tmp, r, f->name, what))
		return -ENAMETOOLONG;
	srxe_remove_tree(tmp);
	ret = srxe_mkdir_p(tmp) ?: fill(tmp, f);
	if (!ret && rename(tmp, dest))
		ret = -errno;
	if (ret)
		srxe_remove_tree(tmp);
	return ret;
}

/* Staging leftovers of name (a `srxe up` that was killed midway). */
static void remove_staging_of(const struct srxe_rundir *r, const char *name)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 2], path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(prefix, sizeof(prefix), ".%s.", name);
	if (path_join(dir, r->sys, VIEW_DEVICES_SUBDIR) || !(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)) &&
		    !path_join(path, dir, e->d_name))
			srxe_remove_tree(path);
	closedir(d);
}

/* uverbsN entries of our tree whose ibdev is name (stale ones included). */
static void remove_uverbs_entries_of(const struct srxe_rundir *r,
				     const char *name)
{
	char classdir[PATH_MAX], dir[PATH_MAX], attr[PATH_MAX + 8], ibdev[64];
	struct dirent *e;
	DIR *d;

	if (uverbs_dir(classdir, r, "") || !(d = opendir(classdir)))
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "uverbs", 6) ||
		    uverbs_dir(dir, r, e->d_name) || !is_real_dir(dir))
			continue;
		snprintf(attr, sizeof(attr), "%s/ibdev", dir);
		if (!srxe_read_attr(attr, ibdev, sizeof(ibdev)) &&
		    !strcmp(ibdev, name))
			retire_tree(r, name, dir);
	}
	closedir(d);
}

static int device_dir(char out[PATH_MAX], const struct srxe_rundir *r,
		      const char *name)
{
	return snprintf(out, PATH_MAX, "%s/" VIEW_DEVICES_SUBDIR "/%s", r->sys,
			name) >= PATH_MAX
		       ? -ENAMETOOLONG
		       : 0;
}

/* uverbsN first (libibverbs' entry point), then what it pointed to. */
void srxe_unpublish_device(const struct srxe_rundir *r, const char *name)
{
	char dir[PATH_MAX];
	int index = read_index_file(r);

	remove_uverbs_entries_of(r, name);
	if (!ibdev_dir(dir, r, name))
		retire_tree(r, name, dir);
	if (!device_dir(dir, r, name))
		retire_tree(r, name, dir);
	remove_staging_of(r, name);
	if (index >= 0)
		srxe_devnode_release(index);
	unlink(r->uverbs_file);
}

static int record_index(const struct srxe_rundir *r, int index)
{
	char text[16];
	int ret = srxe_mkdir_p(r->devdir);

	snprintf(text, sizeof(text), "%d", index);
	/* srxe_write_attr takes dir + leaf; the file lives in devdir. */
	return ret ?: srxe_write_attr(r->devdir, SRXE_UVERBS_INDEX_NAME, text);
}

int srxe_publish_device(const struct srxe_rundir *r, const char *name,
			const struct srxe_netinfo *ni, char *why, size_t len)
{
	struct device_facts facts;
	char ibdev[PATH_MAX];
	int index, ret;

	derive_facts(&facts, name, ni, r->sock);
	ret = derive_view_paths(&facts, r, name);
	if (ret)
		return fail(why, len, ret, "netdev %s in " HOST_SYSFS,
			    ni->netdev);
	ret = build_shared_tree(r->sys, why, len);
	if (ret)
		return ret;
	if (ibdev_dir(ibdev, r, name))
		return fail(why, len, -ENAMETOOLONG, "%s", r->sys);
	retire_tree(r, name, ibdev);
	retire_tree(r, name, facts.device_dir);
	/* device's target first: class/infiniband/<dev> appears complete. */
	ret = build_and_place(r, "device", facts.device_dir, write_device_dir,
			      &facts);
	if (ret) {
		fail(why, len, ret, "cannot write %s", facts.device_dir);
		goto undo;
	}
	ret = build_and_place(r, "ibdev", ibdev, write_ibdev, &facts);
	if (ret) {
		fail(why, len, ret, "cannot write %s", ibdev);
		goto undo;
	}
	ret = srxe_devnode_claim(uverbs_index_free, (void *)r, &index);
	if (ret) {
		fail(why, len, ret, "cannot create " SRXE_DEV_DIR "/uverbsN");
		if (ret == -EACCES || ret == -EPERM)
			snprintf(why + strlen(why), len - strlen(why),
				 " (`srxe up` must run as root; afterwards any "
				 "user can use the device)");
		goto undo;
	}
	ret = record_index(r, index);
	if (ret) {
		fail(why, len, ret, "cannot write %s", r->uverbs_file);
		srxe_devnode_release(index);
		goto undo;
	}
	ret = write_uverbs(r, name, index);
	if (ret) {
		fail(why, len, ret, "cannot publish uverbs%d in %s", index,
		     r->sys);
		goto undo;
	}
	return 0;
undo:
	srxe_unpublish_device(r, name);
	return ret;
}

/* srxe's devices are the directories; the host's are links. */
int srxe_published_count(const struct srxe_rundir *r)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (path_join(dir, r->sys, "class/" SRXE_CLASS_IB))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && !path_join(path, dir, e->d_name) &&
		    is_real_dir(path))
			n++;
	closedir(d);
	return n;
}

void srxe_unpublish_root_if_unused(const struct srxe_rundir *r)
{
	if (srxe_published_count(r) > 0)
		return;
	srxe_remove_tree(r->sys);
	rmdir(r->root);
}

bool srxe_kernel_has_rdma_netlink(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RDMA);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
