// SPDX-License-Identifier: MIT
#include "sysns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYS_CLASS "/sys/class"

/* The classes srxe's view provides, real devices included. */
static const char *const view_classes[] = { "infiniband", "infiniband_verbs",
					    "infiniband_mad" };

#define N_VIEW_CLASSES (sizeof(view_classes) / sizeof(view_classes[0]))

/* A real class directory, cloned before the tmpfs hides it. */
struct class_tree {
	char name[NAME_MAX + 1];
	int fd;
};

struct class_trees {
	struct class_tree *v;
	size_t n, cap;
};

static bool is_view_class(const char *name)
{
	for (size_t i = 0; i < N_VIEW_CLASSES; i++)
		if (!strcmp(name, view_classes[i]))
			return true;
	return false;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* Only the caller's own ids exist in it: nobody gains anything. */
static int map_own_ids(uid_t uid, gid_t gid)
{
	char map[64];
	int ret = write_file("/proc/self/setgroups", "deny");

	snprintf(map, sizeof(map), "%u %u 1", uid, uid);
	ret = ret ?: write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1", gid, gid);
	return ret ?: write_file("/proc/self/gid_map", map);
}

static int new_namespace(const char **how)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	*how = "unshare(CLONE_NEWNS)";
	if (!unshare(CLONE_NEWNS))
		return 0;
	if (errno != EPERM)
		return -errno;
	*how = "unshare(CLONE_NEWUSER | CLONE_NEWNS)";
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -errno;
	*how = "writing the user namespace's id maps";
	return map_own_ids(uid, gid);
}

static int add_tree(struct class_trees *t, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct class_tree *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	snprintf(path, sizeof(path), SYS_CLASS "/%s", name);
	fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(t->v[t->n].name, sizeof(t->v[t->n].name), "%s", name);
	t->v[t->n++].fd = fd;
	return 0;
}

static void free_trees(struct class_trees *t)
{
	for (size_t i = 0; i < t->n; i++)
		close(t->v[i].fd);
	free(t->v);
}

static int clone_real_classes(struct class_trees *t, const char **how)
{
	DIR *d = opendir(SYS_CLASS);
	struct dirent *e;
	int ret = 0;

	*how = "cloning the classes of " SYS_CLASS;
	if (!d)
		return -errno;
	while (!ret && (e = readdir(d))) {
		if (e->d_name[0] != '.' && !is_view_class(e->d_name))
			ret = add_tree(t, e->d_name);
	}
	closedir(d);
	return ret;
}

static int attach_tree(const struct class_tree *c)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), SYS_CLASS "/%s", c->name);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return move_mount(c->fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH)
		       ? -errno
		       : 0;
}

static int bind_view_class(const char *view_sys, const char *name)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct stat st;

	if (snprintf(src, sizeof(src), "%s/class/%s", view_sys, name) >=
	    (int)sizeof(src))
		return -ENAMETOOLONG;
	if (lstat(src, &st) || !S_ISDIR(st.st_mode))
		return 0; /* not in the view: not in /sys/class either */
	snprintf(dst, sizeof(dst), SYS_CLASS "/%s", name);
	if (mkdir(dst, 0755) && errno != EEXIST)
		return -errno;
	return mount(src, dst, NULL, MS_BIND | MS_REC, NULL) ? -errno : 0;
}

static int build_class_dir(const char *view_sys, const struct class_trees *t,
			   const char **how)
{
	int ret = 0;

	*how = "mounting a tmpfs on " SYS_CLASS;
	if (mount("srxe-sysclass", SYS_CLASS, "tmpfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755"))
		return -errno;
	*how = "binding the real classes into " SYS_CLASS;
	for (size_t i = 0; i < t->n && !ret; i++)
		ret = attach_tree(&t->v[i]);
	if (!ret)
		*how = "binding srxe's view into " SYS_CLASS;
	for (size_t i = 0; i < N_VIEW_CLASSES && !ret; i++)
		ret = bind_view_class(view_sys, view_classes[i]);
	if (!ret) {
		*how = "making " SYS_CLASS " read-only";
		if (mount(NULL, SYS_CLASS, NULL,
			  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
				  MS_NODEV | MS_NOEXEC,
			  NULL))
			ret = -errno;
	}
	/* Never leave a half-built /sys/class behind. */
	if (ret)
		umount2(SYS_CLASS, MNT_DETACH);
	return ret;
}

int srxe_sysns_enter(const char *view_sys, char *why, size_t len)
{
	struct class_trees trees = { 0 };
	const char *how;
	int ret = new_namespace(&how);

	if (!ret) {
		how = "making / a slave mount";
		if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
			ret = -errno;
	}
	ret = ret ?: clone_real_classes(&trees, &how);
	ret = ret ?: build_class_dir(view_sys, &trees, &how);
	free_trees(&trees);
	if (ret)
		snprintf(why, len, "%s: %s", how, strerror(-ret));
	return ret;
}
