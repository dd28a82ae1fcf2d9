"""Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier: multiprocessing's, on the
library's process-shared robust primitives.

Every object lives in a named shared-memory segment (the library's attachable objects): it is
inherited by forked children and can also be pickled into Pool tasks or through a Queue (the pickle
is its handle), which Python's own forbids. A lock whose holder dies is recovered by the next
acquirer (acquire returns True; the data it protects may be half-updated). Locks belong to the
thread that acquired them, as threading.RLock's do (Python's multiprocessing.Lock is a semaphore
that any thread may release).
"""

import ctypes
import threading

from . import _lib
from ._handle import Handle
from ._lib import _int, _int64, _size, _voidp, _pvoidp, check

__all__ = ["Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event", "Condition", "Barrier"]

_charp = ctypes.c_char_p


def _functions(noun):
    d = _lib.declare
    return {
        "create": d(f"mproc_{noun}_create_attachable", _int, [_pvoidp]),
        "attach": d(f"mproc_{noun}_attach", _int, [_charp, _pvoidp]),
        "handle": d(f"mproc_{noun}_handle", _int, [_voidp, _charp, _size]),
        "destroy": d(f"mproc_{noun}_destroy", _int, [_voidp]),
    }


def _acquire_result(rc, block_forever, what):
    if rc == 0 or rc == _lib.EOWNERDEAD:
        return True
    if rc == _lib.ETIMEDOUT:
        return False
    if rc == -35:  # EDEADLK: a non-recursive lock already held by this thread
        if block_forever:
            raise RuntimeError(f"{what}: this thread already holds the lock (a deadlock)")
        return False
    raise _lib.error(rc)


def _acquire_ms(block, timeout):
    if not block:
        return 0
    if timeout is None:
        return -1
    return _lib.timeout_ms(max(0.0, timeout))


def _attach(cls, handle, *extra):
    obj = cls.__new__(cls)
    out = _voidp()
    check(cls._f["attach"](handle.encode(), ctypes.byref(out)))
    obj._h = out.value
    obj._attached(*extra)
    return obj


class _Shared(Handle):
    """A handle on an attachable object: pickled as its handle, destroyed with its last user."""
    _f = None

    def _attached(self, *extra):
        pass

    def _handle(self):
        return _lib.copy_string(self._f["handle"], self._h, 64)

    def _reduce_extra(self):
        return ()

    def __reduce__(self):
        return (_attach, (type(self), self._handle()) + self._reduce_extra())

    def _destroy_handle(self, h):
        self._f["destroy"](h)


class Lock(_Shared):
    """multiprocessing.Lock: acquire(block=True, timeout=None) -> bool, release(), `with`."""
    _f = _functions("lock")
    _acquire = _lib.declare("mproc_lock_acquire", _int, [_voidp, _int64])
    _unlock = _lib.declare("mproc_lock_release", _int, [_voidp])

    def __init__(self, *, ctx=None):
        out = _voidp()
        check(self._f["create"](ctypes.byref(out)))
        self._h = out.value

    def acquire(self, block=True, timeout=None):
        ms = _acquire_ms(block, timeout)
        rc = type(self)._acquire(self._h, 0)
        if rc == _lib.ETIMEDOUT and ms != 0:
            rc = _lib.wait_sliced(lambda ms_: type(self)._acquire(self._h, ms_), ms,
                                  _lib.ETIMEDOUT)
        return _acquire_result(rc, ms == -1, type(self).__name__)

    def release(self):
        rc = type(self)._unlock(self._h)
        if rc == _lib.ESTATE:
            raise ValueError("semaphore or lock released too many times (or not held by this "
                             "thread)")
        check(rc)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()

    def __repr__(self):
        return f"<mproc.{type(self).__name__} at {id(self):#x}>"


class RLock(Lock):
    """multiprocessing.RLock: the holding thread may acquire it again."""
    _f = _functions("rlock")
    _acquire = _lib.declare("mproc_rlock_acquire", _int, [_voidp, _int64])
    _unlock = _lib.declare("mproc_rlock_release", _int, [_voidp])
    _cond_create = _lib.declare("mproc_condition_create_with_rlock", _int, [_voidp, _pvoidp])


Lock._cond_create = _lib.declare("mproc_condition_create_with_lock", _int, [_voidp, _pvoidp])


class Semaphore(_Shared):
    """multiprocessing.Semaphore(value=1)."""
    _f = _functions("semaphore")
    _bounded = 0
    _create = _lib.declare("mproc_semaphore_create_attachable", _int, [_int, _int, _pvoidp])
    _acquire = _lib.declare("mproc_semaphore_acquire", _int, [_voidp, _int64])
    _unlock = _lib.declare("mproc_semaphore_release", _int, [_voidp])
    _value = _lib.declare("mproc_semaphore_value", _int, [_voidp])

    def __init__(self, value=1, *, ctx=None):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        out = _voidp()
        check(self._create(value, self._bounded, ctypes.byref(out)))
        self._h = out.value

    def acquire(self, block=True, timeout=None):
        ms = _acquire_ms(block, timeout)
        rc = self._acquire(self._h, 0)
        if rc == _lib.ETIMEDOUT and ms != 0:
            rc = _lib.wait_sliced(lambda ms_: self._acquire(self._h, ms_), ms, _lib.ETIMEDOUT)
        return _acquire_result(rc, False, "Semaphore")

    def release(self):
        rc = self._unlock(self._h)
        if rc == _lib.ESTATE:
            raise ValueError("semaphore or lock released too many times")
        check(rc)

    def get_value(self):
        return check(self._value(self._h))

    __enter__ = Lock.__enter__
    __exit__ = Lock.__exit__

    def __repr__(self):
        return f"<mproc.{type(self).__name__}(value={self.get_value()})>"


class BoundedSemaphore(Semaphore):
    """multiprocessing.BoundedSemaphore: never released above its initial value."""
    _bounded = 1


class Event(_Shared):
    """multiprocessing.Event: set, clear, is_set, wait(timeout) -> bool."""
    _f = _functions("event")
    _set = _lib.declare("mproc_event_set", _int, [_voidp])
    _clear = _lib.declare("mproc_event_clear", _int, [_voidp])
    _is_set = _lib.declare("mproc_event_is_set", _int, [_voidp])
    _wait = _lib.declare("mproc_event_wait", _int, [_voidp, _int64])

    def __init__(self, *, ctx=None):
        out = _voidp()
        check(self._f["create"](ctypes.byref(out)))
        self._h = out.value

    def set(self):
        check(self._set(self._h))

    def clear(self):
        check(self._clear(self._h))

    def is_set(self):
        return check(self._is_set(self._h)) == 1

    def wait(self, timeout=None):
        ms = _lib.timeout_ms(None if timeout is None else max(0.0, timeout))
        rc = _lib.wait_sliced(lambda ms_: self._wait(self._h, ms_), ms, _lib.ETIMEDOUT)
        if rc == _lib.ETIMEDOUT:
            return False
        check(rc)
        return True


class Condition(_Shared):
    """multiprocessing.Condition(lock=None): over a new RLock, or over the given Lock / RLock.
    Only a Condition over its own lock can be pickled (into Pool tasks)."""
    _f = _functions("condition")
    _acquire = _lib.declare("mproc_condition_acquire", _int, [_voidp, _int64])
    _unlock = _lib.declare("mproc_condition_release", _int, [_voidp])
    _wait = _lib.declare("mproc_condition_wait", _int, [_voidp, _int64])
    _notify = _lib.declare("mproc_condition_notify", _int, [_voidp, _int])
    _notify_all = _lib.declare("mproc_condition_notify_all", _int, [_voidp])

    def __init__(self, lock=None, *, ctx=None):
        out = _voidp()
        if lock is None:
            check(self._f["create"](ctypes.byref(out)))
        elif isinstance(lock, Lock):
            check(type(lock)._cond_create(lock._h, ctypes.byref(out)))
        else:
            raise TypeError("Condition(lock): lock must be an mproc Lock or RLock")
        self._h = out.value
        self._own_lock = lock is None

    def _attached(self):
        self._own_lock = True

    def __reduce__(self):
        if not self._own_lock:
            raise TypeError("a Condition over a given lock is shared through inheritance only")
        return super().__reduce__()

    def acquire(self, block=True, timeout=None):
        ms = _acquire_ms(block, timeout)
        rc = _lib.wait_sliced(lambda ms_: self._acquire(self._h, ms_), ms, _lib.ETIMEDOUT)
        return _acquire_result(rc, ms == -1, "Condition")

    def release(self):
        rc = self._unlock(self._h)
        if rc == _lib.ESTATE:
            raise RuntimeError("cannot release un-acquired lock")
        check(rc)

    __enter__ = Lock.__enter__
    __exit__ = Lock.__exit__

    def wait(self, timeout=None):
        """With the lock held: waits to be notified (True) or for timeout seconds (False)."""
        ms = _lib.timeout_ms(None if timeout is None else max(0.0, timeout))
        rc = self._wait(self._h, ms)
        if rc == _lib.ESTATE:
            raise RuntimeError("cannot wait on un-acquired lock")
        if rc == _lib.ETIMEDOUT:
            return False
        if rc == _lib.EOWNERDEAD:
            return True
        check(rc)
        return True

    def wait_for(self, predicate, timeout=None):
        import time
        result = predicate()
        if result:
            return result
        deadline = None if timeout is None else time.monotonic() + timeout
        while not result:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.wait(remaining)
            else:
                self.wait()
            result = predicate()
        return result

    def notify(self, n=1):
        rc = self._notify(self._h, n)
        if rc == _lib.ESTATE:
            raise RuntimeError("cannot notify on un-acquired lock")
        check(rc)

    def notify_all(self):
        rc = self._notify_all(self._h)
        if rc == _lib.ESTATE:
            raise RuntimeError("cannot notify on un-acquired lock")
        check(rc)


_ACTION_FN = ctypes.CFUNCTYPE(None, _voidp)


class Barrier(_Shared):
    """multiprocessing.Barrier(parties, action=None, timeout=None): wait(timeout) -> index,
    threading.BrokenBarrierError when broken; abort(), reset(), parties, n_waiting, broken.
    The action runs in the process (and thread) that arrives last; a pickled Barrier keeps its
    action (the callable is pickled with it)."""
    _f = {
        "attach": None,
        "handle": _lib.declare("mproc_barrier_handle", _int, [_voidp, _charp, _size]),
        "destroy": _lib.declare("mproc_barrier_destroy", _int, [_voidp]),
    }
    _create = _lib.declare("mproc_barrier_create_attachable", _int,
                           [_int, _ACTION_FN, _voidp, _int64, _pvoidp])
    _attach_ = _lib.declare("mproc_barrier_attach", _int,
                            [_charp, _ACTION_FN, _voidp, _int64, _pvoidp])
    _wait = _lib.declare("mproc_barrier_wait", _int, [_voidp, _int64])
    _abort = _lib.declare("mproc_barrier_abort", _int, [_voidp])
    _reset = _lib.declare("mproc_barrier_reset", _int, [_voidp])
    _parties = _lib.declare("mproc_barrier_parties", _int, [_voidp])
    _n_waiting = _lib.declare("mproc_barrier_n_waiting", _int, [_voidp])
    _broken = _lib.declare("mproc_barrier_broken", _int, [_voidp])

    def __init__(self, parties, action=None, timeout=None, *, ctx=None):
        if not isinstance(parties, int) or parties < 1:
            raise ValueError("parties must be a positive integer")
        self._setup(action, timeout)
        out = _voidp()
        check(self._create(parties, self._callback, None, self._ms, ctypes.byref(out)))
        self._h = out.value

    def _setup(self, action, timeout):
        self._action = action
        self._timeout = timeout
        self._ms = _lib.timeout_ms(timeout)
        self._callback = _ACTION_FN(self._run_action) if action is not None else _ACTION_FN()

    def _run_action(self, _user_data):
        try:
            self._action()
        except BaseException:
            import traceback
            traceback.print_exc()
            self._abort(self._h)  # Python breaks the barrier when the action raises

    def __reduce__(self):
        return (_attach_barrier, (self._handle(), self._action, self._timeout))

    def wait(self, timeout=None):
        ms = -1 if timeout is None else _lib.timeout_ms(max(0.0, timeout))
        rc = self._wait(self._h, ms)
        if rc == _lib.EBROKEN:
            raise threading.BrokenBarrierError
        return check(rc)

    def abort(self):
        check(self._abort(self._h))

    def reset(self):
        check(self._reset(self._h))

    @property
    def parties(self):
        return check(self._parties(self._h))

    @property
    def n_waiting(self):
        return check(self._n_waiting(self._h))

    @property
    def broken(self):
        return check(self._broken(self._h)) == 1


def _attach_barrier(handle, action, timeout):
    b = Barrier.__new__(Barrier)
    b._setup(action, timeout)
    out = _voidp()
    check(Barrier._attach_(handle.encode(), b._callback, None, b._ms, ctypes.byref(out)))
    b._h = out.value
    return b
