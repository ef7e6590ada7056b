// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "envvars.h"
#include "netlink_filter.h"
#include "publish.h"
#include "rundir.h"
#include "sysns.h"

static int load_envvars(const struct srxe_cli_opts *o, struct srxe_rundir *r,
			struct srxe_envvars *e)
{
	int ret = srxe_rundir_init(r, o->name);

	if (ret) {
		fprintf(stderr, "srxe: runtime root: %s\n", strerror(-ret));
		return 1;
	}
	srxe_envvars_init(e, r);
	if (!e->provider_found)
		fprintf(stderr,
			"srxe: warning: provider libsrxe-rdmav34.so not found "
			"next to srxe nor installed; RDMAV_DRIVERS not set\n");
	if (!e->rdmacm_found)
		fprintf(stderr,
			"srxe: warning: srxe's " SRXE_RDMACM_SONAME
			" not found next to srxe nor installed; rdma_cm "
			"programs get the system librdmacm and no srxe "
			"device\n");
	return 0;
}

int srxe_cmd_env(const struct srxe_cli_opts *o)
{
	struct srxe_envvars e;
	struct srxe_rundir r;

	if (load_envvars(o, &r, &e))
		return 1;
	srxe_envvars_print(&e);
	if (srxe_kernel_has_rdma_netlink())
		fprintf(stderr,
			"srxe: note: this kernel answers RDMA netlink, so "
			"libibverbs ignores SYSFS_PATH and these variables are "
			"not enough: run programs with `srxe exec -- COMMAND` "
			"or in `srxe shell`\n");
	return 0;
}

/*
 * Clients that read /sys themselves need the namespace; the rest work
 * without it, so its absence is a note.  Without the filter a kernel
 * with RDMA netlink hides every srxe device: that is an error.
 */
static int enter_srxe_world(const struct srxe_cli_opts *o)
{
	bool rdma_netlink = srxe_kernel_has_rdma_netlink();
	struct srxe_envvars e;
	struct srxe_rundir r;
	char why[256];
	int ret;

	if (load_envvars(o, &r, &e))
		return 1;
	ret = srxe_envvars_apply(&e);
	if (ret) {
		fprintf(stderr, "srxe: setenv: %s\n", strerror(-ret));
		return 1;
	}
	if (srxe_sysns_enter(r.sys, why, sizeof(why)))
		fprintf(stderr,
			"srxe: note: /sys/class stays the host's (%s): "
			"clients that read /sys directly (UCX, ibstat) will "
			"not see srxe devices\n",
			why);
	if (srxe_netlink_filter_install(NETLINK_RDMA, why, sizeof(why)) &&
	    rdma_netlink) {
		fprintf(stderr,
			"srxe: %s; this kernel answers RDMA netlink, so "
			"libibverbs would not see srxe devices\n",
			why);
		return 1;
	}
	return 0;
}

static int run(char *const argv[])
{
	execvp(argv[0], argv);
	fprintf(stderr, "srxe: cannot execute %s: %s\n", argv[0],
		strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int srxe_cmd_exec(const struct srxe_cli_opts *o)
{
	return enter_srxe_world(o) ?: run(o->exec_argv);
}

int srxe_cmd_shell(const struct srxe_cli_opts *o)
{
	const char *shell = getenv("SHELL");
	char *argv[2];

	if (!shell || !*shell)
		shell = "/bin/sh";
	argv[0] = (char *)shell;
	argv[1] = NULL;
	return enter_srxe_world(o) ?: run(argv);
}
