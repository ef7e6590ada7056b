// SPDX-License-Identifier: MIT
/*
 * rdma_getaddrinfo / rdma_freeaddrinfo: getaddrinfo(3) for RDMA endpoints.
 *
 * The name or address is resolved with getaddrinfo; the hints' QP type and
 * port space choose the socket type and protocol asked for, and the answer's
 * socket type and protocol give back the QP type and port space when the
 * hints leave them open (defaults: IBV_QPT_RC, RDMA_PS_TCP).  One result, as
 * rdma-core returns.  A passive result carries ai_src_addr, an active one
 * ai_dst_addr plus the source address the routing table picks for it (what
 * rdma-core reports when ibacm is running; without ibacm it leaves the
 * source empty and rdma_resolve_addr picks the same address later).
 * ai_connect and ai_route stay empty: path records do not exist on RoCE.
 *
 * Self-contained: only the public librdmacm types, no library state, so it
 * works before any device is opened (rdma-core fails with ENODEV when the
 * host has no RDMA device; here rdma_resolve_addr reports that instead).
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <endian.h>
#include <infiniband/ib.h>
#include <rdma/rdma_cma.h>

#define ADDRINFO_EXPORT __attribute__((visibility("default")))

/* The getaddrinfo hints equivalent to the RDMA hints. */
static void rai_to_ai_hints(const struct rdma_addrinfo *h, struct addrinfo *ai)
{
	memset(ai, 0, sizeof(*ai));
	if (h->ai_flags & RAI_PASSIVE)
		ai->ai_flags |= AI_PASSIVE;
	if (h->ai_flags & RAI_NUMERICHOST)
		ai->ai_flags |= AI_NUMERICHOST;

	/*
	 * AF_IB is not a getaddrinfo family: a numeric AF_IB request is a GID
	 * written as an IPv6 address, anything else resolves as IP.
	 */
	if (h->ai_family != AF_IB)
		ai->ai_family = h->ai_family;
	else if ((h->ai_flags & RAI_FAMILY) && (h->ai_flags & RAI_NUMERICHOST))
		ai->ai_family = AF_INET6;

	switch (h->ai_qp_type) {
	case IBV_QPT_RC:
	case IBV_QPT_UC:
	case IBV_QPT_XRC_SEND:
	case IBV_QPT_XRC_RECV:
		ai->ai_socktype = SOCK_STREAM;
		break;
	case IBV_QPT_UD:
		ai->ai_socktype = SOCK_DGRAM;
		break;
	default:
		break;
	}

	switch (h->ai_port_space) {
	case RDMA_PS_TCP:
		ai->ai_protocol = IPPROTO_TCP;
		break;
	case RDMA_PS_UDP:
	case RDMA_PS_IPOIB:
		ai->ai_protocol = IPPROTO_UDP;
		break;
	case RDMA_PS_IB:
		/* The IB port space carries either; follow the QP type. */
		if (ai->ai_socktype == SOCK_STREAM)
			ai->ai_protocol = IPPROTO_TCP;
		else if (ai->ai_socktype == SOCK_DGRAM)
			ai->ai_protocol = IPPROTO_UDP;
		break;
	default:
		break;
	}
}

static int dup_addr(struct sockaddr **dst, socklen_t *dst_len,
		    const struct sockaddr *src, socklen_t len)
{
	struct sockaddr *a = malloc(len);

	if (!a) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(a, src, len);
	*dst = a;
	*dst_len = len;
	return 0;
}

/* An IPv6 address as an AF_IB address whose service id is ps:port. */
static int in6_to_ib(struct sockaddr **dst, socklen_t *dst_len,
		     const struct sockaddr_in6 *in6, int ps)
{
	struct sockaddr_ib *ib = calloc(1, sizeof(*ib));
	uint16_t port = be16toh(in6->sin6_port);

	if (!ib) {
		errno = ENOMEM;
		return -1;
	}
	ib->sib_family = AF_IB;
	ib->sib_pkey = htobe16(0xffff);
	ib->sib_flowinfo = in6->sin6_flowinfo;
	memcpy(ib->sib_addr.sib_raw, &in6->sin6_addr, 16);
	ib->sib_sid = htobe64(((uint64_t)ps << 16) | port);
	if (ps)
		ib->sib_sid_mask |= htobe64(RDMA_IB_IP_PS_MASK);
	if (port)
		ib->sib_sid_mask |= htobe64(RDMA_IB_IP_PORT_MASK);
	ib->sib_scope_id = in6->sin6_scope_id;
	*dst = (struct sockaddr *)ib;
	*dst_len = sizeof(*ib);
	return 0;
}

/* Fills rai from the first getaddrinfo answer. */
static int ai_to_rai(const struct addrinfo *ai, const struct rdma_addrinfo *h,
		     struct rdma_addrinfo *rai)
{
	bool passive = ai->ai_flags & AI_PASSIVE;
	struct sockaddr **addr;
	socklen_t *len;
	char **canon;

	rai->ai_qp_type = h->ai_qp_type;
	if (!rai->ai_qp_type && ai->ai_socktype == SOCK_STREAM)
		rai->ai_qp_type = IBV_QPT_RC;
	else if (!rai->ai_qp_type && ai->ai_socktype == SOCK_DGRAM)
		rai->ai_qp_type = IBV_QPT_UD;

	rai->ai_port_space = h->ai_port_space;
	if (!rai->ai_port_space && ai->ai_protocol == IPPROTO_TCP)
		rai->ai_port_space = RDMA_PS_TCP;
	else if (!rai->ai_port_space && ai->ai_protocol == IPPROTO_UDP)
		rai->ai_port_space = RDMA_PS_UDP;

	if (passive) {
		rai->ai_flags = RAI_PASSIVE;
		addr = &rai->ai_src_addr;
		len = &rai->ai_src_len;
		canon = &rai->ai_src_canonname;
	} else {
		addr = &rai->ai_dst_addr;
		len = &rai->ai_dst_len;
		canon = &rai->ai_dst_canonname;
	}
	if (ai->ai_canonname) {
		*canon = strdup(ai->ai_canonname);
		if (!*canon) {
			errno = ENOMEM;
			return -1;
		}
	}

	if (h->ai_family == AF_IB && (h->ai_flags & RAI_FAMILY) &&
	    (h->ai_flags & RAI_NUMERICHOST) && ai->ai_family == AF_INET6) {
		rai->ai_family = AF_IB;
		return in6_to_ib(addr, len,
				 (const struct sockaddr_in6 *)ai->ai_addr,
				 rai->ai_port_space);
	}
	rai->ai_family = ai->ai_family;
	return dup_addr(addr, len, ai->ai_addr, ai->ai_addrlen);
}

/*
 * The local address the kernel would send from to reach the destination:
 * connecting a UDP socket sends nothing but runs the route lookup.  Best
 * effort; an unreachable destination is rdma_resolve_addr's to report.
 */
static void route_source(struct rdma_addrinfo *rai)
{
	struct sockaddr_storage dst, src;
	socklen_t len = sizeof(src);
	int fd;

	if (!rai->ai_dst_addr || rai->ai_dst_len > sizeof(dst))
		return;
	memcpy(&dst, rai->ai_dst_addr, rai->ai_dst_len);
	if (dst.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&dst;

		if (!in->sin_port) /* connect() needs some port */
			in->sin_port = htobe16(9);
	} else if (dst.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&dst;

		if (!in6->sin6_port)
			in6->sin6_port = htobe16(9);
	} else {
		return;
	}

	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&dst, rai->ai_dst_len) ||
	    getsockname(fd, (struct sockaddr *)&src, &len)) {
		close(fd);
		return;
	}
	close(fd);

	/* The port the kernel bound for the lookup is not the caller's. */
	if (src.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src)->sin6_port = 0;
	(void)dup_addr(&rai->ai_src_addr, &rai->ai_src_len,
		       (struct sockaddr *)&src, len);
}

ADDRINFO_EXPORT void rdma_freeaddrinfo(struct rdma_addrinfo *res)
{
	while (res) {
		struct rdma_addrinfo *next = res->ai_next;

		free(res->ai_src_addr);
		free(res->ai_dst_addr);
		free(res->ai_src_canonname);
		free(res->ai_dst_canonname);
		free(res->ai_connect);
		free(res->ai_route);
		free(res);
		res = next;
	}
}

/*
 * Returns 0, a getaddrinfo EAI_* code (as rdma-core does: callers print it
 * with gai_strerror), or -1 with errno.
 */
ADDRINFO_EXPORT int rdma_getaddrinfo(const char *node, const char *service,
				     const struct rdma_addrinfo *hints,
				     struct rdma_addrinfo **res)
{
	static const struct rdma_addrinfo no_hints;
	const struct rdma_addrinfo *h = hints ? hints : &no_hints;
	struct rdma_addrinfo *rai;
	int ret = 0;

	if ((!node && !service && !hints) || !res) {
		errno = EINVAL;
		return -1;
	}
	rai = calloc(1, sizeof(*rai));
	if (!rai) {
		errno = ENOMEM;
		return -1;
	}

	if (node || service) {
		struct addrinfo ai_hints, *ai;

		if (hints)
			rai_to_ai_hints(hints, &ai_hints);
		ret = getaddrinfo(node, service, hints ? &ai_hints : NULL, &ai);
		if (ret)
			goto err;
		ret = ai_to_rai(ai, h, rai);
		freeaddrinfo(ai);
	} else {
		/* Only hints: they are the answer (an address-less endpoint).
		 */
		rai->ai_flags = h->ai_flags;
		rai->ai_family = h->ai_family;
		rai->ai_qp_type = h->ai_qp_type;
		rai->ai_port_space = h->ai_port_space;
		if (h->ai_dst_len)
			ret = dup_addr(&rai->ai_dst_addr, &rai->ai_dst_len,
				       h->ai_dst_addr, h->ai_dst_len);
	}
	if (ret)
		goto err;

	if (!rai->ai_src_len && h->ai_src_len) {
		ret = dup_addr(&rai->ai_src_addr, &rai->ai_src_len,
			       h->ai_src_addr, h->ai_src_len);
		if (ret)
			goto err;
	}
	if (!(rai->ai_flags & RAI_PASSIVE) && !(h->ai_flags & RAI_NOROUTE) &&
	    !rai->ai_src_len)
		route_source(rai);

	if (!rai->ai_qp_type)
		rai->ai_qp_type = IBV_QPT_RC;
	if (!rai->ai_port_space)
		rai->ai_port_space = RDMA_PS_TCP;
	*res = rai;
	return 0;

err:
	rdma_freeaddrinfo(rai);
	return ret;
}
