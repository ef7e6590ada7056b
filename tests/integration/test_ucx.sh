#!/bin/bash
# Issue #10, must-show 2: unmodified UCX 1.13 (Debian ucx-utils) over
# srxe with nothing but UCX_NET_DEVICES=<dev>:1: ucx_perftest tag_lat,
# tag_bw, ucp_put_bw, ucp_get, ucp_am_lat and the UCT transports rc_verbs
# (am_lat, put_bw) and ud_verbs (am_lat, am_bw), on one host (both
# processes in one network namespace) and between two hosts (two
# namespaces joined by a veth).  Each run SRXE_UCX_REPS times (default
# 10, as issue #10 asks; docs/middleware.md); every run must finish
# (no UCX UD endpoint timeout), print its result row and log no UCX error
# or warning.  Afterwards every dropped packet must be counted under a
# named reason in `srxe status`.
#
# On one host UCP moves data through UCX's shared-memory transports (UCX
# prefers them between processes of one machine); srxe still registers
# every buffer (SysV shared memory included) and carries the UD wire-up.
# The UCT runs use srxe directly on both.
here=$(dirname "$0")
# shellcheck source=netns_lib.sh
source "$here/netns_lib.sh"
# shellcheck source=ucx_lib.sh
source "$here/ucx_lib.sh"
require_prerequisites
require_ucx
NETNS_TAG=ucx

netns_make 2 1500
# ucx_perftest's server runs the client's parameters, -d included: both
# hosts name their device alike (each namespace has its own runtime root).
DEV[1]=${DEV[0]}
netns_up

ucx_matrix 0 0 "one host"
ucx_matrix 0 1 "two hosts"
check_named_drops 0
check_named_drops 1
check_wire_used 0 1
echo "PASS"
