// SPDX-License-Identifier: MIT
/*
 * A process's memory through a helper thread of its own (contract in
 * proc_io.h).  The caller and the helper meet under one lock: the caller
 * asks (the transfer's fields, then `asked`), the helper does the
 * transfer unlocked and ends it (`ended`).  A caller that stops waiting
 * leaves the transfer `abandoned`, and the helper collects it.
 */
#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "packet/timing.h"
#include "proc_io.h"
#include "srxe/quiet_thread.h"

struct srxe_proc_io {
	pthread_mutex_t lock;
	pthread_cond_t work; /* to the helper: a transfer was asked, or close */
	pthread_cond_t done; /* to callers: a transfer ended or was collected */
	pthread_t helper;
	int fd;
	uint8_t *buf;	/* SRXE_PROC_IO_MAX: the bytes of the transfer */
	uint8_t *probe; /* SRXE_PROC_IO_MAX: what a write reads first */
	/* the transfer, as asked (read by the helper while busy) */
	uint64_t va;
	uint32_t len;
	bool write;
	int result;
	uint64_t took_ns;      /* how long the last transfer that ended took */
	uint64_t asked, ended; /* transfers asked and ended so far */
	bool busy;	       /* asked and not yet collected */
	bool abandoned;	       /* its caller gave up: the helper collects it */
	bool closing;
	bool orphan; /* closed while a transfer ran: the helper frees all */
	int cpu;     /* the CPU the helper is bound to, -1: any */
};

static int move_bytes(int fd, uint8_t *buf, uint32_t len, uint64_t va,
		      bool write)
{
	while (len) {
		ssize_t n = write ? pwrite(fd, buf, len, (off_t)va)
				  : pread(fd, buf, len, (off_t)va);

		if (n <= 0) /* a short transfer: a hole in the mapping */
			return -EFAULT;
		buf += n;
		va += (uint64_t)n;
		len -= (uint32_t)n;
	}
	return 0;
}

/* A write reads the range first: a hole refuses it before any byte of it
 * is written. */
static int transfer(struct srxe_proc_io *io)
{
	int err = 0;

	if (io->write)
		err = move_bytes(io->fd, io->probe, io->len, io->va, false);
	if (!err)
		err = move_bytes(io->fd, io->buf, io->len, io->va, io->write);
	return err;
}

static void io_free(struct srxe_proc_io *io)
{
	close(io->fd);
	free(io->buf);
	free(io->probe);
	pthread_cond_destroy(&io->work);
	pthread_cond_destroy(&io->done);
	pthread_mutex_destroy(&io->lock);
	free(io);
}

/*
 * Whenever the helper works, an engine thread waits for it: it gets the
 * short scheduler slice that lets its wake-up preempt a client spinning
 * on the CPU (on 2 vCPUs here, when the caller still slept on a condition
 * variable, a 2 B ib_write_lat --odp t_typical of 40 us with it against
 * 67 us without; with the caller yielding, runs vary more than the two
 * differ).
 */
#define HELPER_SLICE_US 100u

static void *helper_main(void *arg)
{
	struct srxe_proc_io *io = arg;
	bool orphan;

	srxe_thread_slice(HELPER_SLICE_US);
	pthread_mutex_lock(&io->lock);
	for (;;) {
		uint64_t start, took;
		int result;

		while (io->asked == io->ended && !io->closing)
			pthread_cond_wait(&io->work, &io->lock);
		if (io->asked == io->ended)
			break;
		pthread_mutex_unlock(&io->lock);
		start = srxe_now_ns();
		result = transfer(io);
		took = srxe_now_ns() - start;
		pthread_mutex_lock(&io->lock);
		io->result = result;
		io->took_ns = took;
		__atomic_store_n(&io->ended, io->asked, __ATOMIC_RELEASE);
		if (io->abandoned) {
			io->abandoned = false;
			io->busy = false;
		}
		pthread_cond_broadcast(&io->done);
	}
	orphan = io->orphan;
	pthread_mutex_unlock(&io->lock);
	if (orphan)
		io_free(io);
	return NULL;
}

/* The helper takes no signal: those are srxed's main thread's. */
static int start_helper(struct srxe_proc_io *io)
{
	int err = srxe_quiet_thread_create(&io->helper, NULL, helper_main, io);

	if (!err)
		pthread_setname_np(io->helper, "srxe-proc-io");
	return err;
}

static int init_sync(struct srxe_proc_io *io)
{
	pthread_condattr_t ca;
	int err;

	if (pthread_condattr_init(&ca))
		return ENOMEM;
	err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(&io->work, &ca);
	if (!err && (err = pthread_cond_init(&io->done, &ca)))
		pthread_cond_destroy(&io->work);
	pthread_condattr_destroy(&ca);
	if (!err && (err = pthread_mutex_init(&io->lock, NULL))) {
		pthread_cond_destroy(&io->work);
		pthread_cond_destroy(&io->done);
	}
	return err;
}

struct srxe_proc_io *srxe_proc_io_open(int fd)
{
	struct srxe_proc_io *io = calloc(1, sizeof(*io));
	int err = ENOMEM;

	if (!io)
		goto fail;
	io->fd = fd;
	io->cpu = -1;
	io->buf = malloc(SRXE_PROC_IO_MAX);
	io->probe = malloc(SRXE_PROC_IO_MAX);
	if (!io->buf || !io->probe)
		goto fail_free;
	err = init_sync(io);
	if (err)
		goto fail_free;
	err = start_helper(io);
	if (!err)
		return io;
	pthread_cond_destroy(&io->work);
	pthread_cond_destroy(&io->done);
	pthread_mutex_destroy(&io->lock);
fail_free:
	free(io->buf);
	free(io->probe);
	free(io);
fail:
	errno = err;
	return NULL;
}

/* CLOCK_MONOTONIC ns (srxe_now_ns) as a condition variable's deadline. */
static struct timespec as_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000u),
				  .tv_nsec = (long)(ns % 1000000000u) };
}

/* Until no transfer is busy, or @until passes; never behind one whose
 * caller gave up: that one is slow, and the time is others'. */
static void wait_idle(struct srxe_proc_io *io, const struct timespec *until)
{
	while (io->busy && !io->abandoned &&
	       !pthread_cond_timedwait(&io->done, &io->lock, until))
		;
}

/*
 * Until transfer @mine ended, or @until_ns passes.  The caller yields its
 * CPU instead of sleeping: the helper, bound to that CPU (follow_caller),
 * runs at once, and no wake-up of the caller is paid for (on 2 vCPUs
 * here a 4 KiB ib_write_bw --odp moved 150 MiB/s so, 80 sleeping).
 */
static void wait_ended(struct srxe_proc_io *io, uint64_t mine,
		       uint64_t until_ns)
{
	pthread_mutex_unlock(&io->lock);
	while (__atomic_load_n(&io->ended, __ATOMIC_ACQUIRE) != mine &&
	       srxe_now_ns() < until_ns)
		sched_yield();
	pthread_mutex_lock(&io->lock);
}

/*
 * The helper runs on the CPU of the caller, which yields it until the
 * transfer ends: a wake-up on the same CPU costs a fraction of one on
 * another (an IPI; on a 2-vCPU VM here 9 against 40-60 us a round trip).
 */
static void follow_caller(struct srxe_proc_io *io)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0 || cpu == io->cpu)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* tried once per CPU: where a cpuset refuses it, the helper runs
	 * where the scheduler puts it */
	pthread_setaffinity_np(io->helper, sizeof(set), &set);
	io->cpu = cpu;
}

int srxe_proc_io_rw(struct srxe_proc_io *io, void *buf, uint32_t len,
		    uint64_t va, bool write, uint64_t wait_ns)
{
	struct timespec until;
	uint64_t mine, until_ns;
	int ret;

	if (len > SRXE_PROC_IO_MAX)
		return -EINVAL;
	pthread_mutex_lock(&io->lock);
	/* A process whose faults are slow costs its callers no waiting
	 * (even just under @wait_ns each) until a transfer is fast again. */
	until_ns = srxe_now_ns() + (io->took_ns > wait_ns / 2 ? 0 : wait_ns);
	until = as_timespec(until_ns);
	wait_idle(io, &until);
	if (io->busy) { /* an earlier transfer still runs */
		pthread_mutex_unlock(&io->lock);
		return -EAGAIN;
	}
	io->busy = true;
	io->va = va;
	io->len = len;
	io->write = write;
	if (write)
		memcpy(io->buf, buf, len);
	mine = ++io->asked;
	follow_caller(io);
	pthread_cond_signal(&io->work);
	wait_ended(io, mine, until_ns);
	if (io->ended != mine) {
		io->abandoned = true;
		pthread_mutex_unlock(&io->lock);
		return -EAGAIN;
	}
	ret = io->result;
	if (!ret && !write)
		memcpy(buf, io->buf, len);
	io->busy = false;
	pthread_cond_broadcast(&io->done);
	pthread_mutex_unlock(&io->lock);
	return ret;
}

void srxe_proc_io_close(struct srxe_proc_io *io)
{
	pthread_t helper;
	bool stuck;

	if (!io)
		return;
	helper = io->helper; /* a stuck helper may free io once unlocked */
	pthread_mutex_lock(&io->lock);
	io->closing = true;
	stuck = io->asked != io->ended;
	io->orphan = stuck;
	pthread_cond_signal(&io->work);
	pthread_mutex_unlock(&io->lock);
	if (stuck) {
		pthread_detach(helper);
		return;
	}
	pthread_join(helper, NULL);
	io_free(io);
}
