# shellcheck shell=bash
# Several "hosts" on one machine for the wire tests (sourced, not run).
# Each host is a network namespace with its own srxe runtime root and one
# or more srxe devices.  Two hosts are joined by one veth pair; three or
# more by a bridge living in an extra hub namespace.  Every name carries
# the test's tag and $$, so engineers running tests concurrently never
# collide, and netns_cleanup (an EXIT trap) removes everything that was
# created - processes, devices, namespaces, temp dirs - also on failure.
# See /work/helpers/NOTES-netns.md for a walk-through.
#
# Host I (0-based) is namespace ${NS[I]}, interface ${VETH[I]} (inside
# the namespace), address ${ADDR[I]} (10.199.7.(I+1)/24), device
# ${DEV[I]}, runtime root ${ROOT[I]}.
here=${here:-$(dirname "${BASH_SOURCE[0]}")}
# shellcheck source=cli_lib.sh
[[ -n ${SRXE:-} ]] || source "$here/cli_lib.sh"

# Short tag in every created name; set before netns_make (<= 4 chars).
NETNS_TAG=${NETNS_TAG:-n}
# Upper bound (seconds) for any single tool run by netns_pair & co.
TOOL_TIMEOUT=${SRXE_NETNS_TIMEOUT:-120}
NETNS_SUBNET=${NETNS_SUBNET:-10.199.7}
NS=()
VETH=()
ADDR=()
DEV=()
ROOT=()
NETNS_COUNT=0
NETNS_HUB=
NETNS_MADE=()     # namespaces to delete
NETNS_DEVS=()     # "I DEVNAME" pairs brought up, to take down
NETNS_BG_PIDS=()  # background processes to stop
NETNS_HOOKS=()    # extra cleanup commands (eval'ed, failures ignored)
SERVER_PIDS=()
LAST_SERVER=
LAST_CLIENT=

netns_cleanup() {
	local rc=$? pid entry i
	trap - EXIT
	set +e # remove everything, whatever fails
	for entry in "${NETNS_HOOKS[@]}"; do
		eval "$entry" >/dev/null 2>&1 || true
	done
	for pid in "${NETNS_BG_PIDS[@]}" "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for entry in "${NETNS_DEVS[@]}"; do
		in_ns "${entry%% *}" "$SRXE" down --name "${entry#* }" \
			>/dev/null 2>&1 || true
	done
	for i in "${NETNS_MADE[@]}"; do
		ip netns del "$i" 2>/dev/null || true
	done
	for i in "${ROOT[@]}"; do
		rm -rf "$i"
	done
	exit "$rc"
}

# in_ns I CMD...: run CMD in host I's namespace with its runtime root.
in_ns() {
	local i=$1
	shift
	ip netns exec "${NS[$i]}" env SRXE_RUNDIR="${ROOT[$i]}" "$@"
}

# netns_bg I CMD...: start CMD in host I in the background; it is killed
# at cleanup.  Its pid (CMD itself: ip netns exec and env exec it) is in
# NETNS_LAST_BG.  Stop it with SIGTERM: background jobs ignore SIGINT.
netns_bg() {
	local i=$1
	shift
	ip netns exec "${NS[$i]}" env SRXE_RUNDIR="${ROOT[$i]}" "$@" &
	NETNS_LAST_BG=$!
	NETNS_BG_PIDS+=("$NETNS_LAST_BG")
}

# netns_udpong S C SADDR CADDR [TARGET]: udpong (datagram rsockets) from
# host C, bound to CADDR, to a server in host S bound to SADDR (the
# client's name for it: TARGET, default SADDR): 200 echoes of 1000 B,
# each of which must come back (transfers = 2 x 200), over UD (1000 B fit
# one packet at path MTU 1024): S's device receives at least the 200
# messages as RoCEv2 packets.  udpong's server runs until stopped, and its
# client stalls for good on an echo later than 1 ms (docs/rdmacm.md): a
# stalled run is tried again, up to 3 times.
netns_udpong() {
	local s=$1 c=$2 saddr=$3 caddr=$4 target=${5:-$3} port try rc before after
	before=$(netns_received "$s")
	for try in 1 2 3; do
		port=$((20000 + RANDOM % 20000))
		netns_bg "$s" "$SRXE" exec -- timeout 60 udpong -b "$saddr" \
			-p "$port"
		wait_until 100 udp_bound "$port" in_ns "$s" ||
			fail "udpong server on host $s never bound"
		rc=0
		LAST_CLIENT=$(in_ns "$c" "$SRXE" exec -- timeout 20 udpong \
			-s "$target" -b "$caddr" -p "$port" -T e -C 200 \
			-S 1000 2>&1) || rc=$?
		kill "$NETNS_LAST_BG" 2>/dev/null || true
		wait "$NETNS_LAST_BG" 2>/dev/null || true
		((rc == 124)) || break
		echo "udpong host $c -> host $s stalled (try $try)"
	done
	((rc == 0)) || fail "udpong host $c -> host $s: exit $rc: $LAST_CLIENT"
	assert_contains "$LAST_CLIENT" "^custom +1000 +400 " "udpong echo"
	after=$(netns_received "$s")
	((after - before >= 200)) ||
		fail "udpong: host $s received $((after - before)) RoCEv2 packets for 200 messages"
	echo "ok: udpong host $c -> host $s ($saddr), 200 echoes of 1000 B over UD"
}

# netns_received I: RoCEv2 packets host I's device has received.
netns_received() {
	in_ns "$1" "$SRXE" status --name "${DEV[$1]}" |
		awk '$1 == "packets:" { print $7 }'
}


# netns_tcpdump I FILE [tcpdump args...]: tcpdump in host I's namespace
# writing FILE (log FILE.log), each packet at once (--immediate-mode -U);
# returns once it listens (10 s at most), its pid in NETNS_LAST_BG.
# -B: in immediate mode libpcap's ring has one slot per packet of the
# snapshot length (256 KiB with -s 0 on a veth), so its default 2 MiB
# holds 32 packets and the kernel drops the rest while a busy machine
# keeps tcpdump off the CPU; 64 MiB holds 256 such packets.
netns_tcpdump() {
	local i=$1 file=$2
	shift 2
	netns_bg "$i" tcpdump --immediate-mode -B 65536 -U -w "$file" "$@" \
		2>"$file.log"
	for _ in $(seq 100); do
		grep -q "listening on" "$file.log" && break
		sleep 0.1
	done
}

# netns_tcpdump_stop TRIES: waits up to TRIES tenths of a second for the
# last netns_tcpdump to end by itself (-c: a busy machine may not have let
# it read its packets yet, and SIGINT would drop what it has not read),
# then stops it.
netns_tcpdump_stop() {
	for _ in $(seq "$1"); do
		kill -0 "$NETNS_LAST_BG" 2>/dev/null || break
		sleep 0.1
	done
	kill -INT "$NETNS_LAST_BG" 2>/dev/null || true
	wait "$NETNS_LAST_BG" 2>/dev/null || true
}

_netns_add() {
	ip netns add "$1" 2>/dev/null || skip "cannot create a network namespace"
	NETNS_MADE+=("$1")
	ip -n "$1" link set lo up
}

# netns_make N [MTU]: N hosts (N >= 2) with addresses, links up at MTU
# (default 1500: path MTU 1024; 9000 gives path MTU 4096).  Installs the
# cleanup trap.  Skips (77) when namespaces or veth cannot be made.
netns_make() {
	local n=$1 mtu=${2:-1500} i
	ip netns list >/dev/null 2>&1 || skip "no 'ip netns' here"
	trap netns_cleanup EXIT
	trap 'exit 130' INT TERM
	NETNS_COUNT=$n
	for ((i = 0; i < n; i++)); do
		NS[i]=srxe-$NETNS_TAG-$$-$i
		VETH[i]=sx$NETNS_TAG$$$i
		ADDR[i]=$NETNS_SUBNET.$((i + 1))
		DEV[i]=srxe$NETNS_TAG$$x$i
		ROOT[i]=$(mktemp -d /tmp/srxe-netns.XXXXXX)
		chmod 755 "${ROOT[$i]}"
		_netns_add "${NS[$i]}"
	done
	if ((n == 2)); then
		ip link add "${VETH[0]}" netns "${NS[0]}" type veth \
			peer name "${VETH[1]}" netns "${NS[1]}" ||
			skip "cannot create a veth pair"
	else
		_netns_make_bridge
	fi
	for ((i = 0; i < n; i++)); do
		ip -n "${NS[$i]}" addr add "${ADDR[$i]}/24" dev "${VETH[$i]}"
		((NETNS_IPV6)) && _netns_ipv6_prepare "$i" "${VETH[$i]}"
		ip -n "${NS[$i]}" link set "${VETH[$i]}" up
	done
	netns_set_mtu "$mtu"
	if ((NETNS_IPV6)); then
		for ((i = 0; i < n; i++)); do
			netns_wait_ll "$i" "${VETH[$i]}" >/dev/null
		done
	fi
}

# NETNS_IPV6=1 before netns_make: every host's interface gets an IPv6
# link-local address (EUI-64 of its MAC) without duplicate address
# detection, so it carries traffic at once; netns_make waits for it.
# srxe publishes it as GID 0 (RoCEv2 over IPv6).
NETNS_IPV6=${NETNS_IPV6:-0}
_netns_ipv6_prepare() {
	ip netns exec "${NS[$1]}" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0" \
		"net.ipv6.conf.$2.accept_dad=0" ||
		skip "no IPv6 in the namespaces"
	ip -n "${NS[$1]}" link set "$2" addrgenmode eui64 ||
		skip "cannot set addrgenmode eui64 on $2"
}

# netns_wait_ll I IF: waits (up to 5 s) until IF in host I has a
# link-local address that is not tentative, and prints it.
netns_wait_ll() {
	local i=$1 dev=$2 try out
	for try in $(seq 100); do
		out=$(ip -n "${NS[$i]}" -6 addr show dev "$dev" scope link)
		if [[ $out == *inet6\ fe80:* && $out != *tentative* ]]; then
			sed -nE 's|.*inet6 (fe80:[^/]*)/.*|\1|p' <<<"$out" | head -n 1
			return 0
		fi
		sleep 0.05
	done
	fail "no usable IPv6 link-local address on $dev in ${NS[$i]}: $out"
}

# Three or more hosts: one veth per host into a bridge in a hub namespace.
_netns_make_bridge() {
	local i
	NETNS_HUB=srxe-$NETNS_TAG-$$-hub
	_netns_add "$NETNS_HUB"
	ip -n "$NETNS_HUB" link add br0 type bridge ||
		skip "cannot create a bridge"
	ip -n "$NETNS_HUB" link set br0 up
	for ((i = 0; i < NETNS_COUNT; i++)); do
		ip link add "${VETH[$i]}" netns "${NS[$i]}" type veth \
			peer name "hub$i" netns "$NETNS_HUB" ||
			skip "cannot create a veth pair"
		ip -n "$NETNS_HUB" link set "hub$i" master br0
		ip -n "$NETNS_HUB" link set "hub$i" up
	done
}

# netns_set_mtu MTU: every link (and the bridge) at MTU.  Bring devices
# up after this: a device reads its path MTU at `srxe up`.
netns_set_mtu() {
	local i
	for ((i = 0; i < NETNS_COUNT; i++)); do
		ip -n "${NS[$i]}" link set "${VETH[$i]}" mtu "$1"
	done
	[[ -z $NETNS_HUB ]] && return 0
	for ((i = 0; i < NETNS_COUNT; i++)); do
		ip -n "$NETNS_HUB" link set "hub$i" mtu "$1"
	done
	ip -n "$NETNS_HUB" link set br0 mtu "$1"
}

# netns_dev_up I DEVNAME [srxe up args...]: one more device in host I
# (default address ${ADDR[I]}; pass --ip for another one).
netns_dev_up() {
	local i=$1 dev=$2
	shift 2
	[[ $* == *--ip* || $* == *--netdev* ]] || set -- --ip "${ADDR[$i]}" "$@"
	NETNS_DEVS+=("$i $dev")
	in_ns "$i" "$SRXE" up --name "$dev" "$@" ||
		fail "srxe up --name $dev in ${NS[$i]} failed"
}

# netns_dev_down I DEVNAME: also fails the test when the device's srxed
# logged a sanitizer report (the log goes with the device).
netns_dev_down() {
	local i=$1 dev=$2 entry log=${ROOT[$1]}/$2/srxed.log
	local -a keep=()
	if grep -qE "runtime error:|AddressSanitizer" "$log" 2>/dev/null; then
		fail "srxed of $dev reported: $(grep -m 5 -A 10 -E \
			"runtime error:|AddressSanitizer" "$log")"
	fi
	in_ns "$i" "$SRXE" down --name "$dev" >/dev/null ||
		fail "srxe down --name $dev in ${NS[$i]} failed"
	for entry in "${NETNS_DEVS[@]}"; do
		[[ $entry == "$i $dev" ]] || keep+=("$entry")
	done
	NETNS_DEVS=("${keep[@]}")
}

# netns_up [srxe up args...]: device DEV[I] in every host.
netns_up() {
	local i
	for ((i = 0; i < NETNS_COUNT; i++)); do
		netns_dev_up "$i" "${DEV[$i]}" "$@"
	done
}

# netns_down: take every DEV[I] down (e.g. before changing the MTU).
netns_down() {
	local i
	for ((i = 0; i < NETNS_COUNT; i++)); do
		netns_dev_down "$i" "${DEV[$i]}"
	done
}

# netns_add_addr I ADDR: a second address on host I's interface.
netns_add_addr() {
	ip -n "${NS[$1]}" addr add "$2/24" dev "${VETH[$1]}" ||
		fail "cannot add $2 to ${NS[$1]}"
}

# Client output that means "the server does not listen yet": retry.
NETNS_RETRY_DEFAULT="Couldn.t connect|Unable to open file descriptor|failed to connect"
# netns_pair S C WHAT SERVER_CMD... -- CLIENT_CMD...: server in host S,
# client in host C, both under `srxe exec` and `timeout $TOOL_TIMEOUT`.
# The client is retried while the server does not listen yet.  Fails the
# test when either side fails; sets LAST_SERVER / LAST_CLIENT (outputs).
netns_pair() {
	local s=$1 c=$2 what=$3
	local srv_out=${ROOT[$s]}/server.log cli_out=${ROOT[$c]}/client.log
	local -a srv cli
	local try rc=1
	shift 3
	while [[ $1 != -- ]]; do
		srv+=("$1")
		shift
	done
	shift
	cli=("$@")
	[[ $s != "$c" ]] || cli_out=${ROOT[$c]}/client2.log
	# Not through in_ns: $! must be the process chain itself (ip netns
	# exec, env, srxe exec and timeout exec), so cleanup's SIGTERM reaches
	# timeout, which passes it on to the tool.
	ip netns exec "${NS[$s]}" env SRXE_RUNDIR="${ROOT[$s]}" \
		"$SRXE" exec -- timeout "$TOOL_TIMEOUT" "${srv[@]}" \
		>"$srv_out" 2>&1 &
	SERVER_PIDS=($!)
	# NETNS_SERVER_READY: output of the server that says a client may
	# start (a multicast receiver has joined its group); waited for up to
	# 30 s.
	[[ -z ${NETNS_SERVER_READY:-} ]] ||
		wait_for_output "$srv_out" "$NETNS_SERVER_READY" 300
	# NETNS_SERVER_WAIT: a command that succeeds once the server may be
	# connected to (tried every 0.1 s, up to 30 s), for servers that say
	# nothing when they listen.
	[[ -z ${NETNS_SERVER_WAIT:-} ]] || wait_until 300 $NETNS_SERVER_WAIT
	: >"$cli_out.first"
	for try in $(seq 50); do
		in_ns "$c" "$SRXE" exec -- timeout "$TOOL_TIMEOUT" "${cli[@]}" \
			>"$cli_out" 2>&1 && {
			rc=0
			break
		}
		((try > 1)) || cp "$cli_out" "$cli_out.first"
		grep -qiE "${NETNS_RETRY_RE:-$NETNS_RETRY_DEFAULT}" \
			"$cli_out" || break
		sleep 0.2
	done
	if ! wait "${SERVER_PIDS[0]}"; then
		SERVER_PIDS=()
		fail "$what server failed: $(cat "$srv_out")
--- client after $try tries: $(cat "$cli_out")
--- its first try: $(cat "$cli_out.first")
$(netns_diag)"
	fi
	SERVER_PIDS=()
	[[ $rc -eq 0 ]] ||
		fail "$what client failed after $try tries: $(cat "$cli_out")
--- its first try: $(cat "$cli_out.first")
$(netns_diag)"
	LAST_SERVER=$(cat "$srv_out")
	LAST_CLIENT=$(cat "$cli_out")
}

# netns_diag: what a failed pair leaves to look at: each host's devices
# (srxe status) and the end of their srxed logs.
netns_diag() {
	local entry i dev
	for entry in "${NETNS_DEVS[@]}"; do
		i=${entry%% *} dev=${entry#* }
		echo "--- host $i: srxe status $dev"
		in_ns "$i" "$SRXE" status --name "$dev" 2>&1
		echo "--- host $i: end of ${ROOT[$i]}/$dev/srxed.log"
		tail -n 20 "${ROOT[$i]}/$dev/srxed.log" 2>&1
	done
}

# run_pair WHAT SERVER_CMD... -- CLIENT_CMD...: netns_pair 0 1.
run_pair() {
	netns_pair 0 1 "$@"
}

# netns_pingpong S C TOOL [args...]: ibv_{rc,ud,uc}_pingpong -g 1 -c
# from host C to host S with device DEV[S]/DEV[C], NETNS_ITERS
# iterations; asserts both sides finished and the client saw S's GID.
# Override devices with NETNS_SDEV / NETNS_CDEV, server address with
# NETNS_SADDR.
NETNS_ITERS=${SRXE_PINGPONG_ITERS:-20}
netns_pingpong() {
	local s=$1 c=$2 tool=$3 port=$((20000 + RANDOM % 20000))
	shift 3
	local sdev=${NETNS_SDEV:-${DEV[$s]}} cdev=${NETNS_CDEV:-${DEV[$c]}}
	local saddr=${NETNS_SADDR:-${ADDR[$s]}}
	local -a args=(-g 1 -c -p "$port" -n "$NETNS_ITERS" "$@")
	netns_pair "$s" "$c" "$tool $*" "$tool" -d "$sdev" "${args[@]}" -- \
		"$tool" -d "$cdev" "${args[@]}" "$saddr"
	assert_contains "$LAST_CLIENT" "^$NETNS_ITERS iters in" "$tool $* client"
	assert_contains "$LAST_SERVER" "^$NETNS_ITERS iters in" "$tool $* server"
	assert_contains "$LAST_CLIENT" "GID ::ffff:$saddr" "$tool remote GID"
	echo "ok: $tool $* ($sdev <- $cdev)"
}

# netns_bw S C TOOL PATH_MTU [args...]: a perftest bandwidth tool (-x 1
# -F -n 200, 64 KiB) from host C to host S; asserts the result row and
# the path MTU.  NETNS_SDEV / NETNS_CDEV / NETNS_SADDR as above.
netns_bw() {
	local s=$1 c=$2 tool=$3 mtu=$4 port=$((20000 + RANDOM % 20000))
	shift 4
	local sdev=${NETNS_SDEV:-${DEV[$s]}} cdev=${NETNS_CDEV:-${DEV[$c]}}
	local saddr=${NETNS_SADDR:-${ADDR[$s]}}
	local -a args=(-x 1 -F -n 200 -p "$port" "$@")
	netns_pair "$s" "$c" "$tool $*" "$tool" -d "$sdev" "${args[@]}" -- \
		"$tool" -d "$cdev" "${args[@]}" "$saddr"
	assert_contains "$LAST_CLIENT" "^ *[0-9]+ +200 +[0-9.]+ +[0-9.]+" \
		"$tool $* client result row"
	assert_contains "$LAST_CLIENT" "Mtu +: $mtu\[B\]" "$tool path MTU"
	echo "ok: $tool $* at MTU $mtu: $(grep -E '^ *[0-9]+ +200 ' \
		<<<"$LAST_CLIENT" | awk '{print $4 " MB/s"}')"
}

# netns_status I [DEVNAME]: `srxe status` of a device of host I.
netns_status() {
	in_ns "$1" "$SRXE" status --name "${2:-${DEV[$1]}}"
}

# netns_counter I NAME [DEVNAME]: one counter from `srxe status`, as a
# number.  NAME: pkts_sent bytes_sent pkts_recv bytes_recv naks_sent
# rnr_naks_sent drops (all transports); wire_pkts_sent wire_bytes_sent
# wire_pkts_recv wire_bytes_recv wire_tx_errors wire_drops (RoCEv2/UDP);
# or a wire drop reason (too_short bad_ip bad_udp bad_icrc bad_tver
# bad_opcode bad_pad bad_length truncated not_for_us socket_overflow);
# reliability:
# retransmitted ack_timeouts naks_recv rnr_naks_recv duplicates
# reordered_held; engine receive drops: rx_drops and its reasons no_qp
# bad_pkey bad_qkey bad_state bad_opcode_seq mcast_no_group no_recv_wqe
# bad_request rq_error; engine send drops: tx_drops and its reasons
# no_route tx_error (drops = rx_drops + tx_drops); multicast:
# mcast_groups mcast_attached mcast_recv mcast_copies mcast_other_group.
netns_counter() {
	local st
	st=$(netns_status "$1" "${3:-}") || fail "srxe status in ${NS[$1]}"
	_netns_parse_counter "$2" <<<"$st"
}

_netns_parse_counter() {
	local re
	case $1 in
	pkts_sent) re='packets: +sent ([0-9]+) ' ;;
	bytes_sent) re='packets: +sent [0-9]+ \(([0-9]+) B' ;;
	pkts_recv) re='packets: .*received ([0-9]+) ' ;;
	bytes_recv) re='packets: .*received [0-9]+ \(([0-9]+) B' ;;
	naks_sent) re='packets: .*, naks sent ([0-9]+)' ;;
	rnr_naks_sent) re='packets: .*rnr naks sent ([0-9]+)' ;;
	drops) re='packets: .*, drops ([0-9]+)' ;;
	wire_pkts_sent) re='wire: +udp, sent ([0-9]+) pkts' ;;
	wire_bytes_sent) re='wire: +udp, sent [0-9]+ pkts ([0-9]+) B' ;;
	wire_pkts_recv) re='wire: .*received ([0-9]+) pkts' ;;
	wire_bytes_recv) re='wire: .*received [0-9]+ pkts ([0-9]+) B' ;;
	wire_tx_errors) re='wire: .*send errors ([0-9]+)' ;;
	wire_drops) re='wire drops: +([0-9]+) ' ;;
	retransmitted) re='reliability: +retransmitted ([0-9]+)' ;;
	ack_timeouts) re='reliability: .*ack timeouts ([0-9]+)' ;;
	naks_recv) re='reliability: .*, naks received ([0-9]+)' ;;
	rnr_naks_recv) re='reliability: .*rnr naks received ([0-9]+)' ;;
	duplicates) re='reliability: .*duplicates ([0-9]+)' ;;
	reordered_held) re='reliability: .*reordered held ([0-9]+)' ;;
	rx_drops) re='rx drops: +([0-9]+) ' ;;
	mcast_groups) re='multicast: +groups ([0-9]+)' ;;
	mcast_attached) re='multicast: .*attached ([0-9]+)' ;;
	mcast_recv) re='multicast: .*received ([0-9]+)' ;;
	mcast_copies) re='multicast: .*copies ([0-9]+)' ;;
	mcast_other_group) re='multicast: .*other groups ([0-9]+)' ;;
	no_qp | bad_pkey | bad_qkey | bad_state | bad_opcode_seq | \
		mcast_no_group | no_recv_wqe | bad_request | rq_error)
		re="rx drops: .*[(, ]$1 ([0-9]+)"
		;;
	tx_drops) re='tx drops: +([0-9]+) ' ;;
	no_route | tx_error) re="tx drops: .*[(, ]$1 ([0-9]+)" ;;
	*) re="wire drops: .*[(, ]$1 ([0-9]+)" ;;
	esac
	sed -nE "s/.*$re.*/\\1/p" | head -n 1 | grep -E '^[0-9]+$' ||
		fail "no counter '$1' in srxe status"
}

# netns_check_wire I...: each host's device sent and received RoCEv2
# datagrams and dropped none.
netns_check_wire() {
	local i
	for i in "$@"; do
		(($(netns_counter "$i" wire_pkts_sent) > 0)) ||
			fail "${DEV[$i]} sent nothing on the wire"
		(($(netns_counter "$i" wire_pkts_recv) > 0)) ||
			fail "${DEV[$i]} received nothing from the wire"
		(($(netns_counter "$i" wire_drops) == 0)) ||
			fail "${DEV[$i]} dropped datagrams: $(netns_status "$i")"
	done
}
