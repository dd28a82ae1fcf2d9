#!/bin/sh
# mproc's SharedMemory and Value against Python's shared_memory and locked multiprocessing.Value,
# measured in the same run:
#  - SharedMemory write bandwidth (pages already touched) as a fraction of memcpy's (target >= 80%)
#    and beside Python's SharedMemory write;
#  - a counter incremented under the Value's own lock by two processes (target >= 20x Python).
#
# Usage, from anywhere: tests/bench/compare_shm.sh [build-dir]
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
bench=$build/tests/bench/mproc_shm_bench
build_bench "$build" mproc_shm_bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

mproc_out=$(placed "$bench")
python_out=$(placed python3 "$py" --only shm)

metric() { printf '%s\n' "$1" | awk -v m="$2" '$1 == m { print $2 }'; }
memcpy=$(metric "$mproc_out" memcpy_bandwidth_256MiB)
write=$(metric "$mproc_out" shared_memory_write_256MiB)
py_write=$(metric "$python_out" shared_memory_write_256MiB)
value=$(metric "$mproc_out" value_locked_increment_2procs)
py_value=$(metric "$python_out" value_locked_increment_2procs)

printf '%s\n' "$mproc_out" | sed 's/^/mproc  /'
printf '%s\n' "$python_out" | grep -E '^(shared_memory_write_256MiB|value_locked_increment_2procs) ' |
  sed 's/^/python /'
awk -v w="$write" -v m="$memcpy" -v p="$py_write" -v v="$value" -v pv="$py_value" 'BEGIN {
  printf "ratio shared_memory_write_256MiB / memcpy_bandwidth_256MiB = %.0f%% (target >= 80%%)\n", 100 * w / m
  printf "ratio shared_memory_write_256MiB mproc / python = %.2fx\n", w / p
  printf "ratio value_locked_increment_2procs mproc / python = %.1fx (target >= 20x)\n", v / pv
}'
