#!/usr/bin/env python3
"""Python's multiprocessing against the mproc Python package, the same workloads in one run.

The workloads are ../shared/bench/py_mp_bench.py's own functions, run twice, each side in a fresh
interpreter: once with its `FORK` context (multiprocessing, fork start method), once with `FORK`
replaced by the `mproc` module (`import mproc as multiprocessing`). Groups: pool, queue, pipe,
manager_dict; plus Pool.map with the default chunksize on both sides (Python's best of its
chunksizes is the peer of mproc's map). Prints every metric of both sides and the ratios that the
issue's targets name. The pipe group adds the small-object round trip's CPU time (both
processes' schedstat), which the load moves far less than the wall time.

Rounds (--rounds R, default 1): each round runs every group on both sides, Python first in odd
rounds and mproc first in even ones, so that a change of the machine's load falls on both; every
figure printed is the median of its R round values (each one the median of --reps repetitions),
and the ratios are the medians of the R per-round ratios, with their range.

Placement (--placement, or PLACEMENT in the environment, as the other compare scripts): any (the
scheduler's choice), same (`taskset -c 1` for both sides: the parent and every process it forks
share one CPU) or split (the parent on CPU 1, every process it forks on CPU 0, through
placement_preload.c, which compare_python.sh builds and names in MPROC_BENCH_PRELOAD).

Usage: compare_python.py [--reps N] [--rounds R] [--quick] [--groups g,...] [--placement P]
(MPROC_LIBRARY: the library to load; PYTHONPATH: capi/python; MPROC_SHARED_BENCH: the reference
benchmarks' directory; MPROC_BENCH_PRELOAD: placement_preload.so, for --placement split)
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


def run_ns(pid):
    """The CPU time of process pid's main thread, in nanoseconds (its schedstat: exact)."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


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
    if group == "pipe":  # the small-object round trip's CPU time, both processes
        n = bench.N(20000)
        samples = []
        for _ in range(reps):
            a, b = bench.FORK.Pipe()
            p = bench.FORK.Process(target=bench._pipe_echo_obj, args=(b, n + 1000))
            p.start()
            msg = b"x" * 64
            for _ in range(1000):
                a.send(msg)
                a.recv()
            c0 = run_ns(os.getpid()) + run_ns(p.pid)
            for _ in range(n):
                a.send(msg)
                a.recv()
            samples.append((run_ns(os.getpid()) + run_ns(p.pid) - c0) / n / 1e3)
            p.join()
        # CPU time moves far less with the load than wall time does (see the map's).
        emit("pipe_roundtrip_pickled_cpu", samples, "us")
    print(json.dumps(results))


def placement_command(placement):
    """The prefix that runs one side with the placement, and the environment it needs."""
    env = dict(os.environ)
    if placement == "any":
        return [], env
    if placement == "same":
        return ["taskset", "-c", os.environ.get("SAME_CPU", "1")], env
    preload = os.environ.get("MPROC_BENCH_PRELOAD")
    if not preload or not os.path.isfile(preload):
        sys.exit("--placement split needs MPROC_BENCH_PRELOAD=<placement_preload.so> "
                 "(compare_python.sh builds it)")
    env["LD_PRELOAD"] = preload + (":" + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    env["MPROC_BENCH_CHILD_CPU"] = os.environ.get("CHILD_CPU", "0")
    return ["taskset", "-c", os.environ.get("PARENT_CPU", "1")], env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--groups", default=",".join(GROUPS),
                    help="comma-separated subset of " + ",".join(GROUPS))
    ap.add_argument("--placement", choices=("any", "same", "split"),
                    default=os.environ.get("PLACEMENT", "any") or "any")
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--group", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.side:
        return run_side(a.side, a.group, a.reps, a.quick)
    prefix, env = placement_command(a.placement)
    groups = a.groups.split(",")
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    print(f"# placement {a.placement}, {a.rounds} round(s) of {a.reps} repetition(s), groups "
          f"{','.join(groups)}; load average {' '.join(load_before)} at the start", flush=True)
    rounds = []
    for r in range(a.rounds):
        values = {"python": {}, "mproc": {}}
        order = ("python", "mproc") if r % 2 == 0 else ("mproc", "python")
        for group in groups:  # each group: both sides, seconds apart
            for side in order:
                cmd = prefix + [sys.executable, os.path.abspath(__file__), "--side", side,
                                "--group", group, "--reps", str(a.reps)] + \
                    (["--quick"] if a.quick else [])
                out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, env=env)
                values[side].update(json.loads(out.stdout.decode().strip().splitlines()[-1]))
        rounds.append(values)
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]

    def median_of(side, name):
        got = [rv[side][name][0] for rv in rounds if name in rv[side]]
        return statistics.median(got) if got else None

    py0 = rounds[0]["python"]
    print(f"{'metric':42} {'python':>14} {'mproc':>14}  unit   (medians of {a.rounds} round(s))")
    for name in sorted(py0):
        mp = median_of("mproc", name)
        print(f"{name:42} {median_of('python', name):14.4g} "
              f"{mp if mp is not None else float('nan'):14.4g}  {py0[name][1]}")

    def ratio(label, ours, theirs, target, higher_is_better=True):
        """ours/theirs: functions of one round's values giving the figure (None: not run)."""
        per_round = []
        for rv in rounds:
            o, t = ours(rv["mproc"]), theirs(rv["python"])
            if o is None or t is None:
                return
            per_round.append(o / t if higher_is_better else t / o)
        r = statistics.median(per_round)
        verdict = "" if target is None else \
            f"  (target >= {target}x: {'met' if r >= target else 'MISSED'})"
        spread = f" [{min(per_round):.2f}-{max(per_round):.2f}]" if len(per_round) > 1 else ""
        print(f"{label:58} {r:8.2f}x{spread}{verdict}")

    print()

    def v(name):  # one round's figure; None when its group was not run
        return lambda side: side.get(name, (None,))[0]

    def best_python_map(side):
        return max((side[k][0] for k in side if k.startswith("pool_map_tiny") and
                    not k.endswith("_cpu")), default=None)

    ratio("Queue put/get of small objects (queue_small_msgs)",
          v("queue_small_msgs"), v("queue_small_msgs"), 2)
    ratio("Manager dict set/get (manager_dict_ops)", v("manager_dict_ops"),
          v("manager_dict_ops"), 20)
    ratio("Pool apply_async of a tiny function (pool_apply_async_tiny)",
          v("pool_apply_async_tiny"), v("pool_apply_async_tiny"), 3)
    ratio("Pool map of 200 000 tiny items vs Python's best chunksize",
          v("pool_map_tiny_default_chunks"), best_python_map, 2)
    ratio("Pool map of 200 000 tiny items, CPU time (default chunks)",
          v("pool_map_tiny_default_chunks_cpu"), v("pool_map_tiny_default_chunks_cpu"),
          None, higher_is_better=False)
    ratio("Pipe round trip of a small object (pipe_roundtrip_pickled)",
          v("pipe_roundtrip_pickled"), v("pipe_roundtrip_pickled"), 1, higher_is_better=False)
    ratio("Pipe round trip of a small object, CPU time (both processes)",
          v("pipe_roundtrip_pickled_cpu"), v("pipe_roundtrip_pickled_cpu"), None,
          higher_is_better=False)
    ratio("Pipe round trip of 64 bytes (pipe_roundtrip)",
          v("pipe_roundtrip"), v("pipe_roundtrip"), 1, higher_is_better=False)
    ratio("Pipe 1 MiB throughput", v("pipe_1MiB_throughput"), v("pipe_1MiB_throughput"), None)
    ratio("Queue 64 KiB messages", v("queue_64KiB"), v("queue_64KiB"), None)
    ratio("Pool imap_unordered, chunks of 64", v("pool_imap_unordered_tiny_chunk64"),
          v("pool_imap_unordered_tiny_chunk64"), None)
    print(f"# load average {' '.join(load_after)} at the end")


if __name__ == "__main__":
    main()
