// SPDX-License-Identifier: MIT
/*
 * Checks of srxe's librdmacm that need no CM peer (tests/integration/
 * test_rdmacm_local.sh): port reservation, address and route resolution,
 * event channel behaviour, synchronous ids, DEVICE_REMOVAL.
 *   rdmacm_local bind IP          EADDRINUSE, ephemeral ports, REUSEADDR
 *   rdmacm_local eacces IP        port < 1024 as non-root: EACCES
 *   rdmacm_local resolve SRC DST  ADDR/ROUTE_RESOLVED, O_NONBLOCK, sync id
 *   rdmacm_local noroute DST      ADDR_ERROR -ENODEV (source not on srxe)
 *   rdmacm_local neigh DST MS     address resolution with timeout MS:
 *                                 ADDR_RESOLVED or ADDR_ERROR -ETIMEDOUT
 *                                 (printed with the time it took), the
 *                                 id's state meanwhile and afterwards, a
 *                                 synchronous id, rdma_destroy_id while
 *                                 resolving (no event after it)
 *   rdmacm_local removal IP       DEVICE_REMOVAL when srxed dies
 *   rdmacm_local listenany        wildcard bind prepares the devices, so
 *                                 the listen after it is quick (qperf)
 *   rdmacm_local nodev            wildcard listen without a device: ENODEV
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rdma/rdma_cma.h>

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fprintf(stderr, "\n");                                 \
			exit(1);                                               \
		}                                                              \
	} while (0)

/* A numeric address; IPv6 may carry a scope (fe80::1%eth0). */
static struct sockaddr_storage addr_of(const char *ip, uint16_t port)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST,
				  .ai_socktype = SOCK_DGRAM };
	struct sockaddr_storage ss;
	struct addrinfo *res;

	CHECK(!getaddrinfo(ip, NULL, &hints, &res), "bad address %s", ip);
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	return ss;
}

static struct rdma_cm_event *wait_event(struct rdma_event_channel *ch,
					enum rdma_cm_event_type want,
					int timeout_ms)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	CHECK(poll(&pfd, 1, timeout_ms) == 1, "no event within %d ms",
	      timeout_ms);
	CHECK(!rdma_get_cm_event(ch, &ev), "rdma_get_cm_event: %s",
	      strerror(errno));
	CHECK(ev->event == want, "got %s (status %d), want %s",
	      rdma_event_str(ev->event), ev->status, rdma_event_str(want));
	return ev;
}

static int cmd_bind(const char *ip)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct rdma_cm_id *a, *b, *c, *d;
	struct sockaddr_storage ss;
	int one = 1;
	uint16_t port;

	CHECK(ch, "rdma_create_event_channel: %s", strerror(errno));
	CHECK(!rdma_create_id(ch, &a, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_create_id(ch, &b, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_create_id(ch, &c, NULL, RDMA_PS_UDP), "create_id");
	CHECK(!rdma_create_id(ch, &d, NULL, RDMA_PS_TCP), "create_id");

	ss = addr_of(ip, 0);
	CHECK(!rdma_bind_addr(a, (struct sockaddr *)&ss), "bind port 0: %s",
	      strerror(errno));
	port = ntohs(rdma_get_src_port(a));
	CHECK(port >= 32768 || port >= 1024, "ephemeral port %u", port);
	CHECK(a->verbs, "bound to a specific address but no device");
	printf("ephemeral port %u on %s\n", port, a->verbs->device->name);

	ss = addr_of(ip, port);
	CHECK(rdma_bind_addr(b, (struct sockaddr *)&ss) && errno == EADDRINUSE,
	      "second bind of port %u: %s", port, strerror(errno));
	printf("second bind of %u: EADDRINUSE\n", port);
	/* Another port space is another name space. */
	CHECK(!rdma_bind_addr(c, (struct sockaddr *)&ss),
	      "UDP bind of TCP port %u: %s", port, strerror(errno));
	/* REUSEADDR lets a non-listening id share it; listen then fails. */
	CHECK(!rdma_set_option(d, RDMA_OPTION_ID, RDMA_OPTION_ID_REUSEADDR,
			       &one, sizeof(one)),
	      "REUSEADDR");
	CHECK(!rdma_bind_addr(d, (struct sockaddr *)&ss), "REUSEADDR bind: %s",
	      strerror(errno));
	CHECK(rdma_listen(d, 1) && errno == EADDRINUSE,
	      "listen on a shared port: %s", strerror(errno));
	printf("REUSEADDR bind ok, its listen: EADDRINUSE\n");

	CHECK(!rdma_destroy_id(a), "destroy");
	/* The port is free again once its owner is gone. */
	ss = addr_of(ip, port);
	CHECK(!rdma_create_id(ch, &a, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_bind_addr(a, (struct sockaddr *)&ss), "rebind %u: %s", port,
	      strerror(errno));
	printf("port %u free again after destroy\n", port);
	rdma_destroy_id(a);
	rdma_destroy_id(b);
	rdma_destroy_id(c);
	rdma_destroy_id(d);
	rdma_destroy_event_channel(ch);
	return 0;
}

static int cmd_eacces(const char *ip)
{
	struct rdma_cm_id *id;
	struct sockaddr_storage ss = addr_of(ip, 999);

	CHECK(!rdma_create_id(NULL, &id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(rdma_bind_addr(id, (struct sockaddr *)&ss) && errno == EACCES,
	      "bind port 999 as uid %d: %s", (int)getuid(), strerror(errno));
	printf("uid %d, port 999: EACCES\n", (int)getuid());
	rdma_destroy_id(id);
	return 0;
}

static int cmd_resolve(const char *src, const char *dst)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct sockaddr_storage s = addr_of(src, 0), d = addr_of(dst, 7471);
	struct ibv_port_attr pattr;
	struct rdma_cm_event *ev;
	struct rdma_cm_id *id;
	uint8_t tos = 32;
	int flags;

	CHECK(ch, "channel");
	flags = fcntl(ch->fd, F_GETFL);
	CHECK(!fcntl(ch->fd, F_SETFL, flags | O_NONBLOCK), "O_NONBLOCK");
	CHECK(rdma_get_cm_event(ch, &ev) && errno == EAGAIN,
	      "empty non-blocking channel: %s", strerror(errno));
	printf("empty O_NONBLOCK channel: EAGAIN\n");

	CHECK(!rdma_create_id(ch, &id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_TOS, &tos,
			       sizeof(tos)),
	      "TOS");
	CHECK(!rdma_resolve_addr(id, NULL, (struct sockaddr *)&d, 2000),
	      "resolve_addr: %s", strerror(errno));
	ev = wait_event(ch, RDMA_CM_EVENT_ADDR_RESOLVED, 2000);
	CHECK(ev->id == id && ev->status == 0, "event id/status");
	CHECK(!rdma_ack_cm_event(ev), "ack");
	CHECK(id->verbs, "no device after ADDR_RESOLVED");
	CHECK(rdma_get_src_port(id) != 0, "no source port");
	CHECK(!memcmp(&((struct sockaddr_in *)&s)->sin_addr,
		      &id->route.addr.src_sin.sin_addr, 4) ||
		      s.ss_family != AF_INET,
	      "source address is not %s", src);
	printf("ADDR_RESOLVED: %s, source port %u\n", id->verbs->device->name,
	       ntohs(rdma_get_src_port(id)));

	CHECK(!rdma_resolve_route(id, 2000), "resolve_route: %s",
	      strerror(errno));
	ev = wait_event(ch, RDMA_CM_EVENT_ROUTE_RESOLVED, 2000);
	rdma_ack_cm_event(ev);
	CHECK(!ibv_query_port(id->verbs, id->port_num, &pattr), "query_port");
	CHECK(id->route.num_paths == 1 && id->route.path_rec, "no path record");
	CHECK(id->route.path_rec->mtu == pattr.active_mtu, "path mtu %d != %d",
	      id->route.path_rec->mtu, pattr.active_mtu);
	CHECK(id->route.path_rec->traffic_class == tos, "traffic class %u",
	      id->route.path_rec->traffic_class);
	printf("ROUTE_RESOLVED: mtu %d, hop limit %u, tclass %u\n",
	       id->route.path_rec->mtu, id->route.path_rec->hop_limit,
	       id->route.path_rec->traffic_class);
	CHECK(!rdma_destroy_id(id), "destroy");

	/* A synchronous id: the calls return once their event is in. */
	CHECK(!rdma_create_id(NULL, &id, NULL, RDMA_PS_UDP), "sync create_id");
	CHECK(!rdma_resolve_addr(id, (struct sockaddr *)&s,
				 (struct sockaddr *)&d, 2000),
	      "sync resolve_addr: %s", strerror(errno));
	CHECK(id->event && id->event->event == RDMA_CM_EVENT_ADDR_RESOLVED,
	      "sync: no ADDR_RESOLVED");
	CHECK(!rdma_resolve_route(id, 2000), "sync resolve_route");
	CHECK(id->event && id->event->event == RDMA_CM_EVENT_ROUTE_RESOLVED,
	      "sync: no ROUTE_RESOLVED");
	printf("synchronous id: resolve_addr and resolve_route returned with "
	       "their events\n");
	CHECK(!rdma_destroy_id(id), "sync destroy");
	rdma_destroy_event_channel(ch);
	return 0;
}

static int cmd_noroute(const char *dst)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct sockaddr_storage d = addr_of(dst, 7471);
	struct rdma_cm_event *ev;
	struct rdma_cm_id *id;

	CHECK(!rdma_create_id(ch, &id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_resolve_addr(id, NULL, (struct sockaddr *)&d, 2000),
	      "resolve_addr: %s", strerror(errno));
	ev = wait_event(ch, RDMA_CM_EVENT_ADDR_ERROR, 2000);
	CHECK(ev->status == -ENODEV, "status %d", ev->status);
	printf("ADDR_ERROR status %d\n", ev->status);
	rdma_ack_cm_event(ev);
	rdma_destroy_id(id);
	rdma_destroy_event_channel(ch);
	return 0;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int cmd_neigh(const char *dst, int timeout_ms)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct sockaddr_storage d = addr_of(dst, 7471);
	struct pollfd pfd;
	struct rdma_cm_event *ev;
	struct rdma_cm_id *id, *ids[8];
	long t0, dt;
	int i, ret;
	bool resolved;

	CHECK(ch, "channel");
	CHECK(!rdma_create_id(ch, &id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_resolve_addr(id, NULL, (struct sockaddr *)&d, timeout_ms),
	      "resolve_addr: %s", strerror(errno));
	t0 = now_ms(); /* the timeout runs from the call */
	/* Until its event is read the id is resolving: no route yet, and
	 * no second resolution (kernel rdma_cm: EINVAL both). */
	CHECK(rdma_resolve_route(id, 1000) && errno == EINVAL,
	      "resolve_route while resolving: %s", strerror(errno));
	CHECK(rdma_resolve_addr(id, NULL, (struct sockaddr *)&d, timeout_ms) &&
		      errno == EINVAL,
	      "second resolve_addr while resolving: %s", strerror(errno));
	pfd.fd = ch->fd;
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, timeout_ms + 5000) == 1, "no event within %d ms",
	      timeout_ms + 5000);
	CHECK(!rdma_get_cm_event(ch, &ev), "get_cm_event: %s", strerror(errno));
	dt = now_ms() - t0;
	CHECK(ev->id == id, "event of another id");
	resolved = ev->event == RDMA_CM_EVENT_ADDR_RESOLVED;
	CHECK(resolved || ev->event == RDMA_CM_EVENT_ADDR_ERROR,
	      "unexpected %s", rdma_event_str(ev->event));
	printf("%s status %d after %ld ms\n", rdma_event_str(ev->event),
	       ev->status, dt);
	CHECK(resolved || ev->status == -ETIMEDOUT, "ADDR_ERROR status %d",
	      ev->status);
	rdma_ack_cm_event(ev);

	if (resolved) {
		CHECK(!rdma_resolve_route(id, 1000), "resolve_route: %s",
		      strerror(errno));
		rdma_ack_cm_event(
			wait_event(ch, RDMA_CM_EVENT_ROUTE_RESOLVED, 2000));
		printf("then ROUTE_RESOLVED\n");
		CHECK(!rdma_destroy_id(id), "destroy");
	} else {
		/* Back to bound, as the kernel's addr_handler leaves it. */
		CHECK(rdma_resolve_route(id, 1000) && errno == EINVAL,
		      "resolve_route after ADDR_ERROR: %s", strerror(errno));
		printf("after ADDR_ERROR: resolve_route EINVAL, id bound\n");
		CHECK(!rdma_resolve_addr(id, NULL, (struct sockaddr *)&d,
					 timeout_ms),
		      "resolve_addr again: %s", strerror(errno));
		/* Destroyed while resolving, with more ids resolving on the
		 * channel: nothing arrives for it afterwards. */
		for (i = 0; i < 8; i++) {
			CHECK(!rdma_create_id(ch, &ids[i], NULL, RDMA_PS_TCP),
			      "create_id %d", i);
			CHECK(!rdma_resolve_addr(ids[i], NULL,
						 (struct sockaddr *)&d,
						 timeout_ms / (i + 1)),
			      "resolve_addr %d", i);
		}
		CHECK(!rdma_destroy_id(id), "destroy while resolving");
		for (i = 0; i < 8; i += 2)
			CHECK(!rdma_destroy_id(ids[i]), "destroy %d", i);
		for (i = 1; i < 8; i += 2) {
			ev = wait_event(ch, RDMA_CM_EVENT_ADDR_ERROR,
					timeout_ms + 5000);
			CHECK(ev->id == ids[1] || ev->id == ids[3] ||
				      ev->id == ids[5] || ev->id == ids[7],
			      "event for a destroyed id");
			rdma_ack_cm_event(ev);
		}
		CHECK(poll(&pfd, 1, timeout_ms + 500) == 0,
		      "an event after the ids were destroyed");
		for (i = 1; i < 8; i += 2)
			CHECK(!rdma_destroy_id(ids[i]), "destroy %d", i);
		printf("destroyed while resolving: no event\n");
	}

	/* A synchronous id: the call returns with the outcome. */
	CHECK(!rdma_create_id(NULL, &id, NULL, RDMA_PS_TCP), "sync create_id");
	t0 = now_ms();
	ret = rdma_resolve_addr(id, NULL, (struct sockaddr *)&d, timeout_ms);
	dt = now_ms() - t0;
	if (resolved) {
		CHECK(!ret, "sync resolve_addr: %s", strerror(errno));
		CHECK(id->event &&
			      id->event->event == RDMA_CM_EVENT_ADDR_RESOLVED,
		      "sync: no ADDR_RESOLVED");
		printf("sync: resolved after %ld ms\n", dt);
	} else {
		CHECK(ret && errno == ETIMEDOUT, "sync resolve_addr: %d %s",
		      ret, strerror(errno));
		printf("sync: ETIMEDOUT after %ld ms\n", dt);
	}
	CHECK(!rdma_destroy_id(id), "sync destroy");
	rdma_destroy_event_channel(ch);
	return 0;
}

static int cmd_removal(const char *ip)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct sockaddr_storage ss = addr_of(ip, 0);
	struct rdma_cm_event *ev;
	struct rdma_cm_id *id;

	CHECK(!rdma_create_id(ch, &id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_bind_addr(id, (struct sockaddr *)&ss), "bind: %s",
	      strerror(errno));
	printf("ready\n");
	fflush(stdout);
	ev = wait_event(ch, RDMA_CM_EVENT_DEVICE_REMOVAL, 20000);
	CHECK(ev->id == id, "removal for another id");
	printf("DEVICE_REMOVAL\n");
	rdma_ack_cm_event(ev);
	CHECK(!rdma_destroy_id(id), "destroy after removal");
	rdma_destroy_event_channel(ch);
	return 0;
}

/*
 * qperf 0.4.11 publishes the port of a wildcard bind before it listens: the
 * devices must be ready when rdma_bind_addr returns (the script checks
 * srxed's status between "bound" and the line it sends on stdin).
 */
static int cmd_listenany(void)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct sockaddr_storage ss = addr_of("0.0.0.0", 0);
	struct rdma_cm_id *id;
	char line[16];

	CHECK(ch, "rdma_create_event_channel: %s", strerror(errno));
	CHECK(!rdma_create_id(ch, &id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_bind_addr(id, (struct sockaddr *)&ss), "bind: %s",
	      strerror(errno));
	printf("bound port %u\n", ntohs(rdma_get_src_port(id)));
	fflush(stdout);
	CHECK(fgets(line, sizeof(line), stdin), "no go-ahead on stdin");
	CHECK(!rdma_listen(id, 0), "listen: %s", strerror(errno));
	printf("listening\n");
	rdma_destroy_id(id);
	rdma_destroy_event_channel(ch);
	return 0;
}

static int cmd_nodev(void)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct sockaddr_storage ss = addr_of("0.0.0.0", 0);
	struct rdma_cm_id *id;

	if (!ch) {
		/* As rdma-core: no device at all fails here already. */
		CHECK(errno == ENODEV, "create_event_channel: %s",
		      strerror(errno));
		printf("listen without a device: ENODEV\n");
		return 0;
	}
	CHECK(!rdma_create_id(ch, &id, NULL, RDMA_PS_TCP), "create_id");
	CHECK(!rdma_bind_addr(id, (struct sockaddr *)&ss), "bind: %s",
	      strerror(errno));
	CHECK(rdma_listen(id, 0) == -1 && errno == ENODEV,
	      "listen without a device: %s", strerror(errno));
	printf("listen without a device: ENODEV\n");
	rdma_destroy_id(id);
	rdma_destroy_event_channel(ch);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "bind"))
		return cmd_bind(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "eacces"))
		return cmd_eacces(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "resolve"))
		return cmd_resolve(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "noroute"))
		return cmd_noroute(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "neigh"))
		return cmd_neigh(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "removal"))
		return cmd_removal(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "listenany"))
		return cmd_listenany();
	if (argc == 2 && !strcmp(argv[1], "nodev"))
		return cmd_nodev();
	fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
	return 2;
}
