// SPDX-License-Identifier: MIT
/*
 * Per-client limits on both command lines (issue #6): `srxe up --max-qp
 * --max-cq --max-mr` (kernel-shim/cli/cli_args.h) and srxed's options of
 * the same names (kernel-shim/srxed/options.h), bounds and defaults.
 * End to end (enforcement, query_device): tests/integration/test_limits.sh.
 * Also the engine threads (issue #14): `srxe up --engines`, srxed
 * --engines and srxed's default from the CPU count (srxed/verbs.h).
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <string.h>

#include "cli/cli_args.h"
#include "engine.h"
#include "srxed/devattr.h"
#include "srxed/options.h"
#include "srxed/verbs.h"

#define ARGV(...) ((char *[]){ "srxe", __VA_ARGS__, NULL })
#define ARGC(...)                                                              \
	((int)(sizeof((char *[]){ "srxe", __VA_ARGS__ }) / sizeof(char *)))

static struct srxe_cli_opts opts;
static char err[256];

#define CLI(...)                                                               \
	srxe_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), &opts, err,       \
		       sizeof(err))

Test(cli_limits, up_takes_the_three_limits)
{
	cr_assert_eq(CLI("up", "--max-qp", "5", "--max-cq=6", "--max-mr", "7"),
		     0, "%s", err);
	cr_assert_eq(opts.max_qp, 5);
	cr_assert_eq(opts.max_cq, 6);
	cr_assert_eq(opts.max_mr, 7);
	cr_assert_eq(CLI("up"), 0, "%s", err);
	cr_assert_eq(opts.max_qp + opts.max_cq + opts.max_mr, 0,
		     "unset means srxed's default");
}

Test(cli_limits, bad_values_are_usage_errors)
{
	char *bad[][2] = { { "--max-qp", "0" },	    { "--max-qp", "-1" },
			   { "--max-qp", "65537" }, { "--max-cq", "16385" },
			   { "--max-mr", "7x" },    { "--max-mr", "" } };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = CLI("up", bad[i][0], bad[i][1]);

		cr_assert_eq(ret, SRXE_EXIT_USAGE, "%s %s accepted", bad[i][0],
			     bad[i][1]);
		cr_assert(strstr(err, bad[i][0]), "reason \"%s\"", err);
	}
	cr_assert_eq(CLI("status", "--max-qp", "5"), SRXE_EXIT_USAGE);
}

static enum srxed_parse_result srxed(struct srxed_config *cfg, int argc,
				     char **argv)
{
	return srxed_parse_options(argc, argv, cfg, err, sizeof(err));
}

Test(srxed_limits, defaults_are_the_device_maxima)
{
	char *argv[] = { "srxed", "--name",  "a",	 "--rundir", "/d",
			 "--ip",  "1.2.3.4", "--netdev", "lo",	     NULL };
	struct srxed_config cfg;

	cr_assert_eq(srxed(&cfg, 9, argv), SRXED_PARSE_OK, "%s", err);
	cr_assert_eq(cfg.max_qp, SRXED_MAX_QP);
	cr_assert_eq(cfg.max_cq, SRXED_MAX_CQ);
	cr_assert_eq(cfg.max_mr, SRXED_MAX_MRS_LIMIT);
}

Test(srxed_limits, options_set_and_bounded)
{
	char *ok[] = { "srxed", "--name",   "a",       "--rundir",
		       "/d",	"--ip",	    "1.2.3.4", "--netdev",
		       "lo",	"--max-qp", "3",       "--max-cq",
		       "4",	"--max-mr", "5",       NULL };
	char *bad[] = { "srxed", "--name",   "a",	"--rundir",
			"/d",	 "--ip",     "1.2.3.4", "--netdev",
			"lo",	 "--max-cq", "16385",	NULL };
	struct srxed_config cfg;

	cr_assert_eq(srxed(&cfg, 15, ok), SRXED_PARSE_OK, "%s", err);
	cr_assert_eq(cfg.max_qp, 3);
	cr_assert_eq(cfg.max_cq, 4);
	cr_assert_eq(cfg.max_mr, 5);
	cr_assert_eq(srxed(&cfg, 11, bad), SRXED_PARSE_ERROR);
	cr_assert(strstr(err, "--max-cq"), "reason \"%s\"", err);
}

Test(cli_limits, up_takes_engines)
{
	cr_assert_eq(CLI("up", "--engines", "3"), 0, "%s", err);
	cr_assert_eq(opts.engines, 3);
	cr_assert_eq(CLI("up", "--engines=16"), 0, "%s", err);
	cr_assert_eq(opts.engines, 16);
	cr_assert_eq(CLI("up"), 0, "%s", err);
	cr_assert_eq(opts.engines, 0, "unset means srxed's default");
	cr_assert_eq(SRXE_CLI_MAX_ENGINES, SRXE_ENGINE_MAX_THREADS);
}

Test(cli_limits, bad_engines_are_usage_errors)
{
	const char *bad[] = { "0", "17", "x", "-1", "", "3x" };
	char want[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(CLI("up", "--engines", (char *)bad[i]),
			     SRXE_EXIT_USAGE, "--engines '%s' accepted",
			     bad[i]);
		snprintf(want, sizeof(want),
			 "invalid --engines '%s': expected a number from 1 "
			 "to 16",
			 bad[i]);
		cr_assert_str_eq(err, want);
	}
	cr_assert_eq(CLI("up", "--engines"), SRXE_EXIT_USAGE);
	cr_assert_eq(CLI("status", "--engines", "2"), SRXE_EXIT_USAGE);
}

Test(srxed_limits, engines_option)
{
	char *ok[] = { "srxed",	  "--name",   "a",  "--rundir",	 "/d", "--ip",
		       "1.2.3.4", "--netdev", "lo", "--engines", "16", NULL };
	char *def[] = { "srxed", "--name",  "a",	"--rundir", "/d",
			"--ip",	 "1.2.3.4", "--netdev", "lo",	    NULL };
	const char *bad[] = { "0", "17", "x", "-2" };
	struct srxed_config cfg;

	cr_assert_eq(srxed(&cfg, 11, ok), SRXED_PARSE_OK, "%s", err);
	cr_assert_eq(cfg.engines, 16);
	cr_assert_eq(srxed_engine_threads(&cfg), 16, "given wins");
	cr_assert_eq(srxed(&cfg, 9, def), SRXED_PARSE_OK, "%s", err);
	cr_assert_eq(cfg.engines, 0, "unset until main() resolves it");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok[10] = (char *)bad[i];
		cr_assert_eq(srxed(&cfg, 11, ok), SRXED_PARSE_ERROR,
			     "--engines %s accepted", bad[i]);
		cr_assert(strstr(err, "--engines"), "reason \"%s\"", err);
	}
}

/* clamp(ncpus / 4, 1, 16): 2 or 4 CPUs get 1 thread, 8 get 2, 16 get 4. */
Test(srxed_limits, engine_threads_default_from_cpus)
{
	static const unsigned int cpus[][2] = {
		{ 0, 1 },   { 1, 1 },	{ 2, 1 },   { 4, 1 },
		{ 7, 1 },   { 8, 2 },	{ 12, 3 },  { 16, 4 },
		{ 64, 16 }, { 65, 16 }, { 68, 16 }, { 1024, 16 },
	};
	struct srxed_config cfg = { 0 };
	cpu_set_t set;
	unsigned int n;

	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++)
		cr_assert_eq(srxed_engine_threads_for_cpus(cpus[i][0]),
			     cpus[i][1], "%u CPUs", cpus[i][0]);
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	n = srxed_engine_threads(&cfg);
	cr_assert_eq(n, srxed_engine_threads_for_cpus(CPU_COUNT(&set)),
		     "default %u for %d CPUs", n, CPU_COUNT(&set));
}
