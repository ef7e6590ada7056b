// SPDX-License-Identifier: MIT
/*
 * rdma_getaddrinfo / rdma_freeaddrinfo of srxe's librdmacm
 * (providers/rdmacm/addrinfo.c, docs/rdmacm.md).  The file is
 * self-contained, so it is compiled into this test (with the sanitizers of
 * the test build) instead of loading the library.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netdb.h>

#include "../../providers/rdmacm/addrinfo.c"

static struct rdma_addrinfo *res;

static void release(void)
{
	rdma_freeaddrinfo(res);
	res = NULL;
}

static void expect_in4(const struct sockaddr *sa, socklen_t len, const char *ip,
		       int port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
	char buf[INET_ADDRSTRLEN];

	cr_assert(sa, "no address");
	cr_assert_eq(len, sizeof(*in));
	cr_assert_eq(in->sin_family, AF_INET);
	inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
	cr_assert_str_eq(buf, ip);
	cr_assert_eq(ntohs(in->sin_port), port);
}

TestSuite(rdmacm_addrinfo, .fini = release);

Test(rdmacm_addrinfo, passive_wildcard_defaults_to_rc_tcp)
{
	struct rdma_addrinfo h = { .ai_flags = RAI_PASSIVE,
				   .ai_family = AF_INET };

	cr_assert_eq(rdma_getaddrinfo(NULL, "7471", &h, &res), 0);
	cr_assert_eq(res->ai_flags, RAI_PASSIVE);
	cr_assert_eq(res->ai_family, AF_INET);
	cr_assert_eq(res->ai_qp_type, IBV_QPT_RC);
	cr_assert_eq(res->ai_port_space, RDMA_PS_TCP);
	expect_in4(res->ai_src_addr, res->ai_src_len, "0.0.0.0", 7471);
	cr_assert_null(res->ai_dst_addr);
	cr_assert_null(res->ai_next);
	cr_assert_null(res->ai_route);
	cr_assert_null(res->ai_connect);
}

Test(rdmacm_addrinfo, active_gets_the_routed_source_without_port)
{
	struct rdma_addrinfo h = { .ai_flags = RAI_NUMERICHOST };

	cr_assert_eq(rdma_getaddrinfo("127.0.0.1", "7471", &h, &res), 0);
	cr_assert_eq(res->ai_flags, 0);
	expect_in4(res->ai_dst_addr, res->ai_dst_len, "127.0.0.1", 7471);
	expect_in4(res->ai_src_addr, res->ai_src_len, "127.0.0.1", 0);
}

Test(rdmacm_addrinfo, noroute_leaves_the_source_empty)
{
	struct rdma_addrinfo h = { .ai_flags = RAI_NUMERICHOST | RAI_NOROUTE };

	cr_assert_eq(rdma_getaddrinfo("127.0.0.1", "7471", &h, &res), 0);
	cr_assert_null(res->ai_src_addr);
	cr_assert_eq(res->ai_src_len, 0);
}

Test(rdmacm_addrinfo, no_hints_resolves_a_stream_endpoint)
{
	cr_assert_eq(rdma_getaddrinfo("127.0.0.1", "18515", NULL, &res), 0);
	cr_assert_eq(res->ai_qp_type, IBV_QPT_RC);
	cr_assert_eq(res->ai_port_space, RDMA_PS_TCP);
	expect_in4(res->ai_dst_addr, res->ai_dst_len, "127.0.0.1", 18515);
}

Test(rdmacm_addrinfo, ud_hint_gives_the_udp_port_space)
{
	struct rdma_addrinfo h = { .ai_qp_type = IBV_QPT_UD };

	cr_assert_eq(rdma_getaddrinfo("127.0.0.1", "7174", &h, &res), 0);
	cr_assert_eq(res->ai_qp_type, IBV_QPT_UD);
	cr_assert_eq(res->ai_port_space, RDMA_PS_UDP);
}

Test(rdmacm_addrinfo, hinted_source_is_kept)
{
	struct sockaddr_in src = { .sin_family = AF_INET,
				   .sin_port = htons(5000) };
	struct rdma_addrinfo h = { .ai_src_addr = (struct sockaddr *)&src,
				   .ai_src_len = sizeof(src) };

	inet_pton(AF_INET, "127.0.0.2", &src.sin_addr);
	cr_assert_eq(rdma_getaddrinfo("127.0.0.1", "7471", &h, &res), 0);
	expect_in4(res->ai_src_addr, res->ai_src_len, "127.0.0.2", 5000);
	cr_assert_neq(res->ai_src_addr, (struct sockaddr *)&src, "not copied");
}

Test(rdmacm_addrinfo, ipv6_source_from_the_routing_table)
{
	struct rdma_addrinfo h = { .ai_flags = RAI_NUMERICHOST };
	const struct sockaddr_in6 *s;

	cr_assert_eq(rdma_getaddrinfo("::1", "7471", &h, &res), 0);
	cr_assert_eq(res->ai_family, AF_INET6);
	cr_assert_eq(res->ai_dst_len, sizeof(struct sockaddr_in6));
	if (!res->ai_src_addr)
		cr_skip_test("no IPv6 loopback route here");
	s = (const struct sockaddr_in6 *)res->ai_src_addr;
	cr_assert(IN6_IS_ADDR_LOOPBACK(&s->sin6_addr));
	cr_assert_eq(s->sin6_port, 0);
}

Test(rdmacm_addrinfo, numeric_gid_as_af_ib)
{
	struct rdma_addrinfo h = { .ai_flags = RAI_NUMERICHOST | RAI_FAMILY,
				   .ai_family = AF_IB };
	const struct sockaddr_ib *ib;

	cr_assert_eq(rdma_getaddrinfo("fe80::1", "7471", &h, &res), 0);
	cr_assert_eq(res->ai_family, AF_IB);
	cr_assert_eq(res->ai_dst_len, sizeof(*ib));
	ib = (const struct sockaddr_ib *)res->ai_dst_addr;
	cr_assert_eq(ib->sib_family, AF_IB);
	cr_assert_eq(be16toh(ib->sib_pkey), 0xffff);
	cr_assert_eq(ib->sib_addr.sib_raw[0], 0xfe);
	cr_assert_eq(ib->sib_addr.sib_raw[15], 0x01);
	cr_assert_eq(be64toh(ib->sib_sid), RDMA_IB_IP_PS_TCP | 7471);
	cr_assert_eq(be64toh(ib->sib_sid_mask),
		     RDMA_IB_IP_PS_MASK | RDMA_IB_IP_PORT_MASK);
	cr_assert_null(res->ai_src_addr, "no route lookup for AF_IB");
}

Test(rdmacm_addrinfo, hints_alone_are_the_answer)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(7471),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct rdma_addrinfo h = { .ai_family = AF_INET,
				   .ai_qp_type = IBV_QPT_UD,
				   .ai_port_space = RDMA_PS_UDP,
				   .ai_dst_addr = (struct sockaddr *)&dst,
				   .ai_dst_len = sizeof(dst) };

	cr_assert_eq(rdma_getaddrinfo(NULL, NULL, &h, &res), 0);
	cr_assert_eq(res->ai_qp_type, IBV_QPT_UD);
	cr_assert_eq(res->ai_port_space, RDMA_PS_UDP);
	expect_in4(res->ai_dst_addr, res->ai_dst_len, "127.0.0.1", 7471);
	expect_in4(res->ai_src_addr, res->ai_src_len, "127.0.0.1", 0);
}

Test(rdmacm_addrinfo, errors)
{
	struct rdma_addrinfo h = { .ai_flags = RAI_NUMERICHOST };

	errno = 0;
	cr_assert_eq(rdma_getaddrinfo(NULL, NULL, NULL, &res), -1);
	cr_assert_eq(errno, EINVAL);
	/* getaddrinfo's code comes back as is, for gai_strerror. */
	cr_assert_eq(rdma_getaddrinfo("not-an-address", "1", &h, &res),
		     EAI_NONAME);
	cr_assert_null(res);
	rdma_freeaddrinfo(NULL);
}
