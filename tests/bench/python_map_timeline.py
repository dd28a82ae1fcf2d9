"""Where the wall time of the Python package's Pool.map of 200 000 tiny items goes.

Per repetition: the workers' part (submit, then wait for every chunk's future without fetching
it), then the caller's part (unpickling the chunks into the result list); then plain maps,
alternating with multiprocessing's map (default chunks, the best chunksize of
py_mp_bench.py's pool group) in the same run. The map target (2x Python) needs mproc's whole map
in half of Python's: the workers' part alone bounds it from below.
Run: MPROC_LIBRARY=build/libmproc.so PYTHONPATH=capi/python /usr/bin/python3 \
         tests/bench/python_map_timeline.py [repetitions]
"""
import sys
import time

import multiprocessing

import mproc
from mproc import pool as _pool


def square(x):
    return x * x


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    items = 200_000
    perf = time.perf_counter
    with mproc.Pool(2) as p:
        p.map(square, range(8))  # workers up
        out = None
        for _ in range(reps):
            del out
            t0 = perf()
            result = p.map_async(square, range(items))
            for part in result._parts:
                _pool._future_wait(part._future, 10_000)
            t1 = perf()
            out = result.get()
            t2 = perf()
            assert len(out) == items and out[-1] == (items - 1) ** 2
            print(f"workers {1e3 * (t1 - t0):6.2f} ms   then the caller's fetch "
                  f"{1e3 * (t2 - t1):6.2f} ms")
        with multiprocessing.get_context("fork").Pool(2) as py:
            py.map(square, range(8))
            for _ in range(reps):
                del out
                t0 = perf()
                out = p.map(square, range(items))
                t1 = perf()
                del out
                out = py.map(square, range(items))
                t2 = perf()
                print(f"map: mproc {1e3 * (t1 - t0):6.2f} ms, multiprocessing "
                      f"{1e3 * (t2 - t1):6.2f} ms = {(t2 - t1) / (t1 - t0):4.2f}x")


if __name__ == "__main__":
    main()
