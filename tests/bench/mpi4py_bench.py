"""mpi4py.futures.MPIPoolExecutor's figures for tests/bench/compare_mpi.sh, to be run as
`mpirun -n 3 python3 -m mpi4py.futures mpi4py_bench.py [cpu_range]` (rank 0 runs this script,
ranks 1 and 2 are the executor's workers): tiny-task submit throughput, map of 200 000 tiny
items at several chunksizes (the best one is what compare_mpi.sh takes), and a CPU-bound job's
speed-up over running its tasks one after another on rank 0. Prints "name value unit" lines."""
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def inc(x):
    return x + 1


def count_primes(r):
    lo, hi = r
    count = 0
    for n in range(max(lo, 2), hi):
        d = 2
        prime = True
        while d * d <= n:
            if n % d == 0:
                prime = False
                break
            d += 1
        count += prime
    return count


def main():
    n_apply, n_map = 20_000, 200_000
    cpu_range = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    perf = time.perf_counter
    with MPIPoolExecutor() as ex:
        list(ex.map(inc, range(64)))  # workers up
        print(f"# mpi4py: {ex._max_workers} workers", file=sys.stderr)
        t = perf()
        futs = [ex.submit(inc, i) for i in range(n_apply)]
        out = [f.result() for f in futs]
        assert out[-1] == n_apply
        print(f"mpi4py_submit_tiny {n_apply / (perf() - t):.0f} tasks/s")
        for cs in (256, 1024, 4096, 16384):
            best = 0.0
            for _ in range(3):  # the best of 3, as mpi_bench.cpp takes
                t = perf()
                out = list(ex.map(inc, range(n_map), chunksize=cs))
                assert out[-1] == n_map
                best = max(best, n_map / (perf() - t))
            print(f"mpi4py_map_tiny_chunk{cs} {best:.0f} tasks/s")
        ranges = [(k * cpu_range, (k + 1) * cpu_range) for k in range(8)]
        # The best of 3 of each, alternated (as mpi_bench.cpp): a machine whose load changes
        # between the two phases skews a single pair either way.
        ts = tp = float("inf")
        for _ in range(3):
            t = perf()
            serial = sum(count_primes(r) for r in ranges)
            ts = min(ts, perf() - t)
            t = perf()
            parallel = sum(ex.map(count_primes, ranges, chunksize=1))
            tp = min(tp, perf() - t)
            assert serial == parallel
        print(f"mpi4py_cpu_serial {ts:.3f} s")
        print(f"mpi4py_cpu_pool {tp:.3f} s")
        print(f"mpi4py_cpu_speedup {ts / tp:.3f} x")


if __name__ == "__main__":
    main()
