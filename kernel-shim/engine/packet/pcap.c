// SPDX-License-Identifier: MIT
#include "pcap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_USEC	   0xa1b2c3d4u
#define PCAP_MAGIC_NSEC	   0xa1b23c4du
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4

/* On-disk layouts, in the writer's byte order. */
struct pcap_file_header {
	uint32_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_record_header {
	uint32_t ts_sec;
	uint32_t ts_frac; /* us or ns */
	uint32_t incl_len;
	uint32_t orig_len;
};

static uint32_t file_u32(const struct srxe_pcap_reader *r, uint32_t v)
{
	return r->swapped ? __builtin_bswap32(v) : v;
}

static int read_exact(FILE *f, void *buf, size_t len)
{
	if (fread(buf, 1, len, f) == len)
		return 0;
	return ferror(f) ? -EIO : -EINVAL;
}

int srxe_pcap_reader_open(struct srxe_pcap_reader *r, FILE *f)
{
	struct pcap_file_header h;
	int ret;

	memset(r, 0, sizeof(*r));
	r->f = f;
	ret = read_exact(f, &h, sizeof(h));
	if (ret)
		return ret;
	if (h.magic == PCAP_MAGIC_USEC || h.magic == PCAP_MAGIC_NSEC) {
		r->swapped = false;
	} else if (__builtin_bswap32(h.magic) == PCAP_MAGIC_USEC ||
		   __builtin_bswap32(h.magic) == PCAP_MAGIC_NSEC) {
		r->swapped = true;
	} else {
		return -EINVAL;
	}
	r->nanosec = file_u32(r, h.magic) == PCAP_MAGIC_NSEC;
	r->snaplen = file_u32(r, h.snaplen);
	r->linktype = file_u32(r, h.linktype);
	return 0;
}

static int ensure_buf(struct srxe_pcap_reader *r, size_t len)
{
	uint8_t *nbuf;

	if (len <= r->buf_size)
		return 0;
	nbuf = realloc(r->buf, len);
	if (!nbuf)
		return -ENOMEM;
	r->buf = nbuf;
	r->buf_size = len;
	return 0;
}

int srxe_pcap_next(struct srxe_pcap_reader *r, struct srxe_pcap_record *rec)
{
	struct pcap_record_header h;
	size_t got;
	uint32_t frac;
	int ret;

	got = fread(&h, 1, sizeof(h), r->f);
	if (got == 0 && feof(r->f))
		return 0;
	if (got != sizeof(h))
		return ferror(r->f) ? -EIO : -EINVAL;
	rec->len = file_u32(r, h.incl_len);
	rec->orig_len = file_u32(r, h.orig_len);
	if (rec->len > SRXE_PCAP_MAX_RECORD)
		return -EINVAL;
	ret = ensure_buf(r, rec->len ? rec->len : 1);
	if (ret)
		return ret;
	ret = read_exact(r->f, r->buf, rec->len);
	if (ret)
		return ret;
	frac = file_u32(r, h.ts_frac);
	rec->ts.tv_sec = file_u32(r, h.ts_sec);
	rec->ts.tv_nsec = r->nanosec ? frac : (long)frac * 1000;
	rec->data = r->buf;
	return 1;
}

void srxe_pcap_reader_close(struct srxe_pcap_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->buf_size = 0;
}

int srxe_pcap_writer_open(struct srxe_pcap_writer *w, FILE *f,
			  uint32_t linktype, uint32_t snaplen)
{
	struct pcap_file_header h = {
		.magic = PCAP_MAGIC_USEC,
		.version_major = PCAP_VERSION_MAJOR,
		.version_minor = PCAP_VERSION_MINOR,
		.snaplen = snaplen,
		.linktype = linktype,
	};

	w->f = f;
	w->snaplen = snaplen;
	return fwrite(&h, sizeof(h), 1, f) == 1 ? 0 : -EIO;
}

int srxe_pcap_write(struct srxe_pcap_writer *w, const struct timespec *ts,
		    const void *data, uint32_t len)
{
	uint32_t incl = len < w->snaplen ? len : w->snaplen;
	struct pcap_record_header h = {
		.ts_sec = (uint32_t)ts->tv_sec,
		.ts_frac = (uint32_t)(ts->tv_nsec / 1000),
		.incl_len = incl,
		.orig_len = len,
	};

	if (fwrite(&h, sizeof(h), 1, w->f) != 1)
		return -EIO;
	if (incl && fwrite(data, incl, 1, w->f) != 1)
		return -EIO;
	return 0;
}
