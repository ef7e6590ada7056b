// SPDX-License-Identifier: MIT
/*
 * The mover's userfaultfd and thread, see srxe_uffd.h for the contract and
 * docs/move-atomicity.md for why this makes a move lose no write.
 *
 * Hand-over: the caller (under mover_lock) fills the mailbox, sets state to
 * BOX_REQUEST and wakes the futex; the thread runs the function, stores the
 * result, sets BOX_DONE and wakes.  The mailbox lives in the mover's own
 * mapping, so neither side ever writes a page that may be write-protected
 * while the other waits for it: the caller may block in a write-protect
 * fault (its stack being moved), the thread never does.
 */
#include "srxe_sys.h"
#include "srxe_threads.h"
#include "srxe_uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than the uapi headers Debian 12 ships (kernel 6.4+/6.7+). */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1ULL << 13)
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1ULL << 12)
#endif

/*
 * Write-protect faults are needed (5.7+).  Unpopulated pages carry the
 * protection from 6.4 on (WP_UNPOPULATED); before, ranges are registered
 * for missing-page faults too, which catch the first touch of such a
 * page instead.  Shared memory can be protected from 5.19 on; before, a
 * move out of the slab is unprotectable.
 */
#define NEED_FEATURES UFFD_FEATURE_PAGEFAULT_FLAG_WP
static const uint64_t optional_features[] = {
	UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
	0,
};

/*
 * The mover's mapping: a guard page, the stack (glibc puts the thread's
 * descriptor and static TLS at its top), then the mailbox page.  Generous:
 * it is only committed as used, and sanitizer builds need larger frames.
 */
#define GUARD_BYTES  4096UL
#define STACK_BYTES  (1UL << 20)
#define BOX_BYTES    4096UL
#define REGION_BYTES (GUARD_BYTES + STACK_BYTES + BOX_BYTES)

enum { BOX_IDLE, BOX_REQUEST, BOX_DONE };

struct mailbox {
	_Atomic uint32_t state; /* futex word */
	int (*fn)(void *arg);
	int result;
	_Alignas(16) unsigned char arg[SRXE_UFFD_ARG_MAX];
};

_Static_assert(sizeof(struct mailbox) <= BOX_BYTES, "mailbox fits its page");

static pthread_mutex_t mover_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int uffd = -1;
static pid_t owner_pid; /* the process that opened it */
static bool full_mode;
static uint64_t marker_pme;
/* No WP_UNPOPULATED: also register for missing-page faults. */
static bool missing_too;
static bool refuse_wp_unpopulated; /* srxe_uffd_without_wp_unpopulated() */
static unsigned char *region;	   /* NULL until the thread is started */
static struct mailbox *box;
/* Why the kernel refused (set once, under mover_lock), or NULL. */
static const char *refusal;
static char refusal_buf[160];

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void refuse(const char *what, int err)
{
	snprintf(refusal_buf, sizeof(refusal_buf), "%s: %s", what,
		 strerror(err));
	refusal = refusal_buf;
}

/*
 * What /proc/self/pagemap shows for a never-populated page once it is
 * write-protected: the kernel keeps a "PTE marker" there, which pagemap
 * reports as a swap entry of a type no swap device has.  Learned on a
 * scratch page rather than hard-coded, because the type number depends on
 * the kernel's configuration.  0 if it cannot be learned: every swap entry
 * then counts as data, which costs copies but never loses one.
 */
static uint64_t learn_marker_pme(void)
{
	const size_t page = 4096;
	void *p = srxe_sys_mmap(NULL, page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_range r = { .start = (uintptr_t)p, .len = page };
	struct uffdio_register reg = { .range = r,
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = r,
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	uint64_t pme = 0;
	int pm;

	if (p == MAP_FAILED)
		return 0;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm >= 0 && !ioctl(uffd, UFFDIO_REGISTER, &reg) &&
	    !ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) &&
	    pread(pm, &pme, sizeof(pme), (off_t)((uintptr_t)p / page * 8)) !=
		    sizeof(pme))
		pme = 0;
	ioctl(uffd, UFFDIO_UNREGISTER, &r);
	if (pm >= 0)
		close(pm);
	srxe_sys_munmap(p, page);
	pme &= SRXE_UFFD_PME_MASK;
	/*
	 * Only a non-present swap-like entry can be the marker, and only one
	 * that shows its type tells it apart from swapped-out pages: without
	 * CAP_SYS_ADMIN pagemap zeroes those bits for every swap entry.
	 */
	return (pme & (1ULL << 62)) && (pme & ((1ULL << 55) - 1)) ? pme : 0;
}

uint64_t srxe_uffd_marker_pme(void)
{
	return marker_pme;
}

/* Full mode if allowed, else user-mode-only. */
static int open_fd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	full_mode = fd >= 0;
	if (fd < 0 && errno == EPERM)
		fd = (int)syscall(SYS_userfaultfd,
				  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	return fd < 0 ? -errno : fd;
}

/*
 * The handshake, asking for the most this kernel may offer: an older one
 * answers EINVAL to a feature it does not know, and each descriptor takes
 * one handshake only.  Returns the descriptor, or -errno.
 */
static int open_with_features(uint64_t *features)
{
	int err = EINVAL;

	for (size_t i = 0;
	     i < sizeof(optional_features) / sizeof(optional_features[0]);
	     i++) {
		struct uffdio_api api = {
			.api = UFFD_API,
			.features = NEED_FEATURES | optional_features[i],
		};
		int fd;

		if (refuse_wp_unpopulated &&
		    (api.features & UFFD_FEATURE_WP_UNPOPULATED))
			continue;
		fd = open_fd();
		if (fd < 0)
			return fd;
		if (!ioctl(fd, UFFDIO_API, &api) &&
		    (api.features & NEED_FEATURES) == NEED_FEATURES) {
			/* Newer kernels list all they have: keep what we asked.
			 */
			*features = api.features &
				    (NEED_FEATURES | optional_features[i]);
			return fd;
		}
		err = errno ? errno : EOPNOTSUPP;
		close(fd);
		if (err != EINVAL)
			break;
	}
	return -err;
}

bool srxe_uffd_missing_faults(void)
{
	return missing_too;
}

void srxe_uffd_without_wp_unpopulated(void)
{
	refuse_wp_unpopulated = true;
}

static int open_uffd(void)
{
	uint64_t features = 0;
	int fd;

	errno = 0;
	fd = open_with_features(&features);
	/* Out of descriptors or memory: not a refusal, try again next time. */
	if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM)
		return fd;
	if (fd < 0) {
		refuse(fd == -EINVAL ? "userfaultfd lacks write-protection "
				       "(kernel 5.7+)"
				     : "userfaultfd() refused",
		       -fd);
		return -EOPNOTSUPP;
	}
	uffd = fd;
	missing_too = !(features & UFFD_FEATURE_WP_UNPOPULATED);
	owner_pid = getpid();
	marker_pme = learn_marker_pme();
	return 0;
}

static void *mover_main(void *unused)
{
	(void)unused;
	for (;;) {
		uint32_t s = atomic_load(&box->state);

		if (s != BOX_REQUEST) {
			futex(&box->state, FUTEX_WAIT_PRIVATE, s);
			continue;
		}
		box->result = box->fn(box->arg);
		atomic_store(&box->state, BOX_DONE);
		futex(&box->state, FUTEX_WAKE_PRIVATE, 1);
	}
	return NULL;
}

/*
 * In the child of fork() the thread does not exist and the descriptor
 * still names the parent's mm.  The lock may have been held by a thread
 * that is not in the child.  The mapping goes too (nothing of the parent's
 * mover is live in it); a later request starts everything again.
 */
static void forget_in_child(void)
{
	/* An earlier child handler already moved pages here: the thread it
	 * started runs on the region, which must stay. */
	if (owner_pid == getpid())
		return;
	owner_pid = 0;
	if (uffd >= 0)
		close(uffd);
	uffd = -1;
	if (region)
		srxe_sys_munmap(region, REGION_BYTES);
	region = NULL;
	box = NULL;
	refusal = NULL;
	pthread_mutex_init(&mover_lock, NULL);
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, forget_in_child);
}

static int start_thread(void)
{
	pthread_attr_t attr;
	pthread_t t;
	void *m;
	int ret;

	m = srxe_sys_mmap(
		NULL, REGION_BYTES, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -ENOMEM;
	if (srxe_sys_mprotect(m, GUARD_BYTES, PROT_NONE)) {
		srxe_sys_munmap(m, REGION_BYTES);
		return -ENOMEM;
	}
	region = m;
	owner_pid = getpid();
	box = (struct mailbox *)(region + GUARD_BYTES + STACK_BYTES);
	atomic_store(&box->state, BOX_IDLE);

	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, region + GUARD_BYTES, STACK_BYTES);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Every signal blocked (srxe_threads.h): no handler on the mover. */
	ret = srxe_thread_create(&t, &attr, mover_main, NULL);
	pthread_attr_destroy(&attr);
	if (!ret)
		pthread_setname_np(t, "srxe-mover");
	if (ret) {
		srxe_sys_munmap(region, REGION_BYTES);
		region = NULL;
		box = NULL;
		return -ret;
	}
	return 0;
}

/* Under mover_lock. */
static int ensure_started(void)
{
	int ret;

	pthread_once(&atfork_once, register_atfork);
	if (refusal)
		return -EOPNOTSUPP;
	if (uffd < 0) {
		ret = open_uffd();
		if (ret)
			return ret;
	}
	return region ? 0 : start_thread();
}

int srxe_uffd_run(int (*fn)(void *arg), const void *arg, size_t arg_len)
{
	uint32_t s;
	int ret;

	if (arg_len > SRXE_UFFD_ARG_MAX)
		return -EINVAL;
	/*
	 * A child of fork() whose atfork handler has not run yet (another
	 * library's child handler, registered before ours, may move pages):
	 * the state is the parent's.  Checked before taking the lock, which
	 * a parent thread that is not in the child may have held.
	 */
	if (owner_pid && getpid() != owner_pid)
		forget_in_child();
	pthread_mutex_lock(&mover_lock);
	ret = ensure_started();
	if (ret) {
		pthread_mutex_unlock(&mover_lock);
		return ret;
	}
	box->fn = fn;
	memcpy(box->arg, arg, arg_len);
	atomic_store(&box->state, BOX_REQUEST);
	futex(&box->state, FUTEX_WAKE_PRIVATE, 1);
	/*
	 * These stores to our own stack may block in a write-protect fault
	 * while the thread moves the page they hit: that is fine, it wakes
	 * us when done, and the result is in the mailbox.
	 */
	while ((s = atomic_load(&box->state)) != BOX_DONE)
		futex(&box->state, FUTEX_WAIT_PRIVATE, s);
	ret = box->result;
	atomic_store(&box->state, BOX_IDLE);
	pthread_mutex_unlock(&mover_lock);
	return ret;
}

const char *srxe_uffd_refusal(void)
{
	return refusal;
}

int srxe_uffd_fd(void)
{
	return uffd;
}

bool srxe_uffd_full_mode(void)
{
	return full_mode;
}

bool srxe_uffd_owns(uintptr_t va, size_t len)
{
	uintptr_t r = (uintptr_t)region;

	return region && va < r + REGION_BYTES && r < va + len;
}

/* Set or clear write-protection span by span; 0 or -errno. */
static int write_protect(const struct srxe_uffd_span *spans, size_t n, bool on)
{
	for (size_t i = 0; i < n; i++) {
		struct uffdio_writeprotect wp = {
			.range = { .start = spans[i].start,
				   .len = spans[i].end - spans[i].start },
			/* Clearing also wakes whoever waits there. */
			.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
		};

		while (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
	}
	return 0;
}

int srxe_uffd_protect(uintptr_t va, size_t len,
		      const struct srxe_uffd_span *spans, size_t n)
{
	struct uffdio_register reg = {
		.range = { .start = va, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP |
			(missing_too ? UFFDIO_REGISTER_MODE_MISSING : 0),
	};
	struct uffdio_range r = { .start = va, .len = len };
	int err;

	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		/* EINVAL: a VMA kind uffd cannot write-protect. */
		return errno == EINVAL ? -EOPNOTSUPP : -errno;
	if (!(reg.ioctls & (1ULL << _UFFDIO_WRITEPROTECT))) {
		ioctl(uffd, UFFDIO_UNREGISTER, &r);
		return -EOPNOTSUPP;
	}
	err = write_protect(spans, n, true);
	if (err)
		srxe_uffd_release(va, len, spans, n, false);
	return err;
}

void srxe_uffd_release(uintptr_t va, size_t len,
		       const struct srxe_uffd_span *spans, size_t n,
		       bool replaced)
{
	struct uffdio_range r = { .start = va, .len = len };

	if (!replaced) {
		write_protect(spans, n, false);
		ioctl(uffd, UFFDIO_UNREGISTER, &r);
	}
	/* Unregistering wakes too; this covers a failed clear. */
	ioctl(uffd, UFFDIO_WAKE, &r);
}
