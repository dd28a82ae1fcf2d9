#!/usr/bin/env python3
"""Python's multiprocessing against the mproc Python package, the same workloads in one run.

The workloads are ../shared/bench/py_mp_bench.py's own functions, run twice, each side in a fresh
interpreter: once with its `FORK` context (multiprocessing, fork start method), once with `FORK`
replaced by the `mproc` module (`import mproc as multiprocessing`). Groups: pool, queue, pipe,
manager_dict; plus Pool.map with the default chunksize on both sides (Python's best of its
chunksizes is the peer of mproc's map). Prints every metric of both sides and the ratios that the
issue's targets name.

Usage: compare_python.py [--reps N] [--quick]   (MPROC_LIBRARY: the library to load; PYTHONPATH:
capi/python; MPROC_SHARED_BENCH: the reference benchmarks' directory)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GROUPS = ["pool", "queue", "pipe", "manager_dict"]


def shared_bench_dir():
    for candidate in (os.environ.get("MPROC_SHARED_BENCH"),
                      os.path.join(HERE, "..", "..", "..", "shared", "bench"),
                      os.path.join(HERE, "..", "..", "..", "..", "shared", "bench")):
        if candidate and os.path.isfile(os.path.join(candidate, "py_mp_bench.py")):
            return os.path.abspath(candidate)
    sys.exit("py_mp_bench.py not found in ../shared/bench: set MPROC_SHARED_BENCH")


def square(x):
    return x + 1


def cpu_seconds(pids):
    """User + system CPU time of the processes (their /proc stat; clock ticks: coarse, 10 ms)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def run_side(side, group, reps, quick):
    """In a fresh interpreter: one group on one side; prints {metric: median} as JSON."""
    sys.path.insert(0, shared_bench_dir())
    import py_mp_bench as bench
    bench.QUICK = quick
    results = {}

    def emit(name, samples, unit):
        results[name] = (statistics.median(samples), unit)
        print(f"# {side} {name} samples={' '.join(f'{s:.4g}' for s in samples)} {unit}",
              file=sys.stderr, flush=True)

    bench.emit = emit
    if side == "mproc":
        import mproc
        bench.FORK = mproc
    getattr(bench, "bench_" + group)(reps)
    if group == "pool":  # the map's default chunksize, on both sides
        n = bench.N(200000)
        with bench.FORK.Pool(2) as pool:
            pool.map(bench.f, range(8))
            workers = pool.worker_pids() if side == "mproc" else [w.pid for w in pool._pool]
            samples, cpu = [], []
            for _ in range(reps):
                c0 = time.process_time() + cpu_seconds(workers)
                t0 = time.perf_counter()
                out = pool.map(bench.f, range(n))
                samples.append(n / (time.perf_counter() - t0))
                cpu.append((time.process_time() + cpu_seconds(workers) - c0) * 1e3)
                assert out[-1] == n
        emit("pool_map_tiny_default_chunks", samples, "tasks/s")
        # CPU time (the caller's threads and the workers) moves far less with the load than the
        # wall time does: what the map costs, rather than how it was scheduled.
        emit("pool_map_tiny_default_chunks_cpu", cpu, "ms")
    print(json.dumps(results))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--groups", default=",".join(GROUPS),
                    help="comma-separated subset of " + ",".join(GROUPS))
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--group", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.side:
        return run_side(a.side, a.group, a.reps, a.quick)
    values = {"python": {}, "mproc": {}}
    groups = a.groups.split(",")
    for group in groups:  # each group: Python, then mproc, seconds apart
        for side in ("python", "mproc"):
            cmd = [sys.executable, os.path.abspath(__file__), "--side", side, "--group", group,
                   "--reps", str(a.reps)] + (["--quick"] if a.quick else [])
            out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout.decode()
            values[side].update(json.loads(out.strip().splitlines()[-1]))
    py, mp = values["python"], values["mproc"]
    print(f"{'metric':42} {'python':>14} {'mproc':>14}  unit")
    for name in sorted(py):
        print(f"{name:42} {py[name][0]:14.4g} {mp.get(name, (float('nan'),))[0]:14.4g}  "
              f"{py[name][1]}")

    def ratio(label, ours, theirs, target, higher_is_better=True):
        if ours is None or theirs is None:
            return
        r = ours / theirs if higher_is_better else theirs / ours
        verdict = "met" if r >= target else "MISSED"
        print(f"{label:58} {r:8.2f}x  (target >= {target}x: {verdict})")

    print()

    def v(side, name):  # None when its group was not run
        return side.get(name, (None,))[0]

    best_python_map = max((py[k][0] for k in py if k.startswith("pool_map_tiny")), default=None)
    ratio("Queue put/get of small objects (queue_small_msgs)",
          v(mp, "queue_small_msgs"), v(py, "queue_small_msgs"), 2)
    ratio("Manager dict set/get (manager_dict_ops)",
          v(mp, "manager_dict_ops"), v(py, "manager_dict_ops"), 20)
    ratio("Pool apply_async of a tiny function (pool_apply_async_tiny)",
          v(mp, "pool_apply_async_tiny"), v(py, "pool_apply_async_tiny"), 3)
    ratio("Pool map of 200 000 tiny items vs Python's best chunksize",
          v(mp, "pool_map_tiny_default_chunks"), best_python_map, 2)
    ratio("Pool map of 200 000 tiny items, CPU time (default chunks)",
          v(mp, "pool_map_tiny_default_chunks_cpu"), v(py, "pool_map_tiny_default_chunks_cpu"),
          1, higher_is_better=False)
    ratio("Pipe round trip of a small object (pipe_roundtrip_pickled)",
          v(mp, "pipe_roundtrip_pickled"), v(py, "pipe_roundtrip_pickled"), 1,
          higher_is_better=False)
    ratio("Pipe round trip of 64 bytes (pipe_roundtrip)",
          v(mp, "pipe_roundtrip"), v(py, "pipe_roundtrip"), 1, higher_is_better=False)
    ratio("Pipe 1 MiB throughput", v(mp, "pipe_1MiB_throughput"),
          v(py, "pipe_1MiB_throughput"), 1)
    ratio("Queue 64 KiB messages", v(mp, "queue_64KiB"), v(py, "queue_64KiB"), 1)
    ratio("Pool imap_unordered, chunks of 64", v(mp, "pool_imap_unordered_tiny_chunk64"),
          v(py, "pool_imap_unordered_tiny_chunk64"), 1)


if __name__ == "__main__":
    main()
