// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "envvars.h"
#include "rundir.h"

static int load_envvars(const struct srxe_cli_opts *o, struct srxe_envvars *e)
{
	struct srxe_rundir r;
	int ret = srxe_rundir_init(&r, o->name);

	if (ret) {
		fprintf(stderr, "srxe: runtime root: %s\n", strerror(-ret));
		return 1;
	}
	srxe_envvars_init(e, &r);
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

	if (load_envvars(o, &e))
		return 1;
	srxe_envvars_print(&e);
	return 0;
}

int srxe_cmd_exec(const struct srxe_cli_opts *o)
{
	struct srxe_envvars e;
	int ret;

	if (load_envvars(o, &e))
		return 1;
	ret = srxe_envvars_apply(&e);
	if (ret) {
		fprintf(stderr, "srxe: setenv: %s\n", strerror(-ret));
		return 1;
	}
	execvp(o->exec_argv[0], o->exec_argv);
	fprintf(stderr, "srxe: cannot execute %s: %s\n", o->exec_argv[0],
		strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
