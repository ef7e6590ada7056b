// SPDX-License-Identifier: MIT
/*
 * Shareable memory registered in place; contract in shmreg.h.  Two finders:
 * SysV attachments (by shmid) and every other shared mapping of a regular
 * file (shmem, memfd, tmpfs, disk files), opened via /proc/PID/map_files.
 * Huge pages (hugetlbfs objects of either kind) are put in place whole
 * before the registration pins its pages (srxed_shmreg_huge_get()).
 */
#include "shmreg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "log.h"
#include "peer_mem.h"

#define PAGE SRXE_FRAME_SIZE

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

/* One shared mapping of the client: a SysV attachment or a file. */
struct sysv_vma {
	uint64_t start, end;
	uint64_t seg_off; /* segment / file offset backing start */
	int shmid;	  /* SysV: the segment; -1: a file */
	bool writable;
	unsigned int maj, min;
	unsigned long ino; /* file: must match what map_files opens */
};

struct sysv_list {
	struct sysv_vma *v;
	size_t n, cap;
};

static bool same_ipc_ns(int dir)
{
	struct stat mine, theirs;

	return !stat("/proc/self/ns/ipc", &mine) &&
	       !fstatat(dir, "ns/ipc", &theirs, 0) &&
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

/* srxed's own memfds, as a maps line names them (slab.c, arena.c). */
static bool srxed_memfd(const char *path)
{
	static const char *const own[] = { "/memfd:srxe-slab",
					   "/memfd:srxe-rings" };

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		size_t n = strlen(own[i]);

		if (!strncmp(path, own[i], n) && (!path[n] || path[n] == ' '))
			return true;
	}
	return false;
}

static int parse_line(char *line, void *arg)
{
	struct sysv_list *out = arg;
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
	if (perms[3] != 's' || perms[0] != 'r' || perms[2] == 'x')
		return 0;
	s = (struct sysv_vma){ start,		end, off, -1,
			       perms[1] == 'w', maj, min, ino };
	if (!strncmp(line + path_at, "/SYSV", 5)) {
		if (!s.writable || ino > INT_MAX)
			return 0;
		s.shmid = (int)ino;
	} else if (!ino || srxed_memfd(line + path_at)) {
		/* No object behind it (device memory), or srxed's own slab
		 * or rings of some context: a buffer registered in another
		 * context stays refused (its frames move back at dereg). */
		return 0;
	}
	return list_push(out, &s);
}

/* Feed each line of the client's maps (dir: srxed_peer_open()) to
 * fn(line, arg); stop at its error. */
static int read_maps(int dir, int (*fn)(char *line, void *arg), void *arg)
{
	char buf[8192];
	size_t have = 0;
	ssize_t got;
	int fd, ret = 0;

	fd = openat(dir, "maps", O_RDONLY | O_CLOEXEC);
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
			ret = fn(buf, arg);
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

/* The client's writable SysV attachments, from its maps. */
static int read_sysv_vmas(int dir, struct sysv_list *out)
{
	return read_maps(dir, parse_line, out);
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

/*
 * Open the object behind the client's mapping s through map_files of the
 * client's /proc directory (dir: a reused pid gets nothing, peer_mem.h),
 * if the client may open it itself with the rights asked (-EACCES), and
 * only if it is still the file the maps line named.  fd or -errno.
 */
static int open_mapped_file(int dir, const struct ucred *cred, bool write,
			    const struct sysv_vma *s)
{
	struct stat st;
	struct statfs fs;
	int fd;

	fd = srxed_peer_open_object(dir, cred, s->start, s->end,
				    s->writable ? O_RDWR : O_RDONLY, write);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_ino != s->ino ||
	    major(st.st_dev) != s->maj || minor(st.st_dev) != s->min) {
		close(fd);
		return -ESRCH;
	}
	if (!fstatfs(fd, &fs) && fs.f_type == HUGETLBFS_MAGIC) {
		close(fd);
		return -EOPNOTSUPP; /* huge pages cannot sit on 4 KiB frames */
	}
	return fd;
}

/* Put [off, off + len) of the client's mapped file s over @dst. */
static int map_file_piece(int dir, const struct ucred *cred, bool write,
			  const struct sysv_vma *s, uint64_t off, uint64_t len,
			  void *dst)
{
	int prot = PROT_READ | (s->writable ? PROT_WRITE : 0);
	int fd = open_mapped_file(dir, cred, write, s);
	int ret = 0;

	if (fd < 0)
		return fd;
	if (mmap(dst, len, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)off) ==
	    MAP_FAILED)
		ret = -errno;
	close(fd);
	return ret;
}

#define WRITE_ACCESS                                                           \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_ATOMIC)

/* Adopt the part of run r inside s; returns pages adopted or -errno. */
static long adopt_piece(struct srxed_shmreg *sr, struct srxed_slab *slab,
			const struct srxe_run *r, const struct sysv_vma *s,
			const struct ucred *cred, int dir, uint32_t access)
{
	uint64_t rend = r->va + (uint64_t)r->npages * PAGE;
	uint64_t from = r->va > s->start ? r->va : s->start;
	uint64_t to = rend < s->end ? rend : s->end;
	uint64_t seg_off = s->seg_off + (from - s->start);
	uint64_t frame = r->frame + (from - r->va) / PAGE;
	int ret;

	if (from >= to)
		return 0;
	if (!s->writable && (access & WRITE_ACCESS))
		return -EFAULT; /* as ib_umem_get's FOLL_WRITE pin on rxe */
	if (s->shmid >= 0) {
		if (!may_adopt(s->shmid, cred, seg_off + (to - from)))
			return 0;
		ret = map_piece(s->shmid, seg_off, to - from,
				(char *)slab->base + frame * PAGE);
	} else {
		ret = map_file_piece(dir, cred, access & WRITE_ACCESS, s,
				     seg_off, to - from,
				     (char *)slab->base + frame * PAGE);
		if (ret == -EACCES) /* the client may not open it so */
			return ret;
	}
	if (ret) {
		log_warn("client pid %d: shared mapping %llx-%llx (%s) not "
			 "mapped in place: %s",
			 (int)cred->pid, (unsigned long long)s->start,
			 (unsigned long long)s->end,
			 s->shmid >= 0 ? "SysV" : "file", strerror(-ret));
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

/* Drop SysV entries when the client is in another IPC namespace, and
 * the mappings of the slab itself (already frames). */
static void filter_vmas(struct sysv_list *l, int dir, int slab_fd)
{
	bool ipc_ok = same_ipc_ns(dir);
	struct stat slab_st;
	bool have_slab = !fstat(slab_fd, &slab_st);
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct sysv_vma *s = &l->v[i];

		if (s->shmid >= 0 ? !ipc_ok
				  : have_slab && s->ino == slab_st.st_ino &&
					    s->maj == major(slab_st.st_dev) &&
					    s->min == minor(slab_st.st_dev))
			continue;
		l->v[k++] = *s;
	}
	l->n = k;
}

long srxed_shmreg_adopt(struct srxed_shmreg *sr, struct srxed_slab *slab,
			const struct ucred *cred, int pidfd, uint32_t access,
			struct srxe_runs *runs)
{
	struct sysv_list l = { 0 };
	long adopted = 0, got;
	int ret, dir;

	if (!runs->n)
		return 0;
	dir = srxed_peer_open(cred->pid, pidfd); /* the client's, alive */
	if (dir < 0)
		return dir;
	ret = read_sysv_vmas(dir, &l);
	if (!ret)
		filter_vmas(&l, dir, slab->fd);
	if (ret || !l.n) {
		free(l.v);
		close(dir);
		return ret;
	}
	if (!sr->adopted) {
		sr->nframes = slab->bytes / PAGE;
		sr->adopted = calloc((sr->nframes + 63) / 64, sizeof(uint64_t));
		if (!sr->adopted) {
			free(l.v);
			close(dir);
			return -ENOMEM;
		}
	}
	ret = 0;
	for (size_t i = 0; !ret && i < runs->n; i++)
		for (size_t j = 0; !ret && j < l.n; j++) {
			got = adopt_piece(sr, slab, &runs->v[i], &l.v[j], cred,
					  dir, access);
			if (got < 0)
				ret = (int)got;
			else
				adopted += got;
		}
	free(l.v);
	close(dir);
	if (adopted) {
		int dret = drop_adopted(sr, runs);

		if (dret)
			return dret;
	}
	return ret ? ret : adopted;
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
				log_err("frames %llu+%llu keep a shared "
					"object: "
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
	free(sr->huge);
	*sr = (struct srxed_shmreg){ 0 };
}

/*
 * Huge pages.  Everything below runs under the engine lock (mr.c), like
 * the rest of a registration.
 */

/* A mapping of an object (file or SysV) that a registration touches. */
struct obj_vma {
	struct sysv_vma v; /* v.shmid >= 0: SysV; v.writable */
	bool shared;
};

struct obj_list {
	struct obj_vma *v;
	size_t n, cap;
	uint64_t from, to; /* only VMAs that meet [from, to) */
};

static int obj_line(char *line, void *arg)
{
	struct obj_list *out = arg;
	unsigned long start, end, ino;
	unsigned long long off;
	unsigned int maj, min;
	char perms[5];
	int path_at = 0;
	struct obj_vma o;

	if (sscanf(line, "%lx-%lx %4s %llx %x:%x %lu %n", &start, &end, perms,
		   &off, &maj, &min, &ino, &path_at) < 7 ||
	    !path_at)
		return 0;
	/* No object behind it (anonymous private, device memory), or one
	 * of srxed's own memfds: never huge. */
	if (end <= out->from || start >= out->to || !ino ||
	    srxed_memfd(line + path_at))
		return 0;
	o = (struct obj_vma){ .v = { start, end, off, -1, perms[1] == 'w', maj,
				     min, ino },
			      .shared = perms[3] == 's' };
	if (o.shared && !strncmp(line + path_at, "/SYSV", 5) && ino <= INT_MAX)
		o.v.shmid = (int)ino;
	if (out->n == out->cap) {
		size_t cap = out->cap ? 2 * out->cap : 4;
		struct obj_vma *v = realloc(out->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->v = v;
		out->cap = cap;
	}
	out->v[out->n++] = o;
	return 0;
}

static struct srxed_huge *huge_find(struct srxed_shmreg *sr, uint64_t va)
{
	for (size_t i = 0; i < sr->nhuge; i++)
		if (va >= sr->huge[i].va &&
		    va - sr->huge[i].va < sr->huge[i].bytes)
			return &sr->huge[i];
	return NULL;
}

static void *view_of(const struct srxed_slab *slab, uint32_t frame)
{
	return (char *)slab->base + (uint64_t)frame * PAGE;
}

/* Unpin a huge page nobody references and give its view the memfd back. */
static void huge_drop(struct srxed_shmreg *sr, struct srxed_slab *slab,
		      struct srxe_pt *pt, struct srxed_huge *h)
{
	struct srxe_runs freed = { 0 };

	srxe_pt_unpin(pt, h->va, h->bytes, &freed);
	if (mmap(view_of(slab, h->frame), h->bytes, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED | MAP_NORESERVE, slab->fd,
		 (off_t)h->frame * PAGE) == MAP_FAILED)
		log_err("frames %u+%llu keep a huge page: %s", h->frame,
			(unsigned long long)(h->bytes / PAGE), strerror(errno));
	srxe_runs_free(&freed);
	*h = sr->huge[--sr->nhuge];
}

void srxed_shmreg_huge_put(struct srxed_shmreg *sr, struct srxed_slab *slab,
			   struct srxe_pt *pt, uint64_t va, uint64_t len)
{
	uint64_t end = va + len;

	for (size_t i = 0; i < sr->nhuge;) {
		struct srxed_huge *h = &sr->huge[i];

		if (h->va >= end || h->va + h->bytes <= va) {
			i++;
			continue;
		}
		if (--h->refs) {
			i++;
			continue;
		}
		huge_drop(sr, slab, pt, h); /* moves the last entry to i */
	}
}

/* Some page of [va, va + bytes) is present in the table already. */
static bool any_present(const struct srxe_pt *pt, uint64_t va, uint64_t bytes)
{
	for (uint64_t p = va; p < va + bytes; p += PAGE)
		if (srxe_pt_lookup(pt, p) & SRXE_PTE_PRESENT)
			return true;
	return false;
}

/*
 * Pin the huge page at hva (bytes long) whole on frames aligned in srxed's
 * view and map [off, off + bytes) of the object fd there.
 */
static int huge_place(struct srxed_shmreg *sr, struct srxed_slab *slab,
		      struct srxe_pt *pt, int fd, int prot, uint64_t hva,
		      uint64_t bytes, uint64_t off, const char **why)
{
	uint32_t nfr = (uint32_t)(bytes / PAGE);
	uint32_t phase =
		(uint32_t)((nfr - ((uintptr_t)slab->base / PAGE) % nfr) % nfr);
	struct srxe_runs got = { 0 };
	struct srxed_huge *h;
	int ret;

	if (any_present(pt, hva, bytes)) {
		*why = "part of a huge page is registered already as the "
		       "memory mapped there before";
		return -EBUSY;
	}
	if (sr->nhuge == sr->huge_cap) {
		size_t cap = sr->huge_cap ? 2 * sr->huge_cap : 8;
		struct srxed_huge *v = realloc(sr->huge, cap * sizeof(*v));

		if (!v) {
			*why = "srxed is out of memory";
			return -ENOMEM;
		}
		sr->huge = v;
		sr->huge_cap = cap;
	}
	/* The pin's next-fit allocation takes the aimed run; check it did. */
	ret = srxe_frames_aim_aligned(pt->frames, nfr, nfr, phase);
	if (!ret)
		ret = srxe_pt_pin(pt, hva, bytes, false, &got);
	if (!ret && (got.n != 1 || got.v[0].npages != nfr ||
		     got.v[0].frame % nfr != phase)) {
		srxe_pt_unpin(pt, hva, bytes, NULL);
		ret = -ENOMEM;
	}
	if (ret) {
		srxe_runs_free(&got);
		*why = "the memory slab has no free huge-page-aligned run of "
		       "frames for a huge page (see srxe up --max-reg-bytes)";
		return -ENOMEM;
	}
	if (mmap(view_of(slab, got.v[0].frame), bytes, prot,
		 MAP_SHARED | MAP_FIXED, fd, (off_t)off) == MAP_FAILED) {
		ret = -errno;
		srxe_pt_unpin(pt, hva, bytes, NULL);
		/* A failed MAP_FIXED may have unmapped the view there. */
		mmap(view_of(slab, got.v[0].frame), bytes,
		     PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_FIXED | MAP_NORESERVE, slab->fd,
		     (off_t)got.v[0].frame * PAGE);
		srxe_runs_free(&got);
		*why = "srxed cannot map the huge pages";
		return ret;
	}
	h = &sr->huge[sr->nhuge++];
	*h = (struct srxed_huge){ hva, bytes, got.v[0].frame, 1 };
	srxe_runs_free(&got);
	return 0;
}

/*
 * Open the object of o as the client could (peer_mem.h: EACCES where its
 * own rights do not allow @write); *huge_bytes: its huge page size.
 * -ENOENT: not huge, nothing to do here.
 */
static int open_obj(int dir, const struct ucred *cred, const struct obj_vma *o,
		    bool write, uint64_t *huge_bytes)
{
	char name[64];
	struct stat st;
	struct statfs fs;
	int fd, flags;

	*huge_bytes = 0;
	snprintf(name, sizeof(name), "map_files/%llx-%llx",
		 (unsigned long long)o->v.start, (unsigned long long)o->v.end);
	/* O_PATH first: finding out that a device file is no hugetlbfs
	 * must not call its driver's open. */
	fd = openat(dir, name, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_ino != o->v.ino ||
	    major(st.st_dev) != o->v.maj || minor(st.st_dev) != o->v.min) {
		close(fd);
		return -ESRCH;
	}
	if (fstatfs(fd, &fs) || fs.f_type != HUGETLBFS_MAGIC ||
	    fs.f_bsize <= (long)PAGE || (fs.f_bsize & (fs.f_bsize - 1))) {
		close(fd);
		return -ENOENT;
	}
	close(fd);
	flags = (o->shared && o->v.writable ? O_RDWR : O_RDONLY) | O_NOCTTY;
	if (o->v.shmid >= 0) /* SysV: the IPC owner check decides (huge_vma) */
		fd = openat(dir, name, flags | O_CLOEXEC);
	else
		fd = srxed_peer_open_object(dir, cred, o->v.start, o->v.end,
					    flags, write && o->shared);
	if (fd == -1)
		return -errno;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || st.st_ino != o->v.ino ||
	    major(st.st_dev) != o->v.maj || minor(st.st_dev) != o->v.min) {
		close(fd);
		return -ESRCH;
	}
	*huge_bytes = (uint64_t)fs.f_bsize;
	return fd;
}

/* Put in place every huge page of o that [va, end) touches. */
static int huge_vma(struct srxed_shmreg *sr, struct srxed_slab *slab,
		    struct srxe_pt *pt, const struct ucred *cred, int dir,
		    const struct obj_vma *o, uint64_t va, uint64_t end,
		    uint32_t access, const char **why)
{
	uint64_t hb, from, to;
	int fd, ret = 0;

	fd = open_obj(dir, cred, o, access & WRITE_ACCESS, &hb);
	if (fd == -EACCES) {
		*why = "the client itself may not open the huge-page file it "
		       "maps there with the rights asked";
		return fd;
	}
	if (fd == -ESRCH) {
		*why = "the process that registers is gone, or its mapping "
		       "changed";
		return fd;
	}
	if (fd < 0)
		return 0; /* not huge, or not srxed's to judge here */
	if (!o->shared) {
		*why = "the buffer lies in private huge pages "
		       "(MAP_PRIVATE|MAP_HUGETLB): srxe cannot share them "
		       "and moving them would split them into 4 KiB pages; "
		       "map them MAP_SHARED (hugetlbfs file, MFD_HUGETLB "
		       "memfd, SHM_HUGETLB) to register them in place";
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (!o->v.writable && (access & WRITE_ACCESS)) {
		*why = "the buffer lies in a read-only shared mapping: it may "
		       "be registered for read access only";
		ret = -EFAULT;
		goto out;
	}
	if (o->v.shmid >= 0 &&
	    (!same_ipc_ns(dir) || !may_adopt(o->v.shmid, cred, 0))) {
		*why = "SysV huge-page segment of another user or IPC "
		       "namespace";
		ret = -EACCES;
		goto out;
	}
	from = (va > o->v.start ? va : o->v.start) & ~(hb - 1);
	to = end < o->v.end ? end : o->v.end;
	for (uint64_t h = from; !ret && h < to; h += hb) {
		if (huge_find(sr, h))
			continue; /* referenced already by the caller */
		ret = huge_place(sr, slab, pt, fd,
				 PROT_READ | (o->v.writable ? PROT_WRITE : 0),
				 h, hb, o->v.seg_off + (h - o->v.start), why);
	}
out:
	close(fd);
	return ret;
}

int srxed_shmreg_huge_get(struct srxed_shmreg *sr, struct srxed_slab *slab,
			  struct srxe_pt *pt, const struct ucred *cred,
			  int pidfd, uint64_t va, uint64_t len, uint32_t access,
			  const char **why)
{
	uint64_t end = (va + len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	struct obj_list l = { .from = va & ~(uint64_t)(PAGE - 1), .to = end };
	int dir, ret;

	/* One reference per registration on every huge page it touches:
	 * those in place already now, the new ones as they are placed. */
	for (size_t i = 0; i < sr->nhuge; i++)
		if (sr->huge[i].va < end &&
		    sr->huge[i].va + sr->huge[i].bytes > va)
			sr->huge[i].refs++;
	if (pidfd < 0)
		return 0; /* no in-place mapping without (shmreg.h) */
	dir = srxed_peer_open(cred->pid, pidfd); /* the client's, alive */
	ret = dir < 0 ? dir : read_maps(dir, obj_line, &l);
	if (ret)
		*why = "srxed cannot read the client's mappings (has it "
		       "exited?)";
	for (size_t i = 0; !ret && i < l.n; i++)
		ret = huge_vma(sr, slab, pt, cred, dir, &l.v[i], va, end,
			       access, why);
	if (dir >= 0)
		close(dir);
	free(l.v);
	if (ret)
		srxed_shmreg_huge_put(sr, slab, pt, va, len);
	return ret;
}
