// SPDX-License-Identifier: MIT
/* srxe: bring user-space RoCE devices up and down for unmodified tools. */
#include <stdio.h>
#include <sys/stat.h>

#include "cli_args.h"
#include "commands.h"

static int dispatch(const struct srxe_cli_opts *o)
{
	switch (o->cmd) {
	case SRXE_CMD_UP:
		return srxe_cmd_up(o);
	case SRXE_CMD_DOWN:
		return srxe_cmd_down(o);
	case SRXE_CMD_STATUS:
		return srxe_cmd_status(o);
	case SRXE_CMD_ENV:
		return srxe_cmd_env(o);
	case SRXE_CMD_EXEC:
		return srxe_cmd_exec(o);
	case SRXE_CMD_SHELL:
		return srxe_cmd_shell(o);
	case SRXE_CMD_CAPTURE:
		return srxe_cmd_capture(o);
	case SRXE_CMD_NONE:
		break;
	}
	fputs(srxe_cli_usage(SRXE_CMD_NONE), stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct srxe_cli_opts opts;
	char err[256];

	if (srxe_cli_parse(argc, argv, &opts, err, sizeof(err))) {
		fprintf(stderr, "srxe: %s\n%s", err, srxe_cli_usage(opts.cmd));
		return SRXE_EXIT_USAGE;
	}
	if (opts.help) {
		fputs(srxe_cli_usage(opts.cmd), stdout);
		return 0;
	}
	/* Everything published is read by unprivileged tools. */
	umask(022);
	return dispatch(&opts);
}
