/* SPDX-License-Identifier: MIT */
/*
 * Completion channels for unmodified libibverbs (issue #6, docs/events.md):
 * the command file (cmdfile.h) bound to sessions, the per-context service
 * socket to the provider's helper thread, and the channel records whose
 * pipe write ends the engine writes completion events to.
 *
 * Contract:
 *  - Everything runs in the control-plane thread.  The module keeps its
 *    own epoll set (/dev/fuse, service sockets, channel pipes, a timer),
 *    registered once in the server's set; srxed_chans_event() serves it
 *    without blocking.
 *  - srxed_chans_start() mounts <rundir>/cmd; when that fails (no
 *    /dev/fuse, no CAP_SYS_ADMIN) srxed serves on without channels:
 *    CHAN_OPEN answers EOPNOTSUPP with the reason, the provider keeps
 *    /dev/full as cmd_fd and ibv_create_comp_channel fails with ENOSPC.
 *  - A command-file write is answered exactly once: when the provider's
 *    service thread answered, or with an error when its thread or
 *    process is gone (checked every second while a write waits) or its
 *    service socket hangs up.  srxed never answers while the helper may
 *    still store into the application's memory.
 *  - A channel lives while the application holds its read end or a CQ
 *    delivers to it; closing the read end (ibv_destroy_comp_channel)
 *    releases it once no CQ uses it; srxed_chan_close() frees every
 *    channel of the session (CQs must be gone already).
 */
#ifndef SRXED_CHAN_H
#define SRXED_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "srxe/proto_event.h"
#include "srxed.h"

struct srxed_channel;

/* 0, or -errno when the module cannot run at all (out of memory). */
int srxed_chans_start(struct srxed *d, int server_epoll_fd);
void srxed_chans_event(struct srxed *d);
/* After every session is gone: unmount and free. */
void srxed_chans_stop(struct srxed *d);

/* CHAN_OPEN; 0 or a positive errno with why (SRXE_REASON_MAX + 1). */
int srxed_chan_open(struct srxed *d, struct srxed_session *s,
		    const struct srxe_chan_open_req *req,
		    struct srxe_chan_open_resp *resp, int *reply_fd, char *why);
/* Session teardown, after its CQs are destroyed. */
void srxed_chan_close(struct srxed *d, struct srxed_session *s);

/*
 * The session's live channel with this pipe inode, or NULL.  *event_fd
 * receives the write end for srxe_eng_cq_set_event_fd().
 */
struct srxed_channel *srxed_chan_find(struct srxed_session *s, uint64_t ino,
				      int *event_fd);
/* A CQ starts / stops delivering to ch. */
void srxed_chan_get(struct srxed_channel *ch);
void srxed_chan_put(struct srxed *d, struct srxed_channel *ch);

/* Channels alive in the daemon (for tests and STATUS). */
unsigned int srxed_chans_count(const struct srxed *d);

#endif /* SRXED_CHAN_H */
