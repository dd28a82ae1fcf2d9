#!/usr/bin/env bash
# Compares mproc's Pool with Python's multiprocessing.Pool (fork) and with the raw socketpair
# ping-pong, in ONE run on one machine (absolute figures on shared machines drift by 2x between
# runs; ratios measured side by side do not).
#
#   tests/bench/compare_pool.sh [build-dir]      (default build dir: <repo>/build-bench)
#
# Builds mproc_pool_bench in Release, builds raw_ipc_bench from <repo>/../shared/bench (or
# $MPROC_SHARED_BENCH), runs `py_mp_bench.py --only pool,cpu`, `raw_ipc_bench pingpong`,
# mproc_pool_bench, and mproc_pool_bench rss 1000000 / 10000000 (each in a fresh process), then
# prints a table of ratios. Targets: apply_async tiny >= 100x Python; map tiny >= 10x Python's best
# chunksize; CPU speed-up on 2 workers >= 1.93x and >= Python's; imap memory flat (10M vs 1M).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$repo/build-bench}"
shared="${MPROC_SHARED_BENCH:-}"
if [[ -z "$shared" ]]; then
  for candidate in "$repo/../shared/bench" "$repo/../../shared/bench"; do
    if [[ -f "$candidate/raw_ipc_bench.cpp" ]]; then shared="$candidate"; break; fi
  done
fi
if [[ -z "$shared" || ! -f "$shared/raw_ipc_bench.cpp" ]]; then
  echo "compare_pool.sh: raw_ipc_bench.cpp not found in ../shared/bench; set MPROC_SHARED_BENCH" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "# building mproc_pool_bench (Release) in $build" >&2
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMPROC_BUILD_BENCHMARKS=ON \
  -DMPROC_BUILD_TESTS=ON -DMPROC_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target mproc_pool_bench >/dev/null
echo "# building raw_ipc_bench from $shared" >&2
g++ -O2 -std=c++17 -pthread "$shared/raw_ipc_bench.cpp" -o "$work/raw_ipc_bench" -lrt

bench="$build/tests/bench/mproc_pool_bench"
echo "# raw_ipc_bench pingpong" >&2
"$work/raw_ipc_bench" pingpong >"$work/raw.txt" 2>>"$work/samples.txt"
echo "# py_mp_bench.py --only pool,cpu" >&2
python3 "$shared/py_mp_bench.py" --only pool,cpu >"$work/py.txt" 2>>"$work/samples.txt"
echo "# mproc_pool_bench" >&2
"$bench" >"$work/mproc.txt" 2>>"$work/samples.txt"
for n in 1000000 10000000; do
  echo "# mproc_pool_bench rss $n" >&2
  "$bench" rss "$n" >>"$work/mproc.txt" 2>>"$work/samples.txt"
done
cat "$work/samples.txt" >&2

python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
v = {}
for name in ("raw", "py", "mproc"):
    for line in open(f"{work}/{name}.txt"):
        parts = line.split()
        if len(parts) == 3:
            v[parts[0]] = float(parts[1])

def get(key):
    if key not in v:
        sys.exit(f"compare_pool.sh: metric {key} missing")
    return v[key]

py_map_best = max(get("pool_map_tiny_chunk1"), get("pool_map_tiny_chunk256"))
rows = [
    ("apply_async tiny (tasks/s)", get("mproc_pool_apply_async_tiny"),
     get("pool_apply_async_tiny"), "vs Python", ">= 100x"),
    ("map 200k tiny, default chunks (tasks/s)", get("mproc_pool_map_tiny_default_chunks"),
     py_map_best, "vs Python best chunksize", ">= 10x"),
    ("map 200k tiny, chunksize 256 (tasks/s)", get("mproc_pool_map_tiny_chunk256"),
     get("pool_map_tiny_chunk256"), "vs Python chunksize 256", ""),
    ("imap_unordered tiny chunk 64 (tasks/s)", get("mproc_pool_imap_unordered_tiny_chunk64"),
     get("pool_imap_unordered_tiny_chunk64"), "vs Python", ""),
    ("CPU speed-up on 2 workers (x)", get("mproc_pool_cpu_speedup"),
     get("pool_cpu_speedup"), "vs Python's speed-up", ">= 1.93x absolute, >= Python"),
]
print(f"{'metric':44} {'mproc':>12} {'reference':>12} {'ratio':>8}  reference / target")
for name, ours, ref, what, target in rows:
    print(f"{name:44} {ours:12.4g} {ref:12.4g} {ours / ref:7.2f}x  {what} {target}")
rt = get("mproc_pool_apply_roundtrip")
raw = get("raw_socketpair_roundtrip")
print(f"{'apply() round trip (us)':44} {rt:12.4g} {raw:12.4g} {rt / raw:7.2f}x  "
      "vs raw socketpair ping-pong (one hop; apply is two: parent->dispatcher->worker)")
small = get("mproc_pool_imap_1000000_peak_rss")
big = get("mproc_pool_imap_10000000_peak_rss")
print(f"{'imap peak RSS, 10M vs 1M inputs (MB)':44} {big:12.4g} {small:12.4g} {big / small:7.2f}x  "
      "flat = 1.00x")
print(f"{'idle worker RSS (kB)':44} {get('mproc_pool_idle_worker_rss'):12.4g}")
print(f"{'idle worker anon+shmem RSS (kB)':44} {get('mproc_pool_idle_worker_anon_shmem'):12.4g}")
PY
