#!/bin/bash
# Issue #13, must-show 5: the shell steps of docs/ci.md, taken from the
# document (the block between <!-- ci-steps --> markers), run verbatim with
# `bash -euo pipefail` in a directory holding a fresh clone of srxe's
# committed HEAD as ./srxe, as a CI job would: apt-get, build, `srxe up`,
# the example test (an ibv_rc_pingpong pair checking its data), `srxe
# down`.  Also checks that the GitHub Actions and GitLab CI jobs of the
# document run exactly those lines (their YAML parsed).  Leaves nothing
# running and nothing installed (the steps install no srxe file).
here=$(dirname "$0")
# shellcheck source=cli_lib.sh
source "$here/cli_lib.sh"
require_prerequisites
: "${SRXE_SOURCE:?SRXE_SOURCE must name the source directory}"
DOC=$SRXE_SOURCE/docs/ci.md
[[ -f $DOC ]] || fail "no $DOC"
grep -qx 'VERSION_ID="12"' /etc/os-release 2>/dev/null ||
	skip "the steps are for Debian 12 (apt-get), this is $(. /etc/os-release; echo "$PRETTY_NAME")"
git -C "$SRXE_SOURCE" rev-parse --verify -q HEAD >/dev/null ||
	skip "$SRXE_SOURCE is not a git checkout: nothing to clone"
"$PY" -c 'import yaml' 2>/dev/null || skip "needs python3-yaml to read the CI jobs"

setup_root
WORK=$TEST_ROOT/job
RUN=$TEST_ROOT/run
mkdir "$WORK"

# 1. The steps, and the YAML jobs against them.
"$PY" - "$DOC" "$TEST_ROOT/steps.sh" <<'PYEOF' || fail "docs/ci.md: see above"
import re, sys, yaml

doc, out = sys.argv[1], sys.argv[2]
text = open(doc).read()

def block(name, lang):
    found = re.findall(r"<!-- %s -->\n```%s\n(.*?)```\n<!-- /%s -->"
                       % (name, lang, name), text, re.S)
    if len(found) != 1:
        sys.exit(f"{doc}: {len(found)} '{name}' blocks, want 1")
    return found[0]

steps = block("ci-steps", "sh")
gh = yaml.safe_load(block("ci-github", "yaml"))
runs = [s["run"] for job in gh["jobs"].values() for s in job["steps"]
        if "run" in s]
gh_images = [job["container"]["image"] for job in gh["jobs"].values()]
gl = yaml.safe_load(block("ci-gitlab", "yaml"))
gl_jobs = [j for j in gl.values() if isinstance(j, dict) and "script" in j]
scripts = ["\n".join(j["script"]) for j in gl_jobs]
for what, got in (("GitHub run blocks", runs), ("GitLab scripts", scripts)):
    if got != [steps]:
        sys.exit(f"{doc}: the {what} are not the ci-steps block:\n"
                 f"--- ci-steps\n{steps}--- {what}\n{got}")
for what, got in (("GitHub", gh_images),
                  ("GitLab", [j["image"] for j in gl_jobs])):
    if got != ["debian:12"]:
        sys.exit(f"{doc}: {what} image {got}, want debian:12")
open(out, "w").write(steps)
print(f"ok: {len(steps.splitlines())} step lines; the GitHub and GitLab "
      "jobs run exactly them in debian:12")
PYEOF

# 2. A fresh clone of the committed HEAD (what a CI job checks out).
head=$(git -C "$SRXE_SOURCE" rev-parse HEAD)
git clone -q --no-checkout "$SRXE_SOURCE" "$WORK/srxe" ||
	fail "git clone $SRXE_SOURCE"
git -C "$WORK/srxe" checkout -q --detach "$head" || fail "checkout $head"
if ! git -C "$SRXE_SOURCE" diff --quiet HEAD -- docs/ci.md; then
	echo "note: docs/ci.md has uncommitted changes; the steps are the" \
		"working tree's, the clone is HEAD $head"
fi
echo "ok: clone of $head"

# 3. Run them, as root, with this test's runtime root; nothing of the test
# build tree in the environment.  timeout makes its own process group, so
# cleanup can end whatever the steps left (a waiting server).
STEPS_PID=
steps_cleanup() {
	local rc=$?
	[[ -n $STEPS_PID ]] && kill -- -"$STEPS_PID" 2>/dev/null
	SRXE_RUNDIR=$RUN "$WORK/srxe/build/kernel-shim/cli/srxe" down \
		>/dev/null 2>&1 || true
	# Any process still running from the clone (srxed) is a failure.
	for exe in /proc/[0-9]*/exe; do
		[[ $(readlink "$exe" 2>/dev/null) == "$WORK"/* ]] || continue
		pid=${exe#/proc/}
		kill -9 "${pid%/exe}" 2>/dev/null
		echo "FAIL: a process of the clone was still running: $exe" >&2
		rc=1
	done
	rm -rf "$TEST_ROOT"
	exit "$rc"
}
trap steps_cleanup EXIT
log=$TEST_ROOT/steps.log
# The steps file is sourced by a shell that traces each command with a
# time stamp (for the durations below); the lines run as written.
# shellcheck disable=SC2016 # expanded by that shell, not this one
(
	cd "$WORK" &&
		exec env -u RDMAV_DRIVERS -u SYSFS_PATH -u LD_LIBRARY_PATH \
			-u SRXED SRXE_RUNDIR="$RUN" DEBIAN_FRONTEND=noninteractive \
			timeout 540 bash -euo pipefail -c \
			'PS4="+ \${EPOCHREALTIME} "; set -x; . "$1"' steps \
			"$TEST_ROOT/steps.sh"
) >"$log" 2>&1 &
STEPS_PID=$!
t0=$SECONDS
rc=0
wait "$STEPS_PID" || rc=$?
STEPS_PID=
if [[ $rc -ne 0 ]]; then
	if grep -qE "^(W|E): (Failed to fetch|Some index files failed)" "$log" &&
		grep -qE "Temporary failure resolving|Could not resolve|Network is unreachable" "$log"; then
		skip "apt-get cannot reach Debian's archive: $(grep -m1 -E '^(W|E):' "$log")"
	fi
	fail "the steps of docs/ci.md failed (exit $rc) after $((SECONDS - t0)) s:
$(tail -40 "$log")"
fi

# 4. What they did.
iters=$(grep -cE "^[0-9]+ iters in [0-9.]+ seconds" "$log" || true)
[[ $iters -eq 2 ]] ||
	fail "want the server's and the client's 'iters in' lines, got $iters:
$(tail -40 "$log")"
grep -qE "^[0-9]+ bytes in [0-9.]+ seconds = [0-9.]+ Mbit/sec" "$log" ||
	fail "no bandwidth line in the pingpong output"
[[ ! -e $RUN ]] || fail "srxe down left $RUN: $(find "$RUN" | head)"
# Seconds between two traced commands (PS4 carries EPOCHREALTIME; one
# "+" more for the sourced file).
at() { grep -m1 -E "^\++ [0-9.]+ $1" "$log" | cut -d' ' -f2; }
span() {
	local a b
	a=$(at "$1") b=$(at "$2")
	[[ -n $a && -n $b ]] && awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b - a }'
}
echo "ok: steps passed in $((SECONDS - t0)) s: apt-get $(span 'apt-get update' 'cmake -S') s," \
	"build $(span 'cmake -S' 'export PATH') s on $(nproc) cores," \
	"up to down $(span 'srxe up' 'srxe down') s"
grep -E "^[0-9]+ (bytes|iters) in" "$log"
echo "PASS"
