"""The GIL across fork: another Python thread runs Python code flat out (allocating, taking
locks, printing to a buffer) while pools start, run tasks, and have workers killed and replaced.
A worker forked from a thread that did not hold the GIL would hang at its first Python call; every
wait here is bounded, so a hang is a failure, not a stuck suite."""

import io
import os
import signal
import sys
import threading

import mproc
from conftest import WAIT


def square(x):
    return x * x


def die():
    os.kill(os.getpid(), signal.SIGKILL)


class Busy:
    """A thread running Python code until stopped."""

    def __init__(self):
        self.stop = threading.Event()
        self.rounds = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        lock = threading.Lock()
        sink = io.StringIO()
        while not self.stop.is_set():
            with lock:
                data = {i: str(i) * 3 for i in range(200)}
                sink.write(repr(sorted(data.items())[:3]))
                sink.seek(0)
                sink.truncate()
            self.rounds += 1

    def finish(self):
        self.stop.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        assert self.rounds > 0


def test_pools_start_and_replace_workers_while_a_thread_runs_python():
    busy = [Busy(), Busy()]
    try:
        for round_ in range(3):
            with mproc.Pool(2) as pool:
                assert pool.map(square, range(200), chunksize=10) == [x * x for x in range(200)]
                for _ in range(3):
                    r = pool.apply_async(die)
                    try:
                        r.get(WAIT)
                    except mproc.WorkerDiedError:
                        pass
                    # the replacement runs Python: no GIL left held by a missing thread
                    assert pool.apply_async(square, (round_,)).get(WAIT) == round_ * round_
                results = [pool.apply_async(square, (i,)) for i in range(100)]
                assert [r.get(WAIT) for r in results] == [i * i for i in range(100)]
    finally:
        for b in busy:
            b.finish()


def spin(stop):
    while not stop.is_set():
        sum(range(100))


def test_workers_of_a_server_forked_while_threads_wait_for_the_gil():
    """Threads waiting for the GIL ask its holder to drop it once they have waited a switch
    interval (1 us here: at once). The fork server's memory is a copy taken while the pool's
    thread holds the GIL, so it often carries that request; a worker that ran Python before
    PyOS_AfterFork_Child would honour it and wait forever for a thread it does not have (9 pools
    in 20 hung so before the fix). Every pool here must answer."""
    stop = threading.Event()
    spinners = [threading.Thread(target=spin, args=(stop,), daemon=True) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in spinners:
            t.start()
        for round_ in range(12):
            with mproc.Pool(2) as pool:
                assert pool.apply_async(square, (round_,)).get(20) == round_ * round_
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        for t in spinners:
            t.join(WAIT)
    assert not any(t.is_alive() for t in spinners)


def test_a_pool_made_in_a_non_main_thread():
    out = {}

    def make():
        with mproc.Pool(1) as pool:
            out["value"] = pool.apply_async(square, (9,)).get(WAIT)

    busy = Busy()
    try:
        t = threading.Thread(target=make)
        t.start()
        t.join(WAIT)
        assert out == {"value": 81}
    finally:
        busy.finish()


def test_processes_fork_while_a_thread_runs_python():
    busy = Busy()
    try:
        q = mproc.Queue()
        ps = [mproc.Process(target=q.put, args=(i,)) for i in range(10)]
        for p in ps:
            p.start()
        assert sorted(q.get(timeout=WAIT) for _ in ps) == list(range(10))
        for p in ps:
            p.join(WAIT)
            assert p.exitcode == 0
    finally:
        busy.finish()


def test_a_killed_fork_server_is_replaced_while_threads_run_python():
    """The server killed under a pool while two threads run Python: its replacement (the standby
    twin) forks workers that run Python; every later task completes."""
    from mproc import _lib
    server_pid = _lib.declare("mproc_forkserver_pid", _lib._int, [])
    busy = [Busy(), Busy()]
    try:
        with mproc.Pool(2) as pool:
            assert pool.map(square, range(50)) == [x * x for x in range(50)]
            from test_pool_faults import kill_and_wait
            kill_and_wait(server_pid())
            for i in range(20):
                try:
                    assert pool.apply_async(square, (i,)).get(WAIT) == i * i
                except mproc.WorkerDiedError:
                    assert i < 4  # only tasks that met a worker of the dead server
            assert pool.map(square, range(100), chunksize=5) == [x * x for x in range(100)]
    finally:
        for b in busy:
            b.finish()
