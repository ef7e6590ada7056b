// SPDX-License-Identifier: MIT
#include "hostrdma.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

#define ABI_VERSION "abi_version"

bool srxe_is_rdma_class(const char *name)
{
	return !strcmp(name, SRXE_CLASS_IB) ||
	       !strcmp(name, SRXE_CLASS_IB_VERBS) ||
	       !strcmp(name, SRXE_CLASS_IB_MAD);
}

static int join(char out[PATH_MAX], const char *a, const char *b)
{
	return snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX
		       ? -ENAMETOOLONG
		       : 0;
}

/* A per-process temporary name in dir: concurrent `srxe up`s never share. */
static int tmp_name(char out[PATH_MAX], const char *dir, const char *name)
{
	return snprintf(out, PATH_MAX, "%s/.%s.%d.tmp", dir, name,
			(int)getpid()) >= PATH_MAX
		       ? -ENAMETOOLONG
		       : 0;
}

static bool link_is(const char *path, const char *target)
{
	char cur[PATH_MAX];
	ssize_t n = readlink(path, cur, sizeof(cur) - 1);

	if (n < 0)
		return false;
	cur[n] = 0;
	return !strcmp(cur, target);
}

/*
 * dir/name -> target, made under a temporary name and renamed into place.
 * A non-link of that name (an srxe device) is kept: rename() could not
 * replace a directory anyway.
 */
static int put_link(const char *dir, const char *name, const char *target)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	int ret;

	if (join(path, dir, name) || tmp_name(tmp, dir, name))
		return -ENAMETOOLONG;
	if (!lstat(path, &st) &&
	    (!S_ISLNK(st.st_mode) || link_is(path, target)))
		return 0;
	unlink(tmp);
	if (symlink(target, tmp))
		return -errno;
	ret = rename(tmp, path) ? -errno : 0;
	if (ret) {
		unlink(tmp);
		if (ret == -EISDIR)
			ret = 0; /* an srxe device took the name meanwhile */
	}
	return ret;
}

/* Copy a one-line class attribute (abi_version), replaced atomically. */
static int put_copy(const char *dir, const char *name, const char *from)
{
	char value[64], path[PATH_MAX], tmp[PATH_MAX];
	const char *leaf;
	int ret = srxe_read_attr(from, value, sizeof(value));

	if (ret)
		return ret;
	if (join(path, dir, name) || tmp_name(tmp, dir, name))
		return -ENAMETOOLONG;
	leaf = strrchr(tmp, '/') + 1;
	ret = srxe_write_attr(dir, leaf, value);
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

static int mirror_entry(const char *host_dir, const char *view_dir,
			const char *cls, const char *name)
{
	char from[PATH_MAX], target[PATH_MAX];
	struct stat st;

	if (join(from, host_dir, name))
		return -ENAMETOOLONG;
	if (lstat(from, &st))
		return errno == ENOENT ? 0 : -errno; /* gone meanwhile */
	if (S_ISREG(st.st_mode)) {
		if (!strcmp(cls, SRXE_CLASS_IB_VERBS) &&
		    !strcmp(name, ABI_VERSION))
			return 0;
		return put_copy(view_dir, name, from);
	}
	if (!S_ISLNK(st.st_mode))
		return 0;
	/* The kernel's link is relative: resolve it to <sysfs>/devices/... */
	if (!realpath(from, target))
		return errno == ENOENT ? 0 : -errno;
	return put_link(view_dir, name, target);
}

/* Every link of view_dir whose name the host no longer links. */
static void prune_links(const char *host_dir, const char *view_dir)
{
	char path[PATH_MAX], from[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(view_dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || join(path, view_dir, e->d_name) ||
		    lstat(path, &st) || !S_ISLNK(st.st_mode))
			continue;
		if (host_dir && !join(from, host_dir, e->d_name) &&
		    !lstat(from, &st) && S_ISLNK(st.st_mode))
			continue;
		unlink(path);
	}
	closedir(d);
}

int srxe_mirror_host_class(const char *host_class, const char *view_class,
			   const char *cls)
{
	char host_dir[PATH_MAX], view_dir[PATH_MAX];
	struct dirent *e;
	int ret = 0, r;
	DIR *d;

	if (join(host_dir, host_class, cls) || join(view_dir, view_class, cls))
		return -ENAMETOOLONG;
	d = opendir(host_dir);
	if (!d) {
		if (errno != ENOENT)
			return -errno;
		prune_links(NULL, view_dir);
		return 0;
	}
	ret = srxe_mkdir_p(view_dir);
	if (ret) {
		closedir(d);
		return ret;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		r = mirror_entry(host_dir, view_dir, cls, e->d_name);
		ret = ret ?: r;
	}
	closedir(d);
	prune_links(host_dir, view_dir);
	return ret;
}

int srxe_mirror_host_rdma(const char *host_class, const char *view_class)
{
	static const char *const classes[] = { SRXE_CLASS_IB,
					       SRXE_CLASS_IB_VERBS,
					       SRXE_CLASS_IB_MAD };
	int ret = 0;

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		int r = srxe_mirror_host_class(host_class, view_class,
					       classes[i]);

		ret = ret ?: r;
	}
	return ret;
}

bool srxe_host_has_uverbs(const char *host_class, const char *dev_dir,
			  int index)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/" SRXE_CLASS_IB_VERBS "/uverbs%d",
		     host_class, index) < PATH_MAX &&
	    !lstat(path, &st))
		return true;
	return snprintf(path, sizeof(path), "%s/uverbs%d", dev_dir, index) <
		       PATH_MAX &&
	       !lstat(path, &st) && S_ISCHR(st.st_mode);
}
