// SPDX-License-Identifier: MIT
/*
 * The rsocket family of librdmacm (<rdma/rsocket.h>).  srxe's librdmacm
 * exports these symbols so that binaries linked against the system library
 * (rstream, riostream, rcopy, librspreload users) still load, but rsockets
 * are not implemented yet: every call fails with ENOSYS and the first one
 * says so on stderr, once per process.  docs/rdmacm.md documents this.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/types.h>

#include <rdma/rsocket.h>

/* Kept visible even when the library is built with -fvisibility=hidden. */
#define RSOCKET_EXPORT __attribute__((visibility("default")))

static atomic_flag rs_warned = ATOMIC_FLAG_INIT;

/* errno is set last so that the stderr write cannot clobber it. */
static void rs_unsupported(const char *fn)
{
	if (!atomic_flag_test_and_set(&rs_warned))
		fprintf(stderr,
			"srxe: %s: rsockets are not implemented by srxe's "
			"librdmacm; every r*() socket call fails with ENOSYS\n",
			fn);
	errno = ENOSYS;
}

RSOCKET_EXPORT int rsocket(int domain, int type, int protocol)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rbind(int socket, const struct sockaddr *addr,
			 socklen_t addrlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rlisten(int socket, int backlog)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int raccept(int socket, struct sockaddr *addr,
			   socklen_t *addrlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rconnect(int socket, const struct sockaddr *addr,
			    socklen_t addrlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rshutdown(int socket, int how)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rclose(int socket)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rrecv(int socket, void *buf, size_t len, int flags)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rrecvfrom(int socket, void *buf, size_t len, int flags,
				 struct sockaddr *src_addr, socklen_t *addrlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rrecvmsg(int socket, struct msghdr *msg, int flags)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rsend(int socket, const void *buf, size_t len, int flags)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rsendto(int socket, const void *buf, size_t len,
			       int flags, const struct sockaddr *dest_addr,
			       socklen_t addrlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rsendmsg(int socket, const struct msghdr *msg, int flags)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rread(int socket, void *buf, size_t count)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rreadv(int socket, const struct iovec *iov, int iovcnt)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rwrite(int socket, const void *buf, size_t count)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT ssize_t rwritev(int socket, const struct iovec *iov, int iovcnt)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rpoll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rselect(int nfds, fd_set *readfds, fd_set *writefds,
			   fd_set *exceptfds, struct timeval *timeout)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rgetpeername(int socket, struct sockaddr *addr,
				socklen_t *addrlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rgetsockname(int socket, struct sockaddr *addr,
				socklen_t *addrlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rsetsockopt(int socket, int level, int optname,
			       const void *optval, socklen_t optlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rgetsockopt(int socket, int level, int optname, void *optval,
			       socklen_t *optlen)
{
	rs_unsupported(__func__);
	return -1;
}

RSOCKET_EXPORT int rfcntl(int socket, int cmd, ...)
{
	rs_unsupported(__func__);
	return -1;
}

/* rdma-core returns (off_t)-1 here, the value riomap's callers test for. */
RSOCKET_EXPORT off_t riomap(int socket, void *buf, size_t len, int prot,
			    int flags, off_t offset)
{
	rs_unsupported(__func__);
	return (off_t)-1;
}

RSOCKET_EXPORT int riounmap(int socket, void *buf, size_t len)
{
	rs_unsupported(__func__);
	return -1;
}

/* size_t by its prototype: (size_t)-1 is the error value, as in rdma-core. */
RSOCKET_EXPORT size_t riowrite(int socket, const void *buf, size_t count,
			       off_t offset, int flags)
{
	rs_unsupported(__func__);
	return (size_t)-1;
}
