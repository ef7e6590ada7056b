// SPDX-License-Identifier: MIT
/* SysV shared memory registered in place; contract in shmreg.h. */
#include "shmreg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define PAGE SRXE_FRAME_SIZE

/* One writable SysV attachment of the client. */
struct sysv_vma {
	uint64_t start, end;
	uint64_t seg_off; /* segment offset backing start */
	int shmid;
};

struct sysv_list {
	struct sysv_vma *v;
	size_t n, cap;
};

static bool same_ipc_ns(pid_t pid)
{
	char path[64];
	struct stat mine, theirs;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", (int)pid);
	return !stat("/proc/self/ns/ipc", &mine) && !stat(path, &theirs) &&
	       mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

static int list_push(struct sysv_list *l, const struct sysv_vma *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct sysv_vma *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *s;
	return 0;
}

static int parse_line(char *line, struct sysv_list *out)
{
	unsigned long start, end, ino;
	unsigned long long off;
	unsigned int maj, min;
	char perms[5];
	int path_at = 0;
	struct sysv_vma s;

	if (sscanf(line, "%lx-%lx %4s %llx %x:%x %lu %n", &start, &end, perms,
		   &off, &maj, &min, &ino, &path_at) < 7 ||
	    !path_at)
		return 0;
	if (strncmp(line + path_at, "/SYSV", 5) || perms[3] != 's' ||
	    perms[0] != 'r' || perms[1] != 'w' || ino > INT_MAX)
		return 0;
	s = (struct sysv_vma){ start, end, off, (int)ino };
	return list_push(out, &s);
}

/* The client's writable SysV attachments, from /proc/PID/maps. */
static int read_sysv_vmas(pid_t pid, struct sysv_list *out)
{
	char path[64], buf[8192];
	size_t have = 0;
	ssize_t got;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		char *nl;

		got = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
		buf[have] = '\0';
		while (!ret && (nl = memchr(buf, '\n', have))) {
			*nl = '\0';
			ret = parse_line(buf, out);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
		if (ret || have == sizeof(buf) - 1)
			break; /* error, or a line longer than any maps line */
	}
	if (!ret && got < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool may_adopt(int shmid, const struct ucred *cred, uint64_t seg_end)
{
	struct shmid_ds ds;

	if (shmctl(shmid, IPC_STAT, &ds))
		return false;
	if (cred->uid != 0 && ds.shm_perm.uid != cred->uid &&
	    ds.shm_perm.cuid != cred->uid)
		return false;
	return seg_end <= (((uint64_t)ds.shm_segsz + PAGE - 1) & ~(PAGE - 1));
}

static void mark(struct srxed_shmreg *sr, uint64_t frame, uint64_t n, bool set)
{
	for (uint64_t f = frame; f < frame + n; f++) {
		if (set)
			sr->adopted[f / 64] |= 1ULL << (f % 64);
		else
			sr->adopted[f / 64] &= ~(1ULL << (f % 64));
	}
	sr->frames_adopted += set ? n : -n;
}

static bool is_adopted(const struct srxed_shmreg *sr, uint64_t frame)
{
	return sr->adopted && frame < sr->nframes &&
	       (sr->adopted[frame / 64] >> (frame % 64)) & 1;
}

/* Put [seg_off, seg_off + len) of the segment over @dst.  0 or -errno. */
static int map_piece(int shmid, uint64_t seg_off, uint64_t len, void *dst)
{
	struct shmid_ds ds;
	uint64_t seg_len;
	void *tmp, *got;
	int ret = 0;

	if (shmctl(shmid, IPC_STAT, &ds))
		return -errno;
	seg_len = ((uint64_t)ds.shm_segsz + PAGE - 1) & ~(PAGE - 1);
	tmp = shmat(shmid, NULL, 0);
	if (tmp == (void *)-1)
		return -errno;
	got = mremap((char *)tmp + seg_off, len, len,
		     MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (got == MAP_FAILED)
		ret = -errno;
	/* The rest of the temporary attachment (the moved part stays). */
	munmap(tmp, seg_len);
	return ret;
}

/* Adopt the part of run r inside s; returns pages adopted or -errno. */
static long adopt_piece(struct srxed_shmreg *sr, struct srxed_slab *slab,
			const struct srxe_run *r, const struct sysv_vma *s,
			const struct ucred *cred)
{
	uint64_t rend = r->va + (uint64_t)r->npages * PAGE;
	uint64_t from = r->va > s->start ? r->va : s->start;
	uint64_t to = rend < s->end ? rend : s->end;
	uint64_t seg_off = s->seg_off + (from - s->start);
	uint64_t frame = r->frame + (from - r->va) / PAGE;
	int ret;

	if (from >= to)
		return 0;
	if (!may_adopt(s->shmid, cred, seg_off + (to - from)))
		return 0;
	ret = map_piece(s->shmid, seg_off, to - from,
			(char *)slab->base + frame * PAGE);
	if (ret) {
		log_warn("client pid %d: SysV segment %d not mapped in place: "
			 "%s",
			 (int)cred->pid, s->shmid, strerror(-ret));
		return 0;
	}
	mark(sr, frame, (to - from) / PAGE, true);
	return (long)((to - from) / PAGE);
}

/* runs without the adopted pages. */
static int drop_adopted(const struct srxed_shmreg *sr, struct srxe_runs *runs)
{
	struct srxe_runs keep = { 0 };

	for (size_t i = 0; i < runs->n; i++) {
		const struct srxe_run *r = &runs->v[i];

		for (uint32_t p = 0; p < r->npages; p++)
			if (!is_adopted(sr, r->frame + p) &&
			    srxe_runs_add_page(&keep,
					       r->va + (uint64_t)p * PAGE,
					       r->frame + p)) {
				srxe_runs_free(&keep);
				return -ENOMEM;
			}
	}
	srxe_runs_free(runs);
	*runs = keep;
	return 0;
}

long srxed_shmreg_adopt(struct srxed_shmreg *sr, struct srxed_slab *slab,
			const struct ucred *cred, struct srxe_runs *runs)
{
	struct sysv_list l = { 0 };
	long adopted = 0;
	int ret;

	if (!runs->n)
		return 0;
	ret = read_sysv_vmas(cred->pid, &l);
	if (ret || !l.n || !same_ipc_ns(cred->pid)) {
		free(l.v);
		return ret;
	}
	if (!sr->adopted) {
		sr->nframes = slab->bytes / PAGE;
		sr->adopted = calloc((sr->nframes + 63) / 64, sizeof(uint64_t));
		if (!sr->adopted) {
			free(l.v);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < runs->n; i++)
		for (size_t j = 0; j < l.n; j++)
			adopted += adopt_piece(sr, slab, &runs->v[i], &l.v[j],
					       cred);
	free(l.v);
	if (adopted) {
		ret = drop_adopted(sr, runs);
		if (ret)
			return ret;
	}
	return adopted;
}

void srxed_shmreg_release(struct srxed_shmreg *sr, struct srxed_slab *slab,
			  struct srxe_runs *freed)
{
	struct srxe_runs keep = { 0 };

	if (!sr->frames_adopted)
		return;
	for (size_t i = 0; i < freed->n; i++) {
		const struct srxe_run *r = &freed->v[i];

		for (uint32_t p = 0; p < r->npages;) {
			uint64_t f = r->frame + p, n = 0;
			void *at = (char *)slab->base + f * PAGE;

			if (!is_adopted(sr, f)) {
				if (srxe_runs_add_page(
					    &keep, r->va + (uint64_t)p * PAGE,
					    (uint32_t)f))
					log_err("out of memory filtering freed "
						"frames");
				p++;
				continue;
			}
			while (p + n < r->npages && is_adopted(sr, f + n))
				n++;
			if (mmap(at, n * PAGE, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED | MAP_NORESERVE,
				 slab->fd, (off_t)(f * PAGE)) == MAP_FAILED)
				log_err("frames %llu+%llu keep a SysV segment: "
					"%s",
					(unsigned long long)f,
					(unsigned long long)n, strerror(errno));
			else
				mark(sr, f, n, false);
			p += (uint32_t)n;
		}
	}
	srxe_runs_free(freed);
	*freed = keep;
}

void srxed_shmreg_destroy(struct srxed_shmreg *sr)
{
	free(sr->adopted);
	*sr = (struct srxed_shmreg){ 0 };
}
