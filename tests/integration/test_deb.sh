#!/bin/bash
# Issue #13, must-show 4: the Debian package.  `cpack -G DEB` makes
# srxe_<version>_<arch>.deb, `apt-get install` installs it, the installed
# srxe brings a device up with the installed srxed, unmodified
# ibv_rc_pingpong runs on it under the installed `srxe exec` with the
# installed provider (not the build tree's), `srxe down`, and `apt-get
# purge` leaves no file of the package behind.  A second device is left up
# on purpose: the package's prerm must take it down.
#
# The package is built in $SRXE_BUILD/deb, a tree of its own configured
# with -DCMAKE_INSTALL_PREFIX=/usr (srxe has its install paths compiled in;
# the test build tree has the default /usr/local) and without tests.
#
# While the package is installed every libibverbs program of the machine
# also loads its provider (/etc/libibverbs.d/srxe.driver): ctest runs the
# integration tests RUN_SERIAL, and this test purges on every exit.
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
: "${SRXE_SOURCE:?SRXE_SOURCE must name the source directory}"
for tool in apt-get dpkg dpkg-query cpack dpkg-shlibdeps pkg-config \
	ibv_rc_pingpong ibv_devinfo; do
	command -v "$tool" >/dev/null || skip "no $tool"
done
# Someone else's installation is not ours to purge.
if dpkg-query -W -f='${Status}' srxe 2>/dev/null | grep -q installed; then
	skip "a package srxe is installed already (dpkg -s srxe); not touching it"
fi
[[ -e /etc/libibverbs.d/srxe.driver ]] &&
	skip "/etc/libibverbs.d/srxe.driver exists (cmake --install?); not touching it"

PROVIDER_DIR=$(pkg-config --variable=libdir libibverbs)/libibverbs
PKG_BUILD=$SRXE_BUILD/deb
DEV=srxedeb$$
DEV2=srxedeb$$b
PORT=$((20000 + $$ % 20000))
ITERS=20
INSTALLED=0
BUILD_SRXE=$SRXE
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q
	-o DPkg::Lock::Timeout=120)

setup_root
# The devices' runtime root, apart from the test's files: srxe removes it
# with the last device.
export SRXE_RUNDIR=$TEST_ROOT/run
# Nothing from the build tree may reach the installed tools.
unset RDMAV_DRIVERS SYSFS_PATH LD_LIBRARY_PATH SRXED

purge() {
	[[ $INSTALLED -eq 1 ]] || return 0
	if ! "${APT[@]}" purge srxe >"$TEST_ROOT/purge.log" 2>&1; then
		cat "$TEST_ROOT/purge.log" >&2
		# Never leave the package installed: dpkg itself, then fail.
		dpkg --purge srxe >&2 || true
		INSTALLED=0
		return 1
	fi
	INSTALLED=0
}

# Always: devices down (if srxe is still there), package purged, root gone.
deb_cleanup() {
	local rc=$? dev
	if [[ $INSTALLED -eq 1 && -x /usr/bin/srxe ]]; then
		for dev in "${TEST_DEVICES[@]}"; do
			/usr/bin/srxe down --name "$dev" >/dev/null 2>&1 || true
		done
	fi
	purge || rc=1
	# What is still up (prerm failed, or the package is gone): the build
	# tree's srxe stops it through the pid file.
	for dev in "${TEST_DEVICES[@]}"; do
		"$BUILD_SRXE" down --name "$dev" >/dev/null 2>&1 || true
	done
	rm -rf "$TEST_ROOT"
	exit "$rc"
}
trap deb_cleanup EXIT

# 1. Build the package.
t0=$SECONDS
# A package tree left by another source directory cannot be reconfigured.
if [[ -f $PKG_BUILD/CMakeCache.txt ]] &&
	! grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$(realpath "$SRXE_SOURCE")" \
		"$PKG_BUILD/CMakeCache.txt"; then
	rm -rf "$PKG_BUILD"
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$SRXE_BUILD/CMakeCache.txt")
cmake -S "$SRXE_SOURCE" -B "$PKG_BUILD" -DCMAKE_INSTALL_PREFIX=/usr \
	-DCMAKE_BUILD_TYPE="${build_type:-RelWithDebInfo}" \
	-DSRXE_BUILD_TESTS=OFF -DSRXE_BUILD_BENCHMARKS=OFF \
	>"$TEST_ROOT/cmake.log" 2>&1 ||
	fail "configuring $PKG_BUILD: $(tail -20 "$TEST_ROOT/cmake.log")"
cmake --build "$PKG_BUILD" -j"${SRXE_DEB_JOBS:-2}" >"$TEST_ROOT/build.log" 2>&1 ||
	fail "building $PKG_BUILD: $(tail -20 "$TEST_ROOT/build.log")"
rm -f "$PKG_BUILD"/srxe_*.deb
(cd "$PKG_BUILD" && cpack -G DEB) >"$TEST_ROOT/cpack.log" 2>&1 ||
	fail "cpack: $(tail -20 "$TEST_ROOT/cpack.log")"
debs=("$PKG_BUILD"/srxe_*_"$(dpkg --print-architecture)".deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] ||
	fail "no srxe_<version>_<arch>.deb in $PKG_BUILD: $(ls "$PKG_BUILD")"
# apt reads a local .deb as user _apt: a copy in the 0755 test root.
cp "${debs[0]}" "$TEST_ROOT/"
deb=$TEST_ROOT/$(basename "${debs[0]}")
chmod 644 "$deb"
echo "ok: $(basename "$deb") built in $((SECONDS - t0)) s"

# The prefix check: a package of a /usr/local tree would hold an srxe that
# looks for srxed where the package does not put it.
if (cd "$SRXE_BUILD" && cpack -G DEB -B "$TEST_ROOT/wrong") \
	>"$TEST_ROOT/wrong.log" 2>&1; then
	grep -q '^CMAKE_INSTALL_PREFIX:PATH=/usr$' "$SRXE_BUILD/CMakeCache.txt" ||
		fail "cpack packed a tree configured for another prefix than /usr"
else
	assert_contains "$(cat "$TEST_ROOT/wrong.log")" \
		"needs -DCMAKE_INSTALL_PREFIX=/usr" "cpack of a /usr/local tree"
fi

control=$(dpkg-deb -f "$deb")
assert_contains "$control" "^Depends:.*libibverbs1" "Depends"
assert_contains "$control" "^Depends:.*libc6" "Depends"

# Directories the package will create: purge must remove them again.
new_dirs=()
while read -r d; do
	d=/${d#./}
	d=${d%/}
	[[ $d == / || -e $d ]] || new_dirs+=("$d")
done < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep '/$')

# 2. Install.
INSTALLED=1
"${APT[@]}" install "$deb" >"$TEST_ROOT/install.log" 2>&1 ||
	fail "apt-get install: $(tail -20 "$TEST_ROOT/install.log")"
dpkg-query -W -f='${Status}' srxe | grep -q "install ok installed" ||
	fail "srxe not installed: $(dpkg-query -W -f='${Status}' srxe)"
echo "ok: installed"

# 3. Files.
dpkg -L srxe >"$TEST_ROOT/files" || fail "dpkg -L srxe"
files=$(cat "$TEST_ROOT/files")
for f in /usr/bin/srxe /usr/sbin/srxed "$PROVIDER_DIR/libsrxe-rdmav34.so" \
	/etc/libibverbs.d/srxe.driver \
	"$(dirname "$PROVIDER_DIR")/srxe/rdmacm/librdmacm.so.1" \
	/usr/share/man/man1/srxe.1.gz /usr/share/doc/srxe/README.md \
	/usr/share/doc/srxe/ci.md /usr/share/doc/srxe/copyright; do
	grep -qxF "$f" <<<"$files" || fail "$f not in dpkg -L srxe:
$files"
	[[ -e $f ]] || fail "$f listed but missing"
done
man=$(zcat /usr/share/man/man1/srxe.1.gz)
for word in up down status env exec shell capture; do
	assert_contains "$man" "^\\.B srxe $word\$" "srxe(1) synopsis"
done
assert_contains "$man" "NETLINK_RDMA" "srxe(1) exec"
mapfile -t pkg_paths <"$TEST_ROOT/files"
echo "ok: ${#pkg_paths[@]} paths installed"

# 4. Up with the installed srxe and srxed.
SRXE=/usr/bin/srxe
srxe_up "$DEV" >/dev/null
exe=$(readlink "/proc/$(daemon_pid "$DEV")/exe")
[[ $exe == /usr/sbin/srxed ]] || fail "srxed of $DEV is $exe, not /usr/sbin/srxed"
# Same address as DEV (no wire of its own, up warns): it only has to be up.
srxe_up "$DEV2" >/dev/null 2>&1
pid2=$(daemon_pid "$DEV2")
echo "ok: $DEV and $DEV2 up, srxed $exe"

# 5. The environment and the provider are the installed ones.
env_out=$("$SRXE" exec --name "$DEV" -- env)
assert_not_contains "$env_out" "^RDMAV_DRIVERS=" \
	"srxe exec env (the .driver file is installed)"
assert_contains "$env_out" \
	"^LD_LIBRARY_PATH=$(dirname "$PROVIDER_DIR")/srxe/rdmacm(:|\$)" \
	"srxe exec env"
assert_not_contains "$(grep -E '^(SYSFS_PATH|LD_LIBRARY_PATH)=' <<<"$env_out")" \
	"$SRXE_BUILD" "srxe exec env"
loaded=$("$SRXE" exec -- env LD_DEBUG=files ibv_devinfo -d "$DEV" 2>&1) ||
	fail "ibv_devinfo -d $DEV: $loaded"
assert_contains "$loaded" "hca_id:[[:space:]]+$DEV" "ibv_devinfo"
assert_contains "$loaded" "file=$PROVIDER_DIR/libsrxe-rdmav34.so " \
	"the installed provider loaded"
assert_not_contains "$loaded" "file=$SRXE_BUILD" "no build-tree library loaded"
echo "ok: installed provider $PROVIDER_DIR/libsrxe-rdmav34.so loaded"

# 6. A pingpong between two processes; the client retries until the
# server listens.
pingpong_pair ibv_rc_pingpong -d "$DEV" -g 1 -c -p "$PORT" -n "$ITERS" -s 4096
assert_contains "$PP_CLIENT" "^$ITERS iters in" "client"
assert_contains "$PP_SERVER" "^$ITERS iters in" "server"
echo "ok: ibv_rc_pingpong -c, $ITERS iters of 4096 bytes"

# 7. Down; DEV2 stays up for the purge.
"$SRXE" down --name "$DEV" >/dev/null || fail "srxe down $DEV"
[[ ! -e $SRXE_RUNDIR/$DEV ]] || fail "$SRXE_RUNDIR/$DEV left after down"
# DEV2's /dev/infiniband node: prerm's `srxe down` must remove it.
node2=
for v in "$SRXE_RUNDIR"/sys/class/infiniband_verbs/uverbs*; do
	[[ $(cat "$v/ibdev" 2>/dev/null) == "$DEV2" ]] &&
		node2=/dev/infiniband/$(basename "$v")
done
[[ -L $node2 ]] || fail "no /dev/infiniband node of $DEV2 found"
echo "ok: $DEV down"

# 8. Purge with DEV2 up: prerm takes it down, nothing of the package stays.
purge || fail "apt-get purge srxe"
process_runs "$pid2" && fail "srxed of $DEV2 ($pid2) runs after purge"
[[ ! -e $SRXE_RUNDIR ]] ||
	fail "runtime root left after purge: $(find "$SRXE_RUNDIR" | head)"
left=()
for f in "${pkg_paths[@]}"; do
	[[ -d $f && ! -L $f ]] && continue
	[[ -e $f || -L $f ]] && left+=("$f")
done
for f in "${new_dirs[@]}"; do
	[[ -e $f ]] && left+=("$f/")
done
[[ ${#left[@]} -eq 0 ]] || fail "left after purge: ${left[*]}"
[[ ! -e /etc/libibverbs.d/srxe.driver ]] || fail "srxe.driver left"
status=$(dpkg-query -W -f='${Status}' srxe 2>/dev/null || true)
[[ -z $status || $status == *not-installed ]] ||
	fail "dpkg still knows srxe after purge: $status"
[[ ! -L $node2 ]] || fail "$node2 of $DEV2 left after purge"
echo "ok: purged; $DEV2 taken down by prerm; ${#pkg_paths[@]} paths and ${#new_dirs[@]} new directories gone"
echo "PASS"
