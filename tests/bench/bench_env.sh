# What every compare_*.sh script needs, sourced (POSIX sh, so that both the sh and the bash
# scripts can use it):
#
#   . "$(dirname "$0")/bench_env.sh"      (sets `repo`, the repository's root)
#   shared=$(find_shared_bench) || exit 2  (the reference benchmarks: ../shared/bench)
#   build_bench "$build" mproc_pool_bench  (configures a Release build with benchmarks, builds one)
#   build_raw_ipc_bench "$shared" "$out"   (compiles the reference raw_ipc_bench)
#
# MPROC_SHARED_BENCH names the reference directory when it is not beside the repository.

repo=$(cd "$(dirname "$0")/../.." && pwd)

find_shared_bench() {
  for candidate in "${MPROC_SHARED_BENCH:-}" "$repo/../shared/bench" "$repo/../../shared/bench"; do
    if [ -n "$candidate" ] && [ -f "$candidate/py_mp_bench.py" ]; then
      (cd "$candidate" && pwd)
      return 0
    fi
  done
  echo "$(basename "$0"): the reference benchmarks (py_mp_bench.py, raw_ipc_bench.cpp) are not" \
    "in ../shared/bench; set MPROC_SHARED_BENCH to their directory" >&2
  return 1
}

build_bench() {  # build_bench <build dir> <target>
  echo "# building $2 (Release) in $1" >&2
  cmake -S "$repo" -B "$1" -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_BENCHMARKS=ON \
    -DMPROC_BUILD_TESTS=ON -DMPROC_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$1" -j2 --target "$2" >/dev/null
}

build_raw_ipc_bench() {  # build_raw_ipc_bench <shared dir> <output binary>
  echo "# building raw_ipc_bench from $1" >&2
  g++ -O2 -std=c++17 -pthread "$1/raw_ipc_bench.cpp" -o "$2" -lrt
}
