// SPDX-License-Identifier: MIT
/*
 * Packet capture: the engine-side ring, the same-host frame synthesis and
 * the writer thread (contract in capture.h).
 */
#include "capture.h"

#include "capture_hook.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "packet/be_bytes.h"
#include "packet/icrc.h"
#include "packet/iphdr.h"
#include "packet/pcap.h"
#include "packet/wire.h"
#include "srxe/quiet_thread.h"
#include "transport/transport_udp.h"

#define CAP_SLOTS	 1024u /* power of two */
#define CAP_SLOT_DATA	 4352u /* IPv6 + UDP + headers + 4096 + pad + ICRC */
#define CAP_SNAPLEN	 65535u
#define ETH_HDR_LEN	 14
#define IPV4_HDR_LEN	 20
#define UDP_HDR_LEN	 8
#define PCAP_REC_HDR_LEN 16
/* One datagram to the client: the file header, or whole records. */
#define CAP_UNIT_MAX (64u * 1024)
_Static_assert(PCAP_REC_HDR_LEN + ETH_HDR_LEN + CAP_SLOT_DATA <= CAP_UNIT_MAX,
	       "a record fits a datagram");
#define NEIGH_MAX 16
/* Neighbour table re-read at most this often on a miss. */
#define NEIGH_REFRESH_NS 100000000ull
/* After a stop, a client that does not read for this long loses the rest. */
#define DRAIN_LIMIT_NS 5000000000ull
#define IDLE_SLEEP_NS  1000000l

struct cap_slot {
	struct timespec ts;
	uint32_t len;
	bool fill_csum; /* sent: the kernel would fill the IPv4 checksum */
	bool received;
	uint8_t data[CAP_SLOT_DATA]; /* IPv4 or IPv6 datagram */
};

struct neigh {
	uint32_t ipv4_be;
	uint8_t mac[6];
};

struct srxe_capture {
	struct srxe_engine *eng;
	int fd;
	uint64_t max;
	uint32_t snaplen;
	uint8_t mac[6];
	struct cap_slot *slots;
	uint64_t head; /* __atomic: producer publishes */
	uint64_t tail; /* __atomic: writer releases */
	/* Producer side, under the engine lock. */
	uint64_t taken, dropped;
	uint16_t ip_id;
	bool attached; /* control plane */
	int stopping;  /* __atomic */
	uint64_t stop_ns;
	pthread_t thread;
	/* Writer thread only. */
	uint64_t sent;
	struct neigh neigh[NEIGH_MAX];
	unsigned int nneigh;
	uint64_t neigh_read_ns;
	uint8_t frame[ETH_HDR_LEN + CAP_SLOT_DATA];
	FILE *mf; /* fmemopen over unit: pcap.c writes the records */
	size_t unit_len;
	uint8_t unit[CAP_UNIT_MAX + 1]; /* + fmemopen's NUL */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- producer (engine thread, engine lock held) ---- */

/* A free slot, or NULL when the limit is reached or the ring is full. */
static struct cap_slot *claim(struct srxe_capture *c)
{
	uint64_t tail = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);

	if (c->max && c->taken >= c->max)
		return NULL;
	if (c->head - tail >= CAP_SLOTS) {
		c->dropped++;
		return NULL;
	}
	return &c->slots[c->head & (CAP_SLOTS - 1)];
}

static void publish(struct srxe_capture *c, struct cap_slot *s)
{
	clock_gettime(CLOCK_REALTIME, &s->ts);
	c->taken++;
	__atomic_store_n(&c->head, c->head + 1, __ATOMIC_RELEASE);
}

void srxe_capture_ip(struct srxe_capture *c, const uint8_t *ip, size_t len,
		     bool received)
{
	struct cap_slot *s = claim(c);

	if (!s)
		return;
	if (len > CAP_SLOT_DATA) {
		c->dropped++;
		return;
	}
	memcpy(s->data, ip, len);
	s->len = (uint32_t)len;
	s->received = received;
	s->fill_csum = !received;
	publish(c, s);
}

void srxe_capture_local(struct srxe_capture *c, const struct srxe_tx_pkt *pkt,
			const struct srxe_dest *dst)
{
	uint32_t pad = srxe_pad_len(pkt->payload_len);
	size_t udp_len = UDP_HDR_LEN + pkt->hdr_len + pkt->payload_len + pad +
			 SRXE_ICRC_LEN;
	size_t ip_len = dst->ipv6 ? SRXE_IPV6_HDR_LEN : SRXE_IPV4_HDR_LEN;
	struct cap_slot *s = claim(c);
	uint8_t *udp, *p;

	if (!s)
		return;
	if (ip_len + udp_len > CAP_SLOT_DATA) {
		c->dropped++;
		return;
	}
	if (!++c->ip_id)
		c->ip_id = 1;
	/* The header the wire transport would have sent (iphdr.h). */
	srxe_ip_hdr_build(s->data, &c->eng->cfg, dst, udp_len, c->ip_id);
	udp = s->data + ip_len;
	srxe_put_be16(udp, srxe_udp_src_port(pkt->src_qpn));
	srxe_put_be16(udp + 2, SRXE_ROCE_UDP_PORT);
	srxe_put_be16(udp + 4, (uint16_t)udp_len);
	srxe_put_be16(udp + 6, 0);
	p = udp + UDP_HDR_LEN;
	memcpy(p, pkt->hdr, pkt->hdr_len);
	p += pkt->hdr_len;
	if (!srxe_tx_gather(p, pkt)) {
		c->dropped++;
		return;
	}
	memset(p + pkt->payload_len, 0, pad);
	srxe_icrc_seal(s->data, ip_len, udp, udp_len);
	s->len = (uint32_t)(ip_len + udp_len);
	s->received = false;
	s->fill_csum = true;
	publish(c, s);
}

/* ---- writer thread ---- */

static void neigh_reload(struct srxe_capture *c)
{
	char line[256], ip[64], hw[32];
	unsigned int flags;
	FILE *f = fopen("/proc/net/arp", "re");

	c->nneigh = 0;
	c->neigh_read_ns = mono_ns();
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && c->nneigh < NEIGH_MAX) {
		struct neigh *n = &c->neigh[c->nneigh];
		unsigned int a, b, d, e;

		if (sscanf(line, "%63s %*s %x %31s", ip, &flags, hw) != 3 ||
		    !(flags & 0x2) ||
		    sscanf(ip, "%u.%u.%u.%u", &a, &b, &d, &e) != 4 ||
		    sscanf(hw, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &n->mac[0],
			   &n->mac[1], &n->mac[2], &n->mac[3], &n->mac[4],
			   &n->mac[5]) != 6)
			continue;
		n->ipv4_be = htobe32(a << 24 | b << 16 | d << 8 | e);
		c->nneigh++;
	}
	fclose(f);
}

static bool neigh_find(struct srxe_capture *c, uint32_t ipv4_be, uint8_t *mac)
{
	for (unsigned int i = 0; i < c->nneigh; i++) {
		if (c->neigh[i].ipv4_be == ipv4_be) {
			memcpy(mac, c->neigh[i].mac, 6);
			return true;
		}
	}
	return false;
}

/* The MAC of a peer address: the device's own one when it is ours. */
static void peer_mac(struct srxe_capture *c, uint32_t ipv4_be, uint8_t *mac)
{
	if (ipv4_be == c->eng->cfg.ipv4_be) {
		memcpy(mac, c->mac, 6);
		return;
	}
	if (neigh_find(c, ipv4_be, mac))
		return;
	if (mono_ns() - c->neigh_read_ns >= NEIGH_REFRESH_NS)
		neigh_reload(c);
	if (!neigh_find(c, ipv4_be, mac))
		memset(mac, 0, 6);
}

/*
 * IPv6 peers are link-local: the device's own MAC for its address, a
 * group's multicast MAC, else the MAC inside a modified EUI-64 interface
 * identifier (ff:fe in the middle, universal/local bit flipped), else
 * zero.  Only the capture's Ethernet header depends on it.
 */
static void peer_mac6(struct srxe_capture *c, const uint8_t *ip6, uint8_t *mac)
{
	const uint8_t *iid = ip6 + 8;

	if (c->eng->cfg.ipv6 && !memcmp(ip6, c->eng->cfg.ipv6_ll, 16)) {
		memcpy(mac, c->mac, 6);
	} else if (ip6[0] == 0xff) {
		/* a group: 33:33 and its last 32 bits (RFC 2464) */
		mac[0] = mac[1] = 0x33;
		memcpy(mac + 2, ip6 + 12, 4);
	} else if (iid[3] == 0xff && iid[4] == 0xfe) {
		mac[0] = iid[0] ^ 0x02;
		mac[1] = iid[1];
		mac[2] = iid[2];
		memcpy(mac + 3, iid + 5, 3);
	} else {
		memset(mac, 0, 6);
	}
}

/* Ethernet + the slot's datagram in c->frame; returns the frame length. */
static uint32_t build_frame(struct srxe_capture *c, const struct cap_slot *s)
{
	uint8_t *eth = c->frame, *ip = c->frame + ETH_HDR_LEN;
	uint32_t src_be, dst_be;
	size_t ihl = (size_t)(s->data[0] & 0x0f) * 4;

	memcpy(ip, s->data, s->len);
	if (s->data[0] >> 4 == 6 && s->len >= SRXE_IPV6_HDR_LEN) {
		peer_mac6(c, s->data + SRXE_IPV6_DST_OFF, eth);
		peer_mac6(c, s->data + SRXE_IPV6_SRC_OFF, eth + 6);
		srxe_put_be16(eth + 12, 0x86dd);
		/* IPv6 has no zero UDP checksum for tshark: fill a missing
		 * one (a received datagram's is not known, see
		 * transport_udp.c). */
		if (s->len >= SRXE_IPV6_HDR_LEN + UDP_HDR_LEN &&
		    !srxe_get_be16(ip + SRXE_IPV6_HDR_LEN + 6)) {
			uint8_t *udp = ip + SRXE_IPV6_HDR_LEN;

			srxe_put_be16(
				udp + 6,
				srxe_udp6_checksum(ip, udp,
						   s->len - SRXE_IPV6_HDR_LEN));
		}
		return ETH_HDR_LEN + s->len;
	}
	memcpy(&src_be, s->data + 12, 4);
	memcpy(&dst_be, s->data + 16, 4);
	peer_mac(c, dst_be, eth);
	peer_mac(c, src_be, eth + 6);
	srxe_put_be16(eth + 12, 0x0800);
	if (s->fill_csum && ihl >= IPV4_HDR_LEN && ihl <= s->len)
		srxe_ipv4_hdr_checksum(ip, ihl);
	return ETH_HDR_LEN + s->len;
}

static bool drain_expired(struct srxe_capture *c)
{
	return __atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE) &&
	       mono_ns() - __atomic_load_n(&c->stop_ns, __ATOMIC_ACQUIRE) >
		       DRAIN_LIMIT_NS;
}

/* One datagram; 0, or -1 when the client is gone or stopped reading. */
static int send_unit(struct srxe_capture *c, size_t len)
{
	for (;;) {
		ssize_t n = send(c->fd, c->unit, len, MSG_NOSIGNAL);

		if (n == (ssize_t)len)
			return 0;
		if (n >= 0 ||
		    (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return -1;
		if (drain_expired(c))
			return -1;
	}
}

/* Sends the batch of whole records (or the file header) and empties it. */
static int flush_unit(struct srxe_capture *c)
{
	int ret = c->unit_len ? send_unit(c, c->unit_len) : 0;

	rewind(c->mf);
	c->unit_len = 0;
	return ret;
}

/* Appends the slot's record to the batch (pcap.c writes it), sending the
 * batch first when the record would not fit. */
static int add_record(struct srxe_capture *c, const struct cap_slot *s)
{
	struct srxe_pcap_writer w = { .f = c->mf, .snaplen = c->snaplen };
	uint32_t len = build_frame(c, s);
	size_t need = PCAP_REC_HDR_LEN + (len < c->snaplen ? len : c->snaplen);
	long end;

	if (c->unit_len + need > CAP_UNIT_MAX && flush_unit(c))
		return -1;
	if (srxe_pcap_write(&w, &s->ts, c->frame, len))
		return -1;
	end = ftell(c->mf);
	if (end < 0)
		return -1;
	c->unit_len = (size_t)end;
	return 0;
}

static int send_file_header(struct srxe_capture *c)
{
	struct srxe_pcap_writer w;
	long end;

	c->mf = fmemopen(c->unit, sizeof(c->unit), "w");
	if (!c->mf)
		return -1;
	setvbuf(c->mf, NULL, _IONBF, 0);
	if (srxe_pcap_writer_open(&w, c->mf, SRXE_PCAP_LINKTYPE_ETHERNET,
				  c->snaplen))
		return -1;
	end = ftell(c->mf);
	if (end <= 0)
		return -1;
	c->unit_len = (size_t)end;
	return flush_unit(c);
}

static bool finished(struct srxe_capture *c)
{
	return c->max && c->sent >= c->max;
}

/* Copies ring slots into batches; sends a batch when it is full or the
 * ring is empty, so a quiet device's packets are not held back. */
static int writer_loop(struct srxe_capture *c)
{
	const struct timespec idle = { 0, IDLE_SLEEP_NS };

	while (!finished(c)) {
		uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE);

		if (c->tail != head) {
			if (add_record(c, &c->slots[c->tail & (CAP_SLOTS - 1)]))
				return -1;
			__atomic_store_n(&c->tail, c->tail + 1,
					 __ATOMIC_RELEASE);
			c->sent++;
			continue;
		}
		if (flush_unit(c))
			return -1;
		/* The flush may have waited for the client: look again. */
		if (c->tail != __atomic_load_n(&c->head, __ATOMIC_ACQUIRE))
			continue;
		if (__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE)) {
			/* Detached before stopping was set: head is final. */
			if (c->tail ==
			    __atomic_load_n(&c->head, __ATOMIC_ACQUIRE))
				return 0;
			continue;
		}
		nanosleep(&idle, NULL);
	}
	return flush_unit(c);
}

static void *writer_main(void *arg)
{
	struct srxe_capture *c = arg;

	if (!send_file_header(c))
		writer_loop(c);
	if (c->mf)
		fclose(c->mf);
	c->mf = NULL;
	/* EOF tells the client the file is complete. */
	close(c->fd);
	c->fd = -1;
	return NULL;
}

/* ---- control plane ---- */

static struct srxe_capture *capture_new(struct srxe_engine *eng,
					const struct srxe_capture_opts *o)
{
	struct srxe_capture *c = calloc(1, sizeof(*c));
	struct timeval tv = { 0, 200000 };

	if (!c)
		return NULL;
	c->slots = calloc(CAP_SLOTS, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return NULL;
	}
	c->eng = eng;
	c->fd = o->fd;
	c->max = o->max_packets;
	c->snaplen = o->snaplen ? o->snaplen : CAP_SNAPLEN;
	memcpy(c->mac, o->mac, 6);
	/* Bounded sends, so that a stop is noticed while the client lags. */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return c;
}

int srxe_capture_start(struct srxe_engine *eng,
		       const struct srxe_capture_opts *o,
		       struct srxe_capture **out, const char **why)
{
	struct srxe_capture *c = capture_new(eng, o);
	int ret = 0;

	if (!c) {
		*why = "out of memory for the capture buffer";
		return -ENOMEM;
	}
	/* The writer never takes the engine lock: start it under the lock
	 * so that checking for another capture and attaching are one step. */
	srxe_engine_lock(eng);
	if (eng->capture) {
		ret = -EBUSY;
		*why = "a capture of this device is already running";
	} else {
		ret = -srxe_quiet_thread_create(&c->thread, NULL, writer_main,
						c);
		if (ret)
			*why = "cannot start the capture writer thread";
		else
			eng->capture = c;
	}
	srxe_engine_unlock(eng);
	if (ret) {
		free(c->slots);
		free(c);
		return ret;
	}
	c->attached = true;
	*out = c;
	return 0;
}

void srxe_capture_stop(struct srxe_capture *c, struct srxe_capture_counts *out)
{
	struct srxe_engine *eng = c->eng;

	srxe_engine_lock(eng);
	if (c->attached && eng->capture == c)
		eng->capture = NULL;
	c->attached = false;
	if (out) {
		out->captured = c->taken;
		out->dropped = c->dropped;
	}
	srxe_engine_unlock(eng);
	if (!__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&c->stop_ns, mono_ns(), __ATOMIC_RELEASE);
		__atomic_store_n(&c->stopping, 1, __ATOMIC_RELEASE);
	}
}

void srxe_capture_free(struct srxe_capture *c)
{
	if (!c)
		return;
	srxe_capture_stop(c, NULL);
	pthread_join(c->thread, NULL);
	free(c->slots);
	free(c);
}
