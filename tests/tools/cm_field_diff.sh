#!/usr/bin/env bash
# cm_field_diff.sh PCAP SRXE_IP
#
# Lists where the CM MADs srxe sent (IPv4 source SRXE_IP) differ from the
# ones the other side (kernel rdma_cm) sent, field by field as tshark
# decodes them, leaving out what differs by nature (IDs, QPNs, PSNs,
# GUIDs, GIDs, addresses, ports).  REQs are compared per service ID
# (each test uses its own port, and both sides run the same tool as
# client), REJs per "message rejected", REPs over the whole capture.  Informational: it
# prints "same" or one line per difference and always exits 0 when
# tshark can read the capture.
set -euo pipefail
pcap=${1:?usage: cm_field_diff.sh PCAP SRXE_IP}
me=${2:?usage: cm_field_diff.sh PCAP SRXE_IP}
# Every filter below reads datagrams to QP 1 only: they are written once
# to a capture of their own, which the passes read (a capture of a
# bandwidth run holds 100,000 frames and a few hundred MADs).
tmp=$(mktemp -d /tmp/cm_field_diff.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tshark --disable-heuristic rpcrdma_infiniband -r "$pcap" \
	-Y 'infiniband.bth.destqp == 1' -w "$tmp/qp1.pcap" 2>/dev/null || {
	echo "cm_field_diff: tshark cannot read $pcap" >&2
	exit 1
}
ts=(tshark --disable-heuristic rpcrdma_infiniband -r "$tmp/qp1.pcap")

# compare NAME ATTRIBUTE KEYFIELD FIELD...: for every value of KEYFIELD
# in the MADs of ATTRIBUTE, the sets of values of each FIELD on both
# sides.  KEYFIELD "-": one set over the whole capture.
compare() {
	local name=$1 attr=$2 key=$3 args=() f
	shift 3
	[[ $key == - ]] && key=infiniband.mad.attributeid
	for f in ip.src "$key" "$@"; do
		args+=(-e "$f")
	done
	"${ts[@]}" -Y "infiniband.mad.mgmtclass == 0x07 && infiniband.mad.attributeid == $attr" \
		-T fields -E separator='|' \
		"${args[@]}" 2>/dev/null |
		awk -F'|' -v me="$me" -v name="$name" -v fields="$*" \
			-v keyed="$([[ $key == infiniband.mad.attributeid ]] || echo 1)" '
		BEGIN { n = split(fields, fn, " ") }
		{
			side = ($1 == me) ? "srxe" : "peer"
			keys[$2] = 1
			for (i = 1; i <= n; i++) {
				k = $2 SUBSEP i SUBSEP side
				if (index(" " v[k] " ", " " $(i + 2) " ") == 0)
					v[k] = (v[k] == "" ? "" : v[k] " ") $(i + 2)
			}
		}
		END {
			for (key in keys)
				for (i = 1; i <= n; i++) {
					s = v[key, i, "srxe"]; p = v[key, i, "peer"]
					if (s == "" || p == "" || s == p)
						continue
					sub(/.*\./, "", fn[i])
					printf "cm_field_diff: %s%s %s: srxe %s, peer %s\n",
						name, (keyed ? " " key : ""),
						fn[i], s, p
					diffs++
				}
			exit diffs > 0
		}' || return 1
}

mine=$("${ts[@]}" -Y "infiniband.bth.destqp == 1 && ip.src == $me" 2>/dev/null |
	wc -l)
if ((mine == 0)); then
	echo "cm_field_diff: $pcap: no CM MADs from $me"
	exit 0
fi
r=infiniband.cm.req
p=infiniband.cm.rep
j=infiniband.cm.rej
same=1
compare REQ 0x0010 $r.serviceid.dport $r.responderres $r.initdepth \
	$r.remoteresptout $r.localresptout $r.retrcount $r.rnrretrcount \
	$r.maxcmretr $r.pkey $r.pppmtu $r.srq $r.transpsvctype \
	$r.e2eflowctrl $r.prim_hoplim $r.prim_tfcclass $r.prim_sl \
	$r.prim_subnetlocal $r.prim_localacktout || same=0
compare REP 0x0013 - $p.respres $p.initdepth $p.tgtackdelay $p.failoveracc \
	$p.e2eflowctrl $p.rnrretrcount $p.srq $p.localqkey || same=0
compare REJ 0x0012 $j.msgrej $j.rejinfolen $j.reason || same=0
# QP 1 datagrams: the BTH bits a receiver could look at.
b=infiniband.bth
"${ts[@]}" -Y "$b.destqp == 1" -T fields -E separator='|' -e ip.src \
	-e $b.se -e $b.m -e $b.padcnt -e $b.tver -e $b.p_key -e $b.a \
	2>/dev/null | sort -u | awk -F'|' -v me="$me" '
	{ side = ($1 == me) ? "srxe" : "peer"; $1 = ""; s[side] = s[side] "[" $0 " ]" }
	END {
		if (s["srxe"] != "" && s["peer"] != "" && s["srxe"] != s["peer"]) {
			print "cm_field_diff: QP 1 BTH (SE M PadCnt TVer P_Key AckReq): srxe " \
				s["srxe"] ", peer " s["peer"]
			exit 1
		}
	}' || same=0
((same)) && echo "cm_field_diff: $pcap: srxe's CM MADs carry the same values as the peer's"
exit 0
