#!/bin/bash
# IBA 1.5 ATOMIC WRITE and FLUSH through unmodified libibverbs 44
# (docs/atomic-write-flush.md), in both translation modes: awf_e2e
# (tests/integration/awf_e2e.c) checks the device caps, the MR and QP
# flags, ibv_wr_atomic_write's data and completions, the local refusals,
# and that forged rkeys move 0 bytes.  In shortcut mode the run is
# captured with `srxe capture` and checked on the wire: Debian's tshark
# 4.0 does not know opcodes 0x1c/0x1d, so it must decode the BTH (opcode
# 29, no malformed packet, no expert info) and show the rest as vendor
# data that is exactly RETH (VA, R_Key, length 8) + the 8 bytes; each
# ATOMIC WRITE is answered by a zero-length RDMA READ Response Only
# (opcode 16); and the ICRC checker agrees on every frame.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
PROG=$SRXE_BUILD/tests/awf_e2e
ICRC=$here/../tools/icrc_check.py
[[ -x $PROG ]] || fail "$PROG is not built"
TSHARK=(tshark --disable-heuristic rpcrdma_infiniband)

# check_capture PCAP "VA RKEY VALUE": the wire checks of the header.
check_capture() {
	local pcap=$1 va rkey value fields n29 n16 bad want
	read -r va rkey value <<<"$2"
	fields=$("${TSHARK[@]}" -r "$pcap" -T fields -E separator='|' \
		-e frame.protocols -e infiniband.bth.opcode \
		-e infiniband.vendor -e _ws.expert -e _ws.malformed \
		2>"$pcap.err") || fail "tshark failed: $(cat "$pcap.err")"
	bad=$(awk -F'|' '$1 !~ /:udp:infiniband(:data)?$/ || $2 == "" ||
		$4 != "" || $5 != ""' <<<"$fields")
	[[ -z $bad ]] || fail "frames not clean InfiniBand:
$bad"
	n29=$(awk -F'|' '$2 == 29' <<<"$fields" | wc -l)
	n16=$(awk -F'|' '$2 == 16 && $3 == ""' <<<"$fields" | wc -l)
	[[ $n29 -ge 64 ]] || fail "only $n29 ATOMIC WRITE (29) frames"
	[[ $n16 -ge 64 ]] || fail "only $n16 zero-length READ responses"
	# RETH | 8 bytes | ICRC, as tshark's vendor data (colons removed)
	want="${va}${rkey}00000008${value}"
	awk -F'|' '$2 == 29 { print $3 }' <<<"$fields" | tr -d ':' |
		grep -q "$want" ||
		fail "no ATOMIC WRITE frame carries RETH+data $want"
	"$PY" "$ICRC" "$pcap" >"$pcap.icrc" ||
		fail "ICRC checker disagrees: $(cat "$pcap.icrc")"
	echo "ok: wire: $n29 ATOMIC WRITE frames (BTH opcode 29, RETH+data" \
		"as sent), $n16 zero-length READ Response Only, no" \
		"malformed/expert, ICRC valid ($(tail -n 1 "$pcap.icrc"))"
}

failed=()
for mode in shortcut mtt; do
	dev=srxeaw${mode:0:1}$$
	srxe_up "$dev" --translation "$mode"
	cap=
	if [[ $mode == shortcut ]] && command -v tshark >/dev/null; then
		cap=$TEST_ROOT/awf.pcap
		"$SRXE" capture "$cap" --name "$dev" 2>"$cap.log" &
		cap_pid=$!
		for _ in $(seq 100); do
			[[ $(stat -c %s "$cap" 2>/dev/null || echo 0) -ge 24 ]] &&
				break
			sleep 0.05
		done
	fi
	rc=0
	out=$(with_srxe_env timeout 120 "$PROG" "$dev" 2>&1) || rc=$?
	while IFS= read -r line; do echo "[$mode] $line"; done <<<"$out"
	if [[ $rc -ne 0 ]] || ! grep -q "^PASS$" <<<"$out"; then
		failed+=("$mode (exit $rc)")
	fi
	if [[ -n $cap ]]; then
		sleep 0.2
		kill -INT "$cap_pid"
		wait "$cap_pid" || fail "srxe capture failed: $(cat "$cap.log")"
		check_capture "$cap" "$(sed -n 's/^wire: //p' <<<"$out")"
	elif [[ $mode == shortcut ]]; then
		echo "note: tshark is not installed: wire checks skipped"
	fi
	assert_no_clients "$dev" "$mode"
done
[[ ${#failed[@]} -eq 0 ]] || fail "awf_e2e failed in: ${failed[*]}"
echo "PASS"
