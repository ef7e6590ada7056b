// SPDX-License-Identifier: MIT
/*
 * Client processes: identity and the memory every context of a process
 * shares (contract in proc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"
#include "objects/proc_io.h"
#include "proc.h"
#include "session.h"
#include "srxe/proto.h"

#ifndef PIDFS_MAGIC
#define PIDFS_MAGIC 0x50494446
#endif

/* Key kinds; c is the program image (image_tag) in both real kinds. */
enum {
	SRXED_PROC_KEY_NONE = 0,  /* matches nothing: a process of its own */
	SRXED_PROC_KEY_PIDFS = 1, /* a = st_dev, b = st_ino of the pidfd */
	SRXED_PROC_KEY_START = 2, /* a = pid, b = start time (clock ticks) */
};

static bool pidfd_alive(int pidfd)
{
	return !syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);
}

/* Fields of /proc/PID/stat (man 5 proc numbering, from 3 on); 0 each
 * where unreadable. */
static void stat_fields(pid_t pid, const int *want, int n, uint64_t *out)
{
	char path[64], buf[2048], *p;
	ssize_t len;
	int fd, field = 2;

	memset(out, 0, (size_t)n * sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return;
	buf[len] = '\0';
	p = strrchr(buf, ')'); /* the comm may hold spaces and ')' */
	for (int i = 0; p && i < n; i++) {
		unsigned long long v;

		while (p && field < want[i]) {
			p = strchr(p + 1, ' ');
			field++;
		}
		if (p && sscanf(p + 1, "%llu", &v) == 1)
			out[i] = v;
	}
}

/*
 * Which program image the process runs: execve() keeps the pid and the
 * pidfs inode but gives a new mm, whose argument and environment areas
 * (fields 48 and 50, randomized by ASLR) move.  Contexts the old image
 * left open (srxed may not have seen their sockets close yet) must not
 * share pins with the new image, whose buffers live at unrelated
 * addresses.  0 where unreadable (then images are not told apart).
 */
static uint64_t image_tag(pid_t pid)
{
	static const int want[] = { 48, 50 };
	uint64_t v[2];

	stat_fields(pid, want, 2, v);
	return v[0] ^ (v[1] << 1);
}

static struct srxed_proc_key key_of(const struct srxed_session *s)
{
	struct srxed_proc_key k = { .kind = SRXED_PROC_KEY_NONE };
	static const int start[] = { 22 };
	struct statfs fs;
	struct stat st;

	if (s->pidfd < 0 || s->cred.pid <= 0)
		return k;
	/* Read while the pidfd shows the process alive: the pid is then
	 * still the process's, not a reused one. */
	k.c = image_tag(s->cred.pid);
	if (!fstatfs(s->pidfd, &fs) && fs.f_type == PIDFS_MAGIC &&
	    !fstat(s->pidfd, &st)) {
		k.a = st.st_dev;
		k.b = st.st_ino;
		if (pidfd_alive(s->pidfd))
			k.kind = SRXED_PROC_KEY_PIDFS;
		return k;
	}
	/* Older kernels: the pid plus its start time. */
	k.a = (uint64_t)s->cred.pid;
	stat_fields(s->cred.pid, start, 1, &k.b);
	if (k.b && pidfd_alive(s->pidfd))
		k.kind = SRXED_PROC_KEY_START;
	return k;
}

static bool same_key(const struct srxed_proc_key *x,
		     const struct srxed_proc_key *y)
{
	return x->kind != SRXED_PROC_KEY_NONE && x->kind == y->kind &&
	       x->a == y->a && x->b == y->b && x->c == y->c;
}

static int say(char *why, int err, const char *what, int ret)
{
	snprintf(why, SRXE_REASON_MAX + 1, "%s: %s", what, strerror(-ret));
	return err;
}

static uint64_t slab_bytes_for(uint64_t max_reg_bytes)
{
	/* One spare frame: a registration of the full limit may start and
	 * end in the middle of a page.
	 */
	return ((max_reg_bytes + SRXE_FRAME_SIZE - 1) &
		~(uint64_t)(SRXE_FRAME_SIZE - 1)) +
	       SRXE_FRAME_SIZE;
}

static int proc_new(struct srxed *d, const struct srxed_proc_key *key,
		    struct srxed_proc **out, char *why)
{
	struct srxed_proc *p = calloc(1, sizeof(*p));
	struct srxe_mem_config cfg = {
		.mode = d->cfg.translation == SRXE_TRANSLATION_MTT
				? SRXE_MEM_MTT
				: SRXE_MEM_SHORTCUT,
		.max_reg_bytes = d->cfg.max_reg_bytes,
	};
	const char *step;
	int ret;

	if (!p) {
		snprintf(why, SRXE_REASON_MAX + 1, "srxed is out of memory");
		return ENOMEM;
	}
	ret = srxed_slab_create(&p->slab, slab_bytes_for(d->cfg.max_reg_bytes),
				&step);
	if (ret) {
		free(p);
		snprintf(why, SRXE_REASON_MAX + 1,
			 "cannot create the memory slab: %s: %s", step,
			 strerror(-ret));
		return -ret;
	}
	cfg.slab = p->slab.base;
	cfg.slab_frames = (uint32_t)(p->slab.bytes >> SRXE_FRAME_SHIFT);
	ret = srxe_mem_space_create(&cfg, &p->space);
	if (ret) {
		srxed_slab_destroy(&p->slab);
		free(p);
		return say(why, -ret, "cannot create the translation state",
			   ret);
	}
	p->key = *key;
	p->refs = 1;
	p->next = d->procs;
	d->procs = p;
	*out = p;
	return 0;
}

int srxed_proc_get(struct srxed *d, const struct srxed_session *s,
		   struct srxed_proc **out, char *why)
{
	struct srxed_proc_key key = key_of(s);

	for (struct srxed_proc *p = d->procs; p; p = p->next) {
		if (same_key(&p->key, &key)) {
			p->refs++;
			*out = p;
			return 0;
		}
	}
	if (key.kind == SRXED_PROC_KEY_NONE)
		log_warn("client %llu: process identity unknown (no pidfd): "
			 "its contexts do not share registrations",
			 (unsigned long long)s->id);
	return proc_new(d, &key, out, why);
}

void srxed_proc_put(struct srxed *d, struct srxed_proc *p)
{
	struct srxed_proc **link = &d->procs;

	if (!p || --p->refs)
		return;
	while (*link != p)
		link = &(*link)->next;
	*link = p->next;
	if (srxe_mem_space_destroy(p->space))
		log_err("srxed internal error: a memory space outlived its "
			"clients");
	/* the space that reached memory through it is gone */
	srxe_proc_io_close(p->mem_io);
	srxed_slab_destroy(&p->slab);
	srxed_shmreg_destroy(&p->shm);
	free(p);
}

unsigned srxed_proc_count(const struct srxed *d)
{
	unsigned n = 0;

	for (const struct srxed_proc *p = d->procs; p; p = p->next)
		n++;
	return n;
}
