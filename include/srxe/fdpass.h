/* SPDX-License-Identifier: MIT */
/*
 * Receiving file descriptors (SCM_RIGHTS) on the control socket, shared by
 * srxed and the client side.  A message carries at most one descriptor by
 * protocol; extra ones must never leak.
 */
#ifndef SRXE_FDPASS_H
#define SRXE_FDPASS_H

#include <stdbool.h>
#include <sys/socket.h>

/*
 * Walks msg's ancillary data: keeps the first SCM_RIGHTS descriptor in
 * *first (-1 if none), closes every other one, and sets *foreign when
 * ancillary data of another kind was present.  Returns how many
 * descriptors arrived.
 */
int srxe_take_fds(struct msghdr *msg, int *first, bool *foreign);

#endif /* SRXE_FDPASS_H */
