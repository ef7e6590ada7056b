// SPDX-License-Identifier: MIT
#include "cli_args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srxe/paths.h"
#include "srxe/size.h"

#define SRXE_NAME_PREFIX "srxe"

struct cmd_desc {
	const char *word;
	enum srxe_cli_cmd cmd;
	bool takes_netdev; /* the options of `srxe up` only */
	const char *usage;
};

static const char usage_main[] =
	"usage: srxe <command> [options]\n"
	"\n"
	"commands:\n"
	"  up      start srxed for a device and publish it to libibverbs\n"
	"  down    stop a device and remove everything it published\n"
	"  status  show devices, their daemon and their objects\n"
	"  env     print the environment unmodified verbs tools need\n"
	"  exec    run a command where every RDMA client sees srxe devices\n"
	"  shell   start a shell where every RDMA client sees srxe devices\n"
	"  capture write the device's RoCEv2 packets to a pcap file\n"
	"\n"
	"Run `srxe <command> --help` for the options of one command.\n"
	"The runtime root is $" SRXE_RUNDIR_ENV " (default " SRXE_RUNDIR_DEFAULT
	").\n";

static const struct cmd_desc commands[] = {
	{ "up", SRXE_CMD_UP, true,
	  "usage: srxe up [--name NAME] [--netdev IF | --ip A.B.C.D]\n"
	  "               [--translation shortcut|mtt] [--max-reg-bytes SIZE]\n"
	  "               [--max-qp N] [--max-cq N] [--max-mr N]\n"
	  "               [--engines N]\n"
	  "  Start srxed for NAME (default " SRXE_DEFAULT_DEVICE ") on IF or\n"
	  "  the netdev owning A.B.C.D (default lo / 127.0.0.1) and publish\n"
	  "  it in the runtime root's sysfs tree and /dev/infiniband.\n"
	  "  --max-reg-bytes: bytes one process may register, all its\n"
	  "  contexts together (its memory slab), e.g. 512M or 16G;\n"
	  "  default 8G.\n"
	  "  --max-qp, --max-cq, --max-mr: QPs, CQs and MRs one context may\n"
	  "  hold at once (default: 65536, 16384, 65536); query_device\n"
	  "  reports them as max_qp, max_cq and max_mr.\n"
	  "  --engines: engine threads of the device, 1..16 (default: one\n"
	  "  per four CPUs srxed may run on, at least 1, at most 16).\n" },
	{ "down", SRXE_CMD_DOWN, false,
	  "usage: srxe down [--name NAME]\n"
	  "  Stop srxed of NAME and remove its sysfs entries, its\n"
	  "  /dev/infiniband node and its runtime directory.\n" },
	{ "status", SRXE_CMD_STATUS, false,
	  "usage: srxe status [--name NAME]\n"
	  "  Show every device of the runtime root, or only NAME.\n" },
	{ "env", SRXE_CMD_ENV, false,
	  "usage: srxe env [--name NAME]\n"
	  "  Print shell exports (SYSFS_PATH, RDMAV_DRIVERS) for\n"
	  "  eval \"$(srxe env)\".\n" },
	{ "exec", SRXE_CMD_EXEC, false,
	  "usage: srxe exec [--name NAME] -- COMMAND [ARGS...]\n"
	  "  Run COMMAND with the environment `srxe env` prints, a seccomp\n"
	  "  filter that hides RDMA netlink (so libibverbs reads srxe's\n"
	  "  sysfs view even on a kernel with RDMA) and, where a mount\n"
	  "  namespace can be made, srxe's view as /sys/class.  Children\n"
	  "  inherit all of it.\n" },
	{ "shell", SRXE_CMD_SHELL, false,
	  "usage: srxe shell [--name NAME]\n"
	  "  Start $SHELL (default /bin/sh) as `srxe exec` runs COMMAND;\n"
	  "  commands come from the terminal or from standard input.\n" },
	{ "capture", SRXE_CMD_CAPTURE, false,
	  "usage: srxe capture FILE [--count N] [--name NAME]\n"
	  "  Write every RoCEv2 packet NAME sends or receives (wire and\n"
	  "  same-host) to FILE as pcap ('-': stdout), until N packets or\n"
	  "  Ctrl-C / SIGTERM.  Root or srxed's user only.\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd_desc *find_command(const char *word)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].word, word))
			return &commands[i];
	return NULL;
}

static const struct cmd_desc *find_command_by_id(enum srxe_cli_cmd cmd)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].cmd == cmd)
			return &commands[i];
	return NULL;
}

const char *srxe_cli_usage(enum srxe_cli_cmd cmd)
{
	const struct cmd_desc *d = find_command_by_id(cmd);

	return d ? d->usage : usage_main;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

const char *srxe_cli_check_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return "device name is empty";
	if (len >= SRXE_DEVNAME_MAX)
		return "device name is too long (at most 31 characters)";
	if (name[0] == '.' || name[0] == '-')
		return "device name must not start with '.' or '-'";
	if (!strcmp(name, SRXE_SYSFS_SUBDIR))
		return "device name \"" SRXE_SYSFS_SUBDIR "\" is reserved";
	/* The provider claims devices by this prefix (DESIGN.md 3). */
	if (strncmp(name, SRXE_NAME_PREFIX, strlen(SRXE_NAME_PREFIX)))
		return "device name must start with \"" SRXE_NAME_PREFIX
		       "\" (the srxe provider claims devices by that prefix)";
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(name[i]))
			return "device name may only contain letters, digits, "
			       "'_', '-' and '.'";
	return NULL;
}

int srxe_cli_parse_ipv4(const char *text, uint32_t *ipv4_be)
{
	struct in_addr a;

	/* inet_pton accepts exactly four decimal octets, no shorthand. */
	if (inet_pton(AF_INET, text, &a) != 1)
		return -EINVAL;
	*ipv4_be = a.s_addr;
	return 0;
}

int srxe_cli_parse_translation(const char *text, enum srxe_translation *t)
{
	if (!strcmp(text, "shortcut"))
		*t = SRXE_TRANSLATION_SHORTCUT;
	else if (!strcmp(text, "mtt"))
		*t = SRXE_TRANSLATION_MTT;
	else
		return -EINVAL;
	return 0;
}

const char *srxe_cli_translation_name(enum srxe_translation t)
{
	switch (t) {
	case SRXE_TRANSLATION_SHORTCUT:
		return "shortcut";
	case SRXE_TRANSLATION_MTT:
		return "mtt";
	}
	return "unknown";
}

__attribute__((format(printf, 3, 4))) static int
usage_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return SRXE_EXIT_USAGE;
}

/* Cursor over argv for "--opt VALUE" and "--opt=VALUE" forms. */
struct arg_cursor {
	int argc;
	char **argv;
	int i;
};

/*
 * If argv[i] is option opt, set *value and advance; returns 1 when matched,
 * 0 when not, -1 when matched but the value is missing.
 */
static int take_option(struct arg_cursor *c, const char *opt,
		       const char **value)
{
	const char *arg = c->argv[c->i];
	size_t n = strlen(opt);

	if (strncmp(arg, opt, n))
		return 0;
	if (arg[n] == '=') {
		*value = arg + n + 1;
		c->i++;
		return 1;
	}
	if (arg[n])
		return 0;
	if (c->i + 1 >= c->argc)
		return -1;
	*value = c->argv[c->i + 1];
	c->i += 2;
	return 1;
}

static int set_name(struct srxe_cli_opts *o, const char *v, char *err,
		    size_t errlen)
{
	const char *why = srxe_cli_check_name(v);

	if (why)
		return usage_error(err, errlen, "invalid --name '%s': %s", v,
				   why);
	strcpy(o->name, v);
	o->name_given = true;
	return 0;
}

static int set_netdev(struct srxe_cli_opts *o, const char *v, char *err,
		      size_t errlen)
{
	if (!*v || strlen(v) >= IF_NAMESIZE || strchr(v, '/') || strchr(v, ' '))
		return usage_error(err, errlen, "invalid --netdev '%s'", v);
	strcpy(o->netdev, v);
	return 0;
}

static int set_ip(struct srxe_cli_opts *o, const char *v, char *err,
		  size_t errlen)
{
	if (srxe_cli_parse_ipv4(v, &o->ipv4_be))
		return usage_error(err, errlen,
				   "invalid --ip '%s': expected an IPv4 "
				   "address like 127.0.0.1",
				   v);
	o->ip_given = true;
	return 0;
}

static int set_translation(struct srxe_cli_opts *o, const char *v, char *err,
			   size_t errlen)
{
	if (srxe_cli_parse_translation(v, &o->translation))
		return usage_error(err, errlen,
				   "invalid --translation '%s': expected "
				   "shortcut or mtt",
				   v);
	return 0;
}

static int set_max_reg_bytes(struct srxe_cli_opts *o, const char *v, char *err,
			     size_t errlen)
{
	uint64_t bytes;

	if (srxe_parse_size(v, &bytes) || bytes < SRXE_CLI_MIN_REG_BYTES ||
	    bytes > SRXE_CLI_MAX_REG_BYTES)
		return usage_error(err, errlen,
				   "invalid --max-reg-bytes '%s': expected a "
				   "size from 4K to 16T such as 512M or 8G",
				   v);
	o->max_reg_bytes = bytes;
	return 0;
}

static int set_count(const char *opt, uint32_t max, uint32_t *out,
		     const char *v, char *err, size_t errlen)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (end == v || *end || *v == '-' || errno || n == 0 || n > max)
		return usage_error(err, errlen,
				   "invalid %s '%s': expected a number from "
				   "1 to %u",
				   opt, v, max);
	*out = (uint32_t)n;
	return 0;
}

static int set_max_qp(struct srxe_cli_opts *o, const char *v, char *err,
		      size_t errlen)
{
	return set_count("--max-qp", SRXE_CLI_MAX_QP, &o->max_qp, v, err,
			 errlen);
}

static int set_max_cq(struct srxe_cli_opts *o, const char *v, char *err,
		      size_t errlen)
{
	return set_count("--max-cq", SRXE_CLI_MAX_CQ, &o->max_cq, v, err,
			 errlen);
}

static int set_max_mr(struct srxe_cli_opts *o, const char *v, char *err,
		      size_t errlen)
{
	return set_count("--max-mr", SRXE_CLI_MAX_MR, &o->max_mr, v, err,
			 errlen);
}

static int set_engines(struct srxe_cli_opts *o, const char *v, char *err,
		       size_t errlen)
{
	return set_count("--engines", SRXE_CLI_MAX_ENGINES, &o->engines, v, err,
			 errlen);
}

static int set_capture_count(struct srxe_cli_opts *o, const char *v, char *err,
			     size_t errlen)
{
	char *end;
	unsigned long long n;

	if (o->cmd != SRXE_CMD_CAPTURE)
		return usage_error(
			err, errlen,
			"option --count is only valid for 'capture'");
	errno = 0;
	n = strtoull(v, &end, 10);
	if (end == v || *end || errno || n == 0 || v[0] == '-')
		return usage_error(err, errlen,
				   "invalid --count '%s': expected a number "
				   "of packets >= 1",
				   v);
	o->capture_count = n;
	return 0;
}

typedef int (*option_setter)(struct srxe_cli_opts *, const char *, char *,
			     size_t);

struct option_desc {
	const char *opt;
	bool up_only;
	option_setter set;
};

static const struct option_desc options[] = {
	{ "--name", false, set_name },
	{ "--netdev", true, set_netdev },
	{ "--ip", true, set_ip },
	{ "--translation", true, set_translation },
	{ "--max-reg-bytes", true, set_max_reg_bytes },
	{ "--max-qp", true, set_max_qp },
	{ "--max-cq", true, set_max_cq },
	{ "--max-mr", true, set_max_mr },
	{ "--engines", true, set_engines },
	{ "--count", false, set_capture_count },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/*
 * Returns 1 when an option was consumed, 0 when none matched, or
 * SRXE_EXIT_USAGE with err filled.
 */
static int parse_one_option(struct arg_cursor *c, const struct cmd_desc *d,
			    struct srxe_cli_opts *o, char *err, size_t errlen)
{
	for (size_t k = 0; k < N_OPTIONS; k++) {
		const char *value;
		int r = take_option(c, options[k].opt, &value);

		if (r == 0)
			continue;
		if (options[k].up_only && !d->takes_netdev)
			return usage_error(err, errlen,
					   "option %s is not valid for '%s'",
					   options[k].opt, d->word);
		if (r < 0)
			return usage_error(err, errlen,
					   "option %s needs a value",
					   options[k].opt);
		return options[k].set(o, value, err, errlen) ?: 1;
	}
	return 0;
}

static int parse_exec_tail(struct arg_cursor *c, struct srxe_cli_opts *o,
			   char *err, size_t errlen)
{
	if (c->i + 1 >= c->argc)
		return usage_error(err, errlen, "exec: no command after '--'");
	o->exec_argv = &c->argv[c->i + 1];
	c->i = c->argc;
	return 0;
}

static int parse_command_args(struct arg_cursor *c, const struct cmd_desc *d,
			      struct srxe_cli_opts *o, char *err, size_t errlen)
{
	while (c->i < c->argc) {
		const char *arg = c->argv[c->i];
		int r;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			o->help = true;
			return 0;
		}
		if (!strcmp(arg, "--") && d->cmd == SRXE_CMD_EXEC)
			return parse_exec_tail(c, o, err, errlen);
		r = parse_one_option(c, d, o, err, errlen);
		if (r == SRXE_EXIT_USAGE)
			return r;
		if (r == 0 && d->cmd == SRXE_CMD_EXEC)
			return usage_error(err, errlen,
					   "exec: unexpected '%s' (put the "
					   "command after '--')",
					   arg);
		if (r == 0 && d->cmd == SRXE_CMD_CAPTURE && !o->capture_file &&
		    (arg[0] != '-' || !strcmp(arg, "-"))) {
			o->capture_file = arg; /* the one positional FILE */
			c->i++;
			continue;
		}
		if (r == 0)
			return usage_error(err, errlen,
					   "%s: unexpected argument '%s'",
					   d->word, arg);
	}
	return 0;
}

static void set_defaults(struct srxe_cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->name, SRXE_DEFAULT_DEVICE);
	o->translation = SRXE_TRANSLATION_SHORTCUT;
}

static int check_combination(const struct srxe_cli_opts *o, char *err,
			     size_t errlen)
{
	if (o->netdev[0] && o->ip_given)
		return usage_error(err, errlen,
				   "--netdev and --ip are mutually exclusive");
	if (o->cmd == SRXE_CMD_EXEC && !o->exec_argv)
		return usage_error(err, errlen,
				   "exec: missing '-- COMMAND [ARGS...]'");
	if (o->cmd == SRXE_CMD_CAPTURE && !o->capture_file)
		return usage_error(err, errlen,
				   "capture: missing FILE (or '-' for stdout)");
	return 0;
}

int srxe_cli_parse(int argc, char **argv, struct srxe_cli_opts *o, char *err,
		   size_t errlen)
{
	struct arg_cursor c = { .argc = argc, .argv = argv, .i = 1 };
	const struct cmd_desc *d;
	int r;

	set_defaults(o);
	err[0] = 0;
	if (argc < 2)
		return usage_error(err, errlen, "missing command");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		o->help = true;
		return 0;
	}
	d = find_command(argv[1]);
	if (!d)
		return usage_error(err, errlen,
				   argv[1][0] == '-' ? "unknown option '%s'"
						     : "unknown command '%s'",
				   argv[1]);
	o->cmd = d->cmd;
	c.i = 2;
	r = parse_command_args(&c, d, o, err, errlen);
	if (r || o->help)
		return r;
	return check_combination(o, err, errlen);
}
