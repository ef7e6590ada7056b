// SPDX-License-Identifier: MIT
/* Command line of `srxe capture FILE [--count N] [--name NAME]`. */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/cli_args.h"

static struct srxe_cli_opts opts;
static char err[256];

#define ARGV(...) ((char *[]){ "srxe", __VA_ARGS__, NULL })
#define ARGC(...)                                                              \
	((int)(sizeof((char *[]){ "srxe", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(...)                                                             \
	srxe_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), &opts, err,       \
		       sizeof(err))

static void expect_usage_error(int ret, const char *fragment)
{
	cr_assert_eq(ret, SRXE_EXIT_USAGE, "expected a usage error (%s)",
		     fragment);
	cr_assert(strstr(err, fragment), "reason \"%s\" lacks \"%s\"", err,
		  fragment);
}

Test(cli_capture, file_count_and_name_in_any_order)
{
	cr_assert_eq(PARSE("capture", "--count", "25", "/tmp/x.pcap", "--name",
			   "srxec1"),
		     0, "%s", err);
	cr_assert_eq(opts.cmd, SRXE_CMD_CAPTURE);
	cr_assert_str_eq(opts.capture_file, "/tmp/x.pcap");
	cr_assert_eq(opts.capture_count, 25);
	cr_assert_str_eq(opts.name, "srxec1");
}

Test(cli_capture, stdout_and_no_limit)
{
	cr_assert_eq(PARSE("capture", "-"), 0, "%s", err);
	cr_assert_str_eq(opts.capture_file, "-");
	cr_assert_eq(opts.capture_count, 0);
	cr_assert_str_eq(opts.name, "srxe0");
}

Test(cli_capture, bad_command_lines)
{
	expect_usage_error(PARSE("capture"), "missing FILE");
	expect_usage_error(PARSE("capture", "--name", "srxe1"), "missing FILE");
	expect_usage_error(PARSE("capture", "a", "b"), "unexpected argument");
	expect_usage_error(PARSE("capture", "a", "--count", "0"),
			   "invalid --count");
	expect_usage_error(PARSE("capture", "a", "--count", "-3"),
			   "invalid --count");
	expect_usage_error(PARSE("capture", "a", "--count", "7x"),
			   "invalid --count");
	expect_usage_error(PARSE("capture", "a", "--count"), "needs a value");
	expect_usage_error(PARSE("capture", "--bogus"), "unexpected argument");
	expect_usage_error(PARSE("status", "--count", "3"),
			   "only valid for 'capture'");
	expect_usage_error(PARSE("capture", "a", "--ip", "1.2.3.4"),
			   "not valid for 'capture'");
}
