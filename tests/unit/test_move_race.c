// SPDX-License-Identifier: MIT
/*
 * The page mover against concurrent writers (issue #12, must-show 3;
 * docs/move-atomicity.md): a store by another thread into a page being
 * moved waits until the move is done and then lands in the new page; none
 * is lost.  The window hook (srxe_move_set_window_hook) runs on the mover
 * thread while the range is write-protected, so the tests can start a
 * writer exactly inside the window and see that it is held there.
 * No srxed: the "daemon" is a second MAP_SHARED view of the memfd slab.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "srxe_move.h"
#include "srxe_threads.h"
#include "srxe_uffd.h"

#include "move_slab.h"

#define PAGE	  SRXE_MOVE_PAGE_SIZE
#define SLAB_SIZE (256ULL << 20)

static int slab_fd = -1;
static volatile uint8_t *daemon_view;

static void slab_setup(void)
{
	daemon_view = move_slab_create("srxe-race-slab", SLAB_SIZE, &slab_fd);
}

static void slab_teardown(void)
{
	srxe_move_set_window_hook(NULL, NULL);
	munmap((void *)daemon_view, SLAB_SIZE);
	close(slab_fd);
}

TestSuite(move_race, .init = slab_setup, .fini = slab_teardown, .timeout = 60);

static void *map_anon(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert(m != MAP_FAILED);
	return m;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	/* A raw syscall: the window hook must not call into locking libc. */
	syscall(SYS_nanosleep, &ts, NULL);
}

static pid_t gettid_raw(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * One store started inside the window.  The hook lets the writer go,
 * gives it time to reach the page, and records whether the store was held
 * (not done, the old byte still visible) while the range was protected.
 */
struct one_store {
	volatile uint64_t *target;
	uint64_t value;
	_Atomic int go, done;
	int held; /* hook saw: store not done, old value */
	int hook_runs;
	pid_t hook_tid;
};

static struct one_store st;

/*
 * Before kernel 6.4 (srxe_uffd_without_wp_unpopulated()) a read of a
 * never-populated page in the window waits too, also the hook's own.
 */
static bool peek_target = true;

static void hook_release_writer(void *arg)
{
	struct one_store *s = arg;
	uint64_t before = peek_target ? *s->target : 0;

	s->hook_runs++;
	s->hook_tid = gettid_raw();
	if (s->hook_runs > 1)
		return;
	atomic_store(&s->go, 1);
	sleep_ms(150);
	s->held =
		!atomic_load(&s->done) &&
		(!peek_target || (*s->target == before && before != s->value));
}

static void *one_writer(void *arg)
{
	struct one_store *s = arg;

	while (!atomic_load(&s->go))
		sched_yield();
	*s->target = s->value;
	atomic_store(&s->done, 1);
	return NULL;
}

static void store_during_move(uint8_t *m, size_t len, size_t at,
			      uint64_t slab_off)
{
	pthread_t t;

	memset(&st, 0, sizeof(st));
	st.target = (volatile uint64_t *)(m + at);
	st.value = 0x5eed0000c0ffeeULL;
	srxe_move_set_window_hook(hook_release_writer, &st);
	cr_assert(!pthread_create(&t, NULL, one_writer, &st));
	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, slab_off), 0);
	cr_assert(!pthread_join(t, NULL));
	srxe_move_set_window_hook(NULL, NULL);

	cr_assert_eq(st.hook_runs, 1);
	cr_assert_neq(st.hook_tid, gettid_raw(), "mover is its own thread");
	cr_assert(st.held, "the store was not held during the move");
	cr_assert_eq(*st.target, st.value, "store lost (application view)");
	cr_assert_eq(*(volatile uint64_t *)(daemon_view + slab_off + at),
		     st.value, "store not in the slab frame");
	cr_assert_eq(srxe_move_to_private(m, len, slab_fd, slab_off), 0);
	cr_assert_eq(*st.target, st.value);
}

Test(move_race, store_to_populated_page_waits_and_lands_on_slab)
{
	const size_t len = 4 * PAGE;
	uint8_t *m = map_anon(len);

	memset(m, 0x11, len);
	store_during_move(m, len, PAGE + 64, 16 * PAGE);
	cr_assert_eq(m[PAGE + 63], 0x11);
	cr_assert_eq(m[3 * PAGE], 0x11);
	munmap(m, len);
}

static void never_touched_page(void)
{
	const size_t len = 4 * PAGE;
	uint8_t *m = map_anon(len);

	m[0] = 7; /* page 0 populated, pages 1-3 never touched */
	store_during_move(m, len, 2 * PAGE + 8, 32 * PAGE);
	cr_assert_eq(m[0], 7);
	cr_assert_eq(m[2 * PAGE], 0);
	munmap(m, len);
}

Test(move_race, store_to_never_touched_page_waits_and_lands_on_slab)
{
	never_touched_page();
}

/* Kernels before 6.4 (Debian 12's 6.1): a missing-page fault holds it. */
Test(move_race, never_touched_page_without_wp_unpopulated)
{
	srxe_uffd_without_wp_unpopulated();
	peek_target = false;
	never_touched_page();
}

/* The move back write-protects the slab mapping (shmem) the same way. */
static void move_back_store(void)
{
	const size_t len = 4 * PAGE;
	uint8_t *m = map_anon(len);
	pthread_t t;

	memset(m, 0x22, 2 * PAGE); /* pages 2-3: holes in the slab */
	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, 48 * PAGE), 0);
	memset(&st, 0, sizeof(st));
	st.target = (volatile uint64_t *)(m + 3 * PAGE + 16);
	st.value = 0xabcdef0123ULL;
	srxe_move_set_window_hook(hook_release_writer, &st);
	cr_assert(!pthread_create(&t, NULL, one_writer, &st));
	cr_assert_eq(srxe_move_to_private(m, len, slab_fd, 48 * PAGE), 0);
	cr_assert(!pthread_join(t, NULL));
	srxe_move_set_window_hook(NULL, NULL);
	cr_assert(st.held, "the store was not held during the move back");
	cr_assert_eq(*st.target, st.value, "store lost");
	cr_assert_eq(m[0], 0x22);
	/* Private now: the slab frame does not see later stores. */
	*st.target = 1;
	cr_assert_neq(
		*(volatile uint64_t *)(daemon_view + 48 * PAGE + 3 * PAGE + 16),
		1);
	munmap(m, len);
}

Test(move_race, store_during_move_back_lands_in_private_copy)
{
	move_back_store();
}

/* The store targets a hole of the slab: a missing-page fault before 6.4. */
Test(move_race, move_back_store_without_wp_unpopulated)
{
	srxe_uffd_without_wp_unpopulated();
	peek_target = false;
	move_back_store();
}

/*
 * A writer storing sequence numbers into every page of the range (some
 * never touched before the first move) without pause while the range
 * moves to the slab and back at least 300 times.  Before each store the
 * writer checks that the slot still holds what it stored there last: a
 * store lost by a move shows there, even if a later store would hide it.
 * At the end every slot holds the last number written to it.
 */
#define HAMMER_PAGES 32
#define HAMMER_SLOTS (HAMMER_PAGES * 4)

struct hammer {
	volatile uint64_t *buf;
	_Atomic int stop;
	_Atomic uint64_t progress; /* stores so far */
	uint64_t last[HAMMER_SLOTS];
	uint64_t lost;
};

static size_t slot_off(size_t k)
{
	/* 4 slots per page, spread over it, first and last bytes included */
	static const size_t in_page[4] = { 0, 1024, 2048, PAGE - 8 };

	return (k / 4) * PAGE + in_page[k % 4];
}

static void *hammer_writer(void *arg)
{
	struct hammer *h = arg;
	uint64_t seq = 0, x = 88172645463325252ULL;

	while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
		size_t k;

		x ^= x << 13; /* xorshift: a random slot each time */
		x ^= x >> 7;
		x ^= x << 17;
		k = x % HAMMER_SLOTS;
		if (h->buf[slot_off(k) / 8] != h->last[k])
			h->lost++;
		h->buf[slot_off(k) / 8] = ++seq;
		h->last[k] = seq;
		atomic_store_explicit(&h->progress, seq, memory_order_relaxed);
	}
	return NULL;
}

static void hammer_300_moves(void)
{
	const size_t len = HAMMER_PAGES * PAGE;
	static struct hammer h;
	uint8_t *m = map_anon(len);
	uint64_t off = 64 * PAGE;
	pthread_t t;

	memset(&h, 0, sizeof(h));
	h.buf = (volatile uint64_t *)m;
	cr_assert(!pthread_create(&t, NULL, hammer_writer, &h));
	/*
	 * On a loaded machine the writer may not get a CPU for a while: the
	 * moves go on until it has stored enough to make the test mean
	 * something (a writer that never runs ends in the suite's timeout).
	 */
	while (!atomic_load(&h.progress))
		sched_yield();
	for (int i = 0; i < 300 || atomic_load(&h.progress) < 1000; i++) {
		cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, off), 0,
			     "round %d", i);
		cr_assert_eq(srxe_move_to_private(m, len, slab_fd, off), 0,
			     "round %d", i);
		/* Punch the frames, as srxed does when it frees them. */
		cr_assert(!fallocate(slab_fd,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				     (off_t)off, (off_t)len));
	}
	atomic_store(&h.stop, 1);
	cr_assert(!pthread_join(t, NULL));
	cr_assert_eq(h.lost, 0, "%lu of %lu stores were lost",
		     (unsigned long)h.lost,
		     (unsigned long)atomic_load(&h.progress));
	for (size_t k = 0; k < HAMMER_SLOTS; k++)
		cr_assert_eq(h.buf[slot_off(k) / 8], h.last[k],
			     "slot %zu: %lu, last written %lu (lost write)", k,
			     (unsigned long)h.buf[slot_off(k) / 8],
			     (unsigned long)h.last[k]);
	munmap(m, len);
}

Test(move_race, writer_hammering_during_300_moves_loses_nothing)
{
	hammer_300_moves();
}

Test(move_race, hammering_without_wp_unpopulated_loses_nothing)
{
	srxe_uffd_without_wp_unpopulated();
	hammer_300_moves();
}

/*
 * The caller's own stack in the range, and a signal handler that writes
 * it while the move is in progress: the caller is not the mover, so it
 * just waits in its fault and resumes on the moved page.
 */
static volatile sig_atomic_t handler_ran;
static pid_t caller_tid;
static int handler_held;

static void on_usr1(int sig)
{
	volatile uint64_t on_stack[64];

	for (int i = 0; i < 64; i++)
		on_stack[i] = (uint64_t)sig + (uint64_t)i;
	handler_ran = on_stack[63] == (uint64_t)sig + 63;
}

static void hook_signal_caller(void *arg)
{
	(void)arg;
	syscall(SYS_tgkill, getpid(), caller_tid, SIGUSR1);
	sleep_ms(100);
	/* Its first store into the protected stack holds it until the end. */
	handler_held = !handler_ran;
}

__attribute__((noinline)) static uint8_t grow_stack(size_t bytes)
{
	volatile uint8_t big[bytes];

	big[0] = 1;
	return big[0];
}

__attribute__((noinline, no_sanitize_address)) static void
stack_move_with_signal(void)
{
	struct {
		uint64_t guard[8];
		uint8_t buf[3 * PAGE];
	} s;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t va = (sp - 256 * 1024) & ~(PAGE - 1);
	size_t len =
		(((uintptr_t)&s + sizeof(s) + PAGE - 1) & ~(PAGE - 1)) - va;
	struct sigaction sa = { .sa_handler = on_usr1 };

	cr_assert_eq(grow_stack(512 * 1024), 1);
	for (int i = 0; i < 8; i++)
		s.guard[i] = 0x1234u * (uint64_t)i;
	for (size_t i = 0; i < sizeof(s.buf); i++)
		s.buf[i] = (uint8_t)(i * 13);
	caller_tid = gettid_raw();
	handler_ran = 0;
	cr_assert(!sigaction(SIGUSR1, &sa, NULL));
	srxe_move_set_window_hook(hook_signal_caller, NULL);
	cr_assert_eq(srxe_move_to_slab((void *)va, len, slab_fd, 128 * PAGE),
		     0);
	srxe_move_set_window_hook(NULL, NULL);
	cr_assert(handler_ran, "the signal handler did not run");
	cr_assert(handler_held, "the handler's stack stores were not held");
	for (int i = 0; i < 8; i++)
		cr_assert_eq(s.guard[i], 0x1234u * (uint64_t)i);
	for (size_t i = 0; i < sizeof(s.buf); i++)
		cr_assert_eq(s.buf[i], (uint8_t)(i * 13));
	cr_assert_eq(srxe_move_to_private((void *)va, len, slab_fd, 128 * PAGE),
		     0);
	for (size_t i = 0; i < sizeof(s.buf); i++)
		cr_assert_eq(s.buf[i], (uint8_t)(i * 13));
}

Test(move_race, callers_own_stack_written_by_a_signal_handler_mid_move)
{
	stack_move_with_signal();
}

/*
 * A kernel write: read(2) from a pipe into the range by another thread.
 * In full mode the kernel's copy waits like a CPU store and lands in the
 * slab.  (With a user-mode-only uffd it fails with EFAULT instead: see
 * srxe_move.h.)
 */
struct pipe_reader {
	int fd;
	void *dst;
	_Atomic ssize_t got;
	_Atomic int err;
};

static void *pipe_reader(void *arg)
{
	struct pipe_reader *r = arg;
	ssize_t n = read(r->fd, r->dst, 16);

	atomic_store(&r->err, n < 0 ? errno : 0);
	atomic_store(&r->got, n);
	return NULL;
}

static int pipe_w = -1;
static struct pipe_reader rd;
static int kernel_held;

static void hook_feed_pipe(void *arg)
{
	(void)arg;
	if (write(pipe_w, "0123456789abcdef", 16) != 16)
		return;
	sleep_ms(150);
	kernel_held = atomic_load(&rd.got) == -2;
}

Test(move_race, kernel_write_by_read_from_pipe_waits_in_full_mode)
{
	const size_t len = 4 * PAGE;
	uint8_t *m = map_anon(len);
	int p[2];
	pthread_t t;

	m[0] = 1;
	/* A first move sets the mover up and tells which mode it got. */
	cr_assert_eq(srxe_move_to_slab(m, PAGE, slab_fd, 0), 0);
	cr_assert_eq(srxe_move_to_private(m, PAGE, slab_fd, 0), 0);
	if (!srxe_uffd_full_mode())
		cr_skip_test("userfaultfd is user-mode-only here (not root, "
			     "vm.unprivileged_userfaultfd=0): kernel writes "
			     "get EFAULT during a move instead of waiting");
	cr_assert(!pipe(p));
	pipe_w = p[1];
	rd = (struct pipe_reader){ .fd = p[0], .dst = m + PAGE + 100 };
	atomic_store(&rd.got, -2);
	cr_assert(!pthread_create(&t, NULL, pipe_reader, &rd));
	sleep_ms(50); /* let it block in read() on the empty pipe */
	srxe_move_set_window_hook(hook_feed_pipe, NULL);
	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, 256 * PAGE), 0);
	srxe_move_set_window_hook(NULL, NULL);
	cr_assert(!pthread_join(t, NULL));
	cr_assert_eq(atomic_load(&rd.got), 16, "read: %zd, errno %d",
		     atomic_load(&rd.got), atomic_load(&rd.err));
	cr_assert(kernel_held, "the kernel's copy did not wait for the move");
	cr_assert(!memcmp(m + PAGE + 100, "0123456789abcdef", 16));
	cr_assert(!memcmp((const void *)(daemon_view + 256 * PAGE + PAGE + 100),
			  "0123456789abcdef", 16),
		  "the kernel's copy is not in the slab frame");
	cr_assert_eq(srxe_move_to_private(m, len, slab_fd, 256 * PAGE), 0);
	close(p[0]);
	close(p[1]);
	munmap(m, len);
}

/* Someone else's userfaultfd on the range: refused, range untouched. */
Test(move_race, range_registered_by_another_uffd_gives_ebusy)
{
	const size_t len = 2 * PAGE;
	uint8_t *m = map_anon(len);
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* user only */);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { (uintptr_t)m, len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	m[0] = 3;
	m[PAGE] = 4;
	cr_assert(fd >= 0, "userfaultfd: %s", strerror(errno));
	cr_assert(!ioctl(fd, UFFDIO_API, &api));
	cr_assert(!ioctl(fd, UFFDIO_REGISTER, &reg));
	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, 0), -EBUSY);
	cr_assert_eq(m[0], 3);
	m[PAGE] = 5; /* still writable, not protected by the failed move */
	cr_assert_eq(m[PAGE], 5);
	close(fd);
	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, 0), 0);
	cr_assert_eq(srxe_move_to_private(m, len, slab_fd, 0), 0);
	munmap(m, len);
}

/*
 * After fork() the child has no mover thread and its inherited descriptor
 * would act on the parent's memory: its first move must set up its own.
 */
Test(move_race, child_of_fork_moves_with_its_own_mover)
{
	const size_t len = 4 * PAGE;
	uint8_t *m = map_anon(len);
	int status;
	pid_t child;

	memset(m, 0x33, len);
	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, 0), 0);
	cr_assert_eq(srxe_move_to_private(m, len, slab_fd, 0), 0);
	child = fork();
	cr_assert(child >= 0);
	if (!child) {
		int ok = srxe_move_to_slab(m, len, slab_fd, 8 * PAGE) == 0 &&
			 m[5] == 0x33 && daemon_view[8 * PAGE + 5] == 0x33;

		m[6] = 0x44;
		ok = ok && daemon_view[8 * PAGE + 6] == 0x44 &&
		     srxe_move_to_private(m, len, slab_fd, 8 * PAGE) == 0 &&
		     m[6] == 0x44;
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the child's moves failed (status 0x%x)", status);
	/* The parent's range stayed private and as it was. */
	cr_assert_eq(m[6], 0x33);
	munmap(m, len);
}

/*
 * A child handler of another library (the provider's fork support, say)
 * registered before the mover's own and moving pages in the child: the
 * mover must notice it is in a new process although its own handler has
 * not run yet.
 */
static uint8_t *early_buf;
static volatile int *early_result; /* shared with the parent */
static int early_uffd;		   /* the child's, as the handler left it */

static void early_child_handler(void)
{
	int ok;

	alarm(20); /* a mover waiting for the parent's thread hangs: die */
	ok = srxe_move_to_slab(early_buf, PAGE, slab_fd, 12 * PAGE) == 0;

	early_buf[1] = 0x66;
	ok = ok && daemon_view[12 * PAGE + 1] == 0x66 &&
	     srxe_move_to_private(early_buf, PAGE, slab_fd, 12 * PAGE) == 0;
	early_uffd = srxe_uffd_fd();
	*early_result = ok ? 1 : 2;
}

Test(move_race, child_handler_registered_before_the_movers_own_can_move)
{
	int status;
	pid_t child;

	early_result = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(early_result != MAP_FAILED);
	early_buf = map_anon(PAGE);
	early_buf[0] = 0x55;
	/* Before the first move, hence before the mover's own handler. */
	cr_assert(!pthread_atfork(NULL, NULL, early_child_handler));
	cr_assert_eq(srxe_move_to_slab(early_buf, PAGE, slab_fd, 0), 0);
	cr_assert_eq(srxe_move_to_private(early_buf, PAGE, slab_fd, 0), 0);
	child = fork();
	cr_assert(child >= 0);
	/* The mover's own child handler, run after the early one, must
	 * leave the child's new mover alone (it once unmapped its stack). */
	if (!child)
		_exit(*early_result != 1	     ? 1
		      : early_buf[0] != 0x55	     ? 2
		      : srxe_uffd_fd() != early_uffd ? 3
						     : 0);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert_eq(*early_result, 1, "the child handler's moves failed");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the child: status 0x%x (exit 2: its page changed, 3: its "
		  "mover was dropped)",
		  status);
	cr_assert_eq(early_buf[1], 0, "the parent's page is its own");
	munmap(early_buf, PAGE);
}

/* Runs fn in a child process; fails the test unless it exits with 0. */
static void in_child(int (*fn)(void))
{
	int status;
	pid_t child = fork();

	cr_assert(child >= 0);
	if (!child) {
		alarm(30);
		_exit(fn());
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status), "child died (status 0x%x)", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "child check %d failed",
		     WEXITSTATUS(status));
}

/*
 * An application thread that idles until stopped: with it the process has
 * a thread that could store into a range, so an unprotectable move is
 * refused; without it (only the caller) the move runs unprotected.
 */
static int app_idle_pipe[2];

static void *app_idle(void *unused)
{
	char c;

	(void)unused;
	if (read(app_idle_pipe[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

static bool start_app_thread(pthread_t *t)
{
	return !pipe(app_idle_pipe) && !pthread_create(t, NULL, app_idle, NULL);
}

/* Join it and wait until its task is gone: the caller and libsrxe's
 * threads (the mover) remain. */
static bool stop_app_thread(pthread_t t)
{
	close(app_idle_pipe[1]);
	pthread_join(t, NULL);
	close(app_idle_pipe[0]);
	for (int i = 0; i < 1000; i++) {
		if (srxe_threads_only_caller())
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * A kernel that refuses userfaultfd (here: a seccomp filter, as container
 * runtimes install) makes the move fail with EOPNOTSUPP and a line on
 * stderr while another thread exists, rather than move unprotected;
 * SRXE_MOVE_UNSAFE=1 allows the old mover; with the caller alone the move
 * runs unprotected without being asked (nobody else could store).
 */
static int refused_child(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_userfaultfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	uint8_t *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char line[512] = "";
	pthread_t app;
	int err[2];
	ssize_t n;

	if (m == MAP_FAILED || pipe(err) || !start_app_thread(&app))
		return 1;
	m[0] = 9;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return 2;
	dup2(err[1], 2);
	unsetenv("SRXE_MOVE_UNSAFE");
	if (srxe_move_to_slab(m, PAGE, slab_fd, 0) != -EOPNOTSUPP)
		return 3;
	if (m[0] != 9)
		return 4;
	n = read(err[0], line, sizeof(line) - 1);
	if (n <= 0 || !strstr(line, "srxe: memory registration refused: "
				    "userfaultfd() refused"))
		return 5;
	setenv("SRXE_MOVE_UNSAFE", "1", 1);
	if (srxe_move_to_slab(m, PAGE, slab_fd, 0) || m[0] != 9 ||
	    daemon_view[0] != 9)
		return 6;
	if (srxe_move_to_private(m, PAGE, slab_fd, 0) || m[0] != 9)
		return 7;
	unsetenv("SRXE_MOVE_UNSAFE");
	if (!stop_app_thread(app))
		return 8;
	m[0] = 10;
	if (srxe_move_to_slab(m, PAGE, slab_fd, 0) || daemon_view[0] != 10 ||
	    srxe_move_to_private(m, PAGE, slab_fd, 0) || m[0] != 10)
		return 9;
	return 0;
}

Test(move_race, kernel_refusing_userfaultfd_gives_eopnotsupp_unless_unsafe)
{
	in_child(refused_child);
}

/*
 * Without the privilege for a full-mode userfaultfd the mover uses a
 * user-mode-only one: moves still hold user stores, but a kernel write
 * into the range during the move fails with EFAULT (documented in
 * srxe_move.h) instead of waiting.
 */
static int user_mode_child(void)
{
	uint8_t *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int p[2];
	pthread_t t;

	if (m == MAP_FAILED || pipe(p))
		return 1;
	m[0] = 1;
	if (getuid() == 0) {
		FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "re");
		int allowed = 1;

		if (f && fscanf(f, "%d", &allowed) != 1)
			allowed = 1;
		if (f)
			fclose(f);
		if (allowed)
			return 0; /* full mode for anyone: nothing to see */
		/* Keep /proc/self readable (pagemap, maps) after the switch. */
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534) ||
		    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
			return 2;
	}
	if (srxe_move_to_slab(m, PAGE, slab_fd, 0) ||
	    srxe_move_to_private(m, PAGE, slab_fd, 0))
		return 3;
	if (srxe_uffd_full_mode())
		return 0; /* privileged after all (CAP_SYS_PTRACE) */
	pipe_w = p[1];
	rd = (struct pipe_reader){ .fd = p[0], .dst = m + PAGE + 100 };
	atomic_store(&rd.got, -2);
	if (pthread_create(&t, NULL, pipe_reader, &rd))
		return 4;
	sleep_ms(50);
	srxe_move_set_window_hook(hook_feed_pipe, NULL);
	if (srxe_move_to_slab(m, 4 * PAGE, slab_fd, 512 * PAGE))
		return 5;
	srxe_move_set_window_hook(NULL, NULL);
	pthread_join(t, NULL);
	if (atomic_load(&rd.got) != -1 || atomic_load(&rd.err) != EFAULT)
		return 6;
	/* A store from user space still waits and lands. */
	memset(&st, 0, sizeof(st));
	st.target = (volatile uint64_t *)(m + 2 * PAGE);
	st.value = 77;
	srxe_move_set_window_hook(hook_release_writer, &st);
	if (pthread_create(&t, NULL, one_writer, &st))
		return 7;
	if (srxe_move_to_private(m, 4 * PAGE, slab_fd, 512 * PAGE))
		return 8;
	pthread_join(t, NULL);
	if (!st.held || *st.target != 77)
		return 9;
	return 0;
}

Test(move_race, user_mode_only_uffd_holds_stores_and_fails_kernel_writes)
{
	in_child(user_mode_child);
}

/*
 * Unprivileged, pagemap does not tell a write-protect marker from a
 * swapped-out page; the mover then takes swapped pages from a scan made
 * before the protection and still skips never-touched pages.
 */
static int unprivileged_scan_child(void)
{
	const size_t pages = 64, len = pages * PAGE;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct stat before, after;

	if (m == MAP_FAILED || madvise(m, len, MADV_NOHUGEPAGE))
		return 1;
	for (size_t i = 0; i < pages; i += 8)
		m[i * PAGE + 3] = (uint8_t)(i + 1);
	if (getuid() == 0 &&
	    (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534) ||
	     prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)))
		return 2;
	if (fstat(slab_fd, &before))
		return 3;
	if (srxe_move_to_slab(m, len, slab_fd, 2048 * PAGE))
		return 4;
	if (fstat(slab_fd, &after) ||
	    (uint64_t)(after.st_blocks - before.st_blocks) * 512 !=
		    pages / 8 * PAGE)
		return 5;
	for (size_t i = 0; i < pages; i++)
		if (m[i * PAGE + 3] != (i % 8 ? 0 : (uint8_t)(i + 1)))
			return 6;
	if (srxe_move_to_private(m, len, slab_fd, 2048 * PAGE))
		return 7;
	for (size_t i = 0; i < pages; i += 8)
		if (m[i * PAGE + 3] != (uint8_t)(i + 1))
			return 8;
	return 0;
}

Test(move_race, unprivileged_scan_skips_untouched_pages)
{
	in_child(unprivileged_scan_child);
}

/*
 * userfaultfd cannot write-protect a private mapping of a disk file (an
 * executable's .data, say): refused while another thread exists, unless
 * SRXE_MOVE_UNSAFE=1; moved unprotected when the caller is alone.
 */
static int disk_file_child(void)
{
	char path[64];
	pthread_t app;
	int fd, ret;
	uint8_t *m;

	snprintf(path, sizeof(path), "/var/tmp/srxe-move-race.%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 2 * PAGE))
		return 1;
	m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	unlink(path);
	if (m == MAP_FAILED)
		return 1;
	m[0] = 42;
	unsetenv("SRXE_MOVE_UNSAFE");
	if (!start_app_thread(&app))
		return 1;
	ret = srxe_move_to_slab(m, 2 * PAGE, slab_fd, 0);
	if (!ret) /* /var/tmp is tmpfs (shmem) here: protected, fine */
		return srxe_move_to_private(m, 2 * PAGE, slab_fd, 0) ? 2 : 0;
	if (ret != -EOPNOTSUPP || m[0] != 42)
		return 3;
	setenv("SRXE_MOVE_UNSAFE", "1", 1);
	if (srxe_move_to_slab(m, 2 * PAGE, slab_fd, 0) || m[0] != 42 ||
	    daemon_view[0] != 42)
		return 4;
	if (srxe_move_to_private(m, 2 * PAGE, slab_fd, 0))
		return 5;
	unsetenv("SRXE_MOVE_UNSAFE");
	if (!stop_app_thread(app))
		return 6;
	m[0] = 43;
	if (srxe_move_to_slab(m, 2 * PAGE, slab_fd, 0) || daemon_view[0] != 43)
		return 7;
	return srxe_move_to_private(m, 2 * PAGE, slab_fd, 0) || m[0] != 43 ? 8
									   : 0;
}

Test(move_race, private_disk_file_mapping_refused_unless_unsafe)
{
	in_child(disk_file_child);
}
