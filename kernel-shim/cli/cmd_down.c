// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "daemon.h"
#include "fsutil.h"
#include "publish.h"
#include "rundir.h"

#define TERM_TIMEOUT_MS 5000

/* Pid file first; a daemon that never wrote one still answers STATUS. */
static pid_t find_daemon(const struct srxe_rundir *r)
{
	struct srxe_status_resp st;
	char why[256];
	pid_t pid = srxe_daemon_read_pidfile(r->pidfile);

	if (srxe_daemon_is_srxed(pid))
		return pid;
	if (!srxe_daemon_status(r->sock, &st, why, sizeof(why)))
		return (pid_t)st.daemon_pid;
	return 0;
}

static bool anything_left(const struct srxe_rundir *r, const char *name)
{
	char ibdev[PATH_MAX + 64];
	struct stat st;

	snprintf(ibdev, sizeof(ibdev), "%s/class/infiniband/%s", r->sys, name);
	return !lstat(r->devdir, &st) || !lstat(ibdev, &st);
}

int srxe_cmd_down(const struct srxe_cli_opts *o)
{
	struct srxe_rundir r;
	pid_t pid;
	int ret = srxe_rundir_init(&r, o->name);

	if (ret) {
		fprintf(stderr, "srxe: runtime root for %s: %s\n", o->name,
			strerror(-ret));
		return 1;
	}
	pid = find_daemon(&r);
	if (!pid && !anything_left(&r, o->name)) {
		fprintf(stderr, "srxe: %s is not up\n", o->name);
		return 0;
	}
	/* Hide it from new scanners before the daemon goes away. */
	srxe_unpublish_device(&r, o->name);
	if (pid && srxe_daemon_stop(pid, TERM_TIMEOUT_MS)) {
		fprintf(stderr, "srxe: cannot stop srxed pid %d: %s\n",
			(int)pid, strerror(ETIMEDOUT));
		return 1;
	}
	srxe_detach_mount(r.cmdfile);
	srxe_detach_mount(r.hw_counters);
	srxe_remove_tree(r.devdir);
	srxe_unpublish_root_if_unused(&r);
	printf("%s is down\n", o->name);
	return 0;
}
