/* SPDX-License-Identifier: MIT */
/*
 * The private provider ABI of libibverbs 44 (symbol version
 * IBVERBS_PRIVATE_34), declared here because rdma-core does not install its
 * driver.h.  Every struct below is shared memory between libibverbs and the
 * provider: field order, types and sizes are the contract, names are ours
 * to choose but follow rdma-core so that its sources stay readable next to
 * ours.  tests/unit/test_abi.c pins every size and offset to the values of
 * the real header; if libibverbs moves to IBVERBS_PRIVATE_35 this file must
 * be rechecked as a whole.
 *
 * Public types (struct ibv_*, struct verbs_context) come from
 * <infiniband/verbs.h>, which is installed and authoritative.
 */
#ifndef SRXE_VERBS_ABI_H
#define SRXE_VERBS_ABI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <infiniband/verbs.h>

/* The PRIVATE ABI generation these declarations describe. */
#define SRXE_VERBS_PRIVATE_ABI 34

#define srxe_container_of(ptr, type, member)                                   \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* Layout of ccan's struct list_node, which libibverbs embeds in its lists. */
struct srxe_list_link {
	struct srxe_list_link *next;
	struct srxe_list_link *prev;
};

/* ------------------------------------------------------------------ */
/* Device discovery                                                   */

enum verbs_match_kind {
	VERBS_MATCH_SENTINEL = 0, /* ends a match table */
	VERBS_MATCH_PCI = 1,
	VERBS_MATCH_MODALIAS = 2,  /* fnmatch pattern on a modalias string */
	VERBS_MATCH_DRIVER_ID = 3, /* enum rdma_driver_id from netlink */
};

/*
 * One row of a provider's match table.  libibverbs tests MODALIAS rows
 * against "rdma_device:N<ibdev name>" before it reads device/modalias, so a
 * pattern like "rdma_device:*Nsrxe*" matches by device name.
 */
struct verbs_match_ent {
	void *driver_data;
	union {
		const char *modalias;
		uint64_t driver_id;
	} u;
	uint16_t vendor;
	uint16_t device;
	uint8_t kind; /* enum verbs_match_kind */
};

/* Bits of verbs_sysfs_dev.flags: which lazily read fields are valid. */
enum verbs_sysfs_flags {
	VSYSFS_READ_MODALIAS = 1 << 0,
	VSYSFS_READ_NODE_GUID = 1 << 1,
};

/*
 * What libibverbs learnt about one uverbs device while scanning sysfs (or
 * netlink).  Owned by libibverbs; the provider reads it.
 */
struct verbs_sysfs_dev {
	struct srxe_list_link entry;
	void *provider_data;
	const struct verbs_match_ent *match; /* row that matched, if any */
	unsigned int flags;		     /* enum verbs_sysfs_flags */
	char sysfs_name[IBV_SYSFS_NAME_MAX]; /* "uverbsN" */
	dev_t sysfs_cdev;
	char ibdev_name[IBV_SYSFS_NAME_MAX]; /* "srxe0" */
	char ibdev_path[IBV_SYSFS_PATH_MAX]; /* $SYSFS/class/infiniband/srxe0 */
	char modalias[512];
	uint64_t node_guid;
	uint32_t driver_id;
	enum ibv_node_type node_type;
	int ibdev_idx; /* -1 when found through sysfs */
	uint32_t num_ports;
	uint32_t abi_ver; /* uverbsN/abi_version */
	struct timespec time_created;
};

struct verbs_device;

/* A provider's entry points, handed to verbs_register_driver_34(). */
struct verbs_device_ops {
	const char *name;

	/* Accepted range of verbs_sysfs_dev.abi_ver, inclusive. */
	uint32_t match_min_abi_version;
	uint32_t match_max_abi_version;
	const struct verbs_match_ent *match_table; /* SENTINEL terminated */
	const struct verbs_device_ops **static_providers;

	/* Optional; called after the table match, has the last word. */
	bool (*match_device)(struct verbs_sysfs_dev *sysfs_dev);

	/*
	 * Owns cmd_fd from the moment it is called: must close it (directly
	 * or through the context) on failure too.
	 */
	struct verbs_context *(*alloc_context)(struct ibv_device *device,
					       int cmd_fd, void *private_data);
	struct verbs_context *(*import_context)(struct ibv_device *device,
						int cmd_fd);

	/*
	 * Allocates a zeroed verbs_device (or a struct starting with one);
	 * libibverbs fills in ops, refcount, sysfs and the ibv_device names.
	 */
	struct verbs_device *(*alloc_device)(struct verbs_sysfs_dev *sysfs_dev);
	/* Frees what alloc_device allocated (sysfs is freed by libibverbs). */
	void (*uninit_device)(struct verbs_device *device);
};

struct verbs_device {
	struct ibv_device device; /* first: libibverbs casts to it */
	const struct verbs_device_ops *ops;
	atomic_int refcount;
	struct srxe_list_link entry;
	struct verbs_sysfs_dev *sysfs;
	uint64_t core_support;
};

static inline struct verbs_device *
srxe_verbs_device(const struct ibv_device *dev)
{
	return srxe_container_of(dev, struct verbs_device, device);
}

/* ------------------------------------------------------------------ */
/* Objects the provider allocates around public verbs structs         */

enum verbs_xrcd_mask {
	VERBS_XRCD_HANDLE = 1 << 0,
	VERBS_XRCD_RESERVED = 1 << 1,
};

struct verbs_xrcd {
	struct ibv_xrcd xrcd;
	uint32_t comp_mask; /* enum verbs_xrcd_mask */
	uint32_t handle;
};

struct verbs_srq {
	struct ibv_srq srq;
	enum ibv_srq_type srq_type;
	struct verbs_xrcd *xrcd;
	struct ibv_cq *cq;
	uint32_t srq_num;
};

enum ibv_mr_type {
	IBV_MR_TYPE_MR,
	IBV_MR_TYPE_NULL_MR,
	IBV_MR_TYPE_IMPORTED_MR,
	IBV_MR_TYPE_DMABUF_MR,
};

/* libibverbs' ibv_dereg_mr()/rereg hand the provider this wrapper. */
struct verbs_mr {
	struct ibv_mr ibv_mr;
	enum ibv_mr_type mr_type;
	int access;
};

static inline struct verbs_mr *srxe_verbs_mr(struct ibv_mr *mr)
{
	return srxe_container_of(mr, struct verbs_mr, ibv_mr);
}

enum verbs_qp_mask {
	VERBS_QP_XRCD = 1 << 0,
	VERBS_QP_EX = 1 << 1, /* qp_ex is valid: ibv_qp_to_qp_ex() works */
};

/*
 * ibv_qp_ex starts with its ibv_qp (qp_base), so both views share the
 * first bytes; libibverbs finds qp_ex through comp_mask & VERBS_QP_EX.
 */
struct verbs_qp {
	union {
		struct ibv_qp qp;
		struct ibv_qp_ex qp_ex;
	};
	uint32_t comp_mask; /* enum verbs_qp_mask */
	struct verbs_xrcd *xrcd;
};

struct verbs_cq {
	union {
		struct ibv_cq cq;
		struct ibv_cq_ex cq_ex;
	};
};

enum ibv_flow_action_type {
	IBV_FLOW_ACTION_UNSPECIFIED,
	IBV_FLOW_ACTION_ESP = 1,
};

struct verbs_flow_action {
	struct ibv_flow_action action;
	uint32_t handle;
	enum ibv_flow_action_type type;
};

struct verbs_dm {
	struct ibv_dm dm;
	uint32_t handle;
};

struct verbs_counters {
	struct ibv_counters counters;
	uint32_t handle;
};

/* ------------------------------------------------------------------ */
/* Context operations                                                 */

/*
 * Every operation a provider can implement.  verbs_set_ops() copies the
 * non-NULL members into the context; NULL members keep libibverbs' stubs,
 * which fail with EOPNOTSUPP (or ENOSYS for some legacy calls).  The order
 * is alphabetical in libibverbs 44 and is part of the ABI.
 */
struct verbs_context_ops {
	int (*advise_mr)(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
			 uint32_t flags, struct ibv_sge *sg_list,
			 uint32_t num_sges);
	struct ibv_dm *(*alloc_dm)(struct ibv_context *context,
				   struct ibv_alloc_dm_attr *attr);
	struct ibv_mw *(*alloc_mw)(struct ibv_pd *pd, enum ibv_mw_type type);
	struct ibv_mr *(*alloc_null_mr)(struct ibv_pd *pd);
	struct ibv_pd *(*alloc_parent_domain)(
		struct ibv_context *context,
		struct ibv_parent_domain_init_attr *attr);
	struct ibv_pd *(*alloc_pd)(struct ibv_context *context);
	struct ibv_td *(*alloc_td)(struct ibv_context *context,
				   struct ibv_td_init_attr *init_attr);
	void (*async_event)(struct ibv_context *context,
			    struct ibv_async_event *event);
	int (*attach_counters_point_flow)(struct ibv_counters *counters,
					  struct ibv_counter_attach_attr *attr,
					  struct ibv_flow *flow);
	int (*attach_mcast)(struct ibv_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	int (*bind_mw)(struct ibv_qp *qp, struct ibv_mw *mw,
		       struct ibv_mw_bind *mw_bind);
	int (*close_xrcd)(struct ibv_xrcd *xrcd);
	void (*cq_event)(struct ibv_cq *cq);
	struct ibv_ah *(*create_ah)(struct ibv_pd *pd,
				    struct ibv_ah_attr *attr);
	struct ibv_counters *(*create_counters)(
		struct ibv_context *context,
		struct ibv_counters_init_attr *init_attr);
	struct ibv_cq *(*create_cq)(struct ibv_context *context, int cqe,
				    struct ibv_comp_channel *channel,
				    int comp_vector);
	struct ibv_cq_ex *(*create_cq_ex)(
		struct ibv_context *context,
		struct ibv_cq_init_attr_ex *init_attr);
	struct ibv_flow *(*create_flow)(struct ibv_qp *qp,
					struct ibv_flow_attr *flow_attr);
	struct ibv_flow_action *(*create_flow_action_esp)(
		struct ibv_context *context,
		struct ibv_flow_action_esp_attr *attr);
	struct ibv_qp *(*create_qp)(struct ibv_pd *pd,
				    struct ibv_qp_init_attr *attr);
	struct ibv_qp *(*create_qp_ex)(struct ibv_context *context,
				       struct ibv_qp_init_attr_ex *attr);
	struct ibv_rwq_ind_table *(*create_rwq_ind_table)(
		struct ibv_context *context,
		struct ibv_rwq_ind_table_init_attr *init_attr);
	struct ibv_srq *(*create_srq)(struct ibv_pd *pd,
				      struct ibv_srq_init_attr *attr);
	struct ibv_srq *(*create_srq_ex)(struct ibv_context *context,
					 struct ibv_srq_init_attr_ex *attr);
	struct ibv_wq *(*create_wq)(struct ibv_context *context,
				    struct ibv_wq_init_attr *attr);
	int (*dealloc_mw)(struct ibv_mw *mw);
	int (*dealloc_pd)(struct ibv_pd *pd);
	int (*dealloc_td)(struct ibv_td *td);
	int (*dereg_mr)(struct verbs_mr *vmr);
	int (*destroy_ah)(struct ibv_ah *ah);
	int (*destroy_counters)(struct ibv_counters *counters);
	int (*destroy_cq)(struct ibv_cq *cq);
	int (*destroy_flow)(struct ibv_flow *flow);
	int (*destroy_flow_action)(struct ibv_flow_action *action);
	int (*destroy_qp)(struct ibv_qp *qp);
	int (*destroy_rwq_ind_table)(struct ibv_rwq_ind_table *table);
	int (*destroy_srq)(struct ibv_srq *srq);
	int (*destroy_wq)(struct ibv_wq *wq);
	int (*detach_mcast)(struct ibv_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	void (*free_context)(struct ibv_context *context);
	int (*free_dm)(struct ibv_dm *dm);
	int (*get_srq_num)(struct ibv_srq *srq, uint32_t *srq_num);
	struct ibv_dm *(*import_dm)(struct ibv_context *context,
				    uint32_t dm_handle);
	struct ibv_mr *(*import_mr)(struct ibv_pd *pd, uint32_t mr_handle);
	struct ibv_pd *(*import_pd)(struct ibv_context *context,
				    uint32_t pd_handle);
	int (*modify_cq)(struct ibv_cq *cq, struct ibv_modify_cq_attr *attr);
	int (*modify_flow_action_esp)(struct ibv_flow_action *action,
				      struct ibv_flow_action_esp_attr *attr);
	int (*modify_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			 int attr_mask);
	int (*modify_qp_rate_limit)(struct ibv_qp *qp,
				    struct ibv_qp_rate_limit_attr *attr);
	int (*modify_srq)(struct ibv_srq *srq, struct ibv_srq_attr *attr,
			  int attr_mask);
	int (*modify_wq)(struct ibv_wq *wq, struct ibv_wq_attr *attr);
	struct ibv_qp *(*open_qp)(struct ibv_context *context,
				  struct ibv_qp_open_attr *attr);
	struct ibv_xrcd *(*open_xrcd)(struct ibv_context *context,
				      struct ibv_xrcd_init_attr *attr);
	int (*poll_cq)(struct ibv_cq *cq, int num_entries, struct ibv_wc *wc);
	int (*post_recv)(struct ibv_qp *qp, struct ibv_recv_wr *wr,
			 struct ibv_recv_wr **bad_wr);
	int (*post_send)(struct ibv_qp *qp, struct ibv_send_wr *wr,
			 struct ibv_send_wr **bad_wr);
	int (*post_srq_ops)(struct ibv_srq *srq, struct ibv_ops_wr *op,
			    struct ibv_ops_wr **bad_op);
	int (*post_srq_recv)(struct ibv_srq *srq, struct ibv_recv_wr *wr,
			     struct ibv_recv_wr **bad_wr);
	/*
	 * Also serves legacy ibv_query_device(): then input is NULL and
	 * attr_size is sizeof(struct ibv_device_attr).
	 */
	int (*query_device_ex)(struct ibv_context *context,
			       const struct ibv_query_device_ex_input *input,
			       struct ibv_device_attr_ex *attr,
			       size_t attr_size);
	int (*query_ece)(struct ibv_qp *qp, struct ibv_ece *ece);
	/* port_attr is zeroed and full sized (libibverbs bounces if not). */
	int (*query_port)(struct ibv_context *context, uint8_t port_num,
			  struct ibv_port_attr *port_attr);
	int (*query_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			int attr_mask, struct ibv_qp_init_attr *init_attr);
	int (*query_qp_data_in_order)(struct ibv_qp *qp, enum ibv_wr_opcode op,
				      uint32_t flags);
	int (*query_rt_values)(struct ibv_context *context,
			       struct ibv_values_ex *values);
	int (*query_srq)(struct ibv_srq *srq, struct ibv_srq_attr *attr);
	int (*read_counters)(struct ibv_counters *counters,
			     uint64_t *counters_value, uint32_t ncounters,
			     uint32_t flags);
	struct ibv_mr *(*reg_dm_mr)(struct ibv_pd *pd, struct ibv_dm *dm,
				    uint64_t dm_offset, size_t length,
				    unsigned int access);
	struct ibv_mr *(*reg_dmabuf_mr)(struct ibv_pd *pd, uint64_t offset,
					size_t length, uint64_t iova, int fd,
					int access);
	struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
				 uint64_t hca_va, int access);
	int (*req_notify_cq)(struct ibv_cq *cq, int solicited_only);
	int (*rereg_mr)(struct verbs_mr *vmr, int flags, struct ibv_pd *pd,
			void *addr, size_t length, int access);
	int (*resize_cq)(struct ibv_cq *cq, int cqe);
	int (*set_ece)(struct ibv_qp *qp, struct ibv_ece *ece);
	void (*unimport_dm)(struct ibv_dm *dm);
	void (*unimport_mr)(struct ibv_mr *mr);
	void (*unimport_pd)(struct ibv_pd *pd);
};

/* ------------------------------------------------------------------ */
/* Functions exported by libibverbs.so.1 at IBVERBS_PRIVATE_34         */

/* Adds ops to the list libibverbs matches devices against. */
void verbs_register_driver_34(const struct verbs_device_ops *ops);

/*
 * Allocates alloc_size zeroed bytes, initialises the verbs_context found
 * context_offset bytes into them (device reference, cmd_fd, async_fd = -1,
 * stub ops, ioctl probe on cmd_fd) and returns the start of the
 * allocation.  On failure closes cmd_fd and returns NULL with errno set.
 */
void *_verbs_init_and_alloc_context(struct ibv_device *device, int cmd_fd,
				    size_t alloc_size,
				    struct verbs_context *context_offset,
				    uint32_t driver_id);

/* Type-safe wrapper: drv_ctx_ptr's type names the provider context. */
#define srxe_verbs_init_and_alloc_context(ibdev, cmd_fd, drv_ctx_ptr,          \
					  ctx_member, driver_id)               \
	((__typeof__(drv_ctx_ptr))_verbs_init_and_alloc_context(               \
		(ibdev), (cmd_fd), sizeof(*(drv_ctx_ptr)),                     \
		(struct verbs_context *)offsetof(__typeof__(*(drv_ctx_ptr)),   \
						 ctx_member),                  \
		(driver_id)))

/*
 * Releases what _verbs_init_and_alloc_context set up, closing cmd_fd and
 * async_fd if they are not -1.  Does not free the provider's allocation.
 */
void verbs_uninit_context(struct verbs_context *context);

/* Installs the non-NULL members of ops into the context. */
void verbs_set_ops(struct verbs_context *vctx,
		   const struct verbs_context_ops *ops);

/* Fills the generic part of a provider-created CQ. */
void verbs_init_cq(struct ibv_cq *cq, struct ibv_context *context,
		   struct ibv_comp_channel *channel, void *cq_context);

/*
 * Reads "<ibdev_path>/<fnfmt...>" into buf without the trailing newline.
 * Returns the length read or -1 with errno set.
 */
int ibv_read_ibdev_sysfs_file(char *buf, size_t size,
			      struct verbs_sysfs_dev *sysfs_dev,
			      const char *fnfmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* SRXE_VERBS_ABI_H */
