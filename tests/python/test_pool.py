"""Pool with multiprocessing's API: apply / apply_async / map / map_async / imap /
imap_unordered / starmap / starmap_async, callbacks, initializer, maxtasksperchild, exceptions
raised again with the remote traceback, close / join / terminate, the context manager, and the
shared objects passed to tasks by pickle."""

import functools
import os
import subprocess
import sys
import textwrap
import time

import pytest

import mproc
from conftest import WAIT, script_env


def square(x):
    return x * x


def add(a, b):
    return a + b


def after(gates, units):
    """Returns units once the test opens gates[units] (the gate of 1 is open from the start)."""
    assert gates[units].wait(WAIT), "the test never opened this task's gate"
    return units


def nap(units):
    time.sleep(0.1 * units)  # gaps of 0.2 s order imap_unordered even on a loaded machine
    return units


def fail(x):
    raise KeyError(f"bad {x}")


def pid_of(_=None):
    return os.getpid()


def kwargs_echo(*args, **kwargs):
    return args, kwargs


_state = {}


def init(value):
    _state["init"] = value


def read_init(_):
    return _state.get("init")


def unpicklable_result():
    return lambda: 0


def put_in(q, x):
    q.put(x * 10)
    return x


def add_to_value(v, lock, n):
    for _ in range(n):
        with lock:
            v.value += 1
    return True


def worker_name(_):
    return mproc.current_process().name


def test_apply_map_starmap():
    with mproc.Pool(2) as pool:
        assert pool.apply(square, (7,)) == 49
        assert pool.apply(kwargs_echo, (1, 2), {"k": 3}) == ((1, 2), {"k": 3})
        assert pool.map(square, range(100)) == [x * x for x in range(100)]
        assert pool.map(square, range(10), chunksize=3) == [x * x for x in range(10)]
        assert pool.map(square, []) == []
        assert pool.starmap(add, [(1, 2), (3, 4)]) == [3, 7]
        assert pool.map_async(square, range(5)).get(WAIT) == [0, 1, 4, 9, 16]
        assert pool.starmap_async(add, [(1, 1)]).get(WAIT) == [2]
        assert pool.map(worker_name, range(2))[0].startswith("ForkPoolWorker")


def fail_at(bad, x):
    if x == bad:
        raise KeyError(f"bad {x}")
    return x


def test_map_of_many_chunks_keeps_order_length_and_failures():
    """map's results are assembled chunk by chunk into one list made up front: every chunk lands
    in its place, whichever path fetched it (get() without a timeout takes each chunk's output
    inline, get(timeout) through each part), for map and starmap, a range, a list and an
    iterator without a length, and a chunk that fails fails the whole map."""
    n = 50_000  # 16 chunks with 2 workers
    with mproc.Pool(2) as pool:
        want = [x * x for x in range(n)]
        assert pool.map(square, range(n)) == want
        assert pool.map(square, list(range(n))) == want
        assert pool.map(square, (x for x in range(n))) == want
        assert pool.map_async(square, range(n)).get(WAIT) == want
        assert pool.map(square, range(n), chunksize=4099) == want  # a short last chunk
        pairs = [(x, 1) for x in range(n)]
        assert pool.starmap(add, pairs) == list(range(1, n + 1))
        assert pool.starmap_async(add, pairs).get(WAIT) == list(range(1, n + 1))
        for get in (lambda r: r.get(), lambda r: r.get(WAIT)):
            result = pool.map_async(functools.partial(fail_at, n // 2), range(n))
            with pytest.raises(KeyError, match=f"bad {n // 2}") as info:
                get(result)
            assert isinstance(info.value.__cause__, mproc.pool.RemoteTraceback)
        assert pool.map(square, range(3)) == [0, 1, 4]  # the pool goes on


def test_imap_orders():
    with mproc.Pool(3) as pool:
        assert list(pool.imap(nap, [5, 1, 3])) == [5, 1, 3]
        # Completion order, made certain: each task waits for the test to open its gate, and the
        # test opens the next gate only once it has the previous result.
        gates = {k: mproc.Event() for k in (1, 3, 5)}
        gates[1].set()
        it = pool.imap_unordered(functools.partial(after, gates), [5, 1, 3])
        assert it.next(timeout=WAIT) == 1
        gates[3].set()
        assert it.next(timeout=WAIT) == 3
        gates[5].set()
        assert it.next(timeout=WAIT) == 5
        with pytest.raises(StopIteration):
            next(it)
        assert list(pool.imap(square, range(50), chunksize=7)) == [x * x for x in range(50)]
        assert sorted(pool.imap_unordered(square, range(50), chunksize=7)) == \
            [x * x for x in range(50)]
        it = pool.imap(nap, [4])
        with pytest.raises(mproc.TimeoutError):
            it.next(timeout=0.01)
        assert it.next(timeout=WAIT) == 4
        with pytest.raises(StopIteration):
            next(it)


def test_async_result_api_and_callbacks():
    got, errors = [], []
    with mproc.Pool(2) as pool:
        r = pool.apply_async(nap, (2,))
        assert not r.ready()
        with pytest.raises(ValueError):
            r.successful()
        with pytest.raises(mproc.TimeoutError):
            r.get(timeout=0.001)
        r.wait(WAIT)
        assert r.ready() and r.successful() and r.get() == 2
        results = [pool.apply_async(square, (i,), callback=got.append) for i in range(20)]
        bad = pool.apply_async(fail, (1,), error_callback=errors.append)
        mapped = pool.map_async(square, range(4), callback=got.append)
        pool.close()
        pool.join()
        # join returns once every callback has run
        assert sorted(x for x in got if isinstance(x, int)) == sorted(i * i for i in range(20))
        assert [0, 1, 4, 9] in got
        assert len(errors) == 1 and isinstance(errors[0], KeyError)
        assert [r.get() for r in results] == [i * i for i in range(20)]
        assert not bad.successful() and mapped.successful()


def test_exceptions_come_back_with_type_and_remote_traceback():
    with mproc.Pool(1) as pool:
        with pytest.raises(KeyError, match="bad 3") as info:
            pool.apply(fail, (3,))
        cause = info.value.__cause__
        assert isinstance(cause, mproc.pool.RemoteTraceback)
        assert "in fail" in str(cause) and "KeyError" in str(cause)
        with pytest.raises(KeyError):
            pool.map(fail, range(3))
        it = pool.imap(fail, [1, 2])
        with pytest.raises(KeyError):
            next(it)
        with pytest.raises(KeyError):  # the iteration goes on after a failed item
            next(it)
        with pytest.raises(mproc.pool.MaybeEncodingError):
            pool.apply(unpicklable_result)
        with pytest.raises(Exception):
            pool.apply_async(lambda: 0)  # a lambda does not pickle, as in Python
        assert pool.apply(square, (2,)) == 4  # the worker lives on


def test_initializer_and_maxtasksperchild():
    with mproc.Pool(2, initializer=init, initargs=("ready",)) as pool:
        assert pool.map(read_init, range(8), chunksize=1) == ["ready"] * 8
    with mproc.Pool(1, maxtasksperchild=1) as pool:
        pids = {pool.apply(pid_of) for _ in range(3)}
        assert len(pids) == 3  # a new worker for every task


def test_close_join_terminate_and_state_errors():
    pool = mproc.Pool(2)
    with pytest.raises(ValueError):
        pool.join()  # still running
    r = pool.apply_async(nap, (1,))
    pool.close()
    with pytest.raises(ValueError):
        pool.apply_async(square, (1,))
    pool.join()
    assert r.get(0) == 1
    pool = mproc.Pool(2)
    slow = pool.apply_async(nap, (400,))
    pool.terminate()
    with pytest.raises(mproc.BrokenPoolError):
        slow.get(WAIT)
    pool.terminate()  # idempotent
    with pytest.raises(ValueError):
        mproc.Pool(0)
    with pytest.raises(ValueError):
        mproc.Pool(1, maxtasksperchild=0)
    with pytest.raises(TypeError):
        mproc.Pool(1, initializer=3)
    with mproc.Pool(1) as pool:
        with pytest.raises(ValueError):
            pool.map(square, [1], chunksize=0)


def test_shared_objects_as_task_arguments():
    q = mproc.Queue()
    with mproc.Manager() as manager:
        mq = manager.Queue()
        v, lock = mproc.Value("i", 0), mproc.Lock()
        with mproc.Pool(2) as pool:
            assert sorted(pool.starmap(put_in, [(q, i) for i in range(5)])) == list(range(5))
            assert sorted(pool.starmap(put_in, [(mq, i) for i in range(5)])) == list(range(5))
            assert pool.starmap(add_to_value, [(v, lock, 100)] * 4) == [True] * 4
        assert sorted(q.get(timeout=WAIT) for _ in range(5)) == [0, 10, 20, 30, 40]
        assert sorted(mq.get(timeout=WAIT) for _ in range(5)) == [0, 10, 20, 30, 40]
        assert v.value == 400


def lock_is_free(lock):
    if not lock.acquire(False):
        return False
    lock.release()
    return True


def report_lock(lock, q):
    q.put(lock_is_free(lock))


def test_a_task_keeps_its_shared_arguments_until_it_ends():
    """The caller drops its shared objects right after submitting, while the only worker is busy:
    every attach happens after that, and finds the objects."""
    q = mproc.Queue()
    with mproc.Pool(1) as pool:
        go = mproc.Event()
        busy = pool.apply_async(mproc.Event.wait, (go, WAIT))
        one = pool.apply_async(lock_is_free, (mproc.Lock(),))
        many = pool.map_async(lock_is_free, [mproc.Lock() for _ in range(3)], chunksize=1)
        unordered = pool.imap_unordered(lock_is_free, (mproc.Lock() for _ in range(2)))
        pool.apply_async(report_lock, (mproc.Lock(), q))  # its result dropped at once too
        go.set()
        assert busy.get(WAIT) is True
        assert one.get(WAIT) is True
        assert many.get(WAIT) == [True] * 3
        assert list(unordered) == [True] * 2
        assert q.get(timeout=WAIT) is True


def test_functions_defined_after_an_earlier_pool(tmp_path):
    """A Pool made when no other is alive sees what __main__ defined since the last one (its
    workers come from a fork server started anew)."""
    script = tmp_path / "late.py"
    script.write_text(textwrap.dedent("""
        import mproc
        def early(x):
            return x + 1
        if __name__ == "__main__":
            with mproc.Pool(1) as pool:
                print(pool.apply(early, (1,)))
            def late(x):
                return x + 100
            globals()["late"] = late
            late.__qualname__ = "late"
            with mproc.Pool(1) as pool:
                print(pool.apply(late, (1,)))
    """))
    out = subprocess.run([sys.executable, str(script)], stdout=subprocess.PIPE, check=True,
                         timeout=WAIT, env=script_env()).stdout.decode()
    assert out.split() == ["2", "101"]
