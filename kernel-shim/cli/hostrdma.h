/* SPDX-License-Identifier: MIT */
/*
 * The host's own RDMA devices inside srxe's sysfs view, so that a client
 * that sees the view (SYSFS_PATH, or `srxe exec`'s mount namespace where
 * the view's RDMA classes are bind-mounted over /sys/class/<same>) finds
 * a real RNIC next to the srxe devices and its provider still drives it.
 *
 * The view's class/infiniband, class/infiniband_verbs and
 * class/infiniband_mad are real directories (a bind mount needs one).
 * Every kernel entry of the host's class is mirrored there as an ABSOLUTE
 * symlink to the entry's resolved target under <sysfs>/devices: the
 * kernel's own link is relative (../../devices/...) and would resolve
 * against the view's directory, and a link to <sysfs>/class/... would
 * point back into the view once it is bind-mounted there.  A class's
 * plain files (infiniband_mad/abi_version) are copied, except
 * infiniband_verbs/abi_version, which srxe writes itself.  Host entries
 * that are directories (an srxe device seen through a view already mounted
 * over /sys/class) are not host devices and are left out.
 *
 * Mirrors are refreshed, not kept live: each `srxe up` adds devices the
 * host gained, replaces changed links and drops links whose host entry is
 * gone.  Links are created and replaced by rename(), so a concurrent
 * scanner sees an entry either whole or not at all.
 */
#ifndef SRXE_CLI_HOSTRDMA_H
#define SRXE_CLI_HOSTRDMA_H

#include <stdbool.h>

/* The classes the view owns as real directories. */
#define SRXE_CLASS_IB	    "infiniband"
#define SRXE_CLASS_IB_VERBS "infiniband_verbs"
#define SRXE_CLASS_IB_MAD   "infiniband_mad"

/* True for the names of the three classes above. */
bool srxe_is_rdma_class(const char *name);

/*
 * Mirror host_class/<cls> into view_class/<cls> (see above).  The view's
 * directory is created when the host has the class; a class the host
 * lacks leaves the view's directory as it is, less mirrored links.
 * Returns 0 or a negative errno (the first failure; the rest is still
 * attempted).
 */
int srxe_mirror_host_class(const char *host_class, const char *view_class,
			   const char *cls);

/* All three classes, from host_class (e.g. "/sys/class"). */
int srxe_mirror_host_rdma(const char *host_class, const char *view_class);

/*
 * True when the host itself has uverbs<index>: host_class has
 * infiniband_verbs/uverbs<index> (a container may lack the /dev node of a
 * device its sysfs shows), or dev_dir/uverbs<index> is a character device.
 * srxe never takes such an index, so the view never carries two uverbsN
 * of one name.
 */
bool srxe_host_has_uverbs(const char *host_class, const char *dev_dir,
			  int index);

#endif /* SRXE_CLI_HOSTRDMA_H */
