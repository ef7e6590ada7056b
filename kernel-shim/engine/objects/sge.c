// SPDX-License-Identifier: MIT
/* Byte ranges of a (private, validated) SGE list -> checked chunks. */
#include "objects.h"

int srxe_sge_map(struct srxe_engine *eng, const struct srxe_mem_client *mem,
		 uint32_t pd, const struct srxe_wqe_sge *sge, uint32_t nsge,
		 uint64_t off, uint64_t len, unsigned int access,
		 struct srxe_sg *out, int max)
{
	int n = 0;

	for (uint32_t i = 0; i < nsge && len; i++) {
		struct srxe_xlate_req req = {
			.key = sge[i].lkey,
			.access = access,
			.pd = pd,
		};
		uint64_t piece;
		int got;

		if (off >= sge[i].length) {
			off -= sge[i].length;
			continue;
		}
		piece = sge[i].length - off;
		if (piece > len)
			piece = len;
		req.addr = sge[i].addr + off;
		req.len = piece;
		got = srxe_eng_translate(eng, mem, &req, out + n, max - n);
		if (got < 0) {
			srxe_odp_abort(eng);
			return got;
		}
		n += got;
		len -= piece;
		off = 0;
	}
	if (len) {
		srxe_odp_abort(eng);
		return -SRXE_XLATE_OUT_OF_BOUNDS;
	}
	return n;
}
