// SPDX-License-Identifier: MIT
/*
 * Per-client limits on both command lines (issue #6): `srxe up --max-qp
 * --max-cq --max-mr` (kernel-shim/cli/cli_args.h) and srxed's options of
 * the same names (kernel-shim/srxed/options.h), bounds and defaults.
 * End to end (enforcement, query_device): tests/integration/test_limits.sh.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/cli_args.h"
#include "srxed/devattr.h"
#include "srxed/options.h"

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
