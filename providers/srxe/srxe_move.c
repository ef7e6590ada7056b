// SPDX-License-Identifier: MIT
/*
 * Page mover, see srxe_move.h for the contract and docs/move-atomicity.md
 * for why no write is lost.
 *
 * A move is: learn the VMAs under the range (PROCMAP_QUERY, else the text
 * of /proc/self/maps), decide which pages may hold non-zero data, map the
 * destination at a temporary address, copy those pages, and
 * mremap(MREMAP_FIXED) the temporary mapping over the range.  Any store into a
 * source page after it was copied would vanish with the old pages, so the copy
 * and the remap run on the mover thread (srxe_uffd.h) while the range is
 * write-protected with userfaultfd: a writer, including the caller whose stack
 * may be in the range, waits in its fault until the new pages are in place,
 * then writes those.
 *
 * Only where userfaultfd cannot protect the range and either no other
 * thread exists (srxe_threads.h) or SRXE_MOVE_UNSAFE=1 asks for it does
 * the old unprotected mover run (move_unsafe): on the calling
 * thread, the last copy and the mremap in one assembly block
 * (copy_and_remap) that writes nothing but the destination, because the
 * source may be the very stack it runs on.  That mode loses writes of
 * other threads, so without SRXE_MOVE_UNSAFE it runs only when there are
 * none.
 *
 * Between the residency scan and the remap nothing may use the heap: a
 * malloc() there could write into a page of the range (in unsafe mode, one
 * the scan saw as untouched and does not copy; in the protected window,
 * one that is write-protected, which would block the mover for good).
 * Scratch arrays live in their own anonymous mappings instead.
 */
#include "srxe_move.h"
#include "srxe_sys.h"
#include "srxe_threads.h"
#include "srxe_uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "srxe_move.c: copy_and_remap() and copy_bytes() are x86-64 only"
#endif

#define PAGE SRXE_MOVE_PAGE_SIZE

/*
 * Unsafe mode only: stack below the mover's frame that its callees (libc
 * wrappers, the sanitizer runtime) may dirty after the residency scan.
 * Pages of the range in that window are always copied, whatever the scan
 * said.
 */
#define CALLEE_STACK_SLACK (256UL * 1024)

/* /proc/self/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)

enum seg_kind {
	SEG_ANON_PRIVATE, /* never-faulted pages read as zero */
	SEG_FILE_PRIVATE, /* never-faulted pages read the file */
	SEG_SHARED,
};

/* One VMA clipped to the range being moved. */
struct seg {
	uintptr_t start, end;
	int prot; /* PROT_READ, optionally | PROT_WRITE */
	enum seg_kind kind;
	unsigned int dev_major, dev_minor;
	unsigned long ino;
	uint64_t file_off; /* file offset backing start */
};

/* Bytes [off, off + len) relative to the range's start; page multiples. */
struct run {
	uint64_t off, len;
};

/*
 * Growable array, never on the heap (see top): the first few elements live
 * in the struct itself, on the mover's stack, because a syscall costs
 * about as much as a small move; larger arrays get their own mapping.
 * Must not be copied once used.
 */
#define VEC_INLINE_BYTES  512
#define VEC_MIN_MAP_BYTES (64UL * 1024)

struct vec {
	void *p;
	size_t n, cap_bytes, elem;
	_Alignas(16) unsigned char inline_buf[VEC_INLINE_BYTES];
};

#define VEC_INIT(type)                                                         \
	{                                                                      \
		.elem = sizeof(type)                                           \
	}

static int vec_reserve_one(struct vec *v)
{
	size_t need = (v->n + 1) * v->elem;
	size_t cap = VEC_MIN_MAP_BYTES;
	void *p;

	if (need <= v->cap_bytes)
		return 0;
	if (!v->cap_bytes && need <= sizeof(v->inline_buf)) {
		v->p = v->inline_buf;
		v->cap_bytes = sizeof(v->inline_buf);
		return 0;
	}
	while (cap < need)
		cap *= 2;
	if (v->p != v->inline_buf)
		p = srxe_sys_mremap(v->p, v->cap_bytes, cap, MREMAP_MAYMOVE,
				    NULL);
	else
		p = srxe_sys_mmap(NULL, cap, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	if (v->p == v->inline_buf)
		memcpy(p, v->inline_buf, v->n * v->elem);
	v->p = p;
	v->cap_bytes = cap;
	return 0;
}

static void vec_free(struct vec *v)
{
	if (v->cap_bytes && v->p != v->inline_buf)
		srxe_sys_munmap(v->p, v->cap_bytes);
	v->p = NULL;
	v->n = v->cap_bytes = 0;
}

static int segs_push(struct vec *v, const struct seg *s)
{
	int ret = vec_reserve_one(v);

	if (!ret)
		((struct seg *)v->p)[v->n++] = *s;
	return ret;
}

/* Append [off, off + len); off must not precede the last run's start. */
static int runs_add(struct vec *v, uint64_t off, uint64_t len)
{
	struct run *last = v->n ? &((struct run *)v->p)[v->n - 1] : NULL;
	int ret;

	if (last && off <= last->off + last->len) {
		if (off + len > last->off + last->len)
			last->len = off + len - last->off;
		return 0;
	}
	ret = vec_reserve_one(v);
	if (!ret)
		((struct run *)v->p)[v->n++] = (struct run){ off, len };
	return ret;
}

/* out = a ∪ b, both sorted; out comes out sorted and coalesced. */
static int runs_union(struct vec *out, const struct vec *a, const struct vec *b)
{
	const struct run *ra = a->p, *rb = b->p;
	size_t i = 0, j = 0;
	int ret = 0;

	while (!ret && (i < a->n || j < b->n)) {
		const struct run *r;

		if (j == b->n || (i < a->n && ra[i].off <= rb[j].off))
			r = &ra[i++];
		else
			r = &rb[j++];
		ret = runs_add(out, r->off, r->len);
	}
	return ret;
}

/*
 * Classify one /proc/self/maps line's VMA.  Special kernel mappings
 * ([vdso], [vvar], ...) have no inode either but must never be moved.
 */
static int classify(const char *perms, unsigned int maj, unsigned int min,
		    unsigned long ino, const char *path, struct seg *s)
{
	if (perms[0] != 'r')
		return -EACCES;
	if (perms[2] == 'x')
		return -EOPNOTSUPP;
	s->prot = PROT_READ | (perms[1] == 'w' ? PROT_WRITE : 0);
	if (perms[3] == 's')
		s->kind = SEG_SHARED;
	else if (ino || maj || min)
		s->kind = SEG_FILE_PRIVATE;
	else if (!*path || !strcmp(path, "[heap]") ||
		 !strncmp(path, "[stack", 6) || !strncmp(path, "[anon:", 6))
		s->kind = SEG_ANON_PRIVATE;
	else
		return -EFAULT;
	s->dev_major = maj;
	s->dev_minor = min;
	s->ino = ino;
	return 0;
}

/* PROCMAP_QUERY (Linux 6.11, linux/fs.h; newer than Debian 12's headers). */
struct procmap_query_v1 {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset;
	uint64_t inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};

#define PROCMAP_QUERY_V1	 _IOWR('f', 17, struct procmap_query_v1)
#define PMQ_VMA_READABLE	 0x01
#define PMQ_VMA_WRITABLE	 0x02
#define PMQ_VMA_EXECUTABLE	 0x04
#define PMQ_VMA_SHARED		 0x08
#define PMQ_COVERING_OR_NEXT_VMA 0x10

/*
 * The VMA at or after addr, from the kernel directly: the cost no longer
 * grows with the VMAs below the range (moves back leave many behind: a
 * moved-back range is a new mapping that does not merge).  The name is
 * asked for anonymous VMAs only, where classify() needs it.  -ENOTTY on a
 * kernel without the ioctl.
 */
static int query_vma(int fd, uintptr_t addr, struct procmap_query_v1 *q,
		     char *name, size_t name_len)
{
	*q = (struct procmap_query_v1){
		.size = sizeof(*q),
		.query_flags = PMQ_COVERING_OR_NEXT_VMA,
		.query_addr = addr,
	};
	if (ioctl(fd, PROCMAP_QUERY_V1, q))
		return errno == ENOENT ? -EFAULT : -errno;
	name[0] = '\0';
	if (q->inode || q->dev_major || q->dev_minor)
		return 0;
	q->query_flags = 0; /* exactly this VMA now */
	q->query_addr = q->vma_start;
	q->vma_name_size = (uint32_t)name_len;
	q->vma_name_addr = (uintptr_t)name;
	if (ioctl(fd, PROCMAP_QUERY_V1, q))
		/* A name too long for us is no special mapping's. */
		return errno == ENAMETOOLONG ? -EFAULT : -errno;
	return 0;
}

static int query_segments(int fd, uintptr_t start, uintptr_t end,
			  struct vec *segs)
{
	uintptr_t covered = start;
	int ret = 0;

	while (!ret && covered < end) {
		struct procmap_query_v1 q;
		char name[128], perms[5];
		struct seg s;

		ret = query_vma(fd, covered, &q, name, sizeof(name));
		if (ret)
			break;
		if (q.vma_start > covered || q.vma_end <= covered)
			return -EFAULT; /* hole in the range */
		perms[0] = q.vma_flags & PMQ_VMA_READABLE ? 'r' : '-';
		perms[1] = q.vma_flags & PMQ_VMA_WRITABLE ? 'w' : '-';
		perms[2] = q.vma_flags & PMQ_VMA_EXECUTABLE ? 'x' : '-';
		perms[3] = q.vma_flags & PMQ_VMA_SHARED ? 's' : 'p';
		perms[4] = '\0';
		ret = classify(perms, q.dev_major, q.dev_minor,
			       (unsigned long)q.inode, name, &s);
		s.start = covered;
		s.end = q.vma_end < end ? q.vma_end : end;
		s.file_off = q.vma_offset + (s.start - q.vma_start);
		if (!ret)
			ret = segs_push(segs, &s);
		covered = q.vma_end;
	}
	return ret;
}

/*
 * Fill segs with the VMAs covering [start, end), clipped to it: by
 * PROCMAP_QUERY where the kernel has it, else from the text of
 * /proc/self/maps read with plain read() (no stdio, no heap), stopping at
 * the first VMA past the range.
 */
static int read_segments(uintptr_t start, uintptr_t end, struct vec *segs)
{
	char buf[8192];
	size_t have = 0;
	uintptr_t covered = start;
	bool eof = false;
	int ret = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	ret = query_segments(fd, start, end, segs);
	if (ret != -ENOTTY && ret != -EINVAL) {
		close(fd);
		return ret;
	}
	segs->n = 0;
	ret = 0;
	while (!ret && covered < end) {
		char *nl = memchr(buf, '\n', have);
		unsigned long vm_start, vm_end, ino;
		unsigned long long off;
		unsigned int maj, min;
		char perms[5];
		int path_at = 0;
		struct seg s;

		if (!nl) {
			ssize_t got;

			if (eof || have == sizeof(buf)) {
				ret = eof ? 0 : -EIO;
				break;
			}
			got = read(fd, buf + have, sizeof(buf) - have);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				ret = -errno;
			eof = got == 0;
			have += got > 0 ? (size_t)got : 0;
			continue;
		}
		*nl = '\0';
		if (sscanf(buf, "%lx-%lx %4s %llx %x:%x %lu %n", &vm_start,
			   &vm_end, perms, &off, &maj, &min, &ino,
			   &path_at) < 7 ||
		    !path_at) {
			ret = -EIO;
			break;
		}
		if (vm_end > start) {
			if (vm_start >= end)
				break;
			if (vm_start > covered) {
				ret = -EFAULT; /* hole in the range */
				break;
			}
			ret = classify(perms, maj, min, ino, buf + path_at, &s);
			s.start = vm_start > start ? vm_start : start;
			s.end = vm_end < end ? vm_end : end;
			s.file_off = off + (s.start - vm_start);
			if (!ret)
				ret = segs_push(segs, &s);
			covered = vm_end;
		}
		have -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have);
	}
	close(fd);
	if (!ret && covered < end)
		ret = -EFAULT;
	return ret;
}

static bool same_file(const struct seg *s, const struct stat *st)
{
	return s->kind == SEG_SHARED && s->ino == st->st_ino &&
	       s->dev_major == major(st->st_dev) &&
	       s->dev_minor == minor(st->st_dev);
}

static int check_private_source(const struct vec *segs, const struct stat *st)
{
	const struct seg *s = segs->p;

	for (size_t i = 0; i < segs->n; i++) {
		if (same_file(&s[i], st))
			return -EBUSY;
		if (s[i].kind == SEG_SHARED)
			return -EOPNOTSUPP;
	}
	return 0;
}

static int check_slab_source(const struct vec *segs, const struct stat *st,
			     uintptr_t va, uint64_t slab_off)
{
	const struct seg *s = segs->p;

	for (size_t i = 0; i < segs->n; i++)
		if (!same_file(&s[i], st) ||
		    s[i].file_off != slab_off + (s[i].start - va))
			return -EINVAL;
	return 0;
}

/*
 * Pages of the memfd range [off, off + len) that hold data (resident or
 * swapped), as runs relative to off.  If the filesystem cannot tell, all of
 * it.  Note: lseek moves the file offset shared with the daemon's
 * descriptor; neither side uses offset-based I/O on the slab.
 */
static int data_extents(int fd, uint64_t off, uint64_t len, struct vec *out)
{
	uint64_t pos = off, end = off + len;

	while (pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		off_t hole;
		uint64_t from, to;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return errno == EINVAL ? runs_add(out, 0, len) : -errno;
		if ((uint64_t)data >= end)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		from = (uint64_t)data & ~(PAGE - 1);
		to = (uint64_t)hole < end ? (uint64_t)hole : end;
		to = (to + PAGE - 1) & ~(PAGE - 1);
		if (runs_add(out, from - off, to - from))
			return -ENOMEM;
		pos = to;
	}
	return 0;
}

/*
 * What a swap-like pagemap entry means to a scan.  Under write-protection
 * a never-populated page holds a marker that pagemap shows as a swap entry
 * (srxe_uffd_marker_pme()): no data.  Where pagemap hides swap details
 * (no CAP_SYS_ADMIN), a marker and a swapped-out page look the same; the
 * scan after the protection then ignores swap entries, and a scan before
 * it (where no marker exists yet) supplies the swapped pages.
 */
enum swap_policy {
	SWAP_IS_DATA,	    /* no markers in the range */
	SWAP_UNLESS_MARKER, /* markers are recognizable */
	SWAP_IGNORED,	    /* markers are not: swapped pages come elsewhere */
};

/*
 * Pages of an anonymous private segment that were ever faulted in: present
 * or in swap, per /proc/self/pagemap.  mincore() is not enough: it reports
 * a swapped-out anonymous page as not resident, and skipping it would lose
 * it.  Without pagemap (pm_fd < 0) every page counts.
 */
static int touched_anon_pages(int pm_fd, uintptr_t va, const struct seg *s,
			      enum swap_policy swap, struct vec *out)
{
	const uint64_t marker = srxe_uffd_marker_pme();
	uint64_t ents[512];

	if (pm_fd < 0)
		return runs_add(out, s->start - va, s->end - s->start);
	for (uintptr_t a = s->start; a < s->end;) {
		size_t want = (s->end - a) / PAGE;
		ssize_t got;

		if (want > sizeof(ents) / sizeof(ents[0]))
			want = sizeof(ents) / sizeof(ents[0]);
		got = pread(pm_fd, ents, want * sizeof(ents[0]),
			    (off_t)(a / PAGE * sizeof(ents[0])));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || got % sizeof(ents[0]))
			return got < 0 ? -errno : -EIO;
		for (size_t i = 0; i < (size_t)got / sizeof(ents[0]); i++) {
			uint64_t e = ents[i];
			bool data = e & PM_PRESENT;

			if (!data && (e & PM_SWAPPED))
				data = swap == SWAP_IS_DATA ||
				       (swap == SWAP_UNLESS_MARKER &&
					(e & SRXE_UFFD_PME_MASK) != marker);
			if (data && runs_add(out, a + i * PAGE - va, PAGE))
				return -ENOMEM;
		}
		a += (size_t)got / sizeof(ents[0]) * PAGE;
	}
	return 0;
}

/* Pages of the private source that may be non-zero, as runs. */
static int private_source_runs(uintptr_t va, const struct vec *segs,
			       enum swap_policy swap, struct vec *out)
{
	const struct seg *s = segs->p;
	int pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int ret = 0;

	for (size_t i = 0; !ret && i < segs->n; i++)
		ret = s[i].kind == SEG_ANON_PRIVATE
			      ? touched_anon_pages(pm_fd, va, &s[i], swap, out)
			      : runs_add(out, s[i].start - va,
					 s[i].end - s[i].start);
	if (pm_fd >= 0)
		close(pm_fd);
	return ret;
}

/* Intersect [lo, hi) with the range and add it to the sorted runs out. */
static int add_clipped(struct vec *out, uintptr_t va, size_t len, uintptr_t lo,
		       uintptr_t hi)
{
	lo = lo & ~(PAGE - 1);
	hi = (hi + PAGE - 1) & ~(PAGE - 1);
	if (lo < va)
		lo = va;
	if (hi > va + len)
		hi = va + len;
	return lo < hi ? runs_add(out, lo - va, hi - lo) : 0;
}

/*
 * Pages this thread may still write before copy_and_remap(): the mover's
 * frame and its callees' below it on the real stack, and, when a sanitizer
 * keeps locals on a fake stack, the fake frame holding them.
 */
static int add_own_stack(struct vec *out, uintptr_t va, size_t len,
			 uintptr_t frame, uintptr_t local)
{
	uintptr_t lo[2] = { frame - CALLEE_STACK_SLACK, local - PAGE };
	uintptr_t hi[2] = { frame + PAGE, local + 2 * PAGE };
	int first = lo[1] < lo[0]; /* runs_add() wants ascending starts */
	int ret = add_clipped(out, va, len, lo[first], hi[first]);

	return ret ? ret : add_clipped(out, va, len, lo[!first], hi[!first]);
}

/*
 * Copy runs from va to tmp, then mremap(tmp, len, len, MAYMOVE|FIXED, va).
 * Between the first copied byte and the syscall this writes no memory but
 * tmp: no calls, no spills, no pushes.  Any store to the source after its
 * copy would vanish with the old pages, and the source may hold this
 * thread's own stack.  The caller blocks signals so no handler frame lands
 * there either.  Returns what the syscall returns (va or -errno).
 */
__attribute__((noinline)) static long copy_and_remap(const struct run *runs,
						     size_t n, void *va,
						     void *tmp, size_t len)
{
	register uintptr_t dst_va asm("r8") = (uintptr_t)va;
	register uintptr_t src_tmp asm("r9") = (uintptr_t)tmp;
	register unsigned long flags asm("r10") = MREMAP_MAYMOVE | MREMAP_FIXED;
	long ret;

	asm volatile("test %[n], %[n]\n\t"
		     "jz 2f\n"
		     "1:\n\t"
		     "mov (%[runs]), %%rsi\n\t"
		     "mov 8(%[runs]), %%rcx\n\t"
		     "lea (%%r9,%%rsi), %%rdi\n\t"
		     "add %%r8, %%rsi\n\t"
		     "rep movsb\n\t"
		     "add $16, %[runs]\n\t"
		     "dec %[n]\n\t"
		     "jnz 1b\n"
		     "2:\n\t"
		     "mov %%r9, %%rdi\n\t"
		     "mov %%rdx, %%rsi\n\t"
		     "mov %[nr], %%eax\n\t"
		     "syscall"
		     : "=a"(ret), [runs] "+r"(runs), [n] "+r"(n)
		     : "d"(len), "r"(dst_va), "r"(src_tmp),
		       "r"(flags), [nr] "i"(SYS_mremap)
		     : "rcx", "rsi", "rdi", "r11", "memory", "cc");
	return ret;
}

_Static_assert(sizeof(struct run) == 16 && offsetof(struct run, len) == 8,
	       "copy_and_remap() walks runs as pairs of 8-byte words");

static int restore_read_only(const struct vec *segs)
{
	const struct seg *s = segs->p;

	for (size_t i = 0; i < segs->n; i++)
		if (!(s[i].prot & PROT_WRITE) &&
		    srxe_sys_mprotect((void *)s[i].start, s[i].end - s[i].start,
				      PROT_READ))
			return -errno;
	return 0;
}

static int check_args(void *va, size_t len, int slab_fd, uint64_t slab_off,
		      struct stat *st)
{
	uintptr_t a = (uintptr_t)va;

	if (slab_fd < 0)
		return -EBADF;
	if (!len || (a | len | slab_off) & (PAGE - 1) || a + len < a ||
	    slab_off + len < slab_off)
		return -EINVAL;
	if (fstat(slab_fd, st))
		return -errno;
	if (!S_ISREG(st->st_mode) || slab_off + len > (uint64_t)st->st_size)
		return -EINVAL;
	return 0;
}

/* Unsafe mode (see top): the whole move on the calling thread. */
static int move_unsafe(void *va, size_t len, int slab_fd, uint64_t slab_off,
		       bool to_slab)
{
	uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
	uintptr_t base = (uintptr_t)va;
	struct vec segs = VEC_INIT(struct seg);
	struct vec src = VEC_INIT(struct run), dst = VEC_INIT(struct run);
	struct vec forced = VEC_INIT(struct run);
	struct vec tmp_runs = VEC_INIT(struct run), runs = VEC_INIT(struct run);
	sigset_t all, old;
	struct stat st;
	void *tmp;
	long moved;
	int ret;

	ret = check_args(va, len, slab_fd, slab_off, &st);
	if (!ret)
		ret = read_segments(base, base + len, &segs);
	if (!ret)
		ret = to_slab ? check_private_source(&segs, &st)
			      : check_slab_source(&segs, &st, base, slab_off);
	if (ret)
		goto out;

	/*
	 * A page is copied if the source may be non-zero, or the destination
	 * may be (a dirty slab frame must not shine through), or this thread
	 * may still write it before copy_and_remap() (add_own_stack).
	 */
	if (to_slab) {
		ret = private_source_runs(base, &segs, SWAP_IS_DATA, &src);
		if (!ret)
			ret = data_extents(slab_fd, slab_off, len, &dst);
	} else {
		ret = data_extents(slab_fd, slab_off, len, &src);
	}
	if (!ret)
		ret = add_own_stack(&forced, base, len, frame, (uintptr_t)&st);
	if (!ret)
		ret = runs_union(&tmp_runs, &src, &dst);
	if (!ret)
		ret = runs_union(&runs, &tmp_runs, &forced);
	if (ret)
		goto out;

	if (to_slab)
		tmp = srxe_sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_SHARED, slab_fd, (off_t)slab_off);
	else
		tmp = srxe_sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tmp == MAP_FAILED) {
		ret = -errno;
		goto out;
	}

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	moved = copy_and_remap(runs.p, runs.n, va, tmp, len);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (moved < 0 && moved >= -4095) {
		ret = (int)moved;
		srxe_sys_munmap(tmp, len);
		/* Frames we wrote must go back to the zero the daemon expects.
		 */
		if (to_slab && runs.n)
			fallocate(slab_fd,
				  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (off_t)slab_off, (off_t)len);
		goto out;
	}
	ret = restore_read_only(&segs);
out:
	vec_free(&runs);
	vec_free(&tmp_runs);
	vec_free(&forced);
	vec_free(&dst);
	vec_free(&src);
	vec_free(&segs);
	return ret;
}

/* Undo frames written by a failed move to the slab: daemon expects holes. */
static void punch(int slab_fd, uint64_t slab_off, size_t len)
{
	fallocate(slab_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)slab_off, (off_t)len);
}

/*
 * Copy n bytes without compiler-generated calls: a sanitizer's memcpy
 * would check the source (malloc redzones of neighbours share the pages)
 * and the interceptor might take locks.
 */
static void copy_bytes(void *dst, const void *src, size_t n)
{
	asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void zero_bytes(void *dst, size_t n)
{
	asm volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

struct move_req {
	uintptr_t va;
	size_t len;
	uint64_t slab_off;
	int slab_fd;
	bool to_slab;
};

static enum swap_policy after_scan_policy(void)
{
	if (srxe_uffd_missing_faults())
		return SWAP_IS_DATA; /* no markers without WP_UNPOPULATED */
	return srxe_uffd_marker_pme() ? SWAP_UNLESS_MARKER : SWAP_IGNORED;
}

/* The VMAs of the range as userfaultfd wants them. */
static int spans_of(const struct vec *segs, struct vec *spans)
{
	const struct seg *s = segs->p;

	for (size_t i = 0; i < segs->n; i++) {
		if (vec_reserve_one(spans))
			return -ENOMEM;
		((struct srxe_uffd_span *)spans->p)[spans->n++] =
			(struct srxe_uffd_span){ s[i].start, s[i].end };
	}
	return 0;
}

/* Internal: userfaultfd cannot write-protect a VMA of this range. */
#define MOVE_UNPROTECTABLE (-EMEDIUMTYPE)

static void (*window_hook)(void *arg);
static void *window_hook_arg;

void srxe_move_set_window_hook(void (*fn)(void *arg), void *arg)
{
	window_hook_arg = arg;
	window_hook = fn;
}

/*
 * Runs on the mover thread.  Between srxe_uffd_protect() and
 * srxe_uffd_release(): raw system calls, copy_bytes() and stores into the
 * mover's stack and its own mappings only (srxe_uffd.h).
 */
static int move_protected(void *arg)
{
	const struct move_req *rq = arg;
	uintptr_t base = rq->va;
	size_t len = rq->len;
	struct vec segs = VEC_INIT(struct seg);
	struct vec spans = VEC_INIT(struct srxe_uffd_span);
	struct vec src = VEC_INIT(struct run), dst = VEC_INIT(struct run);
	struct vec before = VEC_INIT(struct run), after = VEC_INIT(struct run);
	const struct run *r;
	struct stat st;
	void *tmp;
	int ret;

	ret = check_args((void *)base, len, rq->slab_fd, rq->slab_off, &st);
	if (!ret)
		ret = read_segments(base, base + len, &segs);
	if (!ret)
		ret = rq->to_slab ? check_private_source(&segs, &st)
				  : check_slab_source(&segs, &st, base,
						      rq->slab_off);
	/*
	 * Swapped pages, where the scan after the protection cannot tell.
	 * Not where missing-page faults are caught: the page a scan before
	 * saw may be gone by then, and reading it would wait for ourselves.
	 */
	if (!ret && rq->to_slab && !srxe_uffd_marker_pme() &&
	    !srxe_uffd_missing_faults())
		ret = private_source_runs(base, &segs, SWAP_IS_DATA, &before);
	if (!ret)
		ret = spans_of(&segs, &spans);
	if (!ret) {
		ret = srxe_uffd_protect(base, len, spans.p, spans.n);
		if (ret == -EOPNOTSUPP)
			ret = MOVE_UNPROTECTABLE;
	}
	if (ret)
		goto out;

	/* The window: every store into the range now waits for us. */
	if (window_hook)
		window_hook(window_hook_arg);
	/*
	 * The scan is stable now: a page that is not populated stays so until
	 * the release (a write faults and waits; a read maps the zero page,
	 * or, before kernel 6.4, faults and waits too).  A page is copied if
	 * the source may be non-zero; a destination that may be non-zero is
	 * zeroed first (a dirty frame must not shine through), never copied
	 * from an unpopulated source, whose read could wait for this thread.
	 */
	if (rq->to_slab) {
		ret = private_source_runs(base, &segs, after_scan_policy(),
					  &after);
		if (!ret)
			ret = runs_union(&src, &before, &after);
		if (!ret)
			ret = data_extents(rq->slab_fd, rq->slab_off, len,
					   &dst);
	} else {
		ret = data_extents(rq->slab_fd, rq->slab_off, len, &src);
	}
	if (ret)
		goto unprotect;
	if (rq->to_slab)
		tmp = srxe_sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_SHARED, rq->slab_fd,
				    (off_t)rq->slab_off);
	else
		tmp = srxe_sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tmp == MAP_FAILED) {
		ret = -errno;
		goto unprotect;
	}
	r = dst.p;
	for (size_t i = 0; i < dst.n; i++)
		zero_bytes((uint8_t *)tmp + r[i].off, r[i].len);
	r = src.p;
	for (size_t i = 0; i < src.n; i++)
		copy_bytes((uint8_t *)tmp + r[i].off,
			   (const uint8_t *)base + r[i].off, r[i].len);
	if (srxe_sys_mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			    (void *)base) == MAP_FAILED) {
		ret = -errno;
		srxe_sys_munmap(tmp, len);
		if (rq->to_slab && (src.n || dst.n))
			punch(rq->slab_fd, rq->slab_off, len);
		goto unprotect;
	}
	/* Before the wake, so that no waiter writes a page meant read-only. */
	ret = restore_read_only(&segs);
	srxe_uffd_release(base, len, spans.p, spans.n, true);
	goto out;
unprotect:
	srxe_uffd_release(base, len, spans.p, spans.n, false);
out:
	vec_free(&after);
	vec_free(&before);
	vec_free(&dst);
	vec_free(&src);
	vec_free(&spans);
	vec_free(&segs);
	return ret;
}

static bool unsafe_allowed(void)
{
	const char *v = getenv("SRXE_MOVE_UNSAFE");

	return v && !strcmp(v, "1");
}

/* Once per process: why moves are refused, or why they are not atomic. */
static void say_once(const char *why)
{
	static atomic_flag said = ATOMIC_FLAG_INIT;

	if (atomic_flag_test_and_set(&said))
		return;
	if (unsafe_allowed())
		fprintf(stderr,
			"srxe: page moves are not atomic (%s); "
			"SRXE_MOVE_UNSAFE=1: register from one thread only\n",
			why);
	else
		fprintf(stderr,
			"srxe: memory registration refused: %s; a move could "
			"lose other threads' writes (SRXE_MOVE_UNSAFE=1 allows "
			"single-threaded registration)\n",
			why);
}

static int move(void *va, size_t len, int slab_fd, uint64_t slab_off,
		bool to_slab)
{
	struct move_req rq = {
		.va = (uintptr_t)va,
		.len = len,
		.slab_off = slab_off,
		.slab_fd = slab_fd,
		.to_slab = to_slab,
	};
	const char *why = NULL;
	struct stat st;
	int ret = check_args(va, len, slab_fd, slab_off, &st);

	if (ret)
		return ret;
	/* The mover must never write-protect its own stack or mailbox. */
	if (srxe_uffd_owns(rq.va, len))
		return -EINVAL;
	ret = srxe_uffd_run(move_protected, &rq, sizeof(rq));
	if (ret == -EOPNOTSUPP && srxe_uffd_refusal())
		why = srxe_uffd_refusal();
	else if (ret == MOVE_UNPROTECTABLE)
		why = "userfaultfd cannot write-protect this mapping "
		      "(a private mapping of a disk file?)";
	if (!why)
		return ret;
	/* No thread but ours could store into the range (srxe_threads.h):
	 * the unprotected move loses nothing. */
	if (srxe_threads_only_caller())
		return move_unsafe(va, len, slab_fd, slab_off, to_slab);
	say_once(why);
	if (!unsafe_allowed())
		return -EOPNOTSUPP;
	return move_unsafe(va, len, slab_fd, slab_off, to_slab);
}

int srxe_move_to_slab(void *va, size_t len, int slab_fd, uint64_t slab_off)
{
	return move(va, len, slab_fd, slab_off, true);
}

int srxe_move_to_private(void *va, size_t len, int slab_fd, uint64_t slab_off)
{
	return move(va, len, slab_fd, slab_off, false);
}
