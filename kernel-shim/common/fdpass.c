// SPDX-License-Identifier: MIT
/* SCM_RIGHTS reception (include/srxe/fdpass.h). */
#include <string.h>
#include <unistd.h>

#include "srxe/fdpass.h"

int srxe_take_fds(struct msghdr *msg, int *first, bool *foreign)
{
	struct cmsghdr *cm;
	int count = 0;

	*first = -1;
	*foreign = false;
	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t nfds, i;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS) {
			*foreign = true;
			continue;
		}
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(fd));
			if (count++ == 0)
				*first = fd;
			else
				close(fd);
		}
	}
	return count;
}
