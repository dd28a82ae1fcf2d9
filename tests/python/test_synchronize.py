"""Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier with Python's signatures,
across forked processes, and a lock whose holder dies."""

import os
import threading

import pytest

import mproc
from conftest import WAIT


def add_under_lock(lock, value, n):
    for _ in range(n):
        with lock:
            value.value += 1  # a bare ctypes object (lock=False), as Python gives


def hold_and_die(lock, ready):
    lock.acquire()
    ready.set()
    os._exit(0)


def wait_for_event(event, out):
    out.put(event.wait(WAIT))


def wait_at_barrier(barrier, out):
    out.put(barrier.wait(WAIT))


def wait_on_condition(cond, flag, out):
    with cond:
        out.put(cond.wait_for(lambda: flag.value == 1, WAIT))


def test_lock_signatures_and_counter_across_processes():
    lock = mproc.Lock()
    assert lock.acquire() is True
    assert lock.acquire(False) is False      # non-recursive: the holder cannot take it again
    assert lock.acquire(timeout=0.01) is False
    with pytest.raises(RuntimeError):
        lock.acquire()                        # would deadlock
    lock.release()
    with pytest.raises(ValueError):
        lock.release()
    counter = mproc.RawValue("i", 0)
    counter_box = mproc.Value("i", 0, lock=False)
    ps = [mproc.Process(target=add_under_lock, args=(lock, counter_box, 2000)) for _ in range(3)]
    for p in ps:
        p.start()
    for p in ps:
        p.join(WAIT)
    assert counter_box.value == 6000
    del counter


def test_rlock_is_recursive():
    r = mproc.RLock()
    assert r.acquire() and r.acquire(block=False)
    r.release()
    r.release()
    with pytest.raises(ValueError):
        r.release()
    with r:
        with r:
            pass


def test_a_dead_holder_leaves_the_lock_usable():
    lock, ready = mproc.Lock(), mproc.Event()
    p = mproc.Process(target=hold_and_die, args=(lock, ready))
    p.start()
    assert ready.wait(WAIT)
    p.join(WAIT)
    assert lock.acquire(timeout=WAIT)  # recovered from the dead holder
    lock.release()


def test_semaphores():
    s = mproc.Semaphore(2)
    assert s.get_value() == 2
    assert s.acquire() and s.acquire(timeout=0.01) and not s.acquire(False)
    s.release()
    s.release()
    s.release()  # a plain Semaphore may go above its initial value
    assert s.get_value() == 3
    b = mproc.BoundedSemaphore(1)
    with b:
        assert b.get_value() == 0
    with pytest.raises(ValueError):
        b.release()
    with pytest.raises(ValueError):
        mproc.Semaphore(-1)


def test_event_across_processes():
    e, out = mproc.Event(), mproc.Queue()
    assert not e.is_set() and e.wait(0.01) is False
    ps = [mproc.Process(target=wait_for_event, args=(e, out)) for _ in range(2)]
    for p in ps:
        p.start()
    e.set()
    assert [out.get(timeout=WAIT) for _ in ps] == [True, True]
    for p in ps:
        p.join(WAIT)
    e.clear()
    assert not e.is_set()


def test_condition_notify_and_wait_for():
    cond, flag, out = mproc.Condition(), mproc.Value("i", 0), mproc.Queue()
    p = mproc.Process(target=wait_on_condition, args=(cond, flag, out))
    p.start()
    with cond:
        flag.value = 1
        cond.notify_all()
    assert out.get(timeout=WAIT) is True
    p.join(WAIT)
    with cond:
        assert cond.wait(0.01) is False
    with pytest.raises(RuntimeError):
        cond.notify()
    over_lock = mproc.Condition(mproc.Lock())
    with over_lock:
        over_lock.notify()
    with pytest.raises(TypeError):
        mproc.Condition(threading.Lock())


def test_barrier_action_abort_reset():
    out, actions = mproc.Queue(), mproc.Value("i", 0)

    def action():
        actions.value += 1

    b = mproc.Barrier(3, action=action)
    assert b.parties == 3 and b.n_waiting == 0 and not b.broken
    ps = [mproc.Process(target=wait_at_barrier, args=(b, out)) for _ in range(2)]
    for p in ps:
        p.start()
    me = b.wait(WAIT)
    for p in ps:
        p.join(WAIT)
    assert sorted([me] + [out.get(timeout=WAIT) for _ in ps]) == [0, 1, 2]
    assert actions.value == 1
    with pytest.raises(threading.BrokenBarrierError):
        b.wait(0.01)  # a timeout breaks the barrier, as in Python
    assert b.broken
    b.reset()
    assert not b.broken
    b.abort()
    with pytest.raises(threading.BrokenBarrierError):
        b.wait()
    with pytest.raises(ValueError):
        mproc.Barrier(0)
