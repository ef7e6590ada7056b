// SPDX-License-Identifier: MIT
/*
 * Issue #12, must-show 1: every kind of memory a process can register --
 * heap, stack, anonymous private, anonymous shared, memfd, a file on tmpfs
 * and on disk, SysV shm, read-only memory, and huge pages (hugetlbfs file,
 * MFD_HUGETLB memfd, MAP_HUGETLB|MAP_SHARED, SHM_HUGETLB; 2 MiB, and 1 GiB
 * where reserved) -- registered and used by RDMA from ANOTHER process.
 *
 * The peer is a child forked before any device is opened: its own
 * context, PD and RC QP, connected to the application's QP.  Per kind:
 *  1. the application fills the buffer through its pointer and registers
 *     it (content must be kept);
 *  2. the peer RDMA-WRITEs a pattern into it; the application checks it
 *     through its own pointer and, for shared objects, through a second
 *     mapping of the same object (/proc/self/map_files);
 *  3. the application writes a new pattern through its pointer (read-only
 *     kinds: into the object through a writable view) and the peer's RDMA
 *     READ must return exactly that;
 *  4. after ibv_dereg_mr the application still sees its bytes.
 * Read-only kinds are registered with REMOTE_READ only, after checking
 * that write access is refused (EFAULT, as rxe).  Huge kinds register a
 * range that starts and ends in the middle of a huge page; the
 * application's mapping must show the huge page size in /proc/self/smaps
 * before and after, and srxed's own mappings must hold the whole huge
 * pages while registered and drop them at deregistration.  Private huge
 * pages (MAP_PRIVATE|MAP_HUGETLB) are refused with EOPNOTSUPP and stay
 * huge (docs/memory-kinds.md).
 *
 * usage: mem_kinds DEVICE SRXED_PID [HUGETLBFS_DIR]
 * A huge kind that cannot get its pages prints "skip: KIND: reason".
 * Ends with "mem_kinds: OK" (exit 0) or the failed checks (exit 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "app";
static int failures;

#include "itest.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4u
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define HUGE_FLAG(shift) ((unsigned)(shift) << MAP_HUGE_SHIFT)
#ifndef SHM_HUGETLB
#define SHM_HUGETLB 04000
#endif

#define KIB	 1024ull
#define MIB	 (1024 * KIB)
#define GIB	 (1024 * MIB)
#define LEN	 (256 * KIB) /* ordinary kinds */
#define PEER_BUF (4 * MIB)

#define RW_ACCESS                                                              \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ)

enum op { OP_HELLO, OP_WRITE, OP_READ, OP_QUIT };

struct msg {
	uint32_t op, rkey, seed, qpn;
	uint64_t addr, len;
	int32_t ok; /* reply: 1, or 0 with why */
	union ibv_gid gid;
	char why[96];
};

struct verbs {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	union ibv_gid gid;
};

static uint8_t pat(uint32_t seed, uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 12) * 7 + seed * 29 + 1);
}

static void fill(uint8_t *p, uint64_t len, uint32_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		p[i] = pat(seed, i);
}

/* First byte that differs from the pattern, or -1. */
static int64_t mismatch(const uint8_t *p, uint64_t len, uint32_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != pat(seed, i))
			return (int64_t)i;
	return -1;
}

static void xfer(int sock, struct msg *m, bool send_it)
{
	ssize_t n = send_it ? send(sock, m, sizeof(*m), 0)
			    : recv(sock, m, sizeof(*m), 0);

	if (n != (ssize_t)sizeof(*m))
		die("%s the other process: %zd (%s)",
		    send_it ? "sending to" : "receiving from", n,
		    strerror(errno));
}

static void verbs_open(struct verbs *v, const char *dev)
{
	v->ctx = itest_open_device(dev);
	v->pd = ibv_alloc_pd(v->ctx);
	v->cq = ibv_create_cq(v->ctx, 8, NULL, NULL, 0);
	if (!v->pd || !v->cq)
		die("PD/CQ");
	v->qp = itest_rc_qp(v->pd, v->cq, 4);
	if (!v->qp || ibv_query_gid(v->ctx, 1, 1, &v->gid))
		die("QP/GID");
}

static void verbs_close(struct verbs *v)
{
	ibv_destroy_qp(v->qp);
	ibv_destroy_cq(v->cq);
	ibv_dealloc_pd(v->pd);
	ibv_close_device(v->ctx);
}

/* The peer's RDMA: one signaled WR, waited for (10 s). */
static int rdma(struct verbs *v, enum ibv_wr_opcode op, void *local,
		uint32_t lkey, uint64_t len, uint64_t raddr, uint32_t rkey)
{
	struct ibv_wc wc;

	if (itest_post_rdma(v->qp, op, local, lkey, raddr, rkey, (uint32_t)len))
		return -1;
	return itest_poll_one(v->cq, &wc, 10000) == 1 ? (int)wc.status : -2;
}

static void __attribute__((noreturn)) peer_main(int sock, const char *dev)
{
	struct verbs v;
	struct ibv_mr *mr;
	struct msg m = { .op = OP_HELLO };
	uint8_t *buf = aligned_alloc(4096, PEER_BUF);

	who = "peer";
	if (!buf)
		die("peer buffer");
	verbs_open(&v, dev);
	mr = ibv_reg_mr(v.pd, buf, PEER_BUF, IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		die("peer ibv_reg_mr: %s", strerror(errno));
	m.qpn = v.qp->qp_num;
	m.gid = v.gid;
	xfer(sock, &m, true);
	xfer(sock, &m, false);
	itest_rc_connect(v.qp, m.qpn, &m.gid);
	for (;;) {
		int st;
		int64_t bad;

		xfer(sock, &m, false);
		if (m.op == OP_QUIT)
			break;
		m.ok = 0;
		m.why[0] = '\0';
		if (m.len > PEER_BUF) {
			snprintf(m.why, sizeof(m.why), "%llu bytes asked",
				 (unsigned long long)m.len);
		} else if (m.op == OP_WRITE) {
			fill(buf, m.len, m.seed);
			st = rdma(&v, IBV_WR_RDMA_WRITE, buf, mr->lkey, m.len,
				  m.addr, m.rkey);
			m.ok = st == IBV_WC_SUCCESS;
			if (!m.ok)
				snprintf(m.why, sizeof(m.why),
					 "RDMA WRITE status %d", st);
		} else {
			memset(buf, 0, m.len);
			st = rdma(&v, IBV_WR_RDMA_READ, buf, mr->lkey, m.len,
				  m.addr, m.rkey);
			bad = st == IBV_WC_SUCCESS
				      ? mismatch(buf, m.len, m.seed)
				      : -2;
			m.ok = bad == -1;
			if (st != IBV_WC_SUCCESS)
				snprintf(m.why, sizeof(m.why),
					 "RDMA READ status %d", st);
			else if (!m.ok)
				snprintf(m.why, sizeof(m.why),
					 "RDMA READ: byte %lld is %u, want %u",
					 (long long)bad, buf[bad],
					 pat(m.seed, (uint64_t)bad));
		}
		xfer(sock, &m, true);
	}
	ibv_dereg_mr(mr);
	verbs_close(&v);
	free(buf);
	_exit(failures ? 1 : 0);
}

/* --- the application's side --- */

static int peer_sock;
static pid_t srxed_pid;
static const char *hugetlbfs_dir;

/* The peer does op on [addr, addr + len) of rkey with seed. */
static bool peer(enum op op, const void *addr, uint64_t len, uint32_t rkey,
		 uint32_t seed, const char *kind)
{
	struct msg m = { .op = op,
			 .rkey = rkey,
			 .seed = seed,
			 .addr = (uintptr_t)addr,
			 .len = len };

	xfer(peer_sock, &m, true);
	xfer(peer_sock, &m, false);
	return EXPECT(m.ok, "%s: peer %s: %s", kind,
		      op == OP_WRITE ? "WRITE" : "READ", m.why);
}

/*
 * smaps of pid: the KernelPageSize (bytes) of the VMA holding addr (0 if
 * none), or with addr == NULL the bytes of all VMAs with page size want.
 */
static uint64_t smaps(pid_t pid, const void *addr, uint64_t want)
{
	char path[64], line[512];
	unsigned long start = 0, end = 0;
	uint64_t size = 0, total = 0;
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = addr && (uintptr_t)addr >= start &&
			     (uintptr_t)addr < end;
			continue;
		}
		if (sscanf(line, "Size: %llu kB", &kb) == 1)
			size = kb * KIB;
		if (sscanf(line, "KernelPageSize: %llu kB", &kb) == 1) {
			if (in) {
				fclose(f);
				return kb * KIB;
			}
			if (!addr && kb * KIB == want)
				total += size;
		}
	}
	fclose(f);
	return total;
}

/* A second, shared mapping of the object behind [p, p + len). */
static uint8_t *second_view(const void *p, uint64_t map_len, int prot)
{
	char path[96];
	unsigned long start, end;
	uint8_t *v = NULL;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int fd = -1;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    (uintptr_t)p >= start && (uintptr_t)p < end)
			break;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", start,
		 end);
	fd = open(path, (prot & PROT_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* p is the mapping's start in every case here (offset 0). */
	v = mmap(NULL, map_len, prot, MAP_SHARED, fd, 0);
	close(fd);
	return v == MAP_FAILED ? NULL : v;
}

/* One kind of memory: the mapping, the MR range in it, its properties. */
struct kind {
	const char *name;
	uint8_t *map; /* what was allocated or mapped */
	uint64_t map_len;
	uint64_t off, len; /* the MR: [map + off, map + off + len) */
	uint64_t huge;	   /* huge page size, 0: none */
	bool shared;	   /* a shareable object: check a second view */
	bool ro;	   /* mapped read-only: REMOTE_READ only */
	bool refuse;	   /* registration must fail with EOPNOTSUPP */
	int fd;		   /* ro: a writable fd of the object; else -1 */
	void (*undo)(struct kind *k);
	char path[128];
};

static void undo_free(struct kind *k)
{
	free(k->map);
}

static void undo_munmap(struct kind *k)
{
	munmap(k->map, k->map_len);
	if (k->fd >= 0)
		close(k->fd);
	if (k->path[0])
		unlink(k->path);
}

static void undo_shmdt(struct kind *k)
{
	shmdt(k->map);
}

static void undo_nothing(struct kind *k)
{
	(void)k;
}

static int map_fd(struct kind *k, int fd, int prot, int flags)
{
	k->map = mmap(NULL, k->map_len, prot, flags, fd, 0);
	return k->map == MAP_FAILED ? -errno : 0;
}

/* A file at path (dir/name.PID) of map_len bytes, mapped shared. */
static int file_kind(struct kind *k, const char *dir, int prot)
{
	int fd, ret;

	snprintf(k->path, sizeof(k->path), "%s/srxe-mem-kinds-%s.%d", dir,
		 k->name, (int)getpid());
	fd = open(k->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, (off_t)k->map_len) ? -errno : 0;
	if (!ret)
		ret = map_fd(k, fd, prot, MAP_SHARED);
	if (!ret && k->ro)
		k->fd = fd;
	else
		close(fd);
	k->undo = undo_munmap;
	if (ret)
		unlink(k->path);
	return ret;
}

static int memfd_kind(struct kind *k, unsigned int flags)
{
	int fd = memfd_create(k->name, MFD_CLOEXEC | flags), ret;

	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, (off_t)k->map_len) ? -errno : 0;
	if (!ret)
		ret = map_fd(k, fd, PROT_READ | PROT_WRITE, MAP_SHARED);
	close(fd);
	k->undo = undo_munmap;
	return ret;
}

static int sysv_kind(struct kind *k, int flags)
{
	int id = shmget(IPC_PRIVATE, k->map_len, IPC_CREAT | 0600 | flags);

	if (id < 0)
		return -errno;
	k->map = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL); /* gone with the last detach */
	k->undo = undo_shmdt;
	return k->map == (void *)-1 ? -errno : 0;
}

/* A huge kind: two huge pages, the MR from the middle of the first to the
 * middle of the second (one page, MR in its middle, for 1 GiB). */
static void huge_shape(struct kind *k, uint64_t huge)
{
	k->huge = huge;
	k->shared = true;
	k->map_len = huge >= GIB ? huge : 2 * huge;
	k->len = 2 * MIB;
	k->off = huge >= GIB ? huge / 2 - MIB : huge - MIB;
}

enum {
	K_HEAP,
	K_STACK,
	K_ANON_PRIVATE,
	K_ANON_SHARED,
	K_MEMFD,
	K_TMPFS,
	K_DISK,
	K_SYSV,
	K_RO_FILE,
	K_RO_PRIVATE,
	K_HUGE_FILE,
	K_HUGE_MEMFD,
	K_HUGE_ANON,
	K_HUGE_SYSV,
	K_HUGE_1G,
	K_HUGE_PRIVATE,
	NKINDS
};

static const char *const names[NKINDS] = {
	"heap",
	"stack",
	"anon-private",
	"anon-shared",
	"memfd",
	"tmpfs-file",
	"disk-file",
	"sysv-shm",
	"read-only-file",
	"read-only-private",
	"hugetlbfs-file-2M",
	"memfd-hugetlb-2M",
	"anon-shared-hugetlb-2M",
	"sysv-hugetlb-2M",
	"memfd-hugetlb-1G",
	"private-hugetlb-2M (refused)",
};

/* 0, or -errno: the kind could not be made (a skip for huge kinds). */
static int make_kind(int id, struct kind *k, uint8_t *stack_buf)
{
	int rw = PROT_READ | PROT_WRITE;
	int anon = MAP_ANONYMOUS;

	*k = (struct kind){ .name = names[id],
			    .fd = -1,
			    .map_len = LEN,
			    .len = LEN,
			    .undo = undo_munmap };
	switch (id) {
	case K_HEAP: /* below the mmap threshold: brk heap; not page-aligned */
		k->map_len = 100 * KIB;
		k->map = malloc(k->map_len);
		k->off = 100;
		k->len = 90 * KIB + 7;
		k->undo = undo_free;
		return k->map ? 0 : -ENOMEM;
	case K_STACK:
		k->map = stack_buf;
		k->off = 40;
		k->len = LEN - 80;
		k->undo = undo_nothing;
		return 0;
	case K_ANON_PRIVATE:
		return map_fd(k, -1, rw, MAP_PRIVATE | anon);
	case K_ANON_SHARED:
		k->shared = true;
		return map_fd(k, -1, rw, MAP_SHARED | anon);
	case K_MEMFD:
		k->shared = true;
		return memfd_kind(k, 0);
	case K_TMPFS:
		k->shared = true;
		return file_kind(k, "/dev/shm", rw);
	case K_DISK:
		k->shared = true;
		return file_kind(k, "/var/tmp", rw);
	case K_SYSV:
		k->shared = true;
		return sysv_kind(k, 0);
	case K_RO_FILE:
		k->shared = k->ro = true;
		return file_kind(k, "/var/tmp", PROT_READ);
	case K_RO_PRIVATE:
		k->ro = true;
		return map_fd(k, -1, rw, MAP_PRIVATE | anon);
	case K_HUGE_FILE:
		huge_shape(k, 2 * MIB);
		if (!hugetlbfs_dir)
			return -ENOENT;
		return file_kind(k, hugetlbfs_dir, rw);
	case K_HUGE_MEMFD:
		huge_shape(k, 2 * MIB);
		return memfd_kind(k, MFD_HUGETLB | HUGE_FLAG(21));
	case K_HUGE_ANON:
		huge_shape(k, 2 * MIB);
		return map_fd(k, -1, rw,
			      MAP_SHARED | anon | MAP_HUGETLB | HUGE_FLAG(21));
	case K_HUGE_SYSV:
		huge_shape(k, 2 * MIB);
		return sysv_kind(k, SHM_HUGETLB | (int)HUGE_FLAG(21));
	case K_HUGE_1G:
		huge_shape(k, GIB);
		return memfd_kind(k, MFD_HUGETLB | HUGE_FLAG(30));
	case K_HUGE_PRIVATE:
		huge_shape(k, 2 * MIB);
		k->shared = false;
		k->refuse = true;
		return map_fd(k, -1, rw,
			      MAP_PRIVATE | anon | MAP_HUGETLB | HUGE_FLAG(21));
	}
	return -EINVAL;
}

/* Huge pages must be there for real: touch them (SIGBUS-free check). */
static int huge_fault_in(struct kind *k)
{
	/* mmap of hugetlbfs reserves pages, so touching cannot fail here;
	 * an unreserved mapping would already have failed with ENOMEM. */
	for (uint64_t o = 0; o < k->map_len; o += k->huge)
		k->map[o] = 1;
	return 0;
}

/* Huge pages the MR touches. */
static uint64_t huge_pages(const struct kind *k)
{
	return (k->off + k->len - 1) / k->huge - k->off / k->huge + 1;
}

/* srxed holds the whole huge pages of an MR while registered. */
static void expect_srxed_huge(const struct kind *k, uint64_t base,
			      uint64_t pages, const char *when)
{
	uint64_t got = smaps(srxed_pid, NULL, k->huge) - base;

	EXPECT(got == pages * k->huge,
	       "%s: %s: srxed maps %llu bytes of %llu KiB pages, want %llu",
	       k->name, when, (unsigned long long)got,
	       (unsigned long long)(k->huge / KIB),
	       (unsigned long long)(pages * k->huge));
}

static void expect_app_huge(const struct kind *k, const char *when)
{
	uint64_t ps = smaps(getpid(), k->map + k->off, 0);

	EXPECT(ps == k->huge,
	       "%s: %s: the application's page size is %llu KiB, want %llu",
	       k->name, when, (unsigned long long)(ps / KIB),
	       (unsigned long long)(k->huge / KIB));
}

/* Refused kinds: EOPNOTSUPP, and the mapping is as it was. */
static void run_refused(struct ibv_pd *pd, struct kind *k)
{
	uint8_t *p = k->map + k->off;
	struct ibv_mr *mr;

	fill(p, k->len, 3);
	errno = 0;
	mr = ibv_reg_mr(pd, p, k->len, RW_ACCESS);
	EXPECT(!mr && errno == EOPNOTSUPP,
	       "%s: ibv_reg_mr: %p errno %d (want EOPNOTSUPP)", k->name,
	       (void *)mr, errno);
	if (mr)
		ibv_dereg_mr(mr);
	EXPECT(mismatch(p, k->len, 3) < 0, "%s: content changed", k->name);
	expect_app_huge(k, "after the refusal");
}

static void run_kind(struct ibv_pd *pd, struct kind *k, uint32_t seed)
{
	uint8_t *p = k->map + k->off, *view = NULL;
	uint64_t srxed_base = k->huge ? smaps(srxed_pid, NULL, k->huge) : 0;
	uint32_t access = k->ro ? IBV_ACCESS_REMOTE_READ : RW_ACCESS;
	struct ibv_mr *mr, *mr2 = NULL;
	int64_t bad;

	/* 1. Contents before registration. */
	if (k->ro && k->fd >= 0) {
		uint8_t *tmp = malloc(k->len);

		fill(tmp, k->len, seed);
		EXPECT(pwrite(k->fd, tmp, k->len, (off_t)k->off) ==
			       (ssize_t)k->len,
		       "%s: pwrite", k->name);
		free(tmp);
	} else {
		fill(p, k->len, seed);
	}
	if (k->ro && k->fd < 0) /* private: read-only from now on */
		EXPECT(!mprotect(k->map, k->map_len, PROT_READ),
		       "%s: mprotect: %s", k->name, strerror(errno));
	if (k->huge)
		expect_app_huge(k, "before ibv_reg_mr");
	if (k->ro) {
		errno = 0;
		mr = ibv_reg_mr(pd, p, k->len, RW_ACCESS);
		/* srxed checks the VMA's rights (peer_mem.h), as rxe's
		 * FOLL_WRITE pin: private or shared, EFAULT. */
		EXPECT(!mr && errno == EFAULT,
		       "%s: read-only memory with write access: %p "
		       "errno %d (want EFAULT)",
		       k->name, (void *)mr, errno);
		if (mr)
			ibv_dereg_mr(mr);
	}
	mr = ibv_reg_mr(pd, p, k->len, access);
	if (!EXPECT(mr, "%s: ibv_reg_mr: %s", k->name, strerror(errno)))
		return;
	bad = mismatch(p, k->len, seed);
	EXPECT(bad < 0, "%s: byte %lld changed by the registration", k->name,
	       (long long)bad);
	if (k->huge) {
		expect_app_huge(k, "after ibv_reg_mr");
		expect_srxed_huge(k, srxed_base, huge_pages(k), "registered");
	}
	if (k->shared)
		view = second_view(k->map, k->map_len, PROT_READ);
	EXPECT(!k->shared || view, "%s: second view: %s", k->name,
	       strerror(errno));

	/* 2. The peer writes; the application and the object see it. */
	if (!k->ro && peer(OP_WRITE, p, k->len, mr->rkey, seed + 1, k->name)) {
		bad = mismatch(p, k->len, seed + 1);
		EXPECT(bad < 0, "%s: byte %lld of the peer's WRITE not seen",
		       k->name, (long long)bad);
		if (view) {
			bad = mismatch(view + k->off, k->len, seed + 1);
			EXPECT(bad < 0,
			       "%s: byte %lld of the peer's WRITE not in the "
			       "object",
			       k->name, (long long)bad);
		}
	}

	/* 3. The application writes; the peer's READ returns it. */
	if (!k->ro) {
		fill(p, k->len, seed + 2);
	} else if (k->fd >= 0) {
		uint8_t *tmp = malloc(k->len);

		fill(tmp, k->len, seed + 2);
		EXPECT(pwrite(k->fd, tmp, k->len, (off_t)k->off) ==
			       (ssize_t)k->len,
		       "%s: pwrite", k->name);
		free(tmp);
	}
	if (k->ro && k->fd < 0) /* cannot write it: the first bytes */
		peer(OP_READ, p, k->len, mr->rkey, seed, k->name);
	else
		peer(OP_READ, p, k->len, mr->rkey, seed + 2, k->name);

	/* A second MR inside the first huge page, deregistered last: the
	 * huge page stays in srxed's view until it goes. */
	if (k->huge == 2 * MIB && !strncmp(k->name, "hugetlbfs", 9)) {
		mr2 = ibv_reg_mr(pd, p + 3 * 4096, 8192, RW_ACCESS);
		if (EXPECT(mr2, "%s: second MR: %s", k->name,
			   strerror(errno))) {
			expect_srxed_huge(k, srxed_base, 2, "two MRs");
			fill(p + 3 * 4096, 8192, seed + 5);
			peer(OP_READ, p + 3 * 4096, 8192, mr2->rkey, seed + 5,
			     k->name);
			fill(p, k->len, seed + 2);
		}
	}

	/* 4. Deregistration leaves the application's bytes. */
	EXPECT(!ibv_dereg_mr(mr), "%s: ibv_dereg_mr", k->name);
	if (mr2) {
		expect_srxed_huge(k, srxed_base, 1, "second MR left");
		EXPECT(!ibv_dereg_mr(mr2), "%s: ibv_dereg_mr 2", k->name);
	}
	bad = mismatch(p, k->len, k->ro && k->fd < 0 ? seed : seed + 2);
	EXPECT(bad < 0, "%s: byte %lld lost at ibv_dereg_mr", k->name,
	       (long long)bad);
	if (k->huge) {
		expect_app_huge(k, "after ibv_dereg_mr");
		expect_srxed_huge(k, srxed_base, 0, "deregistered");
	}
	if (view)
		munmap(view, k->map_len);
}

int main(int argc, char **argv)
{
	static const char *const skip_why[] = {
		[ENOMEM] = "no free huge pages of that size reserved",
		[ENOENT] = "no hugetlbfs mount given",
	};
	int sv[2], status, done = 0;
	uint8_t stack_buf[LEN];
	struct verbs v;
	struct msg m;
	pid_t child;

	if (argc < 3)
		die("usage: mem_kinds DEVICE SRXED_PID [HUGETLBFS_DIR]");
	srxed_pid = (pid_t)atoi(argv[2]);
	hugetlbfs_dir = argc > 3 ? argv[3] : NULL;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		die("socketpair: %s", strerror(errno));
	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (!child) {
		close(sv[0]);
		peer_main(sv[1], argv[1]);
	}
	close(sv[1]);
	peer_sock = sv[0];

	verbs_open(&v, argv[1]);
	xfer(peer_sock, &m, false);
	itest_rc_connect(v.qp, m.qpn, &m.gid);
	m.qpn = v.qp->qp_num;
	m.gid = v.gid;
	xfer(peer_sock, &m, true);

	for (int id = 0; id < NKINDS; id++) {
		struct kind k;
		int ret = make_kind(id, &k, stack_buf);
		int before = failures;

		if (ret && k.huge) {
			int e = -ret;
			const char *why = e < (int)(sizeof(skip_why) /
						    sizeof(skip_why[0])) &&
							  skip_why[e]
						  ? skip_why[e]
						  : strerror(e);

			printf("skip: %s: %s (%s)\n", k.name, why, strerror(e));
			continue;
		}
		if (!EXPECT(!ret, "%s: cannot make it: %s", k.name,
			    strerror(-ret)))
			continue;
		if (k.huge)
			huge_fault_in(&k);
		if (k.refuse)
			run_refused(v.pd, &k);
		else
			run_kind(v.pd, &k, (uint32_t)id * 3 + 1);
		k.undo(&k);
		if (failures == before) {
			printf("ok: %s\n", k.name);
			done++;
		}
	}

	m.op = OP_QUIT;
	xfer(peer_sock, &m, true);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		EXPECT(0, "the peer process failed (status 0x%x)", status);
	verbs_close(&v);
	if (failures)
		die("%d check(s) failed", failures);
	printf("mem_kinds: OK (%d kinds)\n", done);
	return 0;
}
