/* SPDX-License-Identifier: MIT */
/*
 * Threads that take no signal, for the provider and srxed alike.
 *
 * Signals belong to one place: in an application, its own threads (a
 * handler must never run on a provider thread, least of all on the page
 * mover); in srxed, the server loop's signalfd (a process-directed
 * SIGTERM that lands on a thread without it blocked kills srxed before
 * it cleans up).
 *
 * Contract: srxe_quiet_thread_create() is pthread_create() with every
 * signal blocked in the new thread from its first instruction; the
 * caller's signal mask is the same before and after.  Returns 0 or a
 * positive errno, as pthread_create() does.
 */
#ifndef SRXE_QUIET_THREAD_H
#define SRXE_QUIET_THREAD_H

#include <pthread.h>

int srxe_quiet_thread_create(pthread_t *thread, const pthread_attr_t *attr,
			     void *(*fn)(void *), void *arg);

#endif /* SRXE_QUIET_THREAD_H */
