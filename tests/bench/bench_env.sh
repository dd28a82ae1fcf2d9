# What every compare_*.sh script needs, sourced (POSIX sh, so that both the sh and the bash
# scripts can use it):
#
#   . "$(dirname "$0")/bench_env.sh"      (sets `repo`, the repository's root)
#   shared=$(find_shared_bench) || exit 2  (the reference benchmarks: ../shared/bench)
#   build_bench "$build" mproc_pool_bench  (configures a Release build with benchmarks, builds one;
#                                           NO_BUILD=1 uses the build directory as it is)
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
  if [ "${NO_BUILD:-0}" = 1 ]; then
    echo "# NO_BUILD=1: using $2 in $1 as built" >&2
    return 0
  fi
  echo "# building $2 (Release) in $1" >&2
  cmake -S "$repo" -B "$1" -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_BENCHMARKS=ON \
    -DMPROC_BUILD_TESTS=ON -DMPROC_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$1" -j2 --target "$2" >/dev/null
}

build_raw_ipc_bench() {  # build_raw_ipc_bench <shared dir> <output binary>
  echo "# building raw_ipc_bench from $1" >&2
  g++ -O2 -std=c++17 -pthread "$1/raw_ipc_bench.cpp" -o "$2" -lrt
}

# Placement of the two sides (parent and forked children) of every benchmark a script runs:
#   PLACEMENT=any    (default) where the scheduler puts them
#   PLACEMENT=same   both sides on one CPU (taskset -c $SAME_CPU, default 1): a one-CPU container
#                    or a busy machine, where a waiter that spins delays the peer it waits for
#   PLACEMENT=split  the parent on CPU $PARENT_CPU (default 1), every child it forks on CPU
#                    $CHILD_CPU (default 0), through placement_preload.c (an atfork hook)
#   setup_placement "$work"   (once, after the work directory exists: builds the hook if needed)
#   placed <command...>       (runs a benchmark with that placement)
setup_placement() {  # setup_placement <work dir>
  case "${PLACEMENT:-any}" in
    any | same) ;;
    split)
      cc -O2 -shared -fPIC "$repo/tests/bench/placement_preload.c" -o "$1/placement_preload.so" \
        -lpthread || return 1
      placement_preload="$1/placement_preload.so"
      ;;
    *)
      echo "$(basename "$0"): PLACEMENT must be any, same or split (got ${PLACEMENT})" >&2
      return 1
      ;;
  esac
  echo "# placement: ${PLACEMENT:-any}; load: $(cat /proc/loadavg)" >&2
}

placed() {  # placed <command...>
  case "${PLACEMENT:-any}" in
    same) taskset -c "${SAME_CPU:-1}" "$@" ;;
    split)
      LD_PRELOAD="$placement_preload${LD_PRELOAD:+:$LD_PRELOAD}" \
        MPROC_BENCH_CHILD_CPU="${CHILD_CPU:-0}" taskset -c "${PARENT_CPU:-1}" "$@"
      ;;
    *) "$@" ;;
  esac
}

# raw_ipc_bench's `pingpong` group ends with a pure-spin ping-pong which, with both sides on one
# CPU, waits out a time slice per hand-off and runs for hours. placed_raw_pingpong runs the group
# with the placement and, under PLACEMENT=same, stops it after $RAW_PINGPONG_SECONDS (default 60;
# timeout signals its whole process group, the spinning child too), keeping what it printed.
placed_raw_pingpong() {  # placed_raw_pingpong <raw_ipc_bench binary>
  if [ "${PLACEMENT:-any}" = same ]; then
    timeout "${RAW_PINGPONG_SECONDS:-60}" taskset -c "${SAME_CPU:-1}" "$1" pingpong || true
  else
    placed "$1" pingpong
  fi
}
