#!/usr/bin/env bash
# Compares mproc's Pool with its references, side by side on one machine (absolute figures on
# shared machines drift by 2x between runs, and even between two processes started a second
# apart, as the host places the vCPUs and the kernel places the threads; ratios of figures
# measured together drift much less):
#   - a minimal forked pool (mproc_pool_ref_bench tiny: two workers, a task and a result SPSC ring
#     each in shared memory, one index store per task): apply_async tiny-task throughput, and
#     mproc_pool_bench floor (the per-task work of apply_async + get in one thread, no IPC: the
#     result state, encoding, the worker's invoke, decoding, resolution), its ceiling;
#   - the raw socketpair ping-pong (mproc_pool_ref_bench pingpong, raw_ipc_bench's loop): the
#     apply() round trip;
#   - Python's multiprocessing.Pool (fork), through ../shared/bench/py_mp_bench.py.
#
#   tests/bench/compare_pool.sh [build-dir]      (default build dir: <repo>/build-release)
#   ROUNDS=5 tests/bench/compare_pool.sh ...     (default 3 rounds)
#   PYTHON=0 tests/bench/compare_pool.sh ...     (leaves Python out: only the rows with a
#                                                 C++ reference)
#   RSS=0 ...                                    (leaves out the imap memory runs)
#   CONFIGURE=0 ...                              (builds in the build dir as it is configured)
#
# Builds mproc_pool_bench and mproc_pool_ref_bench in Release, then runs ROUNDS rounds, each one
# `py_mp_bench.py --only pool,cpu`, then the references and mproc_pool_bench right after one
# another (the references first in odd rounds, mproc first in even ones); then mproc_pool_bench
# rss 1000000 / 10000000 (each in a fresh process). Every ratio is computed within its round; the
# table gives the median over the rounds and the lowest and highest round, and the load before
# each round is printed. Targets: apply_async tiny >= 0.5x the minimal pool and >= 100x Python;
# apply() round trip <= 1.5x the socketpair ping-pong, in both placements; map tiny >= 10x
# Python's best chunksize; CPU speed-up on 2 workers >= 1.93x and >= Python's; imap memory flat
# (10M vs 1M inputs).
# PLACEMENT=same runs both sides on one CPU, PLACEMENT=split each on its own (bench_env.sh); run
# the script once per placement for the round-trip target.
set -euo pipefail

. "$(dirname "$0")/bench_env.sh"
build="${1:-$repo/build-release}"
rounds="${ROUNDS:-3}"
python="${PYTHON:-1}"
if [ "$python" != 0 ]; then shared=$(find_shared_bench) || exit 2; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

if [ "${CONFIGURE:-1}" = 0 ]; then  # an existing build directory, as it is configured
  cmake --build "$build" -j2 --target mproc_pool_bench mproc_pool_ref_bench >/dev/null
else
  build_bench "$build" mproc_pool_bench
  build_bench "$build" mproc_pool_ref_bench
fi

bench="$build/tests/bench/mproc_pool_bench"
ref="$build/tests/bench/mproc_pool_ref_bench"
references() {
  echo "# round $round/$rounds: mproc_pool_ref_bench tiny, pingpong" >&2
  placed "$ref" tiny 5 >>"$work/round$round.txt" 2>>"$work/samples.txt"
  placed "$ref" pingpong 5 >>"$work/round$round.txt" 2>>"$work/samples.txt"
}
ours() {
  echo "# round $round/$rounds: mproc_pool_bench, mproc_pool_bench floor" >&2
  placed "$bench" >>"$work/round$round.txt" 2>>"$work/samples.txt"
  placed "$bench" floor 5 >>"$work/round$round.txt" 2>>"$work/samples.txt"
}
for ((round = 1; round <= rounds; round++)); do
  echo "# round $round/$rounds: load $(cat /proc/loadavg)" | tee -a "$work/loads.txt" >&2
  : >"$work/round$round.txt"
  if [ "$python" != 0 ]; then
    echo "# round $round/$rounds: py_mp_bench.py --only pool,cpu" >&2
    placed /usr/bin/python3 "$shared/py_mp_bench.py" --only pool,cpu >>"$work/round$round.txt" \
      2>>"$work/samples.txt"
  fi
  if ((round % 2 == 1)); then references; ours; else ours; references; fi
done
for n in $([ "${RSS:-1}" = 0 ] || echo 1000000 10000000); do
  echo "# mproc_pool_bench rss $n" >&2
  placed "$bench" rss "$n" >>"$work/rss.txt" 2>>"$work/samples.txt"
done
cat "$work/samples.txt" >&2
echo "# placement: ${PLACEMENT:-any}"
cat "$work/loads.txt"

/usr/bin/python3 - "$work" "$rounds" "$python" <<'PY'
import os, statistics, sys
work, rounds, python = sys.argv[1], int(sys.argv[2]), sys.argv[3] != "0"

def read(path):
    v = {}
    for line in open(path):
        parts = line.split()
        if len(parts) == 3:
            v[parts[0]] = float(parts[1])
    return v

runs = [read(f"{work}/round{r}.txt") for r in range(1, rounds + 1)]
rss = read(f"{work}/rss.txt") if os.path.exists(f"{work}/rss.txt") else None

def get(v, key):
    if key not in v:
        sys.exit(f"compare_pool.sh: metric {key} missing")
    return v[key]

def py_map_best(v):
    return max(get(v, "pool_map_tiny_chunk1"), get(v, "pool_map_tiny_chunk256"))

# (name, mproc value, reference value, what the reference is, target): functions of one round.
rows = [
    ("apply_async tiny (tasks/s)", lambda v: get(v, "mproc_pool_apply_async_tiny"),
     lambda v: get(v, "ref_pool_tiny"), "the minimal forked pool (pool_ref_bench.cpp)", ">= 0.5x"),
    ("apply_async floor, no IPC (tasks/s)", lambda v: get(v, "mproc_pool_floor_tiny"),
     lambda v: get(v, "ref_pool_tiny"), "the minimal pool: mproc's per-task work in one thread "
     "(mproc_pool_bench floor), the ceiling of the row above", ""),
    ("apply() round trip (us)", lambda v: get(v, "mproc_pool_apply_roundtrip"),
     lambda v: get(v, "raw_socketpair_roundtrip"),
     "raw socketpair ping-pong (one hop, 64 B)", "<= 1.5x"),
]
python_rows = [
    ("apply_async tiny vs Python (tasks/s)", lambda v: get(v, "mproc_pool_apply_async_tiny"),
     lambda v: get(v, "pool_apply_async_tiny"), "Python", ">= 100x"),
    ("map 200k tiny, default chunks (tasks/s)",
     lambda v: get(v, "mproc_pool_map_tiny_default_chunks"), py_map_best,
     "Python, best chunksize", ">= 10x"),
    ("map 200k tiny, chunksize 256 (tasks/s)", lambda v: get(v, "mproc_pool_map_tiny_chunk256"),
     lambda v: get(v, "pool_map_tiny_chunk256"), "Python, chunksize 256", ""),
    ("imap_unordered tiny chunk 64 (tasks/s)",
     lambda v: get(v, "mproc_pool_imap_unordered_tiny_chunk64"),
     lambda v: get(v, "pool_imap_unordered_tiny_chunk64"), "Python", ""),
    ("CPU speed-up on 2 workers (x)", lambda v: get(v, "mproc_pool_cpu_speedup"),
     lambda v: get(v, "pool_cpu_speedup"), "Python's speed-up", ">= 1.93x absolute, >= Python"),
]
if python:
    rows += python_rows

def spread(values):
    return f"{min(values):.3g}-{max(values):.3g}"

print(f"# {rounds} round(s); each ratio is taken within its round: median [lowest-highest round]")
print(f"{'metric':42} {'mproc':>10} {'reference':>10} {'ratio':>8} {'rounds':>14}  reference, target")
for name, ours, ref, what, target in rows:
    o = [ours(v) for v in runs]
    r = [ref(v) for v in runs]
    ratios = [a / b for a, b in zip(o, r)]
    print(f"{name:42} {statistics.median(o):10.4g} {statistics.median(r):10.4g} "
          f"{statistics.median(ratios):7.2f}x {spread(ratios):>14}  {what} {target}")
speedups = [get(v, "mproc_pool_cpu_speedup") for v in runs]
print(f"{'CPU speed-up, absolute (x)':42} {statistics.median(speedups):10.4g} {'':10} {'':8} "
      f"{spread(speedups):>14}  target >= 1.93")
if rss is not None:
    small = get(rss, "mproc_pool_imap_1000000_peak_rss")
    big = get(rss, "mproc_pool_imap_10000000_peak_rss")
    print(f"{'imap peak RSS, 10M vs 1M inputs (MB)':42} {big:10.4g} {small:10.4g} "
          f"{big / small:7.2f}x {'':14}  flat = 1.00x")
idle = [get(v, "mproc_pool_idle_worker_rss") for v in runs]
anon = [get(v, "mproc_pool_idle_worker_anon_shmem") for v in runs]
print(f"{'idle worker RSS (kB)':42} {statistics.median(idle):10.4g} {'':10} {'':8} {spread(idle):>14}")
print(f"{'idle worker anon+shmem RSS (kB)':42} {statistics.median(anon):10.4g} {'':10} {'':8} "
      f"{spread(anon):>14}  beyond the parent's: a few MiB at most")
PY
