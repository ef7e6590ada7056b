/* SPDX-License-Identifier: MIT */
/*
 * Classic libpcap files (not pcapng): a reader for test vectors and
 * captures, a writer for `srxe capture`.
 *
 * Reader: either byte order, microsecond or nanosecond magic, any link
 * type (the caller looks at ->linktype).  A record larger than
 * SRXE_PCAP_MAX_RECORD or a file cut inside a record is an error, not a
 * crash.  Writer: native byte order, microsecond timestamps.
 * Neither side opens or closes the FILE.
 */
#ifndef SRXE_ENGINE_PCAP_H
#define SRXE_ENGINE_PCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define SRXE_PCAP_LINKTYPE_ETHERNET 1
#define SRXE_PCAP_LINKTYPE_RAW	    101 /* starts with the IP header */
#define SRXE_PCAP_MAX_RECORD	    262144u

struct srxe_pcap_reader {
	FILE *f;
	bool swapped; /* file byte order differs from ours */
	bool nanosec; /* timestamps' second field is in ns, not us */
	uint32_t snaplen;
	uint32_t linktype;
	uint8_t *buf; /* holds the current record */
	size_t buf_size;
};

struct srxe_pcap_record {
	struct timespec ts;
	uint32_t orig_len;   /* length on the wire */
	uint32_t len;	     /* bytes captured, at @data */
	const uint8_t *data; /* valid until the next srxe_pcap_next() */
};

/* Reads the file header.  0, -EINVAL (not a classic pcap file) or -EIO. */
int srxe_pcap_reader_open(struct srxe_pcap_reader *r, FILE *f);
/* 1 and *@rec filled, 0 at a clean end of file, -EINVAL (truncated or
 * oversized record), -EIO or -ENOMEM. */
int srxe_pcap_next(struct srxe_pcap_reader *r, struct srxe_pcap_record *rec);
void srxe_pcap_reader_close(struct srxe_pcap_reader *r);

struct srxe_pcap_writer {
	FILE *f;
	uint32_t snaplen;
};

/* Writes the file header.  0 or -EIO. */
int srxe_pcap_writer_open(struct srxe_pcap_writer *w, FILE *f,
			  uint32_t linktype, uint32_t snaplen);
/* Appends one record, cut to snaplen (orig_len stays @len).  0 or -EIO. */
int srxe_pcap_write(struct srxe_pcap_writer *w, const struct timespec *ts,
		    const void *data, uint32_t len);

#endif
