// SPDX-License-Identifier: MIT
/*
 * The neighbour step of rdma_resolve_addr, as the kernel's address
 * resolution (ib_addr) does it: the route to the destination names the
 * outgoing interface and the next hop (the gateway, or the destination
 * itself); the address is resolved once that next hop's link-layer
 * neighbour entry is valid.  A local destination (route type local, or an
 * interface that is loopback or has no ARP) and a multicast or broadcast
 * destination need no neighbour.  If the neighbour is not valid within
 * timeout_ms, the id gets ADDR_ERROR -ETIMEDOUT, the kernel's status for
 * that case; no route at all stays an error of the call (id.c).
 *
 * srxe itself addresses peers by IP and never needs the MAC address; the
 * lookup is there so that a destination with a route but no host behind
 * it is reported after timeout_ms, as applications expect, instead of by
 * the CM's REQ retries minutes later.
 *
 * User space cannot ask the kernel to resolve a neighbour (NTF_USE needs
 * CAP_NET_ADMIN), so the library sends one empty UDP datagram to the
 * destination's discard port (9) from the chosen source: the kernel
 * resolves the next hop (ARP / neighbour discovery) to send it.  The
 * neighbour table is then read over rtnetlink (RTM_GETNEIGH), on every
 * neighbour notification and at least every POLL_MS, until the entry is
 * valid or the time is up.  While the entry is missing or FAILED the
 * datagram is sent again every RETRIGGER_MS (the kernel likewise restarts
 * the resolution while the request waits).
 *
 * Each pending resolution has a detached thread of its own holding only
 * copies (the id's cookie, the addresses): it posts its event through the
 * cookie registry under rcm_lock, like every local event, so an id
 * destroyed meanwhile gets nothing and its memory is never touched; the
 * thread notices the destroyed id within POLL_MS and ends.
 */
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rdmacm_int.h"

#define POLL_MS	     50
#define RETRIGGER_MS 1000
#define DISCARD_PORT 9
/* The kernel's NUD_VALID (include/net/neighbour.h, not in the uapi). */
#define RCM_NUD_VALID                                                          \
	(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE |   \
	 NUD_DELAY)

struct neigh_req {
	uint64_t cookie;
	int ifindex;
	int hop_family;
	uint8_t hop[16];
	struct sockaddr_storage src, dst;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	uint32_t seq;
};

/* ----- rtnetlink ----- */

static int nl_open(unsigned groups)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = groups };
	struct timeval tv = { .tv_sec = 1 };
	int s;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		close(s);
		return -1;
	}
	/* A request is answered at once; never hang the caller on it. */
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

static void nl_put_attr(struct nlmsghdr *n, size_t room, int type,
			const void *data, size_t len)
{
	struct rtattr *rta =
		(struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	if (NLMSG_ALIGN(n->nlmsg_len) + RTA_SPACE(len) > room)
		return;
	rta->rta_type = (unsigned short)type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_SPACE(len);
}

static const void *in_addr_of(const struct sockaddr *sa, size_t *len)
{
	if (sa->sa_family == AF_INET) {
		*len = 4;
		return &((const struct sockaddr_in *)(const void *)sa)
				->sin_addr;
	}
	*len = 16;
	return &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
}

/*
 * The output route from src to dst: its type, interface and next hop.
 * 0 or a positive errno.
 */
static int route_get(const struct sockaddr *src, const struct sockaddr *dst,
		     int *type, int *ifindex, int *hop_family, uint8_t *hop)
{
	struct {
		struct nlmsghdr n;
		struct rtmsg r;
		char attrs[128];
	} req;
	union {
		struct nlmsghdr n;
		char buf[8192];
	} resp;
	const struct sockaddr_in6 *d6 = (const void *)dst;
	const void *a;
	struct nlmsghdr *n;
	struct rtattr *rta;
	size_t alen;
	ssize_t len;
	int s, ret = EIO, attrlen;
	bool have_gw = false;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.n.nlmsg_type = RTM_GETROUTE;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_seq = 1;
	req.r.rtm_family = dst->sa_family;
	a = in_addr_of(dst, &alen);
	req.r.rtm_dst_len = (unsigned char)(alen * 8);
	nl_put_attr(&req.n, sizeof(req), RTA_DST, a, alen);
	a = in_addr_of(src, &alen);
	req.r.rtm_src_len = (unsigned char)(alen * 8);
	nl_put_attr(&req.n, sizeof(req), RTA_SRC, a, alen);
	if (dst->sa_family == AF_INET6 && d6->sin6_scope_id) {
		uint32_t oif = d6->sin6_scope_id;

		nl_put_attr(&req.n, sizeof(req), RTA_OIF, &oif, sizeof(oif));
	}

	s = nl_open(0);
	if (s < 0)
		return errno;
	if (send(s, &req, req.n.nlmsg_len, 0) < 0) {
		ret = errno;
		goto out;
	}
	len = recv(s, &resp, sizeof(resp), 0);
	if (len < 0) {
		ret = errno;
		goto out;
	}
	for (n = &resp.n; NLMSG_OK(n, (size_t)len); n = NLMSG_NEXT(n, len)) {
		struct rtmsg *r = NLMSG_DATA(n);

		if (n->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(n);

			ret = e->error ? -e->error : EIO;
			goto out;
		}
		if (n->nlmsg_type != RTM_NEWROUTE)
			continue;
		*type = r->rtm_type;
		*ifindex = 0;
		attrlen = (int)RTM_PAYLOAD(n);
		for (rta = RTM_RTA(r); RTA_OK(rta, attrlen);
		     rta = RTA_NEXT(rta, attrlen)) {
			size_t pl = RTA_PAYLOAD(rta);

			if (rta->rta_type == RTA_OIF && pl >= 4) {
				memcpy(ifindex, RTA_DATA(rta), 4);
			} else if (rta->rta_type == RTA_GATEWAY &&
				   (pl == 4 || pl == 16)) {
				*hop_family = pl == 4 ? AF_INET : AF_INET6;
				memcpy(hop, RTA_DATA(rta), pl);
				have_gw = true;
			} else if (rta->rta_type == RTA_VIA &&
				   pl >= sizeof(struct rtvia)) {
				/* An IPv4 route through an IPv6 next hop. */
				struct rtvia *v = RTA_DATA(rta);
				size_t vl = pl - sizeof(*v);

				if ((v->rtvia_family == AF_INET && vl >= 4) ||
				    (v->rtvia_family == AF_INET6 && vl >= 16)) {
					*hop_family = v->rtvia_family;
					memcpy(hop, v->rtvia_addr,
					       v->rtvia_family == AF_INET ? 4
									  : 16);
					have_gw = true;
				}
			}
		}
		if (!have_gw) {
			*hop_family = dst->sa_family;
			memcpy(hop, in_addr_of(dst, &alen), alen);
		}
		ret = 0;
		goto out;
	}
out:
	close(s);
	return ret;
}

/* The NUD state of the neighbour entry for the request's next hop, 0 if
 * there is none (or the table cannot be read). */
static int neigh_state(struct neigh_req *r)
{
	struct {
		struct nlmsghdr n;
		struct ndmsg m;
	} req;
	union {
		struct nlmsghdr n;
		char buf[16384];
	} resp;
	size_t alen = r->hop_family == AF_INET ? 4 : 16;
	int s, state = 0;
	bool done = false;

	s = nl_open(0);
	if (s < 0)
		return 0;
	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	req.n.nlmsg_type = RTM_GETNEIGH;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.n.nlmsg_seq = ++r->seq;
	req.m.ndm_family = (unsigned char)r->hop_family;
	req.m.ndm_ifindex = r->ifindex;
	if (send(s, &req, req.n.nlmsg_len, 0) < 0)
		goto out;
	while (!done) {
		ssize_t len = recv(s, &resp, sizeof(resp), 0);
		struct nlmsghdr *n;

		if (len <= 0)
			break;
		for (n = &resp.n; NLMSG_OK(n, (size_t)len);
		     n = NLMSG_NEXT(n, len)) {
			struct ndmsg *m = NLMSG_DATA(n);
			struct rtattr *rta;
			int attrlen;

			if (n->nlmsg_type == NLMSG_DONE ||
			    n->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (n->nlmsg_type != RTM_NEWNEIGH ||
			    m->ndm_ifindex != r->ifindex)
				continue;
			attrlen =
				(int)(n->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
			for (rta = (struct rtattr *)((char *)m +
						     NLMSG_ALIGN(sizeof(*m)));
			     RTA_OK(rta, attrlen); rta = RTA_NEXT(rta, attrlen))
				if (rta->rta_type == NDA_DST &&
				    RTA_PAYLOAD(rta) == alen &&
				    !memcmp(RTA_DATA(rta), r->hop, alen))
					state = m->ndm_state;
		}
	}
out:
	close(s);
	return state;
}

/* Interfaces without neighbour resolution: loopback, NOARP (tun, ...). */
static bool if_needs_neigh(int ifindex)
{
	struct ifreq ifr;
	bool ret = true;
	int s;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
		return true;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return true;
	if (!ioctl(s, SIOCGIFFLAGS, &ifr) &&
	    (ifr.ifr_flags & (IFF_LOOPBACK | IFF_NOARP)))
		ret = false;
	close(s);
	return ret;
}

/* One empty datagram to dst's discard port from src: the kernel resolves
 * the next hop to send it.  Failures (an earlier one's ICMP error
 * reported on this socket, ...) change nothing: the table is watched. */
static void trigger(const struct neigh_req *r)
{
	struct sockaddr_storage s = r->src, d = r->dst;
	socklen_t len = rcm_addrlen((struct sockaddr *)&d);
	int fd;

	rcm_addr_set_port((struct sockaddr *)&s, 0);
	rcm_addr_set_port((struct sockaddr *)&d, DISCARD_PORT);
	fd = socket(d.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (!bind(fd, (struct sockaddr *)&s, len) &&
	    !connect(fd, (struct sockaddr *)&d, len))
		(void)send(fd, "", 0, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static int64_t ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(t->tv_sec - now.tv_sec) * 1000 +
	       (t->tv_nsec - now.tv_nsec) / 1000000;
}

static struct timespec ms_from_now(unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/*
 * Post the outcome for the id of cookie, if it still exists (true), under
 * rcm_lock: rdma_destroy_id unregisters the cookie under the same lock
 * before it frees anything.  type 0 only asks whether the id exists.
 */
static bool post(uint64_t cookie, enum rdma_cm_event_type type, int status,
		 bool send_it)
{
	struct rcm_ep *ep;

	pthread_mutex_lock(&rcm_lock);
	ep = rcm_ep_lookup(cookie);
	if (ep && send_it)
		rcm_post_local(ep->id, type, status, 0);
	pthread_mutex_unlock(&rcm_lock);
	return ep != NULL;
}

static void *worker(void *arg)
{
	struct neigh_req *r = arg;
	struct timespec retrigger = ms_from_now(RETRIGGER_MS);
	int mon = nl_open(RTMGRP_NEIGH);
	int status = -ETIMEDOUT, st;
	int64_t left;

	for (;;) {
		st = neigh_state(r);
		if (st & RCM_NUD_VALID) {
			status = 0;
			break;
		}
		left = ms_until(&r->deadline);
		if (left <= 0)
			break;
		if (!post(r->cookie, 0, 0, false))
			goto out; /* the id was destroyed */
		if ((!st || (st & NUD_FAILED)) && ms_until(&retrigger) <= 0) {
			trigger(r);
			retrigger = ms_from_now(RETRIGGER_MS);
		}
		if (left > POLL_MS)
			left = POLL_MS;
		if (mon >= 0) {
			struct pollfd pfd = { .fd = mon, .events = POLLIN };
			char buf[8192];

			if (poll(&pfd, 1, (int)left) > 0)
				while (recv(mon, buf, sizeof(buf),
					    MSG_DONTWAIT) > 0)
					; /* a wake-up only: re-read */
		} else {
			struct timespec ts = { .tv_nsec = left * 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	post(r->cookie,
	     status ? RDMA_CM_EVENT_ADDR_ERROR : RDMA_CM_EVENT_ADDR_RESOLVED,
	     status, true);
out:
	if (mon >= 0)
		close(mon);
	free(r);
	return NULL;
}

int rcm_neigh_resolve(struct rcm_id *rid, const struct sockaddr *src,
		      const struct sockaddr *dst, int timeout_ms, bool *pending)
{
	struct neigh_req *r;
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int type = RTN_UNICAST, ret;

	*pending = false;
	if (dst->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_MULTICAST(
		    &((const struct sockaddr_in6 *)(const void *)dst)
			     ->sin6_addr))
		return 0;
	if (dst->sa_family == AF_INET &&
	    IN_MULTICAST(ntohl(((const struct sockaddr_in *)(const void *)dst)
				       ->sin_addr.s_addr)))
		return 0;

	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	/* No route information (no rtnetlink): resolved at once, as before
	 * the neighbour step existed. */
	if (route_get(src, dst, &type, &r->ifindex, &r->hop_family, r->hop) ||
	    type != RTN_UNICAST || !r->ifindex || !if_needs_neigh(r->ifindex))
		goto done;
	r->cookie = rid->ep.cookie;
	memcpy(&r->src, src, rcm_addrlen(src));
	memcpy(&r->dst, dst, rcm_addrlen(dst));
	if (neigh_state(r) & RCM_NUD_VALID)
		goto done;
	trigger(r);
	/* A negative timeout is a huge one (ucma takes it unsigned). */
	r->deadline = ms_from_now(timeout_ms < 0 ? (unsigned)INT32_MAX
						 : (unsigned)timeout_ms);

	/* The thread takes no signal of the application's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Small: a program may resolve many ids at once (cmtime). */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	ret = pthread_create(&t, &attr, worker, r);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		free(r);
		return ret;
	}
	*pending = true;
	return 0;
done:
	free(r);
	return 0;
}
