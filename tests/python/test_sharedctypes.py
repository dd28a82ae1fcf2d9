"""Value, Array, RawValue, RawArray: ctypes type codes, get_lock(), .value, indexing and slicing,
shared with forked children and with Pool workers (by handle)."""

import ctypes

import pytest

import mproc
from conftest import WAIT


def increment(v, n):
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def increment_under_plain_lock(v, n):
    """A Lock is not recursive: .value would take it again (a deadlock, as in Python)."""
    for _ in range(n):
        with v.get_lock():
            v.get_obj().value += 1


def fill(arr, raw):
    for i in range(len(arr)):
        arr[i] = i * 1.5
    raw[0] = 42


def double_raw(value, array):
    value.value *= 2
    for i in range(len(array)):
        array[i] *= 2


def total(arr):
    return sum(arr[:])


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]


def test_value_counter_across_processes():
    v = mproc.Value("i", 0)
    assert v.value == 0
    ps = [mproc.Process(target=increment, args=(v, 500)) for _ in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join(WAIT)
    assert v.value == 2000
    d = mproc.Value(ctypes.c_double, 2.5)
    assert d.value == 2.5 and isinstance(d.get_obj(), ctypes.c_double)
    with d:  # the Value itself is a context manager over its lock
        d.value *= 2
    assert d.value == 5.0
    assert d.get_lock().acquire(timeout=0.01)
    d.get_lock().release()


def test_array_indexing_slicing_and_raw_objects():
    arr = mproc.Array("d", 10)
    raw = mproc.RawArray("i", [7, 8, 9])
    assert len(arr) == 10 and arr[:] == [0.0] * 10 and list(raw) == [7, 8, 9]
    p = mproc.Process(target=fill, args=(arr, raw))
    p.start()
    p.join(WAIT)
    assert arr[3] == 4.5 and arr[-1] == 13.5
    assert arr[2:5] == [3.0, 4.5, 6.0]
    arr[0:2] = [100.0, 200.0]
    assert arr[:2] == [100.0, 200.0]
    assert raw[0] == 42
    assert memoryview(raw).nbytes == 3 * ctypes.sizeof(ctypes.c_int)
    rv = mproc.RawValue("q", 5)
    rv.value += 1
    assert rv.value == 6
    chars = mproc.Array("c", b"hello")
    assert chars.value == b"hello" and chars.raw == b"hello"
    pt = mproc.Value(Point, 1, 2.5)
    assert (pt.get_obj().x, pt.get_obj().y) == (1, 2.5)


def test_pool_workers_attach_values_and_arrays():
    arr = mproc.Array("i", range(100))
    v = mproc.Value("i", 0)
    with mproc.Pool(2) as pool:
        assert pool.map(total, [arr] * 4) == [sum(range(100))] * 4
        pool.starmap(increment, [(v, 100)] * 4)
    assert v.value == 400


def test_bad_typecodes_and_sizes():
    with pytest.raises(TypeError):
        mproc.Value("z", 1)
    with pytest.raises(TypeError):
        mproc.Array(int, 3)
    with pytest.raises(ValueError):
        mproc.Array("i", -1)
    with pytest.raises(AttributeError):
        mproc.Value("i", 0, lock="not a lock")
    with pytest.raises(IndexError):
        mproc.Array("i", 2)[5]


def test_values_and_arrays_share_a_lock_given_to_them():
    """lock=an existing Lock or RLock, as Python: get_lock() is that lock, and a holder of it
    excludes .value / indexing of every object made with it, in this process and in workers."""
    lock = mproc.RLock()
    v = mproc.Value("i", 0, lock=lock)
    a = mproc.Array("d", [0.0, 0.0], lock=lock)
    assert v.get_lock() is lock and a.get_lock() is lock
    with lock:  # recursive: .value takes it again
        v.value = 5
        a[1] = 2.5
    assert v.value == 5 and a[:] == [0.0, 2.5]
    plain = mproc.Lock()
    w = mproc.Value("i", 0, lock=plain)
    assert plain.acquire(timeout=WAIT)
    try:
        out = {}
        t = __import__("threading").Thread(target=lambda: out.update(value=w.value))
        t.start()
        t.join(0.2)
        assert t.is_alive() and out == {}  # blocked on the lock held here
    finally:
        plain.release()
    t.join(WAIT)
    assert out == {"value": 0}
    with mproc.Pool(2) as pool:
        pool.starmap(increment_under_plain_lock, [(w, 50)] * 4)
        pool.starmap(increment, [(v, 50)] * 2)
    assert w.value == 200 and v.value == 105
    for flag in (None, True):
        assert mproc.Value("i", 3, lock=flag).get_lock() is not None
    raw = mproc.Value("i", 3, lock=False)
    assert type(raw) is ctypes.c_int and raw.value == 3  # the bare ctypes object, as Python's
    assert not hasattr(raw, "get_lock")
    raw_array = mproc.Array("d", [1.0, 2.0], lock=False)
    assert isinstance(raw_array, ctypes.Array) and raw_array._type_ is ctypes.c_double
    p = mproc.Process(target=double_raw, args=(raw, raw_array))
    p.start()
    p.join(WAIT)
    assert raw.value == 6 and list(raw_array) == [2.0, 4.0]  # in shared memory


def test_copy_and_synchronized_of_raw_objects():
    from mproc import sharedctypes
    raw = mproc.RawArray("i", [1, 2, 3])
    dup = sharedctypes.copy(raw)
    dup[0] = 9
    assert list(raw) == [1, 2, 3] and list(dup) == [9, 2, 3]
    point = sharedctypes.copy(mproc.RawValue(Point, 4, 0.5))
    assert (point.x, point.y) == (4, 0.5)
    s = sharedctypes.synchronized(raw)
    assert s.get_lock() is not None and s[:] == [1, 2, 3]
    s[1] = 7
    assert raw[1] == 7
    v = sharedctypes.synchronized(mproc.RawValue("d", 1.5), lock=mproc.Lock())
    assert v.value == 1.5
    with pytest.raises(TypeError):
        sharedctypes.synchronized(ctypes.c_int(1))
