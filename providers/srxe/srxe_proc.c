// SPDX-License-Identifier: MIT
/*
 * Process-wide provider state: the shared slab descriptors and the
 * process lock (contract in srxe_proc.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srxe_proc.h"

struct slab_ref {
	struct slab_ref *next;
	dev_t dev;
	ino_t ino;
	int fd;
	unsigned refs;
	bool stale; /* inherited through fork: never handed out again */
};

static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guards slabs; taken alone or inside proc_lock, never the other way. */
static pthread_mutex_t slabs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab_ref *slabs;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void before_fork(void)
{
	pthread_mutex_lock(&proc_lock);
	pthread_mutex_lock(&slabs_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&slabs_lock);
	pthread_mutex_unlock(&proc_lock);
}

/* The child's copy: only this thread exists; start afresh. */
static void after_fork_child(void)
{
	pthread_mutex_init(&slabs_lock, NULL);
	pthread_mutex_init(&proc_lock, NULL);
	for (struct slab_ref *s = slabs; s; s = s->next)
		s->stale = true;
}

static void register_atfork(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

int srxe_proc_get_slab(int slab_fd)
{
	struct slab_ref *s;
	struct stat st;
	int fd = -1;

	pthread_once(&atfork_once, register_atfork);
	if (fstat(slab_fd, &st)) {
		int err = errno;

		close(slab_fd);
		errno = err;
		return -1;
	}
	pthread_mutex_lock(&slabs_lock);
	for (s = slabs; s; s = s->next) {
		if (!s->stale && s->dev == st.st_dev && s->ino == st.st_ino) {
			s->refs++;
			fd = s->fd;
			break;
		}
	}
	if (fd < 0) {
		s = calloc(1, sizeof(*s));
		if (s) {
			s->dev = st.st_dev;
			s->ino = st.st_ino;
			s->fd = slab_fd;
			s->refs = 1;
			s->next = slabs;
			slabs = s;
			fd = slab_fd;
		}
	}
	pthread_mutex_unlock(&slabs_lock);
	if (fd != slab_fd)
		close(slab_fd); /* a duplicate, or no memory */
	if (fd < 0)
		errno = ENOMEM;
	return fd;
}

void srxe_proc_put_slab(int fd)
{
	struct slab_ref **link, *s = NULL;

	if (fd < 0)
		return;
	pthread_mutex_lock(&slabs_lock);
	for (link = &slabs; *link; link = &(*link)->next) {
		if ((*link)->fd == fd) {
			s = *link;
			break;
		}
	}
	if (s && --s->refs == 0)
		*link = s->next;
	else
		s = NULL;
	pthread_mutex_unlock(&slabs_lock);
	if (s) {
		close(s->fd);
		free(s);
	}
}

void srxe_proc_lock(void)
{
	pthread_mutex_lock(&proc_lock);
}

void srxe_proc_unlock(void)
{
	pthread_mutex_unlock(&proc_lock);
}
