#!/bin/sh
# Runs, in one go on the same machine, the reference peers and mproc's queue benchmark, then prints
# the ratios the queue is held to:
#   - the raw system limits: ../shared/bench/raw_ipc_bench (groups `ring mem`: a lock-free SPSC
#     ring in shared memory, memcpy bandwidth), built here if needed;
#   - Python's multiprocessing.Queue: python3 ../shared/bench/py_mp_bench.py --only queue;
#   - mproc_queue_bench (a Release build with -DMPROC_BUILD_BENCHMARKS=ON).
# Usage: tests/bench/compare_queue.sh [build-dir]    (default: build-release)
# Environment: MPROC_SHARED_BENCH overrides the peers' directory (default: <repo>/../shared/bench).
# PLACEMENT=same runs both sides on one CPU, PLACEMENT=split each on its own (bench_env.sh).
set -eu

. "$(dirname "$0")/bench_env.sh"
build=${1:-$repo/build-release}
shared=$(find_shared_bench) || exit 2
work=${TMPDIR:-/tmp}/mproc-compare-queue.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

bench="$build/tests/bench/mproc_queue_bench"
build_bench "$build" mproc_queue_bench
raw="$work/raw_ipc_bench"
build_raw_ipc_bench "$shared" "$raw"

# The raw ring is a pure spinner: with both sides on one CPU each hand-off waits out a time slice
# (minutes per run, 180 k msgs/s), so PLACEMENT=same measures memcpy only; RAW_RING=1 forces it.
groups="ring mem"
[ "${PLACEMENT:-any}" = same ] && [ "${RAW_RING:-0}" != 1 ] && groups=mem
echo "# raw_ipc_bench $groups" >&2
# shellcheck disable=SC2086 # two words on purpose
placed "$raw" $groups 2>"$work/raw.err" | tee "$work/raw.out"
echo "# py_mp_bench --only queue" >&2
placed python3 "$shared/py_mp_bench.py" --only queue 2>"$work/py.err" | tee "$work/py.out"
echo "# mproc_queue_bench" >&2
placed "$bench" 2>"$work/mproc.err" | tee "$work/mproc.out"
# Every repetition, for judging the spread (these shared machines drift between runs).
grep -h '^# ' "$work/raw.err" "$work/py.err" "$work/mproc.err" >&2 || true

cat "$work/raw.out" "$work/py.out" "$work/mproc.out" | awk '
  { value[$1] = $2 }
  function ratio(label, a, b, target) {
    if (!(a in value) || !(b in value) || value[b] == 0) { printf "%-46s n/a\n", label; return }
    printf "%-46s %8.2f   (%s / %s; target %s)\n", label, value[a] / value[b], a, b, target
  }
  END {
    print ""
    print "ratios"
    ratio("Queue 64 B vs Python mp.Queue", "queue_spsc_64B", "queue_small_msgs", ">= 100")
    ratio("Queue 64 B vs raw SPSC shm ring", "queue_spsc_64B", "shm_spsc_ring_64B", ">= 0.2")
    ratio("Queue 64 B vs raw SPSC ring, batched", "queue_spsc_64B", "shm_spsc_ring_64B_batch64", "-")
    ratio("Queue 64 KiB vs memcpy bandwidth", "queue_spsc_64KiB", "memcpy_bandwidth", ">= 0.5")
    ratio("Queue 64 KiB vs raw SPSC ring 64 KiB", "queue_spsc_64KiB", "shm_spsc_ring_64KiB", "-")
    ratio("Queue 64 KiB vs Python mp.Queue 64 KiB", "queue_spsc_64KiB", "queue_64KiB", "-")
    ratio("Queue 2x2 64 B vs Python mp.Queue (1x1)", "queue_mpmc_2x2_64B", "queue_small_msgs", "report")
  }'
