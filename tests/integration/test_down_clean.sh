#!/bin/bash
# `srxe down` leaves nothing behind: no daemon, socket, /dev node, sysfs
# entry or runtime directory; a second down is a harmless no-op.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
setup_root
DEV=srxet$$

srxe_up "$DEV"
pid=$(daemon_pid "$DEV")
index=$(cat "$SRXE_RUNDIR/$DEV/uverbs")
node=/dev/infiniband/uverbs$index
sock=$SRXE_RUNDIR/$DEV/srxed.sock
[[ $(readlink "$node") == /dev/full ]] || fail "$node is not a link to /dev/full"
[[ -S $sock ]] || fail "no socket $sock while up"

"$SRXE" down --name "$DEV" || fail "srxe down exited non-zero"

if [[ -e /proc/$pid ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"; then
	fail "srxed pid $pid still running after down"
fi
pgrep -f "srxed --name $DEV " >/dev/null && fail "an srxed for $DEV still runs"
[[ -e $sock ]] && fail "socket $sock left behind"
[[ -L $node && $(readlink "$node") == /dev/full ]] &&
	fail "$node left behind"
[[ -e $SRXE_RUNDIR/$DEV ]] && fail "device dir left behind"
[[ -e $SRXE_RUNDIR ]] && fail "runtime root $SRXE_RUNDIR left behind:
$(find "$SRXE_RUNDIR" | head)"

out=$("$SRXE" down --name "$DEV" 2>&1) || fail "second down exited non-zero"
assert_contains "$out" "$DEV is not up" "second down"
echo "PASS"
