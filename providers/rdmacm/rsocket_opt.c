// SPDX-License-Identifier: MIT
/*
 * rsocket names, options and rfcntl (rsocket_int.h, docs/rdmacm.md
 * "rsockets"): what sizes a connection is kept until it is made; the
 * socket options TCP programs set are kept and read back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <rdma/rsocket.h>

#include "rsocket_int.h"

static int copy_addr(const struct sockaddr *sa, struct sockaddr *addr,
		     socklen_t *addrlen)
{
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);

	memcpy(addr, sa, *addrlen < len ? *addrlen : len);
	*addrlen = len;
	return 0;
}

RSOCKET_EXPORT int rgetpeername(int socket, struct sockaddr *addr,
				socklen_t *addrlen)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	if (rs->dg)
		return rs_unlock_ret(
			rs, getpeername(rs_dgram_udp_fd(rs), addr, addrlen));
	if (rs->phase != RS_CONNECTED)
		return rs_unlock_ret(rs, rs_fail(ENOTCONN));
	return rs_unlock_ret(
		rs, copy_addr(rdma_get_peer_addr(rs->id), addr, addrlen));
}

RSOCKET_EXPORT int rgetsockname(int socket, struct sockaddr *addr,
				socklen_t *addrlen)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	if (rs->dg)
		return rs_unlock_ret(
			rs, getsockname(rs_dgram_udp_fd(rs), addr, addrlen));
	return rs_unlock_ret(
		rs, copy_addr(rdma_get_local_addr(rs->id), addr, addrlen));
}

/* Buffers and queues are sized once: at connect, or a datagram rsocket's
 * first QP. */
static bool sized(const struct rsock *rs)
{
	return rs->dg ? rs_dgram_sized(rs) : rs->cq != NULL;
}

/* Buffer sizes as Linux reports them: twice what was asked. */
static uint32_t buf_size(int v)
{
	uint64_t b = v > 0 ? (uint64_t)v * 2 : RS_DEF_BUF;

	if (b < 4096)
		b = 4096;
	if (b > RS_MAX_BUF)
		b = RS_MAX_BUF;
	return (uint32_t)b & ~1u;
}

static uint16_t qp_size(int v)
{
	if (v < (int)RS_MIN_QP)
		return RS_MIN_QP;
	return v > (int)RS_MAX_QP ? RS_MAX_QP : (uint16_t)v;
}

/* The int an option points at; *@out untouched when it is too short. */
static int int_opt(const void *optval, socklen_t optlen, int *out)
{
	if (!optval || optlen < sizeof(int))
		return rs_fail(EINVAL);
	memcpy(out, optval, sizeof(int));
	return 0;
}

static int set_socket_opt(struct rsock *rs, int name, int v, const void *optval,
			  socklen_t optlen)
{
	switch (name) {
	case SO_REUSEADDR:
		/* Best effort, as for a TCP socket bound already: rbind
		 * says whether the address is free. */
		rs->opt.reuseaddr = v;
		rdma_set_option(rs->id, RDMA_OPTION_ID,
				RDMA_OPTION_ID_REUSEADDR, &v, sizeof(v));
		return 0;
	case SO_KEEPALIVE:
		rs->opt.keepalive = v;
		return rs_keepalive_update(rs);
	case SO_SNDBUF:
	case SO_RCVBUF:
		/* A connection keeps the buffers it was made with. */
		if (!sized(rs))
			*(name == SO_SNDBUF ? &rs->opt.sbuf_size
					    : &rs->opt.rbuf_size) = buf_size(v);
		return 0;
	case SO_LINGER:
		if (optlen < sizeof(rs->opt.linger))
			return rs_fail(EINVAL);
		memcpy(&rs->opt.linger, optval, sizeof(rs->opt.linger));
		return 0;
	case SO_OOBINLINE:
		return 0;
	default:
		return rs_fail(ENOPROTOOPT);
	}
}

static int set_rdma_opt(struct rsock *rs, int name, int v)
{
	if (sized(rs) && name != RDMA_ROUTE)
		return rs_fail(EINVAL);
	switch (name) {
	case RDMA_SQSIZE:
		rs->opt.sq_size = qp_size(v);
		return 0;
	case RDMA_RQSIZE:
		rs->opt.rq_size = qp_size(v);
		return 0;
	case RDMA_INLINE:
		rs->opt.inline_size = v < 0 ? 0 : v > 1024 ? 1024 : (uint16_t)v;
		return 0;
	case RDMA_IOMAPSIZE:
		rs->opt.iomap_size = v < 0		 ? 0
				     : v > RS_MAX_IOMAPS ? RS_MAX_IOMAPS
							 : (uint16_t)v;
		return 0;
	case RDMA_ROUTE: /* resolved by rconnect itself */
		return 0;
	default:
		return rs_fail(ENOPROTOOPT);
	}
}

/* A datagram rsocket's options but SOL_RDMA's are its UDP socket's; the
 * buffer sizes also size its queues. */
static int set_dgram_opt(struct rsock *rs, int level, int name,
			 const void *optval, socklen_t optlen)
{
	int v = 0;

	if (setsockopt(rs_dgram_udp_fd(rs), level, name, optval, optlen))
		return -1;
	if (level == SOL_SOCKET && (name == SO_SNDBUF || name == SO_RCVBUF) &&
	    !sized(rs) && !int_opt(optval, optlen, &v))
		*(name == SO_SNDBUF ? &rs->opt.sbuf_size : &rs->opt.rbuf_size) =
			buf_size(v);
	return 0;
}

static int set_opt(struct rsock *rs, int level, int name, const void *optval,
		   socklen_t optlen)
{
	int v = 0;

	if (rs->dg && level != SOL_RDMA)
		return set_dgram_opt(rs, level, name, optval, optlen);
	if (!(level == SOL_RDMA && name == RDMA_ROUTE) &&
	    !(level == SOL_SOCKET && name == SO_LINGER) &&
	    int_opt(optval, optlen, &v))
		return -1;
	switch (level) {
	case SOL_SOCKET:
		return set_socket_opt(rs, name, v, optval, optlen);
	case IPPROTO_TCP:
		if (name == TCP_NODELAY) {
			rs->opt.nodelay = v;
		} else if (name == TCP_KEEPIDLE) {
			/* Linux's range for the option */
			if (v < 1 || v > RS_MAX_KEEPIDLE)
				return rs_fail(EINVAL);
			rs->opt.keepidle = v;
			return rs_keepalive_update(rs);
		}
		return 0;
	case IPPROTO_IPV6:
		if (name != IPV6_V6ONLY)
			return rs_fail(ENOPROTOOPT);
		return rdma_set_option(rs->id, RDMA_OPTION_ID,
				       RDMA_OPTION_ID_AFONLY, &v, sizeof(v));
	case SOL_RDMA:
		return set_rdma_opt(rs, name, v);
	default:
		return rs_fail(ENOPROTOOPT);
	}
}

RSOCKET_EXPORT int rsetsockopt(int socket, int level, int optname,
			       const void *optval, socklen_t optlen)
{
	struct rsock *rs = rs_lock(socket);

	if (!rs)
		return -1;
	return rs_unlock_ret(rs, set_opt(rs, level, optname, optval, optlen));
}

static int get_opt_value(struct rsock *rs, int level, int name, int *v)
{
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			*v = rs->err;
			rs->err = 0;
			return 0;
		case SO_REUSEADDR:
			*v = rs->opt.reuseaddr;
			return 0;
		case SO_KEEPALIVE:
			*v = rs->opt.keepalive;
			return 0;
		case SO_SNDBUF:
			*v = (int)rs->opt.sbuf_size;
			return 0;
		case SO_RCVBUF:
			*v = (int)rs->opt.rbuf_size;
			return 0;
		case SO_TYPE:
			*v = rs->dg ? SOCK_DGRAM : SOCK_STREAM;
			return 0;
		}
	} else if (level == IPPROTO_TCP) {
		if (name == TCP_NODELAY || name == TCP_KEEPIDLE) {
			*v = name == TCP_NODELAY ? rs->opt.nodelay
			     : rs->opt.keepidle	 ? rs->opt.keepidle
						: (int)rs_keepalive_default_s();
			return 0;
		}
		if (name == TCP_MAXSEG) {
			*v = 65536;
			return 0;
		}
	} else if (level == SOL_RDMA) {
		switch (name) {
		case RDMA_SQSIZE:
			*v = rs->opt.sq_size;
			return 0;
		case RDMA_RQSIZE:
			*v = rs->opt.rq_size;
			return 0;
		case RDMA_INLINE:
			*v = rs->opt.inline_size;
			return 0;
		case RDMA_IOMAPSIZE:
			*v = rs->opt.iomap_size;
			return 0;
		}
	}
	return rs_fail(ENOPROTOOPT);
}

/* What a datagram rsocket answers itself; set_dgram_opt hands the rest
 * (SO_REUSEADDR, SO_BROADCAST, ...) to the UDP socket, which answers. */
static bool dgram_own_opt(int level, int name)
{
	return level == SOL_SOCKET && (name == SO_ERROR || name == SO_TYPE ||
				       name == SO_SNDBUF || name == SO_RCVBUF);
}

RSOCKET_EXPORT int rgetsockopt(int socket, int level, int optname, void *optval,
			       socklen_t *optlen)
{
	struct rsock *rs = rs_lock(socket);
	int v = 0;

	if (!rs)
		return -1;
	if (rs->dg && level != SOL_RDMA && !dgram_own_opt(level, optname))
		return rs_unlock_ret(rs, getsockopt(rs_dgram_udp_fd(rs), level,
						    optname, optval, optlen));
	if (!optval || !optlen || *optlen < sizeof(int))
		return rs_unlock_ret(rs, rs_fail(EINVAL));
	if (level == SOL_SOCKET && optname == SO_ERROR)
		rs_cm_drain(rs);
	if (get_opt_value(rs, level, optname, &v))
		return rs_unlock_ret(rs, -1);
	memcpy(optval, &v, sizeof(v));
	*optlen = sizeof(v);
	return rs_unlock_ret(rs, 0);
}

RSOCKET_EXPORT int rfcntl(int socket, int cmd, ...)
{
	struct rsock *rs = rs_lock(socket);
	va_list ap;
	int ret = 0;

	if (!rs)
		return -1;
	va_start(ap, cmd);
	if (cmd == F_GETFL)
		ret = O_RDWR | rs->fflags;
	else if (cmd == F_SETFL)
		rs->fflags = va_arg(ap, int) & O_NONBLOCK;
	else
		ret = rs_fail(EINVAL);
	va_end(ap);
	return rs_unlock_ret(rs, ret);
}
