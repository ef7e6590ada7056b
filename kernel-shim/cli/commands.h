/* SPDX-License-Identifier: MIT */
/*
 * The srxe subcommands.  Each takes validated options, prints what it did
 * (errors as "srxe: <what failed>: <reason>" on stderr) and returns the
 * process exit status.
 */
#ifndef SRXE_CLI_COMMANDS_H
#define SRXE_CLI_COMMANDS_H

#include "cli_args.h"

int srxe_cmd_up(const struct srxe_cli_opts *o);
int srxe_cmd_down(const struct srxe_cli_opts *o);
int srxe_cmd_status(const struct srxe_cli_opts *o);
int srxe_cmd_env(const struct srxe_cli_opts *o);
int srxe_cmd_exec(const struct srxe_cli_opts *o);
int srxe_cmd_shell(const struct srxe_cli_opts *o);
int srxe_cmd_capture(const struct srxe_cli_opts *o);

#endif /* SRXE_CLI_COMMANDS_H */
