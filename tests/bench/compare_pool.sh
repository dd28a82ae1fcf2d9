#!/usr/bin/env bash
# Compares mproc's Pool with Python's multiprocessing.Pool (fork) and with the raw socketpair
# ping-pong, side by side on one machine (absolute figures on shared machines drift by 2x between
# runs, and even between two processes started a second apart, as the host places the vCPUs and
# the kernel places the threads; ratios of figures measured together drift much less).
#
#   tests/bench/compare_pool.sh [build-dir]      (default build dir: <repo>/build-release)
#   ROUNDS=5 tests/bench/compare_pool.sh ...     (default 3 rounds)
#
# Builds mproc_pool_bench in Release, builds raw_ipc_bench from <repo>/../shared/bench (or
# $MPROC_SHARED_BENCH), then runs ROUNDS rounds, each one `py_mp_bench.py --only pool,cpu`,
# `raw_ipc_bench pingpong` and mproc_pool_bench right after one another; then mproc_pool_bench
# rss 1000000 / 10000000 (each in a fresh process). Every ratio is computed within its round; the
# table gives the median over the rounds and the lowest and highest round. Targets: apply_async
# tiny >= 100x Python; map tiny >= 10x Python's best chunksize; CPU speed-up on 2 workers >= 1.93x
# and >= Python's; imap memory flat (10M vs 1M inputs).
# PLACEMENT=same runs both sides on one CPU, PLACEMENT=split each on its own (bench_env.sh).
set -euo pipefail

. "$(dirname "$0")/bench_env.sh"
build="${1:-$repo/build-release}"
rounds="${ROUNDS:-3}"
shared=$(find_shared_bench) || exit 2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

build_bench "$build" mproc_pool_bench
build_raw_ipc_bench "$shared" "$work/raw_ipc_bench"

bench="$build/tests/bench/mproc_pool_bench"
for ((round = 1; round <= rounds; round++)); do
  echo "# round $round/$rounds: py_mp_bench.py --only pool,cpu" >&2
  placed python3 "$shared/py_mp_bench.py" --only pool,cpu >"$work/round$round.txt" 2>>"$work/samples.txt"
  echo "# round $round/$rounds: raw_ipc_bench pingpong" >&2
  placed_raw_pingpong "$work/raw_ipc_bench" >>"$work/round$round.txt" 2>>"$work/samples.txt"
  echo "# round $round/$rounds: mproc_pool_bench" >&2
  placed "$bench" >>"$work/round$round.txt" 2>>"$work/samples.txt"
done
for n in 1000000 10000000; do
  echo "# mproc_pool_bench rss $n" >&2
  placed "$bench" rss "$n" >>"$work/rss.txt" 2>>"$work/samples.txt"
done
cat "$work/samples.txt" >&2

python3 - "$work" "$rounds" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])

def read(path):
    v = {}
    for line in open(path):
        parts = line.split()
        if len(parts) == 3:
            v[parts[0]] = float(parts[1])
    return v

runs = [read(f"{work}/round{r}.txt") for r in range(1, rounds + 1)]
rss = read(f"{work}/rss.txt")

def get(v, key):
    if key not in v:
        sys.exit(f"compare_pool.sh: metric {key} missing")
    return v[key]

def py_map_best(v):
    return max(get(v, "pool_map_tiny_chunk1"), get(v, "pool_map_tiny_chunk256"))

# (name, mproc value, reference value, what the reference is, target): functions of one round.
rows = [
    ("apply_async tiny (tasks/s)", lambda v: get(v, "mproc_pool_apply_async_tiny"),
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
    ("apply() round trip (us)", lambda v: get(v, "mproc_pool_apply_roundtrip"),
     lambda v: get(v, "raw_socketpair_roundtrip"),
     "raw socketpair ping-pong (one hop; apply is two: parent->dispatcher->worker)", "report"),
]

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
small = get(rss, "mproc_pool_imap_1000000_peak_rss")
big = get(rss, "mproc_pool_imap_10000000_peak_rss")
print(f"{'imap peak RSS, 10M vs 1M inputs (MB)':42} {big:10.4g} {small:10.4g} {big / small:7.2f}x "
      f"{'':14}  flat = 1.00x")
idle = [get(v, "mproc_pool_idle_worker_rss") for v in runs]
anon = [get(v, "mproc_pool_idle_worker_anon_shmem") for v in runs]
print(f"{'idle worker RSS (kB)':42} {statistics.median(idle):10.4g} {'':10} {'':8} {spread(idle):>14}")
print(f"{'idle worker anon+shmem RSS (kB)':42} {statistics.median(anon):10.4g} {'':10} {'':8} "
      f"{spread(anon):>14}  beyond the parent's: a few MiB at most")
PY
