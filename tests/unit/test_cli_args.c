// SPDX-License-Identifier: MIT
/* Command-line rules of the srxe CLI (kernel-shim/cli/cli_args.h). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
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

Test(cli_args, up_defaults)
{
	cr_assert_eq(PARSE("up"), 0, "%s", err);
	cr_assert_eq(opts.cmd, SRXE_CMD_UP);
	cr_assert_str_eq(opts.name, "srxe0");
	cr_assert_not(opts.name_given);
	cr_assert_str_eq(opts.netdev, "");
	cr_assert_not(opts.ip_given);
	cr_assert_eq(opts.translation, SRXE_TRANSLATION_SHORTCUT);
}

Test(cli_args, up_all_options_both_spellings)
{
	cr_assert_eq(PARSE("up", "--name", "srxet1", "--netdev=eth0",
			   "--translation", "mtt"),
		     0, "%s", err);
	cr_assert_str_eq(opts.name, "srxet1");
	cr_assert(opts.name_given);
	cr_assert_str_eq(opts.netdev, "eth0");
	cr_assert_eq(opts.translation, SRXE_TRANSLATION_MTT);

	cr_assert_eq(PARSE("up", "--name=srxe.b-c_d", "--ip", "10.1.2.3"), 0,
		     "%s", err);
	cr_assert_str_eq(opts.name, "srxe.b-c_d");
	cr_assert(opts.ip_given);
	cr_assert_eq(opts.ipv4_be, inet_addr("10.1.2.3"));
}

Test(cli_args, name_length_limit)
{
	char longest[SRXE_DEVNAME_MAX], too_long[SRXE_DEVNAME_MAX + 1];

	memset(longest, 'n', sizeof(longest) - 1);
	memcpy(longest, "srxe", 4);
	longest[sizeof(longest) - 1] = 0;
	memset(too_long, 'n', sizeof(too_long) - 1);
	memcpy(too_long, "srxe", 4);
	too_long[sizeof(too_long) - 1] = 0;
	cr_assert_eq(PARSE("down", "--name", longest), 0, "%s", err);
	cr_assert_str_eq(opts.name, longest);
	expect_usage_error(PARSE("down", "--name", too_long), "too long");
}

Test(cli_args, bad_names)
{
	expect_usage_error(PARSE("up", "--name", ""), "empty");
	expect_usage_error(PARSE("up", "--name="), "empty");
	expect_usage_error(PARSE("up", "--name", "srxe/b"), "may only contain");
	expect_usage_error(PARSE("up", "--name", "srxe b"), "may only contain");
	expect_usage_error(PARSE("up", "--name", "rxe0"),
			   "start with \"srxe\"");
	expect_usage_error(PARSE("up", "--name", "mlx5_0"), "start with");
	expect_usage_error(PARSE("status", "--name", ".."), "start with");
	expect_usage_error(PARSE("status", "--name", ".hidden"), "start with");
	expect_usage_error(PARSE("env", "--name", "-x"), "start with");
	expect_usage_error(PARSE("up", "--name", "sys"), "reserved");
	cr_assert_not_null(srxe_cli_check_name("srxe\n0"));
	cr_assert_null(srxe_cli_check_name("srxe0"));
}

Test(cli_args, bad_ips)
{
	char *bad[] = { "1.2.3", "256.1.1.1", "1.2.3.4.5", "abc",	"",
			"::1",	 "1.2.3.4/8", " 1.2.3.4",  "0x7f.0.0.1" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_usage_error(PARSE("up", "--ip", bad[i]), "invalid --ip");
}

Test(cli_args, netdev_and_ip_are_exclusive)
{
	expect_usage_error(PARSE("up", "--netdev", "lo", "--ip", "127.0.0.1"),
			   "mutually exclusive");
	expect_usage_error(PARSE("up", "--ip=127.0.0.1", "--netdev=lo"),
			   "mutually exclusive");
}

Test(cli_args, bad_netdevs)
{
	expect_usage_error(PARSE("up", "--netdev", ""), "invalid --netdev");
	expect_usage_error(PARSE("up", "--netdev", "averyveryverylongifname"),
			   "invalid --netdev");
	expect_usage_error(PARSE("up", "--netdev", "a/b"), "invalid --netdev");
}

Test(cli_args, unknown_translation)
{
	enum srxe_translation t;

	expect_usage_error(PARSE("up", "--translation", "tlb"),
			   "invalid --translation");
	expect_usage_error(PARSE("up", "--translation", "MTT"),
			   "invalid --translation");
	cr_assert_eq(srxe_cli_parse_translation("shortcut", &t), 0);
	cr_assert_str_eq(srxe_cli_translation_name(t), "shortcut");
	cr_assert_eq(srxe_cli_parse_translation("mtt", &t), 0);
	cr_assert_str_eq(srxe_cli_translation_name(t), "mtt");
}

Test(cli_args, up_only_options_rejected_elsewhere)
{
	expect_usage_error(PARSE("down", "--netdev", "lo"), "not valid");
	expect_usage_error(PARSE("status", "--ip", "127.0.0.1"), "not valid");
	expect_usage_error(PARSE("env", "--translation", "mtt"), "not valid");
}

Test(cli_args, missing_option_value)
{
	expect_usage_error(PARSE("up", "--name"), "needs a value");
	expect_usage_error(PARSE("up", "--ip"), "needs a value");
}

Test(cli_args, unknown_commands_and_arguments)
{
	char *only_program[] = { "srxe", NULL };

	expect_usage_error(
		srxe_cli_parse(1, only_program, &opts, err, sizeof(err)),
		"missing command");
	expect_usage_error(PARSE("start"), "unknown command 'start'");
	expect_usage_error(PARSE("--verbose"), "unknown option '--verbose'");
	expect_usage_error(PARSE("up", "--nam", "x"), "unexpected argument");
	expect_usage_error(PARSE("status", "srxe0"), "unexpected argument");
	expect_usage_error(PARSE("down", "--"), "unexpected argument");
}

Test(cli_args, exec_needs_double_dash_and_command)
{
	expect_usage_error(PARSE("exec"), "missing '-- COMMAND");
	expect_usage_error(PARSE("exec", "ibv_devices"), "after '--'");
	expect_usage_error(PARSE("exec", "--name", "srxe0", "--"),
			   "no command after '--'");
}

Test(cli_args, exec_passes_everything_after_double_dash)
{
	/* opts.exec_argv points into argv: it must outlive the checks. */
	char *argv[] = { "srxe",	"exec",	  "--name", "srxet9", "--",
			 "ibv_devinfo", "--name", "-v",	    NULL };

	cr_assert_eq(srxe_cli_parse(8, argv, &opts, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(opts.cmd, SRXE_CMD_EXEC);
	cr_assert_str_eq(opts.name, "srxet9");
	cr_assert_eq(opts.exec_argv, &argv[5]);
	cr_assert_str_eq(opts.exec_argv[0], "ibv_devinfo");
	cr_assert_str_eq(opts.exec_argv[1], "--name");
	cr_assert_str_eq(opts.exec_argv[2], "-v");
	cr_assert_null(opts.exec_argv[3]);
}

Test(cli_args, help_everywhere)
{
	cr_assert_eq(PARSE("--help"), 0);
	cr_assert(opts.help);
	cr_assert_eq(opts.cmd, SRXE_CMD_NONE);
	cr_assert_eq(PARSE("-h"), 0);
	cr_assert(opts.help);
	cr_assert_eq(PARSE("status", "--help"), 0);
	cr_assert(opts.help);
	cr_assert_eq(opts.cmd, SRXE_CMD_STATUS);
	/* Help wins over a later bad option, as in most tools. */
	cr_assert_eq(PARSE("up", "-h", "--ip", "bad"), 0);
	cr_assert(strstr(srxe_cli_usage(SRXE_CMD_EXEC), "-- COMMAND"));
	cr_assert(strstr(srxe_cli_usage(SRXE_CMD_NONE), "status"));
}
