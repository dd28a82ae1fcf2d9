#!/usr/bin/env bash
# Compares mproc's pipe with the raw socketpair and with Python's multiprocessing.Pipe, in one run
# on one machine (absolute figures on shared machines drift by 2x between runs; ratios measured
# side by side do not).
#
#   tests/bench/compare_pipe.sh [build-dir]      (default build dir: <repo>/build-release)
#
# Builds mproc's benchmark in Release, builds the reference raw_ipc_bench from
# <repo>/../shared/bench (or $MPROC_SHARED_BENCH), runs raw_ipc_bench (pingpong, stream),
# py_mp_bench.py --only pipe and mproc_pipe_bench, and prints a table of ratios. The raw and mproc
# benchmarks are run $ROUNDS times (default 2), alternating, and the median of the rounds is
# used. Targets: 64-byte round trip <= 1.2x the raw socketpair; 1 MiB throughput >= 0.8x.
# mproc_pipe_bench also runs its own raw socketpair ping-pong alternating with mproc's, pair by
# pair (`paired`), pinned by itself in both placements in turn (same CPU, then one CPU each:
# PAIRED_PLACEMENT=same|split|both, default both); the medians over rounds of each pair's ratio,
# in wall time and in CPU time (which load does not move), are printed per placement: this is the
# judged figure (issue 17: <= 1.2x in both placements).
# PLACEMENT=same runs both sides of the other benchmarks on one CPU, PLACEMENT=split each on its
# own (bench_env.sh).
set -euo pipefail

. "$(dirname "$0")/bench_env.sh"
build="${1:-$repo/build-release}"
rounds="${ROUNDS:-2}"
shared=$(find_shared_bench) || exit 2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
setup_placement "$work" || exit 2

build_bench "$build" mproc_pipe_bench
build_raw_ipc_bench "$shared" "$work/raw_ipc_bench"

for ((round = 1; round <= rounds; round++)); do
  echo "# round $round/$rounds: raw_ipc_bench pingpong stream" >&2
  placed_raw_pingpong "$work/raw_ipc_bench" >>"$work/raw.txt" 2>>"$work/samples.txt"
  placed "$work/raw_ipc_bench" stream >>"$work/raw.txt" 2>>"$work/samples.txt"
  echo "# round $round/$rounds: mproc_pipe_bench" >&2
  placed "$build/tests/bench/mproc_pipe_bench" pingpong stream >>"$work/mproc.txt" \
    2>>"$work/samples.txt"
  echo "# round $round/$rounds: mproc_pipe_bench paired --placement ${PAIRED_PLACEMENT:-both}" >&2
  "$build/tests/bench/mproc_pipe_bench" paired --placement "${PAIRED_PLACEMENT:-both}" \
    >>"$work/mproc.txt" 2>>"$work/samples.txt"
done
echo "# py_mp_bench.py --only pipe" >&2
placed python3 "$shared/py_mp_bench.py" --only pipe >"$work/py.txt" 2>>"$work/samples.txt"

python3 - "$work" "$rounds" <<'EOF'
import statistics, sys
work, rounds = sys.argv[1], sys.argv[2]
values = {}
for name in ("raw", "mproc", "py"):
    for line in open(f"{work}/{name}.txt"):
        parts = line.split()
        if len(parts) == 3:
            values.setdefault(parts[0], []).append(float(parts[1]))
v = {k: statistics.median(s) for k, s in values.items()}

def get(key):
    if key not in v:
        sys.exit(f"compare_pipe.sh: metric {key} missing from the benchmark output")
    return v[key]

rt_raw, rt_pipe = get("raw_socketpair_roundtrip"), get("raw_pipe_roundtrip")
rt_mproc, rt_py = get("mproc_pipe_roundtrip"), get("pipe_roundtrip")
rt_mproc_str, rt_value = get("mproc_pipe_roundtrip_recv_bytes"), get("mproc_pipe_roundtrip_value")
tp_raw, tp_pipe = get("raw_socketpair_1MiB_throughput"), get("raw_pipe_1MiB_throughput")
tp_mproc, tp_py = get("mproc_pipe_1MiB_throughput"), get("pipe_1MiB_throughput")
tp_mproc_str = get("mproc_pipe_1MiB_throughput_recv_bytes")

print(f"# medians over {rounds} round(s) for raw and mproc, 1 for Python")
print(f"{'metric':44} {'value':>10} {'unit':5} {'vs raw socketpair':>18}")
rows = [
    ("raw socketpair 64 B round trip", rt_raw, "us", rt_raw / rt_raw),
    ("raw pipe 64 B round trip", rt_pipe, "us", rt_pipe / rt_raw),
    ("mproc pipe 64 B round trip (recv_bytes_into)", rt_mproc, "us", rt_mproc / rt_raw),
    ("mproc pipe 64 B round trip (recv_bytes)", rt_mproc_str, "us", rt_mproc_str / rt_raw),
    ("mproc pipe int64 round trip (send/recv<T>)", rt_value, "us", rt_value / rt_raw),
    ("python Pipe 64 B round trip", rt_py, "us", rt_py / rt_raw),
    ("raw socketpair 1 MiB throughput", tp_raw, "MB/s", tp_raw / tp_raw),
    ("raw pipe 1 MiB throughput", tp_pipe, "MB/s", tp_pipe / tp_raw),
    ("mproc pipe 1 MiB (recv_bytes_into)", tp_mproc, "MB/s", tp_mproc / tp_raw),
    ("mproc pipe 1 MiB (recv_bytes)", tp_mproc_str, "MB/s", tp_mproc_str / tp_raw),
    ("python Pipe 1 MiB throughput", tp_py, "MB/s", tp_py / tp_raw),
]
for name, value, unit, ratio in rows:
    print(f"{name:44} {value:>10.4g} {unit:5} {ratio:>17.2f}x")
ok_rt = rt_mproc / rt_raw <= 1.2
ok_tp = tp_mproc / tp_raw >= 0.8
print(f"target round trip <= 1.2x raw socketpair (separate programs): {rt_mproc / rt_raw:.2f}x {'ok' if ok_rt else 'MISSED'}")
for place in ("same", "split"):
    key = f"paired_mproc_pipe_roundtrip_vs_raw_{place}"
    if key not in values:
        continue
    wall, cpu = get(key), get(f"paired_mproc_pipe_roundtrip_cpu_vs_raw_{place}")
    print(f"paired in one program, {place:5} CPU: mproc {get('paired_mproc_pipe_roundtrip_' + place):.3g} us / raw "
          f"{get('paired_raw_socketpair_roundtrip_' + place):.3g} us = {wall:.2f}x wall "
          f"(rounds {', '.join(f'{x:.2f}' for x in values[key])}), {cpu:.2f}x CPU; "
          f"target <= 1.2x: {'ok' if wall <= 1.2 else 'MISSED'}")
print(f"target 1 MiB throughput >= 0.8x raw socketpair: {tp_mproc / tp_raw:.2f}x {'ok' if ok_tp else 'MISSED'}")
print(f"mproc vs python: round trip {rt_py / rt_mproc:.1f}x faster, 1 MiB throughput {tp_mproc / tp_py:.1f}x higher")
EOF
