"""Queue, SimpleQueue and JoinableQueue: objects across processes, maxsize, Full / Empty with
block and timeout, qsize/empty/full, close, task_done/join, handles passed along."""

import queue

import pytest

import mproc
from conftest import WAIT


def put_range(q, start, n):
    for i in range(start, start + n):
        q.put(i)


def consume(q, out):
    while True:
        item = q.get(timeout=WAIT)
        if item is None:
            q.task_done()
            break
        out.put(item * 2)
        q.task_done()


def test_many_producers_every_item_once():
    q = mproc.Queue()
    ps = [mproc.Process(target=put_range, args=(q, k * 1000, 1000)) for k in range(3)]
    for p in ps:
        p.start()
    got = [q.get(timeout=WAIT) for _ in range(3000)]
    for p in ps:
        p.join(WAIT)
    assert sorted(got) == list(range(3000))
    for k in range(3):  # each producer's items come out in its order
        mine = [x for x in got if k * 1000 <= x < (k + 1) * 1000]
        assert mine == sorted(mine)
    assert q.empty()


def test_maxsize_full_empty_and_timeouts():
    q = mproc.Queue(2)
    q.put("a")
    q.put_nowait({"b": 1})
    assert q.full() and q.qsize() == 2
    with pytest.raises(queue.Full):
        q.put("c", block=False)
    with pytest.raises(queue.Full):
        q.put("c", timeout=0.01)
    assert q.get() == "a" and q.get_nowait() == {"b": 1}
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    assert q.empty() and not q.full()


def test_large_objects_and_close():
    q = mproc.Queue()
    big = list(range(50_000))
    q.put(big)
    assert q.get(timeout=WAIT) == big
    q.put(b"x" * (2 << 20))  # bounded only by memory, as multiprocessing's
    assert len(q.get(timeout=WAIT)) == 2 << 20
    for i in range(20_000):  # far more than the first ring holds, before any get
        q.put(i)
    assert [q.get(timeout=WAIT) for _ in range(20_000)] == list(range(20_000))
    small = mproc.Queue(capacity_bytes=1 << 20)  # a fixed ring refuses what it cannot hold
    with pytest.raises(ValueError, match="too large"):
        small.put(b"x" * (2 << 20))
    small.close()
    q.close()
    with pytest.raises(ValueError, match="closed"):
        q.put(1)
    with pytest.raises(ValueError, match="closed"):
        q.get()


def test_joinable_queue_and_a_queue_passed_through_a_queue():
    jobs, results = mproc.JoinableQueue(), mproc.Queue()
    carrier = mproc.Queue()
    carrier.put(results)  # a queue pickles as its handle
    results_again = carrier.get()
    workers = [mproc.Process(target=consume, args=(jobs, results_again)) for _ in range(2)]
    for w in workers:
        w.start()
    for i in range(20):
        jobs.put(i)
    for _ in workers:
        jobs.put(None)
    jobs.join(timeout=WAIT)
    for w in workers:
        w.join(WAIT)
    assert sorted(results.get(timeout=WAIT) for _ in range(20)) == [i * 2 for i in range(20)]
    with pytest.raises(ValueError, match="too many"):
        jobs.task_done()
    with pytest.raises(TimeoutError):
        jobs.put(1)
        jobs.join(timeout=0.01)


def test_simple_queue():
    q = mproc.SimpleQueue()
    assert q.empty()
    q.put(("x", 1))
    assert not q.empty()
    assert q.get() == ("x", 1)
    q.close()


def test_a_lock_held_past_the_wait_is_empty_or_full(monkeypatch):
    """MPROC_ETIMEDOUT from the library (another process held the queue's lock for the whole wait:
    a stopped process) is Python's queue.Empty / queue.Full, and a blocking call waits on."""
    import mproc.queues as queues
    from mproc import _lib
    q = mproc.Queue(maxsize=1)
    q.put("x")
    held = {"get": 2, "put": 2}  # calls that find the lock held

    def holding(kind, real):
        def call(*args):
            if held[kind] > 0:
                held[kind] -= 1
                return _lib.ETIMEDOUT
            return real(*args)
        return call

    # Both bindings of each call: the converting one and the raw one of the common case.
    for name in ("_get_into", "_get_into_raw"):
        monkeypatch.setattr(queues, name, holding("get", getattr(queues, name)))
    for name in ("_put", "_put_raw"):
        monkeypatch.setattr(queues, name, holding("put", getattr(queues, name)))
    with pytest.raises(queue.Empty):
        q.get_nowait()
    assert q.get() == "x"  # the second call also finds it held; the third takes the item
    with pytest.raises(queue.Full):
        q.put_nowait("y")
    q.put("y")
    assert q.get(timeout=WAIT) == "y"
