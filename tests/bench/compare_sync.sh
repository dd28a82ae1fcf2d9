#!/bin/sh
# mproc's Lock against Python's locked multiprocessing.Value, measured in the same run: two
# processes increment a shared counter under the lock. Prints both figures and the ratio.
#
# Usage, from anywhere: tests/bench/compare_sync.sh [build-dir]
#   build-dir defaults to <repo>/build, configured with
#   -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_BENCHMARKS=ON.
# The Python benchmark is ../shared/bench/py_mp_bench.py relative to the repository root (for a
# git worktree one level deeper, ../../shared is tried too), or $PY_MP_BENCH.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
bench=$build/tests/bench/mproc_bench_sync
if [ ! -x "$bench" ]; then
  echo "compare_sync.sh: $bench not found (configure with -DMPROC_BUILD_BENCHMARKS=ON)" >&2
  exit 1
fi
py=${PY_MP_BENCH:-}
if [ -z "$py" ]; then
  for candidate in "$root/../shared/bench/py_mp_bench.py" \
                   "$root/../../shared/bench/py_mp_bench.py"; do
    if [ -f "$candidate" ]; then py=$candidate; break; fi
  done
fi
if [ -z "$py" ] || [ ! -f "$py" ]; then
  echo "compare_sync.sh: py_mp_bench.py not found; set PY_MP_BENCH" >&2
  exit 1
fi

mproc_out=$("$bench")
python_out=$(python3 "$py" --only shm)

metric() { printf '%s\n' "$1" | awk -v m="$2" '$1 == m { print $2 }'; }
mine=$(metric "$mproc_out" lock_increment_2procs)
theirs=$(metric "$python_out" value_locked_increment_2procs)

printf '%s\n' "$mproc_out"
printf '%s\n' "$python_out" | grep '^value_locked_increment_2procs '
awk -v a="$mine" -v b="$theirs" 'BEGIN {
  printf "ratio lock_increment_2procs / value_locked_increment_2procs = %.1fx (target >= 20x)\n", a / b
}'
