#!/usr/bin/env bash
# Compares mproc's Process start + join (through the C ABI) with a raw fork + waitpid and with
# Python's multiprocessing.Process, in one run on one machine (absolute figures on shared machines
# drift by 2x between runs; ratios measured side by side do not).
#
#   tests/bench/compare_process.sh [build-dir]      (default build dir: <repo>/build-release)
#
# Builds mproc_process_bench in Release, then runs it $ROUNDS times (default 3) alternating with
# Python's `py_mp_bench.py --only process` (fork, forkserver and spawn start + join of a no-op
# target). Inside each mproc round the raw and the mproc loops alternate too. Medians of the
# rounds are used. Target: mproc start + join <= 1.2x the raw fork + waitpid (the paired ratio:
# both loops of one repetition, back to back; the CPU-time ratio beside it ignores the load). The forkserver
# figure of mproc is a one-worker forkserver pool created and destroyed (mproc starts no single
# Process through the forkserver), with the fork pool beside it.
# Environment: MPROC_SHARED_BENCH overrides the peers' directory (default: <repo>/../shared/bench).
# PLACEMENT=same runs both sides on one CPU, PLACEMENT=split each on its own (bench_env.sh).
set -euo pipefail

. "$(dirname "$0")/bench_env.sh"
build="${1:-$repo/build-release}"
rounds="${ROUNDS:-3}"
shared=$(find_shared_bench) || exit 2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

build_bench "$build" mproc_process_bench

for ((round = 1; round <= rounds; round++)); do
  echo "# round $round/$rounds: mproc_process_bench" >&2
  placed "$build/tests/bench/mproc_process_bench" >>"$work/mproc.txt" 2>>"$work/samples.txt"
  echo "# round $round/$rounds: py_mp_bench.py --only process" >&2
  placed python3 "$shared/py_mp_bench.py" --only process --reps 2 >>"$work/py.txt" \
    2>>"$work/samples.txt"
done
grep -h '^# ' "$work/samples.txt" >&2 || true

python3 - "$work" "$rounds" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], sys.argv[2]
values = {}
for name in ("mproc", "py"):
    for line in open(f"{work}/{name}.txt"):
        parts = line.split()
        if len(parts) == 3:
            scale = 1000.0 if parts[2] == "ms" else 1.0  # Python reports ms, mproc us
            values.setdefault(parts[0], []).append(float(parts[1]) * scale)
v = {k: statistics.median(s) for k, s in values.items()}

def get(key):
    if key not in v:
        sys.exit(f"compare_process.sh: metric {key} missing from the benchmark output")
    return v[key]

raw = get("raw_fork_waitpid")
rows = [
    ("raw fork + waitpid", raw),
    ("mproc Process start + join (C ABI)", get("mproc_process_start_join")),
    ("python Process start + join (fork)", get("process_start_join_fork")),
    ("python Process start + join (forkserver)", get("process_start_join_forkserver")),
    ("python Process start + join (spawn)", get("process_start_join_spawn")),
    ("mproc 1-worker fork pool create + destroy", get("mproc_pool1_fork_create_destroy")),
    ("mproc 1-worker forkserver pool create + destroy", get("mproc_pool1_forkserver_create_destroy")),
]
print(f"# medians over {rounds} round(s), all in one run")
print(f"{'metric':48} {'us':>10} {'vs raw fork':>12}")
for name, value in rows:
    print(f"{name:48} {value:>10.4g} {value / raw:>11.2f}x")
ratio = get("mproc_process_start_join_vs_raw")
print(f"{'mproc / raw, median of the paired repetitions':48} {'':>10} {ratio:>11.2f}x")
# CPU time (this process plus its reaped children) does not count waiting for a CPU, so on a
# loaded machine it shows the work a start costs where the wall time mostly shows the load.
raw_cpu = get("raw_fork_waitpid_cpu")
print(f"{'raw fork + waitpid, CPU time':48} {raw_cpu:>10.4g} {1:>11.2f}x")
print(f"{'mproc Process start + join, CPU time':48} {get('mproc_process_start_join_cpu'):>10.4g} "
      f"{get('mproc_process_start_join_cpu_vs_raw'):>11.2f}x (paired)")
# Minor page faults per start: after each fork every page a side writes first costs it a fault.
print(f"{'minor faults per start, parent / child: raw':48} {get('raw_fork_waitpid_faults_parent'):>5.1f} / "
      f"{get('raw_fork_waitpid_faults_child'):.1f}")
print(f"{'minor faults per start, parent / child: mproc':48} "
      f"{get('mproc_process_start_join_faults_parent'):>5.1f} / {get('mproc_process_start_join_faults_child'):.1f}")
print(f"target start + join <= 1.2x raw fork + waitpid: {ratio:.2f}x {'ok' if ratio <= 1.2 else 'MISSED'}")
print(f"mproc vs python fork start: {get('process_start_join_fork') / get('mproc_process_start_join'):.1f}x faster")
PY
