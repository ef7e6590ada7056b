// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture_ctl.h"
#include "chan.h"
#include "cm_ctl.h"
#include "devattr.h"
#include "log.h"
#include "mr.h"
#include "session.h"
#include "verbs.h"

static void read_comm(pid_t pid, char *comm, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(comm, cap, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, cap - 1);
	close(fd);
	if (n <= 0) {
		snprintf(comm, cap, "?");
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* The connecting process as a pidfd (race-free where the kernel has
 * SO_PEERPIDFD, 6.5+), else pidfd_open() of its pid now; -1 if neither. */
static int peer_pidfd(int sock_fd, pid_t pid)
{
	int fd = -1;
	socklen_t len = sizeof(fd);

	if (!getsockopt(sock_fd, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) &&
	    fd >= 0)
		return fd;
	if (pid <= 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd >= 0 ? fd : -1;
}

struct srxed_session *srxed_session_new(uint64_t id, int sock_fd)
{
	struct srxed_session *s = calloc(1, sizeof(*s));
	socklen_t len = sizeof(s->cred);

	if (!s)
		return NULL;
	s->id = id;
	s->async_fd = -1;
	if (getsockopt(sock_fd, SOL_SOCKET, SO_PEERCRED, &s->cred, &len) < 0) {
		log_warn("client %llu: SO_PEERCRED failed: %s",
			 (unsigned long long)id, strerror(errno));
		s->cred.pid = 0;
		s->cred.uid = (uid_t)-1;
		s->cred.gid = (gid_t)-1;
	}
	read_comm(s->cred.pid, s->comm, sizeof(s->comm));
	s->pidfd = peer_pidfd(sock_fd, s->cred.pid);
	srxed_handles_init(&s->pds, SRXED_MAX_PD);
	return s;
}

static void release_pd(void *obj, uint32_t handle, void *arg)
{
	struct srxed *d = arg;

	d->stats.pds--;
	free(obj);
}

void srxed_session_close_ctx(struct srxed *d, struct srxed_session *s)
{
	if (!s->has_ctx)
		return;
	/*
	 * Data path first (QPs, SRQs, CQs, AHs, engine context): the engine
	 * translates through the memory client.  Then MRs: they hold users
	 * of their PDs.
	 */
	srxed_verbs_close(d, s);
	srxed_chan_close(d, s); /* after the CQs that deliver to channels */
	srxed_mem_close(d, s);
	srxed_handles_drain(&s->pds, release_pd, d);
	if (s->async_fd >= 0)
		close(s->async_fd);
	s->async_fd = -1;
	s->has_ctx = false;
	d->stats.clients--;
}

void srxed_session_destroy(struct srxed *d, struct srxed_session *s)
{
	srxed_cm_session_gone(d, s); /* DREQ/REJ to peers, listens freed */
	srxed_capture_close(d, s);
	srxed_session_close_ctx(d, s);
	srxed_handles_destroy(&s->pds);
	if (s->pidfd >= 0)
		close(s->pidfd);
	free(s);
}

int srxed_session_open_ctx(struct srxed *d, struct srxed_session *s,
			   int async_fd, char *why)
{
	int ret = srxed_mem_open(d, s, why);

	if (ret)
		return ret;
	s->has_ctx = true;
	s->async_fd = async_fd;
	d->stats.clients++;
	return 0;
}

int srxed_session_alloc_pd(struct srxed *d, struct srxed_session *s,
			   uint32_t *handle, const char **why)
{
	struct srxed_pd *pd;
	int ret;

	if (d->stats.pds >= SRXED_MAX_PD) {
		*why = "device PD limit (max_pd) reached";
		return ENOMEM;
	}
	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		*why = "srxed is out of memory";
		return ENOMEM;
	}
	ret = srxed_handle_alloc(&s->pds, pd, &pd->handle);
	if (ret) {
		free(pd);
		*why = ret == -ENOSPC ? "context PD limit (max_pd) reached"
				      : "srxed is out of memory";
		return ENOMEM;
	}
	d->stats.pds++;
	*handle = pd->handle;
	return 0;
}

int srxed_session_dealloc_pd(struct srxed *d, struct srxed_session *s,
			     uint32_t handle, const char **why)
{
	struct srxed_pd *pd = srxed_handle_lookup(&s->pds, handle);

	if (!pd) {
		*why = "no such PD";
		return EINVAL;
	}
	if (pd->users) {
		*why = "PD still in use by MRs, QPs or AHs";
		return EBUSY;
	}
	srxed_handle_free(&s->pds, handle);
	free(pd);
	d->stats.pds--;
	return 0;
}
