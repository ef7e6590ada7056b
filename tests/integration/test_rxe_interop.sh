#!/bin/bash
# Issue #5: srxe and the Linux kernel's soft-RoCE (rdma_rxe) understand
# each other on the wire.  A real Debian 12 kernel with rdma_rxe boots
# under qemu (../shared/rxe-vm) on a bridge in a network namespace of our
# own; srxed runs in that namespace on the bridge address as the other
# host.  Unmodified rdma-core and perftest tools run in both directions
# (rxe server / srxe client, then srxe server / rxe client):
#   ibv_rc_pingpong, ibv_ud_pingpong, ib_write_bw, ib_read_bw, ib_send_bw,
#   ib_atomic_bw -A FETCH_AND_ADD and -A CMP_AND_SWAP,
# at path MTU 1024 (link MTU 1500) and 4096 (link MTU 9000).  tcpdump
# captures the bridge; icrc-check.py must find every ICRC correct, and
# srxe must have dropped nothing.
# Issue #11: with srxe's librdmacm built (providers/rdmacm), rdma_cm
# against the kernel's rdma_cm too: rping, ib_send_bw -R, ucmatose -c 10
# (RC: REQ/REP/RTU/DREQ/DREP), udaddy -c 10 (UD: SIDR), rstream and
# riostream (rsockets, verified), both directions; tests/tools/cm_capture_check.sh then checks that tshark
# names every CM MAD on the bridge and finds nothing malformed.
#
# The guest: tests/bootstrap.sh prepares it in BUILD/rxe-vm-cache (CI
# does so); RXE_VM_CACHE names another cache.  Skips (77) without a
# guest, qemu-system-x86, tcpdump or /dev/net/tun.  Run it with
#   ctest -L rxevm --output-on-failure
# Env: RXE_VM_CACHE (BUILD/rxe-vm-cache), SRXE_RXE_VM (scripts dir),
# SRXE_RXE_MTUS ("1500 9000"),
# SRXE_RXE_ITERS (20),
# SRXE_RXE_PCAP_DIR (keep the captures and srxed's logs there),
# SRXE_RXE_EXTRA=1 (also UC, SRQ, UD ib_send_bw and the latency tools),
# SRXE_RXE_ONLY (regex of test names, e.g. "mw|mcast|cm_.*"),
# SRXE_RXE_CM=0 (leave the rdma_cm cases out).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites

VMDIR=${SRXE_RXE_VM:-$(cd "$here/../../.." && pwd)/shared/rxe-vm}
# Where tests/bootstrap.sh prepares the guest.
export RXE_VM_CACHE=${RXE_VM_CACHE:-$SRXE_BUILD/rxe-vm-cache}
[[ -x $VMDIR/run-vm.sh ]] || skip "no rxe-vm scripts in $VMDIR (SRXE_RXE_VM)"
[[ -f $RXE_VM_CACHE/vmlinuz && -f $RXE_VM_CACHE/initramfs.cpio.gz ]] ||
	skip "no rxe-vm guest in $RXE_VM_CACHE: tests/bootstrap.sh prepares it (or set RXE_VM_CACHE)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
# A container may lack the node though the kernel has tun (built in).
[[ -c /dev/net/tun ]] ||
	{ mkdir -p /dev/net && mknod -m 666 /dev/net/tun c 10 200; } 2>/dev/null || true
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun"
command -v ib_write_bw >/dev/null || fail "perftest is not installed"

MTUS=${SRXE_RXE_MTUS:-1500 9000}
ITERS=${SRXE_RXE_ITERS:-20}
T=${SRXE_RXE_TIMEOUT:-120} # per tool run, host and guest
export RXE_NS=srxe-rxe-$$
VM=s$$ # guest name (tap rt-s$$, pid file $RXE_VM_CACHE/run/s$$.pid)
GUEST=10.0.0.1
HOSTIP=10.0.0.254
DEV=srxerxe$$
WORK=$(mktemp -d /tmp/srxe-rxe.XXXXXX)
chmod 755 "$WORK"
# Staged into the guest (guest_script): our programs mw_peer (memory
# windows, also run here) and mcast_join, and libgcc_s.so.1, which glibc
# dlopens for pthread_cancel and pthread_exit (rping; "libgcc_s.so.1 must
# be installed for pthread_exit to work") and rxe-vm's initramfs lacks (no
# binary names it in DT_NEEDED).  The guest has Debian 12's libibverbs and
# glibc, not the sanitizer runtimes: only a plain build's programs can run
# there.
STAGED=()
mkdir -p "$WORK/stage/bin" "$WORK/stage/lib"
# (ldd's output taken whole: grep -q stops reading early, and ldd's
# SIGPIPE then fails the pipeline under pipefail.)
if grep -q 'lib[at]san' <<<"$(ldd "$SRXE_BUILD/tests/mw_peer" 2>/dev/null)"; then
	echo "note: a sanitizer build; memory-window and multicast interop left out"
else
	for p in mw_peer mcast_join; do
		strip -o "$WORK/stage/bin/$p" "$SRXE_BUILD/tests/$p" ||
			fail "no $p in $SRXE_BUILD/tests (build all targets first)"
		STAGED+=("$p")
	done
	export PATH=$WORK/stage/bin:$PATH
fi
# The perftest -R shim (see cm_tests); built plain in every build.
[[ -f $SRXE_BUILD/tests/rdmacm_delay.so ]] &&
	strip -o "$WORK/stage/lib/rdmacm_delay.so" "$SRXE_BUILD/tests/rdmacm_delay.so"
for p in "$RXE_VM_CACHE/stage/lib/x86_64-linux-gnu/libgcc_s.so.1" \
	/lib/x86_64-linux-gnu/libgcc_s.so.1; do
	[[ -f $p ]] && cp "$p" "$WORK/stage/lib/" && break
done
# One argument of run-vm.sh: at most 128 KiB (MAX_ARG_STRLEN).
tar -C "$WORK/stage" -c bin lib | xz -9 | base64 -w0 >"$WORK/stage.b64"
(($(stat -c %s "$WORK/stage.b64") < 100000)) ||
	fail "the programs staged into the guest are too big for its command line"
# rdma_cm (issue #11): srxe's librdmacm, which `srxe exec` puts first.
CM=0
if [[ ${SRXE_RXE_CM:-1} != 0 ]]; then
	if [[ -e $SRXE_BUILD/providers/rdmacm/librdmacm.so.1 ]]; then
		[[ -f $SRXE_BUILD/tests/rdmacm_delay.so ]] ||
			fail "no tests/rdmacm_delay.so in $SRXE_BUILD (build all targets first)"
		CM=1
	else
		echo "note: no providers/rdmacm/librdmacm.so.1 in $SRXE_BUILD; rdma_cm interop left out"
	fi
fi
export SRXE_RUNDIR=$WORK/run
BG=()
FAILED=()

on_exit() {
	local rc=$? p
	trap - EXIT
	set +e # remove everything, whatever fails
	for p in "${BG[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BG[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	[[ -f $RXE_VM_CACHE/run/$VM.pid ]] &&
		kill -TERM "$(cat "$RXE_VM_CACHE/run/$VM.pid")" 2>/dev/null
	in_host "$SRXE" down --name "$DEV" >/dev/null 2>&1 || true
	"$VMDIR/net.sh" down >/dev/null 2>&1 || true
	# run-vm.sh leaves a command overlay (a directory) for long scripts.
	rm -rf "$RXE_VM_CACHE/run/$VM".* "$WORK" || true
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

in_host() {
	ip netns exec "$RXE_NS" "$@"
}

# The tests: NAME|ARGS, the same on both sides but for -d and the
# server's address, or NAME|SERVER|CLIENT (see cmd_of).  Each gets its
# own TCP port so that a client that retries never reaches the server of
# another test.
# SRXE_RXE_ONLY: an extended regex of test names to run (all by default).
tests_for() {
	tests_all "$@" | grep -E "^(${SRXE_RXE_ONLY:-.*})\|"
}

tests_all() {
	local pmtu=$1 m=
	[[ $pmtu == 4096 ]] && m="-m 4096"
	cat <<EOF
rc_pingpong|ibv_rc_pingpong -g 1 -n $ITERS -s 4096 $m
ud_pingpong|ibv_ud_pingpong -g 1 -n $ITERS -s $pmtu
write_bw|ib_write_bw -x 1 -F -n $ITERS -s 65536 $m
read_bw|ib_read_bw -x 1 -F -n $ITERS -s 65536 -o 16 $m
send_bw|ib_send_bw -x 1 -F -n $ITERS -s 65536 $m
fadd_bw|ib_atomic_bw -x 1 -F -n $ITERS -A FETCH_AND_ADD $m
cswap_bw|ib_atomic_bw -x 1 -F -n $ITERS -A CMP_AND_SWAP $m
rc_pingpong_v6|ibv_rc_pingpong -g 0 -n $ITERS -s 4096 $m
ud_pingpong_v6|ibv_ud_pingpong -g 0 -n $ITERS -s $pmtu
EOF
	cm_tests
	# Memory windows (issue #10): our own verbs program, staged into the
	# guest by guest_script.
	((${#STAGED[@]})) || return 0
	echo "mw|mw_peer -x 1"
	# UD multicast (issue #10): the server attaches its QP to the IPv4
	# group 239.1.7.9 (GID ::ffff:239.1.7.9), the client sends to it.
	echo "mcast|ib_send_bw -x 1 -F -c UD -g -M 0:0:0:0:0:0:0:0:0:0:255:255:239:1:7:9 -n $ITERS -s $pmtu"
	[[ ${SRXE_RXE_EXTRA:-0} == 1 ]] || return 0
	cat <<EOF
uc_pingpong|ibv_uc_pingpong -g 1 -n $ITERS -s 4096 $m
srq_pingpong|ibv_srq_pingpong -g 1 -n $ITERS -s 4096 $m
ucwrite_bw|ib_write_bw -x 1 -F -c UC -n $ITERS -s 65536 $m
udsend_bw|ib_send_bw -x 1 -F -c UD -n $ITERS -s $pmtu $m
write_lat|ib_write_lat -x 1 -F -n $ITERS $m
send_lat|ib_send_lat -x 1 -F -n $ITERS $m
read_lat|ib_read_lat -x 1 -F -n $ITERS $m
EOF
}

# rdma_cm (issue #11): the connection is made by the CMs, kernel rdma_cm
# in the guest and srxed's, with CM MADs on QP 1; the GID and path MTU
# come from rdma_cm (no -x, no -m), the link MTU decides the path MTU.
# ucmatose and udaddy: 10 connections of 10 messages each; udaddy's UDP
# port space resolves through SIDR, on port 7174 (it takes no port).
# rstream: stream rsockets (rdma-core's rsocket protocol on both sides),
# 200 x 64 KiB each way, every byte verified; riostream: the same through
# riomap/riowrite.
# perftest -R's client runs with rdmacm_delay.so (tests/integration/
# preload/rdmacm_delay.c: its test-QP connect waits 300 ms for the
# server's second listen, a race of perftest's own).
cm_tests() {
	((CM)) || return 0
	cat <<EOF
cm_rping|rping -s -a @S@ -p @P@ -C $ITERS -v|rping -c -a @S@ -p @P@ -C $ITERS -v -V
cm_send_bw|ib_send_bw -d @D@ -p @P@ -R -F -n $ITERS -s 65536|env LD_PRELOAD=@PRELOAD@ ib_send_bw -d @D@ -p @P@ -R -F -n $ITERS -s 65536 @S@
cm_ucmatose|ucmatose -b @S@ -p @P@ -c 10|ucmatose -s @S@ -p @P@ -c 10
cm_udaddy|udaddy -b @S@ -c 10|udaddy -s @S@ -c 10
cm_rstream|rstream -b @S@ -p @P@ -T v -S 65536 -C 200|rstream -s @S@ -p @P@ -T v -S 65536 -C 200
cm_riostream|riostream -b @S@ -p @P@ -T v -S 65536 -C 200|riostream -s @S@ -p @P@ -T v -S 65536 -C 200
EOF
}

# Servers that take a fixed number of connections (ucmatose and udaddy -c
# 10).  A client that comes while such a server is starting has some of
# its 10 connects refused (REJ 8, SIDR status 1) and others accepted:
# it fails, and its retry finds the server's count taken by connections
# that are gone, so the server waits out its timeout.  The guest's client
# therefore first waits for a gate, a TCP port (test port + 10000) that
# the host opens once srxed logged the server's listen (seen under load:
# cm_udaddy, with a CPU hog beside the suite).
gated() {
	[[ $1 == cm_ucmatose || $1 == cm_udaddy ]]
}

# cmd_of ROLE DEVICE PORT SERVER_ADDRESS LINE: one side's command line.
# LINE NAME|ARGS: ARGS with "-d DEVICE -p PORT" after the tool's name, the
# client adds the server's address; LINE NAME|SERVER|CLIENT: @D@, @P@,
# @S@ and @PRELOAD@ in them stand for device, port, server address and
# the path of rdmacm_delay.so on that side.
cmd_of() {
	local role=$1 dev=$2 port=$3 srv=$4 name server client c
	IFS='|' read -r name server client <<<"$5"
	if [[ -z $client ]]; then
		server=${server/ / -d @D@ -p @P@ }
		client="$server @S@"
	fi
	c=$server
	[[ $role == client ]] && c=$client
	c=${c//@D@/$dev}
	c=${c//@P@/$port}
	c=${c//@S@/$srv}
	if [[ $dev == rxe0 ]]; then
		echo "${c//@PRELOAD@//usr/lib/x86_64-linux-gnu/rdmacm_delay.so}"
	else
		echo "${c//@PRELOAD@/$SRXE_BUILD/tests/rdmacm_delay.so}"
	fi
}

# A client that found no server (yet): the verbs tools' TCP exchange, or
# rdma_cm's REJECTED (no listener), UNREACHABLE (SIDR: no listener),
# ADDR_ERROR (no ARP answer yet; perftest -R: "Received 10 times
# ADDR_ERROR") or perftest -R's "Unexpected CM event" (REJECTED).
NO_SERVER="Couldn't connect|Unable to open file descriptor|_REJECTED|_UNREACHABLE"
NO_SERVER+="|_ADDR_ERROR|_ROUTE_ERROR|times ADDR_ERROR|Unexpected CM event"
# rstream, riostream: rconnect is refused, or times out while the guest is
# not up yet.  Nonblocking (their default), the refusal may only show as
# POLLERR of the rpoll after rconnect (exit 8 or 24), and perror then
# prints whatever errno rsocket left: "Connection refused", or, when
# rsocket's connect thread took the REJ first, "Transport endpoint is not
# connected", "Operation now in progress" or "Success" (the guest's
# rdma-core 44; CI, 2026-12-07).  Without -T a, only their connect polls.
NO_SERVER+="|rconnect: (Connection refused|Connection timed out|No route to host)"
NO_SERVER+="|rpoll: "

# What a successful run prints: the pingpongs' iteration line, perftest's
# result row, rstream's ("custom  64k  200  1 ...").  A perftest server
# (ROLE server) may print only its header (ib_read_lat does): there the
# exchange with the peer must be in it.
ok_output() {
	local v
	v=$(perftest_value_re "$1")
	grep -qE "^$ITERS iters in|^ *[0-9]+ +$ITERS +$v +$v|^mw_peer [a-z]+: PASS|rdma-ping-$((ITERS - 1)): |^return status 0\$|^custom +[0-9]+[kmg]? +[0-9]+[kmg]? +1 " <<<"$1" ||
		{ [[ $2 == server ]] && grep -q "remote address: LID" <<<"$1"; }
}

# record WHAT RC OUTPUT ROLE
record() {
	local what=$1 rc=$2 out=$3 role=$4
	if [[ $rc -eq 0 ]] && ok_output "$out" "$role"; then
		echo "ok:   $what"
	else
		echo "FAIL: $what (exit $rc)"
		# The tools' stderr (unbuffered) lands before their buffered
		# stdout: the error lines may be far above the tail.
		{ grep -iE "error|fail|couldn|unable|unexpected|timeout|abort" \
			<<<"$out" || true; } | head -n 5 | sed 's/^/      ! /'
		sed 's/^/      | /' <<<"$out" | tail -n 15
		FAILED+=("$what")
	fi
}

# Lines "RESULT <name> <rc>" and the tool's output between "=== <name>"
# markers, as printed by guest_script.
guest_result() {
	tr -d '\r' <"$1" | sed -n "/^=== $2\$/,/^RESULT $2 /p"
}

# A busybox sh script: every test in turn, as server (role server) or as
# client of $HOSTIP retried while our server does not listen yet.
guest_script() {
	local role=$1 pmtu=$2 line name port=19000
	echo "echo $(cat "$WORK/stage.b64") | base64 -d | unxz | tar -x -C /tmp &&
  cp /tmp/lib/* /usr/lib/x86_64-linux-gnu/"
	echo "PATH=/tmp/bin:\$PATH"
	# shellcheck disable=SC2016 # expanded by the guest's shell
	echo 'run() { n=$1; shift; echo "=== $n"; i=0; while :; do
  out=$(timeout '"$T"' "$@" 2>&1); rc=$?; i=$((i+1))
  if echo "$out" | grep -qE "'"$NO_SERVER"'"; then
    [ $i -lt 60 ] && { sleep 1; continue; }; fi; break; done
  echo "$out"; echo "RESULT $n $rc"; }'
	# shellcheck disable=SC2016 # expanded by the guest's shell
	echo 'gate() { i=0; while ! busybox nc -w 1 $1 $2 </dev/null >/dev/null 2>&1; do
  i=$((i+1)); [ $i -lt 240 ] || break; sleep 0.5; done; echo "gate $2 opened after $i refusals"; }'
	while read -r line; do
		name=${line%%|*}
		port=$((port + 1))
		if [[ $role == server ]]; then
			# ibv_attach_mcast on kernel rxe only filters the MAC; the
			# IP layer drops a group it has not joined (rdma_cm joins
			# it, plain verbs do not): join it as rdma_cm would.
			[[ $name == mcast ]] &&
				echo "mcast_join 239.1.7.9 eth0 $((T + 60)) &"
			echo "run $name $(cmd_of server rxe0 $port $GUEST "$line")"
		else
			gated "$name" && echo "gate $HOSTIP $((port + 10000))"
			echo "run $name $(cmd_of client rxe0 $port $HOSTIP "$line")"
		fi
	done < <(tests_for "$pmtu")
}

# srxe as client of the guest's servers.
host_clients() {
	local pmtu=$1 log=$2 line name port=19000 out rc i
	while read -r line; do
		name=${line%%|*}
		port=$((port + 1))
		for ((i = 0; i < 90; i++)); do
			rc=0
			# shellcheck disable=SC2046
			out=$(in_host "$SRXE" exec -- timeout "$T" \
				$(cmd_of client "$DEV" $port $GUEST "$line") 2>&1) || rc=$?
			# Also retried: the bridge has no carrier (srxe's port
			# is Down) until the guest's NIC is up.
			grep -qE "$NO_SERVER|state is Down" <<<"$out" || break
			sleep 1
		done
		record "$name pmtu $pmtu: srxe client -> rxe server" "$rc" "$out" \
			client
		wait_guest_result "$log" "$name"
		record "$name pmtu $pmtu: rxe server (srxe client)" \
			"$GUEST_RC" "$GUEST_OUT" server
	done < <(tests_for "$pmtu")
}

# serve_gated NAME PORT LINE: srxe's server of a gated test (see gated)
# in the background; once srxed logged its listen (up to 30 s), the gate
# opens until the server has exited.  Sets rc and out.
serve_gated() {
	local name=$1 port=$2 line=$3 listens srv gate_pid
	local srv_log=$SRXE_RUNDIR/$DEV/srxed.log
	listens=$(listens_logged "$srv_log")
	# shellcheck disable=SC2046
	in_host "$SRXE" exec -- timeout "$T" \
		$(cmd_of server "$DEV" "$port" $HOSTIP "$line") \
		>"$WORK/server.out" 2>&1 &
	srv=$!
	BG+=("$srv")
	wait_until 300 listens_more "$listens" "$srv_log" ||
		echo "note: $name: srxed logged no listen in 30 s; gate opened anyway"
	in_host timeout "$T" "$PY" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
while True:
    s.accept()[0].close()' "$HOSTIP" $((port + 10000)) &
	gate_pid=$!
	BG+=("$gate_pid")
	rc=0
	wait "$srv" || rc=$?
	kill "$gate_pid" 2>/dev/null || true
	wait "$gate_pid" 2>/dev/null || true
	out=$(cat "$WORK/server.out")
}

# serve PORT LINE: srxe's server of a test.  Sets rc and out.
serve() {
	local port=$1 line=$2 i
	for ((i = 0; i < 90; i++)); do
		rc=0
		# shellcheck disable=SC2046
		out=$(in_host "$SRXE" exec -- timeout "$T" \
			$(cmd_of server "$DEV" "$port" $HOSTIP "$line") 2>&1) || rc=$?
		# perftest refuses to start while srxe's port is Down (no
		# carrier on the bridge until the guest's NIC is up).
		grep -q "state is Down" <<<"$out" || break
		sleep 1
	done
}

# srxe as server of the guest's clients.
host_servers() {
	local pmtu=$1 log=$2 line name port=19000 out rc
	while read -r line; do
		name=${line%%|*}
		port=$((port + 1))
		if gated "$name"; then
			serve_gated "$name" "$port" "$line"
		else
			serve "$port" "$line"
		fi
		wait_guest_result "$log" "$name"
		record "$name pmtu $pmtu: rxe client -> srxe server" \
			"$GUEST_RC" "$GUEST_OUT" client
		record "$name pmtu $pmtu: srxe server (rxe client)" "$rc" "$out" \
			server
	done < <(tests_for "$pmtu")
}

wait_guest_result() {
	local log=$1 name=$2 i
	for ((i = 0; i < 2 * T + 60; i++)); do
		grep -aq "^RESULT $name " <(tr -d '\r' <"$log") && break
		kill -0 "$GUEST_PID" 2>/dev/null || break
		sleep 0.5
	done
	GUEST_OUT=$(guest_result "$log" "$name")
	GUEST_RC=$(sed -n "s/^RESULT $name //p" <<<"$GUEST_OUT")
	[[ -n $GUEST_RC ]] || {
		GUEST_RC=255
		GUEST_OUT+=$'\n'"(no result from the guest; console: $(tail -n 5 "$log"))"
	}
}

# One guest boot per MTU and direction.
run_direction() {
	local role=$1 mtu=$2 pmtu=$3 log ntests
	log=$WORK/guest-$role-$mtu.log
	ntests=$(tests_for "$pmtu" | wc -l)
	RXE_NETMTU=$mtu RXE_TIMEOUT=$((60 + ntests * (T + 60))) \
		"$VMDIR/run-vm.sh" "$VM" "$GUEST/24" \
		"$(guest_script "$role" "$pmtu")" >"$log" 2>&1 </dev/null &
	GUEST_PID=$!
	BG+=("$GUEST_PID")
	if [[ $role == server ]]; then
		host_clients "$pmtu" "$log"
	else
		host_servers "$pmtu" "$log"
	fi
	wait "$GUEST_PID" || echo "note: guest exit status $?"
	grep -a 'active_mtu' "$log" | head -n 1 | tr -d '\r' |
		sed 's/^ */guest rxe0 /'
}

# What a failed check at MTU left to read: srxed's CM lines (rejects,
# retries, stale REQs), the CM MADs on the wire, the guest's kernel lines.
failure_context() {
	local mtu=$1 f
	echo "srxed's CM log at MTU $mtu (last 40 lines):"
	grep -aE "CM[: ]" "$WORK/srxed-$mtu.log" 2>/dev/null | tail -n 40 |
		sed 's/^/      srxed: /'
	if command -v tshark >/dev/null; then
		echo "CM MADs at MTU $mtu (last 40: frame, s, source, MAD, QPN, REJ reason):"
		tshark --disable-heuristic rpcrdma_infiniband -r "$PCAP" \
			-Y 'infiniband.bth.destqp == 1' -T fields -E separator=' ' \
			-e frame.number -e frame.time_relative -e ip.src -e ipv6.src \
			-e _ws.col.Info -e infiniband.cm.req.localqpn \
			-e infiniband.cm.rep.localqpn -e infiniband.cm.rej.reason \
			2>/dev/null | tail -n 40 | sed 's/^/      wire: /'
	fi
	for f in "$WORK"/guest-*-"$mtu".log; do
		[[ -f $f ]] || continue
		echo "kernel lines of ${f##*/} (last 15):"
		tr -d '\r' <"$f" | grep -aE '^\[ *[0-9]+\.[0-9]+\] ' | tail -n 15 |
			sed 's/^/      guest: /'
	done
}

# Bridge and tap at MTU, our device on the bridge address, a capture.
net_up() {
	local mtu=$1
	"$VMDIR/net.sh" up >/dev/null || skip "cannot create the rxe-vm network"
	# GID 0 (IPv6, the *_v6 tests): the bridge's link-local address, at
	# once (no DAD), before srxe up publishes it.
	in_host sysctl -qw net.ipv6.conf.rxebr0.accept_dad=0
	in_host ip link set rxebr0 addrgenmode eui64
	in_host ip link set rxebr0 down
	in_host ip link set rxebr0 up
	RXE_NETMTU=$mtu "$VMDIR/net.sh" tap "$VM" >/dev/null
	in_host ip link set rxebr0 mtu "$mtu"
	in_host "$SRXE" up --name "$DEV" --ip "$HOSTIP" ||
		fail "srxe up on the rxe-vm bridge failed"
	PCAP=$WORK/rxe-$mtu.pcap
	# Not through a function: $! must be tcpdump itself (ip netns exec
	# execs it), and SIGTERM, since background jobs ignore SIGINT.
	# -B: the guests' bursts (ucmatose: 10 QPs x 10 SENDs at once)
	# overflowed the default buffer of a loaded machine.
	ip netns exec "$RXE_NS" tcpdump --immediate-mode -B 16384 -i rxebr0 -s 0 -U \
		-w "$PCAP" udp port 4791 2>"$WORK/tcpdump.log" &
	TCPDUMP_PID=$!
	BG+=("$TCPDUMP_PID")
	for ((i = 0; i < 50; i++)); do
		grep -qs "listening on" "$WORK/tcpdump.log" && break
		sleep 0.1
	done
}

net_down() {
	local mtu=$1 pmtu=$2 st drops
	sleep 0.5
	kill -TERM "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
	# A capture with holes cannot show every CM MAD: say so.
	grep -E "dropped by kernel" "$WORK/tcpdump.log" | sed 's/^/tcpdump: /'
	st=$(in_host "$SRXE" status --name "$DEV")
	grep -E "wire" <<<"$st"
	drops=$(sed -nE 's/.*wire drops: +([0-9]+) .*/\1/p' <<<"$st")
	[[ $drops == 0 ]] || FAILED+=("mtu $mtu: srxe dropped $drops datagrams")
	# srxed's log of this MTU (srxe down removes it): its CM lines
	# (stale REQs, rejects, retry timeouts) say what a failed rdma_cm
	# check saw on srxe's side.
	cp "$SRXE_RUNDIR/$DEV/srxed.log" "$WORK/srxed-$mtu.log" 2>/dev/null || true
	in_host "$SRXE" down --name "$DEV" >/dev/null
	"$VMDIR/net.sh" down >/dev/null
	if ! "$PY" "$VMDIR/icrc-check.py" "$PCAP"; then
		FAILED+=("mtu $mtu: icrc-check.py found bad ICRCs")
	fi
	# IPv4 and IPv6 frames (rxe-vm's checker reads IPv4 only).
	if ! "$PY" "$here/../tools/icrc_check.py" "$PCAP"; then
		FAILED+=("mtu $mtu: icrc_check.py found bad ICRCs")
	fi
	# Wireshark's own dissector must find no frame of the capture
	# malformed, and (rdma_cm, issue #11) name every CM MAD, the
	# exchanges the tools make all there: cm_capture_check checks both
	# (with tshark's RPC-over-RDMA heuristic off: it misreads tiny SENDs,
	# ib_send_lat's 2 bytes from rxe as from srxe, as RPCoRDMA).
	local names=()
	if command -v tshark >/dev/null; then
		tests_for "$pmtu" | grep -qE '^cm_(rping|send_bw|ucmatose)\|' &&
			names+=(ConnectRequest ConnectReply ReadyToUse
				DisconnectRequest DisconnectReply)
		tests_for "$pmtu" | grep -q '^cm_udaddy|' &&
			names+=(ServiceIDResReq ServiceIDResReqResp)
		"$here/../tools/cm_capture_check.sh" "$PCAP" "${names[@]}" ||
			FAILED+=("mtu $mtu: tshark finds malformed frames, or CM MADs that do not decode as they should (above)")
		# For the reader: where srxe's MADs differ from the kernel's.
		((CM)) && "$here/../tools/cm_field_diff.sh" "$PCAP" "$HOSTIP"
	fi
	if ((${#FAILED[@]} > FAILED_BEFORE_MTU)); then
		failure_context "$mtu"
	fi
	if [[ -n ${SRXE_RXE_PCAP_DIR:-} ]]; then
		mkdir -p "$SRXE_RXE_PCAP_DIR"
		cp "$PCAP" "$SRXE_RXE_PCAP_DIR/"
		[[ ! -f $WORK/srxed-$mtu.log ]] ||
			cp "$WORK/srxed-$mtu.log" "$SRXE_RXE_PCAP_DIR/"
	fi
}

for mtu in $MTUS; do
	case $mtu in
	1500) pmtu=1024 ;;
	9000) pmtu=4096 ;;
	*) fail "SRXE_RXE_MTUS: 1500 or 9000, not $mtu" ;;
	esac
	echo "--- link MTU $mtu, path MTU $pmtu"
	FAILED_BEFORE_MTU=${#FAILED[@]}
	net_up "$mtu"
	run_direction server "$mtu" "$pmtu"
	run_direction client "$mtu" "$pmtu"
	net_down "$mtu" "$pmtu"
done

if ((${#FAILED[@]})); then
	printf 'failed: %s\n' "${FAILED[@]}"
	fail "${#FAILED[@]} interop checks failed"
fi
echo "PASS"
