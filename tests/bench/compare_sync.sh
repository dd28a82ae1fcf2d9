#!/bin/sh
# mproc's Lock against Python's locked multiprocessing.Value, measured in the same run: two
# processes increment a shared counter under the lock. Prints both figures and the ratio.
#
# Usage, from anywhere: tests/bench/compare_sync.sh [build-dir]
#   build-dir defaults to <repo>/build-release (configured and built in Release with benchmarks).
# The Python benchmark is ../shared/bench/py_mp_bench.py relative to the repository root (for a
# git worktree one level deeper, ../../shared is tried too), or $MPROC_SHARED_BENCH/py_mp_bench.py
# (see bench_env.sh).
# PLACEMENT=same runs both sides on one CPU, PLACEMENT=split each on its own (bench_env.sh).
set -eu

. "$(dirname "$0")/bench_env.sh"
build=${1:-$repo/build-release}
shared=$(find_shared_bench) || exit 2
py=$shared/py_mp_bench.py
bench=$build/tests/bench/mproc_bench_sync
build_bench "$build" mproc_bench_sync

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

mproc_out=$(placed "$bench")
python_out=$(placed python3 "$py" --only shm)

metric() { printf '%s\n' "$1" | awk -v m="$2" '$1 == m { print $2 }'; }
mine=$(metric "$mproc_out" lock_increment_2procs)
theirs=$(metric "$python_out" value_locked_increment_2procs)

printf '%s\n' "$mproc_out"
printf '%s\n' "$python_out" | grep '^value_locked_increment_2procs '
awk -v a="$mine" -v b="$theirs" 'BEGIN {
  printf "ratio lock_increment_2procs / value_locked_increment_2procs = %.1fx (target >= 20x)\n", a / b
}'
