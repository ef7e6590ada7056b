// SPDX-License-Identifier: MIT
/* The listen table of the device: per port space, port and address. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cm_int.h"

static bool addr_is_any(const struct srxe_cm_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == AF_INET)
		return !memcmp(a->addr, zero, 4);
	if (a->family == AF_INET6)
		return !memcmp(a->addr, zero, 16);
	return true;
}

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) and AF_INET name the same address. */
static bool addr_v4(const struct srxe_cm_addr *a, uint8_t out[4])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };

	if (a->family == AF_INET) {
		memcpy(out, a->addr, 4);
		return true;
	}
	if (a->family == AF_INET6 && !memcmp(a->addr, mapped, 12)) {
		memcpy(out, a->addr + 12, 4);
		return true;
	}
	return false;
}

static bool addr_eq(const struct srxe_cm_addr *a, const struct srxe_cm_addr *b)
{
	uint8_t va[4], vb[4];

	if (addr_v4(a, va) && addr_v4(b, vb))
		return !memcmp(va, vb, 4);
	return a->family == AF_INET6 && b->family == AF_INET6 &&
	       !memcmp(a->addr, b->addr, 16);
}

static bool addrs_overlap(const struct srxe_cm_addr *a,
			  const struct srxe_cm_addr *b)
{
	return addr_is_any(a) || addr_is_any(b) || addr_eq(a, b);
}

static bool valid_ps(uint16_t ps)
{
	return ps == SRXE_CM_PS_TCP || ps == SRXE_CM_PS_UDP ||
	       ps == SRXE_CM_PS_IB || ps == SRXE_CM_PS_IPOIB;
}

int srxe_cm_listen(struct srxe_cm *cm, void *owner, uint32_t uid,
		   const struct srxe_cm_listen_req *req, uint32_t *handle,
		   const char **why)
{
	struct cm_chan *ch = cm_chan_find(cm, req->chan_handle);
	struct cm_listen *l;
	uint32_t n = 0;

	if (!ch || ch->owner != owner) {
		*why = "no such CM event channel";
		return EINVAL;
	}
	if (!valid_ps(req->port_space)) {
		*why = "port space must be TCP, UDP, IB or IPOIB";
		return EINVAL;
	}
	if (req->reserved || req->reserved2) {
		*why = "reserved field must be 0";
		return EINVAL;
	}
	if (req->addr.family && req->addr.family != AF_INET &&
	    req->addr.family != AF_INET6) {
		*why = "address family must be AF_INET, AF_INET6 or 0";
		return EINVAL;
	}
	if (!req->addr.port) {
		*why = "listen on port 0: bind an ephemeral port first";
		return EINVAL;
	}
	if (req->addr.port < 1024 && uid != 0) {
		*why = "ports below 1024 need root (as kernel rdma_cm)";
		return EACCES;
	}
	for (l = cm->listens; l; l = l->next) {
		n++;
		if (l->ps == req->port_space && l->port == req->addr.port &&
		    addrs_overlap(&l->addr, &req->addr)) {
			*why = "port already listened on for this address";
			return EADDRINUSE;
		}
	}
	if (n >= cm->cfg.max_listens) {
		*why = "CM listen limit reached";
		return ENOMEM;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		*why = "srxed is out of memory";
		return ENOMEM;
	}
	l->o.kind = CM_OBJ_LISTEN;
	l->o.id = cm_new_id(cm);
	l->owner = owner;
	l->cookie = req->cookie;
	l->chan = ch->handle;
	l->ps = req->port_space;
	l->port = req->addr.port;
	l->addr = req->addr;
	l->backlog = req->backlog > 0 ? (uint32_t)req->backlog
				      : SRXE_CM_DEFAULT_BACKLOG;
	cm_obj_add(cm, &l->o);
	l->next = cm->listens;
	cm->listens = l;
	cm->st.listens++;
	*handle = l->o.id;
	return 0;
}

static bool hdr_matches(const struct cm_listen *l, const struct srxe_cma_hdr *h)
{
	struct srxe_cm_addr dst = { .family = AF_INET6 };

	if (addr_is_any(&l->addr))
		return true;
	if (!h)
		return false;
	if (h->ip_version == 4) {
		dst.family = AF_INET;
		memcpy(dst.addr, h->dst_addr + 12, 4);
	} else {
		memcpy(dst.addr, h->dst_addr, 16);
	}
	return addr_eq(&l->addr, &dst);
}

struct cm_listen *cm_listen_match(struct srxe_cm *cm, uint16_t ps,
				  uint16_t port, const struct srxe_cma_hdr *h,
				  bool *port_listened)
{
	struct cm_listen *l;

	*port_listened = false;
	for (l = cm->listens; l; l = l->next) {
		if (l->ps != ps || l->port != port)
			continue;
		*port_listened = true;
		if (hdr_matches(l, h))
			return l;
	}
	return NULL;
}

static void listen_unlink(struct srxe_cm *cm, struct cm_listen *l)
{
	struct cm_listen **p = &cm->listens;

	while (*p && *p != l)
		p = &(*p)->next;
	if (*p)
		*p = l->next;
}

/* Connection requests already handed out stay with the library. */
void cm_listen_free(struct srxe_cm *cm, struct cm_listen *l)
{
	struct cm_obj *o;
	unsigned int i;

	if (l->pending)
		for (i = 0; i < CM_HASH_SIZE; i++)
			for (o = cm->objs[i]; o; o = o->hnext)
				if (o->kind == CM_OBJ_CONN &&
				    ((struct cm_conn *)o)->listen == l->o.id)
					((struct cm_conn *)o)->listen = 0;
	listen_unlink(cm, l);
	cm_obj_del(cm, &l->o);
	cm->st.listens--;
	free(l);
}

void cm_listens_owner_gone(struct srxe_cm *cm, void *owner)
{
	struct cm_listen *l, *next;

	for (l = cm->listens; l; l = next) {
		next = l->next;
		if (l->owner == owner)
			cm_listen_free(cm, l);
	}
}
