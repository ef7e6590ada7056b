#!/bin/bash
# Issue #10, must-show 3: Open MPI 4.1.4 (--mca pml ucx) and MPICH 4.0.2
# (ch4:ucx), both as Debian ships them, over srxe with only
# UCX_NET_DEVICES=<dev>:1 set for UCX: mpi_check.c (ping-pong 1 B .. 4 MiB
# and MPI_Allreduce, every byte checked) over 2 and 4 ranks, on one host
# (one network namespace) and across two hosts (two namespaces, half of
# the ranks in each).
#
# Launching across namespaces: each MPI's ssh launcher is pointed at a
# small agent (written below) that, instead of ssh-ing to HOST, enters the
# network and mount namespace of the srxed serving HOST and runs the
# command there (srxe exec).  That is launcher configuration only; UCX gets
# no setting but UCX_NET_DEVICES.  docs/middleware.md.
#
# Programs: mpicc.openmpi / mpicc.mpich (Debian's alternatives; plain
# mpicc is whichever MPI the alternatives point at).  A missing MPI is a
# skip of that MPI, both missing skip the test.
here=$(dirname "$0")
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
# shellcheck source=ucx_lib.sh
source "$here/ucx_lib.sh"
require_prerequisites
NETNS_TAG=mpi
MPI_TIMEOUT=${SRXE_MPI_TIMEOUT:-120}

have_ompi=0
have_mpich=0
command -v mpicc.openmpi >/dev/null && command -v mpirun.openmpi >/dev/null &&
	have_ompi=1
command -v mpicc.mpich >/dev/null && command -v mpiexec.mpich >/dev/null &&
	have_mpich=1
((have_ompi + have_mpich)) ||
	skip "neither Open MPI nor MPICH is installed (openmpi-bin, mpich)"

netns_make 2 1500
# One device name on both hosts: mpirun -x passes its UCX_NET_DEVICES on.
DEV[1]=${DEV[0]}
netns_up
BIN=${ROOT[0]}/bin
mkdir -p "$BIN"
chmod 755 "$BIN"

# agent HOST CMD...: what `ssh HOST CMD...` would do, for our two hosts.
cat >"$BIN/agent" <<AGENT
#!/bin/bash
host=\$1
shift
while [[ \$host == -* ]]; do host=\$1; shift; done # ssh options
case \$host in
$(for i in 0 1; do
	echo "${ADDR[$i]}) pid=$(cat "${ROOT[$i]}/${DEV[$i]}/srxed.pid"); root=${ROOT[$i]}; dev=${DEV[$i]} ;;"
done)
*) echo "agent: unknown host \$host" >&2; exit 255 ;;
esac
exec nsenter -t "\$pid" -n -m env SRXE_RUNDIR="\$root" \\
	UCX_NET_DEVICES="\$dev:1" "$SRXE" exec -- /bin/sh -c "\$*"
AGENT
chmod 755 "$BIN/agent"

# run_mpi WHAT HOSTS CMD...: CMD from host 0 (in srxed's namespaces);
# asserts mpi_check's OK line.
run_mpi() {
	local what=$1 out=${ROOT[0]}/mpi.log rc=0
	shift
	in_srxed_ns 0 env UCX_NET_DEVICES="${DEV[0]}:1" "$SRXE" exec -- \
		timeout "$MPI_TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
	[[ $rc -eq 0 ]] || fail "$what: exit $rc: $(tail -n 30 "$out")"
	assert_contains "$(cat "$out")" "^mpi_check: OK, [0-9]+ ranks" "$what"
	assert_not_contains "$(cat "$out")" "UCX +(ERROR|WARN)" \
		"$what: UCX errors or warnings"
	echo "ok: $what"
}

if ((have_ompi)); then
	mpicc.openmpi -O2 -o "$BIN/mpi_check.ompi" "$here/mpi_check.c" ||
		fail "mpicc.openmpi failed"
	ompi=(mpirun.openmpi --allow-run-as-root --oversubscribe
		--mca pml ucx --mca btl self -x UCX_NET_DEVICES)
	for np in 2 4; do
		run_mpi "Open MPI, $np ranks, one host" "${ompi[@]}" -np "$np" \
			"$BIN/mpi_check.ompi"
		run_mpi "Open MPI, $np ranks, two hosts" "${ompi[@]}" -np "$np" \
			--host "${ADDR[0]}:$((np / 2)),${ADDR[1]}:$((np / 2))" \
			--mca plm_rsh_agent "$BIN/agent" \
			--mca oob_tcp_if_include "${ADDR[0]%.*}.0/24" \
			"$BIN/mpi_check.ompi"
	done
else
	echo "SKIP: Open MPI is not installed (openmpi-bin libopenmpi-dev)"
fi

if ((have_mpich)); then
	mpicc.mpich -O2 -o "$BIN/mpi_check.mpich" "$here/mpi_check.c" ||
		fail "mpicc.mpich failed"
	for np in 2 4; do
		run_mpi "MPICH, $np ranks, one host" mpiexec.mpich -n "$np" \
			"$BIN/mpi_check.mpich"
		# -genvnone: each host's ranks keep their own srxe
		# environment (hydra passes mpiexec's on by default).
		run_mpi "MPICH, $np ranks, two hosts" mpiexec.mpich -genvnone \
			-hosts "${ADDR[0]}:$((np / 2)),${ADDR[1]}:$((np / 2))" \
			-launcher ssh -launcher-exec "$BIN/agent" \
			-n "$np" "$BIN/mpi_check.mpich"
	done
else
	echo "SKIP: MPICH is not installed (mpich libmpich-dev)"
fi
check_named_drops 0
check_named_drops 1
check_wire_used 0 1
echo "PASS"
