#!/bin/bash
# Issue #12, must-show 1 (mem_kinds.c): every kind of memory -- heap, stack,
# anonymous private and shared, memfd, tmpfs and disk files, SysV shm,
# read-only, huge pages (hugetlbfs file, MFD_HUGETLB memfd,
# MAP_HUGETLB|MAP_SHARED, SHM_HUGETLB; 2 MiB and 1 GiB), private huge pages
# refused -- registered and used by RDMA WRITE and READ from another
# process, in both translation modes.
#
# Huge pages: reserves what the cases need (8 x 2 MiB, 1 x 1 GiB) on top of
# what is free and restores the previous counts at exit; a size that cannot
# be reserved is skipped by mem_kinds with the reason.  hugetlbfs is mounted
# in the test's runtime root for the hugetlbfs-file case.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/mem_kinds
[[ -x $PROG ]] || fail "$PROG is not built"

HP=/sys/kernel/mm/hugepages
declare -A hp_was=()
# reserve SIZE_KB COUNT: make COUNT pages of that size free (if possible).
reserve() {
	local d=$HP/hugepages-$1kB free total
	[[ -w $d/nr_hugepages ]] || return 0
	free=$(<"$d/free_hugepages")
	total=$(<"$d/nr_hugepages")
	((free >= $2)) && return 0
	hp_was[$1]=$total
	echo $((total + $2 - free)) >"$d/nr_hugepages" 2>/dev/null || true
	echo "huge pages $1 kB: $(<"$d/free_hugepages") free (was $free)"
}
restore_huge() {
	local kb
	for kb in "${!hp_was[@]}"; do
		echo "${hp_was[$kb]}" >"$HP/hugepages-${kb}kB/nr_hugepages" || true
	done
	if [[ -n ${HUGEMNT:-} ]] && mountpoint -q "$HUGEMNT"; then
		umount "$HUGEMNT" || true
	fi
}
# cli_lib's cleanup runs on EXIT and exits with the status it finds in $?:
# ours first, then it, with the test's status.
on_exit() {
	local rc=$?
	restore_huge
	(exit "$rc")
	cleanup
}
trap on_exit EXIT
reserve 2048 8
reserve 1048576 1

HUGEMNT=$TEST_ROOT/hugetlbfs
mkdir -p "$HUGEMNT"
mount -t hugetlbfs -o pagesize=2M,mode=0700 none "$HUGEMNT" 2>/dev/null ||
	HUGEMNT=

one_mode() {
	local out
	out=$(with_srxe_env timeout 60 "$PROG" "$2" "$(daemon_pid "$2")" \
		${HUGEMNT:+"$HUGEMNT"} 2>&1) ||
		fail "mem_kinds ($1): $out"
	echo "== $1"
	echo "$out"
}
for_each_translation_mode srxekind required one_mode
echo "PASS"
