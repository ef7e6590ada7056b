/* SPDX-License-Identifier: MIT */
/*
 * Which threads of the process are libsrxe's own.
 *
 * The page mover (srxe_move.h) is atomic for other threads only where
 * userfaultfd can write-protect the range.  Where it cannot (a kernel or
 * seccomp filter refusing userfaultfd, a private mapping of a disk file),
 * an unprotected move is still safe if no thread but the caller can store
 * into the application's memory: libsrxe's own threads never touch it,
 * and a new application thread can only be created by an existing one.
 *
 * Contract:
 *  - Every thread libsrxe starts goes through srxe_thread_create(); it is
 *    known from its first instruction to its return (threads that call
 *    pthread_exit() themselves are not supported).  It starts with every
 *    signal blocked: signals are the application's (and no handler may
 *    run on the page mover: it could write anywhere).
 *  - srxe_threads_only_caller() is true when every task of the process
 *    (/proc/self/task) is the calling thread or a known libsrxe thread.
 *    io_uring workers and any thread of another library count as the
 *    application's.  False when the answer is unknown (no /proc, too many
 *    libsrxe threads to remember).
 *  - After fork() the child forgets the parent's threads.
 */
#ifndef SRXE_THREADS_H
#define SRXE_THREADS_H

#include <pthread.h>
#include <stdbool.h>

int srxe_thread_create(pthread_t *thread, const pthread_attr_t *attr,
		       void *(*fn)(void *), void *arg);

bool srxe_threads_only_caller(void);

#endif /* SRXE_THREADS_H */
