// SPDX-License-Identifier: MIT
/*
 * Device identity (kernel-shim/common/device.c) and srxed's command line
 * (kernel-shim/srxed/options.c).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>

#include "srxe/device.h"
#include "srxed/options.h"

Test(device, guid_is_eui64_of_mac)
{
	const uint8_t mac[6] = { 0x02, 0xfc, 0x00, 0x00, 0x00, 0x01 };

	cr_assert_eq(srxe_node_guid("srxe0", mac, 0), 0x00fc00fffe000001ull);
}

Test(device, guid_without_mac_is_stable_local_and_distinct)
{
	const uint8_t zero[6] = { 0 };
	uint32_t ip1 = inet_addr("127.0.0.1"), ip2 = inet_addr("10.0.0.1");
	uint64_t a = srxe_node_guid("srxe0", zero, ip1);

	cr_assert_neq(a, 0);
	cr_assert_eq(a, srxe_node_guid("srxe0", zero, ip1));
	cr_assert_eq(a, srxe_node_guid("srxe0", NULL, ip1));
	cr_assert_neq(a, srxe_node_guid("srxe1", zero, ip1));
	cr_assert_neq(a, srxe_node_guid("srxe0", zero, ip2));
	cr_assert_eq((a >> 56) & 0x03, 0x02, "not local unicast: %llx",
		     (unsigned long long)a);
}

Test(device, gids)
{
	uint8_t gid[16];
	const uint8_t ll[16] = {
		0xfe, 0x80, 0,	  0,	0,    0,    0,	  0,
		0x00, 0xfc, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01
	};
	const uint8_t v4[16] = { 0, 0, 0,    0,	   0,  0, 0, 0,
				 0, 0, 0xff, 0xff, 10, 1, 2, 3 };

	srxe_gid_link_local(0x00fc00fffe000001ull, gid);
	cr_assert_eq(memcmp(gid, ll, 16), 0);
	srxe_gid_ipv4(inet_addr("10.1.2.3"), gid);
	cr_assert_eq(memcmp(gid, v4, 16), 0);
}

Test(device, mtu_like_rxe)
{
	cr_assert_eq(srxe_ib_mtu_from_netdev(65536), IBV_MTU_4096);
	cr_assert_eq(srxe_ib_mtu_from_netdev(9000), IBV_MTU_4096);
	cr_assert_eq(srxe_ib_mtu_from_netdev(4176), IBV_MTU_4096);
	cr_assert_eq(srxe_ib_mtu_from_netdev(4175), IBV_MTU_2048);
	cr_assert_eq(srxe_ib_mtu_from_netdev(1500), IBV_MTU_1024);
	cr_assert_eq(srxe_ib_mtu_from_netdev(1400), IBV_MTU_1024);
	cr_assert_eq(srxe_ib_mtu_from_netdev(1103), IBV_MTU_512);
	cr_assert_eq(srxe_ib_mtu_from_netdev(592), IBV_MTU_512);
	cr_assert_eq(srxe_ib_mtu_from_netdev(591), IBV_MTU_256);
	cr_assert_eq(srxe_ib_mtu_from_netdev(68), IBV_MTU_256);
	cr_assert_eq(srxe_ib_mtu_from_netdev(0), IBV_MTU_256);
}

static enum srxed_parse_result parse(struct srxed_config *cfg, char *err,
				     int argc, char **argv)
{
	return srxed_parse_options(argc, argv, cfg, err, 256);
}

/* sysfs rate and query_port width/speed come from one mapping. */
Test(device, rate_text_like_the_kernel)
{
	static const struct {
		long mbps;
		uint8_t width, speed;
		const char *rate;
	} cases[] = {
		{ 0, 1, 1, "2.5 Gb/sec (1X SDR)" },
		{ 1000, 1, 1, "2.5 Gb/sec (1X SDR)" },
		{ 10000, 1, 8, "10 Gb/sec (1X FDR10)" },
		{ 20000, 2, 2, "20 Gb/sec (4X DDR)" },
		{ 25000, 1, 32, "25 Gb/sec (1X EDR)" },
		{ 40000, 2, 8, "40 Gb/sec (4X FDR10)" },
		{ 100000, 2, 32, "100 Gb/sec (4X EDR)" },
	};
	char buf[40];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct srxe_port_speed ps =
			srxe_port_speed_from_mbps(cases[i].mbps);

		cr_expect_eq(ps.width, cases[i].width, "%ld Mb/s",
			     cases[i].mbps);
		cr_expect_eq(ps.speed, cases[i].speed, "%ld Mb/s",
			     cases[i].mbps);
		srxe_port_rate_text(ps, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].rate);
	}
	cr_expect_eq(srxe_netdev_speed_mbps("lo"), 0, "lo has no speed");
}

Test(options, full_command_line)
{
	char *argv[] = { "srxed",
			 "--name",
			 "srxe0",
			 "--rundir",
			 "/run/srxe/srxe0",
			 "--ip",
			 "10.0.0.2",
			 "--netdev",
			 "eth0",
			 "--translation",
			 "mtt",
			 "--max-clients",
			 "7",
			 "--foreground",
			 NULL };
	struct srxed_config cfg;
	char err[256];

	cr_assert_eq(parse(&cfg, err, 14, argv), SRXED_PARSE_OK, "%s", err);
	cr_assert_str_eq(cfg.name, "srxe0");
	cr_assert_str_eq(cfg.rundir, "/run/srxe/srxe0");
	cr_assert_str_eq(cfg.netdev, "eth0");
	cr_assert_eq(cfg.ipv4_be, inet_addr("10.0.0.2"));
	cr_assert_eq(cfg.translation, SRXE_TRANSLATION_MTT);
	cr_assert_eq(cfg.max_clients, 7);
	cr_assert(cfg.foreground);
}

Test(options, defaults)
{
	char *argv[] = { "srxed", "--name",  "a",	 "--rundir", "/d",
			 "--ip",  "1.2.3.4", "--netdev", "lo",	     NULL };
	struct srxed_config cfg;
	char err[256];

	cr_assert_eq(parse(&cfg, err, 9, argv), SRXED_PARSE_OK, "%s", err);
	cr_assert_eq(cfg.translation, SRXE_TRANSLATION_SHORTCUT);
	cr_assert_eq(cfg.max_clients, SRXED_DEFAULT_MAX_CLIENTS);
}

Test(options, errors_name_the_problem)
{
	struct {
		char *opt, *val, *msg;
	} bad[] = {
		{ "--ip", "1.2.3", "--ip" },
		{ "--name", "bad/name", "--name" },
		{ "--name", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "--name" },
		{ "--netdev", "../x", "--netdev" },
		{ "--translation", "fast", "--translation" },
		{ "--max-clients", "0", "--max-clients" },
		{ "--max-clients", "-1", "--max-clients" },
		{ "--max-clients", "12x", "--max-clients" },
		{ "--bogus", "x", "--bogus" },
	};
	struct srxed_config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = { "srxed", "--name",   "a",	  "--rundir",
				 "/d",	  "--ip",     "1.2.3.4",  "--netdev",
				 "lo",	  bad[i].opt, bad[i].val, NULL };

		err[0] = '\0';
		cr_assert_eq(parse(&cfg, err, 11, argv), SRXED_PARSE_ERROR,
			     "%s %s accepted", bad[i].opt, bad[i].val);
		cr_assert(strstr(err, bad[i].msg), "'%s' for %s", err,
			  bad[i].opt);
	}
}

Test(options, missing_required_and_help)
{
	char *missing[] = { "srxed", "--name", "a",	  "--rundir",
			    "/d",    "--ip",   "1.2.3.4", NULL };
	char *help[] = { "srxed", "--help", NULL };
	struct srxed_config cfg;
	char err[256];

	cr_assert_eq(parse(&cfg, err, 7, missing), SRXED_PARSE_ERROR);
	cr_assert(strstr(err, "--netdev"), "%s", err);
	cr_assert_eq(parse(&cfg, err, 2, help), SRXED_PARSE_HELP);
}
