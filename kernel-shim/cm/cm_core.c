// SPDX-License-Identifier: MIT
/* The CM's objects: handles, hash tables, channels and their events. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_int.h"

void cm_log(struct srxe_cm *cm, enum srxe_cm_log_level lvl, const char *fmt,
	    ...)
{
	char line[256];
	va_list ap;

	if (!cm->ops.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cm->ops.log(cm->opaque, lvl, line);
}

uint64_t srxe_cm_time_ms(unsigned int t)
{
	uint64_t ns = 4096ull << (t > 31 ? 31 : t);
	uint64_t ms = ns / 1000000;

	return ms ? ms : 1;
}

/* xorshift64*: comm ids and TIDs need to be unlikely to repeat across
 * restarts, not unpredictable (IBA relies on TimeWait, not secrecy). */
uint32_t cm_random(struct srxe_cm *cm)
{
	uint64_t x = cm->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	cm->rng = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

uint64_t cm_new_tid(struct srxe_cm *cm)
{
	return ((uint64_t)(cm->rng >> 32) << 32) | ++cm->tid_lo;
}

static unsigned int hash32(uint32_t v)
{
	return (v * 0x9e3779b1u) >> (32 - CM_HASH_BITS);
}

struct cm_obj *cm_obj_find(struct srxe_cm *cm, uint32_t id)
{
	struct cm_obj *o;

	for (o = cm->objs[hash32(id)]; o; o = o->hnext)
		if (o->id == id)
			return o;
	return NULL;
}

uint32_t cm_new_id(struct srxe_cm *cm)
{
	uint32_t id;

	do
		id = cm_random(cm);
	while (!id || cm_obj_find(cm, id));
	return id;
}

void cm_obj_add(struct srxe_cm *cm, struct cm_obj *o)
{
	unsigned int h = hash32(o->id);

	o->hnext = cm->objs[h];
	cm->objs[h] = o;
}

void cm_obj_del(struct srxe_cm *cm, struct cm_obj *o)
{
	struct cm_obj **p = &cm->objs[hash32(o->id)];

	while (*p && *p != o)
		p = &(*p)->hnext;
	if (*p)
		*p = o->hnext;
	o->hnext = NULL;
}

struct cm_conn *cm_conn_find(struct srxe_cm *cm, uint32_t id)
{
	struct cm_obj *o = cm_obj_find(cm, id);

	return o && o->kind == CM_OBJ_CONN ? (struct cm_conn *)o : NULL;
}

struct cm_conn *cm_conn_of(struct srxe_cm *cm, void *owner, uint32_t handle)
{
	struct cm_conn *c = cm_conn_find(cm, handle);

	return c && owner && c->owner == owner ? c : NULL;
}

bool cm_gid_eq(const uint8_t a[16], const uint8_t b[16])
{
	return !memcmp(a, b, 16);
}

struct cm_chan *cm_chan_find(struct srxe_cm *cm, uint32_t handle)
{
	struct cm_chan *ch;

	for (ch = cm->chans; ch; ch = ch->next)
		if (ch->handle == handle)
			return ch;
	return NULL;
}

int srxe_cm_create(const struct srxe_cm_config *cfg,
		   const struct srxe_cm_ops *ops, void *opaque,
		   struct srxe_cm **out)
{
	struct srxe_cm *cm = calloc(1, sizeof(*cm));
	uint64_t seed = 0;

	if (!cm)
		return -ENOMEM;
	cm->cfg = *cfg;
	cm->ops = *ops;
	cm->opaque = opaque;
	if (!cm->cfg.max_conns)
		cm->cfg.max_conns = SRXE_CM_DEFAULT_MAX_CONNS;
	if (!cm->cfg.max_listens)
		cm->cfg.max_listens = 1024;
	if (!cm->cfg.max_channels)
		cm->cfg.max_channels = 1024;
	if (cfg->seed)
		seed = cfg->seed;
	else if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^
		       (uintptr_t)cm;
	cm->rng = seed | 1;
	cm_random(cm);
	cm->tid_lo = cm_random(cm) & 0xffff;
	*out = cm;
	return 0;
}

static void chan_close(struct srxe_cm *cm, struct cm_chan *ch)
{
	struct cm_chan_ev *e;

	while ((e = ch->qhead)) {
		ch->qhead = e->next;
		cm->queued--;
		free(e);
	}
	if (ch->want_out && cm->ops.want_write)
		cm->ops.want_write(cm->opaque, ch->fd, ch->handle, false);
	if (cm->ops.close_fd)
		cm->ops.close_fd(cm->opaque, ch->fd);
	else
		close(ch->fd);
	cm->st.channels--;
	free(ch);
}

void srxe_cm_free(struct srxe_cm *cm)
{
	struct cm_chan *ch;
	struct cm_obj *o;
	unsigned int i;

	if (!cm)
		return;
	for (i = 0; i < CM_HASH_SIZE; i++) {
		while ((o = cm->objs[i])) {
			cm->objs[i] = o->hnext;
			free(o); /* struct cm_obj leads both kinds */
		}
	}
	while ((ch = cm->chans)) {
		cm->chans = ch->next;
		chan_close(cm, ch);
	}
	free(cm);
}

void srxe_cm_get_stats(const struct srxe_cm *cm, struct srxe_cm_stats *st)
{
	*st = cm->st;
}

int srxe_cm_add_channel(struct srxe_cm *cm, void *owner, int fd, uint32_t *chan,
			const char **why)
{
	struct cm_chan *ch;
	struct stat sb;

	if (fd < 0) {
		*why = "CM_ADD_CHANNEL needs the channel socket as SCM_RIGHTS";
		return EINVAL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
		*why = "the event channel fd must be a socket";
		return EINVAL;
	}
	if (cm->st.channels >= cm->cfg.max_channels) {
		*why = "CM event channel limit reached";
		return ENOMEM;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		*why = "srxed is out of memory";
		return ENOMEM;
	}
	do
		ch->handle = ++cm->next_chan;
	while (!ch->handle || cm_chan_find(cm, ch->handle));
	ch->owner = owner;
	ch->fd = fd;
	ch->next = cm->chans;
	cm->chans = ch;
	cm->st.channels++;
	*chan = ch->handle;
	return 0;
}

static bool chan_in_use(struct srxe_cm *cm, uint32_t chan)
{
	struct cm_listen *l;
	struct cm_obj *o;
	unsigned int i;

	for (l = cm->listens; l; l = l->next)
		if (l->chan == chan)
			return true;
	for (i = 0; i < CM_HASH_SIZE; i++)
		for (o = cm->objs[i]; o; o = o->hnext)
			if (o->kind == CM_OBJ_CONN &&
			    ((struct cm_conn *)o)->owner &&
			    ((struct cm_conn *)o)->chan == chan)
				return true;
	return false;
}

static void chan_unlink(struct srxe_cm *cm, struct cm_chan *ch)
{
	struct cm_chan **p = &cm->chans;

	while (*p != ch)
		p = &(*p)->next;
	*p = ch->next;
}

int srxe_cm_del_channel(struct srxe_cm *cm, void *owner, uint32_t chan,
			const char **why)
{
	struct cm_chan *ch = cm_chan_find(cm, chan);

	if (!ch || ch->owner != owner) {
		*why = "no such CM event channel";
		return EINVAL;
	}
	if (chan_in_use(cm, chan)) {
		*why = "listens or connections still use this channel";
		return EBUSY;
	}
	chan_unlink(cm, ch);
	chan_close(cm, ch);
	return 0;
}

void cm_chans_owner_gone(struct srxe_cm *cm, void *owner)
{
	struct cm_chan **p = &cm->chans, *ch;

	while ((ch = *p)) {
		if (ch->owner == owner) {
			*p = ch->next;
			chan_close(cm, ch);
		} else {
			p = &ch->next;
		}
	}
}

/* Writes queued events in order; stops at the first that does not fit. */
static void chan_flush(struct srxe_cm *cm, struct cm_chan *ch)
{
	struct cm_chan_ev *e;
	int ret;

	while ((e = ch->qhead) && !ch->dead) {
		ret = cm->ops.write_event(cm->opaque, ch->fd, &e->ev);
		if (ret == -EAGAIN)
			return;
		if (ret) {
			ch->dead = true;
			cm_log(cm, SRXE_CM_LOG_INFO,
			       "CM channel %u: event write failed (%s): "
			       "events dropped",
			       ch->handle, strerror(-ret));
			break;
		}
		ch->qhead = e->next;
		ch->qlen--;
		cm->queued--;
		free(e);
	}
	while ((e = ch->qhead)) {
		ch->qhead = e->next;
		cm->st.events_dropped++;
		cm->queued--;
		free(e);
	}
	ch->qtail = NULL;
	ch->qlen = 0;
	if (ch->want_out) {
		ch->want_out = false;
		if (cm->ops.want_write)
			cm->ops.want_write(cm->opaque, ch->fd, ch->handle,
					   false);
	}
}

void srxe_cm_chan_writable(struct srxe_cm *cm, uint32_t chan)
{
	struct cm_chan *ch = cm_chan_find(cm, chan);

	if (ch)
		chan_flush(cm, ch);
}

bool cm_emit(struct srxe_cm *cm, uint32_t chan, const struct srxe_cm_event *ev)
{
	struct cm_chan *ch = cm_chan_find(cm, chan);
	struct cm_chan_ev *e;
	int ret;

	if (!ch || ch->dead) {
		cm->st.events_dropped++;
		return false;
	}
	if (!ch->qhead) {
		ret = cm->ops.write_event(cm->opaque, ch->fd, ev);
		if (!ret) {
			cm->st.events++;
			return true;
		}
		if (ret != -EAGAIN) {
			ch->dead = true;
			cm->st.events_dropped++;
			cm_log(cm, SRXE_CM_LOG_INFO,
			       "CM channel %u: event write failed (%s): "
			       "events dropped",
			       ch->handle, strerror(-ret));
			return false;
		}
	}
	if (ch->qlen >= SRXE_CM_CHAN_QUEUE_MAX ||
	    cm->queued >= SRXE_CM_QUEUED_MAX) {
		cm->st.events_dropped++;
		return false;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		cm->st.events_dropped++;
		return false;
	}
	e->next = NULL;
	e->ev = *ev;
	if (ch->qtail)
		ch->qtail->next = e;
	else
		ch->qhead = e;
	ch->qtail = e;
	ch->qlen++;
	cm->queued++;
	cm->st.events++;
	cm->st.events_queued++;
	if (!ch->want_out) {
		ch->want_out = true;
		if (cm->ops.want_write)
			cm->ops.want_write(cm->opaque, ch->fd, ch->handle,
					   true);
	}
	return true;
}

void cm_event_init(const struct cm_conn *c, uint32_t event, int32_t status,
		   struct srxe_cm_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->cookie = c->cookie;
	ev->event = event;
	ev->status = status;
	ev->handle = c->o.id;
	ev->port_space = c->ps;
	ev->src = c->src;
	ev->dst = c->dst;
	ev->path = c->path;
	ev->param = c->remote;
}

int srxe_cm_migrate(struct srxe_cm *cm, void *owner,
		    const struct srxe_cm_migrate_req *req, const char **why)
{
	struct cm_obj *o = cm_obj_find(cm, req->handle);
	struct cm_chan *ch = cm_chan_find(cm, req->chan_handle);

	if (!ch || ch->owner != owner) {
		*why = "no such CM event channel";
		return EINVAL;
	}
	if (o && o->kind == CM_OBJ_LISTEN &&
	    ((struct cm_listen *)o)->owner == owner) {
		((struct cm_listen *)o)->chan = ch->handle;
		((struct cm_listen *)o)->cookie = req->cookie;
		return 0;
	}
	if (o && o->kind == CM_OBJ_CONN &&
	    ((struct cm_conn *)o)->owner == owner) {
		((struct cm_conn *)o)->chan = ch->handle;
		((struct cm_conn *)o)->cookie = req->cookie;
		return 0;
	}
	*why = "no such CM listen or connection";
	return EINVAL;
}

int srxe_cm_destroy(struct srxe_cm *cm, void *owner, uint32_t handle,
		    const char **why)
{
	struct cm_obj *o = cm_obj_find(cm, handle);

	if (o && o->kind == CM_OBJ_LISTEN &&
	    ((struct cm_listen *)o)->owner == owner && owner) {
		cm_listen_free(cm, (struct cm_listen *)o);
		return 0;
	}
	if (o && o->kind == CM_OBJ_CONN &&
	    ((struct cm_conn *)o)->owner == owner && owner) {
		cm_conn_release(cm, (struct cm_conn *)o);
		return 0;
	}
	*why = "no such CM listen or connection";
	return EINVAL;
}

void srxe_cm_owner_gone(struct srxe_cm *cm, void *owner)
{
	if (!owner)
		return;
	cm_listens_owner_gone(cm, owner);
	cm_conns_owner_gone(cm, owner);
	cm_chans_owner_gone(cm, owner);
	cm_timer_rearm(cm);
}
