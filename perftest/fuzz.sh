#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS, one after the other, starting
# from the committed corpus, and prints one table row per target:
#   target, seconds, executions, exec/s, crashes, new corpus files.
#
# Usage: perftest/fuzz.sh SECONDS [rx|ctl ...]      (default: rx ctl)
# Environment:
#   SRXE_FUZZ_BUILD  clang build tree (default <source>/build-fuzzer),
#                    configured with -DSRXE_FUZZ=ON and built if needed
#   FUZZ_OUT         where corpora, logs and crashing inputs go
#                    (default: a new /tmp/srxe-fuzz.XXXXXX, kept)
#   FUZZ_NICE        nice level of the fuzzers (default 10)
#
# libFuzzer stops at the first crash; the script then saves the input and
# restarts on the grown corpus for the rest of the time, so "crashes"
# counts every crash of the run and executions are summed over restarts.
# The committed corpus is not modified: new inputs stay in FUZZ_OUT (fold
# them in with -merge=1, see docs/fuzzing.md).  Exit status: 0 when no
# target crashed, 1 otherwise.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:?usage: fuzz.sh SECONDS [rx|ctl ...]}
shift
targets=("$@")
((${#targets[@]})) || targets=(rx ctl)
build=${SRXE_FUZZ_BUILD:-$src/build-fuzzer}
out=${FUZZ_OUT:-$(mktemp -d /tmp/srxe-fuzz.XXXXXX)}
nice_level=${FUZZ_NICE:-10}

declare -A max_len=([rx]=16384 [ctl]=8192)

for t in "${targets[@]}"; do
	[[ -n ${max_len[$t]:-} ]] || {
		echo "fuzz.sh: unknown target '$t' (rx, ctl)" >&2
		exit 2
	}
done
command -v clang >/dev/null || {
	echo "fuzz.sh: clang is not installed (apt-get install clang)" >&2
	exit 1
}

cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DSRXE_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
nice -n "$nice_level" cmake --build "$build" -j"$(nproc)" \
	--target "${targets[@]/#/fuzz_}" >/dev/null

count_files() { find "$1" -maxdepth 1 -type f | wc -l; }

# stat::NAME value of a libFuzzer log (-print_final_stats=1), or 0.
stat_of() {
	awk -v k="stat::$2:" '$1 == k { v = $2 } END { print v + 0 }' "$1"
}

rows=()
crashed=0
for t in "${targets[@]}"; do
	dir=$out/$t
	mkdir -p "$dir/corpus" "$dir/crashes"
	cp "$src/tests/fuzz/corpus/$t/"* "$dir/corpus/"
	before=$(count_files "$dir/corpus")
	execs=0 crashes=0 run=0
	start=$(date +%s)
	while :; do
		left=$((secs - ($(date +%s) - start)))
		((left > 0)) || break
		run=$((run + 1))
		log=$dir/run$run.log
		rc=0
		# -close_fd_mask=2: srxed's per-context log lines would fill the
		# log; libFuzzer and sanitizer reports still get through.
		nice -n "$nice_level" "$build/tests/fuzz/fuzz_$t" \
			-max_total_time="$left" -max_len="${max_len[$t]}" \
			-timeout=30 -print_final_stats=1 -close_fd_mask=2 \
			-artifact_prefix="$dir/crashes/" "$dir/corpus" \
			>"$log" 2>&1 || rc=$?
		execs=$((execs + $(stat_of "$log" number_of_executed_units)))
		((rc == 0)) && break
		crashes=$((crashes + 1))
		echo "fuzz.sh: $t crashed (exit $rc), see $log" >&2
	done
	elapsed=$(($(date +%s) - start))
	after=$(count_files "$dir/corpus")
	rate=$((elapsed > 0 ? execs / elapsed : execs))
	rows+=("$(printf '| fuzz_%s | %d | %d | %d | %d | %d |' "$t" \
		"$elapsed" "$execs" "$rate" "$crashes" $((after - before)))")
	((crashes == 0)) || crashed=1
done

echo "| target | seconds | executions | exec/s | crashes | new corpus files |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "(corpora, logs and crashing inputs: $out)"
exit $crashed
