/* SPDX-License-Identifier: MIT */
/*
 * Command line of the srxe CLI: pure parsing and validation, no I/O except
 * writing a one-line reason into the caller's buffer.  Every rule a command
 * line must satisfy lives here so it can be unit tested without a daemon.
 */
#ifndef SRXE_CLI_ARGS_H
#define SRXE_CLI_ARGS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srxe/proto.h"

#define SRXE_EXIT_USAGE 2
/* Bounds srxed accepts for --max-reg-bytes. */
#define SRXE_CLI_MIN_REG_BYTES 4096ull
#define SRXE_CLI_MAX_REG_BYTES (16ull << 40)
/* Upper bounds srxed accepts for --max-qp / --max-cq / --max-mr. */
#define SRXE_CLI_MAX_QP 65536u
#define SRXE_CLI_MAX_CQ 16384u
#define SRXE_CLI_MAX_MR 65536u
/* Upper bound srxed accepts for --engines (SRXE_ENGINE_MAX_THREADS). */
#define SRXE_CLI_MAX_ENGINES 16u

enum srxe_cli_cmd {
	SRXE_CMD_NONE = 0, /* only --help given */
	SRXE_CMD_UP,
	SRXE_CMD_DOWN,
	SRXE_CMD_STATUS,
	SRXE_CMD_ENV,
	SRXE_CMD_EXEC,
	SRXE_CMD_SHELL,
	SRXE_CMD_CAPTURE,
};

struct srxe_cli_opts {
	enum srxe_cli_cmd cmd;
	bool help;
	bool name_given;
	char name[SRXE_DEVNAME_MAX];
	char netdev[IF_NAMESIZE]; /* "" when not given */
	bool ip_given;
	uint32_t ipv4_be;
	enum srxe_translation translation;
	uint64_t max_reg_bytes;	  /* --max-reg-bytes; 0 = srxed's default */
	char **exec_argv;	  /* NULL-terminated, points into argv */
	const char *capture_file; /* capture: FILE or "-", points into argv */
	uint64_t capture_count;	  /* capture --count; 0: until interrupted */
	/* --max-qp, --max-cq, --max-mr per client context; 0 = default */
	uint32_t max_qp, max_cq, max_mr;
	/* --engines: engine threads of the device; 0 = srxed's default */
	uint32_t engines;
};

/*
 * Parse argv (argv[0] is the program).  Returns 0 with *o filled, or
 * SRXE_EXIT_USAGE with a reason (no "srxe: " prefix) in err[errlen].
 * opts->cmd tells which usage text to print on error.
 */
int srxe_cli_parse(int argc, char **argv, struct srxe_cli_opts *o, char *err,
		   size_t errlen);

/*
 * A device name is 1..SRXE_DEVNAME_MAX-1 characters of [A-Za-z0-9_.-] and
 * starts with "srxe", the prefix the provider's match table claims (so it
 * cannot clash with the shared "sys" directory or start with '.' or '-').
 * Returns NULL when valid, else why not.
 */
const char *srxe_cli_check_name(const char *name);

/* Dotted-quad IPv4 only.  Returns 0 or -EINVAL. */
int srxe_cli_parse_ipv4(const char *text, uint32_t *ipv4_be);

/* "shortcut" / "mtt".  Returns 0 or -EINVAL. */
int srxe_cli_parse_translation(const char *text, enum srxe_translation *t);
const char *srxe_cli_translation_name(enum srxe_translation t);

/* Usage text of cmd (SRXE_CMD_NONE: the whole program). */
const char *srxe_cli_usage(enum srxe_cli_cmd cmd);

#endif /* SRXE_CLI_ARGS_H */
