#!/usr/bin/env bash
# Compares mproc::mpi::Pool with mpi4py.futures.MPIPoolExecutor (Debian python3-mpi4py) in one run,
# on the same layout: `mpirun -n 3`, rank 0 submitting, ranks 1 and 2 serving with one worker
# each (MPROC_MPI_PROCESSES=1, as mpi4py has one worker per rank); then mproc again with each
# serving rank's default (cpu_count workers), which mpi4py cannot do.
#
#   tests/bench/compare_mpi.sh [build-dir]      (default build dir: <repo>/build-release)
#   ROUNDS=3 tests/bench/compare_mpi.sh ...     (default 3 rounds)
#
# Each map figure is the best of 3 maps, and the CPU-bound job's serial and pool times are each the
# best of 3, alternated, on both sides (mpi_bench.cpp, mpi4py_bench.py).
# Targets (issue 10): tiny-task apply_async >= 20x mpi4py's submit; map of 200 000 tiny items
# >= 20x mpi4py's map at its best chunksize; the CPU-bound job's speed-up >= mpi4py's.
# PLACEMENT=same runs mpirun and every rank (and their workers) on CPU $SAME_CPU (default 1), with
# Open MPI's own binding off; split is not offered (three ranks and their workers on two CPUs).
set -euo pipefail

. "$(dirname "$0")/bench_env.sh"
build="${1:-$repo/build-release}"
rounds="${ROUNDS:-3}"
python=/usr/bin/python3
mpirun=(mpirun -n 3 --oversubscribe --mca btl self,vader,tcp --mca btl_tcp_if_include lo
  --mca oob_tcp_if_include lo)
if ((EUID == 0)); then mpirun+=(--allow-run-as-root); fi
case "${PLACEMENT:-any}" in
  any) pin=() ;;
  same)
    pin=(taskset -c "${SAME_CPU:-1}")
    mpirun+=(--bind-to none)
    ;;
  *)
    echo "$(basename "$0"): PLACEMENT must be any or same here (got ${PLACEMENT})" >&2
    exit 2
    ;;
esac
mpirun=("${pin[@]}" "${mpirun[@]}")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
build_bench "$build" mproc_mpi_bench
bench="$build/tests/bench/mproc_mpi_bench"

echo "# placement: ${PLACEMENT:-any}; load before: $(cat /proc/loadavg)" >&2
for ((round = 1; round <= rounds; round++)); do
  echo "# round $round/$rounds: mpi4py.futures" >&2
  "${mpirun[@]}" "$python" -m mpi4py.futures "$(dirname "$0")/mpi4py_bench.py" 60000 \
    >"$work/round$round.txt"
  echo "# round $round/$rounds: mproc_mpi_bench, 1 worker per serving rank" >&2
  "${mpirun[@]}" -x MPROC_MPI_PROCESSES=1 "$bench" 400000 >>"$work/round$round.txt"
  echo "# round $round/$rounds: mproc_mpi_bench, cpu_count workers per serving rank" >&2
  "${mpirun[@]}" "$bench" 400000 | sed 's/^mpi_/mpiall_/' >>"$work/round$round.txt"
done
echo "# load after: $(cat /proc/loadavg)" >&2

"$python" - "$work" "$rounds" <<'PY'
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
rows = []
def ratio(label, f, target):
    values = sorted(f(v) for v in runs)
    rows.append((label, statistics.median(values), values[0], values[-1], target))

best_map = lambda v: max(x for k, x in v.items() if k.startswith("mpi4py_map_tiny_chunk"))
ratio("apply_async tiny / mpi4py submit (1 worker/rank)",
      lambda v: v["mpi_apply_async_tiny"] / v["mpi4py_submit_tiny"], ">= 20x")
ratio("map 200k tiny / mpi4py best chunksize (1 worker/rank)",
      lambda v: v["mpi_map_tiny_chunk0"] / best_map(v), ">= 20x")
best_ours = lambda v, p="mpi_": max(x for k, x in v.items() if k.startswith(p + "map_tiny_chunk"))
ratio("map 200k tiny, best chunksize of each (1 worker/rank)",
      lambda v: best_ours(v) / best_map(v), "")
ratio("CPU speed-up, mproc (1 worker/rank)", lambda v: v["mpi_cpu_speedup"], "")
ratio("CPU speed-up, mpi4py", lambda v: v["mpi4py_cpu_speedup"], "")
ratio("CPU speed-up mproc / mpi4py (1 worker/rank)",
      lambda v: v["mpi_cpu_speedup"] / v["mpi4py_cpu_speedup"], ">= 1x")
ratio("apply_async tiny / mpi4py (cpu_count workers/rank)",
      lambda v: v["mpiall_apply_async_tiny"] / v["mpi4py_submit_tiny"], "")
ratio("map 200k tiny / mpi4py best (cpu_count workers/rank)",
      lambda v: v["mpiall_map_tiny_chunk0"] / best_map(v), "")
ratio("CPU speed-up, mproc (cpu_count workers/rank)", lambda v: v["mpiall_cpu_speedup"], "")

print("\nraw figures, round 1:")
for k, x in sorted(runs[0].items()):
    print(f"  {k:36s} {x:14.3f}")
print(f"\n{'ratio':58s} {'median':>9s} {'min':>9s} {'max':>9s}  target")
for label, med, lo, hi, target in rows:
    print(f"{label:58s} {med:9.2f} {lo:9.2f} {hi:9.2f}  {target}")
PY
