// SPDX-License-Identifier: MIT
/* Netdev link state -> port state and port events (contract: linkwatch.h). */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "engine.h"
#include "linkwatch.h"
#include "log.h"
#include "srxe/quiet_thread.h"

static bool flags_up(unsigned int flags)
{
	return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

bool srxed_port_is_up(const struct srxed *d)
{
	return !__atomic_load_n(&d->port_down, __ATOMIC_ACQUIRE);
}

/* The state at start, so the first notification is compared to truth. */
static void read_initial(struct srxed_linkwatch *lw)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", lw->d->cfg.netdev);
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr))
		__atomic_store_n(&lw->d->port_down,
				 !flags_up((unsigned short)ifr.ifr_flags),
				 __ATOMIC_RELEASE);
	close(fd);
}

static void set_state(struct srxed_linkwatch *lw, bool up)
{
	struct srxed *d = lw->d;

	if (srxed_port_is_up(d) == up)
		return;
	__atomic_store_n(&d->port_down, !up, __ATOMIC_RELEASE);
	if (!up)
		__atomic_add_fetch(&d->link_downed, 1, __ATOMIC_RELAXED);
	log_info("netdev %s link %s: port 1 %s", d->cfg.netdev,
		 up ? "up" : "down", up ? "ACTIVE" : "DOWN");
	if (!d->engine)
		return;
	srxe_engine_lock(d->engine);
	srxe_eng_port_event(d->engine,
			    up ? IBV_EVENT_PORT_ACTIVE : IBV_EVENT_PORT_ERR);
	srxe_engine_unlock(d->engine);
}

static void handle_batch(struct srxed_linkwatch *lw, const char *buf,
			 ssize_t len)
{
	const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;

	for (; NLMSG_OK(nh, (size_t)len); nh = NLMSG_NEXT(nh, len)) {
		const struct ifinfomsg *ifi = NLMSG_DATA(nh);

		if (nh->nlmsg_type != RTM_NEWLINK &&
		    nh->nlmsg_type != RTM_DELLINK)
			continue;
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) ||
		    (unsigned int)ifi->ifi_index != lw->ifindex)
			continue;
		set_state(lw, nh->nlmsg_type == RTM_NEWLINK &&
				      flags_up(ifi->ifi_flags));
	}
}

static void *watch(void *arg)
{
	struct srxed_linkwatch *lw = arg;
	char buf[8192] __attribute__((aligned(4)));

	for (;;) {
		struct pollfd p[2] = { { .fd = lw->nl_fd, .events = POLLIN },
				       { .fd = lw->stop_fd,
					 .events = POLLIN } };
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		n = recv(lw->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == ENOBUFS) {
			read_initial(lw); /* lost notifications: resync */
			continue;
		}
		if (n > 0)
			handle_batch(lw, buf, n);
	}
	return NULL;
}

static int open_netlink(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* Every signal blocked: SIGTERM/SIGINT belong to the server loop. */
static int start_thread(struct srxed_linkwatch *lw)
{
	return -srxe_quiet_thread_create(&lw->thread, NULL, watch, lw);
}

int srxed_linkwatch_start(struct srxed_linkwatch *lw, struct srxed *d)
{
	int ret;

	memset(lw, 0, sizeof(*lw));
	lw->d = d;
	lw->nl_fd = lw->stop_fd = -1;
	lw->ifindex = if_nametoindex(d->cfg.netdev);
	if (!lw->ifindex) {
		ret = -errno;
		goto fail;
	}
	read_initial(lw);
	lw->nl_fd = open_netlink();
	if (lw->nl_fd < 0) {
		ret = lw->nl_fd;
		goto fail;
	}
	lw->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (lw->stop_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = start_thread(lw);
	if (ret)
		goto fail;
	lw->running = true;
	return 0;
fail:
	log_warn("cannot watch the link state of %s (%s): no port events",
		 d->cfg.netdev, strerror(-ret));
	srxed_linkwatch_stop(lw);
	return ret;
}

void srxed_linkwatch_stop(struct srxed_linkwatch *lw)
{
	uint64_t one = 1;

	if (lw->running) {
		if (write(lw->stop_fd, &one, sizeof(one)) < 0)
			log_warn("link watcher: cannot signal stop");
		pthread_join(lw->thread, NULL);
		lw->running = false;
	}
	if (lw->nl_fd >= 0)
		close(lw->nl_fd);
	if (lw->stop_fd >= 0)
		close(lw->stop_fd);
	lw->nl_fd = lw->stop_fd = -1;
}
