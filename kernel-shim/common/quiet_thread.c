// SPDX-License-Identifier: MIT
/* Threads that take no signal (include/srxe/quiet_thread.h). */
#include <signal.h>

#include "srxe/quiet_thread.h"

int srxe_quiet_thread_create(pthread_t *thread, const pthread_attr_t *attr,
			     void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int ret;

	/* The new thread inherits the mask at creation: no window. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(thread, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}
