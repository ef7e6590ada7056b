// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "devattr.h"
#include "engine.h"
#include "options.h"
#include "srxe/size.h"

enum {
	OPT_NAME = 256,
	OPT_RUNDIR,
	OPT_IP,
	OPT_IP6,
	OPT_NETDEV,
	OPT_TRANSLATION,
	OPT_MAX_CLIENTS,
	OPT_MAX_REG_BYTES,
	OPT_MAX_MRS,
	OPT_MAX_QP,
	OPT_MAX_CQ,
	OPT_MAX_MR,
	OPT_ENGINES,
	OPT_FOREGROUND,
	OPT_VERBOSE,
	OPT_HELP
};

static const struct option long_opts[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "rundir", required_argument, NULL, OPT_RUNDIR },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "ip6", required_argument, NULL, OPT_IP6 },
	{ "netdev", required_argument, NULL, OPT_NETDEV },
	{ "translation", required_argument, NULL, OPT_TRANSLATION },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "max-reg-bytes", required_argument, NULL, OPT_MAX_REG_BYTES },
	{ "max-mrs", required_argument, NULL, OPT_MAX_MRS },
	{ "max-qp", required_argument, NULL, OPT_MAX_QP },
	{ "max-cq", required_argument, NULL, OPT_MAX_CQ },
	{ "max-mr", required_argument, NULL, OPT_MAX_MR },
	{ "engines", required_argument, NULL, OPT_ENGINES },
	{ "foreground", no_argument, NULL, OPT_FOREGROUND },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ 0 }
};

void srxed_usage(FILE *out)
{
	fprintf(out,
		"Usage: srxed --name NAME --rundir DIR --ip A.B.C.D --netdev "
		"IF\n"
		"             [--ip6 fe80::X] [--translation shortcut|mtt]\n"
		"             [--max-clients N]\n"
		"             [--max-reg-bytes BYTES] [--max-mrs N]\n"
		"             [--max-qp N] [--max-cq N] [--max-mr N]\n"
		"             [--engines N] [--foreground] [--verbose]\n"
		"\n"
		"srxe device daemon: serves the verbs device NAME to the srxe\n"
		"libibverbs provider over DIR/srxed.sock (mode 0666) and "
		"writes\n"
		"its pid to DIR/srxed.pid; both are removed on "
		"SIGTERM/SIGINT.\n"
		"It never daemonizes itself (the srxe CLI does); logs go to\n"
		"stderr.\n"
		"\n"
		"  --name NAME          device name, e.g. srxe0 (required)\n"
		"  --rundir DIR         device runtime dir, created if "
		"missing\n"
		"                       (required)\n"
		"  --ip A.B.C.D         device IPv4 address, GID 1 (required)\n"
		"  --ip6 fe80::X        the netdev's IPv6 link-local address,\n"
		"                       GID 0 (RoCEv2 over IPv6 with the\n"
		"                       netdev as scope); none: no IPv6\n"
		"  --netdev IF          netdev whose MAC and MTU the device\n"
		"                       takes (/sys/class/net/IF) (required)\n"
		"  --translation MODE   shortcut (default) or mtt\n"
		"  --max-clients N      connections served at once (default "
		"%u)\n"
		"  --max-reg-bytes BYTES  registration limit per client\n"
		"                       process, all its contexts (= its\n"
		"                       memory slab), 4096..16T;\n"
		"                       suffix K, M, G or T (default 8G)\n"
		"  --max-mrs N          MRs on the device at once, 1..%u\n"
		"                       (default %u)\n"
		"  --max-qp N           QPs per client context, 1..%u\n"
		"  --max-cq N           CQs per client context, 1..%u\n"
		"  --max-mr N           MRs per client context, 1..%u\n"
		"                       (defaults: the maxima)\n"
		"  --engines N          engine threads, 1..%u (default: one\n"
		"                       per four CPUs srxed may run on,\n"
		"                       at least 1)\n"
		"  --foreground         accepted for symmetry; srxed always "
		"runs\n"
		"                       in the foreground\n"
		"  --verbose            also log every rejected request\n"
		"  --help               this text\n",
		SRXED_DEFAULT_MAX_CLIENTS, SRXED_MAX_MRS_LIMIT,
		SRXED_DEFAULT_MAX_MRS, SRXED_MAX_QP, SRXED_MAX_CQ,
		SRXED_MAX_MRS_LIMIT, SRXE_ENGINE_MAX_THREADS);
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < SRXE_DEVNAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_-") == n;
}

static int parse_max_clients(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || *s == '-' || v == 0 ||
	    v > SRXED_MAX_CLIENTS_LIMIT)
		return -1;
	*out = v;
	return 0;
}

static int parse_max_reg_bytes(const char *s, uint64_t *out)
{
	uint64_t v;

	if (srxe_parse_size(s, &v) || v < SRXED_MIN_REG_BYTES ||
	    v > SRXED_MAX_REG_BYTES_LIMIT)
		return -1;
	*out = v;
	return 0;
}

static int parse_count(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || *s == '-' || v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_max_mrs(const char *s, uint32_t *out)
{
	return parse_count(s, SRXED_MAX_MRS_LIMIT, out);
}

static int apply(int opt, const char *arg, struct srxed_config *cfg, char *err,
		 size_t cap)
{
	struct in_addr a;

	switch (opt) {
	case OPT_NAME:
		if (!valid_name(arg))
			goto bad;
		strcpy(cfg->name, arg);
		return 0;
	case OPT_RUNDIR:
		if (!*arg || strlen(arg) >= sizeof(cfg->rundir))
			goto bad;
		strcpy(cfg->rundir, arg);
		return 0;
	case OPT_IP:
		if (inet_pton(AF_INET, arg, &a) != 1)
			goto bad;
		cfg->ipv4_be = a.s_addr;
		return 0;
	case OPT_IP6:
		/* Link-local only: the scope is the netdev (docs/ipv6.md). */
		if (inet_pton(AF_INET6, arg, cfg->ipv6_ll) != 1 ||
		    cfg->ipv6_ll[0] != 0xfe || (cfg->ipv6_ll[1] & 0xc0) != 0x80)
			goto bad;
		cfg->has_ipv6 = true;
		return 0;
	case OPT_NETDEV:
		if (!*arg || strlen(arg) >= sizeof(cfg->netdev) ||
		    strchr(arg, '/') || !strcmp(arg, ".") || !strcmp(arg, ".."))
			goto bad;
		strcpy(cfg->netdev, arg);
		return 0;
	case OPT_TRANSLATION:
		if (!strcmp(arg, "shortcut"))
			cfg->translation = SRXE_TRANSLATION_SHORTCUT;
		else if (!strcmp(arg, "mtt"))
			cfg->translation = SRXE_TRANSLATION_MTT;
		else
			goto bad;
		return 0;
	case OPT_MAX_CLIENTS:
		if (parse_max_clients(arg, &cfg->max_clients))
			goto bad;
		return 0;
	case OPT_MAX_REG_BYTES:
		if (parse_max_reg_bytes(arg, &cfg->max_reg_bytes))
			goto bad;
		return 0;
	case OPT_MAX_MRS:
		if (parse_max_mrs(arg, &cfg->max_mrs))
			goto bad;
		return 0;
	case OPT_MAX_QP:
		if (parse_count(arg, SRXED_MAX_QP, &cfg->max_qp))
			goto bad;
		return 0;
	case OPT_MAX_CQ:
		if (parse_count(arg, SRXED_MAX_CQ, &cfg->max_cq))
			goto bad;
		return 0;
	case OPT_MAX_MR:
		if (parse_count(arg, SRXED_MAX_MRS_LIMIT, &cfg->max_mr))
			goto bad;
		return 0;
	case OPT_ENGINES: {
		uint32_t n;

		if (parse_count(arg, SRXE_ENGINE_MAX_THREADS, &n))
			goto bad;
		cfg->engines = n;
		return 0;
	}
	}
	return 0;
bad:
	snprintf(err, cap, "invalid value '%s' for --%s", arg,
		 long_opts[opt - OPT_NAME].name);
	return -1;
}

static const char *missing_option(const struct srxed_config *cfg, bool have_ip)
{
	if (!cfg->name[0])
		return "--name";
	if (!cfg->rundir[0])
		return "--rundir";
	if (!have_ip)
		return "--ip";
	if (!cfg->netdev[0])
		return "--netdev";
	return NULL;
}

enum srxed_parse_result srxed_parse_options(int argc, char **argv,
					    struct srxed_config *cfg, char *err,
					    size_t cap)
{
	const char *missing;
	bool have_ip = false;
	int opt;

	memset(cfg, 0, sizeof(*cfg));
	cfg->translation = SRXE_TRANSLATION_SHORTCUT;
	cfg->max_clients = SRXED_DEFAULT_MAX_CLIENTS;
	cfg->max_reg_bytes = SRXED_DEFAULT_MAX_REG_BYTES;
	cfg->max_mrs = SRXED_DEFAULT_MAX_MRS;
	cfg->max_qp = SRXED_MAX_QP;
	cfg->max_cq = SRXED_MAX_CQ;
	cfg->max_mr = SRXED_MAX_MRS_LIMIT;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_HELP)
			return SRXED_PARSE_HELP;
		if (opt == OPT_FOREGROUND)
			cfg->foreground = true;
		else if (opt == OPT_VERBOSE)
			cfg->verbose = true;
		else if (opt == '?' || opt == ':') {
			snprintf(err, cap,
				 "unknown option or missing value: %s",
				 argv[optind - 1]);
			return SRXED_PARSE_ERROR;
		} else if (apply(opt, optarg, cfg, err, cap))
			return SRXED_PARSE_ERROR;
		have_ip |= opt == OPT_IP;
	}
	if (optind < argc) {
		snprintf(err, cap, "unexpected argument: %s", argv[optind]);
		return SRXED_PARSE_ERROR;
	}
	missing = missing_option(cfg, have_ip);
	if (missing) {
		snprintf(err, cap, "missing required option %s", missing);
		return SRXED_PARSE_ERROR;
	}
	return SRXED_PARSE_OK;
}
