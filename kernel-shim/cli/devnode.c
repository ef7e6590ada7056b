// SPDX-License-Identifier: MIT
#include "devnode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "srxe/paths.h"

#define UVERBS_INDEX_LIMIT 1024
/* Present while /dev/infiniband exists because srxe created it. */
#define DEV_CREATED_MARKER SRXE_DEV_DIR "/.srxe-created"

static void dev_node_path(char out[64], int index)
{
	snprintf(out, 64, SRXE_DEV_DIR "/uverbs%d", index);
}

/* Remember that removing /dev/infiniband later is ours to do. */
static void create_marker(void)
{
	int fd = open(DEV_CREATED_MARKER, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
}

static int ensure_dev_dir(void)
{
	if (!mkdir(SRXE_DEV_DIR, 0755)) {
		create_marker();
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}

/* Lowest free N: symlink() fails with EEXIST when another process won. */
static int try_claim(bool (*usable)(int, void *), void *arg, int *index)
{
	char node[64];
	int ret = ensure_dev_dir();

	for (int i = 0; !ret && i < UVERBS_INDEX_LIMIT; i++) {
		if (!usable(i, arg))
			continue;
		dev_node_path(node, i);
		if (!symlink(SRXE_UVERBS_TARGET, node)) {
			*index = i;
			return 0;
		}
		if (errno != EEXIST)
			ret = -errno;
	}
	return ret ?: -ENOSPC;
}

static bool is_our_dev_node(const char *node)
{
	char target[PATH_MAX];
	ssize_t n = readlink(node, target, sizeof(target) - 1);

	if (n <= 0)
		return false;
	target[n] = 0;
	return !strcmp(target, SRXE_UVERBS_TARGET);
}

static void remove_dev_dir_if_ours_and_empty(void)
{
	struct stat st;

	if (lstat(DEV_CREATED_MARKER, &st) ||
	    srxe_dir_entry_count(SRXE_DEV_DIR) != 1)
		return;
	unlink(DEV_CREATED_MARKER);
	/* Someone added a node meanwhile: keep owning the dir. */
	if (rmdir(SRXE_DEV_DIR))
		create_marker();
}

void srxe_devnode_release(int index)
{
	char node[64];

	dev_node_path(node, index);
	if (is_our_dev_node(node))
		unlink(node);
	remove_dev_dir_if_ours_and_empty();
}

int srxe_devnode_claim(bool (*usable)(int index, void *arg), void *arg,
		       int *index)
{
	int ret = try_claim(usable, arg, index);

	/* The last other device may have removed the directory meanwhile. */
	if (ret == -ENOENT)
		ret = try_claim(usable, arg, index);
	return ret;
}
