#!/bin/sh
# mproc's SharedMemory and Value against Python's shared_memory and locked multiprocessing.Value,
# measured in the same run:
#  - SharedMemory write bandwidth (pages already touched) as a fraction of memcpy's (target >= 80%)
#    and beside Python's SharedMemory write;
#  - a counter incremented under the Value's own lock by two processes (target >= 20x Python).
#
# Usage, from anywhere: tests/bench/compare_shm.sh [build-dir]
#   build-dir defaults to <repo>/build-release, configured with
#   -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_BENCHMARKS=ON.
# The Python benchmark is ../shared/bench/py_mp_bench.py relative to the repository root (for a
# git worktree one level deeper, ../../shared is tried too), or $MPROC_SHARED_BENCH/py_mp_bench.py
# as for the other compare scripts, or $PY_MP_BENCH.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-release}
bench=$build/tests/bench/mproc_shm_bench
if [ ! -x "$bench" ]; then
  echo "compare_shm.sh: $bench not found (configure with -DMPROC_BUILD_BENCHMARKS=ON)" >&2
  exit 1
fi
py=${PY_MP_BENCH:-}
if [ -z "$py" ] && [ -n "${MPROC_SHARED_BENCH:-}" ]; then py=$MPROC_SHARED_BENCH/py_mp_bench.py; fi
if [ -z "$py" ]; then
  for candidate in "$root/../shared/bench/py_mp_bench.py" \
                   "$root/../../shared/bench/py_mp_bench.py"; do
    if [ -f "$candidate" ]; then py=$candidate; break; fi
  done
fi
if [ -z "$py" ] || [ ! -f "$py" ]; then
  echo "compare_shm.sh: py_mp_bench.py not found; set PY_MP_BENCH" >&2
  exit 1
fi

mproc_out=$("$bench")
python_out=$(python3 "$py" --only shm)

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
