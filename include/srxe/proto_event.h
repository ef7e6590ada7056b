/* SPDX-License-Identifier: MIT */
/*
 * Completion channels (issue #6): the control messages and the private
 * command-file command that let unmodified libibverbs create completion
 * channels.  Framing, errors and fd passing are those of
 * include/srxe/proto.h.  The whole conversation is described in
 * docs/events.md.
 *
 *  1. The provider sends CHAN_OPEN on its control connection.  srxed
 *     answers with a one-time bind token and one fd: its end of a fresh
 *     SOCK_SEQPACKET socket pair, the context's *service socket*.
 *  2. The provider writes struct srxe_cmdfile_bind to the context's
 *     cmd_fd (srxed's FUSE command file, include/srxe/paths.h); srxed
 *     binds that open file to the session.  Until then every command
 *     written there fails with EPERM.
 *  3. libibverbs writes IB_USER_VERBS_CMD_CREATE_COMP_CHANNEL to cmd_fd;
 *     the write blocks while srxed sends SVC_MAKE_CHANNEL on the service
 *     socket.  The provider's service thread creates a pipe, stores the
 *     read end's number at the response pointer and replies with the
 *     pipe's inode and (SCM_RIGHTS) its write end; srxed then completes
 *     the write.
 *  4. CREATE_CQ names the channel by the inode of its fd
 *     (struct srxe_create_cq_req.channel_ino); the engine writes 8-byte
 *     struct ib_uverbs_comp_event_desc records to the write end.
 */
#ifndef SRXE_PROTO_EVENT_H
#define SRXE_PROTO_EVENT_H

#include <stdint.h>

enum srxe_event_opcode {
	/* provider -> srxed, on the control connection; reply fd: the
	 * provider's end of the service socket. */
	SRXE_OP_CHAN_OPEN = 31,
	/* srxed -> provider, on the service socket; reply fd: the write
	 * end of the new channel's pipe. */
	SRXE_OP_SVC_MAKE_CHANNEL = 32,
	SRXE_OP_EVENT_END, /* first unused; 33-35 stay reserved */
};

#define SRXE_CHAN_TOKEN_BYTES 16

struct srxe_chan_open_req {
	uint32_t svc_tid; /* the service thread's tid (gettid) */
	uint32_t reserved;
};

struct srxe_chan_open_resp {
	uint8_t token[SRXE_CHAN_TOKEN_BYTES]; /* for struct srxe_cmdfile_bind */
};

struct srxe_svc_make_channel_req {
	uint64_t resp_ptr; /* where libibverbs wants the fd (u32) */
};

struct srxe_svc_make_channel_resp {
	uint64_t ino;	/* inode of the pipe */
	uint32_t rd_fd; /* the read end's number in the application */
	uint32_t reserved;
};

/*
 * The private command the provider writes to its command file.  command
 * has bits no kernel uverbs command uses (those are below 0x100, with
 * 0x80000000 for the extended ones).
 */
#define SRXE_CMDFILE_BIND 0x53580100u

struct srxe_cmdfile_bind {
	uint32_t command;   /* SRXE_CMDFILE_BIND */
	uint16_t in_words;  /* sizeof(struct srxe_cmdfile_bind) / 4 */
	uint16_t out_words; /* 0 */
	uint8_t token[SRXE_CHAN_TOKEN_BYTES];
};

#endif /* SRXE_PROTO_EVENT_H */
