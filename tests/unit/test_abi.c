// SPDX-License-Identifier: MIT
/*
 * Pins include/srxe/verbs_abi.h to the layout of libibverbs 44's private
 * driver.h.  The numbers were measured on x86-64 by compiling a probe
 * against rdma-core v44's own driver.h (not against our header), so a
 * field that drifts in our declarations fails here instead of corrupting
 * memory inside ibv_devinfo.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stddef.h>

#include "srxe/verbs_abi.h"

#define EXPECT_SIZE(type, bytes)                                               \
	cr_expect_eq(sizeof(struct type), (size_t)(bytes),                     \
		     "sizeof(struct " #type ") is %zu, libibverbs has %zu",    \
		     sizeof(struct type), (size_t)(bytes))

#define EXPECT_OFFSET(type, field, bytes)                                      \
	cr_expect_eq(offsetof(struct type, field), (size_t)(bytes),            \
		     "offsetof(" #type ", " #field ") is %zu, "                \
		     "libibverbs has %zu",                                     \
		     offsetof(struct type, field), (size_t)(bytes))

Test(abi, sysfs_dev_layout)
{
	EXPECT_SIZE(verbs_sysfs_dev, 992);
	EXPECT_OFFSET(verbs_sysfs_dev, entry, 0);
	EXPECT_OFFSET(verbs_sysfs_dev, provider_data, 16);
	EXPECT_OFFSET(verbs_sysfs_dev, match, 24);
	EXPECT_OFFSET(verbs_sysfs_dev, flags, 32);
	EXPECT_OFFSET(verbs_sysfs_dev, sysfs_name, 36);
	EXPECT_OFFSET(verbs_sysfs_dev, sysfs_cdev, 104);
	EXPECT_OFFSET(verbs_sysfs_dev, ibdev_name, 112);
	EXPECT_OFFSET(verbs_sysfs_dev, ibdev_path, 176);
	EXPECT_OFFSET(verbs_sysfs_dev, modalias, 432);
	EXPECT_OFFSET(verbs_sysfs_dev, node_guid, 944);
	EXPECT_OFFSET(verbs_sysfs_dev, driver_id, 952);
	EXPECT_OFFSET(verbs_sysfs_dev, node_type, 956);
	EXPECT_OFFSET(verbs_sysfs_dev, ibdev_idx, 960);
	EXPECT_OFFSET(verbs_sysfs_dev, num_ports, 964);
	EXPECT_OFFSET(verbs_sysfs_dev, abi_ver, 968);
	EXPECT_OFFSET(verbs_sysfs_dev, time_created, 976);
}

Test(abi, device_ops_layout)
{
	EXPECT_SIZE(verbs_device_ops, 72);
	EXPECT_OFFSET(verbs_device_ops, name, 0);
	EXPECT_OFFSET(verbs_device_ops, match_min_abi_version, 8);
	EXPECT_OFFSET(verbs_device_ops, match_max_abi_version, 12);
	EXPECT_OFFSET(verbs_device_ops, match_table, 16);
	EXPECT_OFFSET(verbs_device_ops, static_providers, 24);
	EXPECT_OFFSET(verbs_device_ops, match_device, 32);
	EXPECT_OFFSET(verbs_device_ops, alloc_context, 40);
	EXPECT_OFFSET(verbs_device_ops, import_context, 48);
	EXPECT_OFFSET(verbs_device_ops, alloc_device, 56);
	EXPECT_OFFSET(verbs_device_ops, uninit_device, 64);
}

Test(abi, device_layout)
{
	EXPECT_SIZE(verbs_device, 712);
	EXPECT_OFFSET(verbs_device, device, 0);
	EXPECT_OFFSET(verbs_device, ops, 664);
	EXPECT_OFFSET(verbs_device, refcount, 672);
	EXPECT_OFFSET(verbs_device, entry, 680);
	EXPECT_OFFSET(verbs_device, sysfs, 696);
	EXPECT_OFFSET(verbs_device, core_support, 704);
}

Test(abi, match_ent_layout)
{
	EXPECT_SIZE(verbs_match_ent, 24);
	EXPECT_OFFSET(verbs_match_ent, driver_data, 0);
	EXPECT_OFFSET(verbs_match_ent, u.modalias, 8);
	EXPECT_OFFSET(verbs_match_ent, u.driver_id, 8);
	EXPECT_OFFSET(verbs_match_ent, vendor, 16);
	EXPECT_OFFSET(verbs_match_ent, device, 18);
	EXPECT_OFFSET(verbs_match_ent, kind, 20);
}

Test(abi, context_ops_layout)
{
	EXPECT_SIZE(verbs_context_ops, 608);
	EXPECT_OFFSET(verbs_context_ops, advise_mr, 0);
	EXPECT_OFFSET(verbs_context_ops, alloc_dm, 8);
	EXPECT_OFFSET(verbs_context_ops, alloc_mw, 16);
	EXPECT_OFFSET(verbs_context_ops, alloc_null_mr, 24);
	EXPECT_OFFSET(verbs_context_ops, alloc_parent_domain, 32);
	EXPECT_OFFSET(verbs_context_ops, alloc_pd, 40);
	EXPECT_OFFSET(verbs_context_ops, alloc_td, 48);
	EXPECT_OFFSET(verbs_context_ops, async_event, 56);
	EXPECT_OFFSET(verbs_context_ops, attach_counters_point_flow, 64);
	EXPECT_OFFSET(verbs_context_ops, attach_mcast, 72);
	EXPECT_OFFSET(verbs_context_ops, bind_mw, 80);
	EXPECT_OFFSET(verbs_context_ops, close_xrcd, 88);
	EXPECT_OFFSET(verbs_context_ops, cq_event, 96);
	EXPECT_OFFSET(verbs_context_ops, create_ah, 104);
	EXPECT_OFFSET(verbs_context_ops, create_counters, 112);
	EXPECT_OFFSET(verbs_context_ops, create_cq, 120);
	EXPECT_OFFSET(verbs_context_ops, create_cq_ex, 128);
	EXPECT_OFFSET(verbs_context_ops, create_flow, 136);
	EXPECT_OFFSET(verbs_context_ops, create_flow_action_esp, 144);
	EXPECT_OFFSET(verbs_context_ops, create_qp, 152);
	EXPECT_OFFSET(verbs_context_ops, create_qp_ex, 160);
	EXPECT_OFFSET(verbs_context_ops, create_rwq_ind_table, 168);
	EXPECT_OFFSET(verbs_context_ops, create_srq, 176);
	EXPECT_OFFSET(verbs_context_ops, create_srq_ex, 184);
	EXPECT_OFFSET(verbs_context_ops, create_wq, 192);
	EXPECT_OFFSET(verbs_context_ops, dealloc_mw, 200);
	EXPECT_OFFSET(verbs_context_ops, dealloc_pd, 208);
	EXPECT_OFFSET(verbs_context_ops, dealloc_td, 216);
	EXPECT_OFFSET(verbs_context_ops, dereg_mr, 224);
	EXPECT_OFFSET(verbs_context_ops, destroy_ah, 232);
	EXPECT_OFFSET(verbs_context_ops, destroy_counters, 240);
	EXPECT_OFFSET(verbs_context_ops, destroy_cq, 248);
	EXPECT_OFFSET(verbs_context_ops, destroy_flow, 256);
	EXPECT_OFFSET(verbs_context_ops, destroy_flow_action, 264);
	EXPECT_OFFSET(verbs_context_ops, destroy_qp, 272);
	EXPECT_OFFSET(verbs_context_ops, destroy_rwq_ind_table, 280);
	EXPECT_OFFSET(verbs_context_ops, destroy_srq, 288);
	EXPECT_OFFSET(verbs_context_ops, destroy_wq, 296);
	EXPECT_OFFSET(verbs_context_ops, detach_mcast, 304);
	EXPECT_OFFSET(verbs_context_ops, free_context, 312);
	EXPECT_OFFSET(verbs_context_ops, free_dm, 320);
	EXPECT_OFFSET(verbs_context_ops, get_srq_num, 328);
	EXPECT_OFFSET(verbs_context_ops, import_dm, 336);
	EXPECT_OFFSET(verbs_context_ops, import_mr, 344);
	EXPECT_OFFSET(verbs_context_ops, import_pd, 352);
	EXPECT_OFFSET(verbs_context_ops, modify_cq, 360);
	EXPECT_OFFSET(verbs_context_ops, modify_flow_action_esp, 368);
	EXPECT_OFFSET(verbs_context_ops, modify_qp, 376);
	EXPECT_OFFSET(verbs_context_ops, modify_qp_rate_limit, 384);
	EXPECT_OFFSET(verbs_context_ops, modify_srq, 392);
	EXPECT_OFFSET(verbs_context_ops, modify_wq, 400);
	EXPECT_OFFSET(verbs_context_ops, open_qp, 408);
	EXPECT_OFFSET(verbs_context_ops, open_xrcd, 416);
	EXPECT_OFFSET(verbs_context_ops, poll_cq, 424);
	EXPECT_OFFSET(verbs_context_ops, post_recv, 432);
	EXPECT_OFFSET(verbs_context_ops, post_send, 440);
	EXPECT_OFFSET(verbs_context_ops, post_srq_ops, 448);
	EXPECT_OFFSET(verbs_context_ops, post_srq_recv, 456);
	EXPECT_OFFSET(verbs_context_ops, query_device_ex, 464);
	EXPECT_OFFSET(verbs_context_ops, query_ece, 472);
	EXPECT_OFFSET(verbs_context_ops, query_port, 480);
	EXPECT_OFFSET(verbs_context_ops, query_qp, 488);
	EXPECT_OFFSET(verbs_context_ops, query_qp_data_in_order, 496);
	EXPECT_OFFSET(verbs_context_ops, query_rt_values, 504);
	EXPECT_OFFSET(verbs_context_ops, query_srq, 512);
	EXPECT_OFFSET(verbs_context_ops, read_counters, 520);
	EXPECT_OFFSET(verbs_context_ops, reg_dm_mr, 528);
	EXPECT_OFFSET(verbs_context_ops, reg_dmabuf_mr, 536);
	EXPECT_OFFSET(verbs_context_ops, reg_mr, 544);
	EXPECT_OFFSET(verbs_context_ops, req_notify_cq, 552);
	EXPECT_OFFSET(verbs_context_ops, rereg_mr, 560);
	EXPECT_OFFSET(verbs_context_ops, resize_cq, 568);
	EXPECT_OFFSET(verbs_context_ops, set_ece, 576);
	EXPECT_OFFSET(verbs_context_ops, unimport_dm, 584);
	EXPECT_OFFSET(verbs_context_ops, unimport_mr, 592);
	EXPECT_OFFSET(verbs_context_ops, unimport_pd, 600);
}

Test(abi, mr_layout)
{
	EXPECT_SIZE(verbs_mr, 56);
	EXPECT_OFFSET(verbs_mr, ibv_mr, 0);
	EXPECT_OFFSET(verbs_mr, mr_type, 48);
	EXPECT_OFFSET(verbs_mr, access, 52);
}

Test(abi, qp_layout)
{
	EXPECT_SIZE(verbs_qp, 368);
	EXPECT_OFFSET(verbs_qp, qp, 0);
	EXPECT_OFFSET(verbs_qp, qp_ex, 0);
	EXPECT_OFFSET(verbs_qp, comp_mask, 352);
	EXPECT_OFFSET(verbs_qp, xrcd, 360);
}

Test(abi, cq_layout)
{
	EXPECT_SIZE(verbs_cq, 288);
	EXPECT_OFFSET(verbs_cq, cq, 0);
	EXPECT_OFFSET(verbs_cq, cq_ex, 0);
}

Test(abi, srq_layout)
{
	EXPECT_SIZE(verbs_srq, 160);
	EXPECT_OFFSET(verbs_srq, srq, 0);
	EXPECT_OFFSET(verbs_srq, srq_type, 128);
	EXPECT_OFFSET(verbs_srq, xrcd, 136);
	EXPECT_OFFSET(verbs_srq, cq, 144);
	EXPECT_OFFSET(verbs_srq, srq_num, 152);
}

Test(abi, xrcd_layout)
{
	EXPECT_SIZE(verbs_xrcd, 16);
	EXPECT_OFFSET(verbs_xrcd, xrcd, 0);
	EXPECT_OFFSET(verbs_xrcd, comp_mask, 8);
	EXPECT_OFFSET(verbs_xrcd, handle, 12);
}

Test(abi, verbs_context_layout)
{
	EXPECT_SIZE(verbs_context, 648);
	EXPECT_OFFSET(verbs_context, query_port, 0);
	EXPECT_OFFSET(verbs_context, priv, 208);
	EXPECT_OFFSET(verbs_context, query_device_ex, 216);
	EXPECT_OFFSET(verbs_context, sz, 312);
	EXPECT_OFFSET(verbs_context, context, 320);
}

Test(abi, ibv_device_layout)
{
	EXPECT_SIZE(ibv_device, 664);
	EXPECT_OFFSET(ibv_device, _ops, 0);
	EXPECT_OFFSET(ibv_device, node_type, 16);
	EXPECT_OFFSET(ibv_device, transport_type, 20);
	EXPECT_OFFSET(ibv_device, name, 24);
	EXPECT_OFFSET(ibv_device, dev_name, 88);
	EXPECT_OFFSET(ibv_device, dev_path, 152);
	EXPECT_OFFSET(ibv_device, ibdev_path, 408);
}

Test(abi, ibv_context_layout)
{
	EXPECT_SIZE(ibv_context, 328);
	EXPECT_OFFSET(ibv_context, device, 0);
	EXPECT_OFFSET(ibv_context, ops, 8);
	EXPECT_OFFSET(ibv_context, cmd_fd, 264);
	EXPECT_OFFSET(ibv_context, async_fd, 268);
	EXPECT_OFFSET(ibv_context, num_comp_vectors, 272);
	EXPECT_OFFSET(ibv_context, mutex, 280);
	EXPECT_OFFSET(ibv_context, abi_compat, 320);
}
Test(abi, ibv_context_is_last_member_of_verbs_context)
{
	cr_expect_eq(offsetof(struct verbs_context, context) +
			     sizeof(struct ibv_context),
		     sizeof(struct verbs_context));
}

Test(abi, device_attr_sizes_seen_from_tools)
{
	/* perftest passes the legacy size, ibv_devinfo the full one */
	EXPECT_SIZE(ibv_device_attr, 232);
	EXPECT_SIZE(ibv_device_attr_ex, 400);
	EXPECT_OFFSET(ibv_device_attr_ex, orig_attr, 0);
}

Test(abi, qp_ex_starts_with_qp)
{
	EXPECT_OFFSET(ibv_qp_ex, qp_base, 0);
	EXPECT_OFFSET(ibv_cq_ex, context, 0);
}

/*
 * The prototypes only mean something if the real library exports them at
 * the private version we claim; look them up the way ld.so will.
 */
Test(abi, private_symbols_exported_by_libibverbs)
{
	static const char *const names[] = {
		"verbs_register_driver_34",
		"_verbs_init_and_alloc_context",
		"verbs_set_ops",
		"verbs_uninit_context",
		"verbs_init_cq",
		"ibv_read_ibdev_sysfs_file",
	};
	void *lib = dlopen("libibverbs.so.1", RTLD_NOW | RTLD_LOCAL);

	cr_assert_not_null(lib, "dlopen libibverbs.so.1: %s", dlerror());
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect_not_null(dlvsym(lib, names[i], "IBVERBS_PRIVATE_34"),
				   "%s@IBVERBS_PRIVATE_34 missing", names[i]);
	dlclose(lib);
}
