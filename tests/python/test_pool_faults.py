"""The Pool's fault model from Python: a worker that dies fails only its task, with
WorkerDiedError naming the pid and the signal; the worker is replaced, every other task
completes, join returns."""

import os
import select
import signal
import time

import pytest

import mproc
from conftest import WAIT


def square(x):
    return x * x


def die(code=None):
    if code is None:
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(code)


def sleep_then(x):
    time.sleep(0.02)
    return x


def test_a_killed_worker_fails_only_its_task():
    with mproc.Pool(2) as pool:
        before = set(pool.worker_pids())
        assert len(before) == 2
        doomed = pool.apply_async(die)
        others = [pool.apply_async(sleep_then, (i,)) for i in range(20)]
        with pytest.raises(mproc.WorkerDiedError) as info:
            doomed.get(WAIT)
        message = str(info.value)
        assert "pid" in message and "SIGKILL" in message
        assert [r.get(WAIT) for r in others] == list(range(20))
        assert pool.apply(square, (5,)) == 25  # replaced: still two workers
        assert len(pool.worker_pids()) == 2
        pool.close()
        pool.join()


def test_worker_exit_and_external_kill_in_map():
    with mproc.Pool(2) as pool:
        with pytest.raises(mproc.WorkerDiedError):
            pool.apply(die, (3,))
        r = pool.map_async(sleep_then, range(40), chunksize=1)
        victim = pool.worker_pids()[0]
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the worker that exited with 3 may still be listed while it is replaced
        try:
            assert r.get(WAIT) == list(range(40))  # the victim was between tasks
        except mproc.WorkerDiedError as e:
            assert str(victim) in str(e)
        assert pool.map(square, range(10)) == [x * x for x in range(10)]


def test_imap_goes_on_after_a_dead_worker():
    with mproc.Pool(2) as pool:
        it = pool.imap(die, [None])
        with pytest.raises(mproc.WorkerDiedError):
            next(it)
        with pytest.raises(StopIteration):
            next(it)
        assert list(pool.imap(square, range(5))) == [0, 1, 4, 9, 16]


def kill_and_wait(pid):
    """SIGKILL is asynchronous: waits until the process has ended (its pidfd is readable)."""
    pidfd = os.pidfd_open(pid)
    try:
        os.kill(pid, signal.SIGKILL)
        assert select.select([pidfd], [], [], WAIT)[0]
    finally:
        os.close(pidfd)


def test_a_killed_fork_server_is_replaced_by_its_twin_and_the_pool_goes_on():
    """The fork server keeps a standby twin (a fork of itself, made while idle); when the server
    is killed, the pool promotes the twin instead of forking a new server from its dispatcher
    thread (which holds no GIL: Python could not run in the workers of such a server). Its
    workers die with it; the tasks that follow complete."""
    from mproc import _lib
    server_pid = _lib.declare("mproc_forkserver_pid", _lib._int, [])
    with mproc.Pool(2) as pool:
        assert pool.apply_async(square, (3,)).get(WAIT) == 9
        for _ in range(2):  # the promoted twin keeps a twin of its own
            victim = server_pid()
            kill_and_wait(victim)
            outcomes = []
            for i in range(8):
                try:
                    outcomes.append(pool.apply_async(square, (i,)).get(WAIT))
                except mproc.WorkerDiedError:  # a task that ran in a worker of the dead server
                    outcomes.append(None)
            assert outcomes[-4:] == [16, 25, 36, 49]
            assert server_pid() not in (0, victim)
