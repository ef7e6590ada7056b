// SPDX-License-Identifier: MIT
/*
 * 65,536 concurrent MRs in one client: dense (16-byte MRs filling a 1 MiB
 * buffer, 256 MRs per page, 256 per descriptor block, so one table page
 * needs 256 alias descriptors) and one MR per page.  All register and
 * translate to the right bytes; the default limit refuses the 65,537th;
 * deregistering everything returns every frame and table page.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mem/translate.h"

#define PAGE 4096ull
#define NMR  65536u

static void run(enum srxe_mem_mode mode, uint64_t base, uint64_t mr_len,
		uint32_t slab_frames)
{
	struct srxe_mem_config cfg = { .mode = mode,
				       .client_id = 9,
				       .slab_frames = slab_frames };
	struct srxe_mr_keys *keys = calloc(NMR, sizeof(*keys));
	uint8_t *slab =
		mmap(NULL, slab_frames * PAGE, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct srxe_mem_client *c;
	struct srxe_mem_stats st;
	struct srxe_mr_keys extra;
	uint8_t *first = NULL;

	cr_assert_neq(slab, MAP_FAILED);
	cfg.slab = slab;
	cr_assert_eq(srxe_mem_client_create(&cfg, &c), 0);
	for (uint32_t i = 0; i < NMR; i++)
		cr_assert_eq(srxe_mem_reg(c, 1, base + i * mr_len, mr_len,
					  base + i * mr_len,
					  IBV_ACCESS_LOCAL_WRITE |
						  IBV_ACCESS_REMOTE_READ,
					  &keys[i], NULL),
			     0, "MR %u", i);
	cr_assert_eq(srxe_mem_reg(c, 1, base, 1, base, 0, &extra, NULL),
		     -ENOMEM, "default limit is 65536 MRs");
	for (uint32_t i = 0; i < NMR; i++) {
		struct srxe_sg sg[2];
		uint64_t va = base + i * mr_len;
		struct srxe_xlate_req req = {
			keys[i].rkey,		true, va, mr_len,
			IBV_ACCESS_REMOTE_READ, 1,    0
		};

		cr_assert_eq(srxe_mem_translate(c, &req, sg, 2), 1, "MR %u", i);
		cr_assert_eq(sg[0].len, mr_len);
		if (!first)
			first = (uint8_t *)sg[0].addr - (va - base);
		/* the buffer got one contiguous run: byte k is first + k */
		cr_assert_eq(sg[0].addr, first + (va - base), "MR %u", i);
		req.len = mr_len + 1;
		cr_assert_eq(srxe_mem_translate(c, &req, sg, 2),
			     -SRXE_XLATE_OUT_OF_BOUNDS);
	}
	srxe_mem_stats(c, &st);
	cr_log_info("%s %lu-byte MRs: %lu table pages, %lu B table, "
		    "%lu B key state",
		    mode ? "mtt" : "shortcut", mr_len, st.table_pages,
		    st.table_bytes, st.key_state_bytes);
	cr_assert_eq(st.mrs, NMR);
	cr_assert_eq(st.reg_bytes, NMR * mr_len);
	cr_assert_eq(st.frames_in_use, (NMR * mr_len + PAGE - 1) / PAGE);
	for (uint32_t i = 0; i < NMR; i++)
		cr_assert_eq(srxe_mem_dereg(c, keys[i].lkey, NULL), 0);
	srxe_mem_stats(c, &st);
	cr_assert_eq(st.frames_in_use, 0);
	cr_assert_eq(st.table_pages, 1);
	srxe_mem_client_destroy(c);
	munmap(slab, slab_frames * PAGE);
	free(keys);
}

Test(mem_scale, shortcut_dense_16_byte_mrs, .timeout = 120)
{
	run(SRXE_MEM_SHORTCUT, 0x7f0000000000ull, 16, 512);
}

Test(mem_scale, shortcut_one_mr_per_page, .timeout = 120)
{
	run(SRXE_MEM_SHORTCUT, 0x7f0000000000ull - (64ull << 20), PAGE, NMR);
}

Test(mem_scale, mtt_dense_16_byte_mrs, .timeout = 120)
{
	run(SRXE_MEM_MTT, 0x7f0000000000ull, 16, 512);
}

Test(mem_scale, mtt_one_mr_per_page, .timeout = 120)
{
	run(SRXE_MEM_MTT, 0x7f0000000000ull - (64ull << 20), PAGE, NMR);
}
