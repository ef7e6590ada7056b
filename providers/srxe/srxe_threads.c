// SPDX-License-Identifier: MIT
/* libsrxe's own threads, see srxe_threads.h for the contract. */
#include "srxe_threads.h"

#include <dirent.h>
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "srxe/quiet_thread.h"

/* A few per context (service, fatal watch) and the mover: plenty. */
#define KNOWN_MAX 256

static _Atomic pid_t known[KNOWN_MAX];

static pid_t own_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Slot index, or -1 when full (the thread then counts as unknown). */
static int remember(pid_t tid)
{
	for (int i = 0; i < KNOWN_MAX; i++) {
		pid_t free_slot = 0;

		if (atomic_compare_exchange_strong(&known[i], &free_slot, tid))
			return i;
	}
	return -1;
}

static bool is_known(pid_t tid)
{
	for (int i = 0; i < KNOWN_MAX; i++)
		if (atomic_load(&known[i]) == tid)
			return true;
	return false;
}

struct start {
	void *(*fn)(void *);
	void *arg;
	sem_t known; /* posted once the thread is in the table */
};

static void *trampoline(void *p)
{
	struct start *s = p;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;
	int slot = remember(own_tid());
	void *ret;

	sem_post(&s->known); /* s lives on the creator's stack: not after */
	ret = fn(arg);
	if (slot >= 0)
		atomic_store(&known[slot], 0);
	return ret;
}

/*
 * Returns only once the thread is in the table: a check right after the
 * creation (the first registration of a single-threaded program) must
 * not find an unknown thread that merely has not run yet.
 */
int srxe_thread_create(pthread_t *thread, const pthread_attr_t *attr,
		       void *(*fn)(void *), void *arg)
{
	struct start s = { .fn = fn, .arg = arg };
	int ret;

	if (sem_init(&s.known, 0, 0))
		return errno;
	ret = srxe_quiet_thread_create(thread, attr, trampoline, &s);
	while (!ret && sem_wait(&s.known) && errno == EINTR)
		;
	sem_destroy(&s.known);
	return ret;
}

bool srxe_threads_only_caller(void)
{
	DIR *d = opendir("/proc/self/task");
	pid_t me = own_tid();
	bool only = d != NULL;
	struct dirent *e;

	while (only && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid > 0 && tid != me && !is_known(tid))
			only = false;
	}
	if (d)
		closedir(d);
	return only;
}

static void forget_all(void)
{
	for (int i = 0; i < KNOWN_MAX; i++)
		atomic_store(&known[i], 0);
}

__attribute__((constructor)) static void srxe_threads_init(void)
{
	pthread_atfork(NULL, NULL, forget_all);
}
