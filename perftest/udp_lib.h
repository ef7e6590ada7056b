/* SPDX-License-Identifier: MIT */
/*
 * What the raw UDP programs of perftest share (udp_raw_bw, the wire
 * table's baseline, and udp_gso_shapes): the clock, addresses, sockets
 * with large buffers, the connected DF sender, and the end markers that
 * stop udp_raw_bw's receiver.  Errors end the program with a message
 * naming it (die_errno).
 */
#ifndef SRXE_PERFTEST_UDP_LIB_H
#define SRXE_PERFTEST_UDP_LIB_H

#include <netinet/in.h>
#include <stdbool.h>

/* An end marker is this long; data datagrams are longer. */
#define END_MARK_LEN 1

/* CLOCK_MONOTONIC in seconds. */
double now(void);

/* "PROGRAM: WHAT: strerror(errno)" on stderr, then exit(1). */
void die_errno(const char *what);

/* @addr:@port (IPv4, port 1..65535) into *@sa; -1 if malformed. */
int parse_addr(const char *addr, const char *port, struct sockaddr_in *sa);

/* A UDP socket with an 8 MiB buffer (@buf_opt_force when privileged,
 * else @buf_opt as far as the sysctl allows). */
int udp_socket(int buf_opt_force, int buf_opt);

/* A UDP socket connected to @sa, DF as srxe sends (a datagram over the
 * MTU fails, never fragments), large send buffer, and @gso_seg as
 * UDP_SEGMENT when not 0. */
int udp_sender(const struct sockaddr_in *sa, int gso_seg);

/* Several 1-byte end markers, a few ms apart in case one is dropped;
 * UDP_SEGMENT off first when @gso. */
void send_end_marks(int fd, bool gso);

#endif
